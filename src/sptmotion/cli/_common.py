"""What every command shares: the quiet/verbose/seed options, logging, the Examples section.

Option values with a fixed set of choices are typed ``Literal[...]`` so that ``--help`` lists the
choices and a wrong value is a usage error (exit 2). Nothing heavy is imported here, so
``sptmotion --help`` stays fast.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

import typer
from typer.core import TyperCommand

__all__ = [
    "MotionModelName",
    "GaussianModelName",
    "CameraName",
    "quiet_option",
    "verbose_option",
    "seed_option",
    "preset_option",
    "camera_option",
    "gain_option",
    "conversion_option",
    "movie_dt_option",
    "offset_option",
    "read_noise_option",
    "camera_file_option",
    "camera_settings",
    "na_option",
    "wavelength_option",
    "pixel_size_option",
    "setup_logging",
    "examples",
    "PlainCommand",
]

#: Registered motion models (``sptmotion.motion.MODELS``; a test keeps the two in step).
MotionModelName = Literal["bm", "dbm", "fbm", "sbm", "ctrw", "attm", "lw"]
#: Motion models with a likelihood.
GaussianModelName = Literal["bm", "dbm", "fbm", "sbm"]
#: Camera models (``sptmotion.optics.CAMERAS``).
CameraName = Literal["emccd", "emccd-pgn", "scmos"]


def quiet_option():
    """``--quiet/-q``: no progress bars or notes, errors only."""
    return typer.Option(False, "--quiet", "-q", help="No progress bars or notes; errors only.")


def verbose_option():
    """``--verbose/-v``: log the steps (INFO) on stderr."""
    return typer.Option(False, "--verbose", "-v", help="Log the steps of the run on stderr.")


def seed_option(help: str = "Random seed (same seed, same result)."):
    """``--seed``: 0 by default in every command."""
    return typer.Option(0, "--seed", min=0, metavar="INT", help=help)


def tta_points_option():
    """``--tta-points``: the learned models' test-time rotation budget (``predict``,
    ``analyze``); None keeps the models' own."""
    return typer.Option(
        None,
        "--tta-points",
        min=1,
        metavar="INT",
        help="Learned models' test-time rotation budget: a track of n points is read in "
        "INT // n rotations (at least 1, at most the model's, 4 by default), outputs "
        "averaged. Default: the model's (bundled models 120: one from 61 points on; wavelet "
        "models from `sptmotion train` 200); 200 reads tracks of up to 100 points twice, alpha "
        "MAE about 0.006 lower there on AnDi tracks for twice the network time.",
    )


def preset_option():
    """``--preset``: optics/camera preset of a movie without sidecar."""
    return typer.Option(
        None,
        "--preset",
        help="Optics/camera preset for a movie without sidecar (e.g. hendrix2025).",
    )


def camera_option():
    """``--camera``: camera model of a movie without sidecar."""
    return typer.Option(None, "--camera", help="Camera model for a movie without sidecar.")


def gain_option():
    """``--gain``: EM gain of a movie without sidecar."""
    return typer.Option(None, "--gain", help="EM gain (movie without sidecar).")


def conversion_option():
    """``--conversion``: e-/ADU of a movie without sidecar."""
    return typer.Option(None, "--conversion", help="e-/ADU (movie without sidecar).")


def offset_option():
    """``--offset``: camera offset in ADU."""
    return typer.Option(None, "--offset", metavar="ADU", help="Camera offset in ADU (movie).")


def read_noise_option():
    """``--read-noise``: read noise in e- rms (emccd-pgn)."""
    return typer.Option(
        None, "--read-noise", metavar="E", help="Read noise, e- rms (emccd-pgn camera; movie)."
    )


def planar_option():
    """``--planar``: motion in the focal plane (Bayesian tracker)."""
    return typer.Option(
        False,
        "--planar",
        help="Particles move in the focal plane (membrane, coverslip): z held at focus, D from "
        "x and y (bayes; the 3D model gives such movers about 0.8 of their D).",
    )


def camera_file_option():
    """``--camera-file``: a camera calibration (JSON, or NPZ with sCMOS maps)."""
    return typer.Option(
        None,
        "--camera-file",
        metavar="PATH",
        help="Camera calibration: JSON {name, parameters} or NPZ with per-pixel sCMOS maps "
        "(gain, offset, read_var).",
    )


def na_option():
    """``--na``: numerical aperture of the objective (sets the PSF width)."""
    return typer.Option(
        None, "--na", metavar="NA", help="Numerical aperture (PSF width ~0.21 lambda/NA; movie)."
    )


def wavelength_option():
    """``--wavelength``: emission wavelength in µm (sets the PSF width)."""
    return typer.Option(
        None, "--wavelength", metavar="µm", help="Emission wavelength in µm (PSF width; movie)."
    )


def camera_settings(
    preset, camera, gain, conversion, offset, read_noise, camera_file, na=None, wavelength=None
) -> dict:
    """The preset, camera and optics flags that ``track`` and ``analyze`` share, by their
    keyword names in :func:`sptmotion.optics.load_movie`."""
    return {
        "na": na,
        "wavelength": wavelength,
        "preset": preset,
        "camera": camera,
        "gain": gain,
        "conversion": conversion,
        "offset": offset,
        "read_noise": read_noise,
        "camera_file": camera_file,
    }


def movie_dt_option(help: str = "Seconds per frame (movies without sidecar or metadata)."):
    """``--dt``: the frame period in s."""
    return typer.Option(None, "--dt", help=help)


def pixel_size_option(help: str = "µm per pixel (movies without sidecar or metadata)."):
    """``--pixel-size``/``--mpp``: µm per pixel."""
    return typer.Option(None, "--pixel-size", "--mpp", help=help)


def setup_logging(quiet: bool, verbose: bool) -> None:
    """Log level of the ``sptmotion`` logger: WARNING, ERROR with ``--quiet``, INFO with ``--verbose``."""
    level = logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING
    logger = logging.getLogger("sptmotion")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger.addHandler(handler)
    for noisy in ("distributed", "distributed.nanny", "distributed.worker", "bokeh", "tornado"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def examples(*lines: str) -> str:
    """An ``Examples`` section for a command's help (kept as written: click's ``\\b``)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


class PlainCommand(TyperCommand):
    """A command whose help shows variadic arguments by their metavar alone (``INPUT...``),
    without typer's ``<list[str]>`` type label."""

    def get_help(self, ctx) -> str:
        return re.sub(r" <list\[\w+\]>", "", super().get_help(ctx))
