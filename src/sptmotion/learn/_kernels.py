"""Compiled helpers of the learners' batched prediction."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["row_moments", "normalize_into"]


# sums may be reassociated (vectorized): the float64 accumulation of float32 rows does not
# need the sequential order
@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _row_moments_kernel(S, own, mean, std):  # pragma: no cover - compiled
    n_rows = S.shape[0]
    for r in range(n_rows):
        t = own[r]
        s = 0.0
        for k in range(t):
            s += S[r, k]
        m = s / t
        v = 0.0
        for k in range(t):
            c = S[r, k] - m
            v += c * c
        mean[r] = m
        std[r] = np.sqrt(v / t)


def row_moments(S: np.ndarray, lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation over the last axis, accumulated in float64.

    Parameters
    ----------
    S : ndarray (n, ..., t), float32 or float64
    lengths : ndarray (n,) of int, optional
        Samples of item ``i`` (its first ``lengths[i]``; the rest is padding). Default: all.

    Returns
    -------
    mean, std : ndarray (n, ...), float64
    """
    S2 = np.ascontiguousarray(S).reshape(-1, S.shape[-1])
    own = _own_lengths(lengths, S, S2.shape[0])
    mean = np.empty(S2.shape[0])
    std = np.empty(S2.shape[0])
    _row_moments_kernel(S2, own, mean, std)
    return mean.reshape(S.shape[:-1]), std.reshape(S.shape[:-1])


def _own_lengths(lengths, S: np.ndarray, n_rows: int) -> np.ndarray:
    """Samples per row of ``S`` flattened to ``n_rows`` rows: ``lengths`` (one per item of
    ``S``'s first axis) repeated over the item's rows, or the full width."""
    if lengths is None:
        return np.full(n_rows, S.shape[-1], dtype=np.int64)
    own = np.asarray(lengths, dtype=np.int64)
    if own.shape != (S.shape[0],) or own.min(initial=1) < 1 or own.max(initial=0) > S.shape[-1]:
        raise ValueError(f"lengths must be {S.shape[0]} integers in [1, {S.shape[-1]}]")
    return np.repeat(own, n_rows // max(S.shape[0], 1))


@njit(cache=True, nogil=True)
def _normalize_kernel(S, own, mean, std, out):  # pragma: no cover - compiled
    n, n_rows = S.shape[:2]
    width = out.shape[2]
    for i in range(n):
        t = own[i]
        for r in range(n_rows):
            m = mean[r]
            s = std[r]
            for k in range(t):
                out[i, r, k] = (S[i, r, k] - m) / s
            for k in range(t, width):
                out[i, r, k] = 0.0


def normalize_into(
    S: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    out: np.ndarray,
    lengths: np.ndarray | None = None,
) -> None:
    """``out[..., :t] = (S - mean) / std`` per row and ``out[..., t:] = 0``, in one pass.

    The same float32 operations as ``(S - mean[..., None]) / std[..., None]`` in NumPy
    (``mean`` and ``std`` broadcast over the leading axes of ``S``).

    Parameters
    ----------
    S : ndarray (..., *rows, t), float32, C-contiguous
        Rows to normalize (the last axis is time).
    mean, std : ndarray rows, float32
        Per row; ``rows`` are the trailing axes of ``S`` before time.
    out : ndarray (..., *rows, width), float32, C-contiguous, ``width >= t``
        Written in full: the normalized rows, then zeros (a padded tail).
    lengths : ndarray (n,) of int, optional
        With ``S`` ``(n, ..., *rows, t)``: item ``i`` is its first ``lengths[i]`` samples
        (normalized; zeros after them). Default: ``t`` for every item.
    """
    if not out.flags.c_contiguous:  # a reshaped copy would take the writes
        raise ValueError("normalize_into needs a C-contiguous output array")
    rows, t, width = int(np.size(mean)), S.shape[-1], out.shape[-1]
    S3 = S.reshape(-1, rows, t)
    _normalize_kernel(
        S3,
        _own_lengths(lengths, S, S3.shape[0]),
        np.ascontiguousarray(mean, dtype=np.float32).reshape(rows),
        np.ascontiguousarray(std, dtype=np.float32).reshape(rows),
        out.reshape(-1, rows, width),
    )
