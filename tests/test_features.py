"""Classical diffusion features: shapes, finiteness and known values on simple tracks."""

import numpy as np
import pandas as pd
import pytest

from sptmotion.datasets.tables import tracks_to_table
from sptmotion.represent import FEATURE_NAMES, feature_columns, features


def _fbm(n, L, alpha, seed):
    """Exact 1D fractional Brownian motion (Cholesky of the fGn covariance), unit step variance."""
    H = alpha / 2
    k = np.arange(L - 1)
    gamma = 0.5 * (np.abs(k + 1) ** (2 * H) - 2 * np.abs(k) ** (2 * H) + np.abs(k - 1) ** (2 * H))
    C = gamma[np.abs(k[:, None] - k[None, :])]
    steps = np.random.default_rng(seed).normal(size=(n, L - 1)) @ np.linalg.cholesky(C).T
    return np.concatenate([np.zeros((n, 1)), steps.cumsum(axis=1)], axis=1)[:, :, None]


def test_thirty_features_per_axis_all_finite():
    assert len(FEATURE_NAMES) == 30
    X = np.random.default_rng(0).normal(size=(20, 50, 3)).cumsum(axis=1)
    F = features(X)
    assert isinstance(F, pd.DataFrame)
    assert F.shape == (20, 90)
    assert list(F.columns) == feature_columns(3)
    assert F.columns[0] == "alpha_x" and F.columns[30] == "alpha_y"
    assert np.all(np.isfinite(F.to_numpy()))


def test_straight_line():
    # a particle moving at constant velocity: straightness = efficiency = 1, fractal
    # dimension 1, fully correlated steps (VACF 1), MSD ~ t^2 (alpha 2)
    t = np.arange(60.0)
    F = features(np.stack([0.5 * t, -2.0 * t], axis=1)).iloc[0]
    for ax in ("x", "y"):
        assert F[f"straightness_{ax}"] == pytest.approx(1.0, abs=1e-12)
        assert F[f"efficiency_{ax}"] == pytest.approx(1.0, abs=1e-12)
        assert F[f"fractal_dimension_{ax}"] == pytest.approx(1.0, abs=1e-12)
        assert F[f"vacf1_{ax}"] == pytest.approx(1.0, abs=1e-12)
        assert F[f"alpha_{ax}"] == pytest.approx(2.0, abs=1e-9)
        assert F[f"msd_r2_{ax}"] == pytest.approx(1.0, abs=1e-12)


def test_motionless_axis_gives_finite_values():
    X = np.zeros((2, 40, 2))
    X[:, :, 0] = np.random.default_rng(1).normal(size=(2, 40)).cumsum(axis=1)
    F = features(X)
    assert np.all(np.isfinite(F.to_numpy()))
    # no blow-up from 0/0: every guarded ratio of the motionless axis is bounded (log_D is
    # the log of the 1e-300 floor of a zero MSD, length is the number of points)
    assert np.all(F.filter(like="_y").drop(columns=["length_y", "log_D_y"]).abs().to_numpy() < 10)
    assert F["alpha_y"].eq(0).all() and F["straightness_y"].eq(0).all()


def test_brownian_motion_reference_values():
    n, L = 400, 100
    X = np.random.default_rng(2).normal(size=(n, L, 1)).cumsum(axis=1)
    F = features(X)
    # MSD exponent: per-track std of the log-log TAMSD slope over lags 1..10 is ~0.16 for
    # N=100, so the mean of 400 tracks has SE 0.008; the log-fit of a finite TAMSD is biased
    # low by O(m/N) ~ 0.03 (Jensen on log rho). Tolerance 3 SE + 0.03 = 0.055.
    assert F["alpha_x"].mean() == pytest.approx(1.0, abs=0.055)
    # efficiency = |x_N - x_0|^2 / ((N-1) sum dx^2) has mean 1/(N-1) for independent steps;
    # per-track values are chi2_1/(N-1)-like (std sqrt(2)/(N-1)) -> SE 0.0007, tol 3 SE
    assert F["efficiency_x"].mean() == pytest.approx(
        1 / (L - 1), abs=3 * np.sqrt(2) / (L - 1) / np.sqrt(n)
    )
    # DMA over 3 points: x_i - (x_i + x_{i-1} + x_{i-2})/3 = (2 dx_i + dx_{i-1})/3 -> 5/9 of
    # the step variance; per-track std 0.045 -> SE 0.0023, tol 4 SE
    assert F["dma2_x"].mean() == pytest.approx(5 / 9, abs=0.01)
    # Gaussian independent steps: Gaussianity 0, Noah = Moses = 1/2 (Meyer et al. 2018);
    # per-track std ~0.13/0.03/0.12 -> SE <= 0.007; tolerances include small-N bias
    assert F["gaussianity_x"].mean() == pytest.approx(0.0, abs=0.08)
    assert F["noah_x"].mean() == pytest.approx(0.5, abs=0.03)
    assert F["moses_x"].mean() == pytest.approx(0.5, abs=0.04)
    assert F["vacf1_x"].mean() == pytest.approx(0.0, abs=4 * 0.1 / np.sqrt(n))


@pytest.mark.parametrize("alpha", [0.5, 1.5])
def test_fbm_msd_exponent(alpha):
    # ensemble-averaged feature follows the FBM exponent; per-track std ~0.17 for 300 tracks
    # gives SE 0.01; the finite-N TAMSD fit bias is at most ~0.08 for alpha = 1.5
    F = features(_fbm(300, 100, alpha, seed=int(10 * alpha)))
    assert F["alpha_x"].mean() == pytest.approx(alpha, abs=0.1)
    # the 2-variation slope estimates alpha - 1 (Magdziarz et al. 2009)
    assert F["p_variation_x"].mean() == pytest.approx(alpha - 1, abs=0.15)


def test_mixed_lengths_and_table_index():
    rng = np.random.default_rng(3)
    tracks = [rng.normal(size=(L, 2)).cumsum(axis=0) for L in (30, 55, 30)]
    F = features(tracks)
    assert F.shape == (3, 60)
    assert list(F["length_x"]) == [30, 55, 30]
    np.testing.assert_allclose(F.iloc[1].to_numpy(), features(tracks[1]).iloc[0].to_numpy())
    table = pd.concat(
        [tracks_to_table(tr[None], particle_offset=7 + 3 * i) for i, tr in enumerate(tracks)]
    )
    Ft = features(table)
    assert list(Ft.index) == [7, 10, 13]
    np.testing.assert_allclose(Ft.to_numpy(), F.to_numpy())


def test_short_track_rejected():
    with pytest.raises(ValueError, match="at least 20 points"):
        features(np.zeros((2, 10, 2)))
