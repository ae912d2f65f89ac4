"""Physics of the event-driven models CTRW, ATTM and LW, and their bad input.

Tolerances: the allowed deviation of the ensemble-MSD exponent (0.1 for
CTRW, 0.15 for ATTM and LW, whose exponent is asymptotic). Each test also estimates the
*sampling* standard error of its statistic from independent batches of tracks and requires
it to be below a third of the tolerance, so the sample size is demonstrably large enough for
the check to be meaningful (a biased sampler cannot pass by luck).
"""

from __future__ import annotations

import numpy as np
import pytest

from sptmotion.motion import MODELS
from sptmotion.motion.jumps import pareto_times


def msd_exponent(X: np.ndarray, t_lo: int = 10, t_hi: int = 200) -> float:
    """Log-log slope of the ensemble MSD <|r(t) - r(0)|²> over steps t_lo..t_hi."""
    r2 = (X**2).sum(-1).mean(0)
    t = np.arange(t_lo, t_hi + 1)
    return float(np.polyfit(np.log(t), np.log(r2[t_lo : t_hi + 1]), 1)[0])


def batch_se(X: np.ndarray, stat, n_batches: int = 8) -> float:
    """Standard error of ``stat(X)`` from ``n_batches`` disjoint batches of tracks."""
    vals = [stat(b) for b in np.array_split(X, n_batches)]
    return float(np.std(vals, ddof=1) / np.sqrt(n_batches))


def hill(x: np.ndarray, k: int) -> float:
    """Hill estimator of the tail index from the k largest values (SE ≈ index/sqrt(k))."""
    xs = np.sort(x)[::-1]
    return float(1.0 / np.mean(np.log(xs[:k] / xs[k])))


# ensemble MSD ~ t^alpha; tau0 = 0.01 step so that t = 10..200 steps is t/tau0 = 1e3..2e4,
# deep in the asymptotic regime (the corrections decay as (tau0/t)^(1-alpha)).
@pytest.mark.parametrize(
    ("name", "kw", "tol"),
    [
        ("ctrw", {"alpha": 0.3}, 0.1),
        ("ctrw", {"alpha": 0.5}, 0.1),
        ("ctrw", {"alpha": 0.8}, 0.1),
        ("attm", {"alpha": 0.3}, 0.15),
        ("attm", {"alpha": 0.6}, 0.15),
        ("attm", {"alpha": 0.8}, 0.15),
        ("attm", {"alpha": 0.5, "regime": 2}, 0.15),
        ("lw", {"alpha": 1.2}, 0.15),
        ("lw", {"alpha": 1.5}, 0.15),
        ("lw", {"alpha": 2.0, "sigma": 0.5}, 0.15),
    ],
)
def test_ensemble_msd_exponent(name, kw, tol):
    tau0 = 0.1 if name == "lw" else 0.01  # LW: flights are finite-mean, 0.1 step is enough
    model = MODELS[name](tau0=tau0, **kw)
    X, t = model.sample(4000, 200, dim=2, dt=1.0, rng=11)
    assert X.shape == (4000, 201, 2) and np.allclose(t, np.arange(201))
    assert np.all(X[:, 0] == 0)
    slope = msd_exponent(X)
    assert abs(slope - model.alpha) < tol, (name, kw, slope)
    assert batch_se(X, msd_exponent) < tol / 3


def test_ctrw_msd_amplitude_matches_renewal_theory():
    """MSD per axis -> 2·Kα·t^α with Kα = D·τ0^(1−α)/(Γ(1−α)Γ(1+α)) for t >> τ0."""
    m = MODELS["ctrw"](alpha=0.5, D=0.2, tau0=0.001)
    X, t = m.sample(4000, 50, dim=1, dt=1.0, rng=3)
    msd = (X[:, -1, 0] ** 2).mean()
    theory = 2 * m.K_alpha * t[-1] ** 0.5
    # The renewal count N(t) has coefficient of variation sqrt(2Γ(1+α)²/Γ(1+2α) − 1) ≈ 0.52 and
    # x² | N is χ²₁-like (CV sqrt 2): CV of x² ≈ sqrt(3·(1+0.52²) − 1) ≈ 1.6, so the mean of 4000
    # has relative SE ≈ 0.026; 0.1 covers 4 SE plus the O((τ0/t)^(1−α)) ≈ 0.5% correction.
    assert abs(msd / theory - 1) < 0.1


