"""Bayesian tracking of point emitters directly from a widefield image stack, by MCMC.

The model (Hendrix, Xu & Pressé 2025; Sgouralis & Pressé, BNP-Track) has M emitters with 3D
positions ``r_{m,j}`` at the K sub-frame instants ``t_j`` of each of N frames (``j = nK + k``):

- initial position prior ``r_{m,0} ~ N(mu0, diag(s0^2))``;
- Brownian motion ``r_{m,j+1} - r_{m,j} ~ N(0, 2 D (t_{j+1} - t_j) I_3)``, D ~ InvGamma(a_D, b_D);
  with K = 1 the point of a frame is the exposure-averaged position, whose increments are
  correlated (MA(1)): the exact Gaussian prior of :func:`brownian_precision_band`;
- emission: expected photons ``u_n = F a^2 t_E + H t_E sum_{m,k} c_k PSF_pix(r_{m,nK+k})``
  with the pixel-integrated Gaussian-Lorentzian PSF and the trapezoid weights c_k of
  :mod:`sptmotion.optics`, and the calibrated camera's density ``p(adu | u)`` per pixel
  (EMCCD Gamma, EMCCD Poisson-Gamma-Normal or sCMOS);
- log-normal priors on the background flux F and emission rate H (or F, H fixed);
- with K = 1, optionally (default) a blur-aware emission: the lateral PSF variance grows by the
  mean motion blur ``D t_E / 3`` of a Brownian path around its exposure average (see
  :func:`track_bayes`, Notes).

The posterior is sampled by Metropolis-within-Gibbs (see :mod:`._mcmc_kernels` for the moves):
blocked random walks of the K points of one frame, independence proposals from the Brownian
conditional prior (the bridge between the neighbouring frames), single-point moves, z sign flips
(the PSF depends on |z| only, so the posterior is symmetric under z -> -z up to the motion prior),
the conjugate inverse-gamma Gibbs step of D,

``D | r ~ InvGamma(a_D + 3 M (NK - 1) / 2, b_D + sum_{m,j} |r_{m,j+1} - r_{m,j}|^2 / (4 dt_j))``
(K = 1: ``b_D + sum_{m,axes} x^T Q x / 4``), with K >= 2 followed by a joint non-centred move of
D and the sub-frame path (the exposure averages stay, the deviations from their Brownian
conditional mean scale with ``sqrt(D'/D)``; :func:`frame_mean_bridge_weights`), without which D
mixes slowly (it is pinned by the N (K - 1) sub-frame increments that the images hardly constrain),
and log-scale random walks for F and H. Proposal scales are adapted during burn-in only
(Robbins-Monro towards 30 % acceptance). A one-frame move recomputes only that frame's PSF factors
and camera log-likelihood (frame-local update).

References
----------
L. Hendrix, L. W. Q. Xu, S. Pressé, "The emission model dominates the likelihood in single-particle
tracking", 2025. I. Sgouralis, L. W. Q. Xu, et al., "BNP-Track", Nat. Methods 21 (2024).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from .._checks import check_int, check_positive
from .._io import check_memory
from ..optics.camera import camera_spec, photons_estimate
from ..optics.io import check_stack
from ..optics.kernels import CAM_EMCCD_GAMMA, CAM_SCMOS_POISSON, scmos_poisson_data_term
from ..optics.setup import Setup, fine_times, trapezoid_weights
from . import _mcmc_kernels as _k
from .moves import MOVE_NAMES, N_MOVES, sweep
from .posterior import TrackPosterior, check_ci
from .records import GLOB_SCALES_START, Problem, State, new_work

__all__ = [
    "track_bayes",
    "BayesModel",
    "initial_positions",
    "modular_start",
    "presence_start",
    "birth_map",
    "PRESENCE_PRIOR",
    "EXTRA_CANDIDATES",
    "EMITTER_D_SD",
    "brownian_precision_band",
    "frame_mean_bridge_weights",
]

#: default cap on the stored position values (all chains; 2.5e7 float64 = 200 MB)
_MAX_SAMPLE_VALUES = 25_000_000

#: Priors of the presence model (unknown number of emitters): ``k_on ~ Beta(1, 19)`` and
#: ``k_off ~ Beta(1, 19)`` (a switch every 20 frames a priori, soon overruled by the data's
#: transitions), and the loads' Beta-Bernoulli concentration ``gamma = 1`` (BNP-Track's).
PRESENCE_PRIOR = (1.0, 19.0, 1.0, 19.0, 1.0)
#: With an unknown number of emitters: sd of the log-normal prior of H around the detected spots'
#: median brightness (the number of emitters and their brightness are otherwise confounded).
PRESENCE_H_SD = 0.25
#: Candidate emitters beyond the modular tracker's tracks that the presence model starts unused.
EXTRA_CANDIDATES = 2
#: ``track_bayes(emitter_D_sd=EMITTER_D_SD)``: each of two or more emitters has its own D,
#: ``D dfac_m`` with ``ln dfac_m ~ N(0, EMITTER_D_SD^2)``: 95% of a region's particles within a
#: factor 10 of its typical D a priori, which the data of a few frames overrule.
EMITTER_D_SD = float(np.log(10.0) / 2.0)


def brownian_precision_band(
    n_frames: int, frame_period: float, exposure: float = 0.0
) -> tuple[np.ndarray, float]:
    """Prior precision of the exposure-averaged positions of a Brownian track (one axis).

    The K = 1 position of frame n stands for the exposure average ``xbar_n`` of the path over
    ``[n dt, n dt + t_E]``. For Brownian motion of diffusion coefficient D the increments
    ``Delta_n = xbar_{n+1} - xbar_n`` are Gaussian with covariance ``2 D T``, T tridiagonal
    (an MA(1) process; Berglund, Phys. Rev. E 82, 011917, 2010)::

        T_nn = dt - t_E / 3,    T_n,n+1 = t_E / 6

    (from the MSD of averaged positions, ``2 D (k dt - t_E / 3)`` at lag ``k >= 1``). So
    ``ln p(x | D) = ln p(x_0) - (N-1)/2 ln(4 pi D) - ln det T / 2 - x^T Q x / (4 D)`` with
    ``Q = A^T T^-1 A`` (A: first differences). The moment-matched Markov prior with step
    ``dt - t_E/3`` gets the one-frame variance right but, neglecting the correlation
    ``t_E / (6 dt - 2 t_E)`` (0.22 for 30 ms every 33 ms), under-disperses a gap of k frames:
    ``2 D k (dt - t_E/3)`` instead of ``2 D (k dt - t_E/3)``, 30 % too little variance over
    long gaps (defocused stretches, where only the prior links the frames). ``exposure = 0``
    gives the plain Brownian prior (T diagonal, Q tridiagonal).

    ``T^-1`` decays geometrically off the diagonal (ratio ``theta``, the MA(1) root,
    ``theta / (1 + theta^2) = T_n,n+1 / T_nn <= 1/4``, so ``theta <= 0.27``); its band is computed
    exactly by banded solves on windows and truncated where ``theta^k < 1e-17``.

    Parameters
    ----------
    n_frames : int
        Number of frames N.
    frame_period : float
        dt (s).
    exposure : float
        t_E (s), ``0 <= t_E <= dt``.

    Returns
    -------
    qband : ndarray (N, w + 1)
        ``qband[i, k] = Q[i, i + k]`` (1/s; zero-padded past the end).
    logdet_t : float
        ``ln det T`` (T in s).
    """
    from scipy.linalg import cholesky_banded, solve_banded

    dt = check_positive(frame_period, "frame_period")
    t_e = float(exposure)
    if not 0.0 <= t_e <= dt:
        raise ValueError(f"exposure must lie in [0, frame_period], got {t_e!r}")
    N = int(n_frames)
    n = N - 1  # number of increments
    if n < 1:
        return np.zeros((max(N, 0), 1)), 0.0
    diag, off = dt - t_e / 3.0, t_e / 6.0
    rho = off / diag
    if rho > 0:
        theta = (1.0 - np.sqrt(1.0 - 4.0 * rho * rho)) / (2.0 * rho)
        W = min(n - 1, int(np.ceil(np.log(1e-17) / np.log(theta))) + 1)
    else:
        W = 0
    ab = np.zeros((3, n))  # banded storage of T for solve_banded (upper, diagonal, lower)
    ab[0, 1:], ab[1], ab[2, :-1] = off, diag, off
    # band of G = T^-1: gb[i, k] = G[i, i + k], by solves on windows of columns (the entries
    # outside a window of half-width P > 2W are below theta^(P-W), i.e. exactly 0 in float64)
    gb = np.zeros((n, W + 1))
    P, chunk = 2 * W + 4, 256
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        r0, r1 = max(0, c0 - P), min(n, c1 + P)
        rhs = np.zeros((r1 - r0, c1 - c0))
        rhs[np.arange(c0, c1) - r0, np.arange(c1 - c0)] = 1.0
        sol = solve_banded((1, 1), ab[:, r0:r1], rhs)
        for k in range(W + 1):
            cols = np.arange(c0, c1)
            rows = cols - k  # G[i, i + k] with i + k = column
            ok = rows >= 0
            gb[rows[ok], k] = sol[rows[ok] - r0, (cols - c0)[ok]]

    def g(i, j):
        """G[i, j] for index arrays (0 outside [0, n) or the band)."""
        lo, d = np.minimum(i, j), np.abs(i - j)
        ok = (i >= 0) & (i < n) & (j >= 0) & (j < n) & (d <= W)
        out = np.zeros(np.broadcast(i, j).shape)
        out[ok] = gb[lo[ok], d[ok]]
        return out

    Wq = W + 1
    qband = np.zeros((N, Wq + 1))
    i = np.arange(N)
    for k in range(Wq + 1):
        j = i + k
        qband[:, k] = np.where(j < N, g(i - 1, j - 1) - g(i - 1, j) - g(i, j - 1) + g(i, j), 0.0)
    chol = cholesky_banded(ab[:2].copy())
    logdet_t = float(2.0 * np.sum(np.log(chol[-1])))
    return qband, logdet_t


def frame_mean_bridge_weights(dts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Brownian conditional mean of the sub-frame path given the exposure averages (K >= 2).

    For a path on N frames of K points (increments over ``dts``, ``len(dts) = N K - 1``) the
    exposure average of frame n is ``m_n = sum_k c_k x_{nK+k}`` (``weights`` c). Point k of frame
    n is predicted from ``m_{n-1}, m_n, m_{n+1}`` by the mean of a Brownian path on those frames
    given their averages: ``x_{nK+k} ~ sum_d W[n, k, d] m_{n-1+d}``, the minimiser of
    ``sum_j (x_{j+1} - x_j)^2 / dt_j`` under the averaging constraints (flat prior on the
    level). Each frame's rows average back to its own ``m_n`` (``sum_k c_k W[n, k] = e_1``), so the
    map ``P = W A`` (A: the averaging) is a projection; :func:`._mcmc_kernels.scale_d_step`
    scales ``x - P x`` with the Brownian step length.

    Returns
    -------
    ndarray (N, K, 3)
        Weights of the averages of frames n-1, n, n+1 (0 where the frame does not exist).
    """
    c = np.asarray(weights, dtype=float)
    dts = np.asarray(dts, dtype=float)
    if c.ndim != 1 or len(c) < 1 or not np.all(np.isfinite(c)) or abs(c.sum() - 1.0) > 1e-9:
        raise ValueError("weights must be a 1D array of finite sub-frame weights summing to 1")
    if dts.ndim != 1 or not np.all(np.isfinite(dts)) or np.any(dts <= 0):
        raise ValueError("dts must be a 1D array of positive, finite time steps (s)")
    K = len(c)
    if (len(dts) + 1) % K:
        raise ValueError(f"len(dts) + 1 = {len(dts) + 1} points is not a multiple of K = {K}")
    N = (len(dts) + 1) // K
    out = np.zeros((N, K, 3))
    cache: dict = {}
    for n in range(N):
        lo, hi = max(n - 1, 0), min(n + 1, N - 1)
        seg = np.asarray(dts[lo * K : (hi + 1) * K - 1], dtype=float)
        key = (n - lo, hi - lo, seg.tobytes())
        if key not in cache:
            nf, J = hi - lo + 1, (hi - lo + 1) * K
            Q = np.zeros((J, J))
            w = 1.0 / seg
            idx = np.arange(J - 1)
            Q[idx, idx] += w
            Q[idx + 1, idx + 1] += w
            Q[idx, idx + 1] -= w
            Q[idx + 1, idx] -= w
            A = np.kron(np.eye(nf), c[None, :])  # (nf, J): the averaging constraints
            kkt = np.block([[Q, A.T], [A, np.zeros((nf, nf))]])
            rhs = np.vstack([np.zeros((J, nf)), np.eye(nf)])
            sol = np.linalg.solve(kkt, rhs)[:J]
            r = n - lo
            cache[key] = sol[r * K : (r + 1) * K]
        out[n, :, lo - n + 1 : hi - n + 2] = cache[key]
    return out


