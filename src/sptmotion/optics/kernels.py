"""Numba kernels of the imaging model: PSF, expected photons, camera log-densities.

These ``@njit(cache=True)`` functions are the single implementation of the point-spread
function and of the camera log-densities: the renderer (:mod:`sptmotion.optics.render`), the
likelihood (:mod:`sptmotion.likelihood`) and the MCMC tracker (``sptmotion.tracking``) all call
them, so they work in plain scalars and arrays and can be called from other jitted code.
Inputs are assumed validated (the public wrappers in :mod:`sptmotion.optics` do that).

Coordinates (µm) — the same everywhere in :mod:`sptmotion.optics`
------------------------------------------------------------------
``x`` runs along the columns and ``y`` along the rows, both measured from the outer corner
of pixel (0, 0) of the region of interest (ROI). Pixel ``(i, j)`` (row ``i``, column ``j``)
covers ``x`` in ``[j*a, (j+1)*a)`` and ``y`` in ``[i*a, (i+1)*a)`` with ``a`` the pixel size
(µm), so its centre is at ``((j+0.5)*a, (i+0.5)*a)``. ``z`` is the axial distance from the
focal plane (µm, 0 in focus). Kernels that fill a window of a larger ROI take the index of the
window's first row and column (``row0``, ``col0``); coordinates stay relative to the ROI corner.

Summary of the kernels
----------------------
- :func:`gl_sigma` -- Gaussian-Lorentzian width sigma(z) (µm).
- :func:`pixel_fractions_1d` -- exact pixel integrals of a 1D Gaussian along one axis (erf).
- :func:`add_psf_frame` -- add ``scale * sum_p w_p PSF_pix(r_p)`` to one frame (in place).
- :func:`expected_photons_frame` -- expected photons of one frame (background + emitters).
- :func:`expected_photons_stack` -- the same for a whole stack of N frames with K sub-positions.
- :func:`emccd_gamma_logpdf_sum` / :func:`emccd_gamma_logpdf` -- high-gain EMCCD Gamma model
  (:func:`emccd_gamma_logpdf_sum_sparse`: the same sum from the pixels a spot reaches).
- :func:`emccd_pgn_logpdf` -- exact Poisson-Gamma-Normal EMCCD density.
- :func:`scmos_logpdf` / :func:`scmos_gauss_logpdf` -- sCMOS Poisson-Gaussian (exact / Gaussian).
- :func:`frame_emission_loglik_emccd_gamma` -- frame-local log-likelihood of one frame given the
  emitter positions (fuses the two steps; what an MCMC needs to update a single frame).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SQRT2 = math.sqrt(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Beyond this many standard deviations erf(x / sqrt(2)) is exactly +-1 in float64 (erfc(6.08) <
#: 1e-17 < eps/2), so pixel integrals outside the window are exactly 0: skipping them is exact.
_ERF_WINDOW = 8.6


@njit(cache=True)
def gl_sigma(z: float, sigma0: float, z0: float) -> float:
    """Gaussian-Lorentzian PSF width ``sigma(z) = sigma0 * sqrt(1 + (z/z0)^2)`` (µm)."""
    r = z / z0
    return sigma0 * math.sqrt(1.0 + r * r)


@njit(cache=True)
def pixel_fractions_1d(x, sigma, pixel_size, origin, n, out):
    """Fraction of a 1D Gaussian N(x, sigma^2) falling in each of ``n`` pixels.

    ``out[j] = 0.5 * (erf(((origin+j+1)*a - x) / (sqrt2 sigma)) - erf(((origin+j)*a - x) / (sqrt2 sigma)))``
    for ``j`` in the returned half-open range ``[lo, hi)``; entries outside it are exactly zero in
    float64 and are *not written* (callers only read ``out[lo:hi]``). Costs ``hi - lo + 1`` erf calls.

    Returns
    -------
    lo, hi : int
        The range of pixels with a non-zero fraction (``lo == hi`` when none).
    """
    return pixel_fractions_1d_cut(x, sigma, pixel_size, origin, n, out, _ERF_WINDOW)


@njit(cache=True)
def pixel_fractions_1d_cut(x, sigma, pixel_size, origin, n, out, n_sd):
    """:func:`pixel_fractions_1d` on the pixels within ``n_sd`` standard deviations of ``x`` only
    (``n_sd`` >= 8.6 is exact; below, the mass beyond, ``erfc(n_sd / sqrt2)``, is dropped)."""
    half = n_sd * sigma
    lo = int(math.floor((x - half) / pixel_size)) - origin
    hi = int(math.floor((x + half) / pixel_size)) + 1 - origin
    if lo < 0:
        lo = 0
    if hi > n:
        hi = n
    if hi <= lo:
        return 0, 0
    inv = 1.0 / (SQRT2 * sigma)
    e_prev = math.erf(((origin + lo) * pixel_size - x) * inv)
    for j in range(lo, hi):
        e = math.erf(((origin + j + 1) * pixel_size - x) * inv)
        out[j] = 0.5 * (e - e_prev)
        e_prev = e
    return lo, hi


@njit(cache=True)
def add_psf_frame(xs, ys, zs, ws, scale, pixel_size, sigma0, z0, row0, col0, out):
    """Add ``scale * sum_p ws[p] * PSF_pix(xs[p], ys[p], zs[p])`` to the frame ``out`` in place.

    The PSF is the Gaussian-Lorentzian model integrated exactly over each pixel; it is separable,
    so each point costs ``rows + cols`` erf evaluations (only within the ±8.6 sigma window) and one
    outer product. Points with a non-finite coordinate are skipped (absent emitter).

    Parameters
    ----------
    xs, ys, zs : 1D float arrays
        Positions (µm) of the points (emitters x sub-frame positions) of this frame.
    ws : 1D float array
        Weight of each point (e.g. the trapezoid weight c_k).
    scale : float
        Photons per unit weight (``H * t_E``).
    pixel_size : float
        Pixel size a (µm).
    sigma0, z0 : float
        PSF parameters (µm), see :func:`gl_sigma`.
    row0, col0 : int
        Index of the window's first row / column within the ROI (0 for the whole ROI).
    out : 2D float array (rows, cols)
        Frame (window) to add to.
    """
    R, C = out.shape
    bx = np.empty(C)
    by = np.empty(R)
    for p in range(xs.shape[0]):
        x = xs[p]
        y = ys[p]
        z = zs[p]
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
            continue
        s = gl_sigma(z, sigma0, z0)
        c_lo, c_hi = pixel_fractions_1d(x, s, pixel_size, col0, C, bx)
        if c_hi <= c_lo:
            continue
        r_lo, r_hi = pixel_fractions_1d(y, s, pixel_size, row0, R, by)
        w = scale * ws[p]
        for i in range(r_lo, r_hi):
            wy = w * by[i]
            for j in range(c_lo, c_hi):
                out[i, j] += wy * bx[j]


@njit(cache=True)
def expected_photons_frame(
    xs, ys, zs, ws, background, scale, pixel_size, sigma0, z0, row0, col0, out
):
    """Expected photons of one frame: ``out = background + scale * sum_p ws[p] PSF_pix(r_p)``.

    ``background = F * a^2 * t_E`` (photons per pixel), ``scale = H * t_E`` (photons), ``ws`` the
    trapezoid weights of the sub-frame positions (repeated for each emitter). See
    :func:`add_psf_frame` for the other arguments. ``out`` (rows, cols) is overwritten.
    """
    out[:, :] = background
    add_psf_frame(xs, ys, zs, ws, scale, pixel_size, sigma0, z0, row0, col0, out)


@njit(cache=True)
def expected_photons_stack(
    X, Y, Z, weights, background, scale, pixel_size, sigma0, z0, row0, col0, out
):
    """Expected photons of a stack from fine tracks.

    Parameters
    ----------
    X, Y, Z : 2D float arrays (M, N*K)
        Positions (µm) of M emitters at the K sub-frame instants of each of N frames
        (point ``n*K + k`` is sub-position k of frame n). NaN marks an absent emitter.
    weights : 1D float array (K,)
        Trapezoid weights ``[1/2, 1, ..., 1, 1/2] / (K-1)`` (``[1]`` for K = 1).
    background, scale, pixel_size, sigma0, z0 : float
        As in :func:`expected_photons_frame`.
    row0, col0 : int
        Index of the window's first row / column within the ROI (0, 0 for the whole ROI).
    out : 3D float array (N, rows, cols)
        Overwritten with the expected photons per pixel and frame.
    """
    N, R, C = out.shape
    M = X.shape[0]
    K = weights.shape[0]
    xs = np.empty(M * K)
    ys = np.empty(M * K)
    zs = np.empty(M * K)
    ws = np.empty(M * K)
    for n in range(N):
        q = 0
        for m in range(M):
            for k in range(K):
                xs[q] = X[m, n * K + k]
                ys[q] = Y[m, n * K + k]
                zs[q] = Z[m, n * K + k]
                ws[q] = weights[k]
                q += 1
        expected_photons_frame(
            xs, ys, zs, ws, background, scale, pixel_size, sigma0, z0, row0, col0, out[n]
        )


# --------------------------------------------------------------------------------------------
# Camera log-densities. All take 2D arrays (rows, cols) so that a frame, a window of a frame or a
# reshaped stack (N*rows, cols) can be passed without copies.
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def lgamma_fast(k: float) -> float:
    """``ln Gamma(k)`` for k > 0: Stirling series for k >= 7, ``math.lgamma`` below.

    ``ln Gamma(k) = (k - 1/2) ln k - k + ln(2 pi)/2 + 1/(12k) - 1/(360k^3) + 1/(1260k^5) - 1/(1680k^7)``;
    the truncation error is below the next term, 1/(1188 k^9) < 2.1e-11 for k >= 7 (checked
    against ``scipy.special.gammaln`` in the tests). About twice as fast as libm's lgamma.
    """
    if k < 7.0:
        return math.lgamma(k)
    r = 1.0 / k
    r2 = r * r
    series = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0))))
    return (k - 0.5) * math.log(k) - k + LOG_SQRT_2PI + series


@njit(cache=True)
def emccd_gamma_logpdf_sum(adu, u, half_qe, scale, offset):
    """Sum over pixels of the high-gain EMCCD log-density (fused loop, no temporaries).

    The offset-subtracted signal ``w = adu - offset`` (ADU) is Gamma distributed with shape
    ``k = half_qe * u`` (``half_qe = beta/2``) and scale ``theta = scale = 2 G / phi`` (ADU):
    ``log p = (k-1) log w - w/theta - lgamma(k) - k log theta``.

    Returns NaN if any pixel has a non-finite or negative ``w`` or a non-positive or non-finite
    ``u`` (the public wrappers then report which), so validation costs no extra pass.

    Parameters
    ----------
    adu, u : 2D float arrays of the same shape
        Observed ADU and expected photons (> 0).
    half_qe, scale, offset : float
        ``beta/2``, ``2G/phi`` (ADU) and the offset (ADU).
    """
    R, C = adu.shape
    log_theta = math.log(scale)
    inv_theta = 1.0 / scale
    total = 0.0
    for i in range(R):
        for j in range(C):
            k = half_qe * u[i, j]
            w = adu[i, j] - offset
            if not (w >= 0.0 and k > 0.0 and w < np.inf and k < np.inf):
                return np.nan
            total += (k - 1.0) * math.log(w) - w * inv_theta - lgamma_fast(k) - k * log_theta
    return total


@njit(cache=True)
def emccd_gamma_logpdf_sum_sparse(logw, sum_logw, sum_w, S, bg, h, half_qe, scale):
    """:func:`emccd_gamma_logpdf_sum` at ``u = bg + h S`` that evaluates only the pixels with
    ``S != 0``.

    Every other pixel has the same ``k0 = half_qe bg``, and the data enter the log-density only
    through ``log w`` and ``w``, so their sum is ``(k0 - 1) sum(log w) - sum(w) / theta -
    n0 (lgamma(k0) + k0 log theta)`` from the frame's data sums. For a frame with a few spots
    this is a few times faster than the full sum and equal to it up to rounding.

    Parameters
    ----------
    logw : 2D float array
        ``log(adu - offset)`` of the frame (precomputed once per movie).
    sum_logw, sum_w : float
        The frame's sums of ``log w`` and of ``w = adu - offset`` (ADU).
    S : 2D float array
        PSF image (photon fractions), the shape of ``logw``.
    bg, h : float
        Background photons per pixel and photons of a unit PSF image.
    half_qe, scale : float
        ``beta/2`` and ``2G/phi`` (ADU), as in :func:`emccd_gamma_logpdf_sum`.

    Returns NaN for a non-positive or non-finite background or a negative or non-finite ``h``.
    """
    k0 = half_qe * bg
    if not (k0 > 0.0 and k0 < np.inf and h >= 0.0 and h < np.inf):
        return np.nan
    R, C = S.shape
    log_theta = math.log(scale)
    total = 0.0
    seen_logw = 0.0
    n_seen = 0
    for i in range(R):
        for j in range(C):
            s = S[i, j]
            if s != 0.0:
                k = half_qe * (bg + h * s)
                lw = logw[i, j]
                total += (k - 1.0) * lw - lgamma_fast(k) - k * log_theta
                seen_logw += lw
                n_seen += 1
    n0 = R * C - n_seen
    total += (k0 - 1.0) * (sum_logw - seen_logw) - n0 * (lgamma_fast(k0) + k0 * log_theta)
    return total - sum_w / scale


@njit(cache=True)
def emccd_gamma_logpdf(adu, u, half_qe, scale, offset, out):
    """Elementwise version of :func:`emccd_gamma_logpdf_sum` (writes ``out``)."""
    R, C = adu.shape
    log_theta = math.log(scale)
    inv_theta = 1.0 / scale
    for i in range(R):
        for j in range(C):
            k = half_qe * u[i, j]
            w = adu[i, j] - offset
            out[i, j] = (k - 1.0) * math.log(w) - w * inv_theta - lgamma_fast(k) - k * log_theta


@njit(cache=True)
def frame_emission_loglik_emccd_gamma(
    adu,
    xs,
    ys,
    zs,
    ws,
    background,
    scale,
    pixel_size,
    sigma0,
    z0,
    row0,
    col0,
    half_qe,
    cam_scale,
    offset,
):
    """Frame-local emission log-likelihood ``ln P(frame | positions)`` under the Gamma EMCCD model.

    Computes the expected photons of the frame (window) ``adu`` (rows, cols) from the points
    ``(xs, ys, zs)`` with weights ``ws`` (see :func:`expected_photons_frame`) and sums the Gamma
    log-density over its pixels. Only this frame's pixels are touched, so an MCMC move that changes
    the positions of one frame costs one call.
    """
    u = np.empty(adu.shape)
    expected_photons_frame(xs, ys, zs, ws, background, scale, pixel_size, sigma0, z0, row0, col0, u)
    return emccd_gamma_logpdf_sum(adu, u, half_qe, cam_scale, offset)


# --- EMCCD Poisson-Gamma-Normal ------------------------------------------------------------

# Gauss-Legendre nodes/weights on [-1, 1] for the read-noise convolution.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)


@njit(cache=True)
def _log_em_term(n, m, lam, gain):
    """log of Pois(n; lam) * Gamma(m; shape n, scale gain)."""
    return (
        -lam
        + n * math.log(lam)
        - math.lgamma(n + 1.0)
        + (n - 1.0) * math.log(m)
        - m / gain
        - math.lgamma(n * 1.0)
        - n * math.log(gain)
    )


@njit(cache=True)
def _log_em_density(m, lam, gain, rel_tol):
    """log of the EM-register output density f(m) = sum_{n>=1} Pois(n; lam) Gamma(m; n, gain), m > 0.

    Series over the number of photoelectrons n. Its terms
    ``t_n = exp(-lam) lam^n/n! * m^(n-1) e^(-m/G) / (Gamma(n) G^n)`` form a log-concave sequence
    (ratio ``t_{n+1}/t_n = x / (n (n+1))`` with ``x = lam m / G`` decreases in n), so the sum is
    taken outwards from the largest term n* ~ sqrt(x) and each side is stopped as soon as the
    geometric bound on its remainder, ``t_n r / (1 - r)`` with r the current ratio, is below
    ``rel_tol`` times the partial sum. The relative truncation error is therefore <= 2 rel_tol.
    """
    x = lam * m / gain
    log_x = math.log(x)
    n_star = int(math.floor(math.sqrt(x)))
    if n_star < 1:
        n_star = 1
    ref = _log_em_term(n_star, m, lam, gain)
    s = 1.0
    # upward
    n = n_star
    t = 1.0
    while True:
        log_r = log_x - math.log(n * (n + 1.0))
        t *= math.exp(log_r)
        n += 1
        s += t
        r = math.exp(log_r)
        if r < 1.0 and t * r / (1.0 - r) < rel_tol * s:
            break
        if n > n_star + 100000:
            break
    # downward
    n = n_star
    t = 1.0
    while n > 1:
        # t_{n-1}/t_n = n (n-1) / x
        log_r = math.log(n * (n - 1.0)) - log_x
        t *= math.exp(log_r)
        n -= 1
        s += t
        r = math.exp(log_r)
        if r < 1.0 and t * r / (1.0 - r) < rel_tol * s:
            break
    return ref + math.log(s)


@njit(cache=True)
def log_add_exp(a, b):
    """``ln(e^a + e^b)`` (-inf when both are)."""
    hi = max(a, b)
    if hi == -math.inf:
        return hi
    return hi + math.log(math.exp(a - hi) + math.exp(b - hi))


@njit(cache=True)
def _log_sum_exp(vals):
    """``ln sum_q e^vals[q]`` of finite values."""
    vmax = -np.inf
    for q in range(vals.shape[0]):
        if vals[q] > vmax:
            vmax = vals[q]
    acc = 0.0
    for q in range(vals.shape[0]):
        acc += math.exp(vals[q] - vmax)
    return vmax + math.log(acc)


@njit(cache=True)
def _pgn_zero_electrons(x, lam, s):
    """log of ``e^-lam N(x; 0, s^2)``: no photoelectron, read noise only."""
    return -lam - LOG_SQRT_2PI - math.log(s) - 0.5 * (x / s) ** 2


@njit(cache=True)
def pgn_pixel_logpdf(x, lam, gain, s, n_sigma, rel_tol):
    """Exact log-density (per e-) of the Poisson-Gamma-Normal EMCCD signal ``x`` (e-, offset
    removed) at ``lam`` photoelectrons (see :func:`emccd_pgn_logpdf`)."""
    nodes = _GL_NODES
    wts = _GL_WEIGHTS
    a0 = _pgn_zero_electrons(x, lam, s)
    lo = x - n_sigma * s
    if lo < 0.0:
        lo = 0.0
    hi = x + n_sigma * s
    if hi <= lo or lam <= 0.0:
        return a0
    half = 0.5 * (hi - lo)
    mid = 0.5 * (hi + lo)
    vals = np.empty(nodes.shape[0])
    for q in range(nodes.shape[0]):
        m = mid + half * nodes[q]
        vals[q] = (
            math.log(wts[q] * half)
            + _log_em_density(m, lam, gain, rel_tol)
            - LOG_SQRT_2PI
            - math.log(s)
            - 0.5 * ((x - m) / s) ** 2
        )
    return log_add_exp(a0, _log_sum_exp(vals))


@njit(cache=True)
def emccd_pgn_logpdf(
    adu, u, qe, spurious, gain, conversion, read_noise, offset, n_sigma, rel_tol, out
):
    """Exact log-density of the Poisson-Gamma-Normal EMCCD model (elementwise, 2D arrays).

    Photoelectrons ``n ~ Poisson(lam)``, ``lam = qe*u + spurious`` (dark counts and clock-induced
    charge, e-/pixel/frame); EM register output ``m | n ~ Gamma(n, gain)`` (``m = 0`` if ``n = 0``);
    read noise ``N(0, read_noise^2)`` (e-, output referred); ``adu = offset + (m + noise)/conversion``.
    With ``x = (adu - offset) * conversion`` (e-):

    ``p(x) = e^-lam N(x; 0, s^2) + integral_0^inf f(m) N(x - m; 0, s^2) dm``

    with ``f`` from :func:`_log_em_density`. The integral is taken over ``m`` in
    ``[max(0, x - n_sigma s), x + n_sigma s]`` (Gaussian tail outside < erfc(n_sigma/sqrt2)) by
    64-point Gauss-Legendre quadrature (f is smooth for m > 0 on the scale of G >> s, and analytic
    at m -> 0+ where f -> e^-lam lam/G). The density in ADU is ``p(x) * conversion``.
    """
    R, C = adu.shape
    log_conv = math.log(conversion)
    for i in range(R):
        for j in range(C):
            lam = qe * u[i, j] + spurious
            x = (adu[i, j] - offset) * conversion
            out[i, j] = pgn_pixel_logpdf(x, lam, gain, read_noise, n_sigma, rel_tol) + log_conv


# --- EMCCD Poisson-Gamma-Normal, tabulated ---------------------------------------------------


@njit(cache=True)
def pgn_row_coordinate(lam):
    """Row coordinate of the PGN table, ``ln lam + 2 sqrt(lam)``: ``ln lam`` at few
    photoelectrons, ``2 sqrt(lam)`` (variance stabilizing) at many; the log-density is smooth
    in it at every scale."""
    return math.log(lam) + 2.0 * math.sqrt(lam)


# Gauss-Hermite nodes/weights for the read-noise convolution far from m = 0.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite.hermgauss(16)


@njit(cache=True, parallel=True)
def pgn_table_fill(lam, x, gain, s, n_sigma, rel_tol, out):
    """``out[i, j]``: exact PGN log-density (per e-) at ``lam[i]`` photoelectrons and signal
    ``x[j]`` (e-), rows in parallel; NaN outside the signals a row produces (beyond 8 standard
    deviations of the EM output plus 20 gain units, or 12 read-noise sd below zero: log-density
    some 30 nats below its peak). Where the read noise cannot reach ``m = 0``
    (``x > n_sigma s``) the EM density is smooth on the scale of ``G >> s`` and the convolution
    is a 16-point Gauss-Hermite rule; elsewhere
    :func:`pgn_pixel_logpdf`."""
    nodes = _GH_NODES
    log_w = np.log(_GH_WEIGHTS / math.sqrt(math.pi))
    for i in prange(lam.shape[0]):
        vals = np.empty(nodes.shape[0])
        spread = 8.0 * math.sqrt(2.0 * lam[i])
        x_lo = max(gain * (lam[i] - spread - 20.0), 0.0) - 12.0 * s
        x_hi = gain * (lam[i] + spread + 20.0) + 12.0 * s
        for j in range(x.shape[0]):
            if x[j] < x_lo or x[j] > x_hi:
                out[i, j] = np.nan
                continue
            if x[j] - n_sigma * s <= 0.0:
                out[i, j] = pgn_pixel_logpdf(x[j], lam[i], gain, s, n_sigma, rel_tol)
                continue
            for q in range(nodes.shape[0]):
                m = x[j] + s * math.sqrt(2.0) * nodes[q]
                vals[q] = log_w[q] + _log_em_density(m, lam[i], gain, rel_tol)
            out[i, j] = log_add_exp(_pgn_zero_electrons(x[j], lam[i], s), _log_sum_exp(vals))


@njit(cache=True)
def _cubic_weights(t, w):
    """Catmull-Rom weights of the 4 nodes around fractional position ``t`` in [0, 1)."""
    t2 = t * t
    t3 = t2 * t
    w[0] = -0.5 * t3 + t2 - 0.5 * t
    w[1] = 1.5 * t3 - 2.5 * t2 + 1.0
    w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
    w[3] = 0.5 * t3 - 0.5 * t2


@njit(cache=True)
def emccd_pgn_table_logpdf(adu, u, par, table, out):
    """Log-density of the Poisson-Gamma-Normal EMCCD model from a table (elementwise, 2D arrays).

    ``table[i, j]`` holds the exact log-density (per e-) at row coordinate
    ``rho0 + i h_rho`` (:func:`pgn_row_coordinate` of the photoelectrons ``lam``) and column
    coordinate ``y0 + j h_y`` with ``y = asinh(x / read_noise)`` (``x`` the signal in e-);
    bicubic (Catmull-Rom) interpolation in between. Pixels outside the table (or next to its
    untabulated, NaN nodes) are computed exactly (:func:`pgn_pixel_logpdf`). ``par``: ``[qe, spurious, gain, conversion,
    read_noise, offset, n_sigma, rel_tol, rho0, h_rho, y0, h_y]``; built by
    :func:`sptmotion.optics.camera.pgn_table`.
    """
    qe, spurious, gain, conversion = par[0], par[1], par[2], par[3]
    s, offset, n_sigma, rel_tol = par[4], par[5], par[6], par[7]
    rho0, h_rho, y0, h_y = par[8], par[9], par[10], par[11]
    n_rows, n_cols = table.shape
    log_conv = math.log(conversion)
    inv_s = 1.0 / s
    wr = np.empty(4)
    wc = np.empty(4)
    R, C = adu.shape
    for i in range(R):
        for j in range(C):
            lam = qe * u[i, j] + spurious
            x = (adu[i, j] - offset) * conversion
            fr = (pgn_row_coordinate(lam) - rho0) / h_rho if lam > 0.0 else -1.0
            xs = x * inv_s
            fc = (math.log(xs + math.sqrt(xs * xs + 1.0)) if xs >= 0.0 else
                  -math.log(-xs + math.sqrt(xs * xs + 1.0)))  # fmt: skip
            fc = (fc - y0) / h_y
            r0 = int(math.floor(fr))
            c0 = int(math.floor(fc))
            if not (1 <= r0 < n_rows - 2 and 1 <= c0 < n_cols - 2):
                out[i, j] = pgn_pixel_logpdf(x, lam, gain, s, n_sigma, rel_tol) + log_conv
                continue
            _cubic_weights(fr - r0, wr)
            _cubic_weights(fc - c0, wc)
            acc = 0.0
            for a in range(4):
                row = 0.0
                for b in range(4):
                    row += wc[b] * table[r0 - 1 + a, c0 - 1 + b]
                acc += wr[a] * row
            if acc != acc:  # a node outside the tabulated signals (NaN): compute exactly
                acc = pgn_pixel_logpdf(x, lam, gain, s, n_sigma, rel_tol)
            out[i, j] = acc + log_conv


# --- sCMOS ---------------------------------------------------------------------------------


@njit(cache=True)
def _scmos_log_term(n, d, lam, log_lam, gain, inv_2var):
    r = d - gain * n
    return n * log_lam - math.lgamma(n + 1.0) - r * r * inv_2var


@njit(cache=True)
def _scmos_series(s, n, step, t0, d, lam, log_lam, g, inv_2var, rel_tol):
    """Add to ``s`` the terms ``exp(t_k - t0)`` for ``k = n + step, n + 2 step, ...`` (k >= 0)
    until the geometric bound of the rest is below ``rel_tol * s``."""
    prev = t0
    k = n + step
    while k >= 0:
        tk = _scmos_log_term(k, d, lam, log_lam, g, inv_2var)
        rel = math.exp(tk - t0)
        s += rel
        r = math.exp(tk - prev)
        if r < 1.0 and rel * r / (1.0 - r) < rel_tol * s:
            break
        prev = tk
        k += step
    return s


@njit(cache=True)
def scmos_logpdf(adu, u, qe, gain, offset, read_var, rel_tol, out):
    """Exact Poisson-Gaussian log-density of sCMOS pixels (elementwise, 2D arrays).

    ``adu = offset + gain * n + e`` with ``n ~ Poisson(qe * u)`` photoelectrons and
    ``e ~ N(0, read_var)`` (ADU^2); ``gain`` in ADU/e-. All of ``gain``, ``offset`` and
    ``read_var`` are per-pixel maps of the same shape as ``adu``.

    ``p(adu) = sum_n Pois(n; lam) N(adu - offset - gain n; 0, read_var)``. The terms are
    log-concave in n (log Poisson + log Gaussian), so the sum starts at the largest term (found by
    hill climbing from the Gaussian-product mode) and runs outwards on each side until the
    geometric bound on the remainder, ``t r / (1 - r)`` with r the current term ratio (< 1 and
    decreasing), falls below ``rel_tol`` times the partial sum: relative error <= 2 rel_tol.
    """
    R, C = adu.shape
    for i in range(R):
        for j in range(C):
            lam = qe * u[i, j]
            g = gain[i, j]
            var = read_var[i, j]
            d = adu[i, j] - offset[i, j]
            inv_2var = 0.5 / var
            norm = -LOG_SQRT_2PI - 0.5 * math.log(var)
            if lam <= 0.0:
                out[i, j] = norm - d * d * inv_2var
                continue
            log_lam = math.log(lam)
            # mode of the product of the Gaussian approximations N(lam, lam) and N(d/g, var/g^2)
            pv = var / (g * g)
            n0 = (lam * pv + (d / g) * lam) / (lam + pv)
            n = int(n0) if n0 > 0.0 else 0
            t0 = _scmos_log_term(n, d, lam, log_lam, g, inv_2var)
            while True:
                t1 = _scmos_log_term(n + 1, d, lam, log_lam, g, inv_2var)
                if t1 > t0:
                    n += 1
                    t0 = t1
                else:
                    break
            while n > 0:
                t1 = _scmos_log_term(n - 1, d, lam, log_lam, g, inv_2var)
                if t1 > t0:
                    n -= 1
                    t0 = t1
                else:
                    break
            s = _scmos_series(1.0, n, 1, t0, d, lam, log_lam, g, inv_2var, rel_tol)
            s = _scmos_series(s, n, -1, t0, d, lam, log_lam, g, inv_2var, rel_tol)
            out[i, j] = t0 + math.log(s) - lam + norm


@njit(cache=True)
def scmos_gauss_logpdf(adu, u, qe, gain, offset, read_var, out):
    """Gaussian approximation of the sCMOS density: mean ``offset + g qe u``, variance
    ``g^2 qe u + read_var`` (ADU^2), elementwise over 2D arrays (maps as in :func:`scmos_logpdf`)."""
    R, C = adu.shape
    for i in range(R):
        for j in range(C):
            g = gain[i, j]
            lam = qe * u[i, j]
            var = g * g * lam + read_var[i, j]
            r = adu[i, j] - offset[i, j] - g * lam
            out[i, j] = -LOG_SQRT_2PI - 0.5 * math.log(var) - 0.5 * r * r / var


@njit(cache=True)
def scmos_poisson_logpdf(adu, u, qe, gain, offset, read_var, out):
    """Shifted-Poisson approximation of the sCMOS density (Huang et al. 2013), elementwise over
    2D arrays (maps as in :func:`scmos_logpdf`).

    The read noise in photoelectrons, ``gamma = read_var / gain^2``, is added to both sides:
    ``y = (adu - offset) / gain + gamma`` is treated as ``Poisson(qe u + gamma)`` with the
    continuous extension ``y ln lam - lam - lgamma(y + 1)``, minus ``ln gain`` (ADU -> e-). Mean
    and variance are those of the exact model; the shape is Poisson rather than Gaussian, which
    matters at few photoelectrons. ``y < 0`` (a pixel more than ``gamma`` e- below its offset,
    where the extension has no density) is taken as 0.
    """
    scmos_poisson_loglik_rel(adu, u, qe, gain, offset, read_var, out)
    R, C = adu.shape
    for i in range(R):
        for j in range(C):
            out[i, j] -= _scmos_poisson_data(adu[i, j], gain[i, j], offset[i, j], read_var[i, j])


@njit(cache=True)
def _scmos_poisson_y(adu, g, o, gam):
    """The shifted-Poisson count of :func:`scmos_poisson_logpdf` (0 below its support)."""
    y = (adu - o) / g + gam
    return y if y > 0.0 else 0.0


@njit(cache=True)
def _scmos_poisson_data(adu, g, o, var):
    """The data-only part ``lgamma(y + 1) + ln g`` of one pixel's shifted-Poisson density."""
    y = _scmos_poisson_y(adu, g, o, var / (g * g))
    return math.lgamma(y + 1.0) + math.log(g)


