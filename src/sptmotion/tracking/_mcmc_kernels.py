"""numba kernels of the Bayesian tracker: one whole MCMC sweep over all frames per call.

State of a chain (all float64 unless noted; ``L = N*K`` fine-grid points per emitter):

- ``pos (M, L, 3)``: positions in µm of the M emitters at the K sub-frame points of each of the N frames;
- ``EX (M, L, C)``, ``EY (M, L, R)``: the pixel-integrated 1D PSF factors of every point (the separable
  erf PSF of :mod:`sptmotion.optics`), so that a frame's PSF image is
  ``S_n[r, c] = sum_m sum_k c_k EY[m, nK+k, r] EX[m, nK+k, c]``;
- ``S (N, R, C)``: that PSF image per frame (photons per unit ``H*t_E``), cached;
- ``ll (N,)``: the emission log-likelihood of each frame, cached. A move that changes the points of one
  frame recomputes only that frame's ``EX``/``EY`` rows (``R + C + 2`` erf per point), its ``S_n`` and
  its ``ll_n`` (frame-local update);
- ``theta = [D, F, H]``: diffusion coefficient (µm²/s), background flux (photons/µm²/s), emission rate
  (photons/s).

Expected photons of pixel (r, c) in frame n: ``u = F*A_pix*t_E + H*t_E*S_n[r, c]``; the camera applies
the quantum efficiency. The PSF factors and the camera log-densities are those of
:mod:`sptmotion.optics._kernels` (the one place where the PSF and the camera models live).

Motion prior: with K >= 2 the sub-frame points follow the Markov Brownian prior (increments
``N(0, 2 D dt_j)``); with K = 1 each point is an exposure-averaged position, whose increments are
correlated (MA(1)), so the prior is a Gaussian with the banded precision ``Q / (2 D)`` per axis of
:func:`sptmotion.tracking.bayes.brownian_precision_band` (``qband``).

Move types (index into the acceptance counters): 0 lateral block random walk (all K points of one
emitter in one frame shifted together), 1 axial block random walk, 2 block independence proposal from the
Brownian conditional prior (the bridge between the neighbouring frames; with K = 1 the Gaussian
conditional of the point given all others under the banded prior; acceptance = emission ratio only),
3 z sign flip of one frame block, 4 single-point random walk (K > 1), 5 z sign flip of the whole track
tail from a random frame on, 6 background flux F (log-scale random walk), 7 emission rate H (log scale),
8 D under the blur-aware emission (Metropolis-Hastings, see :func:`sweep`). Without it, D is drawn by
its conjugate inverse-gamma Gibbs step. 9 (K >= 2) joint non-centred move of D and the sub-frame
path (:func:`scale_d_step`): the Gibbs step alone mixes slowly there, because D given the path is
pinned by the N (K - 1) sub-frame increments, which the images hardly constrain.
"""

# numba supports only the legacy np.random API inside jitted code (seeded per sweep by the caller).
# ruff: noqa: NPY002
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..optics._kernels import (
    emccd_gamma_logpdf_sum,
    emccd_pgn_logpdf,
    gl_sigma,
    pixel_fractions_1d,
    scmos_gauss_logpdf,
    scmos_logpdf,
)

#: Camera codes of :func:`frame_loglik` (``cam_par`` layout in brackets).
CAM_EMCCD_GAMMA = 0  # [beta/2, 2G/phi, offset]
CAM_EMCCD_PGN = 1  # [qe, spurious, gain, conversion, read_noise, offset, n_sigma, rel_tol]
CAM_SCMOS = 2  # [qe, rel_tol], maps (gain, offset, read_var)
CAM_SCMOS_GAUSS = 3  # [qe], maps (gain, offset, read_var)

N_MOVES = 10
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
)
TARGET_ACCEPT = 0.3
_LOG2PI = math.log(2.0 * math.pi)
#: Positions or PSF widths beyond this (µm) put an emitter far outside any ROI.
_FAR = 1.0e6


@njit(cache=True)
def seed_numba(seed: int) -> None:
    """Seed numba's internal generator (used by the sweep kernel)."""
    np.random.seed(seed)