class BayesModel:
    """The arrays of one tracking problem, shared by all chains (built by :func:`track_bayes`)."""

    def __init__(
        self,
        stack: np.ndarray,
        setup: Setup,
        n_emitters: int,
        subframes: int,
        blur_correction: bool = True,
        blur_psf: bool = False,
    ):
        self.adu = np.ascontiguousarray(stack)
        self.setup = setup
        N, R, C = stack.shape
        self.N, self.R, self.C = N, R, C
        self.M = n_emitters
        self.K = subframes
        self.L = N * subframes
        self.pixel_size = float(setup.pixel_size)
        sigma0, z0 = setup.psf.kernel_params
        self.psf_par = np.array([sigma0, z0, 0.0], dtype=float)
        #: coefficient (s) of the blur variance D * t_E / 3 (µm²) added to the PSF width (K = 1 only)
        self.blur_coef = float(setup.exposure) / 3.0 if (blur_psf and subframes == 1) else 0.0
        self.cw = trapezoid_weights(subframes)
        self.times = fine_times(N, setup.frame_period, setup.exposure, subframes).astype(float)
        self.dts = np.diff(self.times) if self.L > 1 else np.ones(1)
        # "motion clock": cumulative time of each point (what the K >= 2 bridge proposals use)
        self.clock = np.concatenate([[0.0], np.cumsum(self.dts)])[: self.L]
        #: K = 1: band of the prior precision of each coordinate's track (time units, see
        #: :func:`brownian_precision_band`) and ln det of the increments' covariance / (2 D);
        #: empty for K >= 2, whose sub-frame points follow the Markov Brownian prior on ``dts``.
        self.qband = np.zeros((0, 1))
        self.logdet_t = 0.0
        #: K >= 2: weights of the joint move of D and the sub-frame path (empty for K = 1)
        self.ncw = np.zeros((0, subframes, 3))
        if subframes == 1:
            t_e = float(setup.exposure) if blur_correction else 0.0
            self.qband, self.logdet_t = brownian_precision_band(N, setup.frame_period, t_e)
        else:
            self.ncw = frame_mean_bridge_weights(self.dts, self.cw)
        self.frame_times = setup.frame_period * np.arange(N)
        self.t_e = float(setup.exposure)
        self.area_te = self.pixel_size**2 * self.t_e
        self.cam_code, self.cam_par, self.cam_maps = camera_spec(setup.camera, (R, C))
        if self.cam_code == CAM_EMCCD_GAMMA:
            off = self.cam_par[2]
            if np.any(self.adu <= off):
                raise ValueError(
                    f"the stack has ADU values <= the camera offset ({off:g}), impossible under the high-gain "
                    "EMCCD Gamma model; use the Poisson-Gamma-Normal camera model (emccd-pgn)"
                )
        self.logw, self.wsum = _k.gamma_data_terms(self.adu, self.cam_code, self.cam_par)
        # the camera dispatch leaves the shifted-Poisson sCMOS model's data-only terms out
        self.emission_offset = 0.0
        if self.cam_code == CAM_SCMOS_POISSON:
            g, o, v = self.cam_maps
            self.emission_offset = float(scmos_poisson_data_term(self.adu, g, o, v))

    def psf_params(self, D: float = 0.0) -> np.ndarray:
        """``[sigma0, z0, blur_var]`` for the kernels; ``blur_var = D t_E / 3`` (µm²) with the blur-aware emission."""
        par = self.psf_par.copy()
        par[2] = self.blur_coef * float(D)
        return par

    def new_state(self, pos: np.ndarray, F: float, H: float, D: float = 0.0, on=None, dfac=None):
        """Caches (EX, EY, WIN, S, ll) for positions ``pos (M, L, 3)`` (``D`` in µm²/s sets the
        blur, emitter m's ``D dfac[m]``, default all D; ``on (M, N)``: presence, default all
        present)."""
        on = np.ones((self.M, self.N)) if on is None else np.ascontiguousarray(on, dtype=float)
        dfac = np.ones(self.M) if dfac is None else np.ascontiguousarray(dfac, dtype=float)
        EX = np.zeros((self.M, self.L, self.C))
        EY = np.zeros((self.M, self.L, self.R))
        WIN = np.zeros((self.M, self.L, 4), dtype=np.int64)
        S = np.zeros((self.N, self.R, self.C))
        ll = np.zeros(self.N)
        _k.init_state(
            pos,
            self.K,
            self.pixel_size,
            self.psf_params(D),
            dfac,
            self.cw,
            on,
            self.adu,
            self.logw,
            self.wsum,
            F * self.area_te,
            H * self.t_e,
            self.cam_code,
            self.cam_par,
            self.cam_maps,
            EX,
            EY,
            WIN,
            S,
            ll,
            np.zeros((0, self.R, self.C)),
            np.zeros(0),
            np.full(1, np.nan),
        )
        return EX, EY, WIN, S, ll

    def problem(
        self,
        mu0,
        s0,
        d_prior,
        f_prior,
        h_prior,
        sample_flags,
        pres_prior=None,
        birth_pdf=None,
        n_axes: int = 3,
        dfac_sd: float = 0.0,
    ) -> Problem:
        """The record every chain's moves read: these arrays plus the priors.

        ``mu0``, ``s0`` (µm): Gaussian prior of the first position; ``d_prior = [a, b]``
        (inverse gamma of D); ``f_prior``, ``h_prior = [log mean, sd]``; ``sample_flags`` which
        of D, F, H (and, fourth, presence) are sampled; ``pres_prior = [a_on, b_on, a_off, b_off,
        gamma]`` (default :data:`PRESENCE_PRIOR`); ``birth_pdf (N, R, C)``: pixel probabilities
        per frame of the unused candidates' data-driven moves (:func:`birth_map`; default none);
        ``n_axes``: 3, or 2 for motion in the focal plane; ``dfac_sd``: sd of the log of each
        emitter's D over the chain's (0: one D for all emitters).
        """
        flags = np.zeros(4, dtype=np.bool_)
        flags[: len(sample_flags)] = np.asarray(sample_flags, dtype=np.bool_)
        pres_prior = PRESENCE_PRIOR if pres_prior is None else pres_prior
        birth = np.zeros((0, self.R, self.C)) if birth_pdf is None else np.asarray(birth_pdf, float)
        return Problem(
            K=self.K,
            adu=self.adu,
            logw=self.logw,
            wsum=self.wsum,
            pixel_size=self.pixel_size,
            cw=self.cw,
            area_te=self.area_te,
            t_e=self.t_e,
            cam_code=int(self.cam_code),
            cam_par=self.cam_par,
            cam_maps=self.cam_maps,
            times=self.clock,
            dts=self.dts,
            mu0=np.asarray(mu0, dtype=float),
            s0=np.asarray(s0, dtype=float),
            d_prior=np.asarray(d_prior, dtype=float),
            f_prior=np.asarray(f_prior, dtype=float),
            h_prior=np.asarray(h_prior, dtype=float),
            sample_flags=flags,
            blur_coef=float(self.blur_coef),
            qband=self.qband,
            ncw=self.ncw,
            pres_prior=np.asarray(pres_prior, dtype=float),
            birth_pdf=np.ascontiguousarray(birth),
            birth_cdf=np.ascontiguousarray(
                np.cumsum(birth.reshape(len(birth), self.R * self.C), axis=1)
            ),
            n_axes=int(n_axes),
            dfac_sd=float(dfac_sd),
        )

    def motion_lp(
        self, pos: np.ndarray, D: float, mu0: np.ndarray, s0: np.ndarray, dfac=None
    ) -> float:
        """ln P(positions | D): Gaussian initial position plus the Brownian prior (µm, µm²/s;
        emitter m diffuses with ``D dfac[m]``, default D)."""
        dfac = np.ones(pos.shape[0]) if dfac is None else np.asarray(dfac, dtype=float)
        if self.K == 1:
            return float(_k.band_motion_lp(pos, self.qband, self.logdet_t, D, dfac, mu0, s0))
        return float(_k.motion_lp(pos, self.dts, D, dfac, mu0, s0))

    def emission_loglik(
        self, pos: np.ndarray, F: float, H: float, D: float = 0.0, dfac=None
    ) -> float:
        """ln P(stack | positions, F, H[, D, dfac]), recomputed from scratch (all frames)."""
        ll = self.new_state(np.ascontiguousarray(pos, dtype=float), F, H, D, dfac=dfac)[4]
        return float(ll.sum()) + self.emission_offset


