"""Motion models side by side: the true exponent against maximum likelihood and a TAMSD fit.

Every registered motion model is simulated with a representative exponent and its ``alpha``
estimated by maximum likelihood (the model's own exact MLE where it has one with an ``alpha``
parameter: FBM, SBM; otherwise the FBM MLE used as a generic Gaussian estimator) and by a log-log
fit of each track's time-averaged MSD (lags 1-10 for 100 points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import check_dim, check_int, check_positive
from ..motion import MODELS, fit_tamsd_alpha

__all__ = ["run_motion_demo", "REPRESENTATIVE_PARAMS"]

#: Parameters used for each model in the demo (D in µm²/s or µm²/s^alpha, v in µm/s).
REPRESENTATIVE_PARAMS: dict[str, dict] = {
    "bm": {"D": 1.0},
    "dbm": {"D": 1.0, "v": 1.0},
    "fbm": {"alpha": 0.5, "D": 1.0},
    "sbm": {"alpha": 1.5, "D": 1.0},
    "ctrw": {"alpha": 0.5},
    "attm": {"alpha": 0.5},
    "lw": {"alpha": 1.6},
}


def _demo_model(name: str):
    """Instantiate a registered model with its representative parameters."""
    cls = MODELS[name]
    if name in REPRESENTATIVE_PARAMS:
        return cls(**REPRESENTATIVE_PARAMS[name])
    low, high, _, _ = cls.alpha_range
    return cls() if low == high else cls(alpha=0.5 * (low + high))


def run_motion_demo(
    n_tracks: int = 200,
    n_steps: int = 100,
    dim: int = 2,
    dt: float = 0.03,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Simulate each motion model and estimate its exponent by MLE and by a TAMSD fit.

    Parameters
    ----------
    n_tracks, n_steps : int
        Tracks per model and steps per track.
    dim : {1, 2, 3}
        Spatial dimension.
    dt : float
        Time step in s.
    seed : int, optional
        Seed; model ``i`` (in registry order) uses ``SeedSequence(seed, spawn_key=(i,))``.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``alpha_true``, ``mle_estimator`` (which model's MLE
        gave ``alpha``), ``alpha_mle_mean``/``_std``, ``alpha_tamsd_mean``/``_std`` (over
        tracks; tracks where an estimate is undefined, e.g. a CTRW track that never moves,
        are left out) and ``n_tracks``.
    """
    n_tracks = check_int(n_tracks, "n_tracks", 2)
    n_steps = check_int(n_steps, "n_steps", 10)
    dim = check_dim(dim)
    dt = check_positive(dt, "dt")
    if seed is not None:
        seed = check_int(seed, "seed", 0)
    root = np.random.SeedSequence(seed)
    rows = []
    for i, name in enumerate(MODELS):
        model = _demo_model(name)
        rng = np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(i,)))
        X, _ = model.sample(int(n_tracks), int(n_steps), dim=dim, dt=dt, rng=rng)
        cls = type(model)
        own = cls.has_likelihood and "alpha" in cls.fit_params
        estimator = cls if own else MODELS["fbm"]
        with np.errstate(all="ignore"):
            a_mle = estimator.fit(X, dt=dt)["alpha"].to_numpy()
            a_msd = fit_tamsd_alpha(X, dt=dt)["alpha"].to_numpy()
        a_mle = a_mle[np.isfinite(a_mle)]
        a_msd = a_msd[np.isfinite(a_msd)]
        rows.append(
            {
                "model": name,
                "alpha_true": model.alpha,
                "mle_estimator": estimator.name if own else f"{estimator.name} (generic)",
                "alpha_mle_mean": float(np.mean(a_mle)) if a_mle.size else np.nan,
                "alpha_mle_std": float(np.std(a_mle, ddof=1)) if a_mle.size > 1 else np.nan,
                "alpha_tamsd_mean": float(np.mean(a_msd)) if a_msd.size else np.nan,
                "alpha_tamsd_std": float(np.std(a_msd, ddof=1)) if a_msd.size > 1 else np.nan,
                "n_tracks": int(n_tracks),
            }
        )
    return pd.DataFrame(rows)
