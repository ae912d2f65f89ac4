"""Each emitter's own localizations, linked frame to frame, for the likelihood fits of a movie."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .trackset import TrackSet, bound_variance, localization_trackset

__all__ = ["emitter_localizations"]


def emitter_localizations(
    table: pd.DataFrame | None,
    means: Sequence[np.ndarray],
    dt: float,
    *,
    ci: float = 0.98,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
) -> TrackSet:
    """The per-frame localizations of each tracked emitter, as a TrackSet for the likelihood fits.

    The localizations (per-frame PSF fits, no motion prior) are linked into ``M = len(means)``
    tracks by :func:`_link_known_count` (frame-to-frame optimal assignment, gated), and each
    linked track is labelled with the emitter whose track ``means[m]`` is closest to it on
    average. Frames without a kept localization are missing points, exact in the likelihood.
    Only the positions and variances (from the ``ci`` bounds) of the localizations enter the
    fits; the emitters' tracks only name the linked tracks.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.stats import norm

    M = len(means)
    empty = TrackSet(tracks=[], particles=np.array([], dtype=int), dt=dt, source="localizations")
    if table is None or len(table) == 0 or M == 0:
        return empty
    zq = float(norm.ppf(0.5 + ci / 2.0))
    f_all = table["frame"].to_numpy(dtype=int)
    xy_all = table[["x", "y"]].to_numpy(dtype=float)
    var_all = bound_variance(table, zq)
    linked = [np.asarray(r, dtype=int) for r in _link_known_count(f_all, xy_all, M) if len(r) >= 3]
    if not linked:
        return empty
    cost = np.full((len(linked), M), 1e9)
    for k, r in enumerate(linked):
        for m in range(M):
            f = f_all[r]
            ok = f < len(means[m])
            if ok.any():
                cost[k, m] = np.mean(np.hypot(*(xy_all[r[ok]] - means[m][f[ok], :2]).T))
    rows, cols = linear_sum_assignment(cost)
    pairs = sorted(zip(rows, cols, strict=True), key=lambda t: t[1])
    return localization_trackset(
        [linked[k] for k, _ in pairs], [int(m) for _, m in pairs], f_all, xy_all, var_all, dt,
        exposure=exposure, sigma_loc=sigma_loc,
    )  # fmt: skip


#: Gate of the localization linker, in robust step sizes (see :func:`_link_known_count`).
_GATE = 6.0


def _link_known_count(frames: np.ndarray, xy: np.ndarray, n_tracks: int) -> list[list[int]]:
    """Link localizations into at most ``n_tracks`` tracks (row indices, frame order).

    Frame by frame, the localizations are assigned to the tracks' last kept positions by
    minimal total squared distance per frame of gap (Hungarian algorithm); a pair is kept only
    within :data:`_GATE` robust step sizes times ``sqrt(gap)``, the step size being the median
    nearest-neighbour distance between consecutive frames over 1.1774 (per-axis sd of a 2D
    Gaussian step). Localizations left over start tracks that have none yet; others are
    dropped, so a track never jumps to another particle.
    """
    from scipy.optimize import linear_sum_assignment

    order = np.unique(frames)
    by_frame = {f: np.flatnonzero(frames == f) for f in order}
    nn = []
    for f in order:
        if f - 1 in by_frame:
            a, b = xy[by_frame[f]], xy[by_frame[f - 1]]
            nn.extend(np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1)).min(axis=1))
    scale = float(np.median(nn)) / 1.1774 if nn else np.inf
    members: list[list[int]] = [[] for _ in range(n_tracks)]
    last_f = [None] * n_tracks
    for f in order:
        rows = by_frame[f]
        active = [m for m in range(n_tracks) if last_f[m] is not None]
        used: set[int] = set()
        if active:
            last = np.array([xy[members[m][-1]] for m in active])
            gap = np.array([f - last_f[m] for m in active], dtype=float)
            d2 = np.sum((xy[rows][None, :, :] - last[:, None, :]) ** 2, axis=2) / gap[:, None]
            for a, c in zip(*linear_sum_assignment(d2), strict=True):
                if d2[a, c] <= (_GATE * scale) ** 2:
                    m = active[a]
                    members[m].append(int(rows[c]))
                    last_f[m] = f
                    used.add(int(c))
        free = [m for m in range(n_tracks) if last_f[m] is None]
        for c in range(len(rows)):
            if c not in used and free:
                m = free.pop(0)
                members[m].append(int(rows[c]))
                last_f[m] = f
    return members
