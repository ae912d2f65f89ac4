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

__all__ = ["write_outputs", "check_track_figures", "missing_tracks", "FOREST_MAX_TRACKS"]


#: The forest plot of alpha per track shows at most this many tracks (the population
#: histograms show all).
FOREST_MAX_TRACKS = 40
#: The population figures need at least this many analyzed tracks.
POPULATION_MIN_TRACKS = 5
#: Per-track figures (scalograms, MSD) drawn by default: the first usable tracks.
DEFAULT_TRACK_FIGURES = 4


def _population_figures(
    fig_dir: Path, results: pd.DataFrame, trackset: TrackSet, all_results: pd.DataFrame
) -> list[tuple[str, str, str]]:
    from .population import population_msd

    pop = population_msd(trackset, results)
    _figures.plot_population_msd(
        pop.lag_s, pop.tamsd, pop.eamsd, pop.models, fig_dir / "population_msd.png"
    )
    _figures.plot_population_histograms(
        all_results, fig_dir / "population_histograms.png", min_p=_report.LEARNED_MIN_P
    )
    return [
        (
            "Population: MSD",
            "figures/population_msd.png",
            "Time-averaged MSD (mean over tracks) and ensemble MSD from each track's start, with "
            "95% bands; solid lines: FBM at the median alpha, D and sigma of the tracks of each "
            "verdict as the camera records it (motion blur over the exposure, localization "
            "noise); dashed: the motion alone. Where data and solid line agree, the fits "
            "describe the population; the gap between solid and dashed is the measurement.",
        ),
        (
            "Population: alpha, D and verdicts",
            "figures/population_histograms.png",
            "Alpha and D of every analyzed track (likelihood fits through the measurement "
            "model) stacked by verdict, and the verdicts of the likelihood and of the learned "
            "classifier.",
        ),
    ]


def _track_figures(
    fig_dir: Path, results: pd.DataFrame, trackset: TrackSet, which: Sequence
) -> list[tuple[str, str, str]]:
    from .. import represent
    from ..motion.msd import ragged_msd
    from .population import msd_lags, track_model_msd

    figs = []
    ids = [str(p) for p in results["particle"]]
    for pid in which:
        i = ids.index(str(pid))
        tr = trackset.tracks[i]
        row = results.iloc[i]
        if row.get("error"):  # a skipped track (e.g. too short) has no scalogram or fit
            figs.append((f"Track {row['particle']}", "", f"no figures: {row['error']}"))
            continue
        name = f"{trackset.source}_{row['particle']}"
        sc = np.asarray(represent.wavelet((tr - tr[0])[None]))[0]
        _figures.plot_scalogram(
            sc,
            fig_dir / f"scalogram_{name}.png",
            wavelets=represent.WAVELETS,
            scales=represent.SCALES,
            dt=trackset.dt,
            title=f"wavelet scalograms, track {row['particle']}",
        )
        figs.append((f"Scalograms of track {row['particle']}", f"figures/scalogram_{name}.png", ""))
        if np.isfinite(row.get("mle_alpha", np.nan)) and np.isfinite(row.get("mle_D", np.nan)):
            lags = msd_lags([len(tr)])
            ta, _ = ragged_msd([tr], lags)
            lag_s = lags * trackset.dt
            measured, motion = track_model_msd(
                row, lag_s, trackset.dt, trackset.exposure, tr.shape[1]
            )
            _figures.plot_track_msd(
                lag_s, ta[0], measured, motion, fig_dir / f"msd_{name}.png",
                title=f"track {row['particle']}: alpha {row['mle_alpha']:.2f}, "
                f"D {row['mle_D']:.3g} µm²/s^alpha",
            )  # fmt: skip
            figs.append((f"MSD of track {row['particle']}", f"figures/msd_{name}.png", ""))
    return figs


def _figures_for_tracks(
    fig_dir: Path,
    all_results: pd.DataFrame,
    results: pd.DataFrame,
    trackset: TrackSet,
    classes: Sequence[str],
    track_figures: Sequence | None = None,
) -> list[tuple[str, str, str]]:
    usable = ~results["error"].fillna("").astype(bool).to_numpy()
    figs = []
    if usable.sum() >= POPULATION_MIN_TRACKS:
        figs += _population_figures(fig_dir, results, trackset, all_results)
    shown = all_results.iloc[:FOREST_MAX_TRACKS]
    _figures.plot_alpha_and_probabilities(shown, classes, fig_dir / "alpha_probabilities.png")
    more = (
        f" The first {FOREST_MAX_TRACKS} of {len(all_results)} tracks; all of them are in "
        "results.csv and the population figures."
        if len(all_results) > FOREST_MAX_TRACKS
        else ""
    )
    figs.append(
        (
            "Alpha and motion-model probabilities",
            "figures/alpha_probabilities.png",
            "Alpha with 95% intervals (learned on the mean track, posterior-aware, and the MLE "
            "through the measurement model) and the learned classifier's model probabilities "
            "per track." + more,
        )
    )
    if track_figures is None:
        ok = np.flatnonzero(usable)[:DEFAULT_TRACK_FIGURES]
        track_figures = [results["particle"].iloc[i] for i in ok]
    return figs + _track_figures(fig_dir, results, trackset, track_figures)


def missing_tracks(track_figures, particles) -> tuple[set, list]:
    """The track ids as strings, and the requested ones that are not among them."""
    known = {str(p) for p in particles}
    return known, [str(p) for p in track_figures if str(p) not in known]


def check_track_figures(track_figures, particles) -> list | None:
    """Validate requested per-track figures against the track ids (one clear error)."""
    if track_figures is None:
        return None
    known, missing = missing_tracks(track_figures, particles)
    if missing:
        raise ValueError(
            f"--track-figures: no track {', '.join(missing[:5])} in the input "
            f"(ids: {', '.join(sorted(known, key=lambda v: (len(v), v))[:8])}"
            f"{', ...' if len(known) > 8 else ''})"
        )
    return list(track_figures)


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
    figures: bool | str,
    t0: float,
    extra_figures: Sequence[tuple[str, str, str]] = (),
    title: str = "sptmotion analysis",
    track_figures: Sequence | None = None,
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
        figs += _figures_for_tracks(fig_dir, results, sub, main, classes, track_figures)
        summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
        write_json(tmp / "summary.json", summary)
        _report.write_html(
            tmp / "report.html",
            embed=figures == "embed",
            title=title,
            summary=_jsonable(summary),
            results=results,
            figures=figs,
            key_numbers=key,
        )
    else:
        summary["elapsed_s"] = round(time.perf_counter() - t0, 2)
        write_json(tmp / "summary.json", summary)
