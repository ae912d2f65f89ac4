"""The output folder: staged in a hidden temporary folder, renamed into place when complete.

A marker file (:data:`COMPLETE_MARKER`) is written last, so a half-finished analysis never looks
complete (batch re-runs rely on it); ``versions`` and ``write_json`` fill ``summary.json``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .._io import current_umask
from .._io import jsonable as _jsonable

__all__ = [
    "result_line",
    "emitters_line",
    "calibration_line",
    "folder_summary_lines",
    "verdict_text",
    "COMPLETE_MARKER",
    "is_complete",
    "check_output_folder",
    "staged_output",
    "versions",
    "write_json",
]


#: Name of the marker file written last into a finished output folder.
COMPLETE_MARKER = ".complete"


def is_complete(folder: str | os.PathLike) -> bool:
    """True if ``folder`` holds a finished analysis (its completion marker exists)."""
    return (Path(folder) / COMPLETE_MARKER).is_file()


def check_output_folder(output: Path) -> None:
    if output.exists():
        if not output.is_dir():
            raise ValueError(f"output {output} exists and is not a folder")
        if any(output.iterdir()) and not is_complete(output):
            raise ValueError(
                f"output folder {output} exists and is not a finished sptmotion analysis; "
                "choose another folder or remove it"
            )


@contextlib.contextmanager
def staged_output(output: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success write the marker and rename it onto ``output``.

    An existing finished analysis in ``output`` is replaced; a non-empty folder that is not
    one is refused. On failure the temporary folder is removed and ``output`` is untouched.
    """
    output = Path(output)
    check_output_folder(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700: colleagues must read reports
    try:
        yield tmp
        stamp = {"completed_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        (tmp / COMPLETE_MARKER).write_text(json.dumps(stamp) + "\n")
        check_output_folder(output)
        if output.exists():
            old = output.with_name(f".{output.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(output, old)
            os.replace(tmp, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def versions() -> dict:
    import importlib.metadata as md

    from .. import __version__

    out = {"sptmotion": __version__}
    for pkg in (
        "numpy",
        "scipy",
        "pandas",
        "torch",
        "scikit-learn",
        "PyWavelets",
        "numba",
        "matplotlib",
        "dask",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            out[pkg] = md.version(pkg)
    return out


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def verdict_text(get) -> str:
    """``"verdict fbm (likelihood, P(Gaussian) 0.91)"``, ``"verdict ctrw (learned, p 0.72)"`` or
    ``"verdict inconclusive"``; ``get(column, default)`` reads a results row."""
    v, src = str(get("verdict", "") or ""), str(get("verdict_source", "") or "")
    if not v:
        return "no verdict"
    if src == "likelihood" and np.isfinite(get("gaussian_p", np.nan)):
        return f"verdict {v} (likelihood, P(Gaussian) {get('gaussian_p'):.2f})"
    if src == "learned":
        return f"verdict {v} (learned, p {get('verdict_p'):.2f})"
    if v == "inconclusive":
        return "verdict inconclusive (learned evidence against the Gaussian models, no other model sure)"
    return f"verdict {v} ({src})" if src else f"verdict {v}"


def result_line(row) -> str:
    """One line of a track's result: the likelihood verdict and alpha, then the learned alpha.

    ``row`` is a row of a results table (a pandas row or named tuple); skipped tracks give
    ``"skipped: <reason>"``. The printed summaries, the demo and the report all use this line.
    """
    get = row.get if hasattr(row, "get") else lambda k, d=None: getattr(row, k, d)
    if get("error"):
        return f"skipped: {get('error')}"
    text = verdict_text(get)
    if np.isfinite(get("mle_alpha", np.nan)):
        text += (
            f"; likelihood {get('mle_best')} (BM null at 5%), {get('mle_alpha_model')} alpha "
            f"{get('mle_alpha'):.2f} [{get('mle_alpha_lo'):.2f}, {get('mle_alpha_hi'):.2f}], "
            f"sigma {1000 * get('mle_sigma'):.0f} nm"
        )
    else:
        text += "; no likelihood fit"
    post = np.isfinite(get("alpha_post", np.nan))
    a, lo, hi = (
        (get("alpha_post"), get("alpha_post_lo"), get("alpha_post_hi"))
        if post
        else (get("alpha"), get("alpha_lo"), get("alpha_hi"))
    )
    text += f"; learned alpha {a:.2f} [{lo:.2f}, {hi:.2f}]"
    if isinstance(get("learned_verdict"), str) and get("learned_verdict"):
        text += f", learned verdict {get('learned_verdict')} (p={get('learned_verdict_p'):.2f})"
    return text


def emitters_line(summary: dict) -> str | None:
    """``number of emitters (K regions), posterior: M: p, ...`` (the five likeliest) from a
    tracker summary with ``n_emitters_posterior``; None without one (M known)."""
    counts = summary.get("n_emitters_posterior")
    if not counts:
        return None
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    post = ", ".join(f"{m}: {p:.3f}" for m, p in top)
    where = f" ({summary['n_regions']} regions)" if summary.get("n_regions") else ""
    return f"number of emitters{where}, posterior: {post}"


def calibration_line(summary: dict) -> str | None:
    """``localization error bars: Fisher variances x F ± SE (...)`` from a movie summary's
    ``modular.fisher_variance_calibration``; None when the variances were not calibrated."""
    cal = (summary.get("modular") or {}).get("fisher_variance_calibration")
    if not cal:
        return None
    return (
        f"localization error bars: Fisher variances x {cal['factor']:.2f} ± {cal['se']:.2f} "
        f"(calibrated on {cal['n_spots']} simulated spots of this movie)"
    )


def folder_summary_lines(folder: str | os.PathLike) -> list[str]:
    """The terminal lines of a movie analysis' report folder (its ``summary.json``): the
    emitter count posterior (:func:`emitters_line`) and the localizations' calibration
    (:func:`calibration_line`), where there are; none for a table's analysis."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        return []
    summary = json.loads(path.read_text())
    lines = (emitters_line(summary.get("bayes") or {}), calibration_line(summary))
    return [line for line in lines if line]
