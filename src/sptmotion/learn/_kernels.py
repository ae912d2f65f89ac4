"""Compiled helpers of the learners' batched prediction."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["row_moments"]


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
