"""Rendering: from fine-grid emitter tracks to the expected photons and to an ADU movie.

Expected photons of pixel p in frame n (Hendrix, Xu & Pressé 2025, Eq. for the emission model):

``u[n, p] = F a^2 t_E + H t_E sum_m sum_k c_k PSF_pix(p | r_m(t_{n,k}))``

with background flux F (photons/µm²/s), pixel size a (µm), exposure t_E (s), emission rate H
(photons/s), the K sub-frame positions ``r_m(t_{n,k})`` of each emitter m during the exposure and
the trapezoid weights ``c_k`` (:func:`sptmotion.optics.setup.trapezoid_weights`). The camera then
turns ``u`` into ADU (it applies the quantum efficiency).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._checks import check_rng
from .setup import Setup

__all__ = ["check_fine_tracks", "expected_photons", "render"]


def check_fine_tracks(
    fine_tracks, setup: Setup, *, allow_outside: bool = False, name: str = "fine_tracks"
) -> np.ndarray:
    """Validate fine tracks and return them as float64 ``(M, N*K, 3)`` (z = 0 added for 2D).

    Parameters
    ----------
    fine_tracks : array_like, shape (M, N*K, 2 or 3) or (N*K, 2 or 3)
        Positions (µm, ROI coordinates) of M emitters at the K sub-frame instants of N frames.
        NaN marks an absent emitter (it emits nothing at that instant); inf is an error.
    setup : Setup
        Gives K and the ROI.
    allow_outside : bool
        By default a finite position more than one ROI side length outside the ROI in x or y is
        taken for a coordinate mistake (e.g. pixels instead of µm, or a missing ROI offset) and
        raises ValueError; set True to render such emitters anyway (they contribute no photons).
    """
    try:
        X = np.array(fine_tracks, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a numeric array of shape (emitters, frames*K, 2 or 3)"
        ) from None
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[0] < 1 or X.shape[2] not in (2, 3):
        raise ValueError(f"{name} must have shape (emitters, frames*K, 2 or 3), got {X.shape}")
    K = setup.subframes
    L = X.shape[1]
    if L < K or L % K:
        raise ValueError(
            f"{name} has {L} points per emitter, not a positive multiple of K = {K} subframes"
        )
    if X.shape[2] == 2:
        X = np.concatenate([X, np.zeros(X.shape[:2] + (1,))], axis=2)
    finite = np.isfinite(X)
    all_finite = bool(finite.all())
    if not all_finite:
        if np.isinf(X).any():
            raise ValueError(f"{name} contains inf positions")
        # an emitter absent at an instant has NaN in all axes
        X[~finite.all(axis=2)] = np.nan
    if not allow_outside:
        w, h = setup.roi_size
        xy = X[..., :2]
        if all_finite:
            lo, hi = xy.min(axis=(0, 1)), xy.max(axis=(0, 1))
        else:
            with warnings.catch_warnings():  # an all-NaN (absent) emitter is fine
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanmin(xy, axis=(0, 1)), np.nanmax(xy, axis=(0, 1))
        if lo[0] < -w or lo[1] < -h or hi[0] > 2 * w or hi[1] > 2 * h:
            with np.errstate(invalid="ignore"):
                far = (
                    (X[..., 0] < -w) | (X[..., 0] > 2 * w) | (X[..., 1] < -h) | (X[..., 1] > 2 * h)
                )
            m, p = np.argwhere(far)[0]
            raise ValueError(
                f"{name}: emitter {m} at point {p} is at (x, y) = ({X[m, p, 0]:.3g}, {X[m, p, 1]:.3g}) µm, "
                f"far outside the {w:.3g} x {h:.3g} µm ROI (coordinates are µm from the ROI corner); "
                "pass allow_outside=True to render it anyway"
            )
    return X


def expected_photons(fine_tracks, setup: Setup, *, allow_outside: bool = False) -> np.ndarray:
    """Expected photons per pixel and frame ``u`` (before the quantum efficiency).

    Parameters
    ----------
    fine_tracks : array_like, shape (M, N*K, 2 or 3)
        Emitter positions in µm (see :func:`check_fine_tracks`).
    setup : Setup
        Imaging parameters.

    Returns
    -------
    ndarray, shape (N, rows, cols)
        Expected photons (see the module docstring for the formula).
    """
    X = check_fine_tracks(fine_tracks, setup, allow_outside=allow_outside)
    return expected_from_checked(X, setup)


def expected_from_checked(X: np.ndarray, setup: Setup) -> np.ndarray:
    N = X.shape[1] // setup.subframes
    out = np.empty((N, setup.rows, setup.cols))
    setup.psf.add_to_stack(
        X[..., 0],
        X[..., 1],
        X[..., 2],
        setup.weights,
        setup.background_photons,
        setup.photons_per_frame,
        setup.pixel_size,
        out,
    )
    return out


def render(
    fine_tracks,
    setup: Setup,
    rng: np.random.Generator | int | None = None,
    *,
    allow_outside: bool = False,
    return_expected: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Render a movie of ADU from fine-grid emitter tracks.

    Parameters
    ----------
    fine_tracks : array_like, shape (M, N*K, 2 or 3)
        Positions (µm) of M emitters at the K = ``setup.subframes`` sub-frame instants of each of N
        frames, in the ROI coordinates of :class:`~sptmotion.optics.setup.Setup` (NaN: absent).
    setup : Setup
        Optics, timing, photon fluxes and camera.
    rng : Generator or int, optional
        Randomness of the camera noise.
    allow_outside : bool
        Render emitters far outside the ROI instead of raising (see :func:`check_fine_tracks`).
    return_expected : bool
        Also return the expected photons ``u``.

    Returns
    -------
    movie : ndarray, shape (N, rows, cols)
        ADU (float64).
    u : ndarray, shape (N, rows, cols)
        Expected photons, if ``return_expected``.

    Examples
    --------
    >>> import numpy as np
    >>> from sptmotion import optics
    >>> setup = optics.preset("hendrix2025", subframes=1)
    >>> movie = optics.render(np.full((1, 5, 3), [2.1, 2.1, 0.0]), setup, rng=0)
    >>> movie.shape
    (5, 32, 32)
    """
    rng = check_rng(rng)
    u = expected_photons(fine_tracks, setup, allow_outside=allow_outside)
    movie = setup.camera.sample(u, rng)
    return (movie, u) if return_expected else movie
