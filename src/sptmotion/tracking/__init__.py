"""Tracking from raw widefield image stacks.

- :func:`track_bayes` (:mod:`.bayes`): Bayesian tracking by MCMC, the posterior of the emitter
  tracks, of D, of the background flux and of the emission rate (:class:`TrackPosterior`).
  With ``n_emitters=None`` the number of emitters and when each is present are sampled too.
- :func:`track_field` (:mod:`.regions`): a full field of view as independent regions, each
  tracked with an unknown number of emitters, in parallel, stitched into one table.
- :func:`track_modular` (:mod:`.modular`): the conventional detect-localize-link baseline (trackpy
  detection, laptrack linking, optional maximum-likelihood refinement under the camera model).
- :func:`calibrate_fisher_variance` (:mod:`.calibrate`): how far the refined localizations'
  Fisher variances are from their actual errors, by simulating the movie's own spots.

Both return tables with the columns particle, frame, x, y, z and the bounds x_lo, x_hi, y_lo,
y_hi, z_lo, z_hi (µm) at the requested credible/confidence level.
"""

from .bayes import track_bayes
from .calibrate import VarianceCalibration, calibrate_fisher_variance, step_diffusion
from .modular import track_modular
from .posterior import TABLE_COLUMNS, TrackPosterior
from .regions import track_field

__all__ = [
    "track_bayes",
    "track_field",
    "track_modular",
    "calibrate_fisher_variance",
    "step_diffusion",
    "VarianceCalibration",
    "TrackPosterior",
    "TABLE_COLUMNS",
]
