"""Widefield imaging forward model: PSF, pixel integration, motion blur and camera noise.

>>> from sptmotion import optics
>>> setup = optics.preset("hendrix2025")          # optics + camera + timing, all inspectable
>>> cam = optics.camera.EMCCDGamma(gain=350, conversion=3.5, qe=0.95)
>>> # movie = optics.render(fine_tracks, setup, rng=1)   # fine_tracks: (M, N*K, 3) µm

Coordinates: ``x`` along columns, ``y`` along rows, in µm from the outer corner of pixel (0, 0)
of the region of interest; pixel (i, j) covers ``[j a, (j+1) a) x [i a, (i+1) a)``; ``z`` in µm
from the focal plane. The numba kernels shared with the likelihood and the tracker are in
:mod:`sptmotion.optics.kernels`.
"""

from . import camera, psf
from .camera import CAMERAS, EMCCDPGN, SCMOS, EMCCDGamma, get_camera
from .io import check_stack, load_movie, read_movie, write_movie
from .psf import PSFS, GaussianLorentzianPSF
from .render import expected_photons, render
from .setup import PRESETS, Setup, fine_times, preset, trapezoid_weights

__all__ = [
    "camera",
    "psf",
    "CAMERAS",
    "EMCCDGamma",
    "EMCCDPGN",
    "SCMOS",
    "get_camera",
    "PSFS",
    "GaussianLorentzianPSF",
    "Setup",
    "preset",
    "PRESETS",
    "fine_times",
    "trapezoid_weights",
    "expected_photons",
    "render",
    "read_movie",
    "load_movie",
    "check_stack",
    "write_movie",
]