def initial_positions(photons: np.ndarray, n_emitters: int, pixel_size: float) -> np.ndarray:
    """Starting track from the brightest pixels: (M, N, 2) lateral positions in µm.

    Each frame (expected photons) is smoothed with a Gaussian of 1 pixel; the M brightest local
    maxima (5x5 neighbourhood) are refined by the background-subtracted centroid of their 3x3
    neighbourhood and assigned to the emitters greedily by distance to the previous frame.
    """
    N, R, C = photons.shape
    sm = ndimage.gaussian_filter(photons, sigma=(0, 1.0, 1.0), mode="nearest")
    is_max = sm == ndimage.maximum_filter(sm, size=(1, 5, 5), mode="nearest")
    out = np.empty((n_emitters, N, 2))
    prev = None
    bg = np.median(photons, axis=(1, 2))
    for n in range(N):
        vals = np.where(is_max[n], sm[n], -np.inf).ravel()
        order = np.argsort(vals)[::-1][:n_emitters]
        order = np.concatenate([order, np.repeat(order[:1], n_emitters - len(order))])
        pts = []
        for idx in order:
            r, c = divmod(int(idx), C)
            r0, r1, c0, c1 = max(r - 1, 0), min(r + 2, R), max(c - 1, 0), min(c + 2, C)
            w = np.clip(photons[n, r0:r1, c0:c1] - bg[n], 0, None)
            rr, cc = np.mgrid[r0:r1, c0:c1]
            if w.sum() > 0:
                yc, xc = (rr * w).sum() / w.sum(), (cc * w).sum() / w.sum()
            else:
                yc, xc = r, c
            pts.append(((xc + 0.5) * pixel_size, (yc + 0.5) * pixel_size))
        pts = np.array(pts)
        if prev is not None and n_emitters > 1:
            free = list(range(n_emitters))
            assigned = np.empty_like(pts)
            for m in range(n_emitters):
                d = np.hypot(*(pts[free] - prev[m]).T)
                i = free.pop(int(np.argmin(d)))
                assigned[m] = pts[i]
            pts = assigned
        out[:, n] = pts
        prev = pts
    return out


