# ruff: noqa: NPY002  (numba kernels can only use the legacy np.random API, seeded per call)
"""Event-driven (renewal) motion models: CTRW, ATTM and Lévy walks.

These processes are driven by random events (jumps, diffusivity changes, turns) at
power-law distributed times, and then observed at the requested instants. All three are
simulated by numba kernels that loop over the events of every track in one compiled call
(vectorized over tracks: no per-track Python loop). Gaussian parts are drawn afterwards
from the numpy ``Generator`` in one vectorized call.

Randomness: the event times of a call are drawn by numba's generator, seeded from the
``rng`` passed to :meth:`MotionModel.sample`; the same ``rng`` state therefore gives the
same tracks.

Models
------
- :class:`CTRW` — continuous-time random walk (Montroll & Weiss 1965; Metzler & Klafter 2000).
- :class:`ATTM` — annealed transient time model (Massignan et al., PRL 112, 150603, 2014).
- :class:`LW` — Lévy walk (Zaburdaev, Denisov & Klafter, Rev. Mod. Phys. 87, 483, 2015).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit
from scipy.special import gamma as gamma_fn

from .._checks import check_positive, check_range, check_rng
from .base import MotionModel, register_model

__all__ = ["CTRW", "ATTM", "LW", "pareto_times"]


# ----------------------------------------------------------------------------------------
# numba kernels
# ----------------------------------------------------------------------------------------
@njit(cache=True)
def _pareto(exponent, tau0):
    """One Pareto time ``tau0 · U^(−1/exponent)``, U uniform on (0, 1].

    Density ``exponent · tau0^exponent · τ^−(1+exponent)`` for ``τ >= tau0``.
    """
    return tau0 * (1.0 - np.random.random()) ** (-1.0 / exponent)


@njit(cache=True)
def _pareto_kernel(seed, n, exponent, tau0):
    np.random.seed(seed)
    out = np.empty(n)
    for i in range(n):
        out[i] = _pareto(exponent, tau0)
    return out


@njit(cache=True)
def ctrw_counts_kernel(seed, alpha, tau0, times):
    """Number of jumps of each track in each observation interval ``(t_k, t_k+1]``.

    Renewal process started at ``t = 0`` (a renewal at the origin, no aging): the jump epochs
    are partial sums of Pareto waiting times with tail exponent ``alpha[i]`` and scale
    ``tau0``. Jumps at or before ``times[0]`` only move the reference point and are not
    counted.
    """
    np.random.seed(seed)
    n = alpha.shape[0]
    n_int = times.shape[0] - 1
    t_end = times[n_int]
    counts = np.zeros((n, n_int), dtype=np.int64)
    for i in range(n):
        a = alpha[i]
        t = _pareto(a, tau0)
        k = 0
        while t <= t_end:
            if t > times[0]:
                while t > times[k + 1]:
                    k += 1
                counts[i, k] += 1
            t += _pareto(a, tau0)
    return counts


@njit(cache=True)
def _attm_eff_kernel(seed, sigma, gam, tau0, times):
    """``∫ D(s)/D ds`` over each observation interval (s), for each track.

    Sojourns start at ``t = 0``. Sojourn ``j`` has relative diffusivity ``d_j = U^(1/σ)``
    (density ``σ·d^(σ−1)`` on (0, 1]) and duration ``tau0 · d_j^(−γ)``.
    """
    np.random.seed(seed)
    n = sigma.shape[0]
    n_int = times.shape[0] - 1
    eff = np.zeros((n, n_int))
    for i in range(n):
        s, g = sigma[i], gam[i]
        d = (1.0 - np.random.random()) ** (1.0 / s)
        start = 0.0
        end = tau0 * d ** (-g)
        for k in range(n_int):
            a = times[k]
            b = times[k + 1]
            acc = 0.0
            lo = a
            while end < b:
                if end > lo:
                    acc += d * (end - lo)
                    lo = end
                start = end
                d = (1.0 - np.random.random()) ** (1.0 / s)
                end = start + tau0 * d ** (-g)
            acc += d * (b - lo)
            eff[i, k] = acc
    return eff


@njit(cache=True)
def unit_vector(dim, out):
    """Isotropic random unit vector in ``dim`` dimensions written into ``out``."""
    if dim == 1:
        out[0] = 1.0 if np.random.random() < 0.5 else -1.0
    elif dim == 2:
        phi = 2.0 * np.pi * np.random.random()
        out[0] = np.cos(phi)
        out[1] = np.sin(phi)
    else:
        z = 2.0 * np.random.random() - 1.0
        phi = 2.0 * np.pi * np.random.random()
        r = np.sqrt(1.0 - z * z)
        out[0] = r * np.cos(phi)
        out[1] = r * np.sin(phi)
        out[2] = z


@njit(cache=True)
def _lw_kernel(seed, sigma, speed, tau0, times, dim):
    """Positions of Lévy walks observed at ``times``: ``(n, len(times), dim)``.

    Flights start at ``t = 0``; each lasts a Pareto time (tail exponent ``sigma[i]``, scale
    ``tau0``) at constant speed ``speed`` in an isotropic direction; positions between turns
    are linear in time. Positions are relative to the one at ``times[0]``.
    """
    np.random.seed(seed)
    n = sigma.shape[0]
    n_obs = times.shape[0]
    X = np.zeros((n, n_obs, dim))
    u = np.zeros(dim)
    cur = np.zeros(dim)
    for i in range(n):
        s = sigma[i]
        for j in range(dim):
            cur[j] = 0.0
        start = 0.0
        end = _pareto(s, tau0)
        unit_vector(dim, u)
        for k in range(n_obs):
            t = times[k]
            while end < t:
                for j in range(dim):
                    cur[j] += speed * u[j] * (end - start)
                start = end
                end = start + _pareto(s, tau0)
                unit_vector(dim, u)
            for j in range(dim):
                X[i, k, j] = cur[j] + speed * u[j] * (t - start)
        for k in range(n_obs - 1, -1, -1):
            for j in range(dim):
                X[i, k, j] -= X[i, 0, j]
    return X


def kernel_seed(rng: np.random.Generator) -> int:
    """A seed for numba's generator drawn from ``rng`` (so ``rng`` fixes the result)."""
    return int(rng.integers(0, 2**32 - 1))