@njit(cache=True)
def scmos_poisson_loglik_rel(adu, u, qe, gain, offset, read_var, out):
    """:func:`scmos_poisson_logpdf` without its data-only terms ``-lgamma(y + 1) - ln gain``:
    ``y ln lam - lam``. Differences between expected photons are unchanged (the trackers' camera
    dispatch uses it: ~16 ns per pixel against ~43 ns; :func:`scmos_poisson_data_term` holds the
    rest)."""
    R, C = adu.shape
    for i in range(R):
        for j in range(C):
            g = gain[i, j]
            gam = read_var[i, j] / (g * g)
            lam = qe * u[i, j] + gam
            out[i, j] = _scmos_poisson_y(adu[i, j], g, offset[i, j], gam) * math.log(lam) - lam


@njit(cache=True)
def scmos_poisson_data_term(adu, gain, offset, read_var):
    """Sum over a stack ``adu (N, R, C)`` of the data-only terms that
    :func:`scmos_poisson_loglik_rel` leaves out (maps (R, C))."""
    N, R, C = adu.shape
    tot = 0.0
    for n in range(N):
        for i in range(R):
            for j in range(C):
                tot -= _scmos_poisson_data(adu[n, i, j], gain[i, j], offset[i, j], read_var[i, j])
    return tot


