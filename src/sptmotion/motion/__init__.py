"""Motion models: sampling, exact likelihoods, maximum-likelihood fits and model selection."""

from .base import MODELS, MotionModel, get_model, register_model

__all__ = ["MODELS", "MotionModel", "get_model", "register_model"]