def _modular_tracks(adu: np.ndarray, setup: Setup, with_photons: bool = False):
    """The modular tracker's tracks, longest first: a list of (frames, (n, 3) positions µm);
    ``with_photons``: also the median ML photons of their spots (None without spots)."""
    from .modular import track_modular

    tab = track_modular(adu, setup)
    out = []
    if len(tab):
        sizes = tab.groupby("particle").size().sort_values(ascending=False, kind="stable")
        for pid in sizes.index:
            t = tab[tab["particle"] == pid].sort_values("frame")
            out.append((t["frame"].to_numpy(), t[["x", "y", "z"]].to_numpy(dtype=float)))
    if not with_photons:
        return out
    ph = tab["photons"].to_numpy(dtype=float) if len(tab) else np.zeros(0)
    ph = ph[np.isfinite(ph)]
    return out, (float(np.median(ph)) if len(ph) else None)


def _fill_track(frames: np.ndarray, xyz: np.ndarray, N: int) -> np.ndarray:
    """(N, 3) positions: linear interpolation in time between a track's frames, constant beyond."""
    every = np.arange(N)
    return np.stack([np.interp(every, frames, xyz[:, a]) for a in range(3)], axis=1)


def modular_start(
    adu: np.ndarray, setup: Setup, n_emitters: int, fallback: np.ndarray
) -> np.ndarray:
    """Starting track (M, N, 3) µm from the M longest tracks of the modular tracker.

    Frames a track misses are filled by linear interpolation in time (constant beyond its ends);
    emitters without a track keep ``fallback`` (M, N, 2). z starts at the ML |z| (0.1 µm if absent).
    """
    N = adu.shape[0]
    start = np.concatenate([fallback, np.full(fallback.shape[:2] + (1,), 0.1)], axis=2)
    for m, (frames, xyz) in enumerate(_modular_tracks(adu, setup)[:n_emitters]):
        start[m] = _fill_track(frames, xyz, N)
    return start


def birth_map(photons: np.ndarray, uniform: float = 0.5) -> np.ndarray:
    """Per-frame pixel probabilities (N, R, C) of the unused candidates' data-driven moves.

    A mixture: ``uniform`` spread evenly over the pixels, the rest in proportion to each frame's
    photons above its median after a 1-pixel Gaussian smoothing (where spots are). A fixed
    function of the data, so the move that draws from it stays a valid Metropolis-Hastings move.
    """
    sm = ndimage.gaussian_filter(np.asarray(photons, float), sigma=(0, 1.0, 1.0), mode="nearest")
    w = np.clip(sm - np.median(sm, axis=(1, 2), keepdims=True), 0.0, None)
    tot = w.sum(axis=(1, 2), keepdims=True)
    RC = photons.shape[1] * photons.shape[2]
    spot = np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 1.0 / RC)
    return uniform / RC + (1.0 - uniform) * spot


