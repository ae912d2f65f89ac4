"""Shared input handling for the representations.

Every representation accepts the same three input forms:

* one array ``(n_tracks, n_points, dim)`` (or ``(n_points, dim)`` for one track) -- all tracks
  of one length;
* a list (or tuple) of arrays ``(n_points_i, dim)`` of mixed lengths;
* a long-form track table (``particle``, ``frame``, ``x`` [, ``y``, ``z``]), split with
  :func:`sptmotion.datasets.tables.table_to_tracks` (tracks ordered by particle id).

Tracks are grouped by length so that each representation works on whole
``(n, n_points, dim)`` batches (vectorized, no per-track Python loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._checks import check_positions
from ..datasets.tables import table_to_tracks

__all__ = ["MIN_POINTS", "TrackBatch", "as_track_groups"]

#: Shortest track accepted by the representations (points).
MIN_POINTS = 20


@dataclass(frozen=True)
class TrackBatch:
    """Tracks grouped by length.

    Attributes
    ----------
    groups : list of (indices, positions)
        ``indices`` (int array) are the positions of the tracks in input order and
        ``positions`` is a float64 array ``(len(indices), n_points, dim)``; one entry per
        distinct length, in increasing length.
    n_tracks : int
        Number of tracks in the input.
    dim : int
        Spatial dimension (1, 2 or 3).
    single_array : bool
        True when the input was one array (the result is then one array, not a list).
    particles : ndarray or None
        Particle ids, in output order, when the input was a track table.
    """

    groups: list[tuple[np.ndarray, np.ndarray]]
    n_tracks: int
    dim: int
    single_array: bool
    particles: np.ndarray | None = None

    @property
    def lengths(self) -> np.ndarray:
        """Number of points of each track, in input order."""
        out = np.empty(self.n_tracks, dtype=np.int64)
        for idx, arr in self.groups:
            out[idx] = arr.shape[1]
        return out


def _too_short(name: str, n_points: int, min_points: int) -> ValueError:
    return ValueError(
        f"{name}: tracks need at least {min_points} points for this representation, "
        f"got a track of {n_points} points"
    )


def as_track_groups(X, *, name: str = "X", min_points: int = MIN_POINTS) -> TrackBatch:
    """Validate any accepted input form and group the tracks by length.

    Raises
    ------
    ValueError
        For a wrong shape, a dimension outside 1..3, mixed dimensions, NaN/inf positions
        or a track shorter than ``min_points`` points.
    """
    particles = None
    if isinstance(X, pd.DataFrame):
        tracks, particles = table_to_tracks(X)
        single = False
    elif isinstance(X, list | tuple):
        if len(X) == 0:
            raise ValueError(f"{name} holds no tracks (empty list)")
        tracks = list(X)
        single = False
    else:
        arr = check_positions(X, name=name, min_points=1)
        if arr.shape[1] < min_points:
            raise _too_short(name, arr.shape[1], min_points)
        return TrackBatch(
            groups=[(np.arange(arr.shape[0]), arr)],
            n_tracks=arr.shape[0],
            dim=arr.shape[2],
            single_array=True,
        )

    checked = []
    for i, tr in enumerate(tracks):
        a = np.asarray(tr, dtype=np.float64) if not isinstance(tr, np.ndarray) else tr
        if a.ndim == 1:
            a = a[:, None]
        a = check_positions(a, name=f"{name}[{i}]", min_points=1)[0]
        if a.shape[0] < min_points:
            raise _too_short(f"{name}[{i}]", a.shape[0], min_points)
        checked.append(a)
    dims = {a.shape[1] for a in checked}
    if len(dims) != 1:
        raise ValueError(
            f"{name}: all tracks must have the same dimension, got dims {sorted(dims)}"
        )
    lengths = np.array([a.shape[0] for a in checked])
    groups = []
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        groups.append((idx, np.stack([checked[i] for i in idx])))
    return TrackBatch(
        groups=groups,
        n_tracks=len(checked),
        dim=dims.pop(),
        single_array=single,
        particles=None if particles is None else np.asarray(particles),
    )


def standardize(X: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Standardize each coordinate of each track: zero mean, unit population std (ddof=0).

    A constant coordinate (std below 1e-12 of its magnitude) becomes zeros, never NaN.

    Parameters
    ----------
    X : ndarray, shape (n, n_points, dim)
    lengths : ndarray (n,) of int, optional
        Track ``i`` is its first ``lengths[i]`` points (the statistics are theirs; the rest
        becomes zeros). Default: every point.

    Returns
    -------
    ndarray, shape (n, n_points, dim), float64
    """
    n_points = X.shape[1]
    own = np.full(len(X), n_points) if lengths is None else np.asarray(lengths)
    inside = (np.arange(n_points)[None, :] < own[:, None])[:, :, None]
    n_own = own[:, None, None].astype(np.float64)
    Xm = np.where(inside, X, 0.0)
    Xc = np.where(inside, X - Xm.sum(axis=1, keepdims=True) / n_own, 0.0)
    std = np.sqrt(np.sum(Xc * Xc, axis=1, keepdims=True) / n_own)
    scale = np.max(np.abs(Xm), axis=1, keepdims=True)
    ok = std > 1e-12 * np.maximum(scale, np.finfo(float).tiny)
    return np.where(ok, Xc / np.where(ok, std, 1.0), 0.0)
