"""Camera noise models: exact log-densities, normalization, agreement with their samplers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ive

from sptmotion.optics import kernels
from sptmotion.optics.camera import (
    CAMERAS,
    EMCCDPGN,
    SCMOS,
    EMCCDGamma,
    camera_from_dict,
    get_camera,
)

N_KS = 3000
# Kolmogorov-Smirnov critical value at significance 1e-3 for N_KS samples: 1.95 / sqrt(N).
KS_CRIT = 1.95 / math.sqrt(N_KS)


def _grid_cdf(cam, u, lo, hi, n=20001):
    """CDF of cam's density on [lo, hi] by the trapezoid rule, and the total mass."""
    x = np.linspace(lo, hi, n)
    p = np.exp(cam.log_pdf(x, u))
    c = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    return x, c


def _ks(cam, u, lo, hi, seed):
    x, c = _grid_cdf(cam, u, lo, hi)
    s = np.sort(cam.sample(np.full(N_KS, u), seed))
    F = np.interp(s, x, c)
    i = np.arange(1, N_KS + 1) / N_KS
    return max(np.max(i - F), np.max(F - (i - 1 / N_KS))), c[-1]


# --- EMCCD Gamma -------------------------------------------------------------------------


def test_gamma_logpdf_equals_scipy():
    cam = EMCCDGamma(gain=350, conversion=3.5, qe=0.95, offset=10.0)
    rng = np.random.default_rng(0)
    # shape qe*u/2 from 0.05 (math.lgamma branch) to 5e3 (Stirling branch)
    u = np.geomspace(0.1, 1e4, 400)
    adu = cam.sample(u, rng) + 1e-9
    ref = stats.gamma.logpdf(adu, a=0.95 * u / 2, scale=2 * 350 / 3.5, loc=10.0)
    np.testing.assert_allclose(cam.log_pdf(adu, u), ref, rtol=1e-10, atol=1e-9)
    assert cam.log_pdf_sum(adu, u) == pytest.approx(ref.sum(), rel=1e-11)


def test_gamma_sum_from_the_spots_equals_the_full_sum():
    """The tracker's Gamma log-likelihood of a frame from its spots' pixels and the data sums
    equals the sum over every pixel, also with no spot, with a zero emission rate and with
    spot tails that underflow to exactly 0; an invalid background is NaN."""
    from sptmotion.tracking._mcmc_kernels import gamma_data_terms

    cam = EMCCDGamma(gain=300, conversion=4.0, qe=0.9, offset=100.0)
    code, par = kernels.CAM_EMCCD_GAMMA, np.array(cam.kernel_params, dtype=float)
    rng = np.random.default_rng(1)
    S = np.zeros((3, 24, 30))
    yy, xx = np.mgrid[:24, :30]
    S[1] = np.exp(-((yy - 8.3) ** 2 + (xx - 20.6) ** 2) / 2.0)
    S[1][S[1] < 1e-9] = 0.0  # a spot's window: exact zeros outside
    S[2, 3:9, 4:12] = rng.uniform(0, 0.2, (6, 8))
    S[2, 3, 4] = 0.0
    bg, h = 12.0, 900.0
    adu = cam.sample(bg + h * S, rng)
    logw, wsum = gamma_data_terms(adu, code, par)
    for n in range(3):
        for hh in (h, 0.0):
            full = kernels.emccd_gamma_logpdf_sum(adu[n], bg + hh * S[n], *par)
            sparse = kernels.emccd_gamma_logpdf_sum_sparse(
                logw[n], wsum[n, 0], wsum[n, 1], S[n], bg, hh, par[0], par[1]
            )
            assert sparse == pytest.approx(full, rel=1e-12)
    assert math.isnan(
        kernels.emccd_gamma_logpdf_sum_sparse(logw[1], *wsum[1], S[1], 0.0, h, par[0], par[1])
    )
    # data at or below the offset: no data terms (the full sum then names the problem)
    low = adu.copy()
    low[0, 0, 0] = par[2]
    assert gamma_data_terms(low, code, par)[0].shape[0] == 0


