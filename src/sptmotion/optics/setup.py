"""The imaging setup: optics, region of interest, timing, photon fluxes and camera in one object.

>>> from sptmotion import optics
>>> setup = optics.preset("hendrix2025")
>>> setup.rows, setup.pixel_size, setup.exposure
(32, 0.133, 0.03)
>>> setup2 = setup.replace(subframes=5, emission_rate=3e4)

Timing of the K sub-frame positions
-----------------------------------
Frame ``n`` (0-based) starts at ``n * frame_period`` and the camera integrates during
``exposure`` (t_E), followed by the dead time ``frame_period - exposure``. With K >= 2 the
positions of frame n are taken at ``n * frame_period + k * exposure / (K - 1)``, k = 0..K-1
(the first and last at the start and end of the exposure), and the exposure integral is the
trapezoid rule with weights ``c = [1/2, 1, ..., 1, 1/2] / (K - 1)``. With K = 1 the single
position stands for the whole exposure (emitter static during it); its time is given as
``n * frame_period`` -- the mid-exposure instant ``n * frame_period + exposure/2`` differs by a
constant and gives the same increments, which is all the motion models use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_int, check_positive
from .camera import Camera, EMCCDGamma, camera_from_dict
from .psf import PSF, get_psf

__all__ = ["Setup", "preset", "PRESETS", "trapezoid_weights", "fine_times"]


def trapezoid_weights(K: int) -> np.ndarray:
    """Trapezoid weights ``[1/2, 1, ..., 1, 1/2] / (K-1)`` of K sub-frame positions (``[1]`` for K=1)."""
    K = _check_subframes(K)
    if K == 1:
        return np.ones(1)
    c = np.ones(K)
    c[0] = c[-1] = 0.5
    return c / (K - 1)


def _check_subframes(K) -> int:
    return check_int(K, "subframes K", 1)


def fine_times(n_frames: int, frame_period: float, exposure: float, K: int) -> np.ndarray:
    """Times (s) of the K sub-frame positions of ``n_frames`` frames (see the module docstring)."""
    K = _check_subframes(K)
    n_frames = check_int(n_frames, "n_frames", 1)
    starts = frame_period * np.arange(n_frames)
    if K == 1:
        return starts
    return (starts[:, None] + exposure * np.arange(K)[None, :] / (K - 1)).ravel()


@dataclass(frozen=True)
class Setup:
    """All parameters of the widefield imaging model.

    Attributes
    ----------
    wavelength : float
        Emission wavelength (µm).
    na : float
        Numerical aperture.
    refractive_index : float
        Refractive index of the immersion medium.
    pixel_size : float
        Pixel size in the sample plane, a (µm).
    rows, cols : int
        Size of the region of interest (pixels). Coordinates: ``x`` along columns, ``y`` along rows,
        µm from the outer corner of pixel (0, 0); pixel (i, j) covers ``[j a, (j+1) a)`` in x and
        ``[i a, (i+1) a)`` in y; ``z`` (µm) is 0 in focus.
    frame_period : float
        Time between frame starts (s).
    exposure : float
        Exposure t_E (s), at most the frame period (strictly shorter when K >= 2).
    background_flux : float
        Background photon flux F (photons / µm² / s).
    emission_rate : float
        Photon emission rate H of each emitter reaching the detector (photons / s).
    subframes : int
        Number K of positions per exposure used for motion blur.
    camera : Camera
        Camera noise model (applies the quantum efficiency).
    psf_model : str
        Name of the PSF model in :data:`sptmotion.optics.psf.PSFS`.
    """

    wavelength: float = 0.665
    na: float = 1.45
    refractive_index: float = 1.515
    pixel_size: float = 0.133
    rows: int = 32
    cols: int = 32
    frame_period: float = 0.033
    exposure: float = 0.030
    background_flux: float = 1e5
    emission_rate: float = 1e4
    subframes: int = 10
    camera: Camera = field(default_factory=EMCCDGamma)
    psf_model: str = "gaussian-lorentzian"

    def __post_init__(self) -> None:
        for name in (
            "wavelength",
            "na",
            "refractive_index",
            "pixel_size",
            "frame_period",
            "exposure",
        ):
            object.__setattr__(self, name, check_positive(getattr(self, name), name))
        for name in ("background_flux", "emission_rate"):
            object.__setattr__(
                self, name, check_positive(getattr(self, name), name, allow_zero=True)
            )
        for name in ("rows", "cols"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        object.__setattr__(self, "subframes", _check_subframes(self.subframes))
        if self.exposure > self.frame_period:
            raise ValueError(
                f"exposure {self.exposure} s is longer than the frame period {self.frame_period} s"
            )
        if self.subframes >= 2 and self.exposure >= self.frame_period:
            raise ValueError(
                "with subframes K >= 2 the exposure must be shorter than the frame period "
                f"(dead time > 0), got exposure {self.exposure} s = frame period"
            )
        if not isinstance(self.camera, Camera):
            raise ValueError(f"camera must be a Camera object, got {type(self.camera).__name__}")
        object.__setattr__(self, "_psf", self._make_psf())
        weights = trapezoid_weights(self.subframes)
        weights.flags.writeable = False
        object.__setattr__(self, "_weights", weights)

    def _make_psf(self) -> PSF:
        if self.psf_model == "gaussian-lorentzian":
            return get_psf(
                self.psf_model,
                wavelength=self.wavelength,
                na=self.na,
                refractive_index=self.refractive_index,
            )
        return get_psf(self.psf_model)

    # -- derived quantities ------------------------------------------------------------------
    @property
    def psf(self) -> PSF:
        """The PSF object (one instance per setup)."""
        return self._psf  # type: ignore[attr-defined]

    @property
    def roi_size(self) -> tuple[float, float]:
        """Extent of the ROI ``(width along x, height along y)`` in µm."""
        return self.cols * self.pixel_size, self.rows * self.pixel_size

    @property
    def background_photons(self) -> float:
        """Expected background photons per pixel and frame, ``F a^2 t_E``."""
        return self.background_flux * self.pixel_size**2 * self.exposure

    @property
    def photons_per_frame(self) -> float:
        """Expected photons of one emitter per frame, ``H t_E``."""
        return self.emission_rate * self.exposure

    @property
    def weights(self) -> np.ndarray:
        """Trapezoid weights of the K sub-frame positions (read-only array)."""
        return self._weights  # type: ignore[attr-defined]

    def fine_times(self, n_frames: int) -> np.ndarray:
        """Times (s) of the ``n_frames * K`` fine-grid positions (see the module docstring)."""
        return fine_times(n_frames, self.frame_period, self.exposure, self.subframes)

    def replace(self, **changes) -> Setup:
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # -- serialization ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """All parameters as a JSON-serializable dict (the camera as ``{"name": ..., ...}``)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "camera"}
        d["camera"] = self.camera.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Setup:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown setup parameter(s): {', '.join(sorted(unknown))}")
        if "camera" in d and isinstance(d["camera"], dict):
            d["camera"] = camera_from_dict(d["camera"])
        return cls(**d)


