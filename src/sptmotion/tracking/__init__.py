"""Tracking from raw widefield image stacks.

- :func:`track_bayes` (:mod:`.bayes`): Bayesian tracking by MCMC, the posterior of the emitter
  tracks, of D, of the background flux and of the emission rate (:class:`TrackPosterior`).
- :func:`track_modular` (:mod:`.modular`): the conventional detect-localize-link baseline (trackpy
  detection, laptrack linking, optional maximum-likelihood refinement under the camera model).

Both return tables with the columns particle, frame, x, y, z and the bounds x_lo, x_hi, y_lo,
y_hi, z_lo, z_hi (µm) at the requested credible/confidence level.
"""

from .bayes import track_bayes
from .modular import track_modular
from .posterior import TABLE_COLUMNS, TrackPosterior

__all__ = ["track_bayes", "track_modular", "TrackPosterior", "TABLE_COLUMNS"]
