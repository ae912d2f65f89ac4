"""The moves of the Bayesian tracker's MCMC, one function each, and the sweep that runs them.

Every move reads the shared :class:`~sptmotion.tracking.records.Problem`, updates the chain's
:class:`~sptmotion.tracking.records.State` in place and counts itself in ``state.acc`` /
``state.prop`` under its index in :data:`MOVE_NAMES`:

0. :func:`lateral_block_move`: all K points of one emitter in one frame shifted together in x, y;
1. :func:`axial_block_move`: the same block shifted in z;
2. :func:`bridge_block_move`: the block drawn from the Brownian conditional prior (the bridge
   between the neighbouring frames; with K = 1 the Gaussian conditional of the point given all
   others under the banded prior); the acceptance is the emission ratio only;
3. :func:`z_flip_move`: the sign of z of the block (the PSF depends on ``|z|``: motion prior only);
4. :func:`single_point_move`: one sub-frame point (K > 1);
5. :func:`tail_flip_move`: z -> -z for the whole track from a random frame on;
6, 7. :func:`flux_move`: background flux F, emission rate H (log-scale random walks);
8. :func:`d_move` with the blur-aware emission: Metropolis-Hastings on D (``blur_d_step``);
9. :func:`d_move` with K >= 2: the joint non-centred move of D and the sub-frame path
   (:func:`scale_d_step`): the Gibbs step alone mixes slowly there, because D given the path is
   pinned by the N (K - 1) sub-frame increments, which the images hardly constrain;
10. :func:`d_move` with the blur-aware emission: an adaptive random walk on log D
   (:func:`blur_d_walk`): where the blur carries information on D the independence proposal of
   move 8 is rarely accepted (a few % at 0.1 s exposures), and the walk keeps D mixing;
11. :func:`presence_move` (unknown number of emitters): per candidate emitter, an exact Gibbs
   draw of its load and its on/off sequence over the frames (forward filtering, backward
   sampling), then of the switching probabilities; "accepted" counts the candidates whose
   sequence changed;
12. :func:`tail_swap_move` (unknown number of emitters): two used candidates exchange their
   positions and presence from a random frame on (the emission is unchanged but for the
   blur-aware PSF widths of emitters of different D, so chimeric
   starting tracks, e.g. two particles linked into one by the detector, can be undone);
13. :func:`ghost_jump_move` (unknown number of emitters): an unused candidate's whole path is
   translated by a uniform random vector over the ROI, so that it meets emitters the
   starting tracks missed and the presence move can add them;
14. :func:`ghost_seek_move` (unknown number of emitters): the same translation, chosen so that
   the path passes through a pixel drawn from a fixed map of the data's bright pixels in a
   random frame (a data-driven proposal; its density enters the acceptance);
15. :func:`point_seek_move` (K > 1, unknown number of emitters): one sub-frame point of a
   present emitter moved onto a pixel drawn from the same map of frame n (a streak's far end,
   several pixels from the rest of the block, is out of reach of the Gaussian steps of move 4);
16. :func:`reverse_block_move` (K > 1): the K points of one emitter in one frame in reverse
   order (the streak traversed the other way); the trapezoid weights are symmetric, so the
   image is unchanged and the acceptance is the motion prior ratio;
17, 18. :func:`emitter_d_move` (``Problem.dfac_sd > 0``): each candidate's own D, ``D dfac[m]``:
   for a used candidate a Metropolis-Hastings step with the inverse-gamma conditional of its
   motion part as the proposal (17), then a random walk on ``ln dfac[m]`` (18); an unused
   candidate's factor is drawn from its prior with its path carried along;
19. :func:`d_ridge_move` (``Problem.dfac_sd > 0``): D and every factor moved along the ridge
   ``D c, dfac / c`` that leaves every emitter's D, and so the likelihood, as it is.

With ``dfac_sd > 0`` each emitter diffuses with its own coefficient ``D dfac[m]`` (a region
holds particles of different D); ``ln dfac[m]`` has a normal prior of sd ``dfac_sd``, so that
``D`` is the region's typical D and an unused candidate's D stays within the range of the
used ones'. With ``dfac_sd = 0`` (the default of ``track_bayes``) every factor is 1.
Without the blur-aware emission, D is drawn by its conjugate inverse-gamma Gibbs step. Every
move of D conditions on the used candidates' paths only and carries the unused candidates'
paths along, scaled about their first points (:func:`rescale_ghosts`).
Proposal scales adapt during burn-in (Robbins-Monro towards :data:`TARGET_ACCEPT`).
"""

# numba supports only the legacy np.random API inside jitted code (seeded per sweep by the caller).
# ruff: noqa: NPY002
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..optics.kernels import log_add_exp
from ._mcmc_kernels import (
    background_terms,
    band_cond_draw,
    band_motion_lp,
    band_point_lp,
    band_quad_one,
    band_tail_cross,
    block_motion_lp,
    bridge_draw,
    frame_loglik,
    frame_psf_window,
    grow_window,
    incr_lp,
    init_lp,
    init_state,
    motion_lp,
    point_factors,
    window_loglik,
)

__all__ = [
    "N_MOVES",
    "MOVE_NAMES",
    "TARGET_ACCEPT",
    "sweep",
    "lateral_block_move",
    "axial_block_move",
    "bridge_block_move",
    "z_flip_move",
    "single_point_move",
    "tail_flip_move",
    "d_move",
    "blur_d_step",
    "scale_d_step",
    "blur_d_walk",
    "flux_move",
    "presence_move",
    "tail_swap_move",
    "ghost_jump_move",
    "ghost_seek_move",
    "point_seek_move",
    "reverse_block_move",
    "refresh_background",
    "rescale_ghosts",
    "emitter_d_move",
    "emitter_d_step",
    "emitter_d_walk",
    "ghost_dfac_draw",
    "d_ridge_move",
]

N_MOVES = 20
MOVE_NAMES = (
    "lateral_block",
    "axial_block",
    "bridge_block",
    "z_flip",
    "single_point",
    "tail_flip",
    "background",
    "emission_rate",
    "blur_D",
    "scale_D",
    "blur_D_walk",
    "presence",
    "tail_swap",
    "ghost_jump",
    "ghost_seek",
    "point_seek",
    "reverse_block",
    "emitter_D",
    "emitter_D_walk",
    "D_ridge",
)
TARGET_ACCEPT = 0.3


@njit(cache=True, inline="always")
def _block_lp(state, problem, m, a0, a1):
    """Motion log-prior terms of emitter m that involve the points ``a0 .. a1``."""
    D = state.theta[0] * state.dfac[m]
    if problem.qband.shape[0] > 0:
        return band_point_lp(state.pos, m, a0, problem.qband, D, problem.mu0, problem.s0)
    return block_motion_lp(state.pos, m, a0, a1, problem.dts, D, problem.mu0, problem.s0)


@njit(cache=True, inline="always")
def _save_block(state, work, m, a0, nb):
    for i in range(nb):
        for a in range(3):
            work.old_pts[i, a] = state.pos[m, a0 + i, a]


@njit(cache=True)
def _block_emission(state, problem, work, n, m, a0, nb):
    """Emission log-likelihood of frame n after the block moved (factors updated, old ones saved).

    Only the window of pixels that the block's old and new PSF factors reach changes: its image
    goes to ``work.S_new`` (window ``work.box``; empty when the emitter is absent in frame n and
    the image does not change) and the log-likelihood is updated by the window's difference.
    """
    R = state.S.shape[1]
    C = state.S.shape[2]
    box = work.box
    box[0] = R
    box[1] = 0
    box[2] = C
    box[3] = 0
    for i in range(nb):
        j = a0 + i
        grow_window(box, state.WIN, m, j)
        for c in range(C):
            work.old_ex[i, c] = state.EX[m, j, c]
        for r in range(R):
            work.old_ey[i, r] = state.EY[m, j, r]
        for q in range(4):
            work.old_win[i, q] = state.WIN[m, j, q]
        point_factors(
            state.pos[m, j, 0],
            state.pos[m, j, 1],
            state.pos[m, j, 2],
            problem.pixel_size,
            state.psf_par,
            state.dfac[m],
            state.EX[m, j],
            state.EY[m, j],
            state.WIN[m, j],
        )
        grow_window(box, state.WIN, m, j)
    if state.on[m, n] == 0.0 or box[1] <= box[0] or box[3] <= box[2]:
        box[1] = box[0]  # nothing to copy on acceptance
        return state.ll[n]
    r0, r1, c0, c1 = box[0], box[1], box[2], box[3]
    frame_psf_window(n, problem.K, state.EX, state.EY, state.WIN, problem.cw, state.on,
                     work.S_new, r0, r1, c0, c1)  # fmt: skip
    bg = state.theta[1] * problem.area_te
    h = state.theta[2] * problem.t_e
    old = window_loglik(problem.adu[n], state.S[n], bg, h, problem.cam_code, problem.cam_par,
                        problem.cam_maps, r0, r1, c0, c1, work.ubuf, work.obuf)  # fmt: skip
    new = window_loglik(problem.adu[n], work.S_new, bg, h, problem.cam_code, problem.cam_par,
                        problem.cam_maps, r0, r1, c0, c1, work.ubuf, work.obuf)  # fmt: skip
    return state.ll[n] - old + new