def pareto_times(
    n: int, exponent: float, tau0: float, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """``n`` Pareto times drawn by the very kernel the samplers use (s).

    Density ``exponent · tau0^exponent · τ^−(1+exponent)`` for ``τ >= tau0``: CTRW waiting times
    (``exponent = alpha``), ATTM sojourns in regime 1 (``exponent = alpha``) and Lévy-walk
    flight times (``exponent = sigma``). Exposed so tests can check the tails.
    """
    rng = check_rng(rng)
    return _pareto_kernel(kernel_seed(rng), int(n), float(exponent), float(tau0))


def _positions_from_increments(inc: np.ndarray) -> np.ndarray:
    n, L, d = inc.shape
    X = np.empty((n, L + 1, d))
    X[:, 0] = 0.0
    np.cumsum(inc, axis=1, out=X[:, 1:])
    return X


# ----------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------
@register_model
class CTRW(MotionModel):
    """Continuous-time random walk with power-law waiting times (subdiffusive, non-ergodic).

    The walker waits a Pareto time ``τ`` with density ``ψ(τ) = α·τ0^α·τ^−(1+α)`` for
    ``τ >= τ0``, then jumps by a Gaussian displacement of variance ``2·D·τ0`` per axis; the
    first waiting period starts at ``t = 0`` (no aging). Positions are observed at the
    requested times (piecewise constant between jumps).

    Parameters
    ----------
    alpha : float
        Anomalous exponent in (0, 1) (tail exponent of the waiting times).
    D : float
        Microscopic diffusion coefficient in µm²/s (> 0): jump variance ``2·D·τ0`` per axis.
    tau0 : float
        Waiting-time scale in s (> 0), the shortest waiting time.

    Notes
    -----
    The mean number of jumps grows as ``<N(t)> ≈ (t/τ0)^α / (Γ(1−α)·Γ(1+α))`` (renewal
    theory, ``t >> τ0``), so the ensemble MSD per axis is
    ``2·Kα·t^α`` with ``Kα = D·τ0^(1−α) / (Γ(1−α)·Γ(1+α))`` (:attr:`K_alpha`, µm²/s^α), while the
    time-averaged MSD of a single track grows linearly in the lag (weak ergodicity breaking;
    He, Burov, Metzler & Barkai, PRL 101, 058101, 2008). The jumps within one observation
    interval are summed exactly: ``n`` Gaussian jumps are one Gaussian of variance
    ``n·2·D·τ0``.

    References
    ----------
    Montroll & Weiss, J. Math. Phys. 6, 167 (1965); Metzler & Klafter, Phys. Rep. 339, 1 (2000).
    """

    name: ClassVar[str] = "ctrw"
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (0.0, 1.0, True, True)
    has_likelihood: ClassVar[bool] = False

    def __init__(self, alpha: float = 0.5, D: float = 1.0, tau0: float = 0.01) -> None:
        self._alpha = check_range(alpha, "alpha", 0.0, 1.0, owner="CTRW")
        self.D = check_positive(D, "CTRW: D (µm²/s)")
        self.tau0 = check_positive(tau0, "CTRW: tau0 (s)")

    @property
    def params(self) -> dict:
        return {"alpha": self.alpha, "D": self.D, "tau0": self.tau0}

    @property
    def K_alpha(self) -> float:
        """Asymptotic generalized diffusion coefficient Kα (µm²/s^α): MSD per axis ``2·Kα·t^α``."""
        a = self._alpha
        return self.D * self.tau0 ** (1 - a) / (gamma_fn(1 - a) * gamma_fn(1 + a))

    def waiting_times(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` waiting times (s) from the sampler's own kernel (density ``∝ τ^−(1+α)``)."""
        return pareto_times(n, self._alpha, self.tau0, rng)

    def jump_counts(self, n_tracks: int, times: np.ndarray, rng) -> np.ndarray:
        """Number of jumps of each track in each interval ``(t_k, t_k+1]``: ``(n_tracks, len(times)-1)``."""
        alpha = np.full(n_tracks, self._alpha)
        return ctrw_counts_kernel(kernel_seed(rng), alpha, self.tau0, np.asarray(times, float))

    def _sample_times(self, n_tracks, times, dim, rng):
        counts = self.jump_counts(n_tracks, times, rng)
        inc = rng.standard_normal((n_tracks, len(times) - 1, dim))
        inc *= np.sqrt(2.0 * self.D * self.tau0 * counts)[:, :, None]
        inc += 0.0  # no -0.0 where there was no jump
        return _positions_from_increments(inc)


@register_model
class ATTM(MotionModel):
    """Annealed transient time model: Brownian motion whose diffusivity is redrawn after each sojourn.

    Sojourn ``j`` has diffusivity ``D_j = D·U^(1/σ)`` (density ``P(D_j) ∝ D_j^(σ−1)`` on
    ``(0, D]``) and lasts ``τ_j = τ0·(D_j/D)^(−γ)``; within a sojourn the motion is Brownian with
    ``D_j``. The first sojourn starts at ``t = 0``.

    Parameters
    ----------
    alpha : float
        Anomalous exponent in (0, 1).
    D : float
        Largest diffusivity in µm²/s (> 0), the scale of the ``D_j``.
    tau0 : float
        Sojourn time scale in s (> 0): the sojourn of a particle with ``D_j = D``.
    sigma : float, optional
        Exponent σ of ``P(D) ∝ D^(σ−1)`` (> 0). Regime 1 (default) needs
        ``σ < α/(1−α)``; default ``min(1, α/(1−α))/2``. Regime 2 needs ``σ < α/(1−α)`` too.
    regime : {1, 2}
        Massignan et al.'s subdiffusive regimes: 1 (``σ < γ < σ+1``, ``γ = σ/α``,
        ``α = σ/γ``) or 2 (``γ > σ+1``, ``γ = 1/(1−α)``, ``α = 1 − 1/γ``).

    Notes
    -----
    Given the diffusivity path, the displacement over an observation interval is Gaussian
    with variance ``2·∫D(s)ds`` per axis, which is how tracks are sampled (exactly, at any
    observation times). The ensemble MSD grows as ``t^α`` for ``t >> τ0``; the time-averaged
    MSD grows linearly in the lag (weak ergodicity breaking). In regime 1 the sojourn times
    are Pareto with tail exponent α (``τ = τ0·U^(−1/α)``). Regime 0 of andi-datasets
    (``γ < σ``) is normal diffusion (α = 1) and is not a subdiffusive ATTM.

    References
    ----------
    Massignan, Manzo, Torreno-Pina, García-Parajo, Lewenstein & Lapeyre, PRL 112, 150603 (2014).
    """

    name: ClassVar[str] = "attm"
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (0.0, 1.0, True, True)
    has_likelihood: ClassVar[bool] = False

    def __init__(
        self,
        alpha: float = 0.5,
        D: float = 1.0,
        tau0: float = 0.01,
        sigma: float | None = None,
        regime: int = 1,
    ) -> None:
        a = check_range(alpha, "alpha", 0.0, 1.0, owner="ATTM")
        self._alpha = a
        self.D = check_positive(D, "ATTM: D (µm²/s)")
        self.tau0 = check_positive(tau0, "ATTM: tau0 (s)")
        if regime not in (1, 2):
            raise ValueError(f"ATTM: regime must be 1 or 2, got {regime!r}")
        self.regime = int(regime)
        s_max = a / (1.0 - a)
        if sigma is None:
            sigma = min(1.0, s_max) / 2.0
        self.sigma = check_range(
            sigma, f"sigma (regime {regime}, alpha={a:g})", 0.0, s_max, owner="ATTM"
        )
        self.gamma = self.sigma / a if self.regime == 1 else 1.0 / (1.0 - a)

    @property
    def params(self) -> dict:
        return {
            "alpha": self.alpha,
            "D": self.D,
            "tau0": self.tau0,
            "sigma": self.sigma,
            "regime": self.regime,
        }

    def effective_times(self, n_tracks: int, times: np.ndarray, rng) -> np.ndarray:
        """``∫ D(s)/D ds`` (s) over each interval of ``times``: ``(n_tracks, len(times)-1)``."""
        sig = np.full(n_tracks, self.sigma)
        gam = np.full(n_tracks, self.gamma)
        return _attm_eff_kernel(kernel_seed(rng), sig, gam, self.tau0, np.asarray(times, float))

    def _sample_times(self, n_tracks, times, dim, rng):
        eff = self.effective_times(n_tracks, times, rng)
        inc = rng.standard_normal((n_tracks, len(times) - 1, dim))
        inc *= np.sqrt(2.0 * self.D * eff)[:, :, None]
        return _positions_from_increments(inc)


@register_model
class LW(MotionModel):
    """Lévy walk: flights at constant speed with power-law durations, isotropic directions.

    Each flight lasts a Pareto time with density ``σ·τ0^σ·τ^−(σ+1)`` (``τ >= τ0``) and moves at
    speed ``v`` in a direction uniform on the unit sphere of ``dim`` dimensions (±1 in 1D);
    positions are continuous and linear in time between turns. The first flight starts at
    ``t = 0``.

    Parameters
    ----------
    alpha : float
        Anomalous exponent in (1, 2]. For ``alpha < 2``, ``σ = 3 − α`` (sub-ballistic
        superdiffusion, ``1 < σ < 2``); ``alpha = 2`` is ballistic and takes any ``σ`` in (0, 1).
    v : float
        Speed in µm/s (> 0).
    tau0 : float
        Flight-time scale in s (> 0), the shortest flight.
    sigma : float, optional
        Tail exponent of the flight times; only for ``alpha = 2`` (default 0.5).

    Notes
    -----
    Ensemble MSD: ``<r²(t)> ≈ (1−σ)·v²·t²`` for ``σ < 1`` and ``∝ v²·τ0^(σ−1)·t^(3−σ)`` for
    ``1 < σ < 2`` (``t >> τ0``; Zaburdaev et al., Rev. Mod. Phys. 87, 483, 2015), so
    ``alpha = 2`` for ``σ < 1`` and ``alpha = 3 − σ`` for ``1 < σ < 2``.
    """

    name: ClassVar[str] = "lw"
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (1.0, 2.0, True, False)
    has_likelihood: ClassVar[bool] = False

    def __init__(
        self, alpha: float = 1.5, v: float = 1.0, tau0: float = 0.01, sigma: float | None = None
    ) -> None:
        a = check_range(alpha, "alpha", 1.0, 2.0, high_open=False, owner="LW")
        self._alpha = a
        self.v = check_positive(v, "LW: v (µm/s)")
        self.tau0 = check_positive(tau0, "LW: tau0 (s)")
        if a == 2.0:
            self.sigma = check_range(
                0.5 if sigma is None else sigma, "sigma (alpha=2)", 0.0, 1.0, owner="LW"
            )
        else:
            if sigma is not None and not np.isclose(sigma, 3.0 - a):
                raise ValueError(
                    f"LW: sigma is fixed to 3 - alpha = {3 - a:g} for alpha < 2, got {sigma!r}"
                )
            self.sigma = 3.0 - a

    @property
    def params(self) -> dict:
        return {"alpha": self.alpha, "v": self.v, "tau0": self.tau0, "sigma": self.sigma}

    def flight_times(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` flight durations (s) from the sampler's own kernel (density ``∝ τ^−(σ+1)``)."""
        return pareto_times(n, self.sigma, self.tau0, rng)

    def _sample_times(self, n_tracks, times, dim, rng):
        sig = np.full(n_tracks, self.sigma)
        return _lw_kernel(kernel_seed(rng), sig, self.v, self.tau0, np.asarray(times, float), dim)
