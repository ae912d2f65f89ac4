"""The Bayesian tracker's chain state and tracking problem as numba-compatible records.

A :class:`State` holds what a chain changes (positions, caches, parameters, proposal scales,
acceptance counters); a :class:`Problem` what every chain shares (the data, the optics, the camera,
the priors); a :class:`Work` the scratch buffers of one sweep. All three are named tuples of arrays
and scalars, which numba passes to jitted functions without copying; each move of
:mod:`sptmotion.tracking.moves` reads ``problem`` and updates ``state`` in place.

``State`` fields (float64 unless noted; ``L = N K`` fine points per emitter):

- ``pos (M, L, 3)``: positions (µm); ``EX (M, L, C)``, ``EY (M, L, R)``, ``WIN (M, L, 4)`` int64:
  pixel-integrated PSF factors and their windows; ``S (N, R, C)``: PSF image per frame;
  ``ll (N,)``: emission log-likelihood per frame (see :mod:`sptmotion.tracking._mcmc_kernels`);
- ``theta = [D, F, H]`` (µm²/s, photons/µm²/s, photons/s); ``psf_par = [sigma0, z0, blur_var]``;
- ``dfac (M,)``: each emitter's diffusion coefficient over ``D`` (emitter m diffuses with
  ``D dfac[m]``; all 1 when ``Problem.dfac_sd`` is 0);
- ``log_scales (N, M, 3)``: log proposal scales of the lateral, axial and single-point moves per
  frame and emitter; ``glob_scales (6,)``: of the F, H, joint D, blur D-walk, per-emitter D walk
  and D-ridge moves;
- ``acc``, ``prop (N_MOVES,)``: accepted and proposed moves per type;
- ``on (M, N)``: 1 where emitter m is present (emits) in frame n, else 0 (all 1 with a known
  number of emitters); ``load (M,)``: 1 for a candidate emitter that belongs to the model
  (Beta-Bernoulli load), 0 for an unused one; ``pres = [k_on, k_off]``: the per-frame
  probabilities of switching on (off -> on) and off (on -> off) of the presence chain.

``Problem`` fields: ``K``; ``adu (N, R, C)``; ``pixel_size`` (µm); ``cw (K,)`` exposure weights;
``area_te`` (µm² s) and ``t_e`` (s) turning F and H into photons; ``cam_code``, ``cam_par``,
``cam_maps`` (:func:`sptmotion.optics.camera.camera_spec`); ``times``, ``dts`` (s) of the fine
points; ``mu0``, ``s0`` (µm): Gaussian prior of the first position; ``d_prior = [a, b]``
(inverse gamma), ``f_prior``, ``h_prior = [log mean, sd]``; ``sample_flags = [D, F, H]``;
``blur_coef`` (s, 0 without the blur-aware emission); ``qband (L, w + 1)`` (K = 1, empty
otherwise); ``ncw (N, K, 3)`` (K >= 2, empty otherwise); ``pres_prior = [a_on, b_on, a_off,
b_off, gamma]``: Beta priors of ``k_on`` and ``k_off`` and the concentration of the loads'
Beta-Bernoulli prior; ``sample_flags[3]``: whether presence and loads are sampled;
``birth_pdf (N, R, C)``, ``birth_cdf (N, R C)``: each frame's pixel probabilities of the
data-driven proposal of unused candidates' positions and their cumulative sums (empty without
presence sampling); ``n_axes``: 3, or 2 for motion in the focal plane (z held at focus, the
motion prior and D over x and y only); ``dfac_sd``: sd of ``ln dfac[m]`` under its normal prior
(each emitter's own D about the region's; 0: one D for all emitters).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["State", "Problem", "Work", "new_work", "GLOB_SCALES_START"]


#: Starting proposal scales of the global moves (F, H, joint D, blur D-walk, per-emitter D walk,
#: D ridge): ``glob_scales`` holds their logs. Every jitted move indexes it; a shorter array would
#: be read out of bounds.
GLOB_SCALES_START = (0.02, 0.05, 0.1, 0.05, 0.1, 0.3)


class State(NamedTuple):
    """What one chain changes (see the module docstring)."""

    pos: np.ndarray
    EX: np.ndarray
    EY: np.ndarray
    WIN: np.ndarray
    S: np.ndarray
    ll: np.ndarray
    theta: np.ndarray
    psf_par: np.ndarray
    log_scales: np.ndarray
    glob_scales: np.ndarray
    acc: np.ndarray
    prop: np.ndarray
    on: np.ndarray
    load: np.ndarray
    pres: np.ndarray
    dfac: np.ndarray


class Problem(NamedTuple):
    """What every chain shares (see the module docstring)."""

    K: int
    adu: np.ndarray
    logw: np.ndarray
    wsum: np.ndarray
    pixel_size: float
    cw: np.ndarray
    area_te: float
    t_e: float
    cam_code: int
    cam_par: np.ndarray
    cam_maps: np.ndarray
    times: np.ndarray
    dts: np.ndarray
    mu0: np.ndarray
    s0: np.ndarray
    d_prior: np.ndarray
    f_prior: np.ndarray
    h_prior: np.ndarray
    sample_flags: np.ndarray
    blur_coef: float
    qband: np.ndarray
    ncw: np.ndarray
    pres_prior: np.ndarray
    birth_pdf: np.ndarray
    birth_cdf: np.ndarray
    n_axes: int
    dfac_sd: float


class Work(NamedTuple):
    """Scratch buffers of a sweep: a frame block's old points and factors, a frame's PSF image
    (``S_new``, valid in the window ``box = [r0, r1, c0, c1]`` that a move changed), the frames'
    log-likelihoods with one emitter on and off (``ll_on``, ``ll_off`` (N,)); and the chain's
    cache of the background-only camera log-densities ``bgll (N, R, C)``, their per-frame sums
    ``bgsum (N,)`` and the background ``bg_at (1,)`` (photons) they hold (NaN: none yet; no
    frames: not used), with which the moves that change every frame (D, H) evaluate only the
    pixels the spots reach (:func:`sptmotion.tracking._mcmc_kernels.frame_loglik`)."""

    old_pts: np.ndarray
    new_pts: np.ndarray
    old_ex: np.ndarray
    old_ey: np.ndarray
    old_win: np.ndarray
    S_new: np.ndarray
    ubuf: np.ndarray
    obuf: np.ndarray
    ll_prop: np.ndarray
    box: np.ndarray
    ll_on: np.ndarray
    ll_off: np.ndarray
    bgll: np.ndarray
    bgsum: np.ndarray
    bg_at: np.ndarray


def new_work(K: int, N: int, R: int, C: int, background_cache: bool = False) -> Work:
    """Scratch buffers for frames of ``R x C`` pixels, ``K`` points per frame, ``N`` frames
    (with ``background_cache``, room for the background-only log-densities of every pixel)."""
    nb = N if background_cache else 0
    return Work(
        old_pts=np.empty((K, 3)),
        new_pts=np.empty((K, 3)),
        old_ex=np.empty((K, C)),
        old_ey=np.empty((K, R)),
        old_win=np.empty((K, 4), dtype=np.int64),
        S_new=np.empty((R, C)),
        ubuf=np.empty((R, C)),
        obuf=np.empty((R, C)),
        ll_prop=np.empty(N),
        box=np.zeros(4, dtype=np.int64),
        ll_on=np.empty(N),
        ll_off=np.empty(N),
        bgll=np.empty((nb, R, C)),
        bgsum=np.empty(nb),
        bg_at=np.full(1, np.nan),
    )