def test_lgamma_fast_accuracy():
    from scipy.special import gammaln

    k = np.concatenate([np.linspace(0.01, 7, 500), np.geomspace(7, 1e8, 2000)])
    err = np.array([kernels.lgamma_fast(v) for v in k]) - gammaln(k)
    assert np.max(np.abs(err)) < 5e-11  # stated bound 2.1e-11 plus rounding of the large terms


@pytest.mark.parametrize("u", [3.0, 60.0])
def test_gamma_normalized_and_matches_samples(u):
    cam = EMCCDGamma()
    hi = stats.gamma.ppf(1 - 1e-12, a=0.475 * u, scale=200.0)
    f = lambda w: math.exp(cam.log_pdf(np.array([w]), u)[0])  # noqa: E731
    mass = integrate.quad(f, 0, hi, points=[0.475 * u * 200.0], limit=200)[0]
    assert mass == pytest.approx(1.0, abs=1e-6)
    d, total = _ks(cam, u, 0.0, hi, seed=1)
    assert total == pytest.approx(1.0, abs=1e-3)
    assert d < KS_CRIT


# --- EMCCD Poisson-Gamma-Normal ----------------------------------------------------------


def test_pgn_series_matches_bessel_closed_form():
    # sum_n Pois(n; lam) Gamma(m; n, G) = exp(-lam - m/G) sqrt(lam/(m G)) I_1(2 sqrt(lam m / G)):
    # the adaptive series must agree to its stated relative error 2 rel_tol.
    G = 350.0
    for lam in (0.05, 1.0, 30.0, 400.0):
        for m in (0.5, 50.0, 2e3, lam * G, 3 * lam * G + 100):
            z = 2 * math.sqrt(lam * m / G)
            ref = -lam - m / G + 0.5 * math.log(lam / (m * G)) + math.log(ive(1, z)) + z
            got = kernels._log_em_density(m, lam, G, 1e-10)
            assert got == pytest.approx(ref, abs=1e-8)


@pytest.mark.parametrize("u", [0.3, 5.0, 40.0])
def test_pgn_normalized_and_matches_samples(u):
    cam = EMCCDPGN(read_noise=50.0, spurious=0.005, offset=100.0)
    lam = cam.qe * u + cam.spurious
    sd = cam.read_noise / cam.conversion
    lo = cam.offset - 12 * sd
    hi = cam.offset + (lam + 12 * math.sqrt(2 * lam) + 30) * cam.gain / cam.conversion
    d, total = _ks(cam, u, lo, hi, seed=2)
    assert total == pytest.approx(1.0, abs=1e-3)
    assert d < KS_CRIT


def test_pgn_valid_at_low_counts_where_gamma_fails():
    # at 0.2 expected photons most pixels hold no photoelectron: read noise puts about half of
    # them below the offset, which the Gamma model declares impossible
    pgn = EMCCDPGN(offset=100.0)
    adu = pgn.sample(np.full(1000, 0.2), 5)
    assert (adu < 100.0).mean() > 0.3
    assert np.isfinite(pgn.log_pdf(adu, 0.2)).all()
    with pytest.raises(ValueError, match="impossible"):
        EMCCDGamma(offset=100.0).log_pdf(adu, 0.2)


def test_pgn_table_matches_the_exact_density():
    """The tabulated log-density (bicubic in the photoelectrons' and the signal's coordinates)
    against the exact series at the signals the model produces: mean error below 2e-5 nats per
    pixel up to 200 photoelectrons, below 5e-4 at any pixel; values outside the table (below
    the offset by far, absurdly bright) are computed exactly."""
    exact = EMCCDPGN(gain=300.0, read_noise=40.0, offset=100.0, approx="exact")
    table = EMCCDPGN(gain=300.0, read_noise=40.0, offset=100.0)
    rng = np.random.default_rng(4)
    for lam in (0.01, 0.4, 3.0, 25.0, 200.0, 1500.0):
        u = np.full(400, lam)
        adu = exact.sample(u, rng)
        d = np.abs(table.log_pdf(adu, u) - exact.log_pdf(adu, u))
        assert d.max() < 5e-4, lam
        if lam <= 200:
            assert d.mean() < 2e-5, lam
    far = np.array([100.0 - 40 * 40 / 3.5, 100.0 + 1e7, 100.0 + 3e6])
    u = np.array([5.0, 5.0, 5000.0])
    np.testing.assert_array_equal(table.log_pdf(far, u), exact.log_pdf(far, u))


