"""numba kernels of the Bayesian tracker: PSF factors, frame images, motion priors, proposals.

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
:mod:`sptmotion.optics.kernels` (the one place where the PSF and the camera models live).

Motion prior: with K >= 2 the sub-frame points follow the Markov Brownian prior (increments
``N(0, 2 D dt_j)``); with K = 1 each point is an exposure-averaged position, whose increments are
correlated (MA(1)), so the prior is a Gaussian with the banded precision ``Q / (2 D)`` per axis of
:func:`sptmotion.tracking.bayes.brownian_precision_band` (``qband``).

The moves that use these kernels, one function each, and the sweep are in
:mod:`sptmotion.tracking.moves`; the chain state and the problem are the records of
:mod:`sptmotion.tracking.records`.
"""

# numba supports only the legacy np.random API inside jitted code (seeded per sweep by the caller).
# ruff: noqa: NPY002
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..optics.kernels import (
    CAM_EMCCD_GAMMA,
    CAM_SCMOS,
    CAM_SCMOS_GAUSS,
    CAM_SCMOS_POISSON,
    camera_frame_loglik,
    emccd_gamma_logpdf_sum_sparse,
    gl_sigma,
    pixel_fractions_1d_cut,
)

_LOG2PI = math.log(2.0 * math.pi)
#: Positions or PSF widths beyond this (µm) put an emitter far outside any ROI.
_FAR = 1.0e6
#: The tracker's PSF factors stop this many standard deviations from the point: the spot's
#: photons beyond (a fraction erfc(6 / sqrt 2) = 2e-9 per side, 1e-8 of the peak pixel's at
#: the edge) are far below any camera's noise, and each move evaluates half the pixels of the
#: exact 8.6-sd window (:func:`sptmotion.optics.kernels.pixel_fractions_1d`).
TRACK_WINDOW_SD = 6.0


@njit(cache=True)
def seed_numba(seed: int) -> None:
    """Seed numba's internal generator (used by the sweep kernel)."""
    np.random.seed(seed)


@njit(cache=True)
def point_factors(x, y, z, pixel_size, psf_par, blur_fac, ex, ey, rng_xy):
    """Pixel-integrated PSF factors of one point: ``ex (C,)`` along x, ``ey (R,)`` along y.

    ``psf_par = [sigma0, z0, blur_var]``: the lateral Gaussian width is
    ``sqrt(sigma(z)^2 + blur_fac blur_var)`` with the Gaussian-Lorentzian ``sigma(z)`` of
    :func:`sptmotion.optics.kernels.gl_sigma` (``blur_var = 0``: the PSF itself); ``blur_fac``
    is the emitter's D over the chain's D (its own motion blur).

    Entries outside the non-zero window are set to 0; ``rng_xy = [c_lo, c_hi, r_lo, r_hi]``
    receives the window (half-open column and row ranges).
    """
    s = gl_sigma(z, psf_par[0], psf_par[1])
    if psf_par[2] > 0.0:
        # motion-blur variance of the exposure-averaged image (blur-aware K = 1 emission)
        s = math.sqrt(s * s + blur_fac * psf_par[2])
    ex[:] = 0.0
    ey[:] = 0.0
    if not (abs(x) < _FAR and abs(y) < _FAR and s < _FAR):
        # far outside the ROI (or not finite): no photons, and no integer overflow of pixel indices
        rng_xy[0] = 0
        rng_xy[1] = 0
        rng_xy[2] = 0
        rng_xy[3] = 0
        return
    c_lo, c_hi = pixel_fractions_1d_cut(x, s, pixel_size, 0, ex.shape[0], ex, TRACK_WINDOW_SD)
    r_lo, r_hi = pixel_fractions_1d_cut(y, s, pixel_size, 0, ey.shape[0], ey, TRACK_WINDOW_SD)
    rng_xy[0] = c_lo
    rng_xy[1] = c_hi
    rng_xy[2] = r_lo
    rng_xy[3] = r_hi


@njit(cache=True)
def frame_psf(n, K, EX, EY, WIN, cw, on, out):
    """PSF image of frame n, ``sum_m on_mn sum_k c_k EY EX^T`` into ``out (R, C)`` (within each
    window); ``on (M, N)`` is 1 where emitter m is present in frame n, 0 where it is not."""
    M = EX.shape[0]
    R = out.shape[0]
    C = out.shape[1]
    for r in range(R):
        for c in range(C):
            out[r, c] = 0.0
    for m in range(M):
        if on[m, n] == 0.0:
            continue
        for k in range(K):
            j = n * K + k
            w = cw[k] * on[m, n]
            for r in range(WIN[m, j, 2], WIN[m, j, 3]):
                a = w * EY[m, j, r]
                for c in range(WIN[m, j, 0], WIN[m, j, 1]):
                    out[r, c] += a * EX[m, j, c]


