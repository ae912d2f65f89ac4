"""Gaussian motion models: Brownian motion (BM), directed BM (DBM), fractional BM (FBM) and
scaled BM (SBM), with exact sampling, exact likelihoods and maximum-likelihood fits.

All four are Gaussian processes with independent axes, so each axis of a track is a
multivariate normal vector and the log-likelihood of the increments is exact:

- BM: increments ``N(0, 2·D·dt)`` per axis, independent.
- DBM: increments ``N(v·dt, 2·D·dt)`` per axis, independent (constant drift ``v`` in µm/s).
- FBM: stationary increments (fractional Gaussian noise) with autocovariance
  ``γ(k) = Dα·dt^α·(|k+1|^α − 2|k|^α + |k−1|^α)``, so that the MSD per axis is ``2·Dα·t^α``
  (Mandelbrot & Van Ness 1968).
- SBM: independent increments with time-dependent variance
  ``2·Dα·[(t+t_age)^α − (t−dt+t_age)^α]`` (Lim & Muniandy 2002; Jeon et al. 2014).

Localization noise of standard deviation ``sigma_loc`` (µm) per axis adds an MA(1) term to
the observed increments (``2σ²`` on the diagonal, ``−σ²`` next to it). The increment
covariance of BM and FBM on a regular grid stays Toeplitz and is whitened by the
Durbin-Levinson recursion in O(L²) (:mod:`._levinson`); BM, DBM and SBM have a tridiagonal
covariance, factored in O(L). Only FBM on an irregular time grid uses a dense Cholesky
factor (shared by all tracks).

References
----------
Davies, R. B. & Harte, D. S. (1987). Tests for Hurst effect. Biometrika 74, 95-101.
Dietrich, C. R. & Newsam, G. N. (1997). Fast and exact simulation of stationary Gaussian
processes through circulant embedding of the covariance matrix. SIAM J. Sci. Comput. 18.
Brockwell, P. J. & Davis, R. A. (1991). Time Series: Theory and Methods, §5.2 (Durbin-Levinson).
Lim, S. C. & Muniandy, S. V. (2002). Self-similar Gaussian processes for modeling anomalous
diffusion. Phys. Rev. E 66, 021114.
Michalet, X. (2010). Mean square displacement analysis of single-particle trajectories with
localization error. Phys. Rev. E 82, 041914.

Examples
--------
>>> from sptmotion.motion import MODELS
>>> m = MODELS["fbm"](alpha=0.6, D=0.1)                 # Dα in µm²/s^0.6
>>> X, t = m.sample(100, 99, dim=2, dt=0.03, rng=0)       # (100, 100, 2) µm, (100,) s
>>> ll = m.log_likelihood(X, dt=0.03, sigma_loc=0.02)     # (100,) exact log-densities
>>> est = MODELS["fbm"].fit(X, dt=0.03)                   # alpha, alpha_se, D, D_se, ...
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.linalg

from .._checks import as_float_sequence, check_positive, check_range
from . import _levinson
from .base import MotionModel, register_model
from .measured import measured_log_likelihood

__all__ = ["BM", "DBM", "FBM", "SBM", "fgn_autocovariance"]

_LOG2PI = float(np.log(2.0 * np.pi))
#: Rows (tracks x axes) per FFT batch of the FBM sampler (bounds temporary memory).
_FFT_ROWS = 1 << 14


# ----------------------------------------------------------------------------------------
# covariance helpers
# ----------------------------------------------------------------------------------------
def fgn_autocovariance(alpha: float, n: int) -> np.ndarray:
    """Autocovariance ``ρ(k), k = 0..n-1`` of unit fractional Gaussian noise.

    ``ρ(k) = ½(|k+1|^α − 2|k|^α + |k−1|^α)`` with ``ρ(0) = 1``; the increments of FBM on a
    grid of step ``dt`` have covariance ``2·Dα·dt^α·ρ(k)``.
    """
    k = np.arange(n, dtype=np.float64)
    return 0.5 * (np.abs(k + 1) ** alpha - 2.0 * k**alpha + np.abs(k - 1) ** alpha)


@lru_cache(maxsize=128)
def _fgn_circulant_scale(alpha: float, n: int) -> np.ndarray | None:
    """Scale vector for Davies-Harte sampling of ``n`` unit-fGn values, or None.

    The autocovariance is embedded in a circulant matrix of size ``2m`` (``m = n``) whose
    eigenvalues ``λ`` are the real FFT of its first row. A Hermitian complex normal vector
    ``Y_k = s_k·(a_k + i b_k)`` with ``s_0 = √λ_0``, ``s_m = √λ_m``, ``s_k = √(λ_k/2)``
    otherwise, has ``irfft(Y)·√(2m)`` distributed exactly as the embedded stationary process.
    Returns None when an eigenvalue is negative (the caller falls back to Cholesky).
    """
    m = max(n, 1)
    rho = fgn_autocovariance(alpha, m + 1)
    row = np.concatenate([rho, rho[-2:0:-1]])  # length 2m
    lam = np.fft.rfft(row).real  # length m+1
    tol = 1e-10 * float(np.max(np.abs(lam)))
    if np.any(lam < -tol):
        return None
    lam = np.clip(lam, 0.0, None)
    s = np.sqrt(lam / 2.0)
    s[0] = np.sqrt(lam[0])
    s[-1] = np.sqrt(lam[-1])
    s *= np.sqrt(2.0 * m)
    s.setflags(write=False)
    return s


@lru_cache(maxsize=8)
def fgn_cholesky(alpha: float, n: int) -> np.ndarray:
    """Lower Cholesky factor of the ``n x n`` unit-fGn covariance (fallback sampler)."""
    cov = scipy.linalg.toeplitz(fgn_autocovariance(alpha, n))
    L = _robust_cholesky(cov)
    L.setflags(write=False)
    return L


def _robust_cholesky(cov: np.ndarray) -> np.ndarray:
    """Cholesky factor, or a symmetric square root when ``cov`` is numerically singular."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(cov)
        return V * np.sqrt(np.clip(w, 0.0, None))


