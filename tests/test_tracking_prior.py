"""The K = 1 motion prior of the Bayesian tracker: exposure-averaged Brownian positions.

The K = 1 point of a frame stands for the position averaged over the exposure t_E. For Brownian
motion the increments of those averages are an MA(1) process with variance 2 D (dt - t_E/3) and
covariance 2 D t_E/6 between neighbours (Berglund 2010); the tracker uses the exact Gaussian
prior with the banded precision Q / (2 D) of ``brownian_precision_band``.
"""

import numpy as np
import pytest
from scipy import stats

from sptmotion.tracking import _mcmc_kernels as _k
from sptmotion.tracking.bayes import brownian_precision_band

DT, TE = 0.033, 0.030


def _dense(N, dt, te):
    n = N - 1
    T = (
        np.diag(np.full(n, dt - te / 3))
        + np.diag(np.full(n - 1, te / 6), 1)
        + np.diag(np.full(n - 1, te / 6), -1)
    )
    A = np.zeros((n, N))
    A[np.arange(n), np.arange(n)] = -1.0
    A[np.arange(n), np.arange(n) + 1] = 1.0
    return T, A, A.T @ np.linalg.solve(T, A)


def _unband(qb):
    N = qb.shape[0]
    Q = np.zeros((N, N))
    for k in range(qb.shape[1]):
        i = np.arange(N - k)
        Q[i, i + k] = qb[: N - k, k]
        Q[i + k, i] = qb[: N - k, k]
    return Q


@pytest.mark.parametrize("N, te", [(2, TE), (7, TE), (60, TE), (600, DT), (30, 0.0)])
def test_precision_band_equals_dense(N, te):
    """The band (computed on windows of columns, truncated where the MA(1) root^k < 1e-17)
    equals A^T T^-1 A to rounding; ln det T too. N = 600 spans several windows."""
    qb, logdet = brownian_precision_band(N, DT, te)
    T, _, Q = _dense(N, DT, te)
    np.testing.assert_allclose(_unband(qb), Q, rtol=0, atol=1e-12 * np.abs(Q).max())
    assert logdet == pytest.approx(np.linalg.slogdet(T)[1], rel=1e-12)
    if te == 0.0:
        assert qb.shape[1] == 2  # plain Brownian prior: tridiagonal precision


def test_increment_covariance_of_exposure_averaged_brownian_motion():
    """Physics of T: simulate Brownian paths on a fine grid, average them over each exposure and
    compare the covariance of consecutive averaged increments with 2 D T.

    Tolerance: for n = 20000 independent paths the sample (co)variance of Gaussian increments has
    relative standard error sqrt(2/n) = 1% (covariance: sqrt((1 + rho^2)/n) / rho ~ 3.4% of the
    lag-1 value); 5 standard errors, plus the fine-grid discretization (dt/100)."""
    rng = np.random.default_rng(7)
    D, n_paths, sub = 0.5, 20000, 110  # 110 fine steps per 33 ms frame: 0.3 ms
    h = DT / sub
    n_frames = 3
    steps = rng.normal(0.0, np.sqrt(2 * D * h), (n_paths, n_frames * sub))
    path = np.concatenate([np.zeros((n_paths, 1)), np.cumsum(steps, axis=1)], axis=1)
    n_exp = int(round(TE / h))  # 100 fine steps exposed
    # trapezoid average over [n dt, n dt + t_E]
    avg = np.stack(
        [
            (path[:, f * sub : f * sub + n_exp + 1].sum(axis=1)
             - 0.5 * (path[:, f * sub] + path[:, f * sub + n_exp])) / n_exp
            for f in range(n_frames)
        ],
        axis=1,
    )  # fmt: skip
    inc = np.diff(avg, axis=1)
    cov = np.cov(inc.T)
    T, _, _ = _dense(n_frames, DT, TE)
    expect = 2 * D * T
    se_var = np.sqrt(2 / n_paths) * expect[0, 0]
    se_cov = np.sqrt((expect[0, 0] ** 2 + expect[0, 1] ** 2) / n_paths)
    assert np.abs(np.diag(cov) - np.diag(expect)).max() < 5 * se_var + 0.01 * expect[0, 0]
    assert abs(cov[0, 1] - expect[0, 1]) < 5 * se_cov + 0.01 * expect[0, 1]


