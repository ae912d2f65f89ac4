"""The analysis report: one self-contained HTML page over the results and the figures.

The page references its figures (:mod:`.figures`) by relative paths (``figures/<name>.png``)
inside the same output folder, so it opens in any browser from the file system, without a
server, and the folder can be moved or zipped as a whole.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

__all__ = ["write_html"]


_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.8em; } td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f2f2f2; } .note { color: #555; font-size: 0.9em; } img { max-width: 100%; border: 1px solid #eee; }
.error { color: #a00; } code { background: #f6f6f6; padding: 0 3px; }
"""


def _df_html(df: pd.DataFrame, float_format: str = "{:.4g}") -> str:
    return df.to_html(
        index=False, float_format=lambda v: float_format.format(v), na_rep="", border=0, escape=True
    )


def write_html(
    path: str | os.PathLike,
    *,
    title: str,
    summary: Mapping,
    results: pd.DataFrame,
    figures: Sequence[tuple[str, str, str]],
    key_numbers: Mapping[str, str] | None = None,
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
        Figures in page order; paths are relative to the page's folder.
    key_numbers : mapping, optional
        Short "name: value" lines shown at the top.
    """
    path = Path(path)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if key_numbers:
        parts.append("<h2>Key numbers</h2><ul>")
        parts += [
            f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>"
            for k, v in key_numbers.items()
        ]
        parts.append("</ul>")
    parts.append("<h2>Per-track results</h2>")
    parts.append(
        '<p class="note">One row per track (also in <code>results.csv</code>). alpha: wavelet CNN on the '
        "mean track; alpha_post: the same model over posterior sample tracks (its interval adds the "
        "spread due to localization uncertainty); learned_verdict: the learned classifier's most "
        "probable model (posterior-averaged when posterior samples exist); mle_*: maximum "
        "likelihood through the measurement model (motion blur over the exposure, localization "
        "noise sigma), BM as the null model rejected at 5% false positives; verdict: that "
        "selection (CTRW, ATTM and LW have no Gaussian likelihood and are not tested by it).</p>"
    )
    parts.append('<div style="overflow-x: auto">' + _df_html(results) + "</div>")
    for heading, rel, caption in figures:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(f'<img src="{html.escape(rel)}" alt="{html.escape(heading)}">')
        if caption:
            parts.append(f'<p class="note">{html.escape(caption)}</p>')
    parts.append("<h2>Parameters, versions and seeds</h2>")
    parts.append(
        "<details><summary>summary.json</summary><pre>"
        + html.escape(json.dumps(summary, indent=2, default=str, ensure_ascii=False))
        + "</pre></details>"
    )
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