def tamsd_exponent(X: np.ndarray, lags=np.arange(1, 21)) -> float:
    """Log-log slope of the track-averaged time-averaged MSD over the lags."""
    ta = [((X[:, lag:] - X[:, :-lag]) ** 2).sum(-1).mean() for lag in lags]
    return float(np.polyfit(np.log(lags), np.log(ta), 1)[0])


@pytest.mark.parametrize(("name", "alpha"), [("ctrw", 0.3), ("ctrw", 0.5), ("attm", 0.5)])
def test_tamsd_linear_in_lag_weak_ergodicity_breaking(name, alpha):
    """The TAMSD of CTRW and ATTM grows linearly in the lag (Δ << T) although the MSD is ~ t^α."""
    X, _ = MODELS[name](alpha=alpha, tau0=0.01).sample(500, 1000, dim=2, dt=1.0, rng=5)
    slope = tamsd_exponent(X)
    # linear up to O(Δ/T) corrections; 0.1 is > 3 batch SEs (asserted below)
    assert abs(slope - 1.0) < 0.1
    assert slope - alpha > 0.3
    assert batch_se(X, tamsd_exponent) < 0.1 / 3


def test_fbm_tamsd_is_not_linear_control():
    """Control: FBM is ergodic, its TAMSD grows as Δ^α like its MSD."""
    X, _ = MODELS["fbm"](alpha=0.5).sample(200, 1000, dim=2, dt=1.0, rng=5)
    assert abs(tamsd_exponent(X) - 0.5) < 0.05


@pytest.mark.parametrize(("exponent", "tau0"), [(0.3, 0.01), (0.5, 1.0), (0.9, 0.1), (1.5, 0.1)])
def test_pareto_tails_hill(exponent, tau0):
    """CTRW waiting times and LW flights: density ∝ τ^−(1+exponent) for τ >= τ0."""
    x = pareto_times(50_000, exponent, tau0, rng=1)
    assert x.min() >= tau0
    # Hill's estimator on the top k = 5000 is unbiased for a Pareto with SE ≈ exponent/sqrt(k)
    # <= 1.5/70.7 = 0.021, so 0.1 is >= 4.7 SE.
    assert abs(hill(x, 5000) - exponent) < 0.1


def test_waiting_and_flight_times_methods_use_model_parameters():
    ctrw = MODELS["ctrw"](alpha=0.4, tau0=0.02)
    w = ctrw.waiting_times(50_000, rng=2)
    assert w.min() >= 0.02 and abs(hill(w, 5000) - 0.4) < 0.1  # SE 0.4/70.7 = 0.006
    lw = MODELS["lw"](alpha=1.4, tau0=0.05)
    f = lw.flight_times(50_000, rng=2)
    assert f.min() >= 0.05 and abs(hill(f, 5000) - lw.sigma) < 0.1  # sigma = 1.6, SE 0.023


def survival_exponent(times: np.ndarray, surv: np.ndarray) -> float:
    return float(-np.polyfit(np.log(times), np.log(surv), 1)[0])


def test_ctrw_sampler_first_waiting_time_tail():
    """In the sampled tracks, P(no jump before t) = (τ0/t)^α: the sampler's waiting-time tail."""
    times = np.r_[0.0, np.geomspace(0.1, 10.0, 9)]
    X, _ = MODELS["ctrw"](alpha=0.5, tau0=0.01).sample(20_000, 1, dim=1, rng=2, times=times)
    surv = (X[:, 1:, 0] == 0).mean(0)
    # smallest survival 0.03 of 20000 tracks: relative SE sqrt((1-p)/(n p)) = 4%, so the slope
    # over ln(100) = 4.6 has SE < 0.02; 0.1 is > 5 SE.
    assert abs(survival_exponent(times[1:], surv) - 0.5) < 0.1


def test_lw_sampler_first_flight_tail_and_constant_speed():
    """LW tracks: |Δx| <= v·Δt always; P(first flight > t) = (τ0/t)^σ.

    In 2D a track is still on its first flight at t exactly when |x(t)| = v·t (a turn changes the
    direction with probability 1).
    """
    v = 2.0
    times = np.r_[0.0, np.geomspace(0.02, 0.5, 8)]
    X, _ = MODELS["lw"](alpha=1.5, v=v, tau0=0.01).sample(50_000, 1, dim=2, rng=2, times=times)
    straight = np.isclose(np.linalg.norm(X[:, 1:], axis=-1), v * times[1:], rtol=1e-9, atol=0)
    surv = straight.mean(0)
    # smallest survival (0.01/0.5)^1.5 = 2.8e-3, i.e. 141 of 50000 tracks (rel. SE 8.4%); the
    # slope over ln(25) = 3.2 then has SE < 0.04, so 0.15 > 3.5 SE.
    assert abs(survival_exponent(times[1:], surv) - 1.5) < 0.15
    X3, t3 = MODELS["lw"](alpha=1.5, v=v, tau0=0.01).sample(500, 100, dim=3, dt=0.01, rng=3)
    step = np.linalg.norm(np.diff(X3, axis=1), axis=-1)
    assert np.all(step <= v * 0.01 * (1 + 1e-9))


