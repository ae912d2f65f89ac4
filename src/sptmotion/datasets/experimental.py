"""Experimental track loaders: beads in an F-actin network and in glycerol (Granik 2019).

The data are the real 2D trajectories published with N. Granik et al., "Single-particle
diffusion characterization by deep learning", Biophys. J. 117(2), 185-192 (2019)
(repository AnomDiffDB/DB), also used by the wavelet-representation paper (Wang, Zhang,
Huang 2025, arXiv 2512.08510). Positions are in camera pixels and time in frames: the
pixel size and the frame rate are not stored with the data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.io

from .._checks import check_int

__all__ = ["GRANIK2019_FILES", "Segments", "load_granik2019", "segments"]

#: Environment name -> file of the Granik et al. (2019) data set.
GRANIK2019_FILES: dict[str, str] = {
    "actin": "625nm_mesh_size.mat",  # beads in an F-actin network of 625 nm mesh size
    "glycerol": "beads_in_glycerol.mat",  # beads in glycerol (Brownian reference)
}

_ENV_VAR = "SPTMOTION_GRANIK_DIR"
#: First particle id of each environment (ids stay the same whichever subset is loaded).
_PARTICLE_OFFSET = {"actin": 0, "glycerol": 10_000}


def _default_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    dirs = []
    if os.environ.get(_ENV_VAR):
        dirs.append(Path(os.environ[_ENV_VAR]))
    # <repo>/src/sptmotion/datasets/experimental.py -> <repo>/../shared/data/granik2019
    if len(here.parents) > 3:
        dirs.append(here.parents[3].parent / "shared" / "data" / "granik2019")
    dirs.append(Path("/work/shared/data/granik2019"))
    return dirs


def _find_dir(path: str | os.PathLike | None) -> Path:
    if path is not None:
        p = Path(path)
        if not p.is_dir():
            raise FileNotFoundError(f"Granik 2019 data folder not found: {p}")
        return p
    candidates = _default_dirs()
    for p in candidates:
        if p.is_dir() and any((p / f).is_file() for f in GRANIK2019_FILES.values()):
            return p
    raise FileNotFoundError(
        "Granik 2019 data folder not found; pass path=..., or set "
        f"{_ENV_VAR} (looked in: {', '.join(str(c) for c in candidates)})"
    )


def _check_environments(environment) -> list[str]:
    if environment is None:
        return list(GRANIK2019_FILES)
    envs = [environment] if isinstance(environment, str) else list(environment)
    bad = [e for e in envs if e not in GRANIK2019_FILES]
    if bad or not envs:
        raise ValueError(
            f"environment must be one of {', '.join(GRANIK2019_FILES)} (or a list of them, or None "
            f"for all), got {environment!r}"
        )
    return envs


def _read_tr(file: Path) -> np.ndarray:
    try:
        data = scipy.io.loadmat(file)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad input file
        raise ValueError(f"cannot read {file}: {exc}") from None
    tr = np.asarray(data.get("tr", np.empty((0, 0))), dtype=np.float64)
    if tr.ndim != 2 or tr.shape[1] != 3 or tr.shape[0] == 0:
        raise ValueError(f"{file} must hold a variable 'tr' of shape (points, 3): x, y, track id")
    if not np.all(np.isfinite(tr)):
        raise ValueError(f"{file} holds NaN or inf values")
    return tr


def load_granik2019(
    path: str | os.PathLike | None = None,
    environment: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Load the experimental bead trajectories of Granik et al. (2019) as a track table.

    Parameters
    ----------
    path : path, optional
        Folder holding ``625nm_mesh_size.mat`` and ``beads_in_glycerol.mat``. By default
        the environment variable ``SPTMOTION_GRANIK_DIR``, then
        ``<repository>/../shared/data/granik2019``, then ``/work/shared/data/granik2019``.
    environment : {"actin", "glycerol"} or list of them, optional
        Which data to load (default both).

    Returns
    -------
    DataFrame
        Long-form track table, one row per point: ``particle`` (actin tracks 0..866,
        glycerol tracks 10000..13419, whichever subset is loaded), ``frame`` (0-based index within the track),
        ``x``, ``y`` (**camera pixels**; frame rate and pixel size are not stored),
        ``environment`` ("actin": beads in a 625 nm-mesh F-actin network, 867 tracks of
        200-1943 frames; "glycerol": beads in glycerol, 3420 tracks of 2-597 frames) and
        ``source_track`` (the 1-based track id in the file). ``df.attrs["units"]``
        records the units.

    Raises
    ------
    FileNotFoundError
        If the data folder or a requested file is missing.
    ValueError
        For an unknown environment or an unreadable file.

    Examples
    --------
    >>> from sptmotion.datasets import load_granik2019
    >>> df = load_granik2019(environment="actin")  # doctest: +SKIP
    >>> df.groupby("particle").ngroups  # doctest: +SKIP
    867
    """
    envs = _check_environments(environment)
    folder = _find_dir(path)
    order = [e for e in GRANIK2019_FILES if e in envs]
    frames = []
    for env in order:
        file = folder / GRANIK2019_FILES[env]
        if not file.is_file():
            raise FileNotFoundError(f"Granik 2019 file for environment {env!r} not found: {file}")
        tr = _read_tr(file)
        ids = tr[:, 2].astype(np.int64)
        # rows of one track are consecutive and in frame order: number tracks by run
        start = np.r_[True, ids[1:] != ids[:-1]]
        run = np.cumsum(start) - 1
        first = np.flatnonzero(start)
        frame = np.arange(ids.size) - first[run]
        frames.append(
            pd.DataFrame(
                {
                    "particle": run + _PARTICLE_OFFSET[env],
                    "frame": frame,
                    "x": tr[:, 0],
                    "y": tr[:, 1],
                    "environment": pd.Categorical(
                        [env] * ids.size, categories=list(GRANIK2019_FILES)
                    ),
                    "source_track": ids,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.attrs["units"] = {"x": "pixel", "y": "pixel", "frame": "frame (rate not stored)"}
    df.attrs["source"] = "Granik et al. 2019, Biophys. J. 117, 185 (AnomDiffDB/DB)"
    return df


class Segments(NamedTuple):
    """Fixed-length pieces of tracks.

    Attributes
    ----------
    positions : ndarray (n_segments, length, dim)
        Positions (same unit as the table: pixels for :func:`load_granik2019`).
    particle : ndarray (n_segments,)
        Parent track id of each segment.
    environment : ndarray (n_segments,) of str, or None
        The parent's ``environment`` when the table has that column.
    start : ndarray (n_segments,)
        Index of the segment's first point within its parent track.
    """

    positions: np.ndarray
    particle: np.ndarray
    environment: np.ndarray | None
    start: np.ndarray


def segments(table: pd.DataFrame, length: int = 100, step: int | None = None) -> Segments:
    """Cut every track of a table into segments of ``length`` points.

    Parameters
    ----------
    table : DataFrame
        Long-form track table (``particle``, ``frame``, ``x`` [, ``y``, ``z``]; an
        ``environment`` column is carried over to the segments).
    length : int
        Points per segment (>= 2).
    step : int, optional
        Points between the starts of consecutive segments of one track; default
        ``length`` (non-overlapping segments). Tracks shorter than ``length`` give none;
        the leftover points at the end of a track are dropped.

    Returns
    -------
    Segments
        ``(positions, particle, environment, start)``; a named tuple.
    """
    from .tables import AXES, check_table

    length = check_int(length, "length", 2)
    step = check_int(length if step is None else step, "step", 1)
    df = check_table(table)
    axes = [a for a in AXES if a in df.columns]
    pos = df[axes].to_numpy(dtype=np.float64)
    pid = df["particle"].to_numpy()
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
    lens = np.diff(np.r_[starts, pid.size])
    n_seg = np.where(lens >= length, (lens - length) // step + 1, 0)
    total = int(n_seg.sum())
    track = np.repeat(np.arange(starts.size), n_seg)
    k = np.arange(total) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)  # segment number in track
    first = starts[track] + k * step
    rows = first[:, None] + np.arange(length)[None, :]
    env = None
    if "environment" in df.columns:
        env = df["environment"].to_numpy()[starts[track]].astype(str)
    return Segments(
        positions=pos[rows].reshape(total, length, len(axes)),
        particle=pid[starts[track]],
        environment=env,
        start=(k * step).astype(np.int64),
    )
