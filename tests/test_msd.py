"""MSD utilities: time-averaged and ensemble MSD, power-law fits, weak ergodicity breaking."""

from __future__ import annotations

import numpy as np
import pytest

from sptmotion.motion import MODELS, eamsd, fit_eamsd_alpha, fit_tamsd_alpha, tamsd
from sptmotion.motion.msd import default_lags

DT = 0.03  # s


def _ballistic(n_points=50, v=(0.5, -1.2)):
    """Deterministic tracks r(t) = v·t, whose MSDs are |v|²t² exactly."""
    t = DT * np.arange(n_points)
    return np.asarray(v)[None, None, :] * t[None, :, None] * np.array([1.0, 2.0])[:, None, None]


def test_tamsd_and_eamsd_of_ballistic_motion_are_exact():
    X = _ballistic()
    speed2 = np.sum(np.square((0.5, -1.2))) * np.array([1.0, 4.0])  # per track
    lags = np.array([1, 2, 5, 10])
    np.testing.assert_allclose(tamsd(X, lags), speed2[:, None] * (lags * DT) ** 2, rtol=1e-12)
    np.testing.assert_allclose(eamsd(X), speed2.mean() * (DT * np.arange(50)) ** 2, rtol=1e-12)
    fit = fit_tamsd_alpha(X, DT, lags)
    np.testing.assert_allclose(fit["alpha"], 2.0, rtol=1e-12)
    # MSD = 2·dim·D·t^alpha -> D = |v|²/(2·dim)
    np.testing.assert_allclose(fit["D"], speed2 / 4.0, rtol=1e-10)
    e = fit_eamsd_alpha(X, DT)
    assert e.alpha == pytest.approx(2.0) and e.D == pytest.approx(speed2.mean() / 4.0)


def test_tamsd_matches_direct_loop():
    X, _ = MODELS["bm"](D=0.1).sample(3, 30, dim=3, dt=DT, rng=0)
    lags = [1, 3, 7]
    direct = np.array(
        [
            [np.mean([np.sum((x[i + lag] - x[i]) ** 2) for i in range(31 - lag)]) for lag in lags]
            for x in X
        ]
    )
    np.testing.assert_allclose(tamsd(X, lags), direct, rtol=1e-12)


def test_default_lags():
    assert list(default_lags(100)) == list(range(1, 11))
    assert list(default_lags(10)) == [1, 2, 3, 4]
    assert list(default_lags(3)) == [1, 2]


def test_tamsd_fit_bm_alpha_and_D():
    """TAMSD fit of BM: alpha = 1, D recovered; 4 Monte-Carlo SE over 2000 tracks."""
    X, _ = MODELS["bm"](D=0.4).sample(2000, 99, dim=2, dt=DT, rng=4)
    fit = fit_tamsd_alpha(X, DT)
    se = fit["alpha"].std() / np.sqrt(len(fit))
    # the log of a noisy TAMSD is biased low at long lags by ~var/2; lags <= 10 of 100 keep it < 0.02
    assert abs(fit["alpha"].mean() - 1.0) < 4 * se + 0.02
    assert abs(np.median(fit["D"]) / 0.4 - 1) < 0.1


@pytest.mark.parametrize("alpha", [0.5, 1.5])
def test_weak_ergodicity_breaking_sbm_vs_fbm(alpha):
    """TAMSD of non-ergodic SBM grows linearly in the lag whatever alpha; FBM's grows as lag^alpha.

    SBM (t_age = 0): E δ²(Δ) = 2·d·Dα/(N+1−Δ) Σ_i [(i+Δ)^α − i^α] dt^α ≈ 2·d·Dα·Δ·α T^(α−1)
    for Δ ≪ T, i.e. exponent 1. The exponent of that exact expectation over lags 1..10 of
    1000 steps is computed below; the per-track mean must lie within 0.03 of it (the
    Monte-Carlo SE over 300 tracks is ~0.003) and within 0.05 of 1, far from alpha.
    """
    n, N, lags = 300, 1000, np.arange(1, 11)
    Xs, _ = MODELS["sbm"](alpha=alpha, D=0.1).sample(n, N, dim=2, dt=DT, rng=6)
    Xf, _ = MODELS["fbm"](alpha=alpha, D=0.1).sample(n, N, dim=2, dt=DT, rng=7)
    a_sbm = fit_tamsd_alpha(Xs, DT, lags)["alpha"].mean()
    a_fbm = fit_tamsd_alpha(Xf, DT, lags)["alpha"].mean()
    i = np.arange(N + 1)
    expected = np.array([np.mean(i[lag:] ** alpha - i[:-lag] ** alpha) for lag in lags])
    a_exp = np.polyfit(np.log(lags), np.log(expected), 1)[0]
    assert abs(a_sbm - a_exp) < 0.03
    assert abs(a_sbm - 1.0) < 0.05
    assert abs(a_fbm - alpha) < 0.05  # ergodic: time average = ensemble average
    # the ensemble MSD of the same SBM tracks does show alpha; with n·d = 600 chi-square terms
    # the eMSD has relative error sqrt(2/600) = 0.058 and the slope over ln 20 = 3.0 moves by at
    # most 2·0.058/3.0 = 0.038 (one sigma, worst case), so 0.15 is 4 sigma
    assert abs(fit_eamsd_alpha(Xs, DT, steps=np.arange(10, 201)).alpha - alpha) < 0.15