@njit(cache=True, inline="always")
def _settle_block(state, work, move, n, m, a0, nb, log_r, ll_new, psf_changed):
    """Accept (adopt frame n's new image in the changed window) or reject (restore the block);
    return the acceptance."""
    R = state.S.shape[1]
    C = state.S.shape[2]
    state.prop[move] += 1.0
    alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
    if np.random.random() < alpha:
        state.acc[move] += 1.0
        if psf_changed:
            state.ll[n] = ll_new
            for r in range(work.box[0], work.box[1]):
                for c in range(work.box[2], work.box[3]):
                    state.S[n, r, c] = work.S_new[r, c]
    else:
        for i in range(nb):
            for a in range(3):
                state.pos[m, a0 + i, a] = work.old_pts[i, a]
        if psf_changed:
            for i in range(nb):
                for c in range(C):
                    state.EX[m, a0 + i, c] = work.old_ex[i, c]
                for r in range(R):
                    state.EY[m, a0 + i, r] = work.old_ey[i, r]
                for q in range(4):
                    state.WIN[m, a0 + i, q] = work.old_win[i, q]
    return alpha


@njit(cache=True, inline="always")
def _metropolis_block(state, problem, work, move, n, m, a0, a1, lp_old, emission_only):
    """Evaluate a moved block of frame n and accept or reject it; return the acceptance."""
    nb = a1 - a0 + 1
    lp_new = _block_lp(state, problem, m, a0, a1)
    ll_new = _block_emission(state, problem, work, n, m, a0, nb)
    if emission_only:
        log_r = ll_new - state.ll[n]
    else:
        log_r = ll_new - state.ll[n] + lp_new - lp_old
    return _settle_block(state, work, move, n, m, a0, nb, log_r, ll_new, True)


@njit(cache=True, inline="always")
def _begin_block(state, problem, work, n, m):
    """The fine points ``a0 .. a1`` of frame n, their motion terms before the move, saved."""
    K = problem.K
    a0, a1 = n * K, n * K + K - 1
    lp_old = _block_lp(state, problem, m, a0, a1)
    _save_block(state, work, m, a0, K)
    return a0, a1, lp_old


@njit(cache=True)
def lateral_block_move(state, problem, work, n, m, adapt_gain):
    """Move 0: shift the K points of emitter m in frame n by one Gaussian step in x and y."""
    a0, a1, lp_old = _begin_block(state, problem, work, n, m)
    sc = math.exp(state.log_scales[n, m, 0])
    dx = sc * np.random.standard_normal()
    dy = sc * np.random.standard_normal()
    for i in range(problem.K):
        state.pos[m, a0 + i, 0] += dx
        state.pos[m, a0 + i, 1] += dy
    alpha = _metropolis_block(state, problem, work, 0, n, m, a0, a1, lp_old, False)
    if adapt_gain > 0.0:
        state.log_scales[n, m, 0] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def axial_block_move(state, problem, work, n, m, adapt_gain):
    """Move 1: shift the K points of emitter m in frame n by one Gaussian step in z (not for
    motion in the focal plane)."""
    if problem.n_axes < 3:
        return
    a0, a1, lp_old = _begin_block(state, problem, work, n, m)
    dz = math.exp(state.log_scales[n, m, 1]) * np.random.standard_normal()
    for i in range(problem.K):
        state.pos[m, a0 + i, 2] += dz
    alpha = _metropolis_block(state, problem, work, 1, n, m, a0, a1, lp_old, False)
    if adapt_gain > 0.0:
        state.log_scales[n, m, 1] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def bridge_block_move(state, problem, work, n, m):
    """Move 2: draw the block from its conditional motion prior; accept on the emission ratio."""
    a0, a1, lp_old = _begin_block(state, problem, work, n, m)
    D = state.theta[0] * state.dfac[m]
    mpos = state.pos[:, :, : problem.n_axes]  # planar motion: z stays in focus
    if problem.qband.shape[0] > 0:
        band_cond_draw(mpos, m, a0, problem.qband, D, problem.mu0, problem.s0, work.new_pts)
    else:
        bridge_draw(mpos, m, a0, a1, problem.times, D, problem.mu0, problem.s0, work.new_pts)
    for i in range(problem.K):
        for a in range(problem.n_axes):
            state.pos[m, a0 + i, a] = work.new_pts[i, a]
    _metropolis_block(state, problem, work, 2, n, m, a0, a1, lp_old, True)


@njit(cache=True)
def z_flip_move(state, problem, work, n, m):
    """Move 3: flip the sign of z of the block; ``|z|`` and so the PSF are unchanged, the
    emission term cancels exactly."""
    a0, a1, lp_old = _begin_block(state, problem, work, n, m)
    for i in range(problem.K):
        state.pos[m, a0 + i, 2] = -state.pos[m, a0 + i, 2]
    lp_new = _block_lp(state, problem, m, a0, a1)
    _settle_block(state, work, 3, n, m, a0, problem.K, lp_new - lp_old, state.ll[n], False)


@njit(cache=True)
def single_point_move(state, problem, work, n, m, adapt_gain):
    """Move 4 (K > 1): a Gaussian step of one random sub-frame point of emitter m in frame n."""
    a0 = n * problem.K + np.random.randint(0, problem.K)
    lp_old = _block_lp(state, problem, m, a0, a0)
    _save_block(state, work, m, a0, 1)
    sc = math.exp(state.log_scales[n, m, 2])
    for a in range(problem.n_axes):
        state.pos[m, a0, a] += sc * np.random.standard_normal()
    alpha = _metropolis_block(state, problem, work, 4, n, m, a0, a0, lp_old, False)
    if adapt_gain > 0.0:
        state.log_scales[n, m, 2] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def point_seek_move(state, problem, work, n, m):
    """Move 15 (K > 1, unknown number of emitters): one random sub-frame point of present
    emitter m in frame n moved onto a uniform point of a pixel drawn from ``birth_pdf[n]``.

    An independence proposal from a fixed map of the data (:func:`_birth_density`): ``log
    alpha`` adds ``ln birth_pdf[n](old) - ln birth_pdf[n](new)`` to the emission and motion
    ratios; z is kept. An old point outside the ROI cannot be drawn back: no move.
    """
    N = problem.birth_pdf.shape[0]
    if N == 0 or state.on[m, n] == 0.0:
        return
    a = problem.pixel_size
    a0 = n * problem.K + np.random.randint(0, problem.K)
    g_old = _birth_density(problem, n, state.pos[m, a0, 0], state.pos[m, a0, 1])
    if g_old <= 0.0:
        return
    r, c = _draw_birth_pixel(problem, n)
    g_new = problem.birth_pdf[n, r, c]
    lp_old = _block_lp(state, problem, m, a0, a0)
    _save_block(state, work, m, a0, 1)
    state.pos[m, a0, 0] = (c + np.random.random()) * a
    state.pos[m, a0, 1] = (r + np.random.random()) * a
    lp_new = _block_lp(state, problem, m, a0, a0)
    ll_new = _block_emission(state, problem, work, n, m, a0, 1)
    log_r = ll_new - state.ll[n] + lp_new - lp_old + math.log(g_old) - math.log(g_new)
    _settle_block(state, work, 15, n, m, a0, 1, log_r, ll_new, True)


@njit(cache=True, inline="always")
def _swap_factors(state, m1, j1, m2, j2):
    """Exchange the PSF factors and windows of point j1 of emitter m1 and point j2 of m2."""
    for c in range(state.EX.shape[2]):
        t = state.EX[m1, j1, c]
        state.EX[m1, j1, c] = state.EX[m2, j2, c]
        state.EX[m2, j2, c] = t
    for r in range(state.EY.shape[2]):
        t = state.EY[m1, j1, r]
        state.EY[m1, j1, r] = state.EY[m2, j2, r]
        state.EY[m2, j2, r] = t
    for q in range(4):
        t = state.WIN[m1, j1, q]
        state.WIN[m1, j1, q] = state.WIN[m2, j2, q]
        state.WIN[m2, j2, q] = t


