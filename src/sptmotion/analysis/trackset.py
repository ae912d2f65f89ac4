"""Tracks to characterize (:class:`TrackSet`) and their builders from track tables and trackers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._checks import check_positive
from ..datasets.tables import AXES, check_table, table_to_tracks

__all__ = [
    "fill_gaps",
    "fill_rows",
    "localization_trackset",
    "rows_by_particle",
    "TrackSet",
    "table_trackset",
    "lateral",
    "modular_trackset",
    "nearest_modular",
    "bound_variance",
]


@dataclass
class TrackSet:
    """Tracks to characterize, with optional posterior information.

    Attributes
    ----------
    tracks : list of ndarray, each (n_points, dim)
        Positions in µm (posterior means for the Bayesian tracker).
    particles : ndarray
        Track ids.
    dt : float
        Frame period in s.
    source : str
        ``"table"``, ``"bayes"`` or ``"modular"``.
    samples : list of (ndarray (n_samples, n_points, dim) or None), optional
        Posterior sample tracks (Bayesian tracker only).
    lower, upper : list of (ndarray (n_points, dim) or None), optional
        Credible bounds in µm.
    extra : dict of column -> per-track values
        Extra columns for the results table (e.g. the D posterior).
    first_frames : list of int, optional
        Frame of the first point of each track (0 by default).
    observed, observed_frames : list of ndarray, optional
        The measured points (µm) and their frame numbers, before any gap filling; the
        likelihood fits use these (missing frames are exact there).
    point_var : list of (ndarray (n_observed,) or None), optional
        Per-point localization variances in µm² from the tracker.
    exposure : float
        Exposure time in s (motion blur of every point).
    sigma_loc : "auto", "tracker" or float
        Localization noise of the likelihood fits (:func:`.mle.parse_sigma_loc`).
    fit_motion : bool
        Fit the motion models to these tracks. False for tracks that are posterior means
        under the tracker's own motion prior (their ``mle_*`` come from the localizations).
    """

    tracks: list[np.ndarray]
    particles: np.ndarray
    dt: float
    source: str = "table"
    samples: list[np.ndarray | None] | None = None
    lower: list[np.ndarray | None] | None = None
    upper: list[np.ndarray | None] | None = None
    extra: dict = field(default_factory=dict)
    first_frames: list[int] | None = None
    observed: list[np.ndarray] | None = None
    observed_frames: list[np.ndarray] | None = None
    point_var: list[np.ndarray | None] | None = None
    exposure: float = 0.0
    sigma_loc: float | str = "auto"
    fit_motion: bool = True

    def calibrated(self, factor: float) -> TrackSet:
        """A copy whose per-point variances are multiplied by ``factor`` and then taken as they
        are by the likelihood fits (``sigma_loc="tracker"``); unchanged without variances."""
        if self.point_var is None:
            return self
        factor = check_positive(factor, "variance factor")
        pvar = [None if v is None else v * factor for v in self.point_var]
        return replace(self, point_var=pvar, sigma_loc="tracker")


def fill_gaps(points: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, int]:
    """A track on the regular frame grid: frames missing inside it filled by linear interpolation.

    The learned models need a regular grid; the likelihood fits use the observed points only
    (missing frames are exact there).

    Parameters
    ----------
    points : ndarray, shape (n, dim)
        Observed positions (µm), in frame order.
    frames : ndarray of int, shape (n,)
        Their increasing frame numbers.

    Returns
    -------
    track : ndarray, shape (frames[-1] - frames[0] + 1, dim)
        ``points`` itself when no frame is missing.
    n_filled : int
        Number of interpolated frames.
    """
    n_filled = int(frames[-1] - frames[0] + 1 - len(frames))
    if not n_filled:
        return points, 0
    return fill_rows(points, frames), n_filled


def fill_rows(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Values at increasing ``frames`` on the regular grid ``frames[0] .. frames[-1]``, missing
    frames linearly interpolated, along axis -2 of ``values`` (..., n, dim)."""
    values = np.asarray(values, dtype=float)
    frames = np.asarray(frames, dtype=int)
    grid = np.arange(frames[0], frames[-1] + 1)
    if len(grid) == len(frames):
        return values
    j = np.clip(np.searchsorted(frames, grid, side="right") - 1, 0, len(frames) - 2)
    w = ((grid - frames[j]) / (frames[j + 1] - frames[j]))[:, None]
    return values[..., j, :] * (1.0 - w) + values[..., j + 1, :] * w


