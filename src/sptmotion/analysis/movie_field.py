"""A movie with an unknown number of emitters: the Bayesian stage of :func:`.movie.analyze_movie`
when M is sampled (emitters enter, leave and blink), its tracks, localizations and decomposition.

The tracker (:func:`sptmotion.tracking.track_bayes` with ``n_emitters=None``, or
:func:`sptmotion.tracking.track_field` region by region on frames over
:data:`.track.REGIONS_ABOVE` pixels) gives a table of the frames where each particle is present
(posterior probability at least 0.5), with positions and bounds given presence, and posterior
sample positions at those rows. Everything downstream works from that table.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from .report import convergence_warnings, region_warnings
from .trackset import (
    TrackSet,
    bound_variance,
    fill_rows,
    localization_trackset,
    rows_by_particle,
)

__all__ = [
    "unknown_bayes_stage",
    "presence_trackset",
    "presence_localizations",
    "presence_fine_tracks",
]

logger = logging.getLogger("sptmotion")


def unknown_bayes_stage(stack: np.ndarray, setup, opts, seed: int, progress=None) -> dict:
    """Bayesian tracking with the number of emitters sampled.

    Returns
    -------
    dict
        ``table`` (particle, frame, t, x, y, z, bounds, p_present[, region]), ``samples``
        (n_samples, n_rows, 3) at its rows, ``trackset`` (:func:`presence_trackset`),
        ``summary`` (JSON), ``warnings`` (R-hat/ESS, per region), ``post`` (the
        :class:`~sptmotion.tracking.TrackPosterior`, None by regions), ``D_mean`` (µm²/s, the
        posterior mean of D averaged over the rows), ``n_regions`` (0: the movie as one region),
        ``spots`` (by regions: the modular tracker's table over the whole movie, made to find
        them), ``elapsed_s``.
    """
    from .. import tracking
    from .track import single_subframes, use_regions

    t1 = time.perf_counter()
    post = None
    if use_regions(opts.regions, stack.shape):
        res = tracking.track_field(
            stack, setup, n_iterations=opts.iterations, n_chains=opts.chains, seed=seed,
            ci=opts.ci, workers=opts.region_workers, subframes=opts.subframes, burn=opts.burn,
            n_samples=opts.max_samples, planar=opts.planar,
            progress=getattr(progress, "regions", None),
        )  # fmt: skip
        warnings = region_warnings(res.regions)
        table, samples, summary = res.table, res.samples, res.summary()
        D = {  # each row's D (its region's, or its particle's own with emitter_D_sd)
            key: table[col].to_numpy(dtype=float)
            for key, col in (("mean", "D"), ("lo", "D_lo"), ("hi", "D_hi"))
        }
        n_regions, spots = len(res.regions), res.spots
    else:
        post = tracking.track_bayes(
            stack, setup, n_emitters=None, subframes=single_subframes(opts.subframes),
            n_iterations=opts.iterations,
            n_chains=opts.chains, burn=opts.burn, seed=seed, ci=opts.ci, planar=opts.planar,
            progress=progress,
        )  # fmt: skip
        lab = post.relabel_frames()  # once for the table and its draws
        table = lab.to_table(opts.ci)
        samples = lab.table_draws(opts.max_samples)
        summary = post.summary(opts.ci)
        warnings = convergence_warnings(summary["diagnostics"])
        Dsum = post.D_summary(opts.ci)
        D = lab.row_D(opts.ci) or {
            key: np.full(len(table), Dsum[key]) for key in ("mean", "lo", "hi")
        }
        n_regions, spots = 0, None
    trackset = presence_trackset(table, samples, float(setup.frame_period), D)
    return {
        "post": post,
        "table": table,
        "samples": samples,
        "trackset": trackset,
        "summary": summary,
        "warnings": warnings,
        "D_mean": float(np.mean(D["mean"])) if len(table) else float("nan"),
        "n_regions": n_regions,
        "spots": spots,
        "elapsed_s": time.perf_counter() - t1,
    }


def presence_trackset(table: pd.DataFrame, samples: np.ndarray, dt: float, D: dict) -> TrackSet:
    """The lateral Bayesian tracks of a table with presence, as a TrackSet to characterize.

    Each particle's track runs from its first to its last present frame; frames inside it where
    it is absent (blinking, p_present < 0.5) are linearly interpolated, in the mean track, its
    bounds and every posterior sample track (the learned models need a regular grid; column
    ``n_interpolated``). ``D`` holds the D posterior (``mean``, ``lo``, ``hi``, µm²/s) per
    table row (its particle's own, or its region's with one D per region).
    """
    tracks, lower, upper, samp, first, parts = [], [], [], [], [], []
    extra = {k: [] for k in ("D_post_mean", "D_post_lo", "D_post_hi", "p_present_mean")}
    extra["n_interpolated"] = []
    frames_all = table["frame"].to_numpy(dtype=int)
    xy = table[["x", "y"]].to_numpy(dtype=float)
    lo = table[["x_lo", "y_lo"]].to_numpy(dtype=float)
    hi = table[["x_hi", "y_hi"]].to_numpy(dtype=float)
    for pid, rows in rows_by_particle(table):
        f = frames_all[rows]
        tracks.append(fill_rows(xy[rows], f))
        lower.append(fill_rows(lo[rows], f))
        upper.append(fill_rows(hi[rows], f))
        samp.append(fill_rows(samples[:, rows, :2], f) if samples is not None else None)
        first.append(int(f[0]))
        parts.append(pid)
        extra["n_interpolated"].append(int(f[-1] - f[0] + 1 - len(f)))
        extra["p_present_mean"].append(float(table["p_present"].to_numpy()[rows].mean()))
        for key in ("mean", "lo", "hi"):
            extra[f"D_post_{key}"].append(float(D[key][rows[0]]))
    return TrackSet(
        tracks=tracks,
        particles=np.asarray(parts, dtype=int),
        dt=dt,
        source="bayes",
        samples=samp,
        lower=lower,
        upper=upper,
        extra=extra,
        first_frames=first,
        fit_motion=False,
    )


def presence_localizations(
    mod_table: pd.DataFrame | None,
    table: pd.DataFrame,
    dt: float,
    gate_um: float,
    *,
    ci: float = 0.98,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
) -> TrackSet:
    """Each Bayesian particle's own localizations, for the likelihood fits.

    In every frame the modular tracker's localizations (per-frame PSF fits, no motion prior) are
    assigned to the particles present there by minimal total distance to their posterior-mean
    positions (Hungarian algorithm), a pair kept within ``gate_um``; a particle's localizations
    in frame order form its track (frames without one are missing points, exact in the
    likelihood). Particles with fewer than 3 are left out. Only the localizations' positions and
    variances (from their ``ci`` bounds) enter the fits; the Bayesian tracks only say which
    localization belongs to which particle.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.stats import norm

    empty = TrackSet(tracks=[], particles=np.array([], dtype=int), dt=dt, source="localizations")
    if mod_table is None or len(mod_table) == 0 or len(table) == 0:
        return empty
    zq = float(norm.ppf(0.5 + ci / 2.0))
    lf = mod_table["frame"].to_numpy(dtype=int)
    lxy = mod_table[["x", "y"]].to_numpy(dtype=float)
    bf = table["frame"].to_numpy(dtype=int)
    bxy = table[["x", "y"]].to_numpy(dtype=float)
    bp = table["particle"].to_numpy(dtype=int)
    owner = np.full(len(lf), -1)  # the particle each localization belongs to
    l_order, b_order = np.argsort(lf, kind="stable"), np.argsort(bf, kind="stable")
    l_frames, l_start = np.unique(lf[l_order], return_index=True)
    b_frames, b_start = np.unique(bf[b_order], return_index=True)
    l_end = np.r_[l_start[1:], len(lf)]
    b_end = np.r_[b_start[1:], len(bf)]
    b_index = {int(f): (s, e) for f, s, e in zip(b_frames, b_start, b_end, strict=True)}
    for f, s, e in zip(l_frames, l_start, l_end, strict=True):
        if int(f) not in b_index:
            continue
        bs, be = b_index[int(f)]
        li, bi = l_order[s:e], b_order[bs:be]
        d = np.hypot(*(lxy[li][:, None, :] - bxy[bi][None, :, :]).transpose(2, 0, 1))
        r, c = linear_sum_assignment(d)
        ok = d[r, c] <= gate_um
        owner[li[r[ok]]] = bp[bi[c[ok]]]
    members, parts = [], []
    for pid in np.unique(owner[owner >= 0]):
        rows = np.flatnonzero(owner == pid)
        if len(rows) >= 3:
            members.append(rows[np.argsort(lf[rows], kind="stable")])
            parts.append(int(pid))
    if not members:
        return empty
    return localization_trackset(
        members, parts, lf, lxy, bound_variance(mod_table, zq), dt,
        exposure=exposure, sigma_loc=sigma_loc,
    )  # fmt: skip


def presence_fine_tracks(table: pd.DataFrame, n_frames: int) -> np.ndarray:
    """Positions (P, n_frames, 3) µm of the table's particles, NaN where a particle is absent
    (:func:`sptmotion.likelihood.decompose` leaves absent emitters out of the image)."""
    parts = rows_by_particle(table)
    X = np.full((len(parts), n_frames, 3), np.nan)
    f = table["frame"].to_numpy(dtype=int)
    xyz = table[["x", "y", "z"]].to_numpy(dtype=float)
    for k, (_, rows) in enumerate(parts):
        X[k, f[rows]] = xyz[rows]
    return X