@lru_cache(maxsize=4)  # n x n factors can be large: keep few
def _fbm_time_cholesky(alpha: float, times: tuple[float, ...]) -> np.ndarray:
    """Cholesky factor of the unit-Dα FBM position covariance at ``times[1:]``.

    ``Cov(B(t), B(s)) = t^α + s^α − |t−s|^α`` per axis (with ``Dα = 1``).
    """
    t = np.asarray(times[1:], dtype=np.float64)
    cov = t[:, None] ** alpha + t[None, :] ** alpha - np.abs(t[:, None] - t[None, :]) ** alpha
    L = _robust_cholesky(cov)
    L.setflags(write=False)
    return L


def _fbm_increment_cov_times(alpha: float, times: np.ndarray) -> np.ndarray:
    """Covariance of the FBM increments between consecutive ``times`` (unit Dα).

    ``Cov(ΔB_i, ΔB_j) = |t_i − t_{j−1}|^α + |t_{i−1} − t_j|^α − |t_i − t_j|^α − |t_{i−1} − t_{j−1}|^α``.
    """
    t1 = times[1:]
    t0 = times[:-1]

    def p(a, b):
        return np.abs(a[:, None] - b[None, :]) ** alpha

    return p(t1, t0) + p(t0, t1) - p(t1, t1) - p(t0, t0)


def _positions_from_increments(inc: np.ndarray) -> np.ndarray:
    """``(n_tracks, n_steps, dim)`` increments -> positions starting at the origin."""
    n, L, d = inc.shape
    X = np.empty((n, L + 1, d), dtype=np.float64)
    X[:, 0] = 0.0
    np.cumsum(inc, axis=1, out=X[:, 1:])
    return X


