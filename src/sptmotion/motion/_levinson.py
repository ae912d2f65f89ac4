"""Fast exact Gaussian quadratic forms for structured covariances (numba kernels).

- :func:`toeplitz_quad`: Durbin-Levinson recursion for a stationary (Toeplitz) covariance,
  O(L²) per parameter set plus O(L²) per series, O(L) memory. Series sharing one
  autocovariance are whitened together, so the predictor coefficients are computed once.
- :func:`tridiag_whiten`: LDLᵀ factorization of a symmetric tridiagonal covariance
  (independent increments plus MA(1) localization noise), O(L) per series.
- :func:`bidiag_solve`: ``L⁻¹ B`` for a lower bidiagonal ``L`` (the Cholesky factor of a
  tridiagonal covariance), O(L) per column, without the GIL.
- :func:`pencil_forms`, :func:`pencil_fisher`, :func:`pencil_extremes`: log-determinants,
  quadratic forms, Fisher-information traces and extreme generalized eigenvalues of
  ``a·C + b·N`` for symmetric tridiagonal ``C`` and ``N``, O(L) per row, without the GIL;
  :func:`pencil_maximize`: the maximum over one variable of a profile log-likelihood of such
  a pencil, per row in one compiled loop (grid, then Brent's method).
- :func:`spline_profile_summary`: the maximum of row-wise cubic-spline profiles on a fine
  grid and the region within a likelihood-ratio threshold of it, per row without the GIL.

The first two return the pieces of the Gaussian log-density
``log p(x) = −½ (L·log 2π + log det Σ + xᵀ Σ⁻¹ x)``.

References
----------
Brockwell, P. J. & Davis, R. A. (1991). Time Series: Theory and Methods, Springer, §5.2
(Durbin-Levinson algorithm, innovations and the exact Gaussian likelihood, eq. 5.2.9).
Golub, G. H. & Van Loan, C. F. (2013). Matrix Computations, §4.3 (banded LDLᵀ).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = [
    "whitened_toeplitz_fold",
    "toeplitz_quad",
    "tridiag_whiten",
    "bidiag_solve",
    "pencil_forms",
    "pencil_fisher",
    "pencil_extremes",
    "pencil_maximize",
    "spline_piece",
    "spline_profile_summary",
]


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


# ----------------------------------------------------------------------------------------
# whitened folded Toeplitz blocks (FBM and BM on consecutive frames)
# ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _whiten_rows(b, y, dg, sb):  # pragma: no cover - compiled
    # b (k, k) C order: symmetric B on entry, overwritten; y (k, k) C order scratch.
    # X = L⁻¹ B and then M = L⁻¹ Xᵀ (= L⁻¹ B L⁻ᵀ, B symmetric), L lower bidiagonal
    # (diagonal dg, subdiagonal sb): both by recursions over rows that run along whole
    # contiguous rows (no dependency chain within a row). On exit y holds M's upper triangle
    # (C order), i.e. the lower triangle of the Fortran-ordered y.T.
    k = b.shape[0]
    inv = 1.0 / dg
    for j in range(k):
        b[0, j] *= inv[0]
    for i in range(1, k):
        s = sb[i - 1]
        for j in range(k):
            b[i, j] = (b[i, j] - s * b[i - 1, j]) * inv[i]
    # y = Xᵀ by 32 x 32 tiles
    for i0 in range(0, k, 32):
        for j0 in range(0, k, 32):
            for i in range(i0, min(i0 + 32, k)):
                for j in range(j0, min(j0 + 32, k)):
                    y[j, i] = b[i, j]
    for j in range(k):
        y[0, j] *= inv[0]
    for i in range(1, k):
        s = sb[i - 1]
        for j in range(i, k):
            y[i, j] = (y[i, j] - s * y[i - 1, j]) * inv[i]


@njit(cache=True, nogil=True)
def _fold_toeplitz_kernel(c, bp, bm, yp, ym, dp, sp, dm, sm):  # pragma: no cover - compiled
    n = c.shape[0]
    k = n // 2
    for i in range(k):
        for j in range(k):
            t = c[abs(i - j)]
            h = c[n - 1 - i - j]
            bp[i, j] = t + h
            bm[i, j] = t - h
    if n % 2:
        r2 = np.sqrt(2.0)
        for j in range(k):
            bp[k, j] = r2 * c[k - j]
            bp[j, k] = r2 * c[k - j]
        bp[k, k] = c[0]
    _whiten_rows(bp, yp, dp, sp)
    _whiten_rows(bm, ym, dm, sm)


def whitened_toeplitz_fold(c, chol_plus, chol_minus) -> tuple[np.ndarray, np.ndarray]:
    """Both folded blocks of a symmetric Toeplitz matrix, whitened, in one compiled pass.

    The matrix ``C[i, j] = c[|i − j|]`` (n x n) is centrosymmetric: on the symmetric and
    antisymmetric vectors ``(e_j ± J e_j)/√2`` it splits into ``C₊`` ((n − n//2) square;
    the middle vector joins it when n is odd) and ``C₋`` (n//2 square), ``C±[i, j] =
    c[|i − j|] ± c[n − 1 − i − j]``. Each block is whitened by its lower bidiagonal factor
    ``L±`` (``(diagonal, subdiagonal)``): ``L±⁻¹ C± L±⁻ᵀ``.

    Returns
    -------
    plus, minus : ndarray, Fortran order
        The whitened blocks; only their lower triangles are set (what LAPACK's ``dsytrd``
        with ``uplo = "L"`` reads).
    """
    c = np.ascontiguousarray(c, dtype=np.float64)
    n = c.shape[0]
    k = n // 2
    bp, yp = np.empty((n - k, n - k)), np.empty((n - k, n - k))
    bm, ym = np.empty((k, k)), np.empty((k, k))
    dp, sp = (np.ascontiguousarray(v, dtype=np.float64) for v in chol_plus)
    dm, sm = (np.ascontiguousarray(v, dtype=np.float64) for v in chol_minus)
    _fold_toeplitz_kernel(c, bp, bm, yp, ym, dp, sp, dm, sm)
    return yp.T, ym.T


# ----------------------------------------------------------------------------------------
# pencils a·C + b·N of two symmetric tridiagonal matrices (rows: one matrix C per "alpha")
# ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _row_forms(c0, c1, n0, n1, ar, br, X, S, k, kx, t, zp, sx):  # pragma: no cover - compiled
    # LDLᵀ with the pivots as ratios of leading minors, θ_i = s_i θ_{i−1} − o_i² θ_{i−2}
    # (pivot_i = θ_i/θ_{i−1}, log det = log θ_{L−1}): the recursion carried from step to step
    # has no division (the reciprocals are computed aside), about twice as fast as the
    # pivot recursion; θ is rescaled every 16 steps and whenever it leaves [1e-100, 1e100].
    # Returns (log det, quadratic form), NaN when not positive definite. With a drift
    # regressor S (L,) (else S has size 0) the regressor goes through the same forward
    # substitution, the quadratic form is that of the GLS residuals (the drift of each axis
    # profiled out) and sx (d + 1,) holds Sᵀ Σ⁻¹ x_j for the axes j and Sᵀ Σ⁻¹ S last.
    L = n0.shape[0]
    d = X.shape[3]
    drift = S.shape[0] > 0
    zs = 0.0
    ss = 0.0
    th_prev = 1.0
    th = ar * c0[k, 0] + br * n0[0]
    bad = not th > 0.0
    lscale = 0.0
    inv = 1.0 / th  # 1 / pivot
    q = 0.0
    for j in range(d):
        zp[j] = X[kx, t, 0, j]
        q += zp[j] * zp[j] * inv
    if drift:
        zs = S[0]
        ss = zs * zs * inv
        for j in range(d):
            sx[j] = zp[j] * zs * inv
    for i in range(1, L):
        o = ar * c1[k, i - 1] + br * n1[i - 1]
        li = o * inv
        th_new = (ar * c0[k, i] + br * n0[i]) * th - o * o * th_prev
        bad |= not th_new > 0.0
        inv = th / th_new
        th_prev = th
        th = th_new
        if i % 16 == 0 or not 1e-100 < th < 1e100:
            lscale += np.log(th)
            th_prev /= th
            th = 1.0
        s = 0.0
        for j in range(d):
            z = X[kx, t, i, j] - li * zp[j]
            zp[j] = z
            s += z * z
        q += s * inv
        if drift:
            zs = S[i] - li * zs
            ss += zs * zs * inv
            for j in range(d):
                sx[j] += zp[j] * zs * inv
    if bad:
        return np.nan, np.nan
    if drift:
        for j in range(d):
            q -= sx[j] * sx[j] / ss
        sx[d] = ss
    return lscale + np.log(th), q


@njit(cache=True, nogil=True, error_model="numpy")
def _pencil_forms_kernel(
    c0, c1, n0, n1, a, b, X, S, m, r_start, r_stop, logdet, quad, sx_out
):  # pragma: no cover
    shared = X.shape[0] == 1
    zp = np.empty(X.shape[3])
    sx = np.empty(X.shape[3] + 1)
    for r in range(r_start, r_stop):
        k = r // m
        t = r - k * m
        kx = 0 if shared else k
        logdet[r], quad[r] = _row_forms(c0, c1, n0, n1, a[r], b[r], X, S, k, kx, t, zp, sx)
        if S.shape[0] > 0:
            sx_out[r] = sx


#: Rows x points above which :func:`pencil_forms` splits its rows over threads.
_SPLIT_WORK = 400_000
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _run_rows(kernel, args, outs, R: int, L: int, n_threads: int) -> None:
    """``kernel(*args, r_start, r_stop, *outs)`` over rows ``0..R``: in one call, or in
    ``n_threads`` contiguous ranges on threads when the work (rows x points) is large."""
    n_threads = int(min(max(n_threads, 1), R))
    if n_threads < 2 or R * L < _SPLIT_WORK:
        kernel(*args, 0, R, *outs)
        return
    key = (os.getpid(), n_threads)  # a forked child has none of its parent's threads
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ThreadPoolExecutor(n_threads)
    edges = np.linspace(0, R, n_threads + 1).astype(np.int64)
    jobs = [
        pool.submit(kernel, *args, int(lo), int(hi), *outs)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    for job in jobs:
        job.result()


def pencil_forms(c0, c1, n0, n1, a, b, X, n_threads: int = 1, drift=None):
    """``log det Σ_r`` and ``Σ_axes x_tᵀ Σ_r⁻¹ x_t`` for ``Σ_r = a_r·C_k + b_r·N``.

    Parameters
    ----------
    c0, c1 : ndarray, shape (K, L) and (K, L−1)
        Diagonals and first off-diagonals of ``K`` symmetric tridiagonal matrices ``C_k``.
    n0, n1 : ndarray, shape (L,) and (L−1,)
        Diagonal and off-diagonal of the symmetric tridiagonal ``N``.
    a, b : ndarray, shape (R,)
        Coefficients per row, ``R = K·m``: row ``r`` uses ``C_{r // m}`` and series ``r % m``.
    X : ndarray, shape (m, L, d) or (K, m, L, d)
        Series (``d`` independent axes sharing the covariance), the same for every ``C_k`` or
        one set per ``C_k``.
    n_threads : int
        With more than one, a large call (rows x points above 400,000) runs in as many
        contiguous ranges of rows on threads (the kernel holds no GIL); each row's numbers
        are the same either way.
    drift : ndarray, shape (L,), optional
        A regressor ``s`` of a mean ``v_j·s`` per axis (DBM: the frame steps), profiled out
        by generalized least squares: ``quad`` is then ``Σ_axes min_v (x − v s)ᵀ Σ⁻¹
        (x − v s)``.

    Returns
    -------
    logdet, quad : ndarray, shape (R,)
        NaN where ``Σ_r`` is not positive definite. O(L·d) per row (LDLᵀ).
    v : ndarray, shape (R, d)
        With ``drift``: the GLS coefficients ``sᵀΣ⁻¹x_j / sᵀΣ⁻¹s``.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim == 3:
        X = X[None]
    m = X.shape[1]
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(np.broadcast_to(b, a.shape), dtype=np.float64)
    R = len(a)
    logdet = np.empty(R)
    quad = np.empty(R)
    S = _regressor(drift)
    sx = np.empty((R if S.size else 1, X.shape[3] + 1))
    args = (
        np.ascontiguousarray(c0, dtype=np.float64), np.ascontiguousarray(c1, dtype=np.float64),
        np.ascontiguousarray(n0, dtype=np.float64), np.ascontiguousarray(n1, dtype=np.float64),
        a, b, X, S, m,
    )  # fmt: skip
    _run_rows(_pencil_forms_kernel, args, (logdet, quad, sx), R, X.shape[2], n_threads)
    if not S.size:
        return logdet, quad
    return logdet, quad, sx[:, :-1] / sx[:, -1:]


def _regressor(drift) -> np.ndarray:
    """The drift regressor as the kernels take it: size 0 for none."""
    if drift is None:
        return np.empty(0)
    return np.ascontiguousarray(drift, dtype=np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _profile_value(
    c0, c1, n0, n1, X, S, k, kx, t, zp, sx, mode, x, scale, b_fixed, const, N
):  # pragma: no cover - compiled
    # mode 0: Σ = s²((1 − x)·scale·C + x·N) with s² profiled out; mode 1: Σ = eˣ·C + b·N
    d = X.shape[3]
    if mode == 0:
        logdet, q = _row_forms(c0, c1, n0, n1, (1.0 - x) * scale, x, X, S, k, kx, t, zp, sx)
        v = -0.5 * (const + N * np.log(q / N) + N + d * logdet)
    else:
        logdet, q = _row_forms(c0, c1, n0, n1, np.exp(x), b_fixed, X, S, k, kx, t, zp, sx)
        v = -0.5 * (const + d * logdet + q)
    return v if np.isfinite(v) else -np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def _grid_values(
    c0, c1, n0, n1, X, S, k, kx, t, mode, xs, scale, b_fixed, const, N, ws, fs
):  # pragma: no cover - compiled
    # _profile_value at every point xs[g] at once: the recursion of _row_forms for all g in
    # step (the same operations per g in the same order, so the same numbers), the inner
    # loops over g free of dependencies. ws: (9 + 2d, G) scratch; fs (G,) out.
    G = xs.shape[0]
    L = n0.shape[0]
    d = X.shape[3]
    drift = S.shape[0] > 0
    ar, br, th_prev, th, inv, lscale, q = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6]
    zs, ss = ws[7], ws[8]
    zp = ws[9 : 9 + d]
    sx = ws[9 + d : 9 + 2 * d]
    bad = np.zeros(G, dtype=np.bool_)
    for g in range(G):
        if mode == 0:
            ar[g] = (1.0 - xs[g]) * scale
            br[g] = xs[g]
        else:
            ar[g] = np.exp(xs[g])
            br[g] = b_fixed
        th_prev[g] = 1.0
        th[g] = ar[g] * c0[k, 0] + br[g] * n0[0]
        bad[g] = not th[g] > 0.0
        lscale[g] = 0.0
        inv[g] = 1.0 / th[g]
        q[g] = 0.0
    for j in range(d):
        x0 = X[kx, t, 0, j]
        for g in range(G):
            zp[j, g] = x0
            q[g] += x0 * x0 * inv[g]
    if drift:
        for g in range(G):
            zs[g] = S[0]
            ss[g] = S[0] * S[0] * inv[g]
        for j in range(d):
            for g in range(G):
                sx[j, g] = zp[j, g] * zs[g] * inv[g]
    li = np.empty(G)
    sq = np.empty(G)
    for i in range(1, L):
        cc0 = c0[k, i]
        cc1 = c1[k, i - 1]
        nn0 = n0[i]
        nn1 = n1[i - 1]
        out = False
        for g in range(G):
            o = ar[g] * cc1 + br[g] * nn1
            li[g] = o * inv[g]
            th_new = (ar[g] * cc0 + br[g] * nn0) * th[g] - o * o * th_prev[g]
            bad[g] |= not th_new > 0.0
            inv[g] = th[g] / th_new
            th_prev[g] = th[g]
            th[g] = th_new
            out |= not 1e-100 < th_new < 1e100
        if i % 16 == 0 or out:
            for g in range(G):
                if i % 16 == 0 or not 1e-100 < th[g] < 1e100:
                    lscale[g] += np.log(th[g])
                    th_prev[g] /= th[g]
                    th[g] = 1.0
        for g in range(G):
            sq[g] = 0.0
        for j in range(d):
            xj = X[kx, t, i, j]
            for g in range(G):
                z = xj - li[g] * zp[j, g]
                zp[j, g] = z
                sq[g] += z * z
        for g in range(G):
            q[g] += sq[g] * inv[g]
        if drift:
            si = S[i]
            for g in range(G):
                zs[g] = si - li[g] * zs[g]
                ss[g] += zs[g] * zs[g] * inv[g]
            for j in range(d):
                for g in range(G):
                    sx[j, g] += zp[j, g] * zs[g] * inv[g]
    for g in range(G):
        if bad[g]:
            fs[g] = -np.inf
            continue
        if drift:
            for j in range(d):
                q[g] -= sx[j, g] * sx[j, g] / ss[g]
        logdet = lscale[g] + np.log(th[g])
        if mode == 0:
            v = -0.5 * (const + N * np.log(q[g] / N) + N + d * logdet)
        else:
            v = -0.5 * (const + d * logdet + q[g])
        fs[g] = v if np.isfinite(v) else -np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def _pencil_max_kernel(
    c0,
    c1,
    n0,
    n1,
    X,
    S,
    m,
    mode,
    scale,
    b_fixed,
    const,
    N,
    lo,
    hi,
    n_grid,
    rtol,
    max_iter,
    r_start,
    r_stop,
    x_out,
    f_out,
):  # pragma: no cover - compiled
    shared = X.shape[0] == 1
    zp = np.empty(X.shape[3])
    sx = np.empty(X.shape[3] + 1)
    xs = np.empty(n_grid)
    fs = np.empty(n_grid)
    ws = np.empty((9 + 2 * X.shape[3], n_grid))
    cg = (3.0 - np.sqrt(5.0)) / 2.0
    for r in range(r_start, r_stop):
        k = r // m
        t = r - k * m
        kx = 0 if shared else k
        sc = scale[r]
        width = hi[r] - lo[r]
        for g in range(n_grid):
            xs[g] = lo[r] + width * (g / (n_grid - 1.0)) if g < n_grid - 1 else hi[r]
        _grid_values(c0, c1, n0, n1, X, S, k, kx, t, mode, xs, sc, b_fixed, const, N, ws, fs)
        best = 0
        fbest = -np.inf
        for g in range(n_grid):
            if fs[g] > fbest:
                fbest = fs[g]
                best = g
        a = xs[max(best - 1, 0)]
        b = xs[min(best + 1, n_grid - 1)]
        # Brent's method minimizing F = −f: x the best point, w the second best, v the
        # previous w; dd, e the last two steps (Brent 1973, ch. 5)
        x = xs[best]
        fx = -fbest
        w = x
        fw = fx
        v = x
        fv = fx
        dd = 0.0
        e = 0.0
        tol1 = rtol * max(abs(width), 1e-300)
        tol2 = 2.0 * tol1
        for _ in range(max_iter):
            xm = 0.5 * (a + b)
            if abs(x - xm) <= tol2 - 0.5 * (b - a):
                break
            para = False
            step = 0.0
            if abs(e) > tol1:
                rr = (x - w) * (fx - fv)
                qq = (x - v) * (fx - fw)
                p = (x - v) * qq - (x - w) * rr
                qq = 2.0 * (qq - rr)
                if qq > 0.0:
                    p = -p
                qq = abs(qq)
                if (
                    np.isfinite(p) and qq > 0.0 and abs(p) < abs(0.5 * qq * e)
                    and p > qq * (a - x) and p < qq * (b - x)
                ):  # fmt: skip
                    para = True
                    step = p / qq
                    if x + step - a < tol2 or b - x - step < tol2:
                        step = tol1 if xm >= x else -tol1
            if para:
                e = dd
                dd = step
            else:
                e = (a - x) if x >= xm else (b - x)
                dd = cg * e
            u = x + (dd if abs(dd) >= tol1 else (tol1 if dd >= 0.0 else -tol1))
            fu = -_profile_value(c0, c1, n0, n1, X, S, k, kx, t, zp, sx, mode, u, sc, b_fixed,
                                 const, N)  # fmt: skip
            if fu <= fx:
                if u >= x:
                    a = x
                else:
                    b = x
                v = w
                fv = fw
                w = x
                fw = fx
                x = u
                fx = fu
            else:
                if u < x:
                    a = u
                else:
                    b = u
                if fu <= fw or w == x:
                    v = w
                    fv = fw
                    w = u
                    fw = fu
                elif fu <= fv or v == x or v == w:
                    v = u
                    fv = fu
        # the grid point (or an end of the range) may beat Brent's result
        if fbest > -fx:
            x_out[r] = xs[best]
            f_out[r] = fbest
        else:
            x_out[r] = x
            f_out[r] = -fx


def pencil_maximize(
    c0,
    c1,
    n0,
    n1,
    X,
    lo,
    hi,
    *,
    scale=None,
    b_fixed: float = 0.0,
    const: float,
    n_grid: int,
    rtol: float,
    max_iter: int = 100,
    n_threads: int = 1,
    drift=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row maximizer of a Gaussian profile log-likelihood of ``a·C_k + b·N`` over one
    variable ``x`` in ``[lo_r, hi_r]`` (rows as in :func:`pencil_forms`, ``N_tot = L·d``):

    - ``scale`` given: ``Σ = s²((1 − x)·scale_r·C_k + x·N)`` with ``s²`` profiled out,
      ``f = −½(const + N_tot·log(q/N_tot) + N_tot + d·log det)`` (``q``, ``log det`` at ``s² = 1``);
    - otherwise ``Σ = eˣ·C_k + b_fixed·N``, ``f = −½(const + d·log det + q)``.

    A grid of ``n_grid`` points, then Brent's method (parabolic steps through the three best
    points, golden-section steps where a parabola is not trusted; Brent 1973, ch. 5) in the
    bracket around the best grid point until it is known to ``rtol`` of the range; the best
    grid point is kept when nothing beats it. All in one compiled loop per row. Returns
    ``x`` and ``f`` (R,); non-finite values count as −inf. ``drift``: a regressor profiled
    out of every axis, as in :func:`pencil_forms`.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim == 3:
        X = X[None]
    m, L, d = X.shape[1:]
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    hi = np.ascontiguousarray(np.broadcast_to(hi, lo.shape), dtype=np.float64)
    R = len(lo)
    mode = 1 if scale is None else 0
    scale = np.ones(R) if scale is None else np.ascontiguousarray(scale, dtype=np.float64)
    x_out = np.empty(R)
    f_out = np.empty(R)
    args = (
        np.ascontiguousarray(c0, dtype=np.float64), np.ascontiguousarray(c1, dtype=np.float64),
        np.ascontiguousarray(n0, dtype=np.float64), np.ascontiguousarray(n1, dtype=np.float64),
        X, _regressor(drift), m, mode, scale, float(b_fixed), float(const), float(L * d), lo, hi,
        int(n_grid), float(rtol), int(max_iter),
    )  # fmt: skip
    # every row costs ~n_grid + 12 evaluations: split over threads from a smaller size
    _run_rows(_pencil_max_kernel, args, (x_out, f_out), R, L * 16, n_threads)
    return x_out, f_out


@njit(cache=True, nogil=True, error_model="numpy")
def _sel_traces(s0, s1, p0, p1, q0, q1, fwd, bwd):  # pragma: no cover - compiled
    """``tr(S⁻¹P)`` and ``tr(S⁻¹Q)`` for complex symmetric tridiagonal ``S`` (selected
    inverse: the diagonal and first off-diagonal of ``S⁻¹`` from the two pivot sequences);
    NaN when a pivot vanishes."""
    L = s0.shape[0]
    bad = complex(np.nan, np.nan)
    fwd[0] = s0[0]
    for i in range(1, L):
        if fwd[i - 1] == 0.0:
            return bad, bad
        fwd[i] = s0[i] - s1[i - 1] * s1[i - 1] / fwd[i - 1]
    bwd[L - 1] = s0[L - 1]
    for i in range(L - 2, -1, -1):
        if bwd[i + 1] == 0.0:
            return bad, bad
        bwd[i] = s0[i] - s1[i] * s1[i] / bwd[i + 1]
    tp = 0.0j
    tq = 0.0j
    den = fwd[L - 1] + bwd[L - 1] - s0[L - 1]
    if den == 0.0 or fwd[L - 1] == 0.0:
        return bad, bad
    z_next = 1.0 / den
    tp += z_next * p0[L - 1]
    tq += z_next * q0[L - 1]
    for i in range(L - 2, -1, -1):
        den = fwd[i] + bwd[i] - s0[i]
        if den == 0.0 or fwd[i] == 0.0:
            return bad, bad
        zi = 1.0 / den
        zo = -s1[i] * z_next / fwd[i]  # (S⁻¹)_{i, i+1}
        tp += zi * p0[i] + 2.0 * zo * p1[i]
        tq += zi * q0[i] + 2.0 * zo * q1[i]
        z_next = zi
    return tp, tq


@njit(cache=True, nogil=True, error_model="numpy")
def _pencil_fisher_kernel(
    c0, c1, n0, n1, a, b, m, h, r_start, r_stop, i_aa, i_ab, i_bb
):  # pragma: no cover
    L = n0.shape[0]
    s0 = np.empty(L, dtype=np.complex128)
    s1 = np.empty(max(L - 1, 1), dtype=np.complex128)
    p0 = np.empty(L)
    p1 = np.empty(max(L - 1, 1))
    fwd = np.empty(L, dtype=np.complex128)
    bwd = np.empty(L, dtype=np.complex128)
    for r in range(r_start, r_stop):
        k = r // m
        ar = a[r]
        br = b[r]
        for i in range(L):
            p0[i] = ar * c0[k, i]
        for i in range(L - 1):
            p1[i] = ar * c1[k, i]
        # S = aC + bN + ih·aC: tr(S⁻¹ aC) and tr(S⁻¹ N) have imaginary parts −h·tr((Σ⁻¹aC)²)
        # and −h·tr(Σ⁻¹aC Σ⁻¹N) (complex step: no cancellation)
        for i in range(L):
            s0[i] = complex(p0[i] + br * n0[i], h * p0[i])
        for i in range(L - 1):
            s1[i] = complex(p1[i] + br * n1[i], h * p1[i])
        tp, tq = _sel_traces(s0, s1, p0, p1, n0, n1, fwd, bwd)
        i_aa[r] = -tp.imag / h
        i_ab[r] = -tq.imag / h
        # S = aC + bN + ih·κN with κ the scale of Σ
        kap = 0.0
        for i in range(L):
            kap = max(kap, abs(p0[i] + br * n0[i]) / max(abs(n0[i]), 1e-300))
        for i in range(L):
            s0[i] = complex(p0[i] + br * n0[i], h * kap * n0[i])
        for i in range(L - 1):
            s1[i] = complex(p1[i] + br * n1[i], h * kap * n1[i])
        tp, tq = _sel_traces(s0, s1, p0, p1, n0, n1, fwd, bwd)
        i_bb[r] = -tq.imag / (h * kap)


def pencil_fisher(
    c0, c1, n0, n1, a, b, m: int, n_threads: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Traces of the Gaussian Fisher information of ``Σ_r = a_r·C_k + b_r·N`` (rows as in
    :func:`pencil_forms`, ``m`` series per matrix).

    Returns ``tr((Σ⁻¹A)²)``, ``tr(Σ⁻¹A Σ⁻¹N)`` and ``tr((Σ⁻¹N)²)`` with ``A = a_r·C_k``: the
    information of ``(log a, b)`` per axis is half of them. O(L) per row: each is the
    derivative of a trace of ``Σ⁻¹`` against a tridiagonal matrix along ``A`` or ``N``,
    taken by a complex step (Squire & Trapp 1998), which needs only the diagonal and first
    off-diagonal of the inverse of a complex symmetric tridiagonal matrix. ``n_threads``: as
    in :func:`pencil_forms`.
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(np.broadcast_to(b, a.shape), dtype=np.float64)
    out = tuple(np.empty(len(a)) for _ in range(3))
    args = (
        np.ascontiguousarray(c0, dtype=np.float64), np.ascontiguousarray(c1, dtype=np.float64),
        np.ascontiguousarray(n0, dtype=np.float64), np.ascontiguousarray(n1, dtype=np.float64),
        a, b, int(m), 1e-20,
    )  # fmt: skip
    _run_rows(_pencil_fisher_kernel, args, out, len(a), len(n0), n_threads)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _pencil_extremes_kernel(c0, c1, n0, n1, lam_min, lam_mean):  # pragma: no cover
    K, L = c0.shape
    # selected inverse of N (real, positive definite): the diagonal and off-diagonal of N⁻¹
    fwd = np.empty(L)
    bwd = np.empty(L)
    fwd[0] = n0[0]
    for i in range(1, L):
        fwd[i] = n0[i] - n1[i - 1] * n1[i - 1] / fwd[i - 1]
    bwd[L - 1] = n0[L - 1]
    for i in range(L - 2, -1, -1):
        bwd[i] = n0[i] - n1[i] * n1[i] / bwd[i + 1]
    inv0 = np.empty(L)
    inv1 = np.empty(max(L - 1, 1))
    for i in range(L):
        inv0[i] = 1.0 / (fwd[i] + bwd[i] - n0[i])
    for i in range(L - 1):
        inv1[i] = -n1[i] * inv0[i + 1] / fwd[i]
    for k in range(K):
        t = 0.0
        for i in range(L):
            t += inv0[i] * c0[k, i]
        for i in range(L - 1):
            t += 2.0 * inv1[i] * c1[k, i]
        mean = t / L
        lam_mean[k] = mean
        # smallest eigenvalue of C_k v = λ N v by bisection on the inertia of C_k − λN
        lo = 0.0
        hi = mean
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            piv = c0[k, 0] - mid * n0[0]
            neg = piv <= 0.0
            for i in range(1, L):
                if neg:
                    break
                o = c1[k, i - 1] - mid * n1[i - 1]
                piv = c0[k, i] - mid * n0[i] - o * o / piv
                neg = piv <= 0.0
            if neg:
                hi = mid
            else:
                lo = mid
            if hi - lo <= 1e-15 * hi:
                break
        lam_min[k] = 0.5 * (lo + hi)


def pencil_extremes(c0, c1, n0, n1) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and mean generalized eigenvalue of ``C_k v = λ N v`` (tridiagonal, ``N``
    positive definite): bisection on the inertia of ``C_k − λN`` (Sylvester; LDLᵀ pivots)
    and ``tr(N⁻¹C_k)/L`` from the selected inverse of ``N``. O(L) per bisection step."""
    c0 = np.ascontiguousarray(c0, dtype=np.float64)
    lam_min = np.empty(c0.shape[0])
    lam_mean = np.empty(c0.shape[0])
    _pencil_extremes_kernel(
        c0, np.ascontiguousarray(c1, dtype=np.float64),
        np.ascontiguousarray(n0, dtype=np.float64), np.ascontiguousarray(n1, dtype=np.float64),
        lam_min, lam_mean,
    )  # fmt: skip
    return lam_min, lam_mean


@njit(cache=True, nogil=True)
def _ppoly_value(c, j, r, s):  # pragma: no cover - compiled
    # scipy's PPoly evaluation order (ascending powers of s): the same float64 result
    res = 0.0
    z = 1.0
    k = c.shape[0] - 1
    for kp in range(k + 1):
        res += c[k - kp, j, r] * z
        z *= s
    return res


@njit(cache=True, nogil=True)
def _profile_summary_kernel(
    x, c_ll, c_llc, fine, piece, half_q, alpha, lo, hi, llmax
):  # pragma: no cover - compiled
    R = c_ll.shape[2]
    F = fine.shape[0]
    P = np.empty(F)
    for r in range(R):
        best = -np.inf
        jbest = 0
        top = -np.inf
        for f in range(F):
            j = piece[f]
            s = fine[f] - x[j]
            v = _ppoly_value(c_ll, j, r, s)
            P[f] = v
            if f == 0 or v > best:  # the first maximum, as argmax
                best = v
                jbest = f
            w = _ppoly_value(c_llc, j, r, s)
            if np.isnan(w) or np.isnan(top):
                top = np.nan
            elif w > top:
                top = w
        thr = best - half_q
        # the contiguous region around the maximum where the profile is >= thr
        left = -1
        for f in range(jbest - 1, -1, -1):
            if not P[f] >= thr:
                left = f
                break
        right = F
        for f in range(jbest + 1, F):
            if not P[f] >= thr:
                right = f
                break
        alpha[r] = fine[jbest]
        llmax[r] = top
        lo[r] = np.nan if left < 0 else _crossing(fine, P, thr, left, left + 1)
        hi[r] = np.nan if right >= F else _crossing(fine, P, thr, right, right - 1)


@njit(cache=True, nogil=True)
def _crossing(fine, P, thr, i_out, i_in):  # pragma: no cover - compiled
    # where the profile P crosses thr between the fine points i_out (below) and i_in (linear)
    p0, p1 = P[i_out], P[i_in]
    t = (thr - p0) / (p1 - p0 if p1 != p0 else 1.0)
    t = min(max(t, 0.0), 1.0)
    return fine[i_out] + t * (fine[i_in] - fine[i_out])


def spline_piece(x: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Index of the spline piece ``[x[j], x[j+1])`` that scipy's ``PPoly`` evaluates at each
    ``xq`` (a knot belongs to the piece it starts; beyond the ends, the end pieces)."""
    return np.clip(np.searchsorted(x, xq, side="right") - 1, 0, len(x) - 2).astype(np.int64)


def spline_profile_summary(x, c_ll, c_llc, fine, half_q: float):
    """Maximum and likelihood-ratio region of row-wise cubic-spline profiles on a fine grid.

    Row ``r`` of the profile log-likelihood is the piecewise cubic with coefficients
    ``c_ll[:, j, r]`` on ``[x[j], x[j+1]]`` (scipy ``CubicSpline(x, Y, axis=1).c``), read at
    every point of ``fine`` (inside ``[x[0], x[-1]]``) as ``CubicSpline.__call__`` reads it;
    ``c_llc`` likewise for a second table whose maximum is wanted. Per row, in one compiled
    pass without the (rows x fine points) arrays: the first point of the maximum, the
    maximum of the second spline (NaN when it has one), and the ends of the contiguous
    region around the maximum where the profile is at least ``max − half_q``, each
    interpolated linearly between the fine points that straddle the threshold (NaN where
    the region reaches an end of ``fine``).

    Returns
    -------
    alpha, lo, hi, llmax : ndarray (rows,)
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    fine = np.ascontiguousarray(fine, dtype=np.float64)
    piece = spline_piece(x, fine)
    R = c_ll.shape[2]
    outs = tuple(np.empty(R) for _ in range(4))
    _profile_summary_kernel(
        x, np.ascontiguousarray(c_ll, dtype=np.float64),
        np.ascontiguousarray(c_llc, dtype=np.float64), fine, piece, float(half_q), *outs,
    )  # fmt: skip
    return outs