@njit(cache=True)
def frame_psf_window(n, K, EX, EY, WIN, cw, on, out, r0, r1, c0, c1):
    """:func:`frame_psf` on the rows ``r0:r1`` and columns ``c0:c1`` of ``out`` only (the same
    terms added in the same order, so the same numbers as the whole frame's)."""
    M = EX.shape[0]
    for r in range(r0, r1):
        for c in range(c0, c1):
            out[r, c] = 0.0
    for m in range(M):
        if on[m, n] == 0.0:
            continue
        for k in range(K):
            j = n * K + k
            w = cw[k] * on[m, n]
            ra = max(WIN[m, j, 2], r0)
            rb = min(WIN[m, j, 3], r1)
            ca = max(WIN[m, j, 0], c0)
            cb = min(WIN[m, j, 1], c1)
            for r in range(ra, rb):
                a = w * EY[m, j, r]
                for c in range(ca, cb):
                    out[r, c] += a * EX[m, j, c]


@njit(cache=True)
def _per_pixel_maps(cam_code, cam_maps):
    """Whether the camera's maps are per pixel (sCMOS gain, offset, read-noise maps)."""
    scmos = cam_code == CAM_SCMOS or cam_code == CAM_SCMOS_GAUSS or cam_code == CAM_SCMOS_POISSON
    return scmos and cam_maps.shape[1] > 1


@njit(cache=True)
def window_loglik(adu_n, S_n, bg, h, cam_code, cam_par, cam_maps, r0, r1, c0, c1, ubuf, obuf):
    """Camera log-likelihood of the rows ``r0:r1`` and columns ``c0:c1`` of one frame (0 for an
    empty window); per-pixel camera maps are cut to the window."""
    if r1 <= r0 or c1 <= c0:
        return 0.0
    if _per_pixel_maps(cam_code, cam_maps):
        maps = cam_maps[:, r0:r1, c0:c1]
    else:
        maps = cam_maps[:, :, :]
    return camera_frame_loglik(
        adu_n[r0:r1, c0:c1], S_n[r0:r1, c0:c1], bg, h, cam_code, cam_par, maps,
        ubuf[: r1 - r0, : c1 - c0], obuf[: r1 - r0, : c1 - c0],
    )  # fmt: skip


@njit(cache=True)
def frame_loglik(
    adu, logw, wsum, n, S_n, bg, h, cam_code, cam_par, cam_maps, ubuf, obuf, bgll, bgsum, bg_at
):  # fmt: skip
    """Emission log-likelihood of frame n at ``u = bg + h S_n`` (:func:`camera_frame_loglik`).

    Only the pixels some spot reaches are evaluated when the rest is known: with the EMCCD
    Gamma camera from its data terms ``logw (N, R, C) = log(adu - offset)`` and ``wsum (N, 2)``
    (their per-frame sums of ``log w`` and ``w``;
    :func:`~sptmotion.optics.kernels.emccd_gamma_logpdf_sum_sparse`), with any other camera from
    the background-only log-densities ``bgll (N, R, C)`` and their sums ``bgsum (N,)`` when they
    were computed at this background, ``bg_at[0] == bg`` (:func:`background_terms`,
    :func:`sparse_frame_loglik`). Otherwise (``logw``, ``bgll`` with no frames, or another
    background) every pixel.
    """
    if cam_code == CAM_EMCCD_GAMMA and logw.shape[0] > 0:
        return emccd_gamma_logpdf_sum_sparse(
            logw[n], wsum[n, 0], wsum[n, 1], S_n, bg, h, cam_par[0], cam_par[1]
        )
    if bgll.shape[0] > 0 and bg_at[0] == bg:
        return sparse_frame_loglik(adu[n], S_n, bg, h, cam_code, cam_par, cam_maps, bgll[n],
                                   bgsum[n], ubuf, obuf)  # fmt: skip
    return camera_frame_loglik(adu[n], S_n, bg, h, cam_code, cam_par, cam_maps, ubuf, obuf)


@njit(cache=True)
def background_terms(adu, bg, cam_code, cam_par, cam_maps, bgll, bgsum, bg_at, ubuf, obuf):
    """Fill ``bgll (N, R, C)`` with each pixel's camera log-density at the background alone,
    ``u = bg`` photons, ``bgsum (N,)`` with their per-frame sums, and ``bg_at[0] = bg``: what
    :func:`sparse_frame_loglik` adds the spots' pixels to (not for the EMCCD Gamma camera,
    whose data terms do this in closed form)."""
    N, R, C = adu.shape
    zero = np.zeros((R, C))
    for n in range(N):
        bgsum[n] = camera_frame_loglik(adu[n], zero, bg, 0.0, cam_code, cam_par, cam_maps, ubuf,
                                       obuf)  # fmt: skip
        for r in range(R):
            for c in range(C):
                bgll[n, r, c] = obuf[r, c]
    bg_at[0] = bg