def test_pgn_table_row_coordinate_inverts():
    from sptmotion.optics.camera import _pgn_row_lambda

    lam = np.array([1e-3, 0.2, 1.0, 7.5, 300.0, 2500.0])
    rho = np.array([kernels.pgn_row_coordinate(v) for v in lam])
    np.testing.assert_allclose(_pgn_row_lambda(rho), lam, rtol=1e-12)


# --- sCMOS -------------------------------------------------------------------------------


def test_scmos_series_matches_brute_force():
    cam = SCMOS(gain=2.1, offset=100.0, read_var=3.0, qe=0.8, approx="exact")
    for u in (0.2, 7.0, 300.0):
        lam = 0.8 * u
        for d in (95.0, 100.0, 103.3, 100 + 2.1 * lam, 100 + 2.1 * lam + 40):
            n = np.arange(0, 2000)
            ref = np.log(
                np.sum(
                    stats.poisson.pmf(n, lam)
                    * stats.norm.pdf(d - 100 - 2.1 * n, scale=math.sqrt(3))
                )
            )
            assert cam.log_pdf(np.array([d]), u)[0] == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("approx", ["exact", "gaussian"])
@pytest.mark.parametrize("u", [0.5, 20.0, 500.0])
def test_scmos_normalized_and_matches_samples(u, approx):
    cam = SCMOS(gain=2.0, offset=100.0, read_var=4.0, qe=0.8, approx=approx)
    lam = 0.8 * u
    lo = 100 - 12 * 2.0 - (2 * 12 * math.sqrt(lam) if approx == "gaussian" else 0)
    hi = 100 + 2.0 * (lam + 12 * math.sqrt(lam) + 12) + 24
    x, c = _grid_cdf(cam, u, lo, hi, n=40001)
    assert c[-1] == pytest.approx(1.0, abs=1e-3)
    if approx == "exact" or u >= 20:  # the Gaussian approximation is only claimed at high counts
        d, _ = _ks(cam, u, lo, hi, seed=3)
        assert d < KS_CRIT


def test_scmos_gaussian_approximation_close_at_high_counts():
    exact = SCMOS(gain=2.0, read_var=4.0, approx="exact")
    gauss = SCMOS(gain=2.0, read_var=4.0, approx="gaussian")
    u = 2000.0
    mean, sd = 100 + 2 * 0.8 * u, math.sqrt(4 * 0.8 * u + 4)
    d = mean + sd * np.linspace(-2, 2, 41)
    # skewness of the Poisson part ~ 1/sqrt(lam) = 0.025 -> log-density error O(0.025 * z^3/6)
    assert np.max(np.abs(exact.log_pdf(d, u) - gauss.log_pdf(d, u))) < 0.05


@pytest.mark.parametrize("lam", [10.0, 100.0, 1000.0])
def test_scmos_shifted_poisson_tracks_the_exact_likelihood_ratios(lam):
    """What a posterior sees: ln p(adu | 1.1 lam) - ln p(adu | lam) at 4000 signals drawn from
    the exact model (read noise 2.5 e-^2). The shifted Poisson's error is < 0.01 nats per pixel
    on average and below the Gaussian approximation's (whose error grows with lam: its shape is
    symmetric); measured errors in benchmarks/results/scmos."""
    rng = np.random.default_rng(7)
    cams = {
        a: SCMOS(gain=2.0, read_var=10.0, qe=1.0, approx=a)
        for a in ("exact", "poisson", "gaussian")
    }
    u = np.full(4000, lam)
    adu = cams["exact"].sample(u, rng)
    d = {a: c.log_pdf(adu, 1.1 * u) - c.log_pdf(adu, u) for a, c in cams.items()}
    err_p = np.abs(d["poisson"] - d["exact"]).mean()
    err_g = np.abs(d["gaussian"] - d["exact"]).mean()
    assert err_p < 0.01 and err_p < err_g


