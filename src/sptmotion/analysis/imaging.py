"""Tables and movies together: render a track table into a movie, decompose a movie's likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._io import check_memory
from ..datasets.tables import table_times, table_to_fine_tracks
from ..optics.camera import EMCCDPGN, SCMOS, EMCCDGamma, get_camera

__all__ = ["render_table", "decompose_table", "track_shift", "camera_for"]


def track_shift(X: np.ndarray, setup, origin: str) -> np.ndarray:
    """Offset (µm) added to the table's x, y so the tracks sit in ROI coordinates."""
    w, h = setup.roi_size
    centre = np.array([w / 2, h / 2] + [0.0] * (X.shape[2] - 2))
    if origin == "roi":
        return np.zeros(X.shape[2])
    if origin == "center":
        return centre
    if origin == "auto":
        with np.errstate(invalid="ignore"):
            outside = (np.nanmin(X[..., 0]) < 0) or (np.nanmin(X[..., 1]) < 0)
        return centre if outside else np.zeros(X.shape[2])
    raise ValueError(f"--origin must be one of auto, roi, center; got {origin!r}")


def camera_for(name: str, base):
    """Camera model ``name`` for rendering, keeping the EMCCD parameters of ``base`` where they apply."""

    name = name.lower()
    if name == "emccd":
        return base if isinstance(base, EMCCDGamma) else EMCCDGamma()
    if name == "emccd-pgn" and isinstance(base, EMCCDGamma):
        return EMCCDPGN(gain=base.gain, conversion=base.conversion, qe=base.qe)
    if name == "scmos":
        return SCMOS()
    return get_camera(name)


def render_table(
    df: pd.DataFrame,
    *,
    preset: str = "hendrix2025",
    camera: str = "emccd",
    seed: int | None = None,
    origin: str = "auto",
    allow_outside: bool = False,
):
    """Render a widefield movie from a track table (positions in µm).

    Parameters
    ----------
    df : DataFrame
        Track table (``particle``, ``frame`` [, ``subframe``], ``x``, ``y`` [, ``z``] [, ``t``]).
    preset : str
        Imaging preset; its ``subframes`` become the table's K.
    camera : str
        Camera model: ``emccd``, ``emccd-pgn`` or ``scmos``.
    seed : int, optional
        Seed of the camera noise.
    origin : {"auto", "roi", "center"}
        Where the table's (0, 0) sits: the ROI corner, its centre, or the centre when any
        x or y is negative.
    allow_outside : bool
        Render emitters far outside the ROI instead of failing.

    Returns
    -------
    movie : ndarray, shape (frames, rows, cols)
        ADU.
    setup : Setup
        The imaging parameters used.
    meta : dict
        ``n_emitters``, ``seed``, ``track_shift_um``, ``preset`` (for the sidecar).
    notes : list of str
        Things the user should know (the table's times differ from the setup's grid).
    """
    from ..optics import preset as get_preset
    from ..optics import render as render_movie

    X, particles, K = table_to_fine_tracks(df)
    if X.shape[2] == 1:  # 1D tracks move along x, at the ROI's middle row
        X = np.concatenate([X, np.zeros_like(X)], axis=2)
    base = get_preset(preset)
    setup = base.replace(subframes=K, camera=camera_for(camera, base.camera))
    check_memory(
        3 * 8.0 * (X.shape[1] // K) * setup.rows * setup.cols,
        f"a movie of {X.shape[1] // K:,} frames of {setup.rows}x{setup.cols} pixels",
    )
    shift = track_shift(X, setup, origin)
    notes = []
    t = table_times(df, X.shape[1], K)
    if t is not None and not np.allclose(
        t, setup.fine_times(X.shape[1] // K), rtol=1e-6, atol=1e-9
    ):
        notes.append(
            f"the table's times differ from the setup's sub-frame grid (frame period "
            f"{setup.frame_period} s, exposure {setup.exposure} s, K = {K}); the K positions of each "
            "frame are rendered as the positions during that frame's exposure"
        )
    movie = render_movie(X + shift, setup, rng=seed, allow_outside=allow_outside)
    meta = {
        "n_emitters": int(len(particles)),
        "seed": seed,
        "track_shift_um": shift.tolist(),
        "preset": preset,
    }
    return movie, setup, meta, notes


def decompose_table(
    movie, df: pd.DataFrame, motion: str, params: dict, *, allow_outside: bool = False
):
    """Decomposed log-likelihood of a movie (TIFF + sidecar) and the positions of a track table.

    Parameters
    ----------
    movie : path
        Movie written by :func:`sptmotion.optics.write_movie` (its sidecar's ``track_shift_um``
        moves the table's positions into ROI coordinates, as :func:`render_table` did).
    df : DataFrame
        Track table of the emitter positions (µm).
    motion : str
        Motion model with a likelihood (``bm``, ``dbm``, ``fbm``, ``sbm``).
    params : dict
        Its parameters (``D`` in µm²/s or µm²/s^alpha, ``alpha``, ``v`` in µm/s).
    allow_outside : bool
        Accept positions far outside the ROI.

    Returns
    -------
    parts : LikelihoodParts
        See :func:`sptmotion.likelihood.decompose`.
    model : MotionModel
        The motion model evaluated.
    times : ndarray or None
        The fine-point times (s) from the table's ``t`` column, or None (the setup's grid).
    """
    from ..likelihood import decompose
    from ..motion import get_model
    from ..optics import read_movie

    stack, setup, meta = read_movie(movie)
    X, _, K = table_to_fine_tracks(df)
    if K != setup.subframes:
        raise ValueError(
            f"the tracks have K={K} subframes but the movie was rendered with K={setup.subframes}"
        )
    shift = np.asarray(
        meta.get("metadata", {}).get("track_shift_um", np.zeros(X.shape[2])), dtype=float
    )
    if shift.shape != (X.shape[2],):
        shift = np.zeros(X.shape[2])
    cls = get_model(motion)
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for motion model {motion!r}: {exc}") from None
    times = table_times(df, X.shape[1], K)
    parts = decompose(
        stack, X + shift, setup, motion=model, allow_outside=allow_outside, times=times
    )
    return parts, model, times
