"""Motion models: sampling, exact likelihoods, maximum-likelihood fits and model selection.

>>> from sptmotion.motion import MODELS
>>> m = MODELS["fbm"](alpha=0.6, D=0.1)      # D is Dα in µm²/s^alpha
>>> X, t = m.sample(n_tracks=100, n_steps=100, dim=2, dt=0.03, rng=0)
>>> est = MODELS["fbm"].fit(X, dt=0.03)      # per-track MLE (alpha, D) with standard errors
"""

from . import gaussian, jumps  # noqa: F401  (register the models)
from .base import MODELS, MotionModel, get_model, register_model
from .gaussian import BM, DBM, FBM, SBM
from .measured import fit_measured, measured_log_likelihood, select_measured
from .measurement import GAUSSIAN_MODELS, increment_covariance, noise_covariance
from .msd import (
    MSDFit,
    eamsd,
    fit_eamsd_alpha,
    fit_tamsd_alpha,
    measured_msd,
    ragged_msd,
    tamsd,
)
from .select import select

__all__ = [
    "BM",
    "DBM",
    "FBM",
    "GAUSSIAN_MODELS",
    "MODELS",
    "MSDFit",
    "MotionModel",
    "SBM",
    "eamsd",
    "fit_eamsd_alpha",
    "fit_measured",
    "fit_tamsd_alpha",
    "get_model",
    "increment_covariance",
    "measured_log_likelihood",
    "measured_msd",
    "noise_covariance",
    "ragged_msd",
    "register_model",
    "select",
    "select_measured",
    "tamsd",
]
