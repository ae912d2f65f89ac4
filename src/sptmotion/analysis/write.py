"""Writing an analysis: ``results.csv``, ``summary.json``, figures and ``report.html``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import jsonable as _jsonable
from . import figures as _figures
from . import report as _report
from .output import result_line, write_json
from .trackset import TrackSet

__all__ = ["write_outputs"]


def _figures_for_tracks(
    fig_dir: Path,
    all_results: pd.DataFrame,
    results: pd.DataFrame,
    trackset: TrackSet,
    classes: Sequence[str],
    max_tracks: int = 4,
) -> list[tuple[str, str, str]]:
    from .. import represent

    figs = []
    _figures.plot_alpha_and_probabilities(all_results, classes, fig_dir / "alpha_probabilities.png")
    figs.append(
        (
            "Alpha and motion-model probabilities",
            "figures/alpha_probabilities.png",
            "Alpha with 95% intervals (learned on the mean track, posterior-aware, and the MLE through the measurement model) and the "
            "learned classifier's model probabilities per track.",
        )
    )
    ok = [i for i in range(len(trackset.tracks)) if not results["error"].iloc[i]][:max_tracks]
    for i in ok:
        tr = trackset.tracks[i]
        sc = np.asarray(represent.wavelet((tr - tr[0])[None]))[0]
        name = f"scalogram_{trackset.source}_{results['particle'].iloc[i]}.png"
        _figures.plot_scalogram(
            sc,
            fig_dir / name,
            wavelets=represent.WAVELETS,
            scales=represent.SCALES,
            dt=trackset.dt,
            title=f"wavelet scalograms, track {results['particle'].iloc[i]}",
        )
        figs.append((f"Scalograms of track {results['particle'].iloc[i]}", f"figures/{name}", ""))
    return figs


def _key_numbers(results: pd.DataFrame) -> dict[str, str]:
    """The one-line result of every track (:func:`.output.result_line`), keyed by tracker and id."""
    return {
        f"{r.get('tracker', '')} track {r['particle']}": result_line(r)
        for _, r in results.iterrows()
    }


def write_outputs(
    tmp: Path,
    results: pd.DataFrame,
    summary: dict,
    tracksets: Sequence[TrackSet],
    classes: Sequence[str],
    *,
    figures: bool,
    t0: float,
    extra_figures: Sequence[tuple[str, str, str]] = (),
    title: str = "sptmotion analysis",
) -> None:
    results.to_csv(tmp / "results.csv", index=False)
    key = _key_numbers(results)
    summary = dict(summary)
    summary["key_numbers"] = key
    if figures:
        fig_dir = tmp / "figures"
        fig_dir.mkdir(exist_ok=True)
        figs = list(extra_figures)
        main = tracksets[0]
        sub = results[results["tracker"] == main.source].reset_index(drop=True)
        figs += _figures_for_tracks(fig_dir, results, sub, main, classes)
        summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
        write_json(tmp / "summary.json", summary)
        _report.write_html(
            tmp / "report.html",
            title=title,
            summary=_jsonable(summary),
            results=results,
            figures=figs,
            key_numbers=key,
        )
    else:
        summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
        write_json(tmp / "summary.json", summary)
