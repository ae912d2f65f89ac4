"""Fast exact Gaussian quadratic forms for structured covariances (numba kernels).

- :func:`toeplitz_quad`: Durbin-Levinson recursion for a stationary (Toeplitz) covariance,
  O(L²) per parameter set plus O(L²) per series, O(L) memory. Series sharing one
  autocovariance are whitened together, so the predictor coefficients are computed once.
- :func:`tridiag_whiten`: LDLᵀ factorization of a symmetric tridiagonal covariance
  (independent increments plus MA(1) localization noise), O(L) per series.
- :func:`bidiag_solve`: ``L⁻¹ B`` for a lower bidiagonal ``L`` (the Cholesky factor of a
  tridiagonal covariance), O(L) per column, without the GIL.

The first two return the pieces of the Gaussian log-density
``log p(x) = −½ (L·log 2π + log det Σ + xᵀ Σ⁻¹ x)``.

References
----------
Brockwell, P. J. & Davis, R. A. (1991). Time Series: Theory and Methods, Springer, §5.2
(Durbin-Levinson algorithm, innovations and the exact Gaussian likelihood, eq. 5.2.9).
Golub, G. H. & Van Loan, C. F. (2013). Matrix Computations, §4.3 (banded LDLᵀ).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["toeplitz_quad", "tridiag_whiten", "bidiag_solve"]


@njit(cache=True)
def _toeplitz_quad_kernel(acov, x, quad, logdet):  # pragma: no cover - compiled
    G, R, L = x.shape
    phi = np.zeros(L)
    phi_old = np.zeros(L)
    for g in range(G):
        v = acov[g, 0]
        if not v > 0.0:
            logdet[g] = np.nan
            continue
        ld = np.log(v)
        for r in range(R):
            quad[g, r] = x[g, r, 0] * x[g, r, 0] / v
        ok = True
        for k in range(1, L):
            # reflection coefficient phi_kk (partial autocorrelation at lag k)
            s = acov[g, k]
            for j in range(1, k):
                s -= phi_old[j] * acov[g, k - j]
            kk = s / v
            phi[k] = kk
            for j in range(1, k):
                phi[j] = phi_old[j] - kk * phi_old[k - j]
            v = v * (1.0 - kk * kk)
            if not v > 0.0:
                ok = False
                break
            ld += np.log(v)
            for r in range(R):
                e = x[g, r, k]
                for j in range(1, k + 1):
                    e -= phi[j] * x[g, r, k - j]
                quad[g, r] += e * e / v
            for j in range(1, k + 1):
                phi_old[j] = phi[j]
        logdet[g] = ld if ok else np.nan


def toeplitz_quad(acov: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadratic forms ``xᵀ Σ⁻¹ x`` and ``log det Σ`` for Toeplitz covariances.

    Parameters
    ----------
    acov : ndarray, shape (G, L)
        Autocovariance ``γ(0..L−1)`` of each of ``G`` stationary processes.
    x : ndarray, shape (G, R, L)
        ``R`` series per process, each whitened with that process's covariance.

    Returns
    -------
    quad : ndarray, shape (G, R)
        ``xᵀ Σ⁻¹ x`` per series.
    logdet : ndarray, shape (G,)
        ``log det Σ`` per process; NaN if ``Σ`` is not positive definite.

    Notes
    -----
    Durbin-Levinson: the one-step predictor ``x̂_k = Σ_j φ_{k,j} x_{k−j}`` has error
    variance ``v_k = v_{k−1}(1 − φ_{k,k}²)``; with innovations ``e_k = x_k − x̂_k``,
    ``xᵀΣ⁻¹x = Σ_k e_k²/v_k`` and ``log det Σ = Σ_k log v_k`` (Brockwell & Davis §5.2).
    """
    acov = np.ascontiguousarray(acov, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    G, R, L = x.shape
    if acov.shape != (G, L):
        raise ValueError(f"acov must have shape {(G, L)}, got {acov.shape}")
    quad = np.zeros((G, R))
    logdet = np.zeros(G)
    _toeplitz_quad_kernel(acov, x, quad, logdet)
    return quad, logdet


@njit(cache=True)
def _tridiag_kernel(diag, off, x, z, logdet):  # pragma: no cover - compiled
    R, L = x.shape
    for r in range(R):
        d = diag[r, 0]
        ld = np.log(d)
        zp = x[r, 0]
        z[r, 0] = zp / np.sqrt(d)
        for i in range(1, L):
            o = off[r, i - 1]
            li = o / d
            d = diag[r, i] - li * o
            if not d > 0.0:
                ld = np.nan
                break
            zp = x[r, i] - li * zp
            z[r, i] = zp / np.sqrt(d)
            ld += np.log(d)
        logdet[r] = ld


def tridiag_whiten(
    diag: np.ndarray, off: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whiten series with symmetric tridiagonal covariances.

    Parameters
    ----------
    diag : ndarray, shape (R, L)
        Diagonal of each covariance.
    off : ndarray, shape (R, L−1)
        Sub-diagonal (= super-diagonal) of each covariance.
    x : ndarray, shape (R, L)
        The series.

    Returns
    -------
    z : ndarray, shape (R, L)
        Whitened series ``D^{-1/2} L⁻¹ x`` with ``Σ = L D Lᵀ`` (so ``xᵀΣ⁻¹x = Σ z²``; the map
        is linear, which lets callers whiten regressors such as a drift too).
    logdet : ndarray, shape (R,)
        ``log det Σ``; NaN if ``Σ`` is not positive definite.
    """
    diag = np.ascontiguousarray(diag, dtype=np.float64)
    off = np.ascontiguousarray(off, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    R, L = x.shape
    if diag.shape != (R, L) or off.shape != (R, max(L - 1, 0)):
        raise ValueError("diag must have the shape of x and off one column less")
    z = np.empty((R, L))
    logdet = np.empty(R)
    _tridiag_kernel(diag, off, x, z, logdet)
    return z, logdet


@njit(cache=True, nogil=True)
def _bidiag_solve_kernel(diag, sub, B, out):  # pragma: no cover - compiled
    n, k = B.shape
    for c in range(k):
        out[0, c] = B[0, c] / diag[0]
    for i in range(1, n):
        s = sub[i - 1]
        d = diag[i]
        for c in range(k):
            out[i, c] = (B[i, c] - s * out[i - 1, c]) / d


def bidiag_solve(diag: np.ndarray, sub: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L X = B`` for lower bidiagonal ``L`` (``diag`` (n,), ``sub`` (n−1,) below it).

    ``B`` is (n,) or (n, k); the result has its shape. Rows are processed in order, each a
    contiguous sweep over the columns.
    """
    b = np.ascontiguousarray(B, dtype=np.float64)
    flat = b.ndim == 1
    b2 = b[:, None] if flat else b
    out = np.empty_like(b2)
    _bidiag_solve_kernel(
        np.ascontiguousarray(diag, dtype=np.float64), np.ascontiguousarray(sub, dtype=np.float64),
        b2, out,
    )  # fmt: skip
    return out[:, 0] if flat else out