@njit(cache=True)
def point_factors(x, y, z, pixel_size, psf_par, ex, ey, rng_xy):
    """Pixel-integrated PSF factors of one point: ``ex (C,)`` along x, ``ey (R,)`` along y.

    ``psf_par = [sigma0, z0, blur_var]``: the lateral Gaussian width is
    ``sqrt(sigma(z)^2 + blur_var)`` with the Gaussian-Lorentzian ``sigma(z)`` of
    :func:`sptmotion.optics._kernels.gl_sigma` (``blur_var = 0``: the PSF itself).

    Entries outside the non-zero window are set to 0; ``rng_xy = [c_lo, c_hi, r_lo, r_hi]``
    receives the window (half-open column and row ranges).
    """
    s = gl_sigma(z, psf_par[0], psf_par[1])
    if psf_par[2] > 0.0:
        # motion-blur variance of the exposure-averaged image (blur-aware K = 1 emission)
        s = math.sqrt(s * s + psf_par[2])
    ex[:] = 0.0
    ey[:] = 0.0
    if not (abs(x) < _FAR and abs(y) < _FAR and s < _FAR):
        # far outside the ROI (or not finite): no photons, and no integer overflow of pixel indices
        rng_xy[0] = 0
        rng_xy[1] = 0
        rng_xy[2] = 0
        rng_xy[3] = 0
        return
    c_lo, c_hi = pixel_fractions_1d(x, s, pixel_size, 0, ex.shape[0], ex)
    r_lo, r_hi = pixel_fractions_1d(y, s, pixel_size, 0, ey.shape[0], ey)
    rng_xy[0] = c_lo
    rng_xy[1] = c_hi
    rng_xy[2] = r_lo
    rng_xy[3] = r_hi


@njit(cache=True)
def frame_psf(n, K, EX, EY, WIN, cw, out):
    """PSF image of frame n, ``sum_m sum_k c_k EY EX^T`` into ``out (R, C)`` (within each window)."""
    M = EX.shape[0]
    R = out.shape[0]
    C = out.shape[1]
    for r in range(R):
        for c in range(C):
            out[r, c] = 0.0
    for m in range(M):
        for k in range(K):
            j = n * K + k
            w = cw[k]
            for r in range(WIN[m, j, 2], WIN[m, j, 3]):
                a = w * EY[m, j, r]
                for c in range(WIN[m, j, 0], WIN[m, j, 1]):
                    out[r, c] += a * EX[m, j, c]


@njit(cache=True)
def frame_loglik(adu_n, S_n, bg, h, cam_code, cam_par, cam_maps, ubuf, obuf):
    """Emission log-likelihood of one frame: camera log-density of ``adu`` at ``u = bg + h*S``.

    ``ubuf``, ``obuf`` are (R, C) work arrays.
    """
    R = S_n.shape[0]
    C = S_n.shape[1]
    for r in range(R):
        for c in range(C):
            ubuf[r, c] = bg + h * S_n[r, c]
    if cam_code == CAM_EMCCD_GAMMA:
        return emccd_gamma_logpdf_sum(adu_n, ubuf, cam_par[0], cam_par[1], cam_par[2])
    if cam_code == CAM_EMCCD_PGN:
        emccd_pgn_logpdf(
            adu_n,
            ubuf,
            cam_par[0],
            cam_par[1],
            cam_par[2],
            cam_par[3],
            cam_par[4],
            cam_par[5],
            cam_par[6],
            cam_par[7],
            obuf,
        )
    elif cam_code == CAM_SCMOS:
        scmos_logpdf(
            adu_n, ubuf, cam_par[0], cam_maps[0], cam_maps[1], cam_maps[2], cam_par[1], obuf
        )
    else:
        scmos_gauss_logpdf(adu_n, ubuf, cam_par[0], cam_maps[0], cam_maps[1], cam_maps[2], obuf)
    tot = 0.0
    for r in range(R):
        for c in range(C):
            tot += obuf[r, c]
    return tot