def presence_start(
    adu: np.ndarray,
    setup: Setup,
    extra: int = 2,
    max_candidates: int = 16,
    spot_photons: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Candidate emitters and their starting presence for an unknown number of emitters.

    One candidate per track of the modular tracker (at most ``max_candidates - extra``, longest
    first), present from its first to its last localization (positions filled as in
    :func:`modular_start`), plus unused candidates (load 0) at the brightest local maxima of the
    movie's smoothed maximum projection that no track passes within 3 pixels of, through which
    the sampler can add emitters the detector missed: ``extra``, or more where the frames hold
    more light than the tracks explain (overlapping spots the detector sees as one): enough for
    the 90th percentile over frames of the photons above the background divided by one
    emitter's ``spot_photons``, plus one.

    Returns
    -------
    start : ndarray (M, N, 3)
        Starting positions (µm).
    on : ndarray (M, N)
        Starting presence (0/1).
    load : ndarray (M,)
        Starting loads (1: in the model, 0: unused).
    spot_photons : float or None
        Photons of one emitter per exposure: as given, else the median maximum-likelihood
        photons per spot of the tracks (None without tracks).
    """
    N, R, C = adu.shape
    a = setup.pixel_size
    tracks, found = _modular_tracks(adu, setup, with_photons=True)
    spot_photons = found if spot_photons is None else float(spot_photons)
    photons = photons_estimate(adu, setup.camera)
    if spot_photons:
        light = photons.sum(axis=(1, 2)) - np.median(photons) * R * C
        n_light = int(np.ceil(np.quantile(light, 0.9) / spot_photons)) + 1
        extra = max(extra, n_light - len(tracks))
    extra = min(extra, max_candidates)
    tracks = tracks[: max(max_candidates - extra, 0)]
    starts, ons = [], []
    for frames, xyz in tracks:
        starts.append(_fill_track(frames, xyz, N))
        on = np.zeros(N)
        on[frames.min() : frames.max() + 1] = 1.0
        ons.append(on)
    if extra > 0:
        proj = ndimage.gaussian_filter(photons.max(axis=0), 1.0, mode="nearest")
        is_max = proj == ndimage.maximum_filter(proj, size=5, mode="nearest")
        rr, cc = np.nonzero(is_max)
        order = np.argsort(proj[rr, cc], kind="stable")[::-1]
        taken = np.concatenate([st[:, :2] for st in starts]) if starts else np.zeros((0, 2))
        picked = []
        for i in order:
            pt = np.array([(cc[i] + 0.5) * a, (rr[i] + 0.5) * a])
            near = np.hypot(*(taken - pt).T) < 3 * a if len(taken) else np.zeros(0, bool)
            if not near.any():
                picked.append(pt)
                taken = np.vstack([taken, pt])
            if len(picked) == extra:
                break
        while len(picked) < extra:
            picked.append(np.array([C * a / 2, R * a / 2]))
        for pt in picked:
            starts.append(np.tile([pt[0], pt[1], 0.1], (N, 1)))
            ons.append(np.zeros(N))
    load = np.array([1.0] * len(tracks) + [0.0] * extra)
    return np.array(starts).reshape(-1, N, 3), np.array(ons).reshape(-1, N), load, spot_photons


def track_bayes(
    stack,
    setup: Setup,
    *,
    n_emitters: int | None = 1,
    subframes: int = 1,
    n_iterations: int = 6000,
    n_chains: int = 2,
    burn: float = 0.5,
    thin: int | None = None,
    seed: int | None = None,
    ci: float = 0.98,
    fix_background: bool = False,
    fix_emission_rate: bool = False,
    blur_correction: bool = True,
    blur_psf: bool | str = "auto",
    D_prior: tuple[float, float] = (0.01, 0.01),
    flux_prior_sd: float = 1.0,
    position_prior_sd: tuple[float, float] | None = None,
    init: np.ndarray | str | None = None,
    extra_candidates: int = EXTRA_CANDIDATES,
    spot_photons: float | None = None,
    presence_prior: tuple[float, float, float, float, float] = PRESENCE_PRIOR,
    planar: bool = False,
    emitter_D_sd: float = 0.0,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrackPosterior:
    """Sample the posterior of M emitter tracks given an image stack (MCMC, several chains).

    Parameters
    ----------
    stack : array_like (frames, rows, cols)
        Raw movie in ADU.
    setup : sptmotion.optics.Setup
        Optics, timing, camera (calibrated) and the nominal F and H. The stack's own shape defines
        the ROI; ``setup.subframes`` is ignored in favour of ``subframes``.
    n_emitters : int or None
        Known number of emitters M >= 1, present in every frame; ``None``: unknown and changing
        (see Notes): candidate emitters from the modular tracker's tracks plus
        ``extra_candidates`` unused ones, each with a load and an on/off state per frame that
        the sampler draws (:func:`sptmotion.tracking.moves.presence_move`); the posterior then
        has the presence samples (``TrackPosterior.present``), the number of emitters'
        posterior and ``p_present`` per frame.
    subframes : int
        K, positions per exposure in the model (motion blur); K = 1 is the fastest.
    n_iterations : int
        MCMC sweeps per chain (each sweep moves every frame and emitter once per move type).
    n_chains : int
        Independent chains, seeded by child seeds of ``seed`` (same seed, same result).
    burn : float
        Fraction of each chain discarded as burn-in (proposal scales adapt only there).
    thin : int, optional
        Keep every ``thin``-th post-burn-in sweep (default: every sweep, unless the position
        samples of all chains would exceed 2.5e7 values (200 MB); then as many as fit, and at
        least 1000 per chain).
    seed : int, optional
        Seed of the whole run.
    ci : float
        Default credible level of the summaries (0.98).
    fix_background, fix_emission_rate : bool
        Keep F (photons/µm²/s) or H (photons/s) at the setup's values instead of sampling them.
    blur_correction : bool
        With K = 1, the motion prior is that of exposure-averaged Brownian positions (increment
        variance ``2 D (dt - t_E/3)``, covariance ``2 D t_E / 6`` between consecutive increments,
        :func:`brownian_precision_band`): unbiased D and the right spread over gaps of weakly
        measured frames under motion blur. False: the plain Brownian prior of instantaneous
        positions (data without motion during the exposure).
    blur_psf : {"auto", True, False}
        Blur-aware K = 1 emission: widen the lateral PSF by the motion blur expected during the
        exposure, ``sigma_eff(z)^2 = sigma(z)^2 + D t_E / 3`` (see Notes). ``"auto"`` (default):
        on for K = 1 with a non-zero exposure; ``True`` requires K = 1 (K >= 2 models the blur with
        its sub-frame points); ``False``: the plain PSF.
    D_prior : (a, b)
        Inverse-gamma prior of D (shape, scale in µm²/s). The default (0.01, 0.01) is close to the
        scale-invariant prior ``p(D) ∝ 1/D`` above ~0.01 µm²/s, so that the positions' intervals
        keep their frequentist coverage on short tracks: the conditional prior precision of a
        position is ``∝ 1/D``, whose posterior mean ``(a + 3 M (L-1)/2) / (b + SS/4)`` is
        inflated by a factor ``1 + a / (3 M (L-1)/2)`` over the data's (10 % for a = 1 on
        8 frames, enough to narrow the 98% intervals of 8-frame movies measurably).
    flux_prior_sd : float
        Standard deviation of the log-normal priors of F and H around the setup's values.
    position_prior_sd : (lateral, axial), optional
        Standard deviations (µm) of the Gaussian prior of the first position, centred on the ROI
        centre and the focal plane (default: the ROI's larger side, and 1 µm).
    init : {"brightest", "modular"} or ndarray (M, N, 2) or (M, N, 3), optional
        Starting positions: the brightest pixels (default, :func:`initial_positions`), the M longest
        tracks of the modular tracker (:func:`modular_start`), or given positions (µm). Each chain
        starts from them with a small random lateral offset and a random sign of z.
    extra_candidates : int
        With ``n_emitters=None``: unused candidates added to the tracks' (at least; more where
        the frames hold more light than the tracks explain, see :func:`presence_start`).
    spot_photons : float, optional
        With ``n_emitters=None``: photons of one emitter per exposure (a calibration, or the
        whole movie's median spot), the centre of the emission rate's prior; default the median
        maximum-likelihood photons of the modular tracker's spots in this stack (biased high
        where most spots are overlapping pairs).
    presence_prior : (a_on, b_on, a_off, b_off, gamma)
        With ``n_emitters=None``: Beta priors of the per-frame switching-on and switching-off
        probabilities and the loads' Beta-Bernoulli concentration (:data:`PRESENCE_PRIOR`).
    planar : bool
        Motion in the focal plane (a membrane, a coverslip, beads in a thin layer): z is held
        at focus, and the motion prior and D are over x and y only. A 2D mover fitted with the
        3D model gives D about 0.8 of the truth (its z increments, pinned by the in-focus PSF
        width, look like no motion along a third axis).
    emitter_D_sd : float
        With two or more (candidate) emitters and ``emitter_D_sd > 0``, each diffuses with its
        own coefficient ``D_m = D dfac_m``, ``ln dfac_m ~ N(0, emitter_D_sd^2)``
        (:data:`EMITTER_D_SD` is ln(10)/2; the blur-aware PSF of each is widened by its own
        D). 0 (default): one D for all emitters; with an unknown number of emitters each
        fragment of a track then cannot take its own D, and tracks split less (see the
        tracking reference). The
        posterior's ``D`` is then the emitters' D averaged over their present frames in the
        draw, ``D_emitters`` each candidate's (:meth:`TrackPosterior.row_D`: per table row).
    progress : callable(chain, iteration, log_posterior), optional
        Called every few iterations.

    Returns
    -------
    TrackPosterior

    Notes
    -----
    Motion blur with K = 1. The frame's image is the time average of the PSF over the exposure,
    ``(1/t_E) int PSF(x - r(t)) dt``, and the K = 1 position stands for the exposure-averaged
    position ``rbar``. For Brownian motion (variance ``2 D t`` per axis), averaged over paths given
    ``rbar``, the deviations ``r(t) - rbar`` have the mean variance
    ``E[(1/t_E) int (B_t - Bbar)^2 dt] = 2 D t_E / 6 = D t_E / 3`` per lateral axis (the mean squared
    deviation of a Brownian path from its own time average: for a standard Wiener process
    ``E[(1/T) int_0^T W_t^2 dt] - E[Wbar^2] = T/2 - T/3 = T/6``; Berglund, Phys. Rev. E 82,
    011917 (2010) for motion blur in SPT). Approximating that spread by a Gaussian, the PSF of
    width ``sigma(z)`` convolved with it is a Gaussian of variance ``sigma(z)^2 + D t_E / 3``,
    which the blur-aware emission uses (pixel-integrated with
    erf as the PSF itself). At D = 0.7 µm²/s and t_E = 30 ms the blur is 84 nm rms per axis, about
    the in-focus PSF width (~0.1 µm); the plain K = 1 model explains the wider spot by defocus
    instead (|z| about ``z0 sqrt(D t_E / 3) / sigma0``, 0.28 µm at D = 1 µm²/s for a particle in
    focus), which the blur term removes; the lateral intervals hardly change. Because the
    emission then depends on D, D is updated by Metropolis-Hastings with
    the conjugate inverse-gamma conditional of the motion part as an independence proposal (the
    acceptance ratio is the ratio of the whole-stack emission likelihoods, one evaluation per
    sweep); position moves use the current D's blur and stay frame-local.

    Unknown number of emitters (``n_emitters=None``). As in BNP-Track (Sgouralis et al. 2024)
    the model holds M candidate emitters, each with a load ``b_m`` (Beta-Bernoulli prior: a
    candidate is used or not); a used candidate is present or absent frame by frame (a two-state
    Markov chain: entering, leaving, blinking), an absent one emits nothing and its position
    follows the motion prior only. Given everything else, a candidate's load and whole on/off
    sequence are drawn exactly (forward filtering, backward sampling over the frames). The
    number of emitters of a draw is the number of candidates present in at least one frame.
    The candidates start at the modular tracker's tracks (present between their first and last
    localization) and at unexplained bright spots (unused): emitters the detector misses enter
    the model when an unused candidate's path meets them (random translations of its path, and
    translations onto the data's bright pixels). The number of emitters and their brightness are
    confounded (two emitters at ``H/2`` on one spot explain it as one at ``H``), so the prior of
    H is centred on the median maximum-likelihood photons of the detected spots with a sd of
    :data:`PRESENCE_H_SD` on the log (unless H is fixed).

    Examples
    --------
    >>> import numpy as np
    >>> from sptmotion import optics
    >>> from sptmotion.tracking import track_bayes
    >>> setup = optics.preset("hendrix2025", subframes=1)
    >>> movie = optics.render(np.full((1, 20, 3), [2.1, 2.1, 0.1]), setup, rng=0)
    >>> post = track_bayes(movie, setup, n_iterations=200, n_chains=2, seed=1)  # doctest: +SKIP
    >>> post.to_table().head()           # particle, frame, x, y, z, x_lo, ... (µm)  # doctest: +SKIP
    >>> post.D_summary()["mean"], post.diagnostics()["D"]["rhat"]                 # doctest: +SKIP
    """
    adu = check_stack(stack)
    if not isinstance(setup, Setup):
        raise ValueError(f"setup must be an sptmotion.optics.Setup, got {type(setup).__name__}")
    presence = n_emitters is None
    on0 = load0 = None
    if presence:
        extra = check_int(extra_candidates, "extra_candidates", 0)
        pres_prior = np.array([check_positive(v, "presence_prior") for v in presence_prior])
        if len(pres_prior) != 5:
            raise ValueError("presence_prior must be (a_on, b_on, a_off, b_off, gamma)")
        if init is not None and not (isinstance(init, str) and init == "modular"):
            raise ValueError(
                "with an unknown number of emitters the candidates come from the modular "
                "tracker (init='modular' or None)"
            )
        init, on0, load0, spot_photons = presence_start(
            adu, setup, extra=extra, spot_photons=spot_photons
        )
        if len(init) == 0:
            raise ValueError("no candidate emitters: no track found and extra_candidates=0")
        M = len(init)
    else:
        M = check_int(n_emitters, "n_emitters", 1)
        pres_prior = np.asarray(PRESENCE_PRIOR, dtype=float)
    K = check_int(subframes, "subframes", 1)
    n_iter = check_int(n_iterations, "n_iterations", 2)
    n_chains = check_int(n_chains, "n_chains", 1)
    burn = float(burn)
    if not 0.0 <= burn < 1.0:
        raise ValueError(f"burn must be a fraction in [0, 1), got {burn!r}")
    ci = check_ci(ci)
    if seed is not None:
        check_int(seed, "seed", 0)
    if K >= 2 and setup.exposure >= setup.frame_period:
        raise ValueError("with subframes K >= 2 the exposure must be shorter than the frame period")
    a_D, b_D = (check_positive(v, "D_prior") for v in D_prior)
    flux_sd = check_positive(flux_prior_sd, "flux_prior_sd")
    if fix_background and setup.background_flux <= 0:
        raise ValueError("cannot fix the background flux F at 0 (the camera models need u > 0)")
    if fix_emission_rate and setup.emission_rate <= 0:
        raise ValueError("cannot fix the emission rate H at 0")
    use_blur = _use_blur_psf(blur_psf, K, setup)
    model = BayesModel(adu, setup, M, K, blur_correction, blur_psf=use_blur)
    mu0, s0 = _position_prior(model, position_prior_sd)
    n_bright = max(int(load0.sum()), 1) if presence else M
    start, (F0, H0, D0), f_prior, h_prior = _starting_values(
        model, init, flux_sd, (a_D, b_D), fix_background, fix_emission_rate, n_bright
    )
    if planar:  # motion in the focal plane: z held at focus
        start = np.array(start, dtype=float)
        start[..., 2] = 0.0
    if presence and spot_photons is not None and not fix_emission_rate:
        # M and H trade off (two emitters at H/2 on one spot explain it as well as one at H):
        # the emission rate's prior is centred on the detected spots' brightness, and narrow
        H0 = spot_photons / model.t_e
        h_prior = np.array([np.log(H0), min(flux_sd, PRESENCE_H_SD)])
    n_burn = int(round(burn * n_iter))
    thin = _thinning(thin, n_iter - n_burn, n_chains, model)
    n_draws = len(range(0, n_iter - n_burn, thin))
    check_memory(
        8.0 * n_chains * (6 * n_iter + n_draws * (M * model.L * 3 + 3)),
        f"{n_iter} MCMC sweeps x {n_chains} chains",
    )
    flags = np.array([True, not fix_background, not fix_emission_rate, presence])
    birth = birth_map(photons_estimate(adu, setup.camera)) if presence else None
    dfac_sd = check_positive(emitter_D_sd, "emitter_D_sd", allow_zero=True)
    dfac_sd = dfac_sd if M > 1 else 0.0  # one emitter: its D is the chain's
    problem = model.problem(
        mu0, s0, np.array([a_D, b_D]), f_prior, h_prior, flags, pres_prior, birth,
        n_axes=2 if planar else 3, dfac_sd=dfac_sd,
    )  # fmt: skip
    chains = [
        _run_chain(
            model,
            problem,
            _start_state(model, start, rng, D0, F0, H0, on0, load0),
            rng,
            n_iter,
            n_burn,
            thin,
            lambda it, lp, ch=ch: progress(ch, it, lp) if progress is not None else None,
        )
        for ch, rng in enumerate(
            np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(n_chains)
        )
    ]
    settings = {
        "n_emitters": None if presence else M,
        "candidates": M,
        "subframes": K,
        "n_iterations": n_iter,
        "n_chains": n_chains,
        "burn": burn,
        "seed": seed,
        "fix_background": bool(fix_background),
        "fix_emission_rate": bool(fix_emission_rate),
        "blur_correction": bool(blur_correction and K == 1),
        "blur_psf": bool(model.blur_coef > 0),
        "blur_psf_coef_s": model.blur_coef,
        "init": init if isinstance(init, str) else ("brightest" if init is None else "given"),
        "D_prior": [a_D, b_D],
        "flux_prior_sd": flux_sd,
        "position_prior_mean": mu0.tolist(),
        "position_prior_sd": s0.tolist(),
        "planar": bool(planar),
        "emitter_D_sd": dfac_sd,
    }
    if presence:
        settings["extra_candidates"] = int(M - load0.sum())
        settings["presence_prior"] = pres_prior.tolist()
        settings["emission_rate_prior"] = {"log_mean": float(h_prior[0]), "sd": float(h_prior[1])}
        settings["spot_photons"] = spot_photons
    if presence:
        _align_chains(chains, model)
    thetas = np.stack([c["thetas"] for c in chains])
    return TrackPosterior(
        samples=np.stack([c["samples"] for c in chains]),
        D=np.stack([c["D"] for c in chains]),
        F=thetas[..., 1],
        H=thetas[..., 2],
        traces={k: np.stack([c["traces"][k] for c in chains]) for k in chains[0]["traces"]},
        acceptance={k: np.array([c["acceptance"][k] for c in chains]) for k in MOVE_NAMES},
        subframes=K,
        weights=model.cw,
        frame_times=model.frame_times,
        n_burn=n_burn,
        thin=thin,
        ci=ci,
        settings=settings,
        present=np.stack([c["present"] for c in chains]) if presence else None,
        D_emitters=thetas[..., :1] * np.stack([c["dfacs"] for c in chains]) if dfac_sd else None,
    )


def _use_blur_psf(blur_psf, K: int, setup: Setup) -> bool:
    """Whether the blur-aware K = 1 emission is on (``blur_psf`` of :func:`track_bayes`)."""
    if isinstance(blur_psf, str):
        if blur_psf != "auto":
            raise ValueError(f"blur_psf must be 'auto', True or False, got {blur_psf!r}")
        return K == 1 and setup.exposure > 0
    if isinstance(blur_psf, bool | np.bool_):
        if blur_psf and K != 1:
            raise ValueError(
                "blur_psf=True needs subframes=1 (with K >= 2 the sub-frame points model the blur)"
            )
        return bool(blur_psf)
    raise ValueError(f"blur_psf must be 'auto', True or False, got {blur_psf!r}")


def _position_prior(model: BayesModel, position_prior_sd) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (µm) of the Gaussian prior of the first position: ROI centre, focal plane."""
    a = model.pixel_size
    if position_prior_sd is None:
        position_prior_sd = (max(model.R, model.C) * a, 1.0)
    s_lat, s_ax = (check_positive(v, "position_prior_sd") for v in position_prior_sd)
    return np.array([model.C * a / 2, model.R * a / 2, 0.0]), np.array([s_lat, s_lat, s_ax])


