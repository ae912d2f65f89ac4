"""The analysis report: one self-contained HTML page over the results and the figures.

The page references its figures (:mod:`.figures`) by relative paths (``figures/<name>.png``)
inside the same output folder, so it opens in any browser from the file system, without a
server, and the folder can be moved or zipped as a whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

__all__ = ["write_html", "short_table", "convergence_warnings", "LEARNED_MIN_P"]


#: Below this probability the learned classifier's verdict is reported as "inconclusive".
LEARNED_MIN_P = 0.5
#: The page lists at most this many tracks (short table, full table); all are in results.csv.
TABLE_MAX_ROWS = 100
#: The one-line summary per track is shown for at most this many tracks.
KEY_LINES_MAX = 30
#: Convergence thresholds of the MCMC diagnostics that trigger a warning.
RHAT_MAX, ESS_MIN = 1.01, 100.0


def convergence_warnings(diagnostics: Mapping | None) -> list[str]:
    """Warnings for MCMC diagnostics past the thresholds (R-hat > 1.01, ESS < 100)."""
    out = []
    for name, d in (diagnostics or {}).items():
        # NaN (e.g. a constant trace) is None once written to JSON
        rhat, ess = (np.nan if d.get(k) is None else float(d[k]) for k in ("rhat", "ess"))
        bad = []
        if np.isfinite(rhat) and rhat > RHAT_MAX:
            bad.append(f"R-hat {rhat:.4g} > {RHAT_MAX}")  # 1.013, not "1.01 > 1.01"
        if np.isfinite(ess) and ess < ESS_MIN:
            bad.append(f"ESS {ess:.3g} < {ESS_MIN:.0f}")
        if bad:
            out.append(
                f"MCMC not converged for {name}: {', '.join(bad)}; run more --iterations "
                "(its intervals are not trustworthy yet)"
            )
    return out


def region_warnings(regions: list[dict], summary_file: str = "summary.json") -> list[str]:
    """One line for the regions of a field whose MCMC has not converged (the per-region lines
    are added to each region's dict as ``warnings``; the line points the user to
    ``summary_file``, where they are written); empty when all converged."""
    bad, names = [], set()
    for info in regions:
        lines = convergence_warnings(info.get("diagnostics"))
        info["warnings"] = lines
        if lines:
            bad.append(str(info.get("region")))
            names.update(n for n, d in (info.get("diagnostics") or {}).items()
                         if convergence_warnings({n: d}))  # fmt: skip
    if not bad:
        return []
    shown = ", ".join(bad[:10]) + (", ..." if len(bad) > 10 else "")
    return [
        f"MCMC not converged in {len(bad)} of {len(regions)} regions ({shown}) for "
        f"{', '.join(sorted(names))} (R-hat > {RHAT_MAX} or ESS < {ESS_MIN:.0f}); run more "
        f"--iterations (their intervals are not trustworthy yet); per region in {summary_file}"
    ]


def _interval(value, lo, hi, low=0.0, high=None) -> str:
    """``value [lo, hi]`` with the ends clipped to the parameter's range and marked ``*``."""
    if not np.isfinite(value):
        return ""

    def end(x, clip_low):
        if not np.isfinite(x):
            return "?"
        if clip_low and x < low:
            return f"{low:.3g}*"
        if not clip_low and high is not None and x > high:
            return f"{high:.3g}*"
        return f"{x:.3g}"

    return f"{value:.3g} [{end(lo, True)}, {end(hi, False)}]"


