"""Compiled helpers of the learners' batched prediction."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["row_moments", "normalize_into"]


@njit(cache=True, nogil=True)
def _row_moments_kernel(S, mean, std):  # pragma: no cover - compiled
    n_rows, t = S.shape
    for r in range(n_rows):
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


def row_moments(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation over the last axis, accumulated in float64.

    Parameters
    ----------
    S : ndarray (..., t), float32 or float64

    Returns
    -------
    mean, std : ndarray (...), float64
    """
    S2 = np.ascontiguousarray(S).reshape(-1, S.shape[-1])
    mean = np.empty(S2.shape[0])
    std = np.empty(S2.shape[0])
    _row_moments_kernel(S2, mean, std)
    return mean.reshape(S.shape[:-1]), std.reshape(S.shape[:-1])


@njit(cache=True, nogil=True)
def _normalize_kernel(S, mean, std, out):  # pragma: no cover - compiled
    n, n_rows, t = S.shape
    width = out.shape[2]
    for i in range(n):
        for r in range(n_rows):
            m = mean[r]
            s = std[r]
            for k in range(t):
                out[i, r, k] = (S[i, r, k] - m) / s
            for k in range(t, width):
                out[i, r, k] = 0.0


def normalize_into(S: np.ndarray, mean: np.ndarray, std: np.ndarray, out: np.ndarray) -> None:
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
    """
    if not out.flags.c_contiguous:  # a reshaped copy would take the writes
        raise ValueError("normalize_into needs a C-contiguous output array")
    rows, t, width = int(np.size(mean)), S.shape[-1], out.shape[-1]
    _normalize_kernel(
        S.reshape(-1, rows, t),
        np.ascontiguousarray(mean, dtype=np.float32).reshape(rows),
        np.ascontiguousarray(std, dtype=np.float32).reshape(rows),
        out.reshape(-1, rows, width),
    )
