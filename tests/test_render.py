"""Rendering: expected photons, motion blur, timing, validation and the movie files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sptmotion import optics
from sptmotion.optics.io import sidecar_path


def _static(N, K, x=2.1, y=2.2, z=0.0):
    return np.tile([x, y, z], (1, N * K, 1)).astype(float)


def test_preset_is_table2():
    s = optics.preset("hendrix2025")
    assert (s.background_flux, s.emission_rate, s.na, s.refractive_index, s.wavelength) == (
        1e5,
        1e4,
        1.45,
        1.515,
        0.665,
    )
    assert (s.camera.gain, s.camera.conversion, s.camera.qe) == (350.0, 3.5, 0.95)
    assert (s.rows, s.cols, s.pixel_size, s.frame_period, s.exposure) == (
        32,
        32,
        0.133,
        0.033,
        0.030,
    )
    with pytest.raises(ValueError, match="unknown preset"):
        optics.preset("nope")


def test_photon_budget():
    # u = F a^2 t_E per pixel + H t_E for an emitter well inside the ROI (all photons collected)
    s = optics.preset("hendrix2025")
    u = optics.expected_photons(_static(3, s.subframes), s)
    assert u.shape == (3, 32, 32)
    np.testing.assert_allclose(
        u.sum(axis=(1, 2)), 1024 * 1e5 * 0.133**2 * 0.03 + 1e4 * 0.03, rtol=1e-12
    )
    # an absent emitter (NaN) leaves the background only
    X = _static(3, s.subframes)
    X[0, : s.subframes] = np.nan
    u = optics.expected_photons(X, s)
    np.testing.assert_allclose(u[0], s.background_photons, rtol=1e-15)


def test_motion_blur_is_trapezoid_integral():
    # For uniform linear motion during the exposure the blurred image converges to the time
    # average of the PSF along the path; the trapezoid rule error falls as 1/K^2.
    base = optics.preset("hendrix2025", background_flux=0.0)

    def image(K):
        s = base.replace(subframes=K)
        t = np.linspace(0, 1, K)
        X = np.zeros((1, K, 3))
        X[0, :, 0] = 1.6 + 0.8 * t
        X[0, :, 1] = 2.1
        return optics.expected_photons(X, s)[0]

    ref = image(801)
    e10 = np.abs(image(11) - ref).max()
    e20 = np.abs(image(21) - ref).max()
    assert e20 < e10 / 3  # ~1/K^2 -> ratio 4
    # K = 2 is the average of the two end-point images
    s1 = base.replace(subframes=1)
    a = optics.expected_photons(np.array([[[1.6, 2.1, 0.0]]]), s1)[0]
    b = optics.expected_photons(np.array([[[2.4, 2.1, 0.0]]]), s1)[0]
    np.testing.assert_allclose(image(2), 0.5 * (a + b), rtol=1e-12)


def test_fine_times_and_weights():
    s = optics.preset("hendrix2025", subframes=4)
    t = s.fine_times(3)
    np.testing.assert_allclose(t[:4], [0, 0.01, 0.02, 0.03])
    np.testing.assert_allclose(t[4:8], 0.033 + np.array([0, 0.01, 0.02, 0.03]))
    np.testing.assert_allclose(s.weights, [1 / 6, 1 / 3, 1 / 3, 1 / 6])
    assert optics.fine_times(3, 0.033, 0.03, 1).tolist() == pytest.approx([0, 0.033, 0.066])


def test_render_mean_matches_camera():
    s = optics.preset("hendrix2025", subframes=1)
    N = 400
    movie, u = optics.render(_static(N, 1), s, rng=7, return_expected=True)
    assert movie.shape == (N, 32, 32)
    # per-pixel mean over N frames vs qe u G / phi; sd of the mean = sqrt(2 qe u) (G/phi) / sqrt(N)
    g = s.camera.gain / s.camera.conversion
    sem = np.sqrt(2 * 0.95 * u[0]) * g / math.sqrt(N)
    z = (movie.mean(axis=0) - 0.95 * u[0] * g) / sem
    assert np.abs(z).max() < 5  # 1024 pixels: P(|z| > 5) * 1024 ~ 6e-4
    # the same seed gives the same movie
    np.testing.assert_array_equal(optics.render(_static(N, 1), s, rng=7), movie)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"exposure": 0.04}, "longer than the frame period"),
        ({"subframes": 0}, "subframes"),
        ({"exposure": 0.033, "subframes": 3}, "shorter than the frame period"),
        ({"pixel_size": -0.1}, "pixel_size"),
        ({"rows": 0}, "rows"),
    ],
)
def test_bad_setup(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optics.preset("hendrix2025", **kwargs)


def test_bad_tracks():
    s = optics.preset("hendrix2025")
    with pytest.raises(ValueError, match="multiple of K"):
        optics.render(np.zeros((1, 15, 3)) + 2, s, rng=0)
    with pytest.raises(ValueError, match="far outside"):
        optics.render(_static(2, s.subframes, x=30.0), s, rng=0)
    with pytest.raises(ValueError, match="shape"):
        optics.render(np.zeros((1, 10, 4)), s, rng=0)
    with pytest.raises(ValueError, match="inf"):
        optics.render(np.full((1, 10, 3), np.inf), s, rng=0)
    # allowed explicitly: a far emitter adds nothing
    u = optics.expected_photons(_static(1, s.subframes, x=30.0), s, allow_outside=True)
    np.testing.assert_allclose(u, s.background_photons)


@pytest.mark.parametrize("camera", ["emccd", "emccd-pgn", "scmos"])
def test_movie_roundtrip(tmp_path, camera):
    cam = optics.get_camera(camera)
    s = optics.preset("hendrix2025", subframes=2, camera=cam)
    movie = optics.render(_static(3, 2), s, rng=1)
    path = optics.write_movie(tmp_path / "m.tif", movie, s, metadata={"seed": 1})
    back, s2, meta = optics.read_movie(path)
    assert s2 == s
    np.testing.assert_allclose(back, movie, rtol=1e-7)  # float32 storage
    side = json.loads(sidecar_path(path).read_text())
    assert (
        side["version"]
        and side["setup"]["camera"]["name"] == camera
        and meta["metadata"]["seed"] == 1
    )
    with pytest.raises(ValueError, match="shape"):
        optics.write_movie(tmp_path / "bad.tif", movie[:, :4], s)
    (tmp_path / "lonely.tif").write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="sidecar"):
        optics.read_movie(tmp_path / "lonely.tif")