def test_scmos_shifted_poisson_split_into_relative_and_data_terms():
    """The trackers' dispatch evaluates the shifted Poisson without its data-only terms; with
    them added back (once per stack) it is the full log-density."""
    from sptmotion.optics import kernels

    rng = np.random.default_rng(8)
    gain, offset = rng.uniform(1.8, 2.2, (4, 5)), rng.uniform(95, 105, (4, 5))
    var = rng.uniform(2, 40, (4, 5))
    cam = SCMOS(gain=gain, offset=offset, read_var=var, qe=0.8, approx="poisson")
    u = rng.uniform(0.5, 50, (3, 4, 5))
    adu = cam.sample(u, rng)
    adu[0, 0, 0] = 50.0  # far below the offset
    rel = np.empty((4, 5))
    tot = kernels.scmos_poisson_data_term(adu, gain, offset, var)
    for n in range(3):
        kernels.scmos_poisson_loglik_rel(adu[n], u[n], 0.8, gain, offset, var, rel)
        tot += rel.sum()
    assert tot == pytest.approx(cam.log_pdf(adu, u).sum(), rel=1e-12)


def test_scmos_shifted_poisson_below_the_offset():
    """Pixels far below their offset (no shifted-Poisson density) give finite values that still
    favour fewer photons."""
    cam = SCMOS(gain=2.0, offset=100.0, read_var=4.0, approx="poisson")
    v = cam.log_pdf(np.array([80.0, 80.0]), np.array([0.5, 5.0]))
    assert np.all(np.isfinite(v)) and v[0] > v[1]


def test_scmos_pixel_maps():
    rng = np.random.default_rng(4)
    gain = rng.uniform(1.5, 2.5, (4, 5))
    offset = rng.uniform(90, 110, (4, 5))
    var = rng.uniform(1, 9, (4, 5))
    cam = SCMOS(gain=gain, offset=offset, read_var=var, qe=0.7)
    u = np.full((4000, 4, 5), 30.0)
    adu = cam.sample(u, rng)
    m_expected = offset + gain * 0.7 * 30
    v_expected = gain**2 * 0.7 * 30 + var
    # mean of 4000 frames: standard error sqrt(v / 4000); allow 5 standard errors per pixel
    assert np.all(np.abs(adu.mean(axis=0) - m_expected) < 5 * np.sqrt(v_expected / 4000))
    assert cam.log_pdf(adu[:3], u[:3]).shape == (3, 4, 5)
    with pytest.raises(ValueError, match="maps"):
        cam.log_pdf(np.zeros((2, 3, 3)), 1.0)


# --- registry and validation -------------------------------------------------------------


def test_registry_and_roundtrip():
    assert set(CAMERAS) == {"emccd", "emccd-pgn", "scmos"}
    for name in CAMERAS:
        cam = get_camera(name)
        assert camera_from_dict(cam.to_dict()) == cam
    with pytest.raises(ValueError, match="unknown camera"):
        get_camera("ccd")


@pytest.mark.parametrize(
    "make",
    [
        lambda: EMCCDGamma(gain=0),
        lambda: EMCCDGamma(gain=-5),
        lambda: EMCCDGamma(conversion=0),
        lambda: EMCCDGamma(qe=1.5),
        lambda: EMCCDPGN(gain=0),
        lambda: EMCCDPGN(read_noise=0),
        lambda: EMCCDPGN(approx="saddle"),
        lambda: SCMOS(gain=np.array([[1.0, 0.0]])),
        lambda: SCMOS(read_var=-1),
        lambda: SCMOS(approx="saddle"),
    ],
)
def test_bad_parameters(make):
    with pytest.raises(ValueError):
        make()


def test_bad_data():
    cam = EMCCDGamma()
    with pytest.raises(ValueError, match="NaN"):
        cam.log_pdf(np.array([1.0, np.nan]), 5.0)
    with pytest.raises(ValueError, match="NaN"):
        cam.log_pdf_sum(np.array([[1.0, np.nan]]), np.array([[5.0, 5.0]]))
    with pytest.raises(ValueError, match="impossible"):
        cam.log_pdf_sum(np.array([[1.0, -3.0]]), np.array([[5.0, 5.0]]))
    with pytest.raises(ValueError, match="broadcast"):
        cam.log_pdf(np.ones((3, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="u"):
        cam.sample(np.array([-1.0]), 0)
    with pytest.raises(ValueError, match="NaN"):
        EMCCDPGN().log_pdf(np.array([np.nan]), 1.0)
