"""The decomposed log-probability of a movie and its emitter tracks.

For a movie ``w`` (ADU), the fine-grid positions ``r`` of its emitters (K sub-frame positions per
exposure) and a motion model, the joint log-probability splits into three parts
(Hendrix, Xu & Pressé 2025):

``ln P(w, r) = ln P(r_0)  +  ln P(w | r)  +  ln P(r_1..r_L | r_0, motion)``

- ``initial``: Gaussian prior of each emitter's first position, centred on the ROI centre (z = 0)
  with standard deviations half the ROI width / height in x / y and ``prior_sigma_z`` (0.5 µm,
  about twice the PSF's axial scale z0) in z (only the axes the tracks have);
- ``emission``: the camera log-density of every pixel of every frame given the expected photons
  computed from the positions (:func:`sptmotion.optics.expected_photons`);
- ``motion``: ``motion.log_likelihood`` of the increments on the fine time grid
  (:meth:`sptmotion.optics.Setup.fine_times`), for any model with a likelihood (BM, DBM, FBM, SBM).

The paper's point: the emission part dominates by orders of magnitude (its share
``|emission| / (|emission| + |motion|)`` is > 99 %), so the likelihood of a movie says little
about the motion model unless the emission part is integrated out carefully.

The frame-local API (:func:`frame_loglik`) evaluates a single frame from that frame's
positions only, as an MCMC tracker needs when it proposes new positions for one frame.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .motion.base import MotionModel
from .optics import kernels
from .optics.camera import EMCCDGamma
from .optics.io import check_stack
from .optics.psf import GaussianLorentzianPSF
from .optics.render import check_fine_tracks, expected_from_checked
from .optics.setup import Setup

__all__ = [
    "Decomposition",
    "decompose",
    "emission_loglik",
    "motion_loglik",
    "initial_log_prior",
    "frame_loglik",
]


@dataclass(frozen=True)
class Decomposition:
    """The parts of ``ln P(movie, positions)`` (natural log).

    Attributes
    ----------
    initial : float
        ``ln P(r_0)``, Gaussian prior of the first positions.
    emission : float
        ``ln P(data | positions)``.
    motion : float
        ``ln P(positions | r_0, motion model)``.
    n_frames, n_emitters, subframes : int
        Sizes of the problem.
    """

    initial: float
    emission: float
    motion: float
    n_frames: int = 0
    n_emitters: int = 0
    subframes: int = 1

    @property
    def total(self) -> float:
        """``initial + emission + motion``."""
        return self.initial + self.emission + self.motion

    @property
    def emission_share(self) -> float:
        """``|emission| / (|emission| + |motion|)``."""
        den = abs(self.emission) + abs(self.motion)
        return abs(self.emission) / den if den > 0 else float("nan")

    def to_dict(self) -> dict:
        """All parts plus ``total`` and ``emission_share``."""
        d = asdict(self)
        d["total"] = self.total
        d["emission_share"] = self.emission_share
        return d


def emission_loglik(stack, fine_tracks, setup: Setup, *, allow_outside: bool = False) -> float:
    """``ln P(data | positions)``: the camera log-density summed over all pixels and frames."""
    X = check_fine_tracks(fine_tracks, setup, allow_outside=allow_outside)
    w = check_stack(stack, setup=setup, n_frames=X.shape[1] // setup.subframes)
    return setup.camera.log_pdf_sum(w, expected_from_checked(X, setup))


def _check_times(times, n_points: int) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.shape != (n_points,) or not np.isfinite(t).all() or np.any(np.diff(t) <= 0):
        raise ValueError(
            f"times must be {n_points} finite, strictly increasing instants (s), got shape {t.shape}"
        )
    return t


def _motion_part(
    X: np.ndarray, dims: int, setup: Setup, motion: MotionModel, times: np.ndarray | None = None
) -> float:
    """Sum of ``motion.log_likelihood`` over emitters; NaN points (absent) are left out."""
    if times is None:
        times = setup.fine_times(X.shape[1] // setup.subframes)
    P = X[..., :dims]
    present = np.isfinite(P).all(axis=2)
    total = 0.0
    # emitters with the same presence pattern are evaluated together (usually one group)
    patterns, inverse = np.unique(present, axis=0, return_inverse=True)
    for g, mask in enumerate(patterns):
        if mask.sum() < 2:
            continue
        idx = np.flatnonzero(inverse.ravel() == g)
        t = times[mask]
        total += float(np.sum(motion.log_likelihood(P[idx][:, mask], times=t - t[0])))
    return total


def motion_loglik(fine_tracks, setup: Setup, motion: MotionModel, *, times=None) -> float:
    """``ln P(positions | r_0, motion)`` on the fine time grid of ``setup``.

    Parameters
    ----------
    fine_tracks : array_like (M, N*K, dim)
        Positions in µm (NaN: absent; only the present points of each emitter are used).
    setup : Setup
        Gives the fine time grid (K, exposure, frame period).
    motion : MotionModel
        Any model with a likelihood (``MODELS["bm"](D=...)``, DBM, FBM, SBM).
    times : array_like (N*K,), optional
        Times (s) of the points; default ``setup.fine_times(N)``.
    """
    X = check_fine_tracks(fine_tracks, setup, allow_outside=True)
    dims = np.asarray(fine_tracks).shape[-1]
    t = None if times is None else _check_times(times, X.shape[1])
    return _motion_part(X, dims, setup, _check_motion(motion), t)


def initial_log_prior(
    first_positions, setup: Setup, *, prior_sigma_z: float = 0.5, dims: int | None = None
) -> float:
    """Gaussian log-prior of the emitters' first positions (see the module docstring).

    Parameters
    ----------
    first_positions : array_like, shape (M, dim)
        First position of each emitter (µm, ROI coordinates).
    setup : Setup
        Gives the ROI.
    prior_sigma_z : float
        Standard deviation of the prior along z (µm).
    dims : int, optional
        Number of axes to include (default: all columns of ``first_positions``).
    """
    r0 = np.atleast_2d(np.asarray(first_positions, dtype=float))
    d = r0.shape[1] if dims is None else dims
    w, h = setup.roi_size
    mean = np.array([w / 2, h / 2, 0.0])[:d]
    sd = np.array([w / 2, h / 2, prior_sigma_z])[:d]
    r0 = r0[:, :d]
    ok = np.isfinite(r0).all(axis=1)
    z = (r0[ok] - mean) / sd
    return float(-0.5 * np.sum(z**2) - ok.sum() * np.sum(np.log(sd) + 0.5 * math.log(2 * math.pi)))


def _check_motion(motion) -> MotionModel:
    if not isinstance(motion, MotionModel):
        raise ValueError(
            f"motion must be a MotionModel (e.g. MODELS['bm'](D=0.05)), got {motion!r}"
        )
    if not motion.has_likelihood:
        raise ValueError(f"motion model {motion.name!r} has no tractable likelihood")
    return motion


def decompose(
    stack,
    fine_tracks,
    setup: Setup,
    motion: MotionModel | None = None,
    *,
    prior_sigma_z: float = 0.5,
    allow_outside: bool = False,
    times=None,
) -> Decomposition:
    """Decompose ``ln P(movie, positions)`` into initial, emission and motion parts.

    Parameters
    ----------
    stack : array_like, shape (N, rows, cols)
        The movie in ADU.
    fine_tracks : array_like, shape (M, N*K, 2 or 3)
        Emitter positions (µm, ROI coordinates) at the K = ``setup.subframes`` sub-frame instants.
    setup : Setup
        Imaging parameters (e.g. from :func:`sptmotion.optics.read_movie`).
    motion : MotionModel, optional
        Motion model with a likelihood; default Brownian motion with D = 0.05 µm²/s.
    prior_sigma_z : float
        Standard deviation (µm) of the Gaussian prior of the first z.
    allow_outside : bool
        Accept positions far outside the ROI (see :func:`sptmotion.optics.render.check_fine_tracks`).
    times : array_like (N*K,), optional
        Times (s) of the fine points for the motion part; default ``setup.fine_times(N)`` (K points
        spanning each exposure, then the dead time). Pass the tracks' own times when they were
        sampled on another grid (e.g. ``sptmotion simulate --subframes K`` uses a uniform dt/K).

    Returns
    -------
    Decomposition
        ``.initial``, ``.emission``, ``.motion``, ``.total``, ``.emission_share``.

    Examples
    --------
    >>> from sptmotion import optics, likelihood
    >>> from sptmotion.motion import MODELS
    >>> setup = optics.preset("hendrix2025")
    >>> bm = MODELS["bm"](D=0.05)
    >>> X, t = bm.sample(1, 0, dim=3, rng=0, times=setup.fine_times(50))
    >>> X += [2.1, 2.1, 0.0]
    >>> parts = likelihood.decompose(optics.render(X, setup, rng=1), X, setup, motion=bm)
    >>> parts.emission_share > 0.99
    True
    """
    if motion is None:
        from .motion import MODELS

        motion = MODELS["bm"](D=0.05)
    motion = _check_motion(motion)
    dims = np.asarray(fine_tracks).shape[-1] if np.ndim(fine_tracks) >= 2 else 3
    X = check_fine_tracks(fine_tracks, setup, allow_outside=allow_outside)
    N = X.shape[1] // setup.subframes
    w = check_stack(stack, setup=setup, n_frames=N)
    emission = setup.camera.log_pdf_sum(w, expected_from_checked(X, setup))
    # first present point of each emitter
    present = np.isfinite(X).all(axis=2)
    first = np.where(present.any(axis=1), present.argmax(axis=1), 0)
    r0 = X[np.arange(X.shape[0]), first]
    initial = initial_log_prior(r0, setup, prior_sigma_z=prior_sigma_z, dims=dims)
    t = None if times is None else _check_times(times, X.shape[1])
    mot = _motion_part(X, dims, setup, motion, t)
    return Decomposition(
        initial=initial,
        emission=float(emission),
        motion=mot,
        n_frames=N,
        n_emitters=X.shape[0],
        subframes=setup.subframes,
    )


def frame_loglik(frame, frame_positions, setup: Setup, *, row0: int = 0, col0: int = 0) -> float:
    """Frame-local emission log-likelihood ``ln P(frame | positions of this frame)``.

    Only the pixels of ``frame`` are evaluated, so an MCMC move on the positions of one frame
    costs one call (the rest of the stack is untouched). Uses the same kernels as the renderer.

    Parameters
    ----------
    frame : array_like, shape (rows, cols)
        ADU of one frame, or of a window of it starting at pixel ``(row0, col0)`` of the ROI.
    frame_positions : array_like, shape (M, K, 2 or 3)
        The K sub-frame positions (µm, ROI coordinates) of the M emitters during this exposure.
    setup : Setup
        Imaging parameters.
    row0, col0 : int
        Index of the window's first row / column in the ROI.

    Notes
    -----
    Inside numba code call :func:`sptmotion.optics.kernels.frame_emission_loglik_emccd_gamma`
    (Gamma EMCCD) or :func:`~sptmotion.optics.kernels.expected_photons_frame` followed by a camera
    kernel directly; this wrapper validates and dispatches to them.
    """
    a = np.ascontiguousarray(frame, dtype=np.float64)
    if (
        a.ndim != 2
        or row0 < 0
        or col0 < 0
        or row0 + a.shape[0] > setup.rows
        or col0 + a.shape[1] > setup.cols
    ):
        raise ValueError(
            f"frame must be a 2D window inside the {setup.rows}x{setup.cols} ROI, got shape "
            f"{a.shape} at ({row0}, {col0})"
        )
    P = np.asarray(frame_positions, dtype=np.float64)
    if P.ndim == 2:
        P = P[None]
    K = setup.subframes
    if P.ndim != 3 or P.shape[1] != K or P.shape[2] not in (2, 3):
        raise ValueError(
            f"frame_positions must have shape (emitters, K={K}, 2 or 3), got {P.shape}"
        )
    if P.shape[2] == 2:
        P = np.concatenate([P, np.zeros(P.shape[:2] + (1,))], axis=2)
    cam = setup.camera
    psf = setup.psf
    if not isinstance(psf, GaussianLorentzianPSF):  # any other PSF: its own add_to_stack
        u = np.empty((1,) + a.shape)
        psf.add_to_stack(
            P[..., 0], P[..., 1], P[..., 2], setup.weights, setup.background_photons,
            setup.photons_per_frame, setup.pixel_size, u, origin=(row0, col0),
        )  # fmt: skip
        return cam.log_pdf_sum(a, u[0])
    xs, ys, zs = (np.ascontiguousarray(P[..., i].ravel()) for i in range(3))
    ws = np.tile(setup.weights, P.shape[0])
    sigma0, z0 = psf.kernel_params
    if isinstance(cam, EMCCDGamma):
        if not np.isfinite(a).all() or (a < cam.offset).any():
            raise ValueError("frame has NaN, inf or values below the camera offset")
        return float(
            kernels.frame_emission_loglik_emccd_gamma(
                a, xs, ys, zs, ws, setup.background_photons, setup.photons_per_frame, setup.pixel_size,
                sigma0, z0, int(row0), int(col0), *cam.kernel_params,
            )
        )  # fmt: skip
    u = np.empty_like(a)
    kernels.expected_photons_frame(
        xs, ys, zs, ws, setup.background_photons, setup.photons_per_frame, setup.pixel_size,
        sigma0, z0, int(row0), int(col0), u,
    )  # fmt: skip
    return cam.log_pdf_sum(a, u)