@njit(cache=True)
def sparse_frame_loglik(adu_n, S_n, bg, h, cam_code, cam_par, cam_maps, bgll_n, bgsum_n, ubuf,
                        obuf):  # fmt: skip
    """:func:`camera_frame_loglik` of one frame from its background-only terms: ``bgsum_n`` plus,
    over the pixels some spot reaches (``S_n != 0``), the log-density at ``u = bg + h S_n``
    minus ``bgll_n`` (:func:`background_terms`, at the same ``bg``). Those pixels are gathered
    into one row (per-pixel sCMOS maps with them); ``ubuf``, ``obuf``: C-contiguous (R, C)."""
    R = S_n.shape[0]
    C = S_n.shape[1]
    P = R * C
    a_g = np.empty((1, P))
    s_g = np.empty((1, P))
    per_pixel = _per_pixel_maps(cam_code, cam_maps)
    nq = cam_maps.shape[0]
    m_g = np.empty((nq, 1, P)) if per_pixel else np.empty((nq, 1, 1))
    k = 0
    base = 0.0
    for r in range(R):
        for c in range(C):
            if S_n[r, c] != 0.0:
                a_g[0, k] = adu_n[r, c]
                s_g[0, k] = S_n[r, c]
                if per_pixel:
                    for q in range(nq):
                        m_g[q, 0, k] = cam_maps[q, r, c]
                base += bgll_n[r, c]
                k += 1
    if k == 0:
        return bgsum_n
    ub = ubuf.reshape(1, P)
    ob = obuf.reshape(1, P)
    if per_pixel:
        maps = m_g[:, :, :k]
    else:
        maps = cam_maps[:, :, :]
    spots = camera_frame_loglik(a_g[:, :k], s_g[:, :k], bg, h, cam_code, cam_par, maps,
                                ub[:, :k], ob[:, :k])  # fmt: skip
    return bgsum_n + spots - base


def gamma_data_terms(adu: np.ndarray, cam_code: int, cam_par: np.ndarray):
    """``logw, wsum`` of :func:`frame_loglik` for a stack (empty for other cameras, or when some
    ADU value is at or below the offset, where the full sum reports the problem)."""
    N, R, C = adu.shape
    if cam_code == CAM_EMCCD_GAMMA:
        w = adu - cam_par[2]
        if np.all(w > 0.0) and np.all(np.isfinite(w)):
            logw = np.log(w)
            return logw, np.stack([logw.sum(axis=(1, 2)), w.sum(axis=(1, 2))], axis=1)
    return np.zeros((0, R, C)), np.zeros((0, 2))


@njit(cache=True)
def grow_window(box, WIN, m, j):
    """Extend ``box = [r0, r1, c0, c1]`` by the (non-empty) window of point j of emitter m."""
    if WIN[m, j, 1] <= WIN[m, j, 0] or WIN[m, j, 3] <= WIN[m, j, 2]:
        return
    box[0] = min(box[0], WIN[m, j, 2])
    box[1] = max(box[1], WIN[m, j, 3])
    box[2] = min(box[2], WIN[m, j, 0])
    box[3] = max(box[3], WIN[m, j, 1])


@njit(cache=True)
def init_state(
    pos, K, pixel_size, psf_par, dfac, cw, on, adu, logw, wsum, bg, h, cam_code, cam_par,
    cam_maps, EX, EY, WIN, S, ll, bgll, bgsum, bg_at,
):  # fmt: skip
    """Fill the caches ``EX, EY, WIN, S, ll`` from the positions and the presence ``on (M, N)``
    (full recomputation; ``dfac (M,)``: each emitter's D over the chain's, as in
    :func:`point_factors`; ``logw``, ``wsum``, ``bgll``, ``bgsum``, ``bg_at`` as in
    :func:`frame_loglik`)."""
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
                dfac[m],
                EX[m, j],
                EY[m, j],
                WIN[m, j],
            )
    for n in range(N):
        frame_psf(n, K, EX, EY, WIN, cw, on, S[n])
        ll[n] = frame_loglik(adu, logw, wsum, n, S[n], bg, h, cam_code, cam_par, cam_maps,
                             ubuf, obuf, bgll, bgsum, bg_at)  # fmt: skip


@njit(cache=True)
def incr_lp(pos, m, j, dts, D):
    """Brownian log-density of the increment from point j to j+1 of emitter m (over the axes of
    ``pos``: 3, or 2 for motion in the focal plane)."""
    v = 2.0 * D * dts[j]
    d2 = 0.0
    for a in range(pos.shape[2]):
        d = pos[m, j + 1, a] - pos[m, j, a]
        d2 += d * d
    return -0.5 * pos.shape[2] * (_LOG2PI + math.log(v)) - 0.5 * d2 / v


