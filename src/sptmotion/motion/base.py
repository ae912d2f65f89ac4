"""Common interface of the motion models and the name registry.

A motion model is an object with its physical parameters fixed at construction (like a
``scipy.stats`` frozen distribution) and the methods

- ``sample(n_tracks, n_steps, dim, dt, rng)`` -> ``(X, t)``: positions ``(n_tracks, n_steps+1, dim)``
  in µm starting at the origin, and the times ``t`` (s) of the points;
- ``log_likelihood(X, dt)`` -> ``(n_tracks,)`` log-density of each track's increments
  (models with a tractable likelihood only);
- ``fit(X, dt)`` (classmethod) -> per-track maximum-likelihood estimates with standard errors
  (a DataFrame), for models with a likelihood.

Models are registered by their short name in :data:`MODELS` (``"bm"``, ``"fbm"``...).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from .._checks import check_dim, check_int, check_positions, check_positive, check_rng

__all__ = ["MotionModel", "MODELS", "register_model", "get_model"]

#: Registry ``{name: class}`` of all motion models.
MODELS: dict[str, type[MotionModel]] = {}


def register_model(cls: type[MotionModel]) -> type[MotionModel]:
    """Class decorator adding a model to :data:`MODELS` under ``cls.name``."""
    MODELS[cls.name] = cls
    return cls


def get_model(name: str) -> type[MotionModel]:
    """Look a model class up by name, with a clear error for unknown names."""
    key = str(name).lower()
    if key not in MODELS:
        raise ValueError(
            f"unknown motion model {name!r}; choose one of {', '.join(sorted(MODELS))}"
        )
    return MODELS[key]


class MotionModel:
    """Base class of the motion models.

    Subclasses set ``name``, ``alpha_range`` (``(low, high, low_open, high_open)``),
    ``has_likelihood`` and implement ``_sample`` (and ``_log_likelihood`` / ``_fit``).
    """

    name: ClassVar[str] = ""
    #: (low, high, low_open, high_open) interval of the anomalous exponent.
    alpha_range: ClassVar[tuple[float, float, bool, bool]] = (1.0, 1.0, False, False)
    has_likelihood: ClassVar[bool] = False
    #: Parameter names of ``fit`` output (estimates, with ``<name>_se`` standard errors).
    fit_params: ClassVar[tuple[str, ...]] = ()

    # -- parameters -----------------------------------------------------------------
    @property
    def alpha(self) -> float:
        """Anomalous exponent of the ensemble MSD (asymptotic for ATTM and LW)."""
        return float(self._alpha)

    @property
    def params(self) -> dict:
        """The constructor parameters of this model."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    # -- sampling -------------------------------------------------------------------
    def sample(
        self,
        n_tracks: int,
        n_steps: int,
        dim: int = 2,
        dt: float = 1.0,
        rng: np.random.Generator | int | None = None,
        *,
        times: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate tracks on the regular time grid ``t = 0, dt, ..., n_steps*dt``.

        With ``times`` (increasing, starting at 0, in s) the tracks are observed at those
        instants instead (``n_steps`` and ``dt`` are then ignored). The imaging layer uses this
        for K sub-frame points within each exposure followed by the camera's dead time.

        Parameters
        ----------
        n_tracks : int
            Number of independent tracks.
        n_steps : int
            Number of steps (each track has ``n_steps + 1`` points, the first at the origin).
        dim : {1, 2, 3}
            Spatial dimension; the axes are independent (isotropic directions for LW).
        dt : float
            Time step in s.
        rng : numpy.random.Generator or int, optional
            Source of randomness (or a seed).
        times : array_like, shape (n_points,), optional
            Observation times in s (first 0, strictly increasing).

        Returns
        -------
        X : ndarray, shape (n_tracks, n_steps + 1, dim)
            Positions in µm.
        t : ndarray, shape (n_steps + 1,)
            Times in s.
        """
        n_tracks = check_int(n_tracks, "n_tracks", 1)
        dim = check_dim(dim)
        rng = check_rng(rng)
        if times is not None:
            times = check_times(times)
            return self._sample_times(n_tracks, times, dim, rng), times
        n_steps = check_int(n_steps, "n_steps", 1)
        dt = check_positive(dt, "dt")
        X = self._sample(n_tracks, n_steps, dim, dt, rng)
        return X, dt * np.arange(n_steps + 1)

    def _sample(self, n_tracks, n_steps, dim, dt, rng) -> np.ndarray:
        """Regular grid (fast path). Default: the general irregular-time sampler."""
        return self._sample_times(n_tracks, dt * np.arange(n_steps + 1), dim, rng)

    def _sample_times(self, n_tracks, times, dim, rng) -> np.ndarray:
        raise NotImplementedError

    # -- likelihood -----------------------------------------------------------------
    def log_likelihood(
        self,
        X,
        dt: float | None = None,
        sigma_loc: float = 0.0,
        *,
        times: np.ndarray | None = None,
        exposure: float = 0.0,
    ) -> np.ndarray:
        """Log-density of each track's increments under this model.

        The first point is conditioned on (the density is that of the increments).

        Parameters
        ----------
        X : array_like, shape (n_tracks, n_points, dim) or (n_points, dim)
            Positions in µm.
        dt : float
            Time step in s (regular grid).
        sigma_loc : float
            Standard deviation (µm) of independent Gaussian localization noise per axis.
        times : array_like, shape (n_points,), optional
            Observation times in s instead of ``dt`` (irregular grid).
        exposure : float
            Camera exposure t_E in s (``0 <= t_E <= dt``): each point is the position averaged
            over ``[n·dt, n·dt + t_E]`` (motion blur; :mod:`sptmotion.motion.measurement`).
            Needs ``dt``; 0 means instantaneous positions.

        Returns
        -------
        ndarray, shape (n_tracks,)
        """
        if not self.has_likelihood:
            raise ValueError(f"motion model {self.name!r} has no tractable likelihood")
        X = check_positions(X)
        sigma_loc = check_positive(sigma_loc, "sigma_loc", allow_zero=True)
        exposure = check_positive(exposure, "exposure (s)", allow_zero=True)
        if exposure > 0:
            if times is not None or dt is None:
                raise ValueError("a likelihood with motion blur (exposure > 0) needs dt, not times")
            return self._log_likelihood_blurred(X, check_positive(dt, "dt"), exposure, sigma_loc)
        if times is not None:
            times = check_times(times)
            if len(times) != X.shape[1]:
                raise ValueError(
                    f"times has {len(times)} entries for tracks of {X.shape[1]} points"
                )
            return self._log_likelihood_times(X, times, sigma_loc)
        if dt is None:
            raise ValueError("log_likelihood needs dt (s) or times")
        dt = check_positive(dt, "dt")
        return self._log_likelihood(X, dt, sigma_loc)

    def _log_likelihood(self, X, dt, sigma_loc) -> np.ndarray:
        """Regular grid (fast path). Default: the general irregular-time likelihood."""
        return self._log_likelihood_times(X, dt * np.arange(X.shape[1]), sigma_loc)

    def _log_likelihood_times(self, X, times, sigma_loc) -> np.ndarray:
        raise NotImplementedError

    def _log_likelihood_blurred(self, X, dt, exposure, sigma_loc) -> np.ndarray:
        raise ValueError(f"motion model {self.name!r} has no likelihood with motion blur")

    @classmethod
    def fit(cls, X, dt: float, sigma_loc: float = 0.0) -> pd.DataFrame:
        """Per-track maximum-likelihood estimates with standard errors.

        Returns a DataFrame with one row per track, columns ``<param>`` and ``<param>_se``
        (observed Fisher information), ``log_likelihood`` and ``n_params``.
        """
        if not cls.has_likelihood:
            raise ValueError(f"motion model {cls.name!r} has no tractable likelihood to fit")
        X = check_positions(X, min_points=3)
        dt = check_positive(dt, "dt")
        sigma_loc = check_positive(sigma_loc, "sigma_loc", allow_zero=True)
        return cls._fit(X, dt, sigma_loc)

    @classmethod
    def _fit(cls, X, dt, sigma_loc) -> pd.DataFrame:
        raise NotImplementedError


def check_times(times) -> np.ndarray:
    """Validate observation times: 1D, finite, first 0, strictly increasing (s)."""
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"times must be a 1D array of at least 2 instants, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or t[0] != 0 or np.any(np.diff(t) <= 0):
        raise ValueError("times must be finite, start at 0 and increase strictly")
    return t
