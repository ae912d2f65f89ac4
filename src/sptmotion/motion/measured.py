"""Maximum-likelihood fits and BM-null model selection through the measurement model.

The observed increments of a track under a Gaussian model ``m`` with motion blur and white
localization noise have, per axis, covariance (:mod:`.measurement`)

``Σ = Dα·Δt^α·C_m(α) + σ²·N``,

``C_m`` the exposure-averaged motion covariance and ``N`` that of unit noise (``2`` on the
diagonal, ``−1`` beside it; per-point variances when a tracker supplies them). For a fixed
``α`` both matrices are diagonalized at once: with ``N = L Lᵀ`` and
``L⁻¹ C L⁻ᵀ = V Λ Vᵀ``, the rotated data ``y = Vᵀ L⁻¹ Δx`` are independent with variances
``D'·λ_i + σ²`` (``D' = Dα·Δt^α``). The likelihood in ``(D', σ²)`` then costs O(L) per track,
so ``(D', σ²)`` are maximized exactly for every ``α`` of a shared grid, giving the profile
log-likelihood ``P(α)`` of each track; a cubic spline of ``P`` yields the MLE of ``α`` and its
profile-likelihood interval ``{α : 2[P(α̂) − P(α)] <= χ²₁(level)}``. With ``σ`` estimated,
``σ²`` is maximized over an extended range that reaches below 0 as far as the covariance stays
positive definite (80% of the way, :data:`_EXTEND`): held at ``σ² >= 0``, a small true noise
is over-estimated on average and, since noise and antipersistence look alike, short tracks'
alpha is pulled up (+0.06 to +0.12 at alpha 0.2-0.5, T = 50-100); the reported ``σ`` and its
bounds are clipped at 0, and the reported log-likelihood (used by the tests below) is the
maximum over ``σ² >= 0``. Intervals for ``Dα`` and ``σ`` are Wald intervals
(``log Dα`` and ``σ²``) whose variance adds the conditional Fisher information at ``α̂`` and
the ``α`` uncertainty carried along the profile path (the Schur complement).

Computation (the same numbers as the eigendecomposition above, to rounding): SBM's and BM's
increment covariances are tridiagonal on any frames, like ``N``, so their log-determinants,
quadratic forms and Fisher information cost O(L) per track and ``α`` directly
(:func:`~._levinson.pencil_forms`, :func:`~._levinson.pencil_fisher`); FBM's whitened
covariance is reduced per ``α`` to tridiagonal form ``L⁻¹ C L⁻ᵀ = Q T Qᵀ`` (LAPACK sytrd, one
per track length and ``α``; the data rotated by ``Qᵀ``), after an exact split into two problems
of half the size when the frames are consecutive and the noise the same for every point
(:func:`_fold`). DBM has BM's tridiagonal covariance; its drift (a velocity per axis) is
profiled out by generalized least squares in the same O(L) recursion.

Model selection keeps BM as the null: each alternative is tested against it by its
likelihood ratio (``χ²`` with 1 degree of freedom for FBM and SBM, ``dim`` for DBM), with a
weighted Bonferroni correction (:data:`TEST_WEIGHTS`: half the level on FBM, the anomalous
exponent users ask about, a quarter each on SBM and DBM), so a BM track is called non-BM with
probability at most ``level``; among the alternatives that reject, the one with the smallest
BIC is chosen.

CTRW, ATTM and LW have no Gaussian likelihood; they are not fitted here.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.interpolate import CubicSpline
from scipy.special import logsumexp
from scipy.stats import chi2

from .._checks import check_int, check_positive, check_range
from .._parallel import available_cores
from ._lapack import tridiagonalize
from ._levinson import (
    bidiag_solve,
    pencil_extremes,
    pencil_fisher,
    pencil_forms,
    pencil_maximize,
    spline_piece,
    spline_profile_summary,
    whitened_toeplitz_fold,
)
from .measurement import (
    GAUSSIAN_MODELS,
    check_frames,
    increment_autocovariance,
    increment_covariance,
    noise_band,
    noise_covariance,
    sbm_increment_band,
)

__all__ = [
    "fit_measured",
    "measured_log_likelihood",
    "select_measured",
    "ALPHA_GRID",
    "TEST_WEIGHTS",
    "prepare_tracks",
    "fit_cores",
]

_LOG2PI = float(np.log(2.0 * np.pi))
#: Grids of anomalous exponents on which the profile likelihood is evaluated (each contains 1):
#: step 0.1 everywhere for tracks shorter than :data:`_FINE_GRID_POINTS` points (their 95%
#: interval of alpha spans at least three such steps, and the cubic spline through the grid is
#: exact to well within its width). Longer tracks start on every third point of it
#: (:data:`_SCOUT_GRID`, step 0.3) and then get the points of the 0.05 grid within
#: :data:`_REFINE_MARGIN` of each track's estimate and 95% interval, again after each added
#: set (at most :data:`_REFINE_ROUNDS` sets) until the points there are all in: the FBM fit
#: costs O(L^3) per track length and grid point, and a long track's interval is narrow.
ALPHA_GRID = {
    "fbm": np.round(np.arange(0.05, 1.951, 0.05), 10),
    "sbm": np.round(np.arange(0.05, 2.001, 0.05), 10),
}
_COARSE_GRID = {
    "fbm": np.round(np.arange(0.1, 1.901, 0.1), 10),
    "sbm": np.round(np.arange(0.1, 2.001, 0.1), 10),
}
#: Points between the coarse grid's ends and the model's range (0, 2), evaluated for the tracks
#: (of any length) whose estimate or 95% region reaches an end of the grid, and only for them
#: (:func:`_edge_needs`): a short track's profile often peaks below 0.1 (FBM alpha 0.2, 50
#: points: 4 in 10 tracks), and an estimate stopped at the grid's end is biased up.
_EDGE_GRID = {"fbm": np.array([0.02, 0.05, 1.95, 1.98]), "sbm": np.array([0.02, 0.05])}
_FINE_GRID_POINTS = 200
_SCOUT_GRID = {
    "fbm": _COARSE_GRID["fbm"][::3],
    "sbm": np.append(_COARSE_GRID["sbm"][::3], 2.0),
}
_REFINE_MARGIN = 0.1
_REFINE_ROUNDS = 3
_ALPHA_BOUNDS = {"fbm": (0.0, 2.0), "sbm": (0.0, 2.0)}
#: Share of the false-positive level spent on each alternative of the BM-null test.
TEST_WEIGHTS = {"fbm": 0.5, "sbm": 0.25, "dbm": 0.25}
_FINE_STEP = 0.001
#: With sigma estimated, sigma² may go down to this fraction of the most negative value that
#: keeps the covariance positive definite (see the module docstring). Chosen among 0-0.9 on
#: tracks of the benchmark's simulator with another seed (T = 50 and 100, t_E = 0.5 dt;
#: `benchmarks/choose_extend.py`, `results/measured/extend.md`): 0 biases alpha up at 0.2-0.5
#: (+0.06 to +0.12), 0.9 down at 1.0-1.2 (-0.05 to -0.06), and with 0.25-0.7 sigma's
#: interval covers less than 0.945 (0.5: 0.926).
_EXTEND = 0.8
_INNER_GRID = 16
_GOLDEN_ITER = 32
#: Brent's method (tridiagonal routes, :func:`~._levinson.pencil_maximize`) stops within this
#: fraction of the search range.
_BRENT_RTOL = 1e-9
#: Split the eigenproblems of consecutive-frame stationary models in two (:func:`_fold`).
_FOLD = True
#: Fit with tridiagonal matrices (SBM's own covariances, :class:`_TriGroup`; the other models'
#: tridiagonal reductions, :func:`_fit_alphas_reduced`) rather than eigendecompositions.
_TRIDIAGONAL = True
#: Values (tracks x increments x axes x alphas) per block of the (D', σ²) maximization.
_BLOCK_VALUES = 2_000_000
#: Threads over the alphas of one group's tridiagonal reductions: the cores when a fit has a
#: single group (one track length, e.g. one long track), which the groups' threads of
#: :func:`_map_groups` cannot share out; each reduction runs alone either way (same numbers).
_ALPHA_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar("alpha_threads", default=1)


# ----------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------
def prepare_tracks(tracks, frames=None, point_var=None) -> list[tuple]:
    """Group tracks by observed-frame pattern: ``[(indices, frames, Y (m, P, d), var or None)]``.

    ``tracks``: array ``(n, P, d)`` or a list of ``(P_i, d)`` arrays (µm); ``frames``: None
    (consecutive) or one integer array per track; ``point_var``: None or one ``(P_i,)`` array of
    localization variances (µm²) per track (then each track is its own group).
    """
    if isinstance(tracks, np.ndarray) and tracks.ndim == 3:
        seq = list(tracks)
    elif isinstance(tracks, np.ndarray) and tracks.ndim == 2:
        seq = [tracks]
    else:
        seq = [np.asarray(t, dtype=np.float64) for t in tracks]
    n = len(seq)
    if frames is not None and len(frames) != n:
        raise ValueError(f"frames has {len(frames)} entries for {n} tracks")
    if point_var is not None and len(point_var) != n:
        raise ValueError(f"point_var has {len(point_var)} entries for {n} tracks")
    groups: dict[tuple, list[int]] = {}
    pats: dict[tuple, np.ndarray] = {}
    for i, t in enumerate(seq):
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 1:
            t = t[:, None]
            seq[i] = t
        if t.ndim != 2 or t.shape[0] < 3 or not 1 <= t.shape[1] <= 3:
            raise ValueError(
                f"track {i} has shape {t.shape}; need (n_points >= 3, dim in 1..3) positions in µm"
            )
        if not np.all(np.isfinite(t)):
            raise ValueError(f"track {i} has non-finite positions")
        f = np.arange(len(t)) if frames is None else check_frames(frames[i])
        if len(f) != len(t):
            raise ValueError(f"track {i}: {len(f)} frames for {len(t)} points")
        key = (t.shape[1], f.tobytes()) if point_var is None else (i,)
        groups.setdefault(key, []).append(i)
        pats[key] = f
    out = []
    for key, idx in groups.items():
        Y = np.stack([seq[i] for i in idx])
        var = None
        if point_var is not None:
            var = np.asarray(point_var[idx[0]], dtype=np.float64)
            if var.shape != (Y.shape[1],) or not np.all(np.isfinite(var)) or np.any(var <= 0):
                raise ValueError(
                    f"point_var of track {idx[0]} must be {Y.shape[1]} positive variances"
                )
        out.append((np.asarray(idx), pats[key], Y, var))
    return out


# ----------------------------------------------------------------------------------------
# vectorized 1D maximization
# ----------------------------------------------------------------------------------------
def _grid_golden(fun, lo: np.ndarray, hi: np.ndarray, n_grid=_INNER_GRID, n_iter=_GOLDEN_ITER):
    """Per-row maximizer of ``fun`` on ``[lo, hi]``: a grid scan, then golden section in the bracket."""
    m = len(lo)
    xs = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n_grid)[None, :]
    vals = np.column_stack([fun(xs[:, k]) for k in range(n_grid)])
    vals = np.where(np.isfinite(vals), vals, -np.inf)
    best = np.argmax(vals, axis=1)
    rows = np.arange(m)
    a = xs[rows, np.maximum(best - 1, 0)]
    b = xs[rows, np.minimum(best + 1, n_grid - 1)]
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c = b - g * (b - a)
    d = a + g * (b - a)
    fc, fd = fun(c), fun(d)
    fc = np.where(np.isfinite(fc), fc, -np.inf)
    fd = np.where(np.isfinite(fd), fd, -np.inf)
    for _ in range(n_iter):
        left = fc >= fd
        a = np.where(left, a, c)
        b = np.where(left, d, b)
        c_new = np.where(left, b - g * (b - a), d)
        d_new = np.where(left, c, a + g * (b - a))
        fx = fun(np.where(left, c_new, d_new))
        fx = np.where(np.isfinite(fx), fx, -np.inf)
        fc, fd = np.where(left, fx, fd), np.where(left, fc, fx)
        c, d = c_new, d_new
    x = np.where(fc >= fd, c, d)
    fx = np.maximum(fc, fd)
    # the grid point (or an end of the range) may beat the golden result
    gbest = vals[rows, best]
    use_grid = gbest > fx
    return np.where(use_grid, xs[rows, best], x), np.where(use_grid, gbest, fx)


# ----------------------------------------------------------------------------------------
# one observed-frame pattern: whitening, rotation per alpha, profile over (D', σ²)
# ----------------------------------------------------------------------------------------
def _fold(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two blocks of a symmetric centrosymmetric matrix in the basis of (anti)symmetric vectors.

    With ``J`` the exchange matrix, ``A = J A J`` and ``n = 2k (+1)``, the orthonormal columns
    ``(e_j ± J e_j)/√2`` (``j < k``; the middle ``e_k`` joins the symmetric ones when ``n`` is
    odd) turn ``A`` block diagonal: ``A₊`` ((n − k) x (n − k)) on the symmetric vectors and
    ``A₋`` (k x k) on the antisymmetric ones (:func:`_fold_vectors` for the coordinates).
    """
    n = A.shape[0]
    k = n // 2
    rev = A[:k, ::-1][:, :k]  # A[i, n-1-j]
    plus = np.empty((n - k, n - k))
    plus[:k, :k] = A[:k, :k] + rev
    if n % 2:
        plus[:k, k] = plus[k, :k] = np.sqrt(2.0) * A[:k, k]
        plus[k, k] = A[k, k]
    return plus, A[:k, :k] - rev