def _starting_values(
    model: BayesModel, init, flux_sd, D_prior, fix_background, fix_emission_rate, n_bright=None
):
    """Starting track (M, N, 3), starting (F, H, D) and the F, H priors, from the data (never
    from the truth): moment estimates of the fluxes (H from ``n_bright`` emitters, default M),
    the brightest pixels or the modular tracker."""
    setup = model.setup
    M, N, R, C = model.M, model.N, model.R, model.C
    a = model.pixel_size
    photons = photons_estimate(model.adu, setup.camera)
    bg_ph = float(np.median(photons))
    F0 = max(bg_ph, 1e-3) / model.area_te
    H0 = (
        float(np.median(np.clip(photons.sum(axis=(1, 2)) - bg_ph * R * C, 0, None)))
        / model.t_e
        / (M if n_bright is None else n_bright)
    )
    H0 = max(H0, 0.05 * max(setup.emission_rate, 1.0))
    if fix_background:
        F0 = setup.background_flux
    if fix_emission_rate:
        H0 = setup.emission_rate
    F_ref = setup.background_flux if setup.background_flux > 0 else F0
    H_ref = setup.emission_rate if setup.emission_rate > 0 else H0
    f_prior = np.array([np.log(F_ref), flux_sd])
    h_prior = np.array([np.log(H_ref), flux_sd])
    if init is None or (isinstance(init, str) and init == "brightest"):
        start_xy = initial_positions(photons, M, a)
        start = np.concatenate([start_xy, np.full((M, N, 1), 0.1)], axis=2)
    elif isinstance(init, str) and init == "modular":
        start = modular_start(model.adu, setup, M, fallback=initial_positions(photons, M, a))
    elif isinstance(init, str):
        raise ValueError(
            f"init must be 'brightest', 'modular' or an array of positions, got {init!r}"
        )
    else:
        start = np.asarray(init, dtype=float)
        if start.ndim != 3 or start.shape[:2] != (M, N) or start.shape[2] not in (2, 3):
            raise ValueError(f"init must have shape ({M}, {N}, 2 or 3), got {start.shape}")
        if start.shape[2] == 2:
            start = np.concatenate([start, np.full((M, N, 1), 0.1)], axis=2)
        if not np.all(np.isfinite(start)):
            raise ValueError("init contains NaN or inf")
    a_D, b_D = D_prior
    if N > 1:
        inc = np.diff(start[:, :, :2], axis=1)
        D0 = float(np.clip(np.mean(np.sum(inc**2, axis=2)) / (4 * setup.frame_period), 1e-3, 20.0))
    else:
        D0 = b_D / max(a_D - 1, 0.5) if a_D > 1 else 0.1
    return start, (F0, H0, D0), f_prior, h_prior


