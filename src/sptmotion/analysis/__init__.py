"""End-to-end analysis: movie or track table -> per-track verdicts -> report folder.

>>> from sptmotion.analysis import analyze_table, analyze_movie, analyze_batch, run_demo
>>> results = analyze_table("tracks.csv", "report/", dt=0.033)          # doctest: +SKIP
>>> results = analyze_movie("movie.tif", "report/", iterations=2000)     # doctest: +SKIP
>>> table = analyze_batch("movies/*.tif", "batch/", workers=8)           # doctest: +SKIP

The stages, one module each::

    movie (TIFF + JSON sidecar)                                          movie
      -> Bayesian tracking (MCMC posterior over positions, D, F, H)      tracking.bayes
      -> modular tracking (trackpy + laptrack), each emitter's own       tracking.modular,
         localizations linked frame to frame                             localizations
      -> likelihood decomposition ln P = initial + emission + motion     likelihood.decompose
    track table (or the tracks above)                                    table, trackset
      -> per track: learned alpha and model probabilities, likelihood    characterize, mle
         fits through the measurement model (blur, localization noise)
      -> results.csv, summary.json, report.html + figures/*.png          write, report, output

:mod:`.inputs` picks the stage by file suffix, :mod:`.batch` runs many inputs on Dask,
:mod:`.pretrained` holds the bundled learned models, :mod:`.demo` the demo movie.
"""

from .batch import analyze_batch, expand_inputs
from .characterize import characterize, likelihood_table
from .demo import demo_movie, run_demo
from .inputs import MOVIE_SUFFIXES, TABLE_SUFFIXES, analyze_path
from .localizations import emitter_localizations
from .movie import MovieOptions, analyze_movie
from .output import COMPLETE_MARKER, is_complete
from .pretrained import LearnedModels, bundled_model_paths, load_models
from .table import analyze_table
from .trackset import TrackSet, modular_trackset

__all__ = [
    "COMPLETE_MARKER",
    "LearnedModels",
    "MOVIE_SUFFIXES",
    "MovieOptions",
    "TABLE_SUFFIXES",
    "TrackSet",
    "analyze_batch",
    "analyze_movie",
    "analyze_path",
    "analyze_table",
    "bundled_model_paths",
    "characterize",
    "demo_movie",
    "emitter_localizations",
    "expand_inputs",
    "is_complete",
    "likelihood_table",
    "load_models",
    "modular_trackset",
    "run_demo",
]