@njit(cache=True)
def init_lp(pos, m, mu0, s0):
    out = 0.0
    for a in range(pos.shape[2]):
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
        out += incr_lp(pos, m, j, dts, D)
    if j0 == 0:
        out += init_lp(pos, m, mu0, s0)
    return out


@njit(cache=True)
def motion_lp(pos, dts, D, dfac, mu0, s0):
    """Full motion log-prior: Gaussian initial position plus the Brownian increments, all
    emitters (emitter m's diffusion coefficient ``D dfac[m]``)."""
    M = pos.shape[0]
    L = pos.shape[1]
    out = 0.0
    for m in range(M):
        out += init_lp(pos, m, mu0, s0)
        for j in range(L - 1):
            out += incr_lp(pos, m, j, dts, D * dfac[m])
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
    for a in range(pos.shape[2]):
        x = pos[m, n, a]
        quad += qband[n, 0] * x * x + 2.0 * x * _band_offdiag(pos, m, n, a, qband)
    out = -quad / (4.0 * D)
    if n == 0:
        out += init_lp(pos, m, mu0, s0)
    return out


@njit(cache=True)
def band_quad_one(pos, qband, m):
    """``sum_axes x^T Q x`` of emitter m (banded precision)."""
    L = pos.shape[1]
    W = qband.shape[1] - 1
    out = 0.0
    for a in range(pos.shape[2]):
        for j in range(L):
            x = pos[m, j, a]
            s = qband[j, 0] * x
            for k in range(1, W + 1):
                if j + k < L:
                    s += 2.0 * qband[j, k] * pos[m, j + k, a]
            out += x * s
    return out


@njit(cache=True)
def band_quad_of(pos, qband, weight):
    """``sum_m weight[m] sum_axes x^T Q x`` (banded precision; emitters of weight 0 skipped)."""
    tot = 0.0
    for m in range(pos.shape[0]):
        if weight[m] != 0.0:
            tot += weight[m] * band_quad_one(pos, qband, m)
    return tot


@njit(cache=True)
def band_motion_lp(pos, qband, logdet_t, D, dfac, mu0, s0):
    """Full K = 1 motion log-prior: initial positions plus the (correlated) Brownian increments
    (emitter m's diffusion coefficient ``D dfac[m]``)."""
    M = pos.shape[0]
    L = pos.shape[1]
    out = -band_quad_of(pos, qband, 1.0 / dfac) / (4.0 * D)
    for m in range(M):
        out += init_lp(pos, m, mu0, s0)
        if L > 1:
            v = 2.0 * D * dfac[m]
            out -= 0.5 * pos.shape[2] * ((L - 1) * (_LOG2PI + math.log(v)) + logdet_t)
    return out


@njit(cache=True)
def band_cond_draw(pos, m, n, qband, D, mu0, s0, newpt):
    """Draw point n of emitter m from its Gaussian conditional prior given all other points.

    Per axis the precision is ``Q_nn / (2 D)`` (plus ``1/s0^2`` at n = 0) and the mean
    ``-sum_{j != n} Q_nj x_j / Q_nn`` (combined with the initial prior at n = 0). Writes the
    axes of ``pos`` only.
    """
    for a in range(pos.shape[2]):
        prec = qband[n, 0] / (2.0 * D)
        lin = -_band_offdiag(pos, m, n, a, qband) / (2.0 * D)
        if n == 0:
            p0 = 1.0 / (s0[a] * s0[a])
            prec += p0
            lin += mu0[a] * p0
        newpt[0, a] = lin / prec + math.sqrt(1.0 / prec) * np.random.standard_normal()


@njit(cache=True)
def band_tail_cross(pos, m, j0, qband):
    """``sum_{i < j0 <= j} Q_ij z_i z_j`` (z axis): the cross terms a tail flip from j0 negates."""
    L = pos.shape[1]
    W = qband.shape[1] - 1
    out = 0.0
    for i in range(max(0, j0 - W), j0):
        for j in range(j0, min(L, i + W + 1)):
            out += qband[i, j - i] * pos[m, i, 2] * pos[m, j, 2]
    return out


@njit(cache=True)
def bridge_draw(pos, m, j0, j1, times, D, mu0, s0, newpts):
    """Draw points j0..j1 of emitter m from their Brownian conditional prior given the rest.

    Sequential: each point from the bridge between the previous (drawn) point and the first point
    after the block (or the free Brownian step at the end of the track). Without a left neighbour
    (first frame) the first point is drawn from the Gaussian product of its prior and the
    right neighbour. Writes the axes of ``pos`` only.
    """
    L = pos.shape[1]
    has_right = j1 < L - 1
    for a in range(pos.shape[2]):
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