@njit(cache=True)
def init_state(
    pos, K, pixel_size, psf_par, cw, adu, bg, h, cam_code, cam_par, cam_maps, EX, EY, WIN, S, ll
):
    """Fill the caches ``EX, EY, WIN, S, ll`` from the positions (full recomputation)."""
    M = pos.shape[0]
    L = pos.shape[1]
    N = L // K
    ubuf = np.empty(S.shape[1:])
    obuf = np.empty(S.shape[1:])
    for m in range(M):
        for j in range(L):
            point_factors(
                pos[m, j, 0],
                pos[m, j, 1],
                pos[m, j, 2],
                pixel_size,
                psf_par,
                EX[m, j],
                EY[m, j],
                WIN[m, j],
            )
    for n in range(N):
        frame_psf(n, K, EX, EY, WIN, cw, S[n])
        ll[n] = frame_loglik(adu[n], S[n], bg, h, cam_code, cam_par, cam_maps, ubuf, obuf)


@njit(cache=True)
def _incr_lp(pos, m, j, dts, D):
    """Brownian log-density (3D) of the increment from point j to j+1 of emitter m."""
    v = 2.0 * D * dts[j]
    d2 = 0.0
    for a in range(3):
        d = pos[m, j + 1, a] - pos[m, j, a]
        d2 += d * d
    return -1.5 * (_LOG2PI + math.log(v)) - 0.5 * d2 / v


@njit(cache=True)
def _init_lp(pos, m, mu0, s0):
    out = 0.0
    for a in range(3):
        d = (pos[m, 0, a] - mu0[a]) / s0[a]
        out += -0.5 * (_LOG2PI + d * d) - math.log(s0[a])
    return out


@njit(cache=True)
def block_motion_lp(pos, m, j0, j1, dts, D, mu0, s0):
    """Motion log-prior terms that involve any of the points j0..j1 of emitter m."""
    L = pos.shape[1]
    out = 0.0
    lo = j0 - 1 if j0 > 0 else 0
    hi = j1 if j1 < L - 1 else L - 2
    for j in range(lo, hi + 1):
        out += _incr_lp(pos, m, j, dts, D)
    if j0 == 0:
        out += _init_lp(pos, m, mu0, s0)
    return out


@njit(cache=True)
def motion_lp(pos, dts, D, mu0, s0):
    """Full motion log-prior: Gaussian initial position plus the Brownian increments, all emitters."""
    M = pos.shape[0]
    L = pos.shape[1]
    out = 0.0
    for m in range(M):
        out += _init_lp(pos, m, mu0, s0)
        for j in range(L - 1):
            out += _incr_lp(pos, m, j, dts, D)
    return out


@njit(cache=True)
def _band_offdiag(pos, m, n, a, qband):
    """``sum_{j != n} Q[n, j] x_j`` along axis a of emitter m (banded precision ``qband``)."""
    L = pos.shape[1]
    W = qband.shape[1] - 1
    out = 0.0
    for k in range(1, W + 1):
        if n + k < L:
            out += qband[n, k] * pos[m, n + k, a]
        if n - k >= 0:
            out += qband[n - k, k] * pos[m, n - k, a]
    return out


@njit(cache=True)
def band_point_lp(pos, m, n, qband, D, mu0, s0):
    """Terms of the K = 1 motion log-prior that involve point n of emitter m.

    The prior is ``-x^T Q x / (4 D)`` per axis plus the initial-position term (see
    :func:`sptmotion.tracking.bayes.brownian_precision_band`); the terms without ``x_n`` are
    left out, so differences between two values of ``x_n`` are exact.
    """
    quad = 0.0
    for a in range(3):
        x = pos[m, n, a]
        quad += qband[n, 0] * x * x + 2.0 * x * _band_offdiag(pos, m, n, a, qband)
    out = -quad / (4.0 * D)
    if n == 0:
        out += _init_lp(pos, m, mu0, s0)
    return out


@njit(cache=True)
def band_quad(pos, qband):
    """``sum_m sum_axes x^T Q x`` over all emitters (banded precision)."""
    M = pos.shape[0]
    L = pos.shape[1]
    W = qband.shape[1] - 1
    tot = 0.0
    for m in range(M):
        for a in range(3):
            for j in range(L):
                x = pos[m, j, a]
                s = qband[j, 0] * x
                for k in range(1, W + 1):
                    if j + k < L:
                        s += 2.0 * qband[j, k] * pos[m, j + k, a]
                tot += x * s
    return tot


