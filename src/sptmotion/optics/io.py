"""Movie files: a TIFF stack (tifffile) plus a JSON sidecar with every imaging parameter.

``write_movie("movie.tif", movie, setup)`` writes ``movie.tif`` (float32 ADU, one page per
frame, ImageJ-compatible) and ``movie.json`` next to it holding the full :class:`Setup` (optics,
ROI, timing, fluxes, camera), the software version and any extra metadata. ``read_movie``
returns the stack and restores the Setup from the sidecar.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from .._io import atomic_path
from .setup import Setup

__all__ = [
    "read_camera_file",
    "write_movie",
    "read_movie",
    "load_movie",
    "check_stack",
    "sidecar_path",
    "tiff_calibration",
]

logger = logging.getLogger("sptmotion")

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
    side = sidecar_path(p)
    if side.is_dir():
        raise ValueError(f"cannot write the movie's sidecar: {side} is a directory")
    if p.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"movie file {p.name} must end in .tif or .tiff (its sidecar is .json)")
    with atomic_path(p) as tmp:  # the pixel size and frame interval also for ImageJ/Fiji
        tifffile.imwrite(
            tmp,
            movie.astype(np.float32),
            imagej=True,
            resolution=(1.0 / setup.pixel_size, 1.0 / setup.pixel_size),
            metadata={"axes": "TYX", "unit": "micron", "finterval": setup.frame_period},
        )
    try:
        with atomic_path(side) as tmp:
            tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    except BaseException:
        p.unlink(missing_ok=True)  # a movie without its sidecar cannot be read back
        raise
    return p


def check_stack(
    stack, name: str = "stack", *, setup: Setup | None = None, n_frames: int | None = None
) -> np.ndarray:
    """Validate an image stack ``(frames, rows, cols)`` of ADU and return it as float64.

    Parameters
    ----------
    stack : array_like
        ADU values.
    name : str
        What to call the stack in messages (e.g. the file name).
    setup : Setup, optional
        When given, the frames must have the setup's ``(rows, cols)``, and a single 2D frame is
        taken as a one-frame stack.
    n_frames : int, optional
        Required number of frames.

    Raises
    ------
    ValueError
        For a non-numeric, boolean or complex dtype, a single 2D image (without ``setup``) or
        another rank, zero frames, frames smaller than 3x3 pixels, a shape that does not match
        ``setup``, a wrong number of frames, and NaN/inf values.
    """
    arr = np.asarray(stack)
    if arr.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold integer or float ADU values, got dtype {arr.dtype}")
    if arr.ndim == 2 and setup is not None:
        arr = arr[None]
    if arr.ndim == 2:
        raise ValueError(
            f"{name} is a single 2D image of shape {arr.shape}, not a stack (frames, rows, cols)"
        )
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must be a stack of shape (frames, rows, cols), got shape {arr.shape}"
        )
    if setup is not None and arr.shape[1:] != (setup.rows, setup.cols):
        raise ValueError(
            f"{name} must have shape (frames, {setup.rows}, {setup.cols}), got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has zero frames")
    if n_frames is not None and arr.shape[0] != n_frames:
        raise ValueError(
            f"{name} has {arr.shape[0]} frames but the tracks cover {n_frames} frames"
            + (f" ({setup.subframes} subframes per frame)" if setup is not None else "")
        )
    if arr.shape[1] < 3 or arr.shape[2] < 3:
        raise ValueError(
            f"{name} frames of shape {arr.shape[1:]} are too small (need >= 3x3 pixels)"
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf ADU values")
    return arr


_UNITS_UM = {
    "micron": 1.0,
    "microns": 1.0,
    "um": 1.0,
    "µm": 1.0,
    "\\u00b5m": 1.0,
    "nm": 1e-3,
    "mm": 1e3,
}
_UNITS_S = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0}


def tiff_calibration(tif) -> dict:
    """Pixel size (µm) and frame interval (s) stored in a TIFF's ImageJ or OME metadata.

    Parameters
    ----------
    tif : tifffile.TiffFile
        The open file.

    Returns
    -------
    dict
        ``pixel_size`` and/or ``frame_period`` where the file states them in a known unit;
        empty when it states neither (or only in pixels).
    """
    out: dict = {}
    if tif.is_ome and tif.ome_metadata:
        import xml.etree.ElementTree as ET

        try:
            root = ET.fromstring(tif.ome_metadata)
        except ET.ParseError:
            root = None
        pixels = (
            next((el for el in root.iter() if el.tag.endswith("Pixels")), None) if root else None
        )
        if pixels is not None:
            size, unit = pixels.get("PhysicalSizeX"), pixels.get("PhysicalSizeXUnit", "µm")
            if size is not None and unit in _UNITS_UM:
                out["pixel_size"] = float(size) * _UNITS_UM[unit]
            step, unit = pixels.get("TimeIncrement"), pixels.get("TimeIncrementUnit", "s")
            if step is not None and unit in _UNITS_S and float(step) > 0:
                out["frame_period"] = float(step) * _UNITS_S[unit]
    elif tif.is_imagej:
        ij = tif.imagej_metadata or {}
        unit = str(ij.get("unit", "")).strip().lower()
        res = tif.pages[0].tags.get("XResolution")
        if res is not None and unit in _UNITS_UM:
            num, den = res.value
            if num > 0 and den > 0:
                out["pixel_size"] = den / num * _UNITS_UM[unit]
        finterval = ij.get("finterval")
        if finterval:
            out["frame_period"] = float(finterval)
    return {k: v for k, v in out.items() if np.isfinite(v) and v > 0}


def load_movie(
    path: str | os.PathLike,
    *,
    preset: str | None = None,
    dt: float | None = None,
    pixel_size: float | None = None,
    exposure: float | None = None,
    camera: str | None = None,
    gain: float | None = None,
    conversion: float | None = None,
    offset: float | None = None,
    read_noise: float | None = None,
    camera_file: str | os.PathLike | None = None,
    na: float | None = None,
    wavelength: float | None = None,
) -> tuple[np.ndarray, Setup, dict]:
    """Read a TIFF movie and its imaging parameters: the JSON sidecar, or a preset plus flags.

    Parameters
    ----------
    path : path
        TIFF stack ``(frames, rows, cols)`` of ADU.
    preset : str, optional
        Name of an optics preset (:func:`sptmotion.optics.preset`) used when the movie has no
        sidecar; required then.
    dt, pixel_size, exposure : float, optional
        Frame period (s), pixel size (µm), exposure (s) replacing the sidecar's or preset's.
    camera : str, optional
        Camera model name replacing the sidecar's (its parameters then from the model's defaults).
    gain, conversion : float, optional
        EM gain and ADU conversion (e-/ADU) replacing the camera's.
    offset, read_noise : float, optional
        ADU offset and read noise (e- rms; ``emccd-pgn``) replacing the camera's.
    camera_file : path, optional
        A camera calibration (:func:`read_camera_file`): JSON ``{"name": ..., parameters}`` or
        NPZ with per-pixel maps (sCMOS ``gain``, ``offset``, ``read_var`` of the frame's shape);
        it replaces the camera; the flags above then change its parameters.
    na, wavelength : float, optional
        Numerical aperture and emission wavelength (µm) replacing the sidecar's or preset's:
        they set the width of the PSF.

    Returns
    -------
    movie : ndarray, shape (frames, rows, cols)
        ADU as float64.
    setup : Setup
        The imaging parameters.
    meta : dict
        The sidecar's content plus ``parameters_from`` (``"sidecar"`` or ``"preset NAME"``) and
        ``overrides`` (the names of the parameters a flag replaced).

    Raises
    ------
    ValueError
        With one line naming the problem: a missing file or sidecar (without a preset), an
        unreadable TIFF, a bad sidecar, or a stack that fails :func:`check_stack`.
    """
    import tifffile

    from .camera import get_camera
    from .setup import preset as get_preset

    p = Path(path)
    if p.is_dir():
        raise ValueError(f"movie {p} is a directory, not a TIFF file")
    if not p.is_file():
        raise ValueError(f"cannot read movie: no such file {p}")
    side = sidecar_path(p)
    meta: dict = {}
    setup = None
    if side.is_file():
        try:
            meta = json.loads(side.read_text())
            cam = meta["setup"]["camera"]
            if not isinstance(cam, dict) or "name" not in cam:
                raise KeyError("setup.camera")
            setup = Setup.from_dict(meta["setup"])
        except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"bad movie sidecar {side.name}: {exc}") from None
        source = "sidecar"
    elif preset is None:
        raise ValueError(
            f"movie {p.name} has no JSON sidecar ({side.name}) with its imaging parameters; give "
            "them with --preset NAME (e.g. hendrix2025) and, where they differ, --dt, "
            "--pixel-size, --exposure, --camera, --gain, --conversion, --na, --wavelength"
        )
    else:
        source = f"preset {preset}"
    try:
        with tifffile.TiffFile(p) as tif:
            raw = np.asarray(tif.asarray())
            calibration = tiff_calibration(tif)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise ValueError(f"cannot read TIFF {p}: {exc}") from None
    if raw.ndim == 2 and meta.get("n_frames") == 1:
        raw = raw[None]  # a one-frame movie reads back as one 2D page
    if raw.ndim != 3:
        check_stack(raw, f"movie {p.name}")  # raises with the reason
    if setup is None:
        setup = get_preset(preset, rows=int(raw.shape[1]), cols=int(raw.shape[2]))
        from_tiff = {k: v for k, v in calibration.items() if k in ("pixel_size", "frame_period")}
        if "frame_period" in from_tiff:  # the preset's exposure / frame period ratio is kept
            from_tiff["exposure"] = setup.exposure * from_tiff["frame_period"] / setup.frame_period
        if from_tiff:
            setup = setup.replace(**from_tiff)
            source += " with the TIFF's " + " and ".join(sorted(calibration))
    movie = check_stack(raw, f"movie {p.name}", setup=setup)
    overrides: dict = {
        k: v
        for k, v in {
            "frame_period": dt,
            "pixel_size": pixel_size,
            "exposure": exposure,
            "na": na,
            "wavelength": wavelength,
        }.items()
        if v is not None
    }
    for key, value in calibration.items():
        used = overrides.get(key, getattr(setup, key))
        if not np.isclose(used, value, rtol=0.01):
            what = "a flag" if key in overrides else source.split(" with")[0]
            logger.warning(
                "%s: the TIFF metadata give %s = %.4g, %s gives %.4g; using %.4g",
                p.name,
                key,
                value,
                what,
                used,
                used,
            )
    cam_changes = {
        k: v
        for k, v in {
            "gain": gain,
            "conversion": conversion,
            "offset": offset,
            "read_noise": read_noise,
        }.items()
        if v is not None
    }
    if camera_file is not None:
        if camera is not None:
            raise ValueError("give the camera as --camera or as --camera-file, not both")
        setup = setup.replace(camera=read_camera_file(camera_file))
        overrides["camera"] = setup.camera
    if camera is not None or cam_changes:
        params = setup.camera.to_dict()
        name = camera or params.pop("name")
        params.pop("name", None)
        if camera is not None and camera != setup.camera.name:
            params = {}
        params.update(cam_changes)
        overrides["camera"] = get_camera(name, **params)
    for attr in ("gain", "offset", "read_var"):
        value = np.asarray(getattr(overrides.get("camera", setup.camera), attr, 0.0))
        if value.ndim == 2 and value.shape != movie.shape[1:]:
            raise ValueError(
                f"the camera's {attr} map is {value.shape[0]} x {value.shape[1]} pixels, the movie "
                f"{p.name} {movie.shape[1]} x {movie.shape[2]}"
            )
    if overrides:
        setup = setup.replace(**overrides)
    meta = {
        "parameters_from": source,
        "overrides": sorted(overrides),
        "tiff_calibration": calibration,
        **meta,
    }
    return movie, setup, meta


def read_camera_file(path: str | os.PathLike):
    """A camera calibration file: JSON ``{"name": "emccd-pgn", "gain": 300, ...}`` or NPZ.

    The NPZ form holds a ``name`` entry and one array per parameter; per-pixel maps (sCMOS
    ``gain``, ``offset``, ``read_var``) have the frame's shape ``(rows, cols)``, scalars are
    0-d arrays. The parameters are the camera model's (:mod:`sptmotion.optics.camera`).
    """
    from .camera import camera_from_dict

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"cannot read camera file: no such file {p}")
    try:
        if p.suffix.lower() == ".json":
            d = json.loads(p.read_text())
        elif p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                d = {k: (z[k].item() if z[k].ndim == 0 else z[k]) for k in z.files}
            d["name"] = str(d.get("name", ""))
        else:
            raise ValueError(f"unknown type {p.suffix!r} (expected .json or .npz)")
        if not isinstance(d, dict):
            raise ValueError("expected an object of camera parameters")
        return camera_from_dict(d)
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"bad camera file {p.name}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"bad camera file {p.name}: {exc}") from None


def read_movie(path: str | os.PathLike) -> tuple[np.ndarray, Setup, dict]:
    """Read a movie written by :func:`write_movie` (:func:`load_movie` without overrides).

    Returns
    -------
    movie : ndarray, shape (frames, rows, cols)
        ADU as float64.
    setup : Setup
        The imaging parameters restored from the sidecar.
    meta : dict
        The whole sidecar (version, extra metadata...).
    """
    movie, setup, meta = load_movie(path)
    meta = {k: v for k, v in meta.items() if k not in ("parameters_from", "overrides")}
    return movie, setup, meta