def sample_fgn(alpha: float, n_rows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_rows, n)`` independent unit fractional Gaussian noise series (exact)."""
    s = _fgn_circulant_scale(alpha, n)
    if s is None:
        L = fgn_cholesky(alpha, n)
        return rng.standard_normal((n_rows, n)) @ L.T
    m = len(s) - 1
    out = np.empty((n_rows, n), dtype=np.float64)
    for start in range(0, n_rows, _FFT_ROWS):
        stop = min(start + _FFT_ROWS, n_rows)
        Y = rng.standard_normal((stop - start, 2 * (m + 1))).view(np.complex128)
        Y *= s
        out[start:stop] = np.fft.irfft(Y, n=2 * m, axis=-1)[:, :n]
    return out


# ----------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------
@register_model
class BM(MotionModel):
    """Brownian motion with diffusion coefficient ``D`` (µm²/s).

    Increments are independent ``N(0, 2·D·Δt)`` per axis; MSD per axis ``2·D·t``.

    Parameters
    ----------
    D : float
        Diffusion coefficient in µm²/s (> 0).
    """

    name: ClassVar[str] = "bm"
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (1.0, 1.0, False, False)
    has_likelihood: ClassVar[bool] = True
    fit_params: ClassVar[tuple[str, ...]] = ("D",)

    def __init__(self, D: float = 1.0) -> None:
        self.D = _check_D(D, "BM")
        self._alpha = 1.0

    @property
    def params(self) -> dict:
        return {"D": self.D}

    # unit-free description of the per-axis increment distribution on a time grid
    def _increment_var(self, times: np.ndarray) -> np.ndarray:
        return 2.0 * self.D * np.diff(times)

    def _increment_mean(self, times: np.ndarray, dim: int) -> np.ndarray:
        return np.zeros((len(times) - 1, dim))

    def _sample(self, n_tracks, n_steps, dim, dt, rng):
        inc = rng.standard_normal((n_tracks, n_steps, dim))
        inc *= np.sqrt(2.0 * self.D * dt)
        mean = self._increment_mean(dt * np.arange(n_steps + 1), dim)
        if np.any(mean):
            inc += mean
        return _positions_from_increments(inc)

    def _sample_times(self, n_tracks, times, dim, rng):
        inc = rng.standard_normal((n_tracks, len(times) - 1, dim))
        inc *= np.sqrt(self._increment_var(times))[None, :, None]
        inc += self._increment_mean(times, dim)
        return _positions_from_increments(inc)

    def _log_likelihood_times(self, X, times, sigma_loc):
        dim = X.shape[2]
        inc = np.diff(X, axis=1) - self._increment_mean(times, dim)[None]
        return _indep_loglik(inc, self._increment_var(times)[None, :], sigma_loc)

    def _log_likelihood_blurred(self, X, dt, exposure, sigma_loc):
        return _blurred(self, X, dt, exposure, sigma_loc)

    @classmethod
    def _fit(cls, X, dt, sigma_loc):
        return _fit_bm(X, dt, sigma_loc, drift=False)


@register_model
class DBM(BM):
    """Directed Brownian motion: Brownian motion with a constant drift velocity.

    Increments are independent ``N(v·Δt, 2·D·Δt)`` per axis.

    Parameters
    ----------
    D : float
        Diffusion coefficient in µm²/s (> 0).
    v : float or sequence of float
        Drift velocity in µm/s: a scalar applies the same velocity to every axis, a sequence
        gives one component per axis (its length must equal ``dim`` when sampling).
    """

    name: ClassVar[str] = "dbm"
    fit_params: ClassVar[tuple[str, ...]] = ("D", "v_x", "v_y", "v_z")

    def __init__(self, D: float = 1.0, v: float | tuple[float, ...] = 1.0) -> None:
        self.D = _check_D(D, "DBM")
        arr = np.atleast_1d(np.asarray(v, dtype=np.float64))
        if arr.ndim != 1 or arr.size not in (1, 2, 3) or not np.all(np.isfinite(arr)):
            raise ValueError(
                f"DBM: v must be a finite scalar or a vector of 1-3 components (µm/s), got {v!r}"
            )
        self.v = float(arr[0]) if np.ndim(v) == 0 else tuple(float(a) for a in arr)
        self._alpha = 1.0

    @property
    def params(self) -> dict:
        return {"D": self.D, "v": self.v}

    def velocity(self, dim: int) -> np.ndarray:
        """Drift velocity vector (µm/s) for ``dim`` axes (ValueError on a length mismatch)."""
        if np.ndim(self.v) == 0:
            return np.full(dim, float(self.v))
        if len(self.v) != dim:
            raise ValueError(f"DBM: v has {len(self.v)} components but dim={dim}")
        return as_float_sequence(self.v, "v", dim)

    def _increment_mean(self, times, dim):
        return np.diff(times)[:, None] * self.velocity(dim)[None, :]

    def _sample(self, n_tracks, n_steps, dim, dt, rng):
        return BM._sample(self, n_tracks, n_steps, dim, dt, rng)

    @classmethod
    def _fit(cls, X, dt, sigma_loc):
        return _fit_bm(X, dt, sigma_loc, drift=True)


@register_model
class FBM(MotionModel):
    """Fractional Brownian motion with anomalous exponent ``alpha`` and ``Dα``.

    A Gaussian process with stationary increments and ``Cov(B(t), B(s)) = Dα(t^α + s^α −
    |t−s|^α)`` per axis, hence MSD ``2·Dα·t^α``. ``alpha < 1`` is subdiffusive
    (anti-persistent increments), ``alpha > 1`` superdiffusive (persistent).

    Parameters
    ----------
    alpha : float
        Anomalous exponent in (0, 2) (``alpha = 2·H``, H the Hurst exponent).
    D : float
        Generalized diffusion coefficient Dα in µm²/s^alpha (> 0).

    Notes
    -----
    Regular grids are sampled exactly by Davies-Harte circulant embedding (Davies & Harte
    1987; Dietrich & Newsam 1997), batched over tracks x axes with one real FFT, with the
    embedding eigenvalues cached per ``(alpha, n_steps)``; a cached Cholesky factor is
    used if an eigenvalue is negative. Irregular times use the Cholesky factor of the exact
    position covariance.
    """

    name: ClassVar[str] = "fbm"
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (0.0, 2.0, True, True)
    has_likelihood: ClassVar[bool] = True
    fit_params: ClassVar[tuple[str, ...]] = ("alpha", "D")

    def __init__(self, alpha: float = 1.0, D: float = 1.0) -> None:
        self._alpha = _check_alpha(alpha, type(self))
        self.D = _check_D(D, "FBM")

    @property
    def params(self) -> dict:
        return {"alpha": self.alpha, "D": self.D}

    def _sample(self, n_tracks, n_steps, dim, dt, rng):
        fgn = sample_fgn(self._alpha, n_tracks * dim, n_steps, rng)
        fgn *= np.sqrt(2.0 * self.D * dt**self._alpha)
        inc = fgn.reshape(n_tracks, dim, n_steps).transpose(0, 2, 1)
        return _positions_from_increments(inc)

    def _sample_times(self, n_tracks, times, dim, rng):
        L = _fbm_time_cholesky(self._alpha, tuple(float(t) for t in times))
        n = len(times) - 1
        Z = rng.standard_normal((n_tracks * dim, n))
        pos = (Z @ L.T) * np.sqrt(self.D)
        X = np.zeros((n_tracks, n + 1, dim))
        X[:, 1:] = pos.reshape(n_tracks, dim, n).transpose(0, 2, 1)
        return X

    def _log_likelihood(self, X, dt, sigma_loc):
        return _fbm_loglik_regular(np.diff(X, axis=1), self._alpha, self.D, dt, sigma_loc)

    def _log_likelihood_times(self, X, times, sigma_loc):
        dts = np.diff(times)
        if np.allclose(dts, dts[0], rtol=1e-12, atol=0.0):
            return self._log_likelihood(X, float(dts[0]), sigma_loc)
        factor = _fbm_times_factor(self._alpha, self.D, sigma_loc, tuple(float(t) for t in times))
        return _dense_loglik(np.diff(X, axis=1), factor)

    def _log_likelihood_blurred(self, X, dt, exposure, sigma_loc):
        return _blurred(self, X, dt, exposure, sigma_loc)

    @classmethod
    def _fit(cls, X, dt, sigma_loc):
        return _fit_fbm(X, dt, sigma_loc)


@register_model
class SBM(MotionModel):
    """Scaled Brownian motion: Brownian motion with a power-law time-dependent diffusivity.

    Increments are independent Gaussians with variance
    ``2·Dα·[(t+t_age)^α − (t−Δt+t_age)^α]`` per axis, so the ensemble MSD measured from the
    start of observation is ``2·Dα·[(t+t_age)^α − t_age^α]``. The process is non-ergodic:
    the time-averaged MSD of one track grows linearly in the lag for ``t_age = 0``.

    Parameters
    ----------
    alpha : float
        Anomalous exponent in (0, 2].
    D : float
        Generalized diffusion coefficient Dα in µm²/s^alpha (> 0).
    t_age : float
        Aging time in s (>= 0): time elapsed between the start of the process and the start
        of the observation.
    """

    name: ClassVar[str] = "sbm"
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (0.0, 2.0, True, False)
    has_likelihood: ClassVar[bool] = True
    fit_params: ClassVar[tuple[str, ...]] = ("alpha", "D")

    def __init__(self, alpha: float = 1.0, D: float = 1.0, t_age: float = 0.0) -> None:
        self._alpha = _check_alpha(alpha, type(self))
        self.D = _check_D(D, "SBM")
        self.t_age = check_positive(t_age, "SBM: t_age (s)", allow_zero=True)

    @property
    def params(self) -> dict:
        return {"alpha": self.alpha, "D": self.D, "t_age": self.t_age}

    def _increment_var(self, times: np.ndarray) -> np.ndarray:
        return 2.0 * self.D * sbm_weights(self._alpha, times, self.t_age)

    def _sample_times(self, n_tracks, times, dim, rng):
        inc = rng.standard_normal((n_tracks, len(times) - 1, dim))
        inc *= np.sqrt(self._increment_var(times))[None, :, None]
        return _positions_from_increments(inc)

    def _log_likelihood_times(self, X, times, sigma_loc):
        return _indep_loglik(np.diff(X, axis=1), self._increment_var(times)[None, :], sigma_loc)

    def _log_likelihood_blurred(self, X, dt, exposure, sigma_loc):
        if self.t_age != 0:
            raise ValueError("SBM with motion blur is modelled without aging (t_age = 0)")
        return _blurred(self, X, dt, exposure, sigma_loc)

    @classmethod
    def _fit(cls, X, dt, sigma_loc):
        return _fit_sbm(X, dt, sigma_loc)


def _blurred(model: MotionModel, X, dt, exposure, sigma_loc) -> np.ndarray:
    """Exact likelihood of exposure-averaged positions plus noise (:mod:`.measured`)."""
    v = model.velocity(X.shape[2]) if isinstance(model, DBM) else None
    return measured_log_likelihood(
        X, dt, model.name, alpha=model.alpha, D=model.D, exposure=exposure, sigma_loc=sigma_loc, v=v
    )


def sbm_weights(alpha, times: np.ndarray, t_age: float = 0.0) -> np.ndarray:
    """``(t_i + t_age)^α − (t_{i−1} + t_age)^α``; ``alpha`` scalar or ``(n, 1)`` column."""
    ta = np.asarray(times, dtype=np.float64) + t_age
    p = ta ** np.asarray(alpha, dtype=np.float64)
    return np.diff(p, axis=-1)


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------
def _check_alpha(alpha: float, cls: type[MotionModel]) -> float:
    low, high, lo_open, hi_open = cls.alpha_range
    return check_range(
        alpha, "alpha", low, high, low_open=lo_open, high_open=hi_open, owner=cls.__name__
    )


def _check_D(D: float, owner: str) -> float:
    return check_positive(D, f"{owner}: D")


# ----------------------------------------------------------------------------------------
# likelihood kernels shared by the models
# ----------------------------------------------------------------------------------------
def _indep_loglik(inc: np.ndarray, var: np.ndarray, sigma_loc: float) -> np.ndarray:
    """Log-density of independent Gaussian increments with MA(1) localization noise.

    Parameters
    ----------
    inc : ndarray, shape (n_tracks, L, dim)
        Centered increments (mean removed), µm.
    var : ndarray, shape (1 or n_tracks, L)
        Per-axis variance of the true increments, µm².
    sigma_loc : float
        Localization noise (µm): adds ``2σ²`` on the diagonal and ``−σ²`` next to it.

    Returns
    -------
    ndarray, shape (n_tracks,)
    """
    n, L, d = inc.shape
    if sigma_loc == 0.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.einsum("nld,nld->nl", inc, inc) / var
            return -0.5 * (L * d * _LOG2PI + d * np.sum(np.log(var), axis=1) + np.sum(q, axis=1))
    s2 = sigma_loc * sigma_loc
    x = inc.transpose(0, 2, 1).reshape(n * d, L)
    diag = np.broadcast_to(var[:, None, :], (var.shape[0], d, L))
    diag = np.broadcast_to(diag, (n, d, L)).reshape(n * d, L) + 2.0 * s2
    off = np.full((n * d, L - 1), -s2)
    z, logdet = _levinson.tridiag_whiten(diag, off, x)
    ll = -0.5 * (L * _LOG2PI + logdet + np.sum(z * z, axis=1))
    return ll.reshape(n, d).sum(axis=1)


def _toeplitz_loglik(inc: np.ndarray, acov: np.ndarray) -> np.ndarray:
    """Log-density of stationary Gaussian increments, one autocovariance per track or shared.

    ``inc``: ``(n_tracks, L, dim)``; ``acov``: ``(L,)`` shared or ``(n_tracks, L)``.
    """
    n, L, d = inc.shape
    x = inc.transpose(0, 2, 1)
    if acov.ndim == 1:
        quad, logdet = _levinson.toeplitz_quad(acov[None], x.reshape(1, n * d, L))
        quad = quad.reshape(n, d)
        logdet = np.full(n, logdet[0])
    else:
        quad, logdet = _levinson.toeplitz_quad(acov, x)
    return -0.5 * (L * d * _LOG2PI + d * logdet + quad.sum(axis=1))


def _add_noise_acov(acov: np.ndarray, sigma_loc: float) -> np.ndarray:
    """Add the MA(1) autocovariance of localization noise (last axis is the lag)."""
    if sigma_loc == 0.0:
        return acov
    acov = acov.copy()
    s2 = sigma_loc * sigma_loc
    acov[..., 0] += 2.0 * s2
    if acov.shape[-1] > 1:
        acov[..., 1] -= s2
    return acov


def _fbm_loglik_regular(inc, alpha, D, dt, sigma_loc) -> np.ndarray:
    """FBM log-likelihood on a regular grid; ``alpha``, ``D`` scalars or ``(n_tracks,)``."""
    L = inc.shape[1]
    alpha = np.asarray(alpha, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    if alpha.ndim == 0 and D.ndim == 0:
        acov = 2.0 * D * dt**alpha * fgn_autocovariance(float(alpha), L)
    else:
        alpha_b, D_b = np.broadcast_arrays(alpha, D)
        k = np.arange(L, dtype=np.float64)
        a = alpha_b[:, None]
        rho = 0.5 * (np.abs(k + 1) ** a - 2.0 * k**a + np.abs(k - 1) ** a)
        acov = (2.0 * D_b * dt**alpha_b)[:, None] * rho
    return _toeplitz_loglik(inc, _add_noise_acov(acov, sigma_loc))


@lru_cache(maxsize=4)  # the likelihood layer re-evaluates the same fine time grid many times
def _fbm_times_factor(
    alpha: float, D: float, sigma_loc: float, times: tuple[float, ...]
) -> np.ndarray | None:
    """Lower Cholesky factor of the FBM increment covariance on irregular ``times`` (or None)."""
    t = np.asarray(times)
    cov = D * _fbm_increment_cov_times(alpha, t)
    if sigma_loc > 0:
        cov = cov + _noise_matrix(len(t) - 1, sigma_loc)
    try:
        c = scipy.linalg.cholesky(cov, lower=True)
    except np.linalg.LinAlgError:
        return None
    c.setflags(write=False)
    return c


def _dense_loglik(inc: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    """Log-density with one dense covariance ``c cᵀ`` shared by all tracks and axes.

    ``c``: lower Cholesky factor, or None for a covariance that is not positive definite.
    """
    n, L, d = inc.shape
    if c is None:
        return np.full(n, -np.inf)
    x = inc.transpose(1, 0, 2).reshape(L, n * d)
    z = scipy.linalg.solve_triangular(c, x, lower=True)
    quad = np.sum(z * z, axis=0).reshape(n, d).sum(axis=1)
    logdet = 2.0 * np.sum(np.log(np.diag(c)))
    return -0.5 * (L * d * _LOG2PI + d * logdet + quad)


def _noise_matrix(L: int, sigma_loc: float) -> np.ndarray:
    s2 = sigma_loc * sigma_loc
    return s2 * (2.0 * np.eye(L) - np.eye(L, k=1) - np.eye(L, k=-1))


# ----------------------------------------------------------------------------------------
# maximum-likelihood fits
# ----------------------------------------------------------------------------------------
#: Shared grid of exponents on which the profile likelihood of every track is evaluated
#: before the per-track golden-section refinement.
_ALPHA_GRID_STEP = 0.04
_ALPHA_MIN = 1e-3
_FBM_ALPHA_MAX = 1.999
_GOLDEN_ITER = 24


def _neg_inf_nan(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), v, -np.inf)


def _golden_max(f, a: np.ndarray, b: np.ndarray, n_iter: int = _GOLDEN_ITER) -> np.ndarray:
    """Vectorized golden-section search: per-track maximizer of ``f`` on ``[a, b]``.

    ``f`` maps an ``(n,)`` array of per-track arguments to ``(n,)`` values; one call per
    iteration evaluates the new interior point of every track at once.
    """
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c = b - g * (b - a)
    d = a + g * (b - a)
    fc = _neg_inf_nan(f(c))
    fd = _neg_inf_nan(f(d))
    for _ in range(n_iter):
        left = fc >= fd  # the maximum lies in [a, d]
        a = np.where(left, a, c)
        b = np.where(left, d, b)
        c_new = np.where(left, b - g * (b - a), d)
        d_new = np.where(left, c, a + g * (b - a))
        fx = _neg_inf_nan(f(np.where(left, c_new, d_new)))
        fc, fd = np.where(left, fx, fd), np.where(left, fc, fx)
        c, d = c_new, d_new
    return np.where(fc >= fd, c, d)


def _num_hessian(f, theta: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central-difference value, gradient and Hessian of per-track functions.

    ``f`` maps ``(n, p)`` parameters to ``(n,)`` values. Returns ``f0 (n,)``, ``grad (n, p)``
    and ``hess (n, p, p)``; truncation error O(h²).
    """
    n, p = theta.shape
    f0 = f(theta)
    grad = np.empty((n, p))
    hess = np.empty((n, p, p))

    def shifted(*moves):
        t = theta.copy()
        for i, sgn in moves:
            t[:, i] += sgn * h[i]
        return f(t)

    for i in range(p):
        fp, fm = shifted((i, 1)), shifted((i, -1))
        grad[:, i] = (fp - fm) / (2.0 * h[i])
        hess[:, i, i] = (fp - 2.0 * f0 + fm) / h[i] ** 2
        for j in range(i):
            hij = (
                shifted((i, 1), (j, 1))
                - shifted((i, 1), (j, -1))
                - shifted((i, -1), (j, 1))
                + shifted((i, -1), (j, -1))
            ) / (4.0 * h[i] * h[j])
            hess[:, i, j] = hess[:, j, i] = hij
    return f0, grad, hess