@njit(cache=True)
def band_motion_lp(pos, qband, logdet_t, D, mu0, s0):
    """Full K = 1 motion log-prior: initial positions plus the (correlated) Brownian increments."""
    M = pos.shape[0]
    L = pos.shape[1]
    out = -band_quad(pos, qband) / (4.0 * D)
    for m in range(M):
        out += _init_lp(pos, m, mu0, s0)
    if L > 1:
        out -= 1.5 * M * ((L - 1) * (_LOG2PI + math.log(2.0 * D)) + logdet_t)
    return out


@njit(cache=True)
def _band_cond_draw(pos, m, n, qband, D, mu0, s0, newpt):
    """Draw point n of emitter m from its Gaussian conditional prior given all other points.

    Per axis the precision is ``Q_nn / (2 D)`` (plus ``1/s0^2`` at n = 0) and the mean
    ``-sum_{j != n} Q_nj x_j / Q_nn`` (combined with the initial prior at n = 0).
    """
    for a in range(3):
        prec = qband[n, 0] / (2.0 * D)
        lin = -_band_offdiag(pos, m, n, a, qband) / (2.0 * D)
        if n == 0:
            p0 = 1.0 / (s0[a] * s0[a])
            prec += p0
            lin += mu0[a] * p0
        newpt[0, a] = lin / prec + math.sqrt(1.0 / prec) * np.random.standard_normal()


@njit(cache=True)
def _band_tail_cross(pos, m, j0, qband):
    """``sum_{i < j0 <= j} Q_ij z_i z_j`` (z axis): the cross terms a tail flip from j0 negates."""
    L = pos.shape[1]
    W = qband.shape[1] - 1
    out = 0.0
    for i in range(max(0, j0 - W), j0):
        for j in range(j0, min(L, i + W + 1)):
            out += qband[i, j - i] * pos[m, i, 2] * pos[m, j, 2]
    return out


@njit(cache=True)
def _bridge_draw(pos, m, j0, j1, times, D, mu0, s0, newpts):
    """Draw points j0..j1 of emitter m from their Brownian conditional prior given the rest.

    Sequential: each point from the bridge between the previous (drawn) point and the first point
    after the block (or the free Brownian step at the end of the track). Without a left neighbour
    (first frame) the first point is drawn from the Gaussian product of its prior and the
    right neighbour.
    """
    L = pos.shape[1]
    has_right = j1 < L - 1
    for a in range(3):
        b = pos[m, j1 + 1, a] if has_right else 0.0
        tb = times[j1 + 1] if has_right else 0.0
        if j0 == 0:
            p0 = 1.0 / (s0[a] * s0[a])
            mean = mu0[a] * p0
            prec = p0
            if has_right:
                v = 2.0 * D * (tb - times[0])
                prec += 1.0 / v
                mean += b / v
            mean /= prec
            left = mean + math.sqrt(1.0 / prec) * np.random.standard_normal()
            newpts[0, a] = left
            tl = times[0]
            start = 1
        else:
            left = pos[m, j0 - 1, a]
            tl = times[j0 - 1]
            start = 0
        for i in range(start, j1 - j0 + 1):
            t = times[j0 + i]
            if has_right:
                f = (t - tl) / (tb - tl)
                mean = left + f * (b - left)
                var = 2.0 * D * (t - tl) * (tb - t) / (tb - tl)
            else:
                mean = left
                var = 2.0 * D * (t - tl)
            x = mean + math.sqrt(var) * np.random.standard_normal()
            newpts[i, a] = x
            left = x
            tl = t


@njit(cache=True)
def _stack_proposal(pos, K, pixel_size, psf_par, cw, adu, bg, h, cam_code, cam_par, cam_maps, ll):
    """Whole-stack caches ``(EX, EY, WIN, S, ll)`` for positions ``pos`` and PSF parameters
    ``psf_par`` (fresh arrays, :func:`init_state`), and the emission log-likelihood ratio to the
    current per-frame values ``ll``: what a move that changes every frame (D steps) evaluates."""
    M = pos.shape[0]
    L = pos.shape[1]
    N, R, C = adu.shape
    EX = np.empty((M, L, C))
    EY = np.empty((M, L, R))
    WIN = np.empty((M, L, 4), dtype=np.int64)
    S = np.empty((N, R, C))
    ll_new = np.empty(N)
    init_state(
        pos,
        K,
        pixel_size,
        psf_par,
        cw,
        adu,
        bg,
        h,
        cam_code,
        cam_par,
        cam_maps,
        EX,
        EY,
        WIN,
        S,
        ll_new,
    )
    log_r = 0.0
    for n in range(N):
        log_r += ll_new[n] - ll[n]
    return EX, EY, WIN, S, ll_new, log_r


