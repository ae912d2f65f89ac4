"""One input file, a movie or a track table chosen by its suffix, into a report folder."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..datasets.tables import READ_SUFFIXES, TABLE_SUFFIXES
from .movie import analyze_movie
from .pretrained import LearnedModels
from .table import analyze_table

__all__ = ["TABLE_SUFFIXES", "MOVIE_SUFFIXES", "analyze_path"]


MOVIE_SUFFIXES = (".tif", ".tiff")


def analyze_path(
    path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    dt: float | None = None,
    pixel_size: float | None = None,
    models: LearnedModels | str | os.PathLike | None = None,
    tta_points: int | None = None,
    seed: int = 0,
    figures: bool | str = True,
    sigma_loc: float | str | None = None,
    track_figures=None,
    **movie_options,
) -> pd.DataFrame:
    """Analyze one input file (movie or track table, chosen by suffix) into ``output``.

    ``sigma_loc`` None means ``"auto"`` (estimated per track). ``exposure`` (in
    ``movie_options``) applies to tables too. ``track_figures``: track ids that get their own
    figures (default: the first four). ``tta_points``: the learned models' test-time rotation
    budget (:func:`~sptmotion.analysis.table.analyze_table`).
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"input not found: {p}")
    suffix = p.suffix.lower()
    if suffix in READ_SUFFIXES:
        if dt is None:
            raise ValueError(f"{p.name}: a track table needs --dt (seconds per frame)")
        exposure = movie_options.get("exposure")
        return analyze_table(
            p,
            output,
            dt=dt,
            pixel_size=pixel_size,
            exposure=0.0 if exposure is None else exposure,
            sigma_loc="auto" if sigma_loc is None else sigma_loc,
            models=models,
            tta_points=tta_points,
            seed=seed,
            figures=figures,
            track_figures=track_figures,
        )
    if suffix in MOVIE_SUFFIXES:
        return analyze_movie(
            p,
            output,
            models=models,
            tta_points=tta_points,
            seed=seed,
            dt=dt,
            pixel_size=pixel_size,
            figures=figures,
            sigma_loc="auto" if sigma_loc is None else sigma_loc,
            track_figures=track_figures,
            **movie_options,
        )
    raise ValueError(
        f"{p.name}: unknown input type {suffix!r}; expected a movie ({', '.join(MOVIE_SUFFIXES)}) "
        f"or a track table ({', '.join(READ_SUFFIXES)})"
    )