def test_lw_directions_isotropic_3d():
    """Ballistic LW (alpha = 2, tau0 >> observation): displacement directions uniform on S²."""
    X, _ = MODELS["lw"](alpha=2.0, v=1.0, tau0=10.0).sample(20_000, 1, dim=3, dt=1.0, rng=4)
    u = X[:, 1] / np.linalg.norm(X[:, 1], axis=-1, keepdims=True)
    # uniform on the sphere: E[u] = 0, E[u_k²] = 1/3 (SE of the mean of u_k² ≈ 0.3/sqrt(n) = 0.002)
    assert np.all(np.abs(u.mean(0)) < 0.02)
    assert np.all(np.abs((u**2).mean(0) - 1 / 3) < 0.01)


def test_attm_effective_time_bounded_by_elapsed_time():
    """∫D(s)/D ds over an interval lies in (0, Δt] because 0 < D_j <= D."""
    m = MODELS["attm"](alpha=0.5, tau0=0.01)
    times = np.linspace(0, 5, 51)
    eff = m.effective_times(100, times, np.random.default_rng(0))
    assert np.all(eff > 0) and np.all(eff <= np.diff(times) * (1 + 1e-12))


@pytest.mark.parametrize("name", ["ctrw", "attm", "lw"])
def test_same_seed_same_tracks_and_irregular_times(name):
    alpha = 1.5 if name == "lw" else 0.5
    m = MODELS[name](alpha=alpha)
    a, _ = m.sample(50, 20, dim=3, dt=0.1, rng=7)
    b, _ = m.sample(50, 20, dim=3, dt=0.1, rng=7)
    c, _ = m.sample(50, 20, dim=3, dt=0.1, rng=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    times = np.array([0.0, 0.013, 0.02, 0.5, 0.51, 2.0])
    Xt, t = m.sample(10, 1, dim=2, rng=1, times=times)
    assert Xt.shape == (10, 6, 2) and np.array_equal(t, times) and np.all(np.isfinite(Xt))


@pytest.mark.parametrize(
    ("name", "kw", "match"),
    [
        ("ctrw", {"alpha": 1.0}, r"CTRW: alpha must lie in \(0, 1\)"),
        ("ctrw", {"alpha": 0.0}, r"CTRW: alpha must lie in \(0, 1\)"),
        ("ctrw", {"alpha": 0.5, "tau0": 0}, "CTRW: tau0"),
        ("attm", {"alpha": 1.2}, r"ATTM: alpha must lie in \(0, 1\)"),
        ("attm", {"alpha": 0.5, "sigma": 2.0}, r"ATTM: sigma .* must lie in \(0, 1\)"),
        ("attm", {"alpha": 0.5, "regime": 3}, "ATTM: regime"),
        ("attm", {"alpha": 0.5, "D": -1}, "ATTM: D"),
        ("lw", {"alpha": 1.0}, r"LW: alpha must lie in \(1, 2\]"),
        ("lw", {"alpha": 2.1}, r"LW: alpha must lie in \(1, 2\]"),
        ("lw", {"alpha": 1.5, "sigma": 0.3}, "LW: sigma is fixed"),
        ("lw", {"alpha": 2.0, "sigma": 1.5}, r"LW: sigma \(alpha=2\) must lie in \(0, 1\)"),
        ("lw", {"alpha": 1.5, "v": np.nan}, "LW: v"),
    ],
)
def test_out_of_range_parameters_name_model_and_range(name, kw, match):
    with pytest.raises(ValueError, match=match):
        MODELS[name](**kw)


def test_sampling_arguments_validated():
    m = MODELS["ctrw"](alpha=0.5)
    with pytest.raises(ValueError, match="n_steps"):
        m.sample(5, 0)
    with pytest.raises(ValueError, match="dim"):
        m.sample(5, 10, dim=4)
    with pytest.raises(ValueError, match="times"):
        m.sample(5, 10, times=[0.0, 0.2, 0.1])
    assert not m.has_likelihood
    with pytest.raises(ValueError, match="no tractable likelihood"):
        m.log_likelihood(np.zeros((1, 5, 2)), dt=1.0)