@njit(cache=True)
def _adopt_stack(new, EX, EY, WIN, S, ll):
    """Copy the caches of an accepted :func:`_stack_proposal` into the chain's."""
    EX[...] = new[0]
    EY[...] = new[1]
    WIN[...] = new[2]
    S[...] = new[3]
    ll[...] = new[4]


@njit(cache=True)
def _blur_d_step(
    D_new,
    blur_coef,
    pos,
    EX,
    EY,
    WIN,
    S,
    ll,
    theta,
    K,
    adu,
    pixel_size,
    psf_par,
    cw,
    bg,
    h,
    cam_code,
    cam_par,
    cam_maps,
    acc,
    prop,
):
    """Metropolis-Hastings step of D under the blur-aware emission (independence proposal D_new).

    Target ``p(D | r, data) ∝ p(D) p(r | D) p(data | r, D)``; proposal
    ``q(D') ∝ p(D') p(r | D')`` (the conjugate inverse-gamma conditional of the motion part), so
    ``log alpha = ln p(data | r, D') - ln p(data | r, D)``, evaluated over the whole stack.
    """
    par_new = psf_par.copy()
    par_new[2] = blur_coef * D_new
    new = _stack_proposal(
        pos, K, pixel_size, par_new, cw, adu, bg, h, cam_code, cam_par, cam_maps, ll
    )
    log_r = new[5]
    prop[8] += 1.0
    if log_r >= 0.0 or np.random.random() < math.exp(log_r):
        acc[8] += 1.0
        theta[0] = D_new
        psf_par[2] = par_new[2]
        _adopt_stack(new, EX, EY, WIN, S, ll)


@njit(cache=True)
def scale_d_step(
    log_scale,
    ncw,
    pos,
    EX,
    EY,
    WIN,
    S,
    ll,
    theta,
    K,
    adu,
    pixel_size,
    psf_par,
    cw,
    bg,
    h,
    cam_code,
    cam_par,
    cam_maps,
    dts,
    mu0,
    s0,
    d_prior,
    acc,
    prop,
):
    """Joint move of D and the sub-frame path (K >= 2, non-centred); returns its acceptance probability.

    Per emitter and axis the path ``x`` (L = N K points) is split into ``P x``, the Brownian
    conditional mean of the path given its N exposure averages ``m_n = sum_k c_k x_{nK+k}``
    (``ncw (N, K, 3)``: weights of the averages of frames n-1, n, n+1, from
    :func:`sptmotion.tracking.bayes.frame_mean_bridge_weights`), and the sub-frame deviations
    ``x - P x``. The move proposes ``D' = D exp(log_scale * xi)`` and
    ``x' = P x + s (x - P x)`` with ``s = sqrt(D'/D)``: the exposure averages (what the images
    measure) stay, the deviations scale with the Brownian step length. ``P`` is a projection
    (``P x' = P x``), so the map is inverted by ``1/s``; its Jacobian is ``s^(3 M N (K-1))``, and the
    log-scale proposal contributes ``D'/D``. Acceptance: the ratio of emission likelihood (whole
    stack), motion prior, D prior, Jacobian and proposal terms. Counted under move index 9.
    """
    M = pos.shape[0]
    L = pos.shape[1]
    N = L // K
    D = theta[0]
    D_new = D * math.exp(log_scale * np.random.standard_normal())
    s = math.sqrt(D_new / D)
    new = np.empty_like(pos)
    means = np.empty(N)
    for m in range(M):
        for a in range(3):
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
    log_r = motion_lp(new, dts, D_new, mu0, s0) - motion_lp(pos, dts, D, mu0, s0)
    log_r += -(d_prior[0] + 1.0) * math.log(D_new / D) - d_prior[1] * (1.0 / D_new - 1.0 / D)
    log_r += 3.0 * M * N * (K - 1) * math.log(s) + math.log(D_new / D)
    stack = _stack_proposal(
        new, K, pixel_size, psf_par, cw, adu, bg, h, cam_code, cam_par, cam_maps, ll
    )
    log_r += stack[5]
    prop[9] += 1.0
    alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
    if np.random.random() < alpha:
        acc[9] += 1.0
        theta[0] = D_new
        pos[...] = new
        _adopt_stack(stack, EX, EY, WIN, S, ll)
    return alpha