def _hendrix2025() -> Setup:
    """Table 2 of Hendrix, Xu & Pressé (2025): EMCCD, 32x32 ROI of 133 nm pixels, 33 ms frames."""
    return Setup(
        wavelength=0.665,
        na=1.45,
        refractive_index=1.515,
        pixel_size=0.133,
        rows=32,
        cols=32,
        frame_period=0.033,
        exposure=0.030,
        background_flux=1e5,
        emission_rate=1e4,
        subframes=10,
        camera=EMCCDGamma(gain=350.0, conversion=3.5, qe=0.95),
    )


#: Registry of named setups.
PRESETS = {"hendrix2025": _hendrix2025}


def preset(name: str, **changes) -> Setup:
    """A named setup (``"hendrix2025"``), optionally with some parameters changed.

    ``hendrix2025``: F = 1e5 photons/µm²/s, H = 1e4 photons/s, NA 1.45, n 1.515, lambda 665 nm,
    EMCCD Gamma model with G = 350, phi = 3.5 e-/ADU, beta = 0.95, 32x32 pixels of 133 nm,
    frame period 33 ms, exposure 30 ms, K = 10 sub-frame positions.
    """
    key = str(name).lower()
    if key not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    s = PRESETS[key]()
    return s.replace(**changes) if changes else s
