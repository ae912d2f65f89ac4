"""Point-spread functions integrated over camera pixels.

The default PSF is the Gaussian-Lorentzian model of widefield single-particle tracking: a
Gaussian whose width grows with the distance from the focal plane like the waist of a Gaussian
beam. Each PSF is a small object with its parameters fixed at construction; new PSF models (e.g.
a tabulated 3D PSF from a bead scan) subclass :class:`PSF` and register in :data:`PSFS`.

Coordinates are those of :mod:`sptmotion.optics.kernels`: ``x`` along columns, ``y`` along rows,
both in µm from the outer corner of pixel (0, 0); pixel ``(i, j)`` covers
``[j a, (j+1) a) x [i a, (i+1) a)``; ``z`` in µm from the focal plane.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from .._checks import check_positive
from . import kernels

__all__ = ["PSF", "GaussianLorentzianPSF", "PSFS", "get_psf", "gaussian_lorentzian_parameters"]


def gaussian_lorentzian_parameters(
    wavelength: float, na: float, refractive_index: float
) -> tuple[float, float]:
    """Width in focus ``sigma0`` and axial scale ``z0`` (both µm) of the Gaussian-Lorentzian PSF.

    Parameters
    ----------
    wavelength : float
        Emission wavelength lambda (µm).
    na : float
        Numerical aperture of the objective (< refractive_index).
    refractive_index : float
        Refractive index n of the immersion medium.

    Returns
    -------
    sigma0, z0 : float
        ``sigma0 = lambda sqrt(b) / (2 pi n)``, ``z0 = lambda b / (pi n)`` with
        ``b = 7 (1 - c^1.5) / (4 - 7 c^1.5 + 3 c^3.5)``, ``c = cos(asin(NA / n))``.

    Notes
    -----
    Gaussian approximation of the widefield PSF (Zhang, Zerubia, Olivo-Marin, Appl. Opt. 46, 1819,
    2007) with the Lorentzian (beam-waist) defocus law used by Hendrix, Xu & Pressé (2025).
    """
    wavelength = check_positive(wavelength, "wavelength")
    na = check_positive(na, "na")
    n = check_positive(refractive_index, "refractive_index")
    if na >= n:
        raise ValueError(
            f"numerical aperture na={na} must be smaller than the refractive index {n}"
        )
    c = math.cos(math.asin(na / n))
    b = 7.0 * (1.0 - c**1.5) / (4.0 - 7.0 * c**1.5 + 3.0 * c**3.5)
    sigma0 = wavelength * math.sqrt(b) / (2.0 * math.pi * n)
    z0 = wavelength * b / (math.pi * n)
    return sigma0, z0


class PSF(ABC):
    """Base class of pixel-integrated point-spread functions.

    A subclass implements :meth:`add_to_stack` (the hot path used by the renderer and the
    likelihood) and :meth:`params`; :meth:`pixel_image` comes for free.
    """

    name: ClassVar[str] = ""

    @property
    @abstractmethod
    def params(self) -> dict:
        """Constructor parameters (JSON-serializable)."""

    @abstractmethod
    def add_to_stack(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        Z: np.ndarray,
        weights: np.ndarray,
        background: float,
        scale: float,
        pixel_size: float,
        out: np.ndarray,
        origin: tuple[int, int] = (0, 0),
    ) -> None:
        """Fill ``out`` (N, rows, cols) with ``background + scale * sum_{m,k} w_k PSF_pix(r_{m,nK+k})``.

        ``X, Y, Z`` are (M, N*K) positions in µm (NaN: absent), ``weights`` the K sub-frame weights,
        ``origin`` the (row, col) index in the ROI of ``out``'s first pixel (for windows).
        """

    def pixel_image(
        self, x: float, y: float, z: float, shape: tuple[int, int], pixel_size: float
    ) -> np.ndarray:
        """Fraction of the photons of a point emitter at ``(x, y, z)`` (µm) collected by each pixel."""
        out = np.zeros((1, int(shape[0]), int(shape[1])))
        pos = np.array([[float(x)]]), np.array([[float(y)]]), np.array([[float(z)]])
        self.add_to_stack(*pos, np.ones(1), 0.0, 1.0, float(pixel_size), out)
        return out[0]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.params == other.params

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params.items()))))


class GaussianLorentzianPSF(PSF):
    """Gaussian PSF with a Lorentzian defocus law, integrated exactly over each pixel.

    ``PSF(x, y | r) = N(x; r_x, sigma(z)^2) N(y; r_y, sigma(z)^2)`` with
    ``sigma(z) = sigma0 sqrt(1 + (z/z0)^2)``; the pixel integral is separable,
    ``PSF_pix(i, j) = [Phi((j+1)a) - Phi(j a)]_x [Phi((i+1)a) - Phi(i a)]_y`` with erf-based normal
    CDFs. See :func:`gaussian_lorentzian_parameters` for ``sigma0`` and ``z0``.

    Parameters
    ----------
    wavelength : float
        Emission wavelength (µm).
    na : float
        Numerical aperture.
    refractive_index : float
        Refractive index of the immersion medium.

    Examples
    --------
    >>> psf = GaussianLorentzianPSF(0.665, 1.45, 1.515)
    >>> round(psf.sigma0, 4), round(psf.z0, 4)
    (0.0989, 0.2801)
    """

    name = "gaussian-lorentzian"

    def __init__(
        self, wavelength: float = 0.665, na: float = 1.45, refractive_index: float = 1.515
    ):
        self.wavelength = float(wavelength)
        self.na = float(na)
        self.refractive_index = float(refractive_index)
        self.sigma0, self.z0 = gaussian_lorentzian_parameters(wavelength, na, refractive_index)

    @property
    def params(self) -> dict:
        return {
            "wavelength": self.wavelength,
            "na": self.na,
            "refractive_index": self.refractive_index,
        }

    @property
    def kernel_params(self) -> tuple[float, float]:
        """``(sigma0, z0)`` in µm: the scalars the numba kernels in ``optics.kernels`` take."""
        return self.sigma0, self.z0

    def sigma(self, z) -> np.ndarray:
        """PSF width sigma(z) in µm for axial positions ``z`` (µm)."""
        z = np.asarray(z, dtype=float)
        return self.sigma0 * np.sqrt(1.0 + (z / self.z0) ** 2)

    def add_to_stack(
        self, X, Y, Z, weights, background, scale, pixel_size, out, origin=(0, 0)
    ) -> None:
        kernels.expected_photons_stack(
            np.ascontiguousarray(X, dtype=np.float64),
            np.ascontiguousarray(Y, dtype=np.float64),
            np.ascontiguousarray(Z, dtype=np.float64),
            np.ascontiguousarray(weights, dtype=np.float64),
            float(background),
            float(scale),
            float(pixel_size),
            self.sigma0,
            self.z0,
            int(origin[0]),
            int(origin[1]),
            out,
        )


#: Registry ``{name: class}`` of the PSF models.
PSFS: dict[str, type[PSF]] = {GaussianLorentzianPSF.name: GaussianLorentzianPSF}


def get_psf(name: str, **params) -> PSF:
    """Build a PSF by its registry name (``"gaussian-lorentzian"``)."""
    key = str(name).lower()
    if key not in PSFS:
        raise ValueError(f"unknown PSF model {name!r}; choose one of {', '.join(sorted(PSFS))}")
    return PSFS[key](**params)