@njit(cache=True)
def reverse_block_move(state, problem, work, n, m):
    """Move 16 (K > 1): the K points of emitter m in frame n in reverse order. The sub-frame
    weights are symmetric (trapezoid), so frame n's image is the same and only the motion prior
    enters the acceptance; the PSF factors are swapped with the points."""
    a0, a1, lp_old = _begin_block(state, problem, work, n, m)
    K = problem.K
    for i in range(K):
        for a in range(3):
            state.pos[m, a0 + i, a] = work.old_pts[K - 1 - i, a]
    lp_new = _block_lp(state, problem, m, a0, a1)
    state.prop[16] += 1.0
    log_r = lp_new - lp_old
    if log_r >= 0.0 or np.random.random() < math.exp(log_r):
        state.acc[16] += 1.0
        for i in range(K // 2):
            _swap_factors(state, m, a0 + i, m, a1 - i)
    else:
        for i in range(K):
            for a in range(3):
                state.pos[m, a0 + i, a] = work.old_pts[i, a]


@njit(cache=True)
def _tail_lp(state, problem, m, j0):
    """The motion terms that couple the points before and after ``j0`` (or the initial prior)."""
    if j0 == 0:
        return init_lp(state.pos, m, problem.mu0, problem.s0)
    if problem.qband.shape[0] > 0:
        # -z^T Q z / (4 D): the cross terms 2 C between the two parts change sign
        D = state.theta[0] * state.dfac[m]
        return -2.0 * band_tail_cross(state.pos, m, j0, problem.qband) / (4.0 * D)
    return incr_lp(state.pos, m, j0 - 1, problem.dts, state.theta[0] * state.dfac[m])


@njit(cache=True)
def tail_flip_move(state, problem, m):
    """Move 5: z -> -z for every point of emitter m from a random frame on."""
    L = state.pos.shape[1]
    j0 = np.random.randint(0, L // problem.K) * problem.K
    lp_old = _tail_lp(state, problem, m, j0)
    for j in range(j0, L):
        state.pos[m, j, 2] = -state.pos[m, j, 2]
    lp_new = _tail_lp(state, problem, m, j0)
    state.prop[5] += 1.0
    if np.random.random() < math.exp(min(0.0, lp_new - lp_old)):
        state.acc[5] += 1.0
    else:
        for j in range(j0, L):
            state.pos[m, j, 2] = -state.pos[m, j, 2]


@njit(cache=True)
def refresh_background(state, problem, work):
    """Recompute the chain's background-only log-densities (``work.bgll``) if the background
    changed since (cameras other than the EMCCD Gamma; a full pass over the stack, once per
    accepted F move at most)."""
    bg = state.theta[1] * problem.area_te
    if work.bgll.shape[0] > 0 and work.bg_at[0] != bg:
        background_terms(problem.adu, bg, problem.cam_code, problem.cam_par, problem.cam_maps,
                         work.bgll, work.bgsum, work.bg_at, work.ubuf, work.obuf)  # fmt: skip


@njit(cache=True)
def _stack_proposal(state, problem, work, pos, psf_par):
    """Whole-stack caches ``(EX, EY, WIN, S, ll)`` for positions ``pos`` and PSF parameters
    ``psf_par`` (fresh arrays), and the emission log-likelihood ratio to the chain's: what a move
    that changes every frame (the D moves) evaluates, over the pixels the spots reach
    (:func:`refresh_background`)."""
    refresh_background(state, problem, work)
    M = pos.shape[0]
    L = pos.shape[1]
    N, R, C = problem.adu.shape
    EX = np.empty((M, L, C))
    EY = np.empty((M, L, R))
    WIN = np.empty((M, L, 4), dtype=np.int64)
    S = np.empty((N, R, C))
    ll_new = np.empty(N)
    init_state(
        pos,
        problem.K,
        problem.pixel_size,
        psf_par,
        state.dfac,
        problem.cw,
        state.on,
        problem.adu,
        problem.logw,
        problem.wsum,
        state.theta[1] * problem.area_te,
        state.theta[2] * problem.t_e,
        problem.cam_code,
        problem.cam_par,
        problem.cam_maps,
        EX,
        EY,
        WIN,
        S,
        ll_new,
        work.bgll,
        work.bgsum,
        work.bg_at,
    )
    log_r = 0.0
    for n in range(N):
        log_r += ll_new[n] - state.ll[n]
    return EX, EY, WIN, S, ll_new, log_r


@njit(cache=True)
def _adopt_stack(state, new):
    """Copy the caches of an accepted :func:`_stack_proposal` into the chain's."""
    state.EX[...] = new[0]
    state.EY[...] = new[1]
    state.WIN[...] = new[2]
    state.S[...] = new[3]
    state.ll[...] = new[4]


@njit(cache=True)
def _blur_d_proposal(state, problem, work, D_new):
    """PSF parameters with the blur of ``D_new`` and the whole-stack caches under them."""
    par_new = state.psf_par.copy()
    par_new[2] = problem.blur_coef * D_new
    return par_new, _stack_proposal(state, problem, work, state.pos, par_new)


@njit(cache=True)
def _take_blur_d(state, problem, D_new, par_new, new):
    """Accept a blur-aware D proposal: D, the PSF's blur variance, the caches, and the unused
    candidates' paths (:func:`rescale_ghosts`)."""
    s = math.sqrt(D_new / state.theta[0])
    state.theta[0] = D_new
    state.psf_par[2] = par_new[2]
    _adopt_stack(state, new)
    rescale_ghosts(state, problem, s)


@njit(cache=True)
def _motion_part(state):
    """1 for the candidates whose paths the D moves condition on, 0 for those they scale
    (:func:`rescale_ghosts`): the loads, or every candidate when none is used (D's conditional
    would then be its prior, far too vague, ``InvGamma(0.01, 0.01)`` by default, to scale
    paths by)."""
    for m in range(state.load.shape[0]):
        if state.load[m] != 0.0:
            return state.load.copy()
    return np.ones(state.load.shape[0])


@njit(cache=True)
def rescale_ghosts(state, problem, s):
    """Scale every unused candidate's path about its first point by ``s = sqrt(D'/D)`` along
    the axes of motion, and recompute its PSF factors: what a change of D does to them.

    An unused candidate (load 0) emits in no frame; only the motion prior holds its path. The D
    moves treat such a path non-centred, ``x_j = x_0 + sqrt(D) w_j`` with ``w`` fixed, so that
    D is drawn given the used candidates' paths alone: given all paths, D would be pinned by
    the unused candidates' increments, which only echo the current D (a Gibbs pair that sticks).
    The prior of ``w`` does not depend on D, so a move of D that carries the unused paths along
    leaves the posterior invariant with the used candidates' terms alone. With no candidate
    used, nothing is scaled (:func:`_motion_part`).
    """
    if s == 1.0:
        return
    part = _motion_part(state)
    for m in range(state.pos.shape[0]):
        if part[m] == 0.0:
            _scale_path(state, problem, m, s)


@njit(cache=True)
def _scale_path(state, problem, m, s):
    """Scale candidate m's path about its first point by ``s`` along the axes of motion and
    recompute its PSF factors (an unused candidate's non-centred path under a new D)."""
    pos = state.pos
    for j in range(1, pos.shape[1]):
        for a in range(problem.n_axes):
            pos[m, j, a] = pos[m, 0, a] + s * (pos[m, j, a] - pos[m, 0, a])
    _emitter_factors(state, problem, m)


@njit(cache=True)
def blur_d_step(state, problem, work, D_new):
    """Move 8: Metropolis-Hastings step of D under the blur-aware emission (independence proposal).

    Target ``p(D | r, data) ∝ p(D) p(r | D) p(data | r, D)``; proposal
    ``q(D') ∝ p(D') p(r | D')`` (the conjugate inverse-gamma conditional of the motion part), so
    ``log alpha = ln p(data | r, D') - ln p(data | r, D)``, evaluated over the whole stack; on
    acceptance ``psf_par[2] = blur_coef D'`` and all caches are updated.
    """
    par_new, new = _blur_d_proposal(state, problem, work, D_new)
    log_r = new[5]
    state.prop[8] += 1.0
    if log_r >= 0.0 or np.random.random() < math.exp(log_r):
        state.acc[8] += 1.0
        _take_blur_d(state, problem, D_new, par_new, new)


@njit(cache=True)
def blur_d_walk(state, problem, work, a_post, b_post, step):
    """Move 10: random walk on log D under the blur-aware emission; returns its acceptance.

    Target ``p(D | r, data) ∝ D^-(a_post + 1) exp(-b_post / D) p(data | r, D)``: the conjugate
    inverse-gamma conditional of the motion part (``a_post``, ``b_post`` as in :func:`d_move`)
    times the emission, whose PSF widens with D over the exposure. Proposal
    ``D' = D exp(step * xi)``, whose Jacobian adds ``ln(D'/D)``.
    """
    D = state.theta[0]
    D_new = D * math.exp(step * np.random.standard_normal())
    ratio = D_new / D
    log_r = -a_post * math.log(ratio) - b_post * (1.0 / D_new - 1.0 / D)
    par_new, new = _blur_d_proposal(state, problem, work, D_new)
    log_r += new[5]
    state.prop[10] += 1.0
    alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
    if np.random.random() < alpha:
        state.acc[10] += 1.0
        _take_blur_d(state, problem, D_new, par_new, new)
    return alpha


@njit(cache=True)
def scale_d_step(state, problem, work, log_scale):
    """Move 9: joint move of D and the sub-frame path (K >= 2, non-centred); returns its acceptance.

    Per emitter and axis the path ``x`` (L = N K points) is split into ``P x``, the Brownian
    conditional mean of the path given its N exposure averages ``m_n = sum_k c_k x_{nK+k}``
    (``ncw (N, K, 3)``: weights of the averages of frames n-1, n, n+1, from
    :func:`sptmotion.tracking.bayes.frame_mean_bridge_weights`), and the sub-frame deviations
    ``x - P x``. The move proposes ``D' = D exp(log_scale * xi)`` and
    ``x' = P x + s (x - P x)`` with ``s = sqrt(D'/D)``: the exposure averages (what the images
    measure) stay, the deviations scale with the Brownian step length. ``P`` is a projection
    (``P x' = P x``), so the map is inverted by ``1/s``; its Jacobian is ``s^(A N (K-1))`` per
    used candidate (A axes: 3, or 2 in the focal plane), and the log-scale proposal contributes
    ``D'/D``. An unused candidate's whole path is scaled about its first point
    (:func:`rescale_ghosts`; Jacobian ``s^(A (L-1))``).
    Acceptance: the ratio of emission likelihood (whole stack), motion prior, D prior, Jacobian
    and proposal terms.
    """
    pos = state.pos
    K = problem.K
    ncw = problem.ncw
    cw = problem.cw
    M = pos.shape[0]
    L = pos.shape[1]
    N = L // K
    D = state.theta[0]
    D_new = D * math.exp(log_scale * np.random.standard_normal())
    s = math.sqrt(D_new / D)
    na = problem.n_axes
    new = pos.copy()
    means = np.empty(N)
    n_scaled = 0  # scaled coordinates per axis: the Jacobian's exponent
    part = _motion_part(state)
    for m in range(M):
        if part[m] == 0.0:  # unused: the whole path about its first point
            n_scaled += L - 1
            for j in range(1, L):
                for a in range(na):
                    new[m, j, a] = pos[m, 0, a] + s * (pos[m, j, a] - pos[m, 0, a])
            continue
        n_scaled += N * (K - 1)
        for a in range(na):
            for n in range(N):
                t = 0.0
                for k in range(K):
                    t += cw[k] * pos[m, n * K + k, a]
                means[n] = t
            for n in range(N):
                for k in range(K):
                    pm = ncw[n, k, 1] * means[n]
                    if n > 0:
                        pm += ncw[n, k, 0] * means[n - 1]
                    if n < N - 1:
                        pm += ncw[n, k, 2] * means[n + 1]
                    j = n * K + k
                    new[m, j, a] = pm + s * (pos[m, j, a] - pm)
    dts, mu0, s0, d_prior = problem.dts, problem.mu0, problem.s0, problem.d_prior
    dfac = state.dfac
    log_r = motion_lp(new[:, :, :na], dts, D_new, dfac, mu0, s0) - motion_lp(
        pos[:, :, :na], dts, D, dfac, mu0, s0
    )
    log_r += -(d_prior[0] + 1.0) * math.log(D_new / D) - d_prior[1] * (1.0 / D_new - 1.0 / D)
    log_r += na * n_scaled * math.log(s) + math.log(D_new / D)
    stack = _stack_proposal(state, problem, work, new, state.psf_par)
    log_r += stack[5]
    state.prop[9] += 1.0
    alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
    if np.random.random() < alpha:
        state.acc[9] += 1.0
        state.theta[0] = D_new
        pos[...] = new
        _adopt_stack(state, stack)
    return alpha


@njit(cache=True)
def d_move(state, problem, work, adapt_gain):
    """D: the conjugate inverse-gamma Gibbs step of the motion part (prior
    ``InvGamma(d_prior)``), a Metropolis-Hastings step with it as the proposal under the
    blur-aware emission (:func:`blur_d_step`) followed by a random walk on log D
    (:func:`blur_d_walk`), then with K >= 2 the joint move of D and the
    sub-frame path (:func:`scale_d_step`).

    The motion part is that of the used candidates (load 1); every move of D carries the unused
    candidates' paths along (:func:`rescale_ghosts`). With no candidate used it is every
    candidate's path, and nothing is scaled."""
    pos = state.pos[:, :, : problem.n_axes]  # the axes the particles move along
    M = pos.shape[0]
    L = pos.shape[1]
    part = _motion_part(state)
    a_post = problem.d_prior[0] + 0.5 * problem.n_axes * np.sum(part != 0.0) * (L - 1)
    b_post = problem.d_prior[1]
    for m in range(M):
        if part[m] != 0.0:
            b_post += _emitter_quad(pos, problem, m) / (4.0 * state.dfac[m])
    D_new = b_post / np.random.gamma(a_post, 1.0)
    if problem.blur_coef > 0.0:
        blur_d_step(state, problem, work, D_new)
        alpha = blur_d_walk(state, problem, work, a_post, b_post, math.exp(state.glob_scales[3]))
        if adapt_gain > 0.0:
            state.glob_scales[3] += adapt_gain * (alpha - TARGET_ACCEPT)
    else:
        s = math.sqrt(D_new / state.theta[0])
        state.theta[0] = D_new
        rescale_ghosts(state, problem, s)
    if problem.ncw.shape[0] > 0:
        alpha = scale_d_step(state, problem, work, math.exp(state.glob_scales[2]))
        if adapt_gain > 0.0:
            state.glob_scales[2] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def _emitter_quad(pos, problem, m):
    """Emitter m's motion quadratic form over the axes of ``pos``: ``sum_j |dx_j|^2 / dt_j``
    (``x^T Q x`` under the banded K = 1 prior); its motion part is
    ``-A (L - 1) / 2 ln(D_m) - quad / (4 D_m)`` up to constants."""
    if problem.qband.shape[0] > 0:
        return band_quad_one(pos, problem.qband, m)
    out = 0.0
    for j in range(pos.shape[1] - 1):
        d2 = 0.0
        for a in range(pos.shape[2]):
            d = pos[m, j + 1, a] - pos[m, j, a]
            d2 += d * d
        out += d2 / problem.dts[j]
    return out


@njit(cache=True)
def _refactor_emission(state, problem, work, m1, m2, n0):
    """Recompute the PSF factors of emitters m1 and m2 (``m2 < 0``: m1 only) from frame n0 on
    with their current ``dfac`` (the blur-aware emission's width follows each emitter's D), and
    the log-likelihood of every frame where one of them is on.

    Returns ``(log_r, old, ll_new)``: the emission log-ratio to the cached state, the factors
    before (``old = (EX, EY, WIN)`` of the two emitters' points from ``n0 K`` on) and the new
    frames' log-likelihoods; :func:`_settle_refactor` keeps or restores them.
    """
    K = problem.K
    L = state.pos.shape[1]
    R = state.S.shape[1]
    C = state.S.shape[2]
    j0 = n0 * K
    old_ex = np.empty((2, L - j0, C))
    old_ey = np.empty((2, L - j0, R))
    old_win = np.zeros((2, L - j0, 4), dtype=np.int64)
    for q in range(2):
        m = m1 if q == 0 else m2
        if m < 0:
            continue
        for j in range(j0, L):
            old_ex[q, j - j0] = state.EX[m, j]
            old_ey[q, j - j0] = state.EY[m, j]
            old_win[q, j - j0] = state.WIN[m, j]
            point_factors(state.pos[m, j, 0], state.pos[m, j, 1], state.pos[m, j, 2],
                          problem.pixel_size, state.psf_par, state.dfac[m], state.EX[m, j],
                          state.EY[m, j], state.WIN[m, j])  # fmt: skip
    ll_new = state.ll.copy()
    bg = state.theta[1] * problem.area_te
    h = state.theta[2] * problem.t_e
    log_r = 0.0
    for n in range(n0, state.on.shape[1]):
        if not _refactor_box(state, K, m1, m2, n, j0, old_win, work.box):
            continue
        r0, r1, c0, c1 = work.box[0], work.box[1], work.box[2], work.box[3]
        frame_psf_window(n, K, state.EX, state.EY, state.WIN, problem.cw, state.on,
                         work.S_new, r0, r1, c0, c1)  # fmt: skip
        old = window_loglik(problem.adu[n], state.S[n], bg, h, problem.cam_code,
                            problem.cam_par, problem.cam_maps, r0, r1, c0, c1, work.ubuf,
                            work.obuf)  # fmt: skip
        new = window_loglik(problem.adu[n], work.S_new, bg, h, problem.cam_code,
                            problem.cam_par, problem.cam_maps, r0, r1, c0, c1, work.ubuf,
                            work.obuf)  # fmt: skip
        ll_new[n] = state.ll[n] - old + new
        log_r += new - old
    return log_r, (old_ex, old_ey, old_win), ll_new


@njit(cache=True)
def _refactor_box(state, K, m1, m2, n, j0, old_win, box):
    """Pixel window of frame n that the refactored emitters' old and new factors reach (into
    ``box``); False when neither is on in frame n or the window is empty."""
    box[0] = state.S.shape[1]
    box[1] = 0
    box[2] = state.S.shape[2]
    box[3] = 0
    any_on = False
    for q in range(2):
        m = m1 if q == 0 else m2
        if m < 0 or state.on[m, n] == 0.0:
            continue
        any_on = True
        for k in range(K):
            j = n * K + k
            grow_window(box, state.WIN, m, j)
            box[0] = min(box[0], old_win[q, j - j0, 2])
            box[1] = max(box[1], old_win[q, j - j0, 3])
            box[2] = min(box[2], old_win[q, j - j0, 0])
            box[3] = max(box[3], old_win[q, j - j0, 1])
    return any_on and box[1] > box[0] and box[3] > box[2]


@njit(cache=True)
def _settle_refactor(state, problem, work, m1, m2, n0, old, ll_new, accept):
    """Keep a :func:`_refactor_emission` (frames' images and log-likelihoods updated) or
    restore the emitters' old factors."""
    K = problem.K
    j0 = n0 * K
    old_ex, old_ey, old_win = old
    if accept:
        for n in range(n0, state.on.shape[1]):
            if _refactor_box(state, K, m1, m2, n, j0, old_win, work.box):
                frame_psf_window(n, K, state.EX, state.EY, state.WIN, problem.cw, state.on,
                                 state.S[n], work.box[0], work.box[1], work.box[2],
                                 work.box[3])  # fmt: skip
                state.ll[n] = ll_new[n]
        return
    for q in range(2):
        m = m1 if q == 0 else m2
        if m < 0:
            continue
        for j in range(j0, state.pos.shape[1]):
            state.EX[m, j] = old_ex[q, j - j0]
            state.EY[m, j] = old_ey[q, j - j0]
            state.WIN[m, j] = old_win[q, j - j0]


@njit(cache=True)
def _dfac_lp(u, sd):
    """Log-density of ``u = ln dfac`` under its normal prior (up to a constant)."""
    return -0.5 * (u / sd) ** 2


@njit(cache=True)
def _try_dfac(state, problem, work, m, f_new, log_r, move):
    """Propose ``dfac[m] = f_new`` with the log-ratio ``log_r`` of everything but the emission;
    the emission enters when the PSF's width follows D (blur-aware emission). Returns the
    acceptance probability."""
    f_old = state.dfac[m]
    state.dfac[m] = f_new
    state.prop[move] += 1.0
    if state.psf_par[2] > 0.0:
        em, old, ll_new = _refactor_emission(state, problem, work, m, -1, 0)
        log_r += em
        alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
        accept = np.random.random() < alpha
        _settle_refactor(state, problem, work, m, -1, 0, old, ll_new, accept)
    else:
        alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
        accept = np.random.random() < alpha
    if accept:
        state.acc[move] += 1.0
    else:
        state.dfac[m] = f_old
    return alpha


@njit(cache=True)
def _emitter_d_terms(state, problem, m):
    """``(a, b)`` of emitter m's motion part as a function of its factor,
    ``-a ln(dfac) - b / dfac``: ``a = A (L - 1) / 2``, ``b = quad_m / (4 D)``."""
    pos = state.pos[:, :, : problem.n_axes]
    a = 0.5 * problem.n_axes * (pos.shape[1] - 1)
    return a, _emitter_quad(pos, problem, m) / (4.0 * state.theta[0])


@njit(cache=True)
def emitter_d_step(state, problem, work, m):
    """Move 17 for a used candidate m: ``dfac'`` from ``InvGamma(a - 1, b)`` (its motion part
    alone, :func:`_emitter_d_terms`), accepted on the ratio of the log-normal prior densities
    (and of the emission under the blur-aware PSF, whose width follows the emitter's D)."""
    a, b = _emitter_d_terms(state, problem, m)
    if not (a > 1.0 and b > 0.0):
        return
    sd = problem.dfac_sd
    u = math.log(state.dfac[m])
    f_new = b / np.random.gamma(a - 1.0, 1.0)
    u_new = math.log(f_new)
    log_r = _dfac_lp(u_new, sd) - u_new - _dfac_lp(u, sd) + u
    _try_dfac(state, problem, work, m, f_new, log_r, 17)


@njit(cache=True)
def emitter_d_walk(state, problem, work, m, step):
    """Move 18 for a used candidate m: a random walk on ``ln dfac`` of scale ``step``; returns
    its acceptance."""
    a, b = _emitter_d_terms(state, problem, m)
    u = math.log(state.dfac[m])
    u_new = u + step * np.random.standard_normal()
    log_r = _dfac_lp(u_new, problem.dfac_sd) - _dfac_lp(u, problem.dfac_sd)
    log_r += -a * (u_new - u) - b * (math.exp(-u_new) - math.exp(-u))
    return _try_dfac(state, problem, work, m, math.exp(u_new), log_r, 18)


@njit(cache=True)
def ghost_dfac_draw(state, problem, m):
    """Move 17 for an unused candidate m: its factor drawn from its prior and its path scaled
    about its first point by ``sqrt(dfac'/dfac)``, as the D moves do (:func:`rescale_ghosts`):
    its path is held non-centred, and it emits nothing."""
    f_new = math.exp(problem.dfac_sd * np.random.standard_normal())
    s = math.sqrt(f_new / state.dfac[m])
    state.dfac[m] = f_new
    _scale_path(state, problem, m, s)
    state.prop[17] += 1.0
    state.acc[17] += 1.0


@njit(cache=True)
def emitter_d_move(state, problem, work, adapt_gain):
    """Moves 17, 18: each candidate's own D, ``D dfac[m]`` (``ln dfac[m] ~ N(0, dfac_sd^2)``):
    for a candidate in the motion part (:func:`_motion_part`) :func:`emitter_d_step` then
    :func:`emitter_d_walk` (adaptive scale ``glob_scales[4]``), for an unused one
    :func:`ghost_dfac_draw`."""
    if problem.dfac_sd <= 0.0:
        return
    M = state.pos.shape[0]
    part = _motion_part(state)
    step = math.exp(state.glob_scales[4])
    for m in range(M):
        if part[m] == 0.0:
            ghost_dfac_draw(state, problem, m)
            continue
        emitter_d_step(state, problem, work, m)
        alpha = emitter_d_walk(state, problem, work, m, step)
        if adapt_gain > 0.0:
            state.glob_scales[4] += adapt_gain * (alpha - TARGET_ACCEPT) / M


@njit(cache=True)
def d_ridge_move(state, problem, adapt_gain):
    """Move 19: ``D -> D c``, every ``dfac[m] -> dfac[m] / c`` (``ln c`` a Gaussian step of
    scale ``glob_scales[5]``): every emitter's D, paths, PSF and likelihood stay; the acceptance
    is the ratio of the priors, D's inverse gamma on the log scale and the factors' normal."""
    if problem.dfac_sd <= 0.0:
        return
    u = math.exp(state.glob_scales[5]) * np.random.standard_normal()
    D = state.theta[0]
    D_new = D * math.exp(u)
    a, b = problem.d_prior[0], problem.d_prior[1]
    log_r = -a * u - b * (1.0 / D_new - 1.0 / D)
    sd = problem.dfac_sd
    for m in range(state.dfac.shape[0]):
        v = math.log(state.dfac[m])
        log_r += _dfac_lp(v - u, sd) - _dfac_lp(v, sd)
    state.prop[19] += 1.0
    alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
    if np.random.random() < alpha:
        state.acc[19] += 1.0
        state.theta[0] = D_new
        for m in range(state.dfac.shape[0]):
            state.dfac[m] = state.dfac[m] / math.exp(u)
        state.psf_par[2] = problem.blur_coef * D_new
    if adapt_gain > 0.0:
        state.glob_scales[5] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def flux_move(state, problem, work, which, adapt_gain):
    """Moves 6 (``which = 0``, F) and 7 (``which = 1``, H): a random walk on the log scale with a
    log-normal prior ``N(log mean, sd)`` on the log; every frame's likelihood changes (with H
    only in the pixels the spots reach: :func:`refresh_background`)."""
    N = problem.adu.shape[0]
    pr = problem.f_prior if which == 0 else problem.h_prior
    if which == 1:
        refresh_background(state, problem, work)  # H: only the spots' pixels change
    cur = state.theta[1 + which]
    lcur = math.log(cur)
    lnew = lcur + math.exp(state.glob_scales[which]) * np.random.standard_normal()
    new = math.exp(lnew)
    if which == 0:
        bg_n = new * problem.area_te
        h_n = state.theta[2] * problem.t_e
    else:
        bg_n = state.theta[1] * problem.area_te
        h_n = new * problem.t_e
    tot_old = 0.0
    tot_new = 0.0
    for n in range(N):
        work.ll_prop[n] = frame_loglik(
            problem.adu,
            problem.logw,
            problem.wsum,
            n,
            state.S[n],
            bg_n,
            h_n,
            problem.cam_code,
            problem.cam_par,
            problem.cam_maps,
            work.ubuf,
            work.obuf,
            work.bgll,
            work.bgsum,
            work.bg_at,
        )
        tot_new += work.ll_prop[n]
        tot_old += state.ll[n]
    dprior = (-0.5 * ((lnew - pr[0]) / pr[1]) ** 2) - (-0.5 * ((lcur - pr[0]) / pr[1]) ** 2)
    log_r = tot_new - tot_old + dprior
    alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
    state.prop[6 + which] += 1.0
    if np.random.random() < alpha:
        state.acc[6 + which] += 1.0
        state.theta[1 + which] = new
        for n in range(N):
            state.ll[n] = work.ll_prop[n]
    if adapt_gain > 0.0:
        state.glob_scales[which] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def _emitter_box(state, m, n, K, box):
    """The window ``box = [r0, r1, c0, c1]`` of emitter m's points in frame n (r1 <= r0: none)."""
    box[0] = state.S.shape[1]
    box[1] = 0
    box[2] = state.S.shape[2]
    box[3] = 0
    for k in range(K):
        grow_window(box, state.WIN, m, n * K + k)


@njit(cache=True)
def _presence_frames(state, problem, work, m):
    """Frames' log-likelihoods with emitter m on (``work.ll_on``) and off (``ll_off``), the other
    emitters as they are; the current state's is the cached one, the other is the cached one
    changed by the emitter's window (image of the other state in ``work.S_new``)."""
    K = problem.K
    N = problem.adu.shape[0]
    bg = state.theta[1] * problem.area_te
    h = state.theta[2] * problem.t_e
    box = work.box
    for n in range(N):
        cur = state.on[m, n]
        v = state.ll[n]
        _emitter_box(state, m, n, K, box)
        if box[1] > box[0] and box[3] > box[2]:
            r0, r1, c0, c1 = box[0], box[1], box[2], box[3]
            state.on[m, n] = 1.0 - cur
            frame_psf_window(n, K, state.EX, state.EY, state.WIN, problem.cw, state.on,
                             work.S_new, r0, r1, c0, c1)  # fmt: skip
            state.on[m, n] = cur
            v = v - window_loglik(problem.adu[n], state.S[n], bg, h, problem.cam_code,
                                  problem.cam_par, problem.cam_maps, r0, r1, c0, c1,
                                  work.ubuf, work.obuf)  # fmt: skip
            v = v + window_loglik(problem.adu[n], work.S_new, bg, h, problem.cam_code,
                                  problem.cam_par, problem.cam_maps, r0, r1, c0, c1,
                                  work.ubuf, work.obuf)  # fmt: skip
        if cur == 1.0:
            work.ll_on[n] = state.ll[n]
            work.ll_off[n] = v
        else:
            work.ll_off[n] = state.ll[n]
            work.ll_on[n] = v


@njit(cache=True)
def presence_move(state, problem, work):
    """Move 11: Gibbs draws of every candidate's load and on/off sequence, then of ``k_on, k_off``.

    Candidate m is in the model (load ``b_m = 1``) with the Beta-Bernoulli prior of BNP-Track
    (Sgouralis et al. 2024; ``pi ~ Beta(gamma / M, 1)`` integrated out:
    ``P(b_m = 1 | b_-m) = (gamma / M + k_-m) / (gamma / M + M)``, ``k_-m`` the other loaded
    candidates). A loaded candidate's presence ``s_n`` follows a two-state Markov chain over the
    frames (on with probability 1/2 in the first frame; off -> on with ``k_on``, on -> off with
    ``k_off`` per frame: entering, leaving, blinking); an unloaded one is off everywhere. Given
    the positions, F, H and the other emitters, the frames' likelihoods with m on and off are
    computed once; the forward algorithm gives ``p(data | b_m = 1)`` summed over all sequences
    (``p(data | b_m = 0)`` is the all-off product), so ``b_m`` is drawn exactly, then the
    sequence by backward sampling. ``k_on ~ Beta(a_on + n_01, b_on + n_00)``,
    ``k_off ~ Beta(a_off + n_10, b_off + n_11)`` from the transitions of the loaded candidates.
    An absent emitter's positions follow the motion prior only (the emission does not see them).
    """
    M = state.pos.shape[0]
    N = problem.adu.shape[0]
    k_on = state.pres[0]
    k_off = state.pres[1]
    lt00 = math.log(1.0 - k_on)
    lt01 = math.log(k_on)
    lt10 = math.log(k_off)
    lt11 = math.log(1.0 - k_off)
    li = math.log(0.5)
    c = problem.pres_prior[4] / M
    fa = np.empty((N, 2))
    seq = np.empty(N)
    for m in range(M):
        _presence_frames(state, problem, work, m)
        fa[0, 0] = li + work.ll_off[0]
        fa[0, 1] = li + work.ll_on[0]
        log_z0 = work.ll_off[0]
        for n in range(1, N):
            fa[n, 0] = work.ll_off[n] + log_add_exp(fa[n - 1, 0] + lt00, fa[n - 1, 1] + lt10)
            fa[n, 1] = work.ll_on[n] + log_add_exp(fa[n - 1, 0] + lt01, fa[n - 1, 1] + lt11)
            log_z0 += work.ll_off[n]
        log_z1 = log_add_exp(fa[N - 1, 0], fa[N - 1, 1])
        k_minus = 0.0
        for q in range(M):
            if q != m:
                k_minus += state.load[q]
        log_odds = math.log(c + k_minus) - math.log(M - k_minus) + log_z1 - log_z0
        p1 = 1.0 / (1.0 + math.exp(-log_odds)) if log_odds > -700.0 else 0.0
        if np.random.random() < p1:
            state.load[m] = 1.0
            p_on = 1.0 / (1.0 + math.exp(min(700.0, fa[N - 1, 0] - fa[N - 1, 1])))
            seq[N - 1] = 1.0 if np.random.random() < p_on else 0.0
            for n in range(N - 2, -1, -1):
                if seq[n + 1] == 1.0:
                    a0, a1 = fa[n, 0] + lt01, fa[n, 1] + lt11
                else:
                    a0, a1 = fa[n, 0] + lt00, fa[n, 1] + lt10
                p_on = 1.0 / (1.0 + math.exp(min(700.0, a0 - a1)))
                seq[n] = 1.0 if np.random.random() < p_on else 0.0
        else:
            state.load[m] = 0.0
            seq[:] = 0.0
        changed = False
        for n in range(N):
            if seq[n] == state.on[m, n]:
                continue
            changed = True
            state.on[m, n] = seq[n]
            state.ll[n] = work.ll_on[n] if seq[n] == 1.0 else work.ll_off[n]
            _emitter_box(state, m, n, problem.K, work.box)
            if work.box[1] > work.box[0] and work.box[3] > work.box[2]:
                frame_psf_window(n, problem.K, state.EX, state.EY, state.WIN, problem.cw,
                                 state.on, state.S[n], work.box[0], work.box[1], work.box[2],
                                 work.box[3])  # fmt: skip
        state.prop[11] += 1.0
        if changed:
            state.acc[11] += 1.0
    counts = np.zeros(4)  # n_00, n_01, n_10, n_11
    for m in range(M):
        if state.load[m] == 1.0:
            for n in range(1, N):
                counts[int(2 * state.on[m, n - 1] + state.on[m, n])] += 1.0
    pr = problem.pres_prior
    state.pres[0] = np.random.beta(pr[0] + counts[1], pr[1] + counts[0])
    state.pres[1] = np.random.beta(pr[2] + counts[2], pr[3] + counts[3])
    state.pres[0] = min(max(state.pres[0], 1e-12), 1.0 - 1e-12)
    state.pres[1] = min(max(state.pres[1], 1e-12), 1.0 - 1e-12)


@njit(cache=True)
def _trans_lp(a, b, pres):
    """ln P(presence b in a frame | a in the previous one) of the two-state chain."""
    if a == 0.0:
        return math.log(pres[0]) if b == 1.0 else math.log(1.0 - pres[0])
    return math.log(pres[1]) if b == 0.0 else math.log(1.0 - pres[1])


@njit(cache=True)
def _pair_motion_lp(state, problem, m1, m2):
    """Motion log-prior of emitters m1 and m2 (up to terms that do not depend on positions)."""
    L = state.pos.shape[1]
    two = np.empty((2, L, 3))
    two[0] = state.pos[m1]
    two[1] = state.pos[m2]
    dfac = np.array([state.dfac[m1], state.dfac[m2]])
    D = state.theta[0]
    if problem.qband.shape[0] > 0:
        return band_motion_lp(two, problem.qband, 0.0, D, dfac, problem.mu0, problem.s0)
    return motion_lp(two, problem.dts, D, dfac, problem.mu0, problem.s0)


@njit(cache=True)
def _swap_tails(state, m1, m2, n0, K):
    """Exchange the positions, PSF factors and presence of m1 and m2 from frame n0 on."""
    L = state.pos.shape[1]
    for j in range(n0 * K, L):
        for a in range(3):
            t = state.pos[m1, j, a]
            state.pos[m1, j, a] = state.pos[m2, j, a]
            state.pos[m2, j, a] = t
        _swap_factors(state, m1, j, m2, j)
    for n in range(n0, state.on.shape[1]):
        t = state.on[m1, n]
        state.on[m1, n] = state.on[m2, n]
        state.on[m2, n] = t


@njit(cache=True)
def _switch_frames(state, m1, m2, out):
    """Frames n >= 1 where m1 or m2 switches on or off (into ``out``); returns their number."""
    k = 0
    for n in range(1, state.on.shape[1]):
        if state.on[m1, n] != state.on[m1, n - 1] or state.on[m2, n] != state.on[m2, n - 1]:
            out[k] = n
            k += 1
    return k


@njit(cache=True)
def _swap_q(state, m1, m2, n0, N, buf):
    """Probability of proposing the swap frame n0: half uniform over 1 .. N-1, half uniform over
    the frames where one of the two switches (all uniform if none does)."""
    n_sw = _switch_frames(state, m1, m2, buf)
    if n_sw == 0:
        return 1.0 / (N - 1)
    hit = 0.0
    for i in range(n_sw):
        if buf[i] == n0:
            hit = 1.0
    return 0.5 / (N - 1) + 0.5 * hit / n_sw


@njit(cache=True)
def tail_swap_move(state, problem, work):
    """Move 12: for every pair of used candidates, exchange their tails from a random frame on.

    Each swapped tail also flips the sign of its z with probability 1/2 (the PSF depends on
    ``|z|``: two chains of the same emitter may hold opposite signs). The frames' images are
    sums over the emitters of functions of ``|z|``, so the emission is unchanged (but for the
    blur-aware emission when the two emitters' D differ: each tail then takes its new emitter's
    PSF width, :func:`_refactor_emission`, and the emission ratio enters); the
    acceptance is the ratio of the two emitters' motion priors and of the presence chain's
    transitions into the first swapped frame (swapping then flipping the tails of m1, m2 is
    undone by flipping those of m2, m1 then swapping). The first swapped frame is drawn half
    the time uniformly and half the time among the frames where one of the two switches on or
    off (where fragments of one particle's track meet); the Hastings ratio of these proposal
    probabilities before and after the swap enters the acceptance.

    With each emitter's own D (``dfac_sd > 0``) the swap also draws both emitters' factors
    anew from the inverse-gamma conditional of their motion parts given the swapped paths
    (:func:`_swap_d_lp`): otherwise each factor, fitted to its current path (a chimeric track
    gets a large D that makes its jump cheap), would hold the swap back.
    """
    M = state.pos.shape[0]
    N = state.on.shape[1]
    K = problem.K
    if N < 2:
        return
    work_sw = np.empty(N, dtype=np.int64)
    mpos = state.pos[:, :, : problem.n_axes]
    a = 0.5 * problem.n_axes * (state.pos.shape[1] - 1)
    refresh = problem.dfac_sd > 0.0 and a > 1.0  # each emitter's own D drawn anew
    for m1 in range(M):
        for m2 in range(m1 + 1, M):
            if state.load[m1] == 0.0 or state.load[m2] == 0.0:
                continue
            n_sw = _switch_frames(state, m1, m2, work_sw)
            if n_sw > 0 and np.random.random() < 0.5:
                n0 = work_sw[np.random.randint(0, n_sw)]
            else:
                n0 = np.random.randint(1, N)
            q_fwd = _swap_q(state, m1, m2, n0, N, work_sw)
            if refresh:
                lp_old = _swap_d_lp(state, problem, mpos, m1, m2, a)
            else:
                lp_old = _pair_motion_lp(state, problem, m1, m2)
            lp_old += _trans_lp(state.on[m1, n0 - 1], state.on[m1, n0], state.pres)
            lp_old += _trans_lp(state.on[m2, n0 - 1], state.on[m2, n0], state.pres)
            _swap_tails(state, m1, m2, n0, K)
            f1 = np.random.random() < 0.5
            f2 = np.random.random() < 0.5
            _flip_tail(state, m1, n0 * K, f1)
            _flip_tail(state, m2, n0 * K, f2)
            d1, d2 = state.dfac[m1], state.dfac[m2]
            if refresh:
                for m in (m1, m2):
                    b = max(_emitter_quad(mpos, problem, m) / (4.0 * state.theta[0]), 1e-300)
                    state.dfac[m] = b / np.random.gamma(a - 1.0, 1.0)
                lp_new = _swap_d_lp(state, problem, mpos, m1, m2, a)
            else:
                lp_new = _pair_motion_lp(state, problem, m1, m2)
            lp_new += _trans_lp(state.on[m1, n0 - 1], state.on[m1, n0], state.pres)
            lp_new += _trans_lp(state.on[m2, n0 - 1], state.on[m2, n0], state.pres)
            q_rev = _swap_q(state, m1, m2, n0, N, work_sw)
            state.prop[12] += 1.0
            log_r = lp_new - lp_old + math.log(q_rev) - math.log(q_fwd)
            if state.psf_par[2] > 0.0 and (refresh or d1 != d2):
                # the blur-aware PSF of each emitter is widened by its own D
                n_from = 0 if refresh else n0
                em, old, ll_new = _refactor_emission(state, problem, work, m1, m2, n_from)
                log_r += em
                accept = np.random.random() < math.exp(min(0.0, log_r))
                _settle_refactor(state, problem, work, m1, m2, n_from, old, ll_new, accept)
            else:
                accept = np.random.random() < math.exp(min(0.0, log_r))
            if accept:
                state.acc[12] += 1.0
            else:
                state.dfac[m1], state.dfac[m2] = d1, d2
                _flip_tail(state, m1, n0 * K, f1)
                _flip_tail(state, m2, n0 * K, f2)
                _swap_tails(state, m1, m2, n0, K)


@njit(cache=True)
def _swap_d_lp(state, problem, mpos, m1, m2, a):
    """What a tail swap that draws both emitters' ``dfac`` anew from the inverse-gamma
    conditional of their motion parts (``InvGamma(a - 1, b_m)``, ``b_m = quad_m / (4 D)``)
    weighs for the pair: ``sum_m -(a - 1) ln b_m`` (the motion part with ``dfac_m``
    integrated out, over the proposal) plus the log-normal prior density of each ``dfac_m``."""
    out = 0.0
    for m in (m1, m2):
        b = max(_emitter_quad(mpos, problem, m) / (4.0 * state.theta[0]), 1e-300)
        f = state.dfac[m]
        out += -(a - 1.0) * math.log(b) + _dfac_lp(math.log(f), problem.dfac_sd) - math.log(f)
    return out


@njit(cache=True)
def _flip_tail(state, m, j0, flip):
    """z -> -z for the points of emitter m from ``j0`` on, if ``flip``."""
    if flip:
        for j in range(j0, state.pos.shape[1]):
            state.pos[m, j, 2] = -state.pos[m, j, 2]


@njit(cache=True)
def ghost_jump_move(state, problem):
    """Move 13: translate the whole path of every unused candidate by a uniform random vector.

    The shift is uniform over ``[-width, width] x [-height, height]`` of the ROI (symmetric);
    the increments are unchanged, so the acceptance is the ratio of the initial-position
    priors. An unused candidate emits nothing, so only its PSF factors are recomputed.
    """
    M = state.pos.shape[0]
    R = state.S.shape[1]
    C = state.S.shape[2]
    a = problem.pixel_size
    for m in range(M):
        if state.load[m] != 0.0:
            continue
        dx = (2.0 * np.random.random() - 1.0) * C * a
        dy = (2.0 * np.random.random() - 1.0) * R * a
        lp_old = init_lp(state.pos, m, problem.mu0, problem.s0)
        state.pos[m, 0, 0] += dx
        state.pos[m, 0, 1] += dy
        lp_new = init_lp(state.pos, m, problem.mu0, problem.s0)
        state.pos[m, 0, 0] -= dx
        state.pos[m, 0, 1] -= dy
        state.prop[13] += 1.0
        if np.random.random() < math.exp(min(0.0, lp_new - lp_old)):
            state.acc[13] += 1.0
            _translate_ghost(state, problem, m, dx, dy)


@njit(cache=True)
def _translate_ghost(state, problem, m, dx, dy):
    """Shift every point of candidate m by (dx, dy) µm and recompute its PSF factors."""
    for j in range(state.pos.shape[1]):
        state.pos[m, j, 0] += dx
        state.pos[m, j, 1] += dy
    _emitter_factors(state, problem, m)


@njit(cache=True)
def _emitter_factors(state, problem, m):
    """Recompute the PSF factors of every point of candidate m (its caches ``EX``, ``EY``,
    ``WIN``) from its positions."""
    pos = state.pos
    for j in range(pos.shape[1]):
        point_factors(pos[m, j, 0], pos[m, j, 1], pos[m, j, 2], problem.pixel_size,
                      state.psf_par, state.dfac[m], state.EX[m, j], state.EY[m, j],
                      state.WIN[m, j])  # fmt: skip


@njit(cache=True)
def _birth_density(problem, n, x, y):
    """Probability of the pixel holding (x, y) µm in frame n's birth map (0 outside the ROI)."""
    R = problem.birth_pdf.shape[1]
    C = problem.birth_pdf.shape[2]
    a = problem.pixel_size
    if not (0.0 <= x < C * a and 0.0 <= y < R * a):
        return 0.0
    return problem.birth_pdf[n, int(y / a), int(x / a)]


@njit(cache=True, inline="always")
def _draw_birth_pixel(problem, n):
    """Row and column of a pixel drawn from frame n's birth map (one uniform number)."""
    C = problem.birth_pdf.shape[2]
    idx = np.searchsorted(problem.birth_cdf[n], np.random.random() * problem.birth_cdf[n, -1])
    idx = min(idx, problem.birth_cdf.shape[1] - 1)
    r = idx // C
    return r, idx - r * C


@njit(cache=True)
def ghost_seek_move(state, problem):
    """Move 14: translate an unused candidate's path onto a pixel drawn from the birth map.

    For each unused candidate: a frame n uniformly, a pixel from ``birth_pdf[n]`` (a fixed
    map of the data, see :func:`sptmotion.tracking.bayes.birth_map`) and a uniform point in
    it; the whole path is translated so that its frame-n position lands there. The reverse move
    draws the old position's pixel, so ``log alpha`` adds
    ``ln birth_pdf[n](old) - ln birth_pdf[n](new)`` to the ratio of the initial-position priors
    (the translation has unit Jacobian); an old position outside the ROI cannot be reached back
    and the move is not made.
    """
    M = state.pos.shape[0]
    N = problem.birth_pdf.shape[0]
    if N == 0:
        return
    a = problem.pixel_size
    K = problem.K
    for m in range(M):
        if state.load[m] != 0.0:
            continue
        n = np.random.randint(0, N)
        x0 = state.pos[m, n * K, 0]
        y0 = state.pos[m, n * K, 1]
        g_old = _birth_density(problem, n, x0, y0)
        r, c = _draw_birth_pixel(problem, n)
        dx = (c + np.random.random()) * a - x0
        dy = (r + np.random.random()) * a - y0
        state.prop[14] += 1.0
        if g_old <= 0.0:
            continue
        g_new = problem.birth_pdf[n, r, c]
        lp_old = init_lp(state.pos, m, problem.mu0, problem.s0)
        state.pos[m, 0, 0] += dx
        state.pos[m, 0, 1] += dy
        lp_new = init_lp(state.pos, m, problem.mu0, problem.s0)
        state.pos[m, 0, 0] -= dx
        state.pos[m, 0, 1] -= dy
        log_r = lp_new - lp_old + math.log(g_old) - math.log(g_new)
        if np.random.random() < math.exp(min(0.0, log_r)):
            state.acc[14] += 1.0
            _translate_ghost(state, problem, m, dx, dy)


@njit(cache=True, nogil=True)
def sweep(seed, adapt_gain, state, problem, work):
    """One MCMC sweep: every block move on every frame and emitter, the tail flips, with an
    unknown number of emitters the ghost and presence moves, with two or more emitters the tail
    swaps (they undo identity swaps of the starting tracks), then D, F, H.

    ``adapt_gain > 0`` adapts the proposal scales (towards :data:`TARGET_ACCEPT`); 0 freezes them
    (after burn-in). Frame-local moves recompute only their frame's PSF factors, image and
    likelihood; the D moves under the blur-aware emission and the joint D move recompute all.
    Runs without the GIL (regions of a movie are tracked in parallel threads); numba's random
    state is per thread, seeded here. The frame moves' small helpers are inlined by numba
    (``inline="always"``): a call that passes the state and problem records costs ~0.3 µs, a
    sizeable part of a ~3 µs move.
    """
    np.random.seed(seed)
    K = problem.K
    M = state.pos.shape[0]
    N = state.pos.shape[1] // K
    for n in range(N):
        for m in range(M):
            lateral_block_move(state, problem, work, n, m, adapt_gain)
            axial_block_move(state, problem, work, n, m, adapt_gain)
            bridge_block_move(state, problem, work, n, m)
            z_flip_move(state, problem, work, n, m)
            if K > 1:
                single_point_move(state, problem, work, n, m, adapt_gain)
                point_seek_move(state, problem, work, n, m)
                reverse_block_move(state, problem, work, n, m)
    for m in range(M):
        tail_flip_move(state, problem, m)
    if problem.sample_flags[3]:
        ghost_jump_move(state, problem)
        ghost_seek_move(state, problem)
        presence_move(state, problem, work)
    if M > 1:
        tail_swap_move(state, problem, work)  # undoes identity swaps of the starting tracks
    if problem.sample_flags[0]:
        d_move(state, problem, work, adapt_gain)
        emitter_d_move(state, problem, work, adapt_gain)
        d_ridge_move(state, problem, adapt_gain)
    for which in range(2):
        if problem.sample_flags[1 + which]:
            flux_move(state, problem, work, which, adapt_gain)