def _fold_vectors(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the columns of ``B`` (n, c) on the vectors of :func:`_fold`."""
    n = B.shape[0]
    k = n // 2
    top, bot = B[:k], B[n - k :][::-1]
    plus = (top + bot) / np.sqrt(2.0)
    if n % 2:
        plus = np.concatenate([plus, B[k : k + 1]])
    return plus, (top - bot) / np.sqrt(2.0)


class _Whitener:
    """Whitening by a tridiagonal noise covariance: banded Cholesky, O(L) per column."""

    def __init__(self, diag: np.ndarray, off: np.ndarray):
        band = np.zeros((2, len(diag)))
        band[0], band[1, :-1] = diag, off
        self.chol = scipy.linalg.cholesky_banded(band, lower=True, check_finite=False)
        self.logdet = 2.0 * float(np.sum(np.log(self.chol[0])))

    def solve(self, B):
        """``chol⁻¹ B`` for ``B`` of shape (L,) or (L, k)."""
        return bidiag_solve(self.chol[0], self.chol[1, :-1], B)

    def whiten(self, C):
        """``chol⁻¹ C chol⁻ᵀ`` (symmetrized)."""
        A = self.solve(C)
        M = self.solve(A.T)
        return 0.5 * (M + M.T)

    def eig(self, C, z):
        """Eigenvalues (ascending) and eigenvectors of ``chol⁻¹ C chol⁻ᵀ``; ``Vᵀ z``."""
        # NumPy's eigh (LAPACK syevd) runs without the GIL, so groups can share the cores
        lam, V = np.linalg.eigh(self.whiten(C))
        return lam, V, V.T @ z

    def tridiagonalize(self, C, z):
        """``chol⁻¹ C chol⁻ᵀ = Q T Qᵀ`` (Householder, LAPACK sytrd, without the GIL): the
        diagonal and off-diagonal of ``T`` and ``Qᵀ z``."""
        return tridiagonalize(self.whiten(C), z)


def _band(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.diagonal(A).copy(), np.diagonal(A, 1).copy()


class _Group:
    """Whitened increments of tracks sharing one frame pattern (and noise structure).

    The unit-noise increment covariance ``N`` is tridiagonal, so its Cholesky factor is lower
    bidiagonal and whitening costs O(L) per column (banded triangular solves). With
    consecutive frames and one noise variance for every point (``N`` and the stationary
    models' motion covariances are then symmetric Toeplitz, hence centrosymmetric), the
    generalized eigenproblem of the motion and noise covariances splits exactly into two of
    half the size (:func:`_fold`): a quarter of the eigendecomposition's cost, the same
    eigenvalues and rotated data up to rounding.
    """

    def __init__(self, Y, frames, point_var, drift: bool, fold: bool = False):
        m, P, d = Y.shape
        self.m, self.L, self.d = m, P - 1, d
        self.N = self.L * d
        self.frames = frames
        var = np.ones(P) if point_var is None else point_var
        diag, off = noise_band(var)
        inc = np.diff(Y, axis=1).transpose(1, 0, 2).reshape(self.L, m * d)
        self.fold = bool(fold) and self.L >= 4
        steps = np.diff(frames).astype(np.float64)[:, None]  # drift regressor (DBM)
        if self.fold:
            N = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
            self.parts = [_Whitener(*_band(Nb)) for Nb in _fold(N)]
            self.z = [w.solve(zb) for w, zb in zip(self.parts, _fold_vectors(inc), strict=True)]
            self.bz = [w.solve(sb) for w, sb in zip(self.parts, _fold_vectors(steps), strict=True)]
            self.chol_bands = [(w.chol[0], w.chol[1, :-1]) for w in self.parts]
        else:
            self.parts = [_Whitener(diag, off)]
            self.z = [self.parts[0].solve(inc)]
            self.bz = [self.parts[0].solve(steps)]
        self.logdet_noise = sum(w.logdet for w in self.parts)
        self.zero = ~np.any(np.diff(Y, axis=1) != 0.0, axis=(1, 2))
        self.drift = drift

    def reduce(self, C):
        """Tridiagonal form of the whitened motion covariance ``C`` (both blocks when folded,
        joined by a zero off-diagonal): diagonal (L,), off-diagonal (L−1,), rotated data
        (L, m·d)."""
        blocks = _fold(C) if self.fold else (C,)
        red = [
            w.tridiagonalize(Cb, zb) for w, Cb, zb in zip(self.parts, blocks, self.z, strict=True)
        ]
        return red[0] if len(red) == 1 else _join_blocks(red)

    def reduce_toeplitz(self, c):
        """:meth:`reduce` of the folded group's Toeplitz motion covariance ``C[i, j] =
        c[|i − j|]`` (consecutive frames), its blocks built and whitened in one compiled pass
        (:func:`~._levinson.whitened_toeplitz_fold`)."""
        blocks = whitened_toeplitz_fold(c, *self.chol_bands)
        red = [
            tridiagonalize(Mb, zb, overwrite=True) for Mb, zb in zip(blocks, self.z, strict=True)
        ]
        return _join_blocks(red)

    def rotate(self, C):
        """Eigenvalues ``λ`` (L,), rotated data ``(L, m, d)`` and drift regressor for motion ``C``."""
        blocks = _fold(C) if self.fold else (C,)
        eig = [w.eig(Cb, zb) for w, Cb, zb in zip(self.parts, blocks, self.z, strict=True)]
        lam = np.concatenate([e[0] for e in eig])
        y = np.concatenate([e[2] for e in eig])
        b = None
        if self.drift:
            b = np.concatenate([e[1].T @ bz for e, bz in zip(eig, self.bz, strict=True)])[:, 0]
        if len(eig) > 1:
            order = np.argsort(lam, kind="stable")
            lam, y = lam[order], y[order]
            b = None if b is None else b[order]
        lam = np.clip(lam, 1e-12 * max(float(lam[-1]), 1e-300), None)
        return lam, y.reshape(self.L, self.m, self.d), b


def _join_blocks(red: list) -> tuple:
    """The tridiagonal reductions of the two folded blocks as one: diagonals end to end, a
    zero between the off-diagonals, the rotated data stacked."""
    diag = np.concatenate([x[0] for x in red])
    off = np.concatenate([red[0][1], [0.0], red[1][1]])
    return diag, off, np.concatenate([x[2] for x in red])


class _TriGroup:
    """Increments of tracks sharing one frame pattern under SBM or BM, whose increment
    covariances are tridiagonal on any frames (:func:`~.measurement.sbm_increment_band`; BM's
    lag-one covariance is the blur's ``D·t_E/3``; DBM has BM's, its drift profiled out by
    generalized least squares inside the same recursion), as is the noise's:
    every likelihood, profile and Fisher information costs O(L) per track and alpha, with no
    eigendecomposition (:func:`_fit_alphas_tri`)."""

    def __init__(self, Y, frames, point_var, drift: bool = False):
        m, P, d = Y.shape
        self.m, self.L, self.d = m, P - 1, d
        self.N = self.L * d
        self.frames = frames
        self.n0, self.n1 = noise_band(np.ones(P) if point_var is None else point_var)
        self.X = np.ascontiguousarray(np.diff(Y, axis=1))
        self.zero = ~np.any(self.X != 0.0, axis=(1, 2))
        # DBM: the drift's regressor, the frame steps (its coefficient is profiled out)
        self.drift = np.diff(frames).astype(np.float64) if drift else None


def _max_noise_fraction(prof, lt_min: np.ndarray, search=None):
    """Maximize the profile ``prof(u)`` over the noise fraction ``u`` per row.

    ``u`` may go below 0 (sigma² < 0) while the covariance stays positive definite, down to
    :data:`_EXTEND` of the way to the smallest eigenvalue ratio ``lt_min``: the estimate of
    alpha is then free of the boundary's pull (sigma is reported clipped at 0). Returns
    ``u``, the maximum ``ll`` and the likelihood proper ``llc`` (sigma² >= 0: the same where
    ``u >= 0``, else the value at the boundary). ``search(lo, hi)``: the per-row maximizer
    (``u``, ``ll``) of ``prof`` on ``[lo, hi]``, by default :func:`_grid_golden`.
    """
    R = len(lt_min)
    u_low = -_EXTEND * lt_min / np.maximum(1.0 - lt_min, 1e-12)
    if search is None:
        search = partial(_grid_golden, prof)
    u, ll = search(u_low, np.full(R, 1.0 - 1e-9))
    neg = u < 0
    llc = ll.copy()
    if np.any(neg):
        llc[neg] = prof(np.zeros(R))[neg]
    return u, ll, llc


def _profile_pencil(c0, c1, n0, n1, X, offset: float, sigma2_fixed, drift=None) -> dict:
    """The profile over ``(D', σ²)`` of covariances ``D'·C_k + σ²·N`` (tridiagonal): the
    computation of :func:`_fit_rows` (same parametrization, search and ranges) with the
    log-determinants and quadratic forms of the tridiagonal matrices themselves.

    ``c0, c1`` (K, L), (K, L−1): the ``C_k`` (one per alpha); ``n0, n1``: ``N``; ``X``
    (K or 1, m, L, d): the series of each alpha (or shared); ``offset``: added to ``d·log
    det`` (``d·log det`` of a whitening already applied). ``λ̄`` and the smallest generalized
    eigenvalue, which set the noise fraction's range, come from
    :func:`~._levinson.pencil_extremes`. ``drift`` (L,): a regressor whose coefficient per
    axis is profiled out (DBM; the velocity ``v`` (m, d) per frame step is returned, from the
    first ``C_k``). Returns the dict of :func:`_fit_rows` with (K, m) arrays.
    """
    c0, c1, n0, n1, X = (np.ascontiguousarray(v, dtype=np.float64) for v in (c0, c1, n0, n1, X))
    K = c0.shape[0]
    _, m, L, d = X.shape
    N = L * d
    R = K * m
    const = N * _LOG2PI + offset

    threads = _available_cores()

    def forms(a, b):
        """log det, quadratic form (and with ``drift`` the GLS velocities) per row."""
        return pencil_forms(c0, c1, n0, n1, a, b, X, n_threads=threads, drift=drift)

    if sigma2_fixed is None:
        lam_min, lam_mean = pencil_extremes(c0, c1, n0, n1)
        inv_mean = np.repeat(1.0 / lam_mean, m)
        lt_min = np.repeat(lam_min / lam_mean, m)

        def prof(u):
            logdet, q = forms((1.0 - u) * inv_mean, u)[:2]
            with np.errstate(divide="ignore", invalid="ignore"):
                return -0.5 * (const + N * np.log(q / N) + N + d * logdet)

        search = partial(
            pencil_maximize, c0, c1, n0, n1, X, scale=inv_mean, const=const,
            n_grid=_INNER_GRID, rtol=_BRENT_RTOL, n_threads=threads, drift=drift,
        )  # fmt: skip
        u, ll, llc = _max_noise_fraction(prof, lt_min, search)
        final = forms((1.0 - u) * inv_mean, u)  # at the estimate (the velocities scale-free)
        s2 = final[1] / N
        Dp = s2 * (1.0 - u) * inv_mean
        sig2 = s2 * u
    else:
        s2f = float(sigma2_fixed)
        scale = forms(np.ones(R), 0.0)[1] / N  # D' if there were no noise
        if s2f == 0.0:
            Dp = scale
        else:
            top = np.log(np.maximum(scale, 1e-300)) + 2.0
            logD, _ = pencil_maximize(
                c0, c1, n0, n1, X, top - 30.0, top, b_fixed=s2f, const=const,
                n_grid=_INNER_GRID, rtol=_BRENT_RTOL, n_threads=threads, drift=drift,
            )  # fmt: skip
            Dp = np.exp(logD)
        sig2 = np.full(R, s2f)
        final = forms(Dp, s2f)
        logdet, q = final[:2]
        ll = llc = -0.5 * (const + d * logdet + q)
    shape = (K, m)
    out = {
        "ll": ll.reshape(shape),
        "llc": llc.reshape(shape),
        "logDp": np.log(np.maximum(Dp, 1e-300)).reshape(shape),
        "sig2": sig2.reshape(shape),
        "I": _PencilInfo(c0, c1, n0, n1, Dp.reshape(shape), sig2.reshape(shape), d),
    }
    if drift is not None:
        out["v"] = final[2][:m]
    return out


def _fit_alphas_tri(g: _TriGroup, key: str, alphas, r: float, sigma2_fixed) -> dict:
    """:func:`_fit_alphas` for SBM and BM: :func:`_profile_pencil` of their tridiagonal
    covariances (BM's increments over disjoint times are independent too)."""
    if key == "sbm":
        bands = [sbm_increment_band(a, g.frames, r) for a in alphas]
    else:
        bands = [_band(increment_covariance("bm", 1.0, g.frames, r))] * len(alphas)
    c0 = np.stack([b[0] for b in bands])
    c1 = np.stack([b[1] for b in bands])
    return _profile_pencil(c0, c1, g.n0, g.n1, g.X[None], 0.0, sigma2_fixed, drift=g.drift)


def _autocovariance(key: str, alpha: float, n: int, r: float) -> np.ndarray:
    """:func:`~.measurement.increment_autocovariance` for ``n`` lags, sliced from one table per
    (model, alpha, exposure ratio) and power-of-two length: lag ``k`` does not depend on ``n``,
    so the tracks' many lengths share a handful of tables."""
    size = max(64, 1 << (int(n) - 1).bit_length())
    return _autocovariance_table(key, float(alpha), size, float(r))[:n].copy()


@lru_cache(maxsize=2048)
def _autocovariance_table(key: str, alpha: float, n: int, r: float) -> np.ndarray:
    return increment_autocovariance(key, alpha, n, r)


def _fit_alphas_reduced(g: _Group, key: str, alphas, r: float, sigma2_fixed) -> dict:
    """:func:`_fit_alphas` by tridiagonal reduction (:meth:`_Group.reduce`): per alpha the
    whitened motion covariance becomes tridiagonal ``T = Qᵀ M Q`` and the data ``Qᵀz``; the
    profile is then :func:`_profile_pencil` of ``T`` against the identity (no eigenvectors)."""
    m, L, d = g.m, g.L, g.d
    step = int(max(1, _BLOCK_VALUES // max(m * L * d, 1)))
    n0, n1 = np.ones(L), np.zeros(L - 1)

    def reduce(a):
        if g.fold:  # consecutive frames, one noise variance: Toeplitz, folded
            return g.reduce_toeplitz(_autocovariance(key, a, L, r))
        return g.reduce(increment_covariance(key, a, g.frames, r))

    workers = _ALPHA_THREADS.get()
    parts = []
    for start in range(0, len(alphas), step):
        block = alphas[start : start + step]
        if workers > 1 and len(block) > 1:
            with ThreadPoolExecutor(min(workers, len(block))) as pool:
                red = list(pool.map(reduce, block))
        else:
            red = [reduce(a) for a in block]
        c0 = np.stack([x[0] for x in red])
        c1 = np.stack([x[1] for x in red])
        X = np.stack([x[2].reshape(L, m, d).transpose(1, 0, 2) for x in red])
        parts.append(_profile_pencil(c0, c1, n0, n1, X, d * g.logdet_noise, sigma2_fixed))
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("ll", "llc", "logDp", "sig2")}
    out["I"] = _PencilInfo.join([p["I"] for p in parts])
    return out


def _quad(w, y2, yb, b2):
    """``Σ_axes Σ_i y²/w`` minus the drift term (GLS velocity profiled out), per row.

    ``w`` (R, L); ``y2`` (R, L) summed over axes; ``yb`` (R, L, d) = y·b; ``b2`` (R, L) = b².
    """
    q = np.sum(y2 / w, axis=1)
    if yb is None:
        return q
    num = np.einsum("mld,ml->md", yb, 1.0 / w)
    den = np.sum(b2 / w, axis=1)
    return q - np.sum(num * num, axis=1) / den


def _velocity(w, yb, b2):
    num = np.einsum("mld,ml->md", yb, 1.0 / w)
    den = np.sum(b2 / w, axis=1)
    return num / den[:, None]


def _fit_rows(g: _Group, lam, y2, yb, b2, sigma2_fixed):
    """Maximize over (D', σ²) per row (a track at one alpha); returns dict of per-row arrays.

    ``lam`` (R, L): each row's eigenvalues; ``y2`` (R, L) rotated squared data summed over
    axes; ``yb`` (R, L, d) and ``b2`` (R, L) the drift terms (or None).
    """
    d, N = g.d, g.N
    R = lam.shape[0]
    lbar = np.mean(lam, axis=1)
    lt = lam / lbar[:, None]
    const = N * _LOG2PI + d * g.logdet_noise
    if sigma2_fixed is None:
        # w = s²((1−u) λ/λ̄ + u); s² profiled out: ŝ² = quad(w)/N
        def prof(u):
            w = (1.0 - u)[:, None] * lt + u[:, None]
            q = _quad(w, y2, yb, b2)
            with np.errstate(divide="ignore", invalid="ignore"):
                return -0.5 * (const + N * np.log(q / N) + N + d * np.sum(np.log(w), axis=1))

        lt_min = lt[:, 0]
        u, ll, llc = _max_noise_fraction(prof, lt_min)
        w = (1.0 - u)[:, None] * lt + u[:, None]
        s2 = _quad(w, y2, yb, b2) / N
        Dp = s2 * (1.0 - u) / lbar
        sig2 = s2 * u
    else:
        s2f = float(sigma2_fixed)
        scale = np.sum(y2 / lam, axis=1) / N  # D' if there were no noise
        if s2f == 0.0:
            Dp = _quad(lam, y2, yb, b2) / N
        else:

            def prof_logD(x):
                w = np.exp(x)[:, None] * lam + s2f
                q = _quad(w, y2, yb, b2)
                return -0.5 * (const + d * np.sum(np.log(w), axis=1) + q)

            top = np.log(np.maximum(scale, 1e-300)) + 2.0
            logD, _ = _grid_golden(prof_logD, top - 30.0, top)
            Dp = np.exp(logD)
        sig2 = np.full(R, s2f)
        w = Dp[:, None] * lam + s2f
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = -0.5 * (const + d * np.sum(np.log(w), axis=1) + _quad(w, y2, yb, b2))
        llc = ll
    # expected Fisher information of (log D', σ²) at this alpha (drift held at its estimate)
    W = Dp[:, None] * lam + sig2[:, None]
    mi = Dp[:, None] * lam
    with np.errstate(divide="ignore", invalid="ignore"):
        iw2 = 1.0 / (W * W)
        I_aa = 0.5 * d * np.sum(mi * mi * iw2, axis=1)
        I_ab = 0.5 * d * np.sum(mi * iw2, axis=1)
        I_bb = 0.5 * d * np.sum(iw2, axis=1)
    out = {
        "ll": ll,
        "llc": llc,
        "logDp": np.log(np.maximum(Dp, 1e-300)),
        "sig2": sig2,
        "I": (I_aa, I_ab, I_bb),
    }
    if yb is not None:
        out["v"] = _velocity(W, yb, b2)
    return out


def _fit_alphas(g: _Group, key: str, alphas, r: float, sigma2_fixed) -> dict:
    """Profile tables of one group on the alpha grid: one dict of (A, m) arrays per quantity.

    SBM, BM and DBM: :func:`_fit_alphas_tri`; FBM: :func:`_fit_alphas_reduced`; with
    ``_TRIDIAGONAL`` off (the reference route of the tests): one eigendecomposition per
    alpha, the (D', σ²) maximization for blocks of alphas at once (rows = alpha x track), as
    many as keep a block's arrays near :data:`_BLOCK_VALUES`.
    """
    if isinstance(g, _TriGroup):
        return _fit_alphas_tri(g, key, alphas, r, sigma2_fixed)
    if _TRIDIAGONAL and not g.drift:
        return _fit_alphas_reduced(g, key, alphas, r, sigma2_fixed)
    m, L, d = g.m, g.L, g.d
    per_alpha = max(m * L * d, 1)
    step = int(max(1, _BLOCK_VALUES // per_alpha))
    parts = []
    for start in range(0, len(alphas), step):
        block = alphas[start : start + step]
        rots = [g.rotate(increment_covariance(key, a, g.frames, r)) for a in block]
        lam = np.repeat(np.stack([rt[0] for rt in rots]), m, axis=0)  # (B·m, L)
        y = np.concatenate([rt[1].transpose(1, 0, 2) for rt in rots])  # (B·m, L, d)
        y2 = np.sum(y * y, axis=2)
        yb = b2 = None
        if g.drift:
            b = np.repeat(np.stack([rt[2] for rt in rots]), m, axis=0)  # (B·m, L)
            yb = y * b[:, :, None]
            b2 = b * b
        parts.append(_fit_rows(g, lam, y2, yb, b2, sigma2_fixed))
    out = {}
    for k in ("ll", "llc", "logDp", "sig2"):
        out[k] = np.concatenate([p[k] for p in parts]).reshape(len(alphas), m)
    out["I"] = _TableInfo(
        tuple(np.concatenate([p["I"][j] for p in parts]).reshape(len(alphas), m) for j in range(3))
    )
    if g.drift:
        out["v"] = parts[0]["v"][:m]  # DBM has one "alpha"
    return out


class _TableInfo:
    """Fisher information of (log D', σ²) tabulated per (alpha, track): three (A, m) arrays."""

    def __init__(self, table: tuple):
        self.table = table

    @classmethod
    def join(cls, parts: list, order=None):
        """The tables of ``parts`` along alpha (in ``order`` if given)."""
        joined = [np.concatenate([p.table[j] for p in parts]) for j in range(3)]
        return cls(tuple(t if order is None else t[order] for t in joined))

    def at(self, cols: np.ndarray) -> tuple:
        """``(I_aa, I_ab, I_bb)`` of track ``i`` at alpha index ``cols[i]``."""
        rows = np.arange(len(cols))
        return tuple(t[cols, rows] for t in self.table)

    def columns(self, sub: np.ndarray):
        """The table of the tracks ``sub`` only."""
        return type(self)(tuple(t[:, sub] for t in self.table))


class _PencilInfo:
    """Fisher information of the tridiagonal routes, computed only where it is read (at the
    two grid alphas around each track's estimate, :func:`_summarize`), not for every alpha:
    the bands of ``C_k`` and ``N`` per alpha and ``(D', σ²)`` per (alpha, track)."""

    def __init__(self, c0, c1, n0, n1, Dp, sig2, d: int):
        self.c0, self.c1, self.n0, self.n1 = c0, c1, n0, n1
        self.Dp, self.sig2, self.d = Dp, sig2, int(d)

    @classmethod
    def join(cls, parts: list, order=None):
        """The alphas of ``parts`` (same ``N``) as one table (in ``order`` if given)."""

        def cat(name):
            x = np.concatenate([getattr(p, name) for p in parts])
            return x if order is None else x[order]

        first = parts[0]
        return cls(cat("c0"), cat("c1"), first.n0, first.n1, cat("Dp"), cat("sig2"), first.d)

    def columns(self, sub: np.ndarray):
        """The table of the tracks ``sub`` only."""
        return type(self)(
            self.c0, self.c1, self.n0, self.n1, self.Dp[:, sub], self.sig2[:, sub], self.d
        )

    def at(self, cols: np.ndarray) -> tuple:
        """``(I_aa, I_ab, I_bb)`` of track ``i`` at alpha index ``cols[i]``
        (:func:`~._levinson.pencil_fisher`)."""
        rows = np.arange(len(cols))
        traces = pencil_fisher(
            self.c0[cols], self.c1[cols], self.n0, self.n1, self.Dp[cols, rows],
            self.sig2[cols, rows], 1, n_threads=_available_cores(),
        )  # fmt: skip
        return tuple(0.5 * self.d * t for t in traces)


def _cond_cov(info, sigma_free: bool):
    """Conditional covariance of (log D', σ²) from the information entries."""
    I_aa, I_ab, I_bb = info
    if not sigma_free:
        with np.errstate(divide="ignore"):
            return 1.0 / I_aa, np.zeros_like(I_aa), np.zeros_like(I_aa)
    det = I_aa * I_bb - I_ab * I_ab
    with np.errstate(divide="ignore", invalid="ignore"):
        return I_bb / det, -I_ab / det, I_aa / det


def _refinement(fine, coarse, est: dict, zero) -> np.ndarray:
    """Points of ``fine`` not in ``coarse`` within :data:`_REFINE_MARGIN` of some track's
    estimate or interval on the grid ``coarse`` (tracks that never move are left out)."""
    extra = fine[~np.isin(fine, coarse)]
    lo = np.fmin(est["alpha_lo"], est["alpha"])[~zero]
    hi = np.fmax(est["alpha_hi"], est["alpha"])[~zero]
    ok = np.isfinite(lo) & np.isfinite(hi)
    lo, hi = lo[ok] - _REFINE_MARGIN, hi[ok] + _REFINE_MARGIN
    near = np.any((extra[:, None] >= lo[None, :]) & (extra[:, None] <= hi[None, :]), axis=1)
    return extra[near]


def _edge_needs(edges, alphas, est: dict, zero) -> tuple[np.ndarray, np.ndarray]:
    """The tracks whose estimate or 95% region reaches an end of the grid ``alphas`` (moving
    tracks only), and the points of ``edges`` beyond the ends they reach."""
    lo_end, hi_end = alphas[0], alphas[-1]
    with np.errstate(invalid="ignore"):
        low = ~zero & ((est["alpha_lo"] < lo_end) | (est["alpha"] <= lo_end))
        high = ~zero & ((est["alpha_hi"] > hi_end) | (est["alpha"] >= hi_end))
    pts = np.concatenate(
        [edges[edges < lo_end] if low.any() else [], edges[edges > hi_end] if high.any() else []]
    )
    if not len(pts):
        return np.zeros(0, dtype=np.int64), pts
    return np.flatnonzero(low | high), pts


def _columns(res: dict, sub: np.ndarray) -> dict:
    """The profile tables of :func:`_fit_alphas` for the tracks ``sub`` only."""
    out = {k: res[k][:, sub] for k in ("ll", "llc", "logDp", "sig2")}
    out["I"] = res["I"].columns(sub)
    return out


def _merge_grids(a1, r1: dict, a2, r2: dict):
    """Two profile tables (dicts of (A, m) arrays) on grids ``a1``, ``a2`` as one sorted grid."""
    alphas = np.concatenate([a1, a2])
    order = np.argsort(alphas, kind="stable")
    out = {k: np.concatenate([r1[k], r2[k]])[order] for k in ("ll", "llc", "logDp", "sig2")}
    out["I"] = type(r1["I"]).join([r1["I"], r2["I"]], order)
    return alphas[order], out


def _map_groups(fun, groups: list) -> list:
    """``[fun(g) for g in groups]`` with single-threaded BLAS, on threads when there are several.

    The work is LAPACK (eigendecompositions of one group's matrices), which NumPy runs without
    the GIL; one task per core uses the cores far better for the small matrices of mixed track
    lengths than multithreaded BLAS on one matrix at a time. A single group (one track length)
    shares the cores over its alphas instead (:data:`_ALPHA_THREADS`). Each group's result
    depends on that group alone, and every matrix is reduced with one BLAS thread either way:
    the same numbers on any number of cores.
    """
    from threadpoolctl import threadpool_limits

    n_threads = min(len(groups), _available_cores())
    with threadpool_limits(limits=1, user_api="blas"):
        if n_threads < 2:
            token = _ALPHA_THREADS.set(_available_cores())
            try:
                return [fun(g) for g in groups]
            finally:
                _ALPHA_THREADS.reset(token)
        # the biggest groups first, so that no long task starts last
        order = sorted(range(len(groups)), key=lambda i: -groups[i][2].size)
        with ThreadPoolExecutor(n_threads) as pool:
            done = dict(zip(order, pool.map(lambda i: fun(groups[i]), order), strict=True))
    return [done[i] for i in range(len(groups))]


#: Cores the fits of this thread may use (:func:`fit_cores`); None: all of the process's
_FIT_CORES: contextvars.ContextVar[int | None] = contextvars.ContextVar("fit_cores", default=None)


@contextlib.contextmanager
def fit_cores(n: int) -> Iterator[None]:
    """Within the block, the fits of :func:`fit_measured` and :func:`select_measured` called from
    this thread use at most ``n`` cores (by default all the process may run on): another task
    can run on the rest at the same time. The numbers do not depend on it.
    """
    token = _FIT_CORES.set(check_int(n, "cores", minimum=1))
    try:
        yield
    finally:
        _FIT_CORES.reset(token)


def _available_cores() -> int:
    n = _FIT_CORES.get()
    return available_cores() if n is None else n


# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------
def measured_log_likelihood(
    tracks,
    dt: float,
    model: str,
    *,
    alpha: float = 1.0,
    D: float,
    exposure: float = 0.0,
    sigma_loc: float = 0.0,
    v=None,
    frames: Sequence | None = None,
    point_var: Sequence | None = None,
) -> np.ndarray:
    """Exact log-density of observed tracks' increments under a Gaussian model with blur and noise.

    Parameters
    ----------
    tracks, dt, model, exposure, frames
        As in :func:`fit_measured`.
    alpha, D : float
        Anomalous exponent (FBM, SBM) and Dα in µm²/s^alpha.
    sigma_loc : float
        Localization noise per axis in µm (with ``point_var``: ignored).
    v : float or sequence, optional
        DBM drift velocity in µm/s (scalar or one value per axis).
    point_var : list of (P_i,) arrays, optional
        Per-point localization variances in µm².

    Returns
    -------
    ndarray, shape (n_tracks,)
        ``log p(Δy)`` from a dense Cholesky factor of the increment covariance.
    """
    key = str(model).lower()
    if key not in GAUSSIAN_MODELS:
        raise ValueError(f"{model!r} has no Gaussian likelihood")
    dt = check_positive(dt, "dt (s)")
    exposure = check_range(exposure, "exposure (s)", 0.0, dt, low_open=False, high_open=False)
    D = check_positive(D, "D")
    sigma_loc = check_positive(sigma_loc, "sigma_loc (µm)", allow_zero=True)
    a = 1.0 if key in ("bm", "dbm") else float(alpha)
    groups = prepare_tracks(tracks, frames, point_var)
    n = sum(len(gr[0]) for gr in groups)
    out = np.empty(n)
    for idx, f, Y, var in groups:
        m, P, d = Y.shape
        cov = D * dt**a * increment_covariance(key, a, f, exposure / dt)
        noise = var if var is not None else np.full(P, sigma_loc**2)
        if np.any(noise > 0):
            cov = cov + noise_covariance(noise)
        inc = np.diff(Y, axis=1)
        if key == "dbm" and v is not None:
            vel = np.broadcast_to(np.asarray(v, dtype=np.float64), (d,))
            inc = inc - (np.diff(f) * dt)[None, :, None] * vel[None, None, :]
        try:
            c = scipy.linalg.cholesky(cov, lower=True)
        except np.linalg.LinAlgError:
            out[idx] = -np.inf
            continue
        x = inc.transpose(1, 0, 2).reshape(P - 1, m * d)
        zz = scipy.linalg.solve_triangular(c, x, lower=True)
        quad = np.sum(zz * zz, axis=0).reshape(m, d).sum(axis=1)
        logdet = 2.0 * np.sum(np.log(np.diag(c)))
        out[idx] = -0.5 * ((P - 1) * d * _LOG2PI + d * logdet + quad)
    return out


def fit_measured(
    tracks,
    dt: float,
    model: str = "fbm",
    *,
    exposure: float = 0.0,
    sigma_loc: float | str | None = "auto",
    frames: Sequence | None = None,
    point_var: Sequence | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per-track MLE of a Gaussian motion model through the measurement model.

    Parameters
    ----------
    tracks : ndarray (n, P, d) or list of (P_i, d) arrays
        Observed positions in µm.
    dt : float
        Frame period Δt in s.
    model : {"bm", "dbm", "fbm", "sbm"}
        Motion model.
    exposure : float
        Exposure time t_E in s (``0 <= t_E <= dt``; 0 = no motion blur).
    sigma_loc : "auto", None or float
        Localization noise per axis in µm: ``"auto"``/None estimates it jointly (``σ >= 0``),
        a number fixes it. With ``point_var`` it scales the tracker's variances instead
        (``"auto"``: estimated factor; a number: fixed factor, 1 = trust the tracker).
    frames : list of int arrays, optional
        Observed frame numbers per track (gaps are handled exactly). Default: consecutive.
    point_var : list of (P_i,) arrays, optional
        Per-point localization variances in µm² (e.g. a tracker's posterior variances).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per track: ``alpha, alpha_lo, alpha_hi, alpha_se`` (profile likelihood;
        BM/DBM: 1), ``D, D_lo, D_hi`` (Dα, µm²/s^alpha), ``sigma, sigma_lo, sigma_hi`` (µm),
        ``v_x...`` (DBM, µm/s), ``log_likelihood``, ``n_params``. Tracks that never move get NaN.

    Examples
    --------
    >>> from sptmotion.motion import MODELS
    >>> X, _ = MODELS["fbm"](alpha=0.5, D=0.1).sample(20, 100, dim=2, dt=0.03, rng=0)
    >>> est = fit_measured(X, dt=0.03, model="fbm")
    >>> list(est.columns[:4])
    ['alpha', 'alpha_lo', 'alpha_hi', 'alpha_se']
    """
    key = str(model).lower()
    if key not in GAUSSIAN_MODELS:
        raise ValueError(
            f"{model!r} has no Gaussian likelihood (CTRW, ATTM and LW are not fitted by maximum "
            f"likelihood); choose one of {', '.join(GAUSSIAN_MODELS)}"
        )
    dt = check_positive(dt, "dt (s)")
    exposure = check_range(exposure, "exposure (s)", 0.0, dt, low_open=False, high_open=False)
    level = check_range(level, "level", 0.0, 1.0, low_open=True, high_open=True)
    sigma_free = sigma_loc is None or (isinstance(sigma_loc, str) and sigma_loc == "auto")
    if not sigma_free:
        if isinstance(sigma_loc, str):
            raise ValueError(f"sigma_loc must be 'auto' or a number (µm), got {sigma_loc!r}")
        sigma_fixed = check_positive(sigma_loc, "sigma_loc (µm)", allow_zero=True)
    r = exposure / dt
    groups = prepare_tracks(tracks, frames, point_var)
    n = sum(len(gr[0]) for gr in groups)
    dim_max = max(gr[2].shape[2] for gr in groups)
    cols = {c: np.full(n, np.nan) for c in _COLUMNS}
    vel = np.full((n, dim_max), np.nan)
    n_params = np.zeros(n, dtype=np.int64)
    q = float(chi2.ppf(level, 1))
    z = float(np.sqrt(q))
    if sigma_free:
        s2_fixed = None
    elif point_var is not None:
        s2_fixed = sigma_fixed  # a factor on the tracker's variances
    else:
        s2_fixed = sigma_fixed**2

    def fit_group(group):
        idx, f, Y, var = group
        consecutive = f[-1] == len(f) - 1

        def make(Ys):
            if key in ("sbm", "bm", "dbm") and _TRIDIAGONAL:
                return _TriGroup(Ys, f, var, drift=key == "dbm")
            return _Group(
                Ys, f, var, drift=key == "dbm",
                fold=_FOLD and consecutive and var is None and key != "sbm",
            )  # fmt: skip

        def summary(alphas, res):
            return _summarize(
                key, alphas, res["ll"].T, res["llc"].T, res["logDp"].T, res["sig2"].T,
                res["I"], q, z, dt, sigma_free,
            )  # fmt: skip

        g = make(Y)
        refine = key in ALPHA_GRID and Y.shape[1] >= _FINE_GRID_POINTS
        if refine:
            alphas = _SCOUT_GRID[key]
        else:
            alphas = _COARSE_GRID.get(key, np.array([1.0]))
        res = _fit_alphas(g, key, alphas, r, s2_fixed)
        out = summary(alphas, res)
        for _ in range(_REFINE_ROUNDS if refine else 0):
            extra = _refinement(ALPHA_GRID[key], alphas, out, g.zero)
            if not len(extra):
                break
            more = _fit_alphas(g, key, extra, r, s2_fixed)
            alphas, res = _merge_grids(alphas, res, extra, more)
            out = summary(alphas, res)
        if key in _EDGE_GRID:
            # only the tracks whose estimate or interval reaches an end of the grid
            sub, pts = _edge_needs(_EDGE_GRID[key], alphas, out, g.zero)
            if len(sub):
                more = _fit_alphas(make(Y[sub]), key, pts, r, s2_fixed)
                a2, r2 = _merge_grids(alphas, _columns(res, sub), pts, more)
                for c, val in summary(a2, r2).items():
                    out[c][sub] = val
        if var is not None:
            # σ² is a factor on the tracker's variances: report the typical σ (µm)
            typical = float(np.sqrt(np.mean(var)))
            for c in ("sigma", "sigma_lo", "sigma_hi"):
                out[c] = out[c] * typical
        return g, out, res.get("v")

    for (idx, _f, Y, _var), (g, out, v) in zip(groups, _map_groups(fit_group, groups), strict=True):
        for c, val in out.items():
            cols[c][idx] = np.where(g.zero, np.nan, val)
        d = Y.shape[2]
        if key == "dbm":
            vel[idx, :d] = np.where(g.zero[:, None], np.nan, v / dt)
        n_params[idx] = {"bm": 1, "dbm": 1 + d, "fbm": 2, "sbm": 2}[key] + int(sigma_free)
    df = pd.DataFrame(cols)
    if key == "dbm":
        for j in range(dim_max):
            df[f"v_{'xyz'[j]}"] = vel[:, j]
    df["n_params"] = n_params
    return df


_COLUMNS = (
    "alpha",
    "alpha_lo",
    "alpha_hi",
    "alpha_se",
    "D",
    "D_lo",
    "D_hi",
    "sigma",
    "sigma_lo",
    "sigma_hi",
    "log_likelihood",
)


def _summarize(key, alphas, ll, llc, logDp, sig2, info, q, z, dt, sigma_free) -> dict:
    """Estimates and intervals from the per-alpha profile tables (rows: tracks).

    ``ll``: profile over the extended sigma² range (gives alpha and its interval); ``llc``: the
    likelihood proper (sigma² >= 0), whose maximum is the model's log-likelihood; ``info``:
    the Fisher information of (log D', σ²) (:class:`_TableInfo` or :class:`_PencilInfo`).
    """
    m, A = ll.shape

    def cond_var(cols):
        # conditional variances of log D' and σ² at alpha index cols[i] of track i (their
        # covariance is not reported)
        c_aa, _c_ab, c_bb = _cond_cov(info.at(cols), sigma_free)
        return c_aa, c_bb

    if A == 1:
        alpha = np.ones(m)
        lo = hi = alpha
        se = np.zeros(m)
        lD, s2 = logDp[:, 0], sig2[:, 0]
        v_lD, v_s2 = cond_var(np.zeros(m, dtype=np.int64))
        llmax = llc[:, 0]
    else:
        low, high = _ALPHA_BOUNDS[key]
        fine = np.arange(alphas[0], alphas[-1] + 1e-12, _FINE_STEP)
        ok = np.all(np.isfinite(ll), axis=1)
        spl = CubicSpline(alphas, np.where(ok[:, None], ll, 0.0), axis=1)
        splc = CubicSpline(alphas, np.where(ok[:, None], llc, 0.0), axis=1)
        # the profile on the fine grid: its maximum and the region within q/2 of it (ends
        # interpolated between the fine points around the threshold; the model's range
        # where the region reaches an end of the grid)
        alpha, lo, hi, llmax = spline_profile_summary(alphas, spl.c, splc.c, fine, 0.5 * q)
        lo = np.where(np.isnan(lo), low, lo)
        hi = np.where(np.isnan(hi), high, hi)
        curv = _row_second_derivative(spl, alphas, alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.where(curv < 0, 1.0 / np.sqrt(-curv), np.nan)
        se = np.where(np.isfinite(se), se, (hi - lo) / (2.0 * z))
        # nuisance parameters along the profile path, at alpha-hat
        lD = _interp_rows(alphas, logDp, alpha)
        s2 = _interp_rows(alphas, sig2, alpha)
        h = 0.05
        a_hi = np.minimum(alpha + h, alphas[-1])
        a_lo = np.maximum(alpha - h, alphas[0])

        def slope(Y):
            return (_interp_rows(alphas, Y, a_hi) - _interp_rows(alphas, Y, a_lo)) / (a_hi - a_lo)

        dlD, ds2 = slope(logDp), slope(sig2)
        va = se * se
        gD = dlD - np.log(dt)  # log Dα = log D' − α log Δt
        # as _interp_rows of the tables, which are read only at the two alphas around alpha-hat
        j, t = _bracket(alphas, alpha)
        (aa0, bb0), (aa1, bb1) = cond_var(j), cond_var(j + 1)
        v_lD = aa0 * (1.0 - t) + aa1 * t + gD * gD * va
        v_s2 = bb0 * (1.0 - t) + bb1 * t + ds2 * ds2 * va
        alpha = np.where(ok, alpha, np.nan)
        lo = np.where(ok, lo, np.nan)
        hi = np.where(ok, hi, np.nan)
        llmax = np.where(ok, llmax, np.nan)
    logD = lD - alpha * np.log(dt)
    sdD = np.sqrt(np.maximum(v_lD, 0.0))
    out = {
        "alpha": alpha,
        "alpha_lo": lo,
        "alpha_hi": hi,
        "alpha_se": se,
        "D": np.exp(logD),
        "D_lo": np.exp(np.clip(logD - z * sdD, -700, 700)),
        "D_hi": np.exp(np.clip(logD + z * sdD, -700, 700)),
        "log_likelihood": llmax,
    }
    sd2 = np.sqrt(np.maximum(v_s2, 0.0)) if sigma_free else np.zeros_like(s2)
    # sigma² is estimated on the extended range (it may be < 0); sigma and its bounds are >= 0
    out["sigma"] = np.sqrt(np.maximum(s2, 0.0))
    out["sigma_lo"] = np.sqrt(np.maximum(s2 - z * sd2, 0.0))
    out["sigma_hi"] = np.sqrt(np.maximum(s2 + z * sd2, 0.0))
    return out


def _row_second_derivative(spl: CubicSpline, x: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Second derivative of row ``i`` of a row-wise spline (``axis=1`` over knots ``x``) at
    ``xq[i]``, from the coefficients of the piece that holds it (``spl(xq, 2)`` would
    evaluate every row at every ``xq``: an (m, m) array)."""
    j = spline_piece(x, xq)
    t = xq - x[j]
    rows = np.arange(len(xq))
    return 6.0 * spl.c[0, j, rows] * t + 2.0 * spl.c[1, j, rows]


def _bracket(x: np.ndarray, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``j`` of the interval ``[x[j], x[j+1]]`` of each ``xq`` (the end ones beyond the
    grid) and the fraction ``t`` of the way from ``x[j]`` to ``x[j+1]``."""
    j = np.clip(np.searchsorted(x, xq) - 1, 0, len(x) - 2)
    return j, (xq - x[j]) / (x[j + 1] - x[j])


def _interp_rows(x: np.ndarray, Y: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Row-wise linear interpolation: ``Y[i]`` tabulated on ``x``, evaluated at ``xq[i]``."""
    j, t = _bracket(x, xq)
    rows = np.arange(len(xq))
    return Y[rows, j] * (1.0 - t) + Y[rows, j + 1] * t


def select_measured(
    tracks,
    dt: float,
    candidates: Sequence[str] = GAUSSIAN_MODELS,
    *,
    exposure: float = 0.0,
    sigma_loc: float | str | None = "auto",
    frames: Sequence | None = None,
    point_var: Sequence | None = None,
    level: float = 0.05,
    fits: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Per-track model selection with BM as the null, through the measurement model.

    Each alternative ``m`` is compared with BM by ``Λ_m = 2(ℓ_m − ℓ_bm)`` (``χ²`` with 1
    degree of freedom for FBM and SBM, ``dim`` for DBM). BM is rejected when some
    ``p_m < w_m·level`` (weighted Bonferroni, weights :data:`TEST_WEIGHTS` renormalized over
    the candidates), so a BM track is called non-BM with probability at most ``level``
    whatever the correlation between the tests. When BM is rejected, the alternative with the
    smallest BIC among those that rejected it is chosen.

    Parameters
    ----------
    tracks, dt, exposure, sigma_loc, frames, point_var
        As in :func:`fit_measured`.
    candidates : sequence of str
        Gaussian models; BM is always included.
    level : float
        False-positive rate of calling a BM track non-BM.
    fits : dict, optional
        Already computed :func:`fit_measured` tables by model name (reused, not refitted).

    Returns
    -------
    DataFrame
        Per track: ``loglik_m``, ``n_params_m``, ``bic_m``, ``p_m`` (BIC weights), ``lr_m`` and
        ``pvalue_m`` for each alternative, ``pvalue_bm`` (weighted-Bonferroni p-value of the BM
        null) and ``best``.
    """
    level = check_range(level, "level", 0.0, 1.0, low_open=True, high_open=True)
    names = ["bm"]
    for c in candidates:
        k = str(c).lower()
        if k not in GAUSSIAN_MODELS:
            raise ValueError(
                f"{c!r} has no Gaussian likelihood; candidates are {', '.join(GAUSSIAN_MODELS)}"
            )
        if k not in names:
            names.append(k)
    fits = dict(fits or {})
    for k in names:
        if k not in fits:
            fits[k] = fit_measured(
                tracks,
                dt,
                k,
                exposure=exposure,
                sigma_loc=sigma_loc,
                frames=frames,
                point_var=point_var,
            )
    groups = prepare_tracks(tracks, frames, None)
    n = len(fits["bm"])
    n_obs = np.zeros(n)
    dims = np.zeros(n, dtype=np.int64)
    for idx, _f, Y, _ in groups:
        n_obs[idx] = (Y.shape[1] - 1) * Y.shape[2]
        dims[idx] = Y.shape[2]
    out: dict[str, np.ndarray] = {}
    bic = np.empty((n, len(names)))
    for j, k in enumerate(names):
        ll = fits[k]["log_likelihood"].to_numpy(dtype=float)
        kp = fits[k]["n_params"].to_numpy()
        bic[:, j] = np.where(np.isfinite(ll), -2.0 * ll + kp * np.log(np.maximum(n_obs, 1)), np.inf)
        out[f"loglik_{k}"] = ll
        out[f"n_params_{k}"] = kp
        out[f"bic_{k}"] = bic[:, j]
    defined = np.isfinite(out["loglik_bm"])
    prob = np.full_like(bic, np.nan)
    if np.any(defined):
        lw = -0.5 * bic[defined]
        prob[defined] = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
    for j, k in enumerate(names):
        out[f"p_{k}"] = prob[:, j]
    alts = names[1:]
    wsum = sum(TEST_WEIGHTS[k] for k in alts)
    ratio = np.full((n, max(len(alts), 1)), np.inf)  # p_m / w_m: reject BM when < level
    for j, k in enumerate(alts):
        lr = np.maximum(2.0 * (out[f"loglik_{k}"] - out["loglik_bm"]), 0.0)
        df_k = dims if k == "dbm" else np.ones(n)
        p = chi2.sf(lr, df_k)
        out[f"lr_{k}"] = lr
        out[f"pvalue_{k}"] = p
        ratio[:, j] = np.where(np.isfinite(p), p / (TEST_WEIGHTS[k] / wsum), np.inf)
    p_null = np.minimum(1.0, ratio.min(axis=1)) if alts else np.ones(n)
    out["pvalue_bm"] = np.where(defined, p_null, np.nan)
    reject = p_null < level
    best = np.full(n, "bm", dtype=object)
    if alts:
        alt_bic = np.where(ratio < level, bic[:, 1:], np.inf)
        choice = np.asarray(alts, dtype=object)[np.argmin(alt_bic, axis=1)]
        best = np.where(reject, choice, best)
    out["best"] = np.where(defined, best, None)
    return pd.DataFrame(out)
