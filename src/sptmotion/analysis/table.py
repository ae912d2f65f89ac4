"""Analysis of a track table: per-track verdicts into a report folder."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import check_positive
from ..datasets.tables import read_table
from .characterize import ALPHA_CI, characterize
from .mle import MLE_NOTE, parse_sigma_loc
from .output import check_output_folder, staged_output, versions
from .pretrained import LearnedModels, resolve_models
from .trackset import table_trackset
from .write import check_track_figures, write_outputs

__all__ = ["analyze_table", "trackpy_calibration"]


logger = logging.getLogger("sptmotion")

#: Median frame-to-frame step (µm) above which positions probably are in pixels: 1 µm per frame
#: is D of about 8 µm²/s at 30 ms, faster than nearly anything tracked in cells.
PIXEL_STEP_UM = 1.0


def pixel_warning(tracks, dt: float) -> list[str]:
    """A warning when the positions look like pixels (median step over :data:`PIXEL_STEP_UM`)."""
    steps = [np.sqrt((np.diff(t, axis=0) ** 2).sum(axis=1)) for t in tracks if len(t) > 1]
    if not steps:
        return []
    med = float(np.median(np.concatenate(steps)))
    if med <= PIXEL_STEP_UM:
        return []
    return [
        f"the median step is {med:.3g} per frame: if positions are in pixels, give --pixel-size "
        f"(µm per pixel); read as µm, D would be about {med**2 / (4 * dt):.3g} µm²/s"
    ]


def trackpy_calibration(
    dt: float | None, pixel_size: float | None, fps: float | None, mpp: float | None
) -> tuple[float, float | None]:
    """Frame period (s) and pixel size (µm) from sptmotion's or trackpy's names (one of each)."""
    if fps is not None:
        if dt is not None:
            raise ValueError("give the frame period as dt or as fps, not both")
        dt = 1.0 / check_positive(fps, "fps (frames per second)")
    if dt is None:
        raise ValueError("a track table needs dt (seconds per frame) or fps")
    if mpp is not None:
        if pixel_size is not None:
            raise ValueError("give the pixel size as pixel_size or as mpp, not both")
        pixel_size = check_positive(mpp, "mpp (µm per pixel)")
    return check_positive(dt, "dt (s per frame)"), pixel_size


def analyze_table(
    table: pd.DataFrame | str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    dt: float | None = None,
    pixel_size: float | None = None,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
    models: LearnedModels | str | os.PathLike | None = None,
    tta_points: int | None = None,
    seed: int = 0,
    figures: bool | str = True,
    track_figures: Sequence | None = None,
    fps: float | None = None,
    mpp: float | None = None,
) -> pd.DataFrame:
    """Analyze a track table: learned alpha and model, MLE model selection, per track.

    Parameters
    ----------
    table : DataFrame or path
        Track table (CSV/Parquet; trackpy columns particle, frame, x[, y[, z]]) in µm, or
        in pixels with ``pixel_size``.
    output : path, optional
        Report folder (``results.csv``, ``summary.json``, ``report.html``, ``figures/``).
        Nothing is written when None.
    dt : float
        Frame period in s (or give ``fps``).
    pixel_size : float, optional
        Pixel edge in µm when positions are in pixels (or give ``mpp``).
    exposure : float
        Camera exposure in s (``0 <= exposure <= dt``): the motion blur of every point.
    sigma_loc : "auto" or float
        Localization noise per axis in µm: estimated per track (``"auto"``) or fixed.
    models : LearnedModels or path, optional
        Learned models; the bundled pretrained ones by default.
    tta_points : int, optional
        Test-time rotation budget of the learned models (points): a track of ``n`` points
        is read in ``tta_points // n`` rotations (at least 1, at most the model's); None
        keeps the models' own (by default 120). Recorded in ``summary.json``.
    seed : int
        Seed recorded in ``summary.json`` (the table analysis itself is deterministic).
    figures : bool or "embed"
        Draw the PNG figures and the HTML report; ``"embed"`` also puts the figures into the
        page (one self-contained ``report.html``).
    track_figures : sequence of track ids, optional
        Tracks that get their own figures (scalograms, MSD with the fitted model); by default
        the first four that could be analyzed.
    fps, mpp : float, optional
        trackpy's names: frames per second (``dt = 1/fps``) and microns per pixel (the same
        as ``pixel_size``), as in ``trackpy.emsd(traj, mpp, fps)``.

    Returns
    -------
    DataFrame
        One row per track: ``particle, tracker, n_points, dim, error``; ``alpha, alpha_std,
        alpha_lo, alpha_hi`` (wavelet regressor, 95% interval, cut to [0, 2]); ``p_<model>``
        (classifier) and ``learned_verdict, learned_verdict_p``; the ``mle_*`` columns of
        :func:`.mle.measured_columns` (fits through the measurement model: alpha with its
        profile-likelihood interval, D, sigma, BM-null selection); ``tamsd_alpha``;
        ``verdict``, ``verdict_p``, ``verdict_source``, ``gaussian_p`` (learned evidence
        for CTRW/ATTM/LW, the likelihood's BM-null selection for the Gaussian models,
        "inconclusive" below p = 0.5; :mod:`sptmotion.analysis.characterize`, "Verdict"),
        ``bm_compatible``.
    """
    t0 = time.perf_counter()
    dt, pixel_size = trackpy_calibration(dt, pixel_size, fps, mpp)
    exposure = check_positive(
        0.0 if exposure is None else exposure, "exposure (s)", allow_zero=True
    )
    if exposure > dt:
        raise ValueError(f"exposure {exposure} s is longer than the frame period dt = {dt} s")
    sigma_loc = parse_sigma_loc(sigma_loc)
    if sigma_loc == "tracker":
        raise ValueError("sigma_loc 'tracker' needs a tracker's per-point variances (movies)")
    src = None
    if not isinstance(table, pd.DataFrame):
        src = Path(table)
        table = read_table(src)
    if output is not None:
        check_output_folder(Path(output))
    models = resolve_models(models, tta_points)
    ts = table_trackset(table, dt, pixel_size, exposure, sigma_loc)
    track_figures = check_track_figures(track_figures, ts.particles)
    notes = [] if pixel_size is not None else pixel_warning(ts.observed, dt)
    for note in notes:
        logger.warning(note)
    results = characterize(ts, models, rng=seed)
    if results["error"].astype(bool).all():
        raise ValueError(
            f"no track can be analyzed: {results['error'].iloc[0]}"
            + (f" (and {len(results) - 1} more tracks too short)" if len(results) > 1 else "")
        )
    if output is None:
        return results
    summary = {
        "input": {"kind": "table", "path": str(src) if src else None, "n_tracks": len(results)},
        "parameters": {
            "dt_s": dt,
            "pixel_size_um": pixel_size,
            "exposure_s": exposure,
            "sigma_loc_um": sigma_loc,
            "alpha_ci": ALPHA_CI,
            "tta_points": models.tta_points,
            "window_points": models.window_points,
        },
        "measurement_model": MLE_NOTE,
        "warnings": notes,
        "seeds": {"seed": int(seed)},
        "models": models.sources,
        "classes": models.classes,
        "min_length": models.min_length,
        "versions": versions(),
    }
    with staged_output(output) as tmp:
        write_outputs(
            tmp, results, summary, [ts], models.classes,
            figures=figures, t0=t0, track_figures=track_figures,
        )  # fmt: skip
    return results
