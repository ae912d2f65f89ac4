"""Mean squared displacements: time-averaged (per track) and ensemble-averaged, with power-law fits.

For a track ``r(t_i) = r_i`` on a regular grid of step ``dt`` with ``N + 1`` points:

- time-averaged MSD at lag ``Δ`` (in steps): ``δ²(Δ) = 1/(N+1−Δ) Σ_i |r_{i+Δ} − r_i|²``;
- ensemble MSD from the start: ``⟨|r(t) − r(0)|²⟩`` averaged over tracks.

Both are summed over the spatial axes, so for a process with per-axis MSD ``2·Dα·t^α`` they
equal ``2·dim·Dα·t^α``. Fitting ``log MSD = log(2·dim·Dα) + α·log t`` by least squares gives
the exponent ``α`` and ``Dα`` (µm²/s^α).

For ergodic processes (BM, FBM) the time average converges to the ensemble average; for
non-ergodic ones (SBM, CTRW, ATTM) the TAMSD grows linearly in the lag whatever the
ensemble exponent (weak ergodicity breaking; Metzler et al. 2014).

References
----------
Metzler, R., Jeon, J.-H., Cherstvy, A. G. & Barkai, E. (2014). Anomalous diffusion models and
their properties: non-stationarity, non-ergodicity, and ageing at the centenary of single
particle tracking. Phys. Chem. Chem. Phys. 16, 24128.
Michalet, X. (2010). Mean square displacement analysis of single-particle trajectories with
localization error. Phys. Rev. E 82, 041914.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .._checks import check_positions, check_positive
from .measurement import averaged_variogram

__all__ = [
    "tamsd",
    "eamsd",
    "fit_tamsd_alpha",
    "fit_eamsd_alpha",
    "default_lags",
    "MSDFit",
    "measured_msd",
    "ragged_msd",
]


class MSDFit(NamedTuple):
    """Power-law fit ``MSD = 2·dim·D·t^alpha`` of an ensemble MSD."""

    alpha: float
    D: float


def default_lags(n_points: int) -> np.ndarray:
    """Default TAMSD lags (steps): ``1 .. max(4, n_points // 10)``, at most ``n_points − 1``.

    Short lags carry most of the information and are averaged over many displacements; for
    100 points this is lags 1-10 (as in the AnDi challenge's MSD baseline).
    """
    hi = min(max(4, n_points // 10), n_points - 1)
    return np.arange(1, hi + 1)


def _check_lags(lags, n_points: int) -> np.ndarray:
    if lags is None:
        return default_lags(n_points)
    arr = np.atleast_1d(np.asarray(lags))
    if arr.ndim != 1 or arr.size < 1 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"lags must be a 1D sequence of integers, got {lags!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"lags must be whole numbers of steps, got {lags!r}")
    arr = arr.astype(np.int64)
    if arr.min() < 1 or arr.max() > n_points - 1:
        raise ValueError(
            f"lags must lie in 1..{n_points - 1} for tracks of {n_points} points, got {lags!r}"
        )
    return arr


def tamsd(X, lags=None) -> np.ndarray:
    """Time-averaged MSD of each track (µm²), summed over axes.

    Parameters
    ----------
    X : array_like, shape (n_tracks, n_points, dim) or (n_points, dim)
        Positions in µm on a regular time grid.
    lags : sequence of int, optional
        Lags in steps (default :func:`default_lags`).

    Returns
    -------
    ndarray, shape (n_tracks, n_lags)
        ``δ²(Δ) = 1/(n_points−Δ) Σ_i |r_{i+Δ} − r_i|²``.
    """
    X = check_positions(X)
    lags = _check_lags(lags, X.shape[1])
    out = np.empty((X.shape[0], len(lags)))
    for j, lag in enumerate(lags):  # loop over lags only, vectorized across tracks
        d = X[:, lag:] - X[:, :-lag]
        out[:, j] = np.einsum("npd,npd->n", d, d) / d.shape[1]
    return out


def eamsd(X) -> np.ndarray:
    """Ensemble MSD from the start ``⟨|r(t_i) − r(t_0)|²⟩`` (µm²), summed over axes.

    Returns
    -------
    ndarray, shape (n_points,)
        Entry ``i`` is the mean over tracks at step ``i`` (entry 0 is 0).
    """
    X = check_positions(X)
    d = X - X[:, :1]
    return np.einsum("npd,npd->p", d, d) / X.shape[0]


def _loglog_fit(t: np.ndarray, msd: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``log msd = log(2·dim·D) + alpha·log t`` along the last axis."""
    lt = np.log(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        lm = np.log(msd)
    lt_c = lt - lt.mean()
    alpha = (lm - lm.mean(axis=-1, keepdims=True)) @ lt_c / np.sum(lt_c**2)
    intercept = lm.mean(axis=-1) - alpha * lt.mean()
    return alpha, np.exp(intercept) / (2.0 * dim)


def fit_tamsd_alpha(X, dt: float, lags=None) -> pd.DataFrame:
    """Per-track anomalous exponent and ``Dα`` from a log-log fit of the TAMSD.

    Parameters
    ----------
    X : array_like, shape (n_tracks, n_points, dim)
        Positions in µm.
    dt : float
        Time step in s.
    lags : sequence of int, optional
        Lags in steps (at least two; default :func:`default_lags`).

    Returns
    -------
    pandas.DataFrame
        One row per track: ``alpha`` and ``D`` (µm²/s^alpha), from
        ``log δ²(Δ) = log(2·dim·D) + alpha·log(Δ·dt)``. Tracks with a zero TAMSD give NaN.
    """
    X = check_positions(X)
    dt = check_positive(dt, "dt")
    lags = _check_lags(lags, X.shape[1])
    if len(np.unique(lags)) < 2:
        raise ValueError("fit_tamsd_alpha needs at least two distinct lags (tracks of >= 3 points)")
    msd = tamsd(X, lags)
    alpha, D = _loglog_fit(lags * dt, msd, X.shape[2])
    return pd.DataFrame({"alpha": alpha, "D": D})


def fit_eamsd_alpha(X, dt: float, steps=None) -> MSDFit:
    """Anomalous exponent and ``Dα`` of the ensemble MSD from the start.

    Parameters
    ----------
    X : array_like, shape (n_tracks, n_points, dim)
        Positions in µm.
    dt : float
        Time step in s.
    steps : sequence of int, optional
        Time points (in steps) used in the fit; default all ``1 .. n_points−1``.

    Returns
    -------
    MSDFit
        ``(alpha, D)`` from ``log⟨|r(t)−r(0)|²⟩ = log(2·dim·D) + alpha·log t``.
    """
    X = check_positions(X)
    dt = check_positive(dt, "dt")
    steps = _check_lags(steps if steps is not None else np.arange(1, X.shape[1]), X.shape[1])
    if len(np.unique(steps)) < 2:
        raise ValueError("fit_eamsd_alpha needs at least two distinct time points")
    msd = eamsd(X)[steps]
    alpha, D = _loglog_fit(steps * dt, msd, X.shape[2])
    return MSDFit(float(alpha), float(D))


def measured_msd(
    lag_s,
    D: float,
    alpha: float,
    dt: float,
    *,
    exposure: float = 0.0,
    sigma: float = 0.0,
    dim: int = 2,
) -> np.ndarray:
    """Expected MSD of FBM (BM at ``alpha = 1``) as a camera records it (µm², summed over axes).

    Each recorded position is the mean over the exposure ``t_E`` (motion blur) plus white
    localization noise of standard deviation ``sigma`` per axis, so at lag ``τ > 0``

    ``MSD(τ) = dim · (Dα · Δt^α · [V̄(τ/Δt) − V̄(0)] + 2·sigma²)``

    with ``V̄`` the exposure-averaged variogram (:func:`.measurement.averaged_variogram`,
    ``2 (τ/Δt)^α`` without blur; for BM ``V̄(τ) − V̄(0) = 2(τ − t_E/3)/Δt`` at ``τ >= t_E``). Blur lowers the short-lag MSD, noise raises it: both bend
    the log-log slope away from ``alpha`` (Michalet 2010).

    Parameters
    ----------
    lag_s : array_like
        Lags in s (> 0).
    D : float
        ``Dα`` in µm²/s^alpha.
    alpha : float
        Anomalous exponent in (0, 2).
    dt : float
        Frame period in s.
    exposure : float
        Exposure time in s (``0 <= exposure <= dt``).
    sigma : float
        Localization noise, standard deviation per axis in µm.
    dim : int
        Number of spatial axes.

    Returns
    -------
    ndarray
        The expected MSD at each lag.

    Examples
    --------
    >>> round(float(measured_msd(0.1, D=0.5, alpha=1.0, dt=0.1, dim=2)), 12)  # 2·dim·D·t = 0.2
    0.2
    """
    dt = check_positive(dt, "dt")
    lags = np.asarray(lag_s, dtype=np.float64) / dt
    r = min(max(exposure / dt, 0.0), 1.0)
    # the variance of a difference of two exposure averages: V̄(τ) − V̄(0)
    v = averaged_variogram(alpha, lags, r) - float(averaged_variogram(alpha, np.zeros(1), r)[0])
    return dim * (D * dt**alpha * v + 2.0 * sigma**2)


def ragged_msd(tracks, lags) -> tuple[np.ndarray, np.ndarray]:
    """TAMSD per track and the ensemble MSD from the start, for tracks of different lengths.

    Parameters
    ----------
    tracks : sequence of ndarray, each (n_points, dim)
        Positions in µm on a regular grid (gaps filled or NaN; NaN points are left out).
    lags : sequence of int
        Lags in steps (>= 1).

    Returns
    -------
    tamsd : ndarray, shape (n_tracks, n_lags)
        Time-averaged MSD of each track (NaN where the track is shorter than the lag).
    eamsd : ndarray, shape (n_tracks, n_lags)
        ``|r(t_0 + lag) − r(t_0)|²`` of each track (NaN where it is shorter); its mean over
        tracks is the ensemble MSD.
    """
    lags = np.asarray(lags, dtype=np.int64)
    n = len(tracks)
    t_max = max((len(t) for t in tracks), default=0)
    dim = tracks[0].shape[1] if n else 1
    X = np.full((n, t_max, dim), np.nan)
    for i, t in enumerate(tracks):  # one copy per track into the padded array
        X[i, : len(t)] = t
    ta = np.full((n, len(lags)), np.nan)
    ea = np.full((n, len(lags)), np.nan)
    for j, lag in enumerate(lags):  # vectorized across tracks, one pass per lag
        if lag >= t_max:
            continue
        d = X[:, lag:] - X[:, :-lag]
        sq = np.sum(d * d, axis=2)
        ok = np.isfinite(sq)
        cnt = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ta[:, j] = np.where(cnt > 0, np.where(ok, sq, 0.0).sum(axis=1) / cnt, np.nan)
        ea[:, j] = sq[:, 0]
    return ta, ea
