"""Modular detect-localize-link tracker (trackpy + ML refinement + laptrack)."""

from __future__ import annotations

import numpy as np
import pytest

from sptmotion import optics
from sptmotion.tracking import TABLE_COLUMNS, track_modular
from sptmotion.tracking.modular import camera_fisher_per_photon

SETUP = optics.preset("hendrix2025", rows=16, cols=16, subframes=1, emission_rate=3e4)
N_FRAMES = 12


@pytest.fixture(scope="module")
def bright():
    """A bright (900 photons per frame), nearly static emitter in focus."""
    rng = np.random.default_rng(2)
    X = np.array([1.03, 1.11, 0.05]) + np.cumsum(rng.normal(0, 0.005, (N_FRAMES, 3)), axis=0)
    return optics.render(X[None], SETUP, rng=rng), X


def test_finds_bright_particle(bright):
    """One track covering (nearly) every frame, each localization within 4 standard errors.

    The ML refinement's Fisher standard errors are the Cramér-Rao bound (~15 nm here); with 24
    lateral coordinates, |error| > 4 SE has probability 24 * 6e-5 = 1.5e-3 if they are right.
    """
    movie, X = bright
    tab = track_modular(movie, SETUP, ci=0.98)
    assert list(tab.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    assert tab["particle"].nunique() == 1
    assert len(tab) >= N_FRAMES - 1
    fr = tab["frame"].to_numpy()
    se_x = (tab["x_hi"] - tab["x_lo"]).to_numpy() / (2 * 2.326)
    se_y = (tab["y_hi"] - tab["y_lo"]).to_numpy() / (2 * 2.326)
    assert np.all(np.abs(tab["x"].to_numpy() - X[fr, 0]) < 4 * se_x)
    assert np.all(np.abs(tab["y"].to_numpy() - X[fr, 1]) < 4 * se_y)
    assert np.all((se_x > 0.003) & (se_x < 0.05))


def test_without_refinement(bright):
    """trackpy localization alone: lateral positions within 50 nm, z = 0 with NaN bounds."""
    movie, X = bright
    tab = track_modular(movie, SETUP, refine=False)
    fr = tab["frame"].to_numpy()
    assert len(tab) >= N_FRAMES - 1
    assert np.all(np.hypot(tab["x"] - X[fr, 0], tab["y"] - X[fr, 1]) < 0.05)
    assert np.all(tab["z"] == 0) and tab["z_lo"].isna().all()


def test_empty_movie_gives_empty_table():
    """Background only: no detections, an empty table with the same columns."""
    movie = optics.render(np.full((1, 4, 3), np.nan), SETUP, rng=0)
    tab = track_modular(movie, SETUP)
    assert len(tab) == 0
    assert list(tab.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)


def test_gamma_fisher_information_high_count_limit():
    """EMCCD Gamma: J(u) = (beta/2)^2 psi'(beta u/2) -> beta/(2u) (excess-noise factor 2) for large u."""
    cam = SETUP.camera
    u = np.array([1e3, 1e4])
    np.testing.assert_allclose(camera_fisher_per_photon(cam, u), cam.qe / (2 * u), rtol=2e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="not a stack"):
        track_modular(np.ones((16, 16)), SETUP)
    with pytest.raises(ValueError, match="ci"):
        track_modular(np.ones((2, 16, 16)) * 100, SETUP, ci=0)


def test_numba_nelder_mead_matches_scipy(bright):
    """The refinement's numba Nelder-Mead is SciPy's algorithm: same optimum on the same
    objective, to the last digit."""
    from scipy.optimize import minimize

    from sptmotion.optics.camera import camera_spec
    from sptmotion.tracking import _refine_kernels as rk

    movie, X = bright
    win = np.ascontiguousarray(movie[3, 3:12, 4:13])
    psf = np.array(SETUP.psf.kernel_params, dtype=float)
    code, par, maps = camera_spec(SETUP.camera, movie.shape[1:])
    args = (win, SETUP.pixel_size, psf[0], psf[1], 3, 4, code, par, maps)
    bufs = [np.empty(win.shape) for _ in range(3)]
    for z0 in (0.05, 0.4):
        p0 = np.array([X[3, 0] + 0.03, X[3, 1] - 0.02, z0, np.log(500.0), np.log(5.0)])
        ref = minimize(lambda p: rk.spot_nll(p, *args, *bufs), p0, method="Nelder-Mead",
                       options={"xatol": 1e-5, "fatol": 1e-4, "maxiter": 2000})  # fmt: skip
        x, f = rk.nelder_mead_spot(p0, 1e-5, 1e-4, 2000, *args)
        np.testing.assert_array_equal(x, ref.x)
        assert f == ref.fun


def test_detection_threshold_follows_the_noise_not_the_nominal_rate(bright):
    """A setup whose nominal emission rate is 100x too high still finds the particle in every
    frame (the threshold comes from the camera noise at the movie's background), and a
    background-only movie gives (almost) no detections."""
    from sptmotion.optics.camera import photons_estimate
    from sptmotion.tracking.modular import locate, noise_minmass

    movie, _ = bright
    wrong = SETUP.replace(emission_rate=100 * SETUP.emission_rate)
    tab = track_modular(movie, wrong, refine=False)
    assert len(tab) >= N_FRAMES - 1 and tab["particle"].nunique() == 1
    big = optics.preset("hendrix2025", rows=64, cols=64, subframes=1)
    empty = optics.render(np.full((1, 20, 3), np.nan), big, rng=5)
    ph = photons_estimate(empty, big.camera)
    assert len(locate(ph, big)) <= 2  # 20 frames of 64 x 64 pixels of pure noise
    mm = noise_minmass(ph, 7, big.camera)
    assert mm == noise_minmass(ph, 7, big.camera)  # deterministic


def test_linker_keeps_fast_tracks_whole():
    """A fast (D = 0.5 µm²/s) and a slow particle with missed frames: two whole tracks."""
    import pandas as pd

    from sptmotion.tracking.modular import link

    rng = np.random.default_rng(1)
    rows = []
    for D, start in ((0.5, (2.0, 2.0)), (0.005, (6.0, 6.0))):
        xy = start + np.cumsum(np.sqrt(2 * D * 0.033) * rng.standard_normal((150, 2)), axis=0)
        keep = rng.random(150) > 0.05
        keep[[20, 21, 60, 61, 62]] = False  # gaps of 2 and 3 frames (max_gap 3, as trackpy's
        keep[[19, 22, 59, 63]] = True  # memory 3: a track may skip up to 3 frames)
        rows += [(f, x, y) for f, (x, y) in enumerate(xy) if keep[f]]
    locs = pd.DataFrame(rows, columns=["frame", "x", "y"])
    for linker in ("trackpy", "laptrack"):
        tracked = link(locs, linker=linker)
        assert tracked["particle"].nunique() == 2, linker
        assert len(tracked) == len(locs)
        # a 3-frame gap is too long for max_gap 2; max_gap 0 closes no gap
        n2 = link(locs, max_gap=2, linker=linker)["particle"].nunique()
        assert n2 >= 3 and link(locs, max_gap=0, linker=linker)["particle"].nunique() > n2


def test_drop_short_tracks_renumbers():
    import pandas as pd

    from sptmotion.tracking.modular import drop_short

    t = pd.DataFrame(
        {"particle": [0, 0, 0, 1, 2, 2, 2, 2, 3, 3], "frame": [0, 1, 2, 5, 0, 1, 2, 3, 7, 8]}
    )
    out = drop_short(t, 3)
    assert list(out["particle"]) == [0, 0, 0, 1, 1, 1, 1]
    assert list(out["frame"]) == [0, 1, 2, 0, 1, 2, 3]
    assert len(drop_short(t, 1)) == len(t)
