"""Gaussian-Lorentzian PSF: parameters, exact pixel integration, defocus."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf

from sptmotion.optics import kernels
from sptmotion.optics.psf import PSF, GaussianLorentzianPSF, gaussian_lorentzian_parameters, get_psf

A = 0.133  # pixel size (µm)


def test_width_close_to_paraxial_rule():
    # The in-focus Gaussian width of a widefield PSF is about 0.21 lambda / NA (Zhang et al. 2007);
    # the non-paraxial b-factor of the Gaussian-Lorentzian model changes it by a few percent only.
    sigma0, z0 = gaussian_lorentzian_parameters(0.665, 1.45, 1.515)
    assert sigma0 == pytest.approx(0.21 * 0.665 / 1.45, rel=0.05)
    # beam-waist relation of the model: z0 = 4 pi n sigma0^2 / lambda, whatever the b-factor
    assert z0 / sigma0**2 == pytest.approx(4 * math.pi * 1.515 / 0.665, rel=1e-12)


def test_sigma_grows_as_lorentzian_waist():
    psf = GaussianLorentzianPSF()
    assert psf.sigma(0.0) == pytest.approx(psf.sigma0)
    assert psf.sigma(psf.z0) == pytest.approx(math.sqrt(2) * psf.sigma0)
    assert psf.sigma(-0.3) == pytest.approx(psf.sigma(0.3))


def test_pixel_image_sums_to_one_and_matches_quadrature():
    psf = GaussianLorentzianPSF()
    x, y, z = 2.05, 2.17, 0.12
    img = psf.pixel_image(x, y, z, (32, 32), A)
    # emitter > 15 sigma from every edge: the pixels hold all photons up to rounding
    assert img.sum() == pytest.approx(1.0, abs=1e-12)
    s = float(psf.sigma(z))

    def g(yy, xx):
        return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s * s)) / (2 * np.pi * s * s)

    for i, j in [(16, 15), (15, 16), (17, 17), (14, 13)]:
        ref, _ = integrate.dblquad(g, j * A, (j + 1) * A, i * A, (i + 1) * A, epsabs=1e-13)
        assert img[i, j] == pytest.approx(ref, rel=1e-7, abs=1e-13)


def test_erf_window_is_exact():
    # The kernel only evaluates erf within +-8.6 sigma; outside, the pixel integral is 0 in float64.
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.uniform(-0.5, 4.8)
        s = rng.uniform(0.08, 0.4)
        out = np.zeros(40)
        lo, hi = kernels.pixel_fractions_1d(x, s, A, 0, 40, out)
        edges = np.arange(41) * A
        full = 0.5 * np.diff(erf((edges - x) / (math.sqrt(2) * s)))
        ref = np.zeros(40)
        ref[lo:hi] = full[lo:hi]
        # libm's and scipy's erf differ by a few ulp (2.2e-16 each)
        np.testing.assert_allclose(out[lo:hi], full[lo:hi], rtol=0, atol=1e-15)
        # outside the window the exact pixel integral is 0 to float64 rounding
        np.testing.assert_allclose(full, ref, rtol=0, atol=1e-15)


def test_edge_emitter_loses_half_and_centroid():
    psf = GaussianLorentzianPSF()
    # on the left edge of the ROI (x = 0) half of the photons fall outside
    img = psf.pixel_image(0.0, 2.1, 0.0, (32, 32), A)
    assert img.sum() == pytest.approx(0.5, abs=1e-12)
    # interior: the centroid of the pixel image is the emitter position (pixel centres (j+1/2)a)
    img = psf.pixel_image(1.91, 2.3, 0.0, (32, 32), A)
    # Sampling the centroid at pixel centres is biased only by aliasing (Poisson summation): the
    # bias is at most (a / pi) exp(-2 pi^2 sigma^2 / a^2) ~ 8e-7 µm for sigma = 0.099, a = 0.133.
    c = (np.arange(32) + 0.5) * A
    bound = A / math.pi * math.exp(-2 * math.pi**2 * psf.sigma0**2 / A**2)
    assert (img.sum(axis=0) @ c) == pytest.approx(1.91, abs=bound)
    assert (img.sum(axis=1) @ c) == pytest.approx(2.3, abs=bound)


def test_defocus_lowers_peak_symmetrically():
    psf = GaussianLorentzianPSF()
    peaks = [psf.pixel_image(2.1, 2.1, z, (32, 32), A).max() for z in (0.0, 0.2, 0.5, -0.5)]
    assert peaks[0] > peaks[1] > peaks[2]
    assert peaks[2] == pytest.approx(peaks[3], rel=1e-12)


def test_bad_psf_parameters():
    with pytest.raises(ValueError, match="numerical aperture"):
        GaussianLorentzianPSF(0.665, 1.6, 1.515)
    with pytest.raises(ValueError, match="wavelength"):
        GaussianLorentzianPSF(-1.0)
    with pytest.raises(ValueError, match="unknown PSF"):
        get_psf("airy")


def test_window_origin_equals_slice_of_full_roi():
    psf = GaussianLorentzianPSF()
    rng = np.random.default_rng(5)
    X, Y, Z = rng.uniform(0.5, 3.5, (3, 2, 8))
    w = np.full(4, 0.25)
    full = np.empty((2, 32, 32))
    psf.add_to_stack(X, Y, Z * 0.2, w, 3.0, 100.0, A, full)
    win = np.empty((2, 9, 13))
    psf.add_to_stack(X, Y, Z * 0.2, w, 3.0, 100.0, A, win, origin=(11, 6))
    np.testing.assert_array_equal(win, full[:, 11:20, 6:19])


class _DenseGaussianPSF(PSF):
    """A PSF plugged in from outside (numpy, erf on every pixel), as a tabulated PSF would be."""

    name = "test-dense-gauss"

    def __init__(self):
        self.inner = GaussianLorentzianPSF()

    @property
    def params(self):
        return {}

    def add_to_stack(self, X, Y, Z, weights, background, scale, pixel_size, out, origin=(0, 0)):
        N, R, C = out.shape
        K = len(weights)
        out[:] = background
        cols = (origin[1] + np.arange(C + 1)) * pixel_size
        rows = (origin[0] + np.arange(R + 1)) * pixel_size
        for m in range(X.shape[0]):
            for p in range(X.shape[1]):
                s = math.sqrt(2) * float(self.inner.sigma(Z[m, p]))
                fx = 0.5 * np.diff(erf((cols - X[m, p]) / s))
                fy = 0.5 * np.diff(erf((rows - Y[m, p]) / s))
                out[p // K] += scale * weights[p % K] * np.outer(fy, fx)


def test_pluggable_psf_through_renderer_and_likelihood():
    from sptmotion import likelihood, optics
    from sptmotion.optics.psf import PSFS

    PSFS[_DenseGaussianPSF.name] = _DenseGaussianPSF
    try:
        ref = optics.preset("hendrix2025", subframes=3)
        alt = ref.replace(psf_model=_DenseGaussianPSF.name)
        assert isinstance(alt.psf, _DenseGaussianPSF)
        rng = np.random.default_rng(6)
        X = np.concatenate(
            [rng.uniform(1, 3, (2, 12, 2)), rng.uniform(-0.2, 0.2, (2, 12, 1))], axis=2
        )
        np.testing.assert_allclose(
            optics.expected_photons(X, alt), optics.expected_photons(X, ref), rtol=1e-12
        )
        movie = optics.render(X, ref, rng=1)
        e_ref = likelihood.decompose(movie, X, ref).emission
        assert likelihood.decompose(movie, X, alt).emission == pytest.approx(e_ref, rel=1e-12)
        f = X.reshape(2, 4, 3, 3)[:, 2]
        got = likelihood.frame_loglik(movie[2, 4:20, 3:25], f, alt, row0=4, col0=3)
        want = likelihood.frame_loglik(movie[2, 4:20, 3:25], f, ref, row0=4, col0=3)
        assert got == pytest.approx(want, rel=1e-12)
    finally:
        del PSFS[_DenseGaussianPSF.name]