@njit(cache=True)
def sweep(
    seed,
    adapt_gain,
    pos,
    EX,
    EY,
    WIN,
    S,
    ll,
    theta,
    K,
    adu,
    pixel_size,
    psf_par,
    cw,
    area_te,
    t_e,
    cam_code,
    cam_par,
    cam_maps,
    times,
    dts,
    mu0,
    s0,
    d_prior,
    f_prior,
    h_prior,
    sample_flags,
    log_scales,
    glob_scales,
    acc,
    prop,
    blur_coef,
    qband,
    ncw,
):
    """One MCMC sweep: every move type on every frame and emitter, then D, F and H.

    ``adapt_gain > 0`` adapts the proposal scales (Robbins-Monro, towards ``TARGET_ACCEPT``);
    0 freezes them (after burn-in). ``sample_flags = [sample_D, sample_F, sample_H]``.
    ``log_scales (N, M, 3)``: per frame and emitter log proposal scales of the lateral, axial and
    single-point moves; ``glob_scales (3,)``: log scales of the F and H moves and of the joint D
    move. ``acc``/``prop`` (N_MOVES,) accumulate accepted/proposed moves per type.

    ``blur_coef`` (s): 0 for the plain emission model; > 0 for the blur-aware K = 1 emission, whose
    PSF variance ``psf_par[2] = blur_coef * D`` (µm², ``blur_coef = t_E / 3``) depends on D. Then the
    D step is Metropolis-Hastings: D' is drawn from the conjugate inverse-gamma conditional of the
    motion part (independence proposal), so the acceptance ratio is the ratio of the whole-stack
    emission likelihoods at D' and D (one full recomputation per sweep); on acceptance
    ``psf_par[2]`` and all caches are updated. Acceptance counted under move index 8.

    ``qband (L, w + 1)``: with K = 1, the banded precision of the exposure-averaged Brownian prior
    (:func:`sptmotion.tracking.bayes.brownian_precision_band`), used by every move and the D step
    (``times``/``dts`` unused); empty ``(0, 1)`` for K >= 2 (Markov Brownian prior on ``dts``).

    ``ncw (N, K, 3)``: with K >= 2, the weights of :func:`scale_d_step` (after the Gibbs step of D,
    one joint move of D and the sub-frame path per sweep); empty ``(0, K, 3)`` for K = 1.
    """
    np.random.seed(seed)
    M = pos.shape[0]
    L = pos.shape[1]
    N = L // K
    band = qband.shape[0] > 0
    R = S.shape[1]
    C = S.shape[2]
    D = theta[0]
    bg = theta[1] * area_te
    h = theta[2] * t_e
    old_pts = np.empty((K, 3))
    new_pts = np.empty((K, 3))
    old_ex = np.empty((K, C))
    old_ey = np.empty((K, R))
    old_win = np.empty((K, 4), dtype=np.int64)
    S_new = np.empty((R, C))
    ubuf = np.empty((R, C))
    obuf = np.empty((R, C))
    for n in range(N):
        j0 = n * K
        j1 = j0 + K - 1
        for m in range(M):
            for move in range(5):
                if move == 4 and K == 1:
                    continue
                if move == 4:
                    kk = np.random.randint(0, K)
                    a0 = j0 + kk
                    a1 = a0
                else:
                    a0 = j0
                    a1 = j1
                nb = a1 - a0 + 1
                if band:
                    lp_old = band_point_lp(pos, m, a0, qband, D, mu0, s0)
                else:
                    lp_old = block_motion_lp(pos, m, a0, a1, dts, D, mu0, s0)
                for i in range(nb):
                    for a in range(3):
                        old_pts[i, a] = pos[m, a0 + i, a]
                if move == 0:
                    sc = math.exp(log_scales[n, m, 0])
                    dx = sc * np.random.standard_normal()
                    dy = sc * np.random.standard_normal()
                    for i in range(nb):
                        pos[m, a0 + i, 0] += dx
                        pos[m, a0 + i, 1] += dy
                elif move == 1:
                    sc = math.exp(log_scales[n, m, 1])
                    dz = sc * np.random.standard_normal()
                    for i in range(nb):
                        pos[m, a0 + i, 2] += dz
                elif move == 2:
                    if band:
                        _band_cond_draw(pos, m, a0, qband, D, mu0, s0, new_pts)
                    else:
                        _bridge_draw(pos, m, a0, a1, times, D, mu0, s0, new_pts)
                    for i in range(nb):
                        for a in range(3):
                            pos[m, a0 + i, a] = new_pts[i, a]
                elif move == 3:
                    for i in range(nb):
                        pos[m, a0 + i, 2] = -pos[m, a0 + i, 2]
                else:
                    sc = math.exp(log_scales[n, m, 2])
                    for a in range(3):
                        pos[m, a0, a] += sc * np.random.standard_normal()
                if band:
                    lp_new = band_point_lp(pos, m, a0, qband, D, mu0, s0)
                else:
                    lp_new = block_motion_lp(pos, m, a0, a1, dts, D, mu0, s0)
                if move == 3:
                    # |z| is unchanged, so is the PSF: the emission term cancels exactly.
                    log_r = lp_new - lp_old
                    ll_new = ll[n]
                else:
                    for i in range(nb):
                        for c in range(C):
                            old_ex[i, c] = EX[m, a0 + i, c]
                        for r in range(R):
                            old_ey[i, r] = EY[m, a0 + i, r]
                        for q in range(4):
                            old_win[i, q] = WIN[m, a0 + i, q]
                        j = a0 + i
                        point_factors(
                            pos[m, j, 0],
                            pos[m, j, 1],
                            pos[m, j, 2],
                            pixel_size,
                            psf_par,
                            EX[m, j],
                            EY[m, j],
                            WIN[m, j],
                        )
                    frame_psf(n, K, EX, EY, WIN, cw, S_new)
                    ll_new = frame_loglik(
                        adu[n], S_new, bg, h, cam_code, cam_par, cam_maps, ubuf, obuf
                    )
                    if move == 2:
                        log_r = ll_new - ll[n]
                    else:
                        log_r = ll_new - ll[n] + lp_new - lp_old
                prop[move] += 1.0
                alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
                if np.random.random() < alpha:
                    acc[move] += 1.0
                    if move != 3:
                        ll[n] = ll_new
                        for r in range(R):
                            for c in range(C):
                                S[n, r, c] = S_new[r, c]
                else:
                    for i in range(nb):
                        for a in range(3):
                            pos[m, a0 + i, a] = old_pts[i, a]
                    if move != 3:
                        for i in range(nb):
                            for c in range(C):
                                EX[m, a0 + i, c] = old_ex[i, c]
                            for r in range(R):
                                EY[m, a0 + i, r] = old_ey[i, r]
                            for q in range(4):
                                WIN[m, a0 + i, q] = old_win[i, q]
                if adapt_gain > 0.0:
                    if move == 0:
                        log_scales[n, m, 0] += adapt_gain * (alpha - TARGET_ACCEPT)
                    elif move == 1:
                        log_scales[n, m, 1] += adapt_gain * (alpha - TARGET_ACCEPT)
                    elif move == 4:
                        log_scales[n, m, 2] += adapt_gain * (alpha - TARGET_ACCEPT)
    # tail flip: z -> -z for every point from a random frame on (only the terms that couple the
    # points before and after the flip change: one increment, or the band's cross terms)
    for m in range(M):
        n = np.random.randint(0, N)
        j0 = n * K
        if j0 == 0:
            lp_old = _init_lp(pos, m, mu0, s0)
        elif band:
            # -z^T Q z / (4 D): the cross terms 2 C between the two parts change sign
            lp_old = -2.0 * _band_tail_cross(pos, m, j0, qband) / (4.0 * D)
        else:
            lp_old = _incr_lp(pos, m, j0 - 1, dts, D)
        for j in range(j0, L):
            pos[m, j, 2] = -pos[m, j, 2]
        if j0 == 0:
            lp_new = _init_lp(pos, m, mu0, s0)
        elif band:
            lp_new = -2.0 * _band_tail_cross(pos, m, j0, qband) / (4.0 * D)
        else:
            lp_new = _incr_lp(pos, m, j0 - 1, dts, D)
        prop[5] += 1.0
        if np.random.random() < math.exp(min(0.0, lp_new - lp_old)):
            acc[5] += 1.0
        else:
            for j in range(j0, L):
                pos[m, j, 2] = -pos[m, j, 2]
    # D: conjugate inverse-gamma Gibbs step, prior InvGamma(d_prior[0], d_prior[1])
    if sample_flags[0]:
        a_post = d_prior[0] + 1.5 * M * (L - 1)
        b_post = d_prior[1]
        if band:
            b_post += band_quad(pos, qband) / 4.0
        else:
            for m in range(M):
                for j in range(L - 1):
                    d2 = 0.0
                    for a in range(3):
                        d = pos[m, j + 1, a] - pos[m, j, a]
                        d2 += d * d
                    b_post += d2 / (4.0 * dts[j])
        D_new = b_post / np.random.gamma(a_post, 1.0)
        if blur_coef > 0.0:
            _blur_d_step(
                D_new,
                blur_coef,
                pos,
                EX,
                EY,
                WIN,
                S,
                ll,
                theta,
                K,
                adu,
                pixel_size,
                psf_par,
                cw,
                bg,
                h,
                cam_code,
                cam_par,
                cam_maps,
                acc,
                prop,
            )
        else:
            theta[0] = D_new
        if ncw.shape[0] > 0:
            alpha = scale_d_step(
                math.exp(glob_scales[2]),
                ncw,
                pos,
                EX,
                EY,
                WIN,
                S,
                ll,
                theta,
                K,
                adu,
                pixel_size,
                psf_par,
                cw,
                bg,
                h,
                cam_code,
                cam_par,
                cam_maps,
                dts,
                mu0,
                s0,
                d_prior,
                acc,
                prop,
            )
            if adapt_gain > 0.0:
                glob_scales[2] += adapt_gain * (alpha - TARGET_ACCEPT)
    # F and H: random walk on log scale, log-normal priors N(log mean, sd) on the log
    ll_prop = np.empty(N)
    for which in range(2):
        if not sample_flags[1 + which]:
            continue
        pr = f_prior if which == 0 else h_prior
        cur = theta[1 + which]
        lcur = math.log(cur)
        lnew = lcur + math.exp(glob_scales[which]) * np.random.standard_normal()
        new = math.exp(lnew)
        if which == 0:
            bg_n = new * area_te
            h_n = theta[2] * t_e
        else:
            bg_n = theta[1] * area_te
            h_n = new * t_e
        tot_old = 0.0
        tot_new = 0.0
        for n in range(N):
            ll_prop[n] = frame_loglik(
                adu[n], S[n], bg_n, h_n, cam_code, cam_par, cam_maps, ubuf, obuf
            )
            tot_new += ll_prop[n]
            tot_old += ll[n]
        dprior = (-0.5 * ((lnew - pr[0]) / pr[1]) ** 2) - (-0.5 * ((lcur - pr[0]) / pr[1]) ** 2)
        log_r = tot_new - tot_old + dprior
        alpha = 1.0 if log_r >= 0.0 else math.exp(log_r)
        prop[6 + which] += 1.0
        if np.random.random() < alpha:
            acc[6 + which] += 1.0
            theta[1 + which] = new
            for n in range(N):
                ll[n] = ll_prop[n]
        if adapt_gain > 0.0:
            glob_scales[which] += adapt_gain * (alpha - TARGET_ACCEPT)


@njit(cache=True)
def total_loglik(adu, S, bg, h, cam_code, cam_par, cam_maps):
    """Emission log-likelihood of the whole stack from the cached PSF images."""
    ubuf = np.empty(S.shape[1:])
    obuf = np.empty(S.shape[1:])
    tot = 0.0
    for n in range(S.shape[0]):
        tot += frame_loglik(adu[n], S[n], bg, h, cam_code, cam_par, cam_maps, ubuf, obuf)
    return tot
