"""End-to-end analysis: movie or track table -> per-track verdicts -> report folder.

>>> from sptmotion.analysis import analyze_table, analyze_movie, analyze_batch, run_demo
>>> results = analyze_table("tracks.csv", "report/", dt=0.033)          # doctest: +SKIP
>>> results = analyze_movie("movie.tif", "report/", iterations=2000)     # doctest: +SKIP
>>> table = analyze_batch("movies/*.tif", "batch/", workers=8)           # doctest: +SKIP

See :mod:`.pipeline` (the steps and the posterior-aware verdicts), :mod:`.batch` (Dask),
:mod:`.report` (figures and HTML) and :mod:`.pretrained` (the bundled learned models).
"""

from .batch import analyze_batch, expand_inputs
from .pipeline import (
    COMPLETE_MARKER,
    TrackSet,
    analyze_movie,
    analyze_path,
    analyze_table,
    characterize,
    is_complete,
    run_demo,
)
from .pretrained import LearnedModels, bundled_model_paths, load_models

__all__ = [
    "COMPLETE_MARKER",
    "LearnedModels",
    "TrackSet",
    "analyze_batch",
    "analyze_movie",
    "analyze_path",
    "analyze_table",
    "bundled_model_paths",
    "characterize",
    "expand_inputs",
    "is_complete",
    "load_models",
    "run_demo",
]
