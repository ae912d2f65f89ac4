"""Movie files: a TIFF stack (tifffile) plus a JSON sidecar with every imaging parameter.

``write_movie("movie.tif", movie, setup)`` writes ``movie.tif`` (float32 ADU, one page per
frame, ImageJ-compatible) and ``movie.json`` next to it holding the full :class:`Setup` (optics,
ROI, timing, fluxes, camera), the software version and any extra metadata. ``read_movie``
returns the stack and restores the Setup from the sidecar.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._io import atomic_path
from .setup import Setup

__all__ = ["write_movie", "read_movie", "sidecar_path"]

FORMAT = "sptmotion-movie/1"


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a movie file (same name, suffix ``.json``)."""
    return Path(path).with_suffix(".json")


def write_movie(path: str | os.PathLike, movie, setup: Setup, metadata: dict | None = None) -> Path:
    """Write an ADU stack ``(frames, rows, cols)`` as TIFF plus its JSON sidecar, atomically.

    The pixel values are stored as float32 (exact for integers below 2^24, relative rounding
    6e-8 otherwise).
    """
    import tifffile

    from .. import __version__

    movie = np.asarray(movie)
    if movie.ndim != 3 or movie.shape[1:] != (setup.rows, setup.cols):
        raise ValueError(
            f"movie must have shape (frames, {setup.rows}, {setup.cols}) for this setup, got {movie.shape}"
        )
    p = Path(path)
    meta = {
        "format": FORMAT,
        "software": "sptmotion",
        "version": __version__,
        "n_frames": int(movie.shape[0]),
        "units": {
            "pixels": "ADU",
            "lengths": "µm",
            "times": "s",
            "fluxes": "photons/µm²/s, photons/s",
        },
        "coordinates": "x along columns, y along rows, µm from the outer corner of pixel (0, 0); z µm from focus",
        "setup": setup.to_dict(),
    }
    if metadata:
        meta["metadata"] = metadata
    with atomic_path(p) as tmp:
        tifffile.imwrite(tmp, movie.astype(np.float32), imagej=True, metadata={"axes": "TYX"})
    with atomic_path(sidecar_path(p)) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    return p


def read_movie(path: str | os.PathLike) -> tuple[np.ndarray, Setup, dict]:
    """Read a movie written by :func:`write_movie`.

    Returns
    -------
    movie : ndarray, shape (frames, rows, cols)
        ADU as float64.
    setup : Setup
        The imaging parameters restored from the sidecar.
    meta : dict
        The whole sidecar (version, extra metadata...).
    """
    import tifffile

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"cannot read movie: no such file {p}")
    side = sidecar_path(p)
    if not side.is_file():
        raise ValueError(
            f"movie {p.name} has no JSON sidecar {side.name} with its imaging parameters"
        )
    try:
        movie = np.asarray(tifffile.imread(p), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise ValueError(f"cannot read TIFF {p}: {exc}") from None
    try:
        meta = json.loads(side.read_text())
        setup = Setup.from_dict(meta["setup"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"bad movie sidecar {side}: {exc}") from None
    if movie.ndim == 2:
        movie = movie[None]
    if movie.ndim != 3 or movie.shape[1:] != (setup.rows, setup.cols):
        raise ValueError(
            f"movie {p.name} has shape {movie.shape}, its sidecar says {setup.rows}x{setup.cols}"
        )
    return movie, setup, meta