def table_trackset(
    df: pd.DataFrame,
    dt: float,
    pixel_size: float | None,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
) -> TrackSet:
    df = check_table(df)
    if "subframe" in df.columns:  # keep one point per frame: the first sub-frame sample
        df = df[df["subframe"] == df.groupby(["particle", "frame"])["subframe"].transform("min")]
    if pixel_size is not None:
        px = check_positive(pixel_size, "pixel_size")
        df = df.copy()
        for ax in AXES:
            if ax in df:
                df[ax] = df[ax] * px
    tracks, particles = table_to_tracks(df)
    observed = list(tracks)
    # frames skipped inside a track (trackpy's memory, gap closing) are filled by linear
    # interpolation for the learned models, which need a regular grid; the likelihood fits use
    # the observed points only (missing frames are exact there)
    frames = df["frame"].to_numpy(dtype=int)
    starts = np.r_[0, np.cumsum([len(tr) for tr in tracks])[:-1]]
    n_filled = []
    obs_frames = []
    for i, s0 in enumerate(starts):
        f = frames[s0 : s0 + len(tracks[i])]
        obs_frames.append(f)
        tracks[i], n = fill_gaps(tracks[i], f)
        n_filled.append(n)
    return TrackSet(
        tracks=tracks,
        particles=particles,
        dt=dt,
        source="table",
        extra={"n_interpolated": n_filled},
        first_frames=[int(frames[s0]) for s0 in starts],
        observed=observed,
        observed_frames=obs_frames,
        exposure=exposure,
        sigma_loc=sigma_loc,
    )


def lateral(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a)[..., :2])


def modular_trackset(
    table: pd.DataFrame | None,
    dt: float,
    *,
    ci: float = 0.98,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
) -> TrackSet:
    """Lateral tracks of the modular tracker.

    The learned models get the tracks on the regular frame grid (frames skipped by the linker's
    gap closing filled by linear interpolation); the likelihood fits get the localizations
    themselves, their frames and their per-point variances (from the ``ci`` confidence bounds,
    averaged over x and y).
    """
    if table is None or len(table) == 0:
        return TrackSet(tracks=[], particles=np.array([], dtype=int), dt=dt, source="modular")
    from scipy.stats import norm

    zq = float(norm.ppf(0.5 + ci / 2.0))
    t = table.sort_values(["particle", "frame"])
    parts = rows_by_particle(t)
    return localization_trackset(
        [rows for _, rows in parts], [pid for pid, _ in parts],
        t["frame"].to_numpy(dtype=int), t[["x", "y"]].to_numpy(dtype=float),
        bound_variance(t, zq), dt, exposure=exposure, sigma_loc=sigma_loc, source="modular",
    )  # fmt: skip


def rows_by_particle(table: pd.DataFrame) -> list[tuple[int, np.ndarray]]:
    """(particle id, row positions in frame order) for each particle of a table sorted by
    particle, then frame."""
    p = table["particle"].to_numpy()
    ids, starts = np.unique(p, return_index=True)
    ends = np.r_[starts[1:], len(p)]
    return [(int(i), np.arange(s, e)) for i, s, e in zip(ids, starts, ends, strict=True)]


def localization_trackset(
    members: Sequence[np.ndarray],
    particles: Sequence[int],
    frames: np.ndarray,
    xy: np.ndarray,
    var: np.ndarray,
    dt: float,
    *,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
    source: str = "localizations",
) -> TrackSet:
    """The TrackSet of localization tracks: track k holds the rows ``members[k]`` (frame order)
    of the localizations' ``frames``, lateral positions ``xy`` (µm) and variances ``var``
    (µm²), labelled ``particles[k]``. The regular-grid tracks (learned models, TAMSD) have the
    missing frames linearly interpolated; the likelihood fits use the observed points, their
    frames and variances (None for a track with a non-positive or non-finite one)."""
    tracks, observed, track_frames, pvar = [], [], [], []
    for r in members:
        fr, v = frames[r], var[r]
        tracks.append(fill_gaps(xy[r], fr)[0])
        observed.append(xy[r])
        track_frames.append(fr)
        pvar.append(v if np.all(np.isfinite(v)) and np.all(v > 0) else None)
    return TrackSet(
        tracks=tracks,
        particles=np.asarray(particles, dtype=int),
        dt=dt,
        source=source,
        first_frames=[int(f[0]) for f in track_frames],
        observed=observed,
        observed_frames=track_frames,
        point_var=pvar,
        exposure=exposure,
        sigma_loc=sigma_loc,
    )


def nearest_modular(table: pd.DataFrame | None, mean: np.ndarray):
    """Particle id of the modular track closest (mean lateral distance over shared frames) to
    a Bayesian track, or None."""
    if table is None or len(table) == 0:
        return None
    best, best_d = None, np.inf
    N = len(mean)
    for pid, g in table.groupby("particle", sort=True):
        f = g["frame"].to_numpy(dtype=int)
        keep = (f >= 0) & (f < N)
        keep[keep] &= np.isfinite(mean[f[keep], 0])  # NaN: frames the track does not cover
        if not keep.any():
            continue
        d = np.mean(
            np.hypot(
                g["x"].to_numpy()[keep] - mean[f[keep], 0],
                g["y"].to_numpy()[keep] - mean[f[keep], 1],
            )
        )
        if d < best_d:
            best, best_d = pid, d
    return best


def bound_variance(table: pd.DataFrame, zq: float) -> np.ndarray:
    """Per-point lateral localization variance (µm²) from symmetric bounds at quantile ``zq``."""
    return np.mean(
        [
            ((table[f"{a}_hi"] - table[f"{a}_lo"]).to_numpy(dtype=float) / (2.0 * zq)) ** 2
            for a in "xy"
        ],
        axis=0,
    )