def test_band_motion_lp_is_the_gaussian_density():
    """band_motion_lp = ln N(x_0; mu0, s0) + sum_axes ln N(Delta x; 0, 2 D T), all emitters."""
    rng = np.random.default_rng(1)
    N, M, D = 25, 2, 0.3
    qb, logdet = brownian_precision_band(N, DT, TE)
    T, _, _ = _dense(N, DT, TE)
    pos = np.ascontiguousarray(rng.normal(0, 0.5, (M, N, 3)).cumsum(axis=1))
    mu0, s0 = np.array([1.0, 1.2, 0.0]), np.array([2.0, 2.0, 1.0])
    ref = 0.0
    for m in range(M):
        ref += stats.norm.logpdf(pos[m, 0], mu0, s0).sum()
        for a in range(3):
            ref += stats.multivariate_normal.logpdf(np.diff(pos[m, :, a]), cov=2 * D * T)
    assert _k.band_motion_lp(pos, qb, logdet, D, np.ones(len(pos)), mu0, s0) == pytest.approx(
        ref, rel=1e-10
    )


def test_point_terms_and_tail_flip_give_exact_differences():
    """The frame-local terms (band_point_lp) and the tail-flip cross terms reproduce the change
    of the full log-prior exactly, which the Metropolis-Hastings ratios rely on."""
    rng = np.random.default_rng(2)
    N, D = 40, 0.2
    qb, logdet = brownian_precision_band(N, DT, TE)
    mu0, s0 = np.array([1.0, 1.0, 0.0]), np.ones(3)
    pos = np.ascontiguousarray(rng.normal(0, 0.2, (1, N, 3)).cumsum(axis=1))
    for n in (0, 1, 17, N - 1):
        new = pos.copy()
        new[0, n] += rng.normal(0, 0.1, 3)
        one = np.ones(1)
        full = _k.band_motion_lp(new, qb, logdet, D, one, mu0, s0) - _k.band_motion_lp(
            pos, qb, logdet, D, one, mu0, s0
        )
        local = _k.band_point_lp(new, 0, n, qb, D, mu0, s0) - _k.band_point_lp(
            pos, 0, n, qb, D, mu0, s0
        )
        assert local == pytest.approx(full, rel=1e-9, abs=1e-9)
    for j0 in (1, 5, 30):
        new = pos.copy()
        new[0, j0:, 2] *= -1
        one = np.ones(1)
        full = _k.band_motion_lp(new, qb, logdet, D, one, mu0, s0) - _k.band_motion_lp(
            pos, qb, logdet, D, one, mu0, s0
        )
        # -z^T Q z / (4 D): the cross terms 2 C change sign, so the change is 4 C / (4 D)
        local = _k.band_tail_cross(pos, 0, j0, qb) / D
        assert local == pytest.approx(full, rel=1e-9, abs=1e-9)


def test_conditional_draw_matches_gaussian_conditioning():
    """The independence proposal of one point is its exact Gaussian conditional given all other
    points: compare 20000 draws with the mean and variance from the dense precision.

    Tolerance: 5 standard errors of the sample mean (sd / sqrt(n)) and of the sample variance
    (var sqrt(2 / n))."""
    rng = np.random.default_rng(3)
    N, D, n = 12, 0.4, 20000
    qb, _ = brownian_precision_band(N, DT, TE)
    _, _, Q = _dense(N, DT, TE)
    mu0, s0 = np.array([1.0, 1.0, 0.0]), np.array([0.5, 0.5, 0.5])
    pos = np.ascontiguousarray(rng.normal(0, 0.2, (1, N, 3)).cumsum(axis=1))
    out = np.empty((1, 3))
    _k.seed_numba(11)
    for j in (0, 5, N - 1):
        P = Q / (2 * D)
        prec = np.full(3, P[j, j])
        lin = -(P[j] @ pos[0] - P[j, j] * pos[0, j])
        if j == 0:
            prec += 1 / s0**2
            lin += mu0 / s0**2
        mean, var = lin / prec, 1 / prec
        draws = np.empty((n, 3))
        for i in range(n):
            _k.band_cond_draw(pos, 0, j, qb, D, mu0, s0, out)
            draws[i] = out[0]
        assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * np.sqrt(var / n))
        assert np.all(np.abs(draws.var(axis=0) - var) < 5 * var * np.sqrt(2 / n))


def test_bad_exposure():
    with pytest.raises(ValueError, match="exposure"):
        brownian_precision_band(10, DT, 0.05)