#: Camera codes of :func:`camera_frame_loglik`, the trackers' one camera dispatch
#: (``cam_par`` layout in brackets; built by :func:`sptmotion.optics.camera.camera_spec`).
CAM_EMCCD_GAMMA = 0  # [beta/2, 2G/phi, offset]
CAM_EMCCD_PGN = 1  # [qe, spurious, gain, conversion, read_noise, offset, n_sigma, rel_tol]
CAM_SCMOS = 2  # [qe, rel_tol], maps (gain, offset, read_var)
CAM_SCMOS_GAUSS = 3  # [qe], maps (gain, offset, read_var)
CAM_EMCCD_PGN_TABLE = 4  # [qe, ..., rel_tol, rho0, h_rho, y0, h_y], maps[0] the table
CAM_SCMOS_POISSON = 5  # [qe], maps (gain, offset, read_var); data-only terms left out


@njit(cache=True)
def camera_frame_loglik(adu_n, S_n, bg, h, cam_code, cam_par, cam_maps, ubuf, obuf):
    """Emission log-likelihood of one frame: camera log-density of ``adu`` at ``u = bg + h*S``.

    ``ubuf``, ``obuf`` are (R, C) work arrays. With :data:`CAM_SCMOS_POISSON` the data-only
    terms are left out (:func:`scmos_poisson_loglik_rel`).
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
    elif cam_code == CAM_EMCCD_PGN_TABLE:
        emccd_pgn_table_logpdf(adu_n, ubuf, cam_par, cam_maps[0], obuf)
    elif cam_code == CAM_SCMOS_POISSON:
        scmos_poisson_loglik_rel(
            adu_n, ubuf, cam_par[0], cam_maps[0], cam_maps[1], cam_maps[2], obuf
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