def _thinning(thin, n_keep: int, n_chains: int, model: BayesModel) -> int:
    """Every post-burn-in sweep, unless the samples would pass ~200 MB (then >= 1000 per chain):
    the tails of the 98% intervals rest on ~1% of the draws."""
    if n_keep < 1:
        raise ValueError("no iterations left after burn-in; lower burn or raise n_iterations")
    if thin is None:
        max_draws = max(1000, _MAX_SAMPLE_VALUES // (n_chains * model.M * model.L * 3))
        thin = max(1, int(np.ceil(n_keep / max_draws)))
    return check_int(thin, "thin", 1)


def _run_chain(model, problem, state, rng, n_iter: int, n_burn: int, thin: int, progress) -> dict:
    """One chain: ``n_iter`` sweeps (proposal scales adapt during the ``n_burn`` first), the kept
    draws, the traces of the log-probabilities and parameters, and the acceptance rates."""
    presence = bool(problem.sample_flags[3])
    # every camera but the EMCCD Gamma (whose data terms do it) caches the background's terms
    work = new_work(model.K, model.N, model.R, model.C, model.cam_code != CAM_EMCCD_GAMMA)
    mu0, s0 = problem.mu0, problem.s0
    (a_D, b_D), f_prior, h_prior, flags = (
        problem.d_prior,
        problem.f_prior,
        problem.h_prior,
        problem.sample_flags,
    )
    n_draws = len(range(0, n_iter - n_burn, thin))
    samples = np.empty((n_draws, model.M, model.L, 3))
    thetas = np.empty((n_draws, 3))
    dfacs = np.empty((n_draws, model.M))
    d_draws = np.empty(n_draws)
    present = np.empty((n_draws, model.M, model.N), dtype=bool) if presence else None
    names = ("emission", "motion", "log_posterior", "D", "F", "H")
    names += ("n_emitters",) if presence else ()
    traces = {k: np.empty(n_iter) for k in names}
    seeds = rng.integers(0, 2**31 - 1, size=n_iter)
    # each emitter's own D (dfac_sd > 0) is released after the first half of the burn-in: from
    # a chimeric starting track (two particles linked into one) the moves with one D undo the
    # jump, whose cost one D sets; an emitter's own D would grow to make the jump cheap
    shared = problem._replace(dfac_sd=0.0)
    shared_until = n_burn // 2 if problem.dfac_sd > 0 else 0
    d = 0
    for it in range(n_iter):
        if it == n_burn:
            state.acc[:] = 0.0
            state.prop[:] = 0.0
        gain = (it + 1.0) ** -0.6 if it < n_burn else 0.0
        sweep(int(seeds[it]), gain, state, shared if it < shared_until else problem, work)
        theta = state.theta
        em = float(state.ll.sum()) + model.emission_offset
        mpos = state.pos[:, :, : problem.n_axes]
        mo = model.motion_lp(mpos, theta[0], mu0, s0, state.dfac) if model.L > 1 else 0.0
        lp = em + mo + _log_priors(theta, a_D, b_D, f_prior, h_prior, flags)
        if problem.dfac_sd > 0:
            lp += float(-0.5 * np.sum((np.log(state.dfac) / problem.dfac_sd) ** 2))
        seen = _in_view(model, state) if presence else None
        D_now = _reported_D(state, problem, seen)
        traces["emission"][it] = em
        traces["motion"][it] = mo
        traces["log_posterior"][it] = lp
        traces["D"][it], traces["F"][it], traces["H"][it] = D_now, theta[1], theta[2]
        if presence:
            traces["n_emitters"][it] = float(seen.any(axis=1).sum())
        if it >= n_burn and (it - n_burn) % thin == 0:
            samples[d] = state.pos
            thetas[d] = theta
            dfacs[d] = state.dfac
            d_draws[d] = D_now
            if presence:
                present[d] = seen
            d += 1
        if it % 25 == 0 or it == n_iter - 1:
            progress(it, lp)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(state.prop > 0, state.acc / np.maximum(state.prop, 1), np.nan)
    acceptance = {name: rate[i] for i, name in enumerate(MOVE_NAMES)}
    return {
        "samples": samples,
        "thetas": thetas,
        "dfacs": dfacs,
        "D": d_draws,
        "present": present,
        "traces": traces,
        "acceptance": acceptance,
    }


def _align_chains(chains: list[dict], model: BayesModel) -> None:
    """Relabel the candidates of chains 1, 2, ... to match chain 0 (in place).

    Candidates are exchangeable, so two chains may hold the same emitter under different
    indices (e.g. each added a missed emitter through a different unused candidate). Each
    chain's candidates are matched to chain 0's by the Hungarian algorithm on the mean over
    frames of the distance between their mean positions where both are mostly present, and
    1 µm where only one of them is.
    """
    from scipy.optimize import linear_sum_assignment

    def summary(c):
        p = c["present"].mean(axis=0)  # (M, N)
        fs = c["samples"].reshape(len(c["samples"]), model.M, model.N, model.K, 3)
        xy = np.einsum("dmnka,k->dmna", fs[..., :2], model.cw)
        w = c["present"][..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (xy * w).sum(axis=0) / w.sum(axis=0)
        return p > 0.5, mean

    on0, mean0 = summary(chains[0])
    for c in chains[1:]:
        on1, mean1 = summary(c)
        both = on0[:, None, :] & on1[None, :, :]
        dist = np.linalg.norm(mean0[:, None] - mean1[None, :], axis=-1)
        cost = np.where(both, np.nan_to_num(dist, nan=1.0), 0.0)
        cost = np.where(on0[:, None, :] != on1[None, :, :], 1.0, cost).mean(axis=2)
        _, perm = linear_sum_assignment(cost)
        c["samples"] = c["samples"][:, perm]
        c["present"] = c["present"][:, perm]
        c["dfacs"] = c["dfacs"][:, perm]


def _reported_D(state, problem, seen) -> float:
    """The D a draw reports (µm²/s): the chain's D with one D for all emitters, else the mean of
    the emitters' own ``D dfac_m`` weighted by their frames present in the field of view
    (``seen (M, N)``; all frames of all emitters with a known number), so that a short
    fragment weighs what its few spots do; over all candidates alike when none is present."""
    D = float(state.theta[0])
    if problem.dfac_sd <= 0:
        return D
    w = np.ones(len(state.dfac)) if seen is None else seen.sum(axis=1).astype(float)
    if not w.any():
        w = np.ones(len(state.dfac))
    return D * float(np.sum(w * state.dfac) / np.sum(w))


def _in_view(model: BayesModel, state) -> np.ndarray:
    """(M, N) bool: present and with its exposure-averaged position inside the ROI (an emitter
    present outside the field of view leaves no trace in the data and is not counted)."""
    mean = np.einsum("mnka,k->mna", state.pos.reshape(model.M, model.N, model.K, 3), model.cw)
    a = model.pixel_size
    inside = (
        (mean[..., 0] >= 0)
        & (mean[..., 0] <= model.C * a)
        & (mean[..., 1] >= 0)
        & (mean[..., 1] <= model.R * a)
    )
    return (state.on > 0) & inside


def _start_state(
    model: BayesModel, start: np.ndarray, rng, D0: float, F0: float, H0: float, on=None, load=None
):
    """A chain's starting state: ``start`` repeated over the K points, a small random lateral
    offset and a random sign of z per emitter, the caches and the initial proposal scales
    (``on (M, N)``, ``load (M,)``: starting presence and loads, default all present)."""
    M, N = start.shape[:2]
    pos = np.repeat(start, model.K, axis=1).copy()
    pos[:, :, :2] += 0.01 * rng.standard_normal((M, 1, 2))
    pos[:, :, 2] *= rng.choice([-1.0, 1.0], size=(M, 1))
    pos = np.ascontiguousarray(pos)
    on = np.ones((M, N)) if on is None else np.array(on, dtype=float)
    load = np.ones(M) if load is None else np.array(load, dtype=float)
    EX, EY, WIN, S, ll = model.new_state(pos, F0, H0, D0, on)
    log_scales = np.empty((N, M, 3))
    log_scales[..., 0] = np.log(0.02)
    log_scales[..., 1] = np.log(0.1)
    log_scales[..., 2] = np.log(0.02)
    return State(
        pos=pos,
        EX=EX,
        EY=EY,
        WIN=WIN,
        S=S,
        ll=ll,
        theta=np.array([D0, F0, H0]),
        psf_par=model.psf_params(D0),  # per chain: its blur variance follows the chain's D
        log_scales=log_scales,
        glob_scales=np.log(np.array(GLOB_SCALES_START)),
        acc=np.zeros(N_MOVES),
        prop=np.zeros(N_MOVES),
        on=on,
        load=load,
        pres=np.array([0.05, 0.05]),
        dfac=np.ones(M),
    )


def _log_priors(theta, a_D, b_D, f_prior, h_prior, flags) -> float:
    """log InvGamma(D; a, b) + log N(log F) + log N(log H) (up to constants; densities on log F, log H)."""
    D = theta[0]
    out = -(a_D + 1.0) * np.log(D) - b_D / D
    if flags[1]:
        out += -0.5 * ((np.log(theta[1]) - f_prior[0]) / f_prior[1]) ** 2
    if flags[2]:
        out += -0.5 * ((np.log(theta[2]) - h_prior[0]) / h_prior[1]) ** 2
    return float(out)
