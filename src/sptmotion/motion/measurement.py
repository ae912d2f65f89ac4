"""Measurement model of camera-recorded tracks: motion blur over the exposure and localization noise.

A camera does not record the position ``x(t)`` of a particle but, per frame ``n``, the position
averaged over the exposure, plus localization error:

``y_n = (1/t_E) ∫_0^{t_E} x(n·Δt + s) ds + ε_n``,    ``ε_n ~ N(0, σ_n²)`` per axis, independent.

The exposure of frame ``n`` spans ``[n·Δt, n·Δt + t_E]`` as in :func:`sptmotion.optics.setup.fine_times`
(``t_E = 0``: instantaneous positions). For every Gaussian motion model the observed positions
are Gaussian, and this module gives their exact per-axis increment covariance on any set of
observed frames (missing frames are exact: the increments run between consecutive observed
frames):

- **FBM and BM** (stationary increments, variogram ``V(τ) = 2·Dα·|τ|^α``):
  ``Cov(y_i − y_j, y_k − y_l) = ½[V̄(t_i−t_l) + V̄(t_j−t_k) − V̄(t_i−t_k) − V̄(t_j−t_l)]`` with
  the exposure-averaged variogram ``V̄(τ) = E V(τ + s − s')``, ``s, s'`` uniform on ``[0, t_E]``,
  i.e. a triangle-weighted average of ``V`` over ``[τ − t_E, τ + t_E]``. In closed form
  ``V̄(τ) = 2Dα[|τ+t_E|^{α+2} + |τ−t_E|^{α+2} − 2|τ|^{α+2}] / ((α+1)(α+2) t_E²)``; for
  ``|τ| > 2 t_E`` the same average is taken by Gauss-Legendre quadrature, which avoids the
  cancellation of the closed form at long lags. For BM this reproduces the increment variance
  ``2D(Δt − t_E/3)`` and lag-one covariance ``D·t_E/3`` of Berglund (2010).
- **SBM** (``x(t) = B(t^α)``, ``Cov(x(t), x(s)) = 2Dα·min(t, s)^α``, no aging): the averaged
  positions have ``Cov(y_i, y_j) = 2Dα·E(t_i + s)^α`` for ``i < j`` and
  ``Var(y_i) = 2Dα·E min(t_i + s, t_i + s')^α``, both by quadrature, and the increments follow.

Localization noise with per-point variances ``σ_n²`` adds ``σ_i² + σ_{i+1}²`` on the diagonal of
the increment covariance and ``−σ_{i+1}²`` beside it (Michalet 2010; Backlund, Joyner & Moerner
2015; Lanoiselée, Grebenkov et al. 2018 for FBM with static and dynamic error).

Units: covariances returned by :func:`increment_covariance` are for ``Dα = 1`` and ``Δt = 1``;
multiply by ``Dα·Δt^α`` (µm²) for physical units. ``exposure_ratio = t_E / Δt`` in ``[0, 1]``.

References
----------
Berglund, A. J. (2010). Statistics of camera-based single-particle tracking. Phys. Rev. E 82, 011917.
Michalet, X. (2010). Mean square displacement analysis of single-particle trajectories with
localization error. Phys. Rev. E 82, 041914.
Backlund, M. P., Joyner, R. & Moerner, W. E. (2015). Chromosomal locus tracking with proper
accounting of static and dynamic errors. Phys. Rev. E 91, 062716.
Lanoiselée, Y., Grebenkov, D. S. et al. (2018). Optimal parameters for anomalous-diffusion-exponent
estimation from noisy data. Phys. Rev. E 98, 062139.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .._checks import check_int, check_range

__all__ = [
    "GAUSSIAN_MODELS",
    "averaged_variogram",
    "increment_covariance",
    "increment_autocovariance",
    "sbm_increment_band",
    "noise_covariance",
    "noise_band",
    "check_frames",
]

#: Motion models whose observed (blurred, noisy) positions are Gaussian.
GAUSSIAN_MODELS = ("bm", "dbm", "fbm", "sbm")

# Gauss-Legendre nodes on [0, 1] for the smooth averages
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W
#: Below this exposure ratio the blur is negligible (relative effect < 1e-8) and ignored.
_TINY_EXPOSURE = 1e-4


def check_frames(frames) -> np.ndarray:
    """Validate observed frame numbers: 1D integers, strictly increasing, at least 2 (returned from 0)."""
    f = np.asarray(frames)
    if f.ndim != 1 or f.size < 2:
        raise ValueError(
            f"frames must be a 1D array of at least 2 frame numbers, got shape {f.shape}"
        )
    if not np.issubdtype(f.dtype, np.integer):
        if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
            raise ValueError("frames must be whole numbers")
        f = f.astype(np.int64)
    if np.any(np.diff(f) <= 0):
        raise ValueError("frames must increase strictly")
    return (f - f[0]).astype(np.int64)


def _tri_average(fun, tau: np.ndarray, r: float) -> np.ndarray:
    """``E fun(τ + s − s')`` for ``s, s'`` uniform on ``[0, r]`` (triangle weight on ``[−r, r]``)."""
    # E g(τ + u), u = s − s' has density (r − |u|)/r² on [−r, r]: split into the two halves
    u = r * _GL_X  # (Q,) in [0, r]
    w = _GL_W * (1.0 - _GL_X)  # (r − u)/r² · r du  ->  weight (1 − x) dx
    t = tau[..., None]
    return np.sum(w * (fun(t + u) + fun(t - u)), axis=-1)


def averaged_variogram(alpha: float, lags: np.ndarray, exposure_ratio: float) -> np.ndarray:
    """Exposure-averaged variogram ``V̄(τ)/(Dα·Δt^α)`` of FBM (BM at ``alpha = 1``).

    Parameters
    ----------
    alpha : float
        Anomalous exponent in (0, 2).
    lags : ndarray
        Lags ``τ/Δt`` (any shape, >= 0).
    exposure_ratio : float
        ``t_E/Δt`` in [0, 1].

    Returns
    -------
    ndarray
        ``E 2|τ + s − s'|^α`` with ``s, s'`` uniform on ``[0, t_E/Δt]``; ``2|τ|^α`` without blur.
    """
    tau = np.abs(np.asarray(lags, dtype=np.float64))
    a = float(alpha)
    r = float(exposure_ratio)
    if r < _TINY_EXPOSURE:
        return 2.0 * tau**a
    out = np.empty_like(tau)
    near = tau <= 2.0 * r
    if np.any(near):
        t = tau[near]
        p = a + 2.0
        out[near] = (
            2.0
            * (np.abs(t + r) ** p + np.abs(t - r) ** p - 2.0 * t**p)
            / ((a + 1.0) * (a + 2.0) * r * r)
        )
    if np.any(~near):
        out[~near] = _tri_average(lambda x: 2.0 * np.abs(x) ** a, tau[~near], r)
    return out


def _sbm_terms(alpha: float, f: np.ndarray, r: float):
    """``f^α``, ``m1 = E(f + s)^α − f^α`` and ``e = E min(f + s, f + s')^α − f^α`` (``s, s'``
    uniform on ``[0, r]``): the exposure-averaged SBM position covariance is ``2(f_i^α + m1_i)``
    off the diagonal (``i < j``) and ``2(f_i^α + e_i)`` on it (``/(Dα Δt^α)``)."""
    a = float(alpha)
    if r < _TINY_EXPOSURE:
        return f**a, np.zeros_like(f), np.zeros_like(f)
    u = r * _GL_X
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = f > 0
        m1 = np.empty_like(f)
        m1[~pos] = r**a / (a + 1.0)
        fp = f[pos][:, None]
        grow = fp**a * np.expm1(a * np.log1p(u / fp))  # (f + s)^α − f^α at the nodes
        m1[pos] = np.sum(_GL_W * grow, axis=1)
        # e(f) = 2 ∫_0^r ((f+s)^α − f^α)(r − s) ds / r²
        e = np.empty_like(f)
        e[~pos] = 2.0 * r**a * (1.0 / (a + 1.0) - 1.0 / (a + 2.0))
        e[pos] = 2.0 * np.sum(_GL_W * (1.0 - _GL_X) * grow, axis=1)
    return f**a, m1, e


def _sbm_position_cov(alpha: float, frames: np.ndarray, r: float) -> np.ndarray:
    """Covariance ``/(Dα Δt^α)`` of exposure-averaged SBM positions at ``frames`` (first exposure at 0)."""
    f = frames.astype(np.float64)
    base, m1, e = _sbm_terms(alpha, f, r)
    lo = np.minimum.outer(np.arange(len(f)), np.arange(len(f)))
    K = 2.0 * (base[lo] + m1[lo])
    idx = np.arange(len(f))
    K[idx, idx] = 2.0 * (base + e)
    return K


def sbm_increment_band(alpha: float, frames, exposure_ratio: float = 0.0):
    """Diagonal and off-diagonal of SBM's increment covariance (``Dα = 1``, ``Δt = 1``).

    SBM's increments over disjoint times are independent, and an exposure shares its time
    only with the two increments that meet at it: the covariance of the observed increments
    is tridiagonal on any set of frames (:func:`increment_covariance` returns it dense):
    ``diag_i = 2[(f_{i+1}^α − f_i^α) + e_{i+1} + e_i − 2·m1_i]``,
    ``off_i = 2(m1_{i+1} − e_{i+1})`` (terms of :func:`_sbm_terms`).

    Returns
    -------
    diag : ndarray, shape (P − 1,)
    off : ndarray, shape (P − 2,)
    """
    f = check_frames(frames).astype(np.float64)
    r = check_range(
        exposure_ratio, "exposure_ratio (t_E/dt)", 0.0, 1.0, low_open=False, high_open=False
    )
    base, m1, e = _sbm_terms(alpha, f, r)
    diag = 2.0 * (np.diff(base) + e[1:] + e[:-1] - 2.0 * m1[:-1])
    off = 2.0 * (m1[1:-1] - e[1:-1])
    return diag, off


def increment_covariance(
    model: str, alpha: float, frames, exposure_ratio: float = 0.0
) -> np.ndarray:
    """Per-axis covariance of the observed increments for ``Dα = 1``, ``Δt = 1`` (no noise).

    Parameters
    ----------
    model : {"bm", "dbm", "fbm", "sbm"}
        Gaussian motion model (DBM has the covariance of BM; its drift only shifts the mean).
    alpha : float
        Anomalous exponent (ignored for BM and DBM).
    frames : array_like of int, shape (P,)
        Observed frame numbers (strictly increasing; gaps allowed).
    exposure_ratio : float
        ``t_E/Δt`` in [0, 1]; 0 means instantaneous positions.

    Returns
    -------
    ndarray, shape (P − 1, P − 1)
        Covariance of ``y_{f_{i+1}} − y_{f_i}``; multiply by ``Dα·Δt^α`` for µm².

    Examples
    --------
    >>> C = increment_covariance("bm", 1.0, range(4), exposure_ratio=0.9)
    >>> bool(np.isclose(C[0, 0], 2 * (1 - 0.9 / 3))), bool(np.isclose(C[0, 1], 0.9 / 3))
    (True, True)
    """
    key = str(model).lower()
    if key not in GAUSSIAN_MODELS:
        raise ValueError(
            f"no Gaussian measurement model for {model!r}; choose one of {GAUSSIAN_MODELS}"
        )
    f = check_frames(frames)
    r = check_range(
        exposure_ratio, "exposure_ratio (t_E/dt)", 0.0, 1.0, low_open=False, high_open=False
    )
    if key in ("bm", "dbm"):
        alpha = 1.0
    if key == "sbm":
        K = _sbm_position_cov(alpha, f, r)
        return np.diff(np.diff(K, axis=0), axis=1)
    if f[-1] - f[0] == len(f) - 1:  # consecutive frames: a Toeplitz matrix of lag k = i - j
        return scipy.linalg.toeplitz(increment_autocovariance(key, alpha, len(f) - 1, r))
    # stationary increments: variogram at the integer lags that occur
    vbar = averaged_variogram(alpha, np.arange(int(f[-1]) + 1, dtype=np.float64), r)
    lag = np.abs(f[:, None] - f[None, :])
    Vm = vbar[lag]
    return -0.5 * np.diff(np.diff(Vm, axis=0), axis=1)


def increment_autocovariance(
    model: str, alpha: float, n_increments: int, exposure_ratio: float = 0.0
) -> np.ndarray:
    """Autocovariance ``c_k`` (lags ``k = 0 .. n_increments − 1``) of the observed increments of
    a stationary model (BM, DBM, FBM) on consecutive frames, ``Dα = 1``, ``Δt = 1``: the first
    column of :func:`increment_covariance`, ``c_k = ½(V̄(k+1) + V̄(k−1)) − V̄(k)``.
    """
    key = str(model).lower()
    if key == "sbm" or key not in GAUSSIAN_MODELS:
        raise ValueError(f"{model!r} has no stationary increments")
    n = check_int(n_increments, "n_increments", 1)
    r = check_range(
        exposure_ratio, "exposure_ratio (t_E/dt)", 0.0, 1.0, low_open=False, high_open=False
    )
    a = 1.0 if key in ("bm", "dbm") else float(alpha)
    vbar = averaged_variogram(a, np.arange(n + 1, dtype=np.float64), r)
    V = np.concatenate([vbar[1:2], vbar])  # V(|k|) for k = -1 .. n
    return 0.5 * (V[2:] + V[:-2]) - V[1:-1]


def noise_band(point_var) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal and off-diagonal of :func:`noise_covariance` (it is tridiagonal).

    ``diag_i = σ_i² + σ_{i+1}²``, ``off_i = −σ_{i+1}²``.
    """
    v = np.asarray(point_var, dtype=np.float64)
    return v[:-1] + v[1:], -v[1:-1]


def noise_covariance(point_var) -> np.ndarray:
    """Increment covariance of white localization noise with per-point variances ``point_var`` (µm²).

    ``diag_i = σ_i² + σ_{i+1}²``, ``off_i = −σ_{i+1}²`` (:func:`noise_band`).
    """
    diag, off = noise_band(point_var)
    return np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