def _covariance_from_hessian(hess: np.ndarray) -> np.ndarray:
    """Inverse observed Fisher information ``(−H)⁻¹`` per track; NaN where not positive definite."""
    info = -hess
    n, p, _ = info.shape
    ok = np.all(np.isfinite(info), axis=(1, 2))
    safe = np.where(ok[:, None, None], info, np.eye(p))
    ok &= np.all(np.linalg.eigvalsh(safe) > 0, axis=1)
    safe = np.where(ok[:, None, None], safe, np.eye(p))
    cov = np.linalg.inv(safe)
    cov[~ok] = np.nan
    return cov


def _maximize(f, theta, lower, upper, h, n_iter: int = 40, tol: float = 1e-7) -> np.ndarray:
    """Vectorized Levenberg-Marquardt ascent of per-track functions (finite differences).

    Used where no parameter profiles out in closed form (fits with localization noise).
    """
    theta = np.clip(np.array(theta, dtype=np.float64), lower, upper)
    n, p = theta.shape
    lam = np.full(n, 1e-3)
    fcur = _neg_inf_nan(f(theta))
    eye = np.eye(p)
    active = np.ones(n, dtype=bool)
    for _ in range(n_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break

        def fa(t, idx=idx):
            return f(t, idx)

        _, grad, hess = _num_hessian(fa, theta[idx], h)
        A = -hess
        scale = np.abs(np.diagonal(A, axis1=1, axis2=2)) + 1e-12
        A = A + lam[idx, None, None] * scale[:, :, None] * eye
        A = np.where(np.isfinite(A), A, eye)
        grad = np.where(np.isfinite(grad), grad, 0.0)
        try:
            step = np.linalg.solve(A, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = grad * 1e-3
        new = np.clip(theta[idx] + step, lower, upper)
        fnew = _neg_inf_nan(f(new, idx))
        better = fnew > fcur[idx]
        theta[idx[better]] = new[better]
        gain = np.where(better, fnew - fcur[idx], 0.0)
        fcur[idx[better]] = fnew[better]
        lam[idx] = np.where(better, lam[idx] / 5.0, lam[idx] * 10.0)
        done = (better & (gain < tol)) | (lam[idx] > 1e10)
        active[idx[done]] = False
    return theta


def _subset_func(fun, inc_all, *extra):
    """Wrap ``fun(theta, inc, *extra)`` so that ``f(theta, idx=None)`` acts on a track subset."""

    def f(theta, idx=None):
        inc = inc_all if idx is None else inc_all[idx]
        return fun(theta, inc, *extra)

    return f


def _results_table(names, theta, cov, loglik, n_params, inc) -> pd.DataFrame:
    """Assemble the fit table; tracks that never move (all increments 0) get NaN."""
    still = ~np.any(inc != 0.0, axis=(1, 2))
    if np.any(still):
        theta = np.where(still[:, None], np.nan, theta)
        cov = np.where(still[:, None, None], np.nan, cov)
        loglik = np.where(still, np.nan, loglik)
    out = {}
    for i, name in enumerate(names):
        out[name] = theta[:, i]
        out[f"{name}_se"] = np.sqrt(cov[:, i, i])
    out["log_likelihood"] = loglik
    out["n_params"] = np.full(len(loglik), n_params, dtype=np.int64)
    return pd.DataFrame(out)


def _log_to_linear_D(theta, cov, i_logD):
    """Map estimates and covariance from log D to D (exact at a stationary point)."""
    theta = theta.copy()
    cov = cov.copy()
    D = np.exp(theta[:, i_logD])
    theta[:, i_logD] = D
    cov[:, i_logD, :] *= D[:, None]
    cov[:, :, i_logD] *= D[:, None]
    return theta, cov


def _fit_bm(X: np.ndarray, dt: float, sigma_loc: float, drift: bool) -> pd.DataFrame:
    """MLE of BM (D) or DBM (D, v).

    Without localization noise the estimates are closed-form: ``v̂ = mean(Δx)/dt`` per axis
    and ``D̂ = Σ(Δx − v̂dt)² / (2·dt·L·dim)``; the Fisher information is diagonal, giving
    ``se(D̂) = D̂·√(2/(L·dim))`` and ``se(v̂) = √(2D̂/(L·dt))``. With noise the likelihood
    (tridiagonal covariance) is maximized numerically and the standard errors come from the
    inverse observed Fisher information.
    """
    inc = np.diff(X, axis=1)
    n, L, d = inc.shape
    N = L * d
    v = inc.mean(axis=1) / dt if drift else np.zeros((n, d))
    resid = inc - v[:, None, :] * dt
    if sigma_loc == 0.0:
        D = np.sum(resid**2, axis=(1, 2)) / (2.0 * dt * N)
        se_D = D * np.sqrt(2.0 / N)
        se_v = np.sqrt(2.0 * D / (L * dt))
        theta = np.column_stack([D, v]) if drift else D[:, None]
        se = np.column_stack([se_D] + [se_v] * d) if drift else se_D[:, None]
        cov = np.zeros((n, theta.shape[1], theta.shape[1]))
        idx = np.arange(theta.shape[1])
        cov[:, idx, idx] = se**2
    else:

        def full(theta, inc):
            vv = theta[:, 1:] if drift else np.zeros((len(theta), d))
            var = np.repeat((2.0 * np.exp(theta[:, :1]) * dt), L, axis=1)
            return _indep_loglik(inc - vv[:, None, :] * dt, var, sigma_loc)

        f = _subset_func(full, inc)
        msd1 = np.mean(resid**2, axis=(1, 2))
        D0 = np.maximum(msd1 - 2.0 * sigma_loc**2, 0.1 * msd1) / (2.0 * dt)
        theta0 = (
            np.column_stack([np.log(np.maximum(D0, 1e-300)), v]) if drift else np.log(D0)[:, None]
        )
        p = theta0.shape[1]
        vscale = np.sqrt(np.maximum(D0, 1e-300) / dt) / 10.0
        lower = np.array([-700.0] + [-np.inf] * (p - 1))
        upper = np.array([700.0] + [np.inf] * (p - 1))
        h = np.array([1e-3] + [1e-3 * float(np.median(vscale)) + 1e-12] * (p - 1))
        theta = _maximize(f, theta0, lower, upper, h)
        _, _, hess = _num_hessian(f, theta, h)
        theta, cov = _log_to_linear_D(theta, _covariance_from_hessian(hess), 0)
    names = ["D"] + [f"v_{a}" for a in "xyz"[:d]] if drift else ["D"]
    ll = _bm_loglik_params(inc, theta, dt, sigma_loc, drift)
    return _results_table(names, theta, cov, ll, len(names), inc)


def _bm_loglik_params(inc, theta, dt, sigma_loc, drift):
    n, L, d = inc.shape
    vv = theta[:, 1:] if drift else np.zeros((n, d))
    with np.errstate(divide="ignore"):
        var = np.repeat(2.0 * theta[:, :1] * dt, L, axis=1)
    return _indep_loglik(inc - vv[:, None, :] * dt, var, sigma_loc)


def _alpha_grid(high: float) -> np.ndarray:
    return np.arange(_ALPHA_GRID_STEP / 2, high, _ALPHA_GRID_STEP)


def _refine_on_grid(profile_grid: np.ndarray, grid: np.ndarray, profile, high: float) -> np.ndarray:
    """Per-track golden-section refinement around the best point of a shared grid."""
    best = np.argmax(_neg_inf_nan(profile_grid), axis=1)
    a = np.where(best > 0, grid[np.maximum(best - 1, 0)], _ALPHA_MIN)
    b = np.where(best < len(grid) - 1, grid[np.minimum(best + 1, len(grid) - 1)], high)
    alpha = _golden_max(profile, a, b)
    # keep the grid point if the refinement did not improve on it (non-unimodal profile)
    f_ref = _neg_inf_nan(profile(alpha))
    f_grid = profile_grid[np.arange(len(best)), best]
    return np.where(f_ref >= f_grid, alpha, grid[best])


def _fbm_profile_terms(xt: np.ndarray, alpha) -> tuple[np.ndarray, np.ndarray]:
    """``Q = Σ_axes xᵀR⁻¹x`` and ``log det R`` for unit-fGn correlation ``R(alpha)``.

    ``xt``: ``(n, dim, L)``; ``alpha`` scalar (shared whitening) or ``(n,)``.
    """
    n, d, L = xt.shape
    if np.ndim(alpha) == 0:
        quad, ld = _levinson.toeplitz_quad(
            fgn_autocovariance(float(alpha), L)[None], xt.reshape(1, n * d, L)
        )
        return quad.reshape(n, d).sum(axis=1), np.full(n, ld[0])
    k = np.arange(L, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)[:, None]
    rho = 0.5 * (np.abs(k + 1) ** a - 2.0 * k**a + np.abs(k - 1) ** a)
    quad, ld = _levinson.toeplitz_quad(rho, xt)
    return quad.sum(axis=1), ld


def _profile_from_terms(Q, logdet_R, N, d):
    """Profile log-likelihood with the scale ``s² = Q/N`` maximized out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -0.5 * (N * (_LOG2PI + np.log(Q / N) + 1.0) + d * logdet_R)


def _fit_fbm(X: np.ndarray, dt: float, sigma_loc: float) -> pd.DataFrame:
    """MLE of FBM (alpha, Dα) with observed-Fisher standard errors.

    Without noise the increment covariance is ``s²·R(α)`` with ``s² = 2·Dα·dt^α``; for fixed
    α the scale profiles out (``ŝ² = Q/N``, ``Q = xᵀR⁻¹x`` summed over axes, ``N = L·dim``),
    and the profile log-likelihood ``−½[N(log 2π + log(Q/N) + 1) + dim·log det R]`` is
    evaluated for all tracks on a shared α grid (one Durbin-Levinson recursion per grid point,
    applied to every track) and refined per track by golden-section search. With noise the
    full likelihood is then maximized in (α, log Dα) from that start. Standard errors: the
    inverse of the numerical Hessian of the full log-likelihood at the MLE (NaN when the
    estimate sits on the edge of the searched range, alpha in [0.001, 1.999]).
    """
    inc = np.diff(X, axis=1)
    n, L, d = inc.shape
    N = L * d
    xt = np.ascontiguousarray(inc.transpose(0, 2, 1))
    grid = _alpha_grid(2.0)
    prof_grid = np.column_stack(
        [_profile_from_terms(*_fbm_profile_terms(xt, a), N, d) for a in grid]
    )

    def profile(alpha):
        return _profile_from_terms(*_fbm_profile_terms(xt, alpha), N, d)

    alpha = _refine_on_grid(prof_grid, grid, profile, _FBM_ALPHA_MAX)
    Q, _ = _fbm_profile_terms(xt, alpha)
    with np.errstate(divide="ignore"):
        logD = np.log(Q / N / (2.0 * dt**alpha))
    theta = np.column_stack([alpha, logD])

    def full(theta, inc):
        return _fbm_loglik_regular(inc, theta[:, 0], np.exp(theta[:, 1]), dt, sigma_loc)

    f = _subset_func(full, inc)
    lower = np.array([_ALPHA_MIN, -700.0])
    upper = np.array([_FBM_ALPHA_MAX, 700.0])
    h = np.array([1e-3, 1e-3])
    if sigma_loc > 0:
        theta = _maximize(f, theta, lower, upper, h)
    theta_h = theta.copy()
    theta_h[:, 0] = np.clip(theta_h[:, 0], lower[0] + h[0], upper[0] - h[0])
    _, _, hess = _num_hessian(f, theta_h, h)
    ll = f(theta)
    theta, cov = _log_to_linear_D(theta, _covariance_from_hessian(hess), 1)
    return _results_table(["alpha", "D"], theta, cov, ll, 2, inc)


def _fit_sbm(X: np.ndarray, dt: float, sigma_loc: float) -> pd.DataFrame:
    """MLE of SBM (alpha, Dα), assuming no aging (``t_age = 0``).

    Increments are independent with variance ``2·Dα·w_i(α)``, ``w_i = t_i^α − t_{i−1}^α``;
    for fixed α, ``2D̂α = Σ x²/w / N`` and the profile log-likelihood
    ``−½[N(log 2π + log(2D̂α) + 1) + dim·Σ log w_i]`` is evaluated on a shared α grid (one
    matrix product for all tracks), then refined per track by golden-section search. With
    noise the full likelihood (tridiagonal covariance) is maximized from that start.
    """
    inc = np.diff(X, axis=1)
    n, L, d = inc.shape
    N = L * d
    times = dt * np.arange(L + 1)
    sq = np.sum(inc**2, axis=2)  # (n, L)
    grid = _alpha_grid(2.0 + 1e-9)
    W = sbm_weights(grid[:, None], times)  # (G, L)
    S = sq @ (1.0 / W).T  # (n, G)
    prof_grid = _profile_from_terms(S, np.sum(np.log(W), axis=1)[None, :], N, d)

    def terms(alpha):
        w = sbm_weights(alpha[:, None], times)
        return np.sum(sq / w, axis=1), np.sum(np.log(w), axis=1)

    def profile(alpha):
        return _profile_from_terms(*terms(alpha), N, d)

    alpha = _refine_on_grid(prof_grid, grid, profile, 2.0)
    S_hat, _ = terms(alpha)
    with np.errstate(divide="ignore"):
        logD = np.log(S_hat / N / 2.0)
    theta = np.column_stack([alpha, logD])

    def full(theta, inc):
        w = sbm_weights(theta[:, :1], times)
        return _indep_loglik(inc, 2.0 * np.exp(theta[:, 1:2]) * w, sigma_loc)

    f = _subset_func(full, inc)
    lower = np.array([_ALPHA_MIN, -700.0])
    upper = np.array([2.0, 700.0])
    h = np.array([1e-3, 1e-3])
    if sigma_loc > 0:
        theta = _maximize(f, theta, lower, upper, h)
    theta_h = theta.copy()
    theta_h[:, 0] = np.clip(theta_h[:, 0], lower[0] + h[0], upper[0])
    _, _, hess = _num_hessian(f, theta_h, h)
    ll = f(theta)
    theta, cov = _log_to_linear_D(theta, _covariance_from_hessian(hess), 1)
    return _results_table(["alpha", "D"], theta, cov, ll, 2, inc)