def test_bad_input():
    X, _ = MODELS["bm"](D=0.1).sample(3, 20, dim=2, dt=DT, rng=0)
    with pytest.raises(ValueError, match="lags"):
        tamsd(X, [0, 1])
    with pytest.raises(ValueError, match="lags"):
        tamsd(X, [1, 21])
    with pytest.raises(ValueError, match="whole numbers"):
        tamsd(X, [1.5, 2])
    with pytest.raises(ValueError, match="two distinct lags"):
        fit_tamsd_alpha(X, DT, [3])
    with pytest.raises(ValueError, match="dt"):
        fit_tamsd_alpha(X, -1.0)
    Y = X.copy()
    Y[0, 3, 1] = np.nan
    for f in (tamsd, eamsd):
        with pytest.raises(ValueError, match="NaN or inf"):
            f(Y)
    with pytest.raises(ValueError, match="rank"):
        eamsd(np.zeros(5))


def _fbm_fine(n_tracks, n_fine, alpha, D, dt_fine, rng):
    """FBM per axis on a fine grid by Cholesky of its covariance (independent of the blur code):
    Cov(x_s, x_t) = D (s^a + t^a − |t − s|^a)."""
    t = dt_fine * np.arange(1, n_fine + 1)
    cov = D * (t[:, None] ** alpha + t[None, :] ** alpha - np.abs(t[:, None] - t[None, :]) ** alpha)
    L = np.linalg.cholesky(cov + 1e-14 * np.eye(n_fine))
    z = rng.standard_normal((n_tracks, n_fine, 2))
    return np.einsum("ij,njd->nid", L, z)


@pytest.mark.parametrize(
    "alpha, ratio, sigma", [(1.0, 1.0, 0.02), (0.5, 0.5, 0.0), (1.5, 0.75, 0.01)]
)
def test_measured_msd_matches_blurred_noisy_simulation(alpha, ratio, sigma):
    """The expected MSD of exposure-averaged, noisy FBM against a direct simulation: fine-grid
    FBM (K = 20 sub-steps per frame) averaged over the first ratio·K sub-steps of each frame,
    plus white noise; the TAMSD averaged over 400 tracks within 4 standard errors."""
    from sptmotion.motion import measured_msd

    rng = np.random.default_rng(11)
    K, n_frames, D, dt = 20, 24, 0.3, 0.05
    fine = _fbm_fine(400, K * n_frames, alpha, D, dt / K, rng)
    m = max(1, round(ratio * K))
    frames = fine.reshape(400, n_frames, K, 2)[:, :, :m].mean(axis=2)
    frames = frames + sigma * rng.standard_normal(frames.shape)
    lags = np.array([1, 2, 4, 8])
    ta = tamsd(frames, lags)
    mean, se = ta.mean(axis=0), ta.std(axis=0, ddof=1) / np.sqrt(len(ta))
    # the simulation's exposure is m sub-steps: m·dt/K, sampled at the sub-step grid's
    # midpoints; its variogram is that of a discrete mean, close to the continuous one at K = 20
    want = measured_msd(lags * dt, D, alpha, dt, exposure=m * dt / K, sigma=sigma, dim=2)
    assert np.all(np.abs(mean - want) < 4 * se + 0.01 * want), (mean, want, se)
    # and the blur is visible: without it the lag-1 MSD would be off by more than 4 SE
    if ratio > 0.5:
        no_blur = measured_msd(lags * dt, D, alpha, dt, sigma=sigma, dim=2)
        assert abs(mean[0] - no_blur[0]) > 4 * se[0]


def test_ragged_msd_pads_short_tracks():
    from sptmotion.motion import ragged_msd

    rng = np.random.default_rng(3)
    X = np.cumsum(rng.standard_normal((4, 30, 2)), axis=1)
    lags = np.array([1, 3, 10])
    ta, ea = ragged_msd(list(X), lags)
    np.testing.assert_allclose(ta, tamsd(X, lags), rtol=1e-12)
    np.testing.assert_allclose(ea.mean(axis=0), eamsd(X)[lags], rtol=1e-12)
    ta, ea = ragged_msd([X[0, :5], X[1]], lags)  # the short track has no lag 10
    assert np.isnan(ta[0, 2]) and np.isnan(ea[0, 2]) and np.isfinite(ta[1]).all()
    np.testing.assert_allclose(ta[0, :2], tamsd(X[:1, :5], lags[:2])[0], rtol=1e-12)
