"""Normalized increments: the input of sequence networks (WADNet-style learners)."""

from __future__ import annotations

import numpy as np

from ._input import MIN_POINTS, as_track_groups

__all__ = ["trajectory"]


def _normalized_increments(X: np.ndarray, dtype) -> np.ndarray:
    """Increments of a batch ``(n, L, dim)`` divided by their per-track population std."""
    dX = np.diff(X, axis=1)
    # one scale per track (all axes together) keeps the relative size of the axes
    std = np.sqrt(
        np.mean((dX - dX.mean(axis=(1, 2), keepdims=True)) ** 2, axis=(1, 2), keepdims=True)
    )
    scale = np.max(np.abs(dX), axis=(1, 2), keepdims=True)
    ok = std > 1e-12 * np.maximum(scale, np.finfo(float).tiny)
    return np.where(ok, dX / np.where(ok, std, 1.0), 0.0).astype(dtype)


def trajectory(X, dtype=np.float32) -> np.ndarray | list[np.ndarray]:
    """Normalized increments of tracks, for sequence networks.

    The increments :math:`\\Delta x_i = x_{i+1} - x_i` of each track are divided by their
    population standard deviation (``ddof=0``) taken over all steps and axes of that
    track, which removes the diffusion coefficient and the length unit while keeping the
    shape of the step distribution, its correlations and the relative size of the axes
    (as in the AnDi-challenge networks, e.g. WADNet, Li et al. 2021). A track that does
    not move gives zeros.

    Parameters
    ----------
    X : array_like (n_tracks, n_points, dim) or (n_points, dim), list of arrays, or DataFrame
        Positions; a list or a track table may mix lengths. At least 20 points per track.
    dtype : numpy dtype
        Output dtype (float32 by default).

    Returns
    -------
    ndarray (n_tracks, n_points - 1, dim), or list of ndarray
        One array for array input; for a list or a table, one ``(n_points_i - 1, dim)``
        array per track in input order (a table: increasing particle id).
    """
    batch = as_track_groups(X, name="X", min_points=MIN_POINTS)
    if batch.single_array:
        return _normalized_increments(batch.groups[0][1], dtype)
    result: list[np.ndarray | None] = [None] * batch.n_tracks
    for idx, arr in batch.groups:
        inc = _normalized_increments(arr, dtype)
        for j, i in enumerate(idx):
            result[i] = inc[j]
    return result  # type: ignore[return-value]
