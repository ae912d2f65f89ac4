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