def short_table(results: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """What a biologist reads per track: id, length, D and alpha with intervals, verdicts."""
    header = [
        "track",
        "tracker",
        "points",
        "D (µm²/s)",
        "alpha",
        "verdict",
        "learned",
        "BM-compatible",
    ]
    rows = []
    for _, r in results.iterrows():
        if r.get("error"):
            rows.append([str(r["particle"]), str(r.get("tracker", "")), str(r["n_points"]),
                         "", "", f"skipped: {r['error']}", "", ""])  # fmt: skip
            continue
        g = r.get
        alpha = _interval(
            g("mle_alpha", np.nan), g("mle_alpha_lo", np.nan), g("mle_alpha_hi", np.nan), 0.0, 2.0
        )
        D = _interval(g("mle_D", np.nan), g("mle_D_lo", np.nan), g("mle_D_hi", np.nan), 0.0)
        verdict = str(g("verdict") or "")
        if verdict and np.isfinite(g("verdict_p", np.nan)):
            src = str(g("verdict_source") or "")
            verdict += (
                f" ({src}, p = {g('verdict_p'):.2f})" if src else f" (p = {g('verdict_p'):.2f})"
            )
        lv, lp = g("learned_verdict") or "", g("learned_verdict_p", np.nan)
        learned = (
            ""
            if not lv
            else (
                f"{lv} (p = {lp:.2f})"
                if lp >= LEARNED_MIN_P
                else f"inconclusive ({lv}, p = {lp:.2f})"
            )
        )
        rows.append([str(r["particle"]), str(g("tracker", "")), str(r["n_points"]), D, alpha,
                     verdict, learned, "yes" if g("bm_compatible") else "no"])  # fmt: skip
    return header, rows


def _df_html(df: pd.DataFrame, float_format: str = "{:.4g}") -> str:
    return df.to_html(
        index=False, float_format=lambda v: float_format.format(v), na_rep="", border=0, escape=True
    )


def _data_uri(png: Path) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def write_html(
    path: str | os.PathLike,
    *,
    title: str,
    summary: Mapping,
    results: pd.DataFrame,
    figures: Sequence[tuple[str, str, str]],
    key_numbers: Mapping[str, str] | None = None,
    embed: bool = False,
) -> Path:
    """Write the report page.

    Parameters
    ----------
    path : path
        The ``report.html`` file (its folder holds the figures).
    title : str
        Page title.
    summary : mapping
        The content of ``summary.json`` (shown folded at the end).
    results : DataFrame
        The per-track table (``results.csv``).
    figures : sequence of (heading, relative PNG path, caption)
        Figures in page order; paths are relative to the page's folder. The population
        figures (``population_*.png``) come first, before the per-track table.
    key_numbers : mapping, optional
        Short "name: value" lines shown at the top.
    embed : bool
        Put the figures into the page as data URIs: one self-contained file to mail or
        archive (the PNG files stay beside it too).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    path = Path(path)
    env = Environment(
        loader=PackageLoader("sptmotion.analysis", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    items = [
        {
            "heading": h,
            "path": _data_uri(path.parent / p) if (embed and p) else p,
            "caption": c,
            "population": Path(p).name.startswith("population_"),
        }
        for h, p, c in figures
    ]
    header, rows = short_table(results.iloc[:TABLE_MAX_ROWS])
    key_lines = list((key_numbers or {}).items())
    source = (summary.get("input") or {}).get("path")
    warnings = list(summary.get("warnings") or [])
    warnings += convergence_warnings((summary.get("bayes") or {}).get("diagnostics"))
    warnings = list(dict.fromkeys(warnings))  # the summary may already hold the same lines
    page = env.get_template("report.html.j2").render(
        title=title,
        input_name=Path(source).name if source else "",
        warnings=warnings,
        min_p=LEARNED_MIN_P,
        n_columns=results.shape[1],
        short_header=header,
        short_rows=rows,
        n_tracks=len(results),
        table_max_rows=TABLE_MAX_ROWS,
        population=[f for f in items if f["population"]],
        figures=[f for f in items if not f["population"]],
        key_numbers=key_lines if len(key_lines) <= KEY_LINES_MAX else [],
        full_table=Markup(_df_html(results)) if len(results) <= TABLE_MAX_ROWS else None,
        summary_json=json.dumps(summary, indent=2, default=str, ensure_ascii=False),
    )
    path.write_text(page, encoding="utf-8")
    return path
