"""Representations of tracks for learning: wavelet scalograms, classical features, increments.

A registry maps short names to functions, so learners and the CLI choose a representation
by name (``"wavelet"``, ``"features"``, ``"trajectory"``), like pywt chooses wavelets.

* :func:`wavelet` -- six continuous-wavelet scalograms per coordinate, ``(6*dim, 24, T)``
  (Wang, Zhang, Huang 2025, arXiv 2512.08510);
* :func:`features` -- classical per-axis diffusion features (the paper's feature baseline);
* :func:`trajectory` -- normalized increments for sequence networks.

All accept an array ``(n_tracks, n_points, dim)``, a list of arrays of mixed lengths or a
long-form track table, and need at least 20 points per track.
"""

from ._input import MIN_POINTS
from .features import FEATURE_NAMES, feature_columns, features
from .trajectory import trajectory
from .wavelet import SCALES, WAVELETS, wavelet, wavelet_filters, wavelet_padded

#: Registry: representation name -> function.
REPRESENTATIONS = {"wavelet": wavelet, "features": features, "trajectory": trajectory}

__all__ = [
    "FEATURE_NAMES",
    "MIN_POINTS",
    "REPRESENTATIONS",
    "SCALES",
    "WAVELETS",
    "feature_columns",
    "features",
    "trajectory",
    "wavelet",
    "wavelet_filters",
    "wavelet_padded",
]
