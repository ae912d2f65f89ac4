"""Measurement model: motion blur over the exposure and localization noise, fits and BM-null tests."""

import numpy as np
import pandas as pd
import pytest

from sptmotion.motion import (
    MODELS,
    fit_measured,
    increment_covariance,
    measured_log_likelihood,
    noise_covariance,
    select_measured,
)


def _k_point_increment_cov(model, alpha, frames, r, K):
    """Brute force: covariance of the averages of K positions spread over each exposure."""
    frames = np.asarray(frames, dtype=float)
    t = (frames[:, None] + r * (np.arange(K)[None, :] + 0.5) / K).ravel()
    if model == "fbm":
        cov = t[:, None] ** alpha + t[None, :] ** alpha - np.abs(t[:, None] - t[None, :]) ** alpha
    else:  # sbm: 2 min(t, s)^alpha
        cov = 2.0 * np.minimum(t[:, None], t[None, :]) ** alpha
    A = np.kron(np.eye(len(frames)), np.full((1, K), 1.0 / K))
    C = A @ cov @ A.T
    return np.diff(np.diff(C, axis=0), axis=1)


def _exact_tracks(model, alpha, D, dt, exposure, sigma, n, P, rng, dim=2, K=64):
    """Tracks drawn from the brute-force K-point covariance (not the analytic one under test)."""
    C = D * dt**alpha * _k_point_increment_cov(model, alpha, np.arange(P), exposure / dt, K)
    c = np.linalg.cholesky(C + 1e-14 * np.eye(P - 1))
    inc = np.einsum("ij,njd->nid", c, rng.standard_normal((n, P - 1, dim)))
    X = np.zeros((n, P, dim))
    X[:, 1:] = np.cumsum(inc, axis=1)
    return X + sigma * rng.standard_normal(X.shape)


@pytest.mark.parametrize("model", ["fbm", "sbm"])
@pytest.mark.parametrize("alpha", [0.4, 1.0, 1.6])
def test_blurred_covariance_is_the_limit_of_k_point_averages(model, alpha):
    # the exposure average is the K -> infinity limit of K-point averages (midpoint rule, O(1/K^2))
    frames = [0, 1, 2, 4, 5, 8]  # with gaps
    exact = increment_covariance(model, alpha, frames, exposure_ratio=0.9)
    errs = [
        np.max(np.abs(_k_point_increment_cov(model, alpha, frames, 0.9, K) - exact))
        / np.max(np.abs(exact))
        for K in (8, 32, 128)
    ]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 3e-3


def test_bm_blur_is_berglund_2010():
    # BM averaged over t_E = r dt: Var = 2D dt (1 - r/3), lag-one covariance D dt r / 3, none beyond
    r = 0.7
    C = increment_covariance("bm", 1.0, range(6), exposure_ratio=r)
    np.testing.assert_allclose(np.diag(C), 2.0 * (1.0 - r / 3.0), rtol=1e-12)
    np.testing.assert_allclose(np.diag(C, 1), r / 3.0, rtol=1e-12)
    np.testing.assert_allclose(C[np.triu_indices(5, 2)], 0.0, atol=1e-12)


@pytest.mark.parametrize("model,alpha", [("fbm", 0.3), ("fbm", 1.5), ("sbm", 0.6)])
def test_missing_frames_are_the_marginal_of_the_full_track(model, alpha):
    # increments between observed frames = sums of the consecutive increments they span
    full = increment_covariance(model, alpha, range(8), exposure_ratio=0.5)
    obs = [0, 1, 3, 4, 7]
    S = np.zeros((len(obs) - 1, 7))
    for i in range(len(obs) - 1):
        S[i, obs[i] : obs[i + 1]] = 1.0
    np.testing.assert_allclose(
        increment_covariance(model, alpha, obs, exposure_ratio=0.5), S @ full @ S.T, atol=1e-10
    )


def test_fbm_without_blur_is_fractional_gaussian_noise():
    C = increment_covariance("fbm", 0.6, range(5), exposure_ratio=0.0)
    k = np.arange(4.0)
    rho = 0.5 * (np.abs(k + 1) ** 0.6 - 2 * k**0.6 + np.abs(k - 1) ** 0.6)
    np.testing.assert_allclose(C[0], 2.0 * rho, rtol=1e-12)


def test_noise_covariance_is_ma1_of_the_point_variances():
    N = noise_covariance([1.0, 2.0, 3.0])
    np.testing.assert_allclose(N, [[3.0, -2.0], [-2.0, 5.0]])


def test_blurred_likelihood_reduces_to_the_unblurred_one():
    X, _ = MODELS["fbm"](alpha=0.5, D=0.1).sample(4, 40, dim=2, dt=0.03, rng=1)
    m = MODELS["fbm"](alpha=0.5, D=0.1)
    np.testing.assert_allclose(
        m.log_likelihood(X, 0.03, 0.02, exposure=1e-12), m.log_likelihood(X, 0.03, 0.02), rtol=1e-9
    )


def test_fit_reaches_the_dense_likelihood_at_its_estimate():
    rng = np.random.default_rng(3)
    X = _exact_tracks("fbm", 0.7, 0.1, 0.033, 0.03, 0.02, 6, 60, rng)
    for model in ("bm", "fbm"):
        est = fit_measured(X, 0.033, model, exposure=0.03)
        ll = [
            measured_log_likelihood(
                X[i : i + 1],
                0.033,
                model,
                alpha=row.alpha,
                D=row.D,
                exposure=0.03,
                sigma_loc=row.sigma,
            )[0]
            for i, row in enumerate(est.itertuples())
        ]
        # BM: exact; FBM: the spline over the alpha grid is within 1e-2 of the truth. Where
        # sigma² was estimated below 0 (reported sigma 0), alpha-hat is the extended-range
        # maximizer, not the constrained one: the constrained maximum is at least as high.
        tol = 1e-6 if model == "bm" else 1e-2
        pos = est["sigma"].to_numpy() > 0
        assert pos.sum() >= 3
        np.testing.assert_allclose(est["log_likelihood"][pos], np.asarray(ll)[pos], atol=tol)
        assert np.all(est["log_likelihood"][~pos] >= np.asarray(ll)[~pos] - tol)


def test_fixed_sigma_is_kept_and_counts_one_parameter_less():
    rng = np.random.default_rng(4)
    X = _exact_tracks("fbm", 1.0, 0.1, 0.033, 0.0, 0.03, 5, 50, rng)
    auto = fit_measured(X, 0.033, "fbm")
    fixed = fit_measured(X, 0.033, "fbm", sigma_loc=0.03)
    np.testing.assert_allclose(fixed["sigma"], 0.03)
    assert (fixed["n_params"] == 2).all() and (auto["n_params"] == 3).all()


def test_immobile_track_gets_no_estimate_and_other_models_are_refused():
    X = np.zeros((1, 20, 2))
    assert fit_measured(X, 0.03, "fbm")[["alpha", "D"]].isna().all(axis=None)
    with pytest.raises(ValueError, match="no Gaussian likelihood"):
        fit_measured(X, 0.03, "ctrw")


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.4, 1.4])
def test_fbm_alpha_through_blur_and_noise_is_unbiased_and_covered(alpha):
    # 300 tracks of 100 points, 30 nm noise unknown to the fit, exposure 0.9 dt
    rng = np.random.default_rng(int(alpha * 10))
    n, dt = 300, 0.033
    X = _exact_tracks("fbm", alpha, 0.1, dt, 0.9 * dt, 0.02, n, 100, rng)
    est = fit_measured(X, dt, "fbm", exposure=0.9 * dt)
    a = est["alpha"].to_numpy()
    bias = a.mean() - alpha
    assert abs(bias) < 0.03 + 3 * a.std() / np.sqrt(n)
    cover = np.mean((est["alpha_lo"] <= alpha) & (est["alpha_hi"] >= alpha))
    se = np.sqrt(0.95 * 0.05 / n)
    assert abs(cover - 0.95) < 3 * se
    # and sigma's interval, which covers only if sigma² may go far enough below 0 (with half
    # of the way, measured._EXTEND = 0.5, it covers 0.89 at alpha 0.4)
    cover_sigma = np.mean((est["sigma_lo"] <= 0.02) & (est["sigma_hi"] >= 0.02))
    assert abs(cover_sigma - 0.95) < 3 * se
    # the naive fit (no blur, no noise) is far off: the measurement model matters
    naive = MODELS["fbm"].fit(X, dt)["alpha"].to_numpy()
    assert abs(naive.mean() - alpha) > 3 * abs(bias)
    # sigma is identifiable where the noise is a fair share of a step (SNR sqrt(D dt^a)/sigma ~ 1.5)
    if alpha > 1:
        assert np.median(est["sigma"]) == pytest.approx(0.02, rel=0.2)


@pytest.mark.slow
def test_blurred_noisy_bm_is_called_bm_at_the_stated_level():
    rng = np.random.default_rng(11)
    n, dt, level = 400, 0.033, 0.05
    X = _exact_tracks("fbm", 1.0, 0.1, dt, 0.9 * dt, 0.04, n, 80, rng)
    sel = select_measured(X, dt, exposure=0.9 * dt, level=level)
    false_pos = np.mean(sel["best"] != "bm")
    assert false_pos <= level + 3 * np.sqrt(level * (1 - level) / n)
    # noisy BM without blur, fitted as if noise-free, looks anomalous far more often
    X = _exact_tracks("fbm", 1.0, 0.1, dt, 0.0, 0.04, n, 80, rng)
    naive = select_measured(X, dt, sigma_loc=0.0, level=level)
    assert np.mean(naive["best"] != "bm") > 4 * level
    assert np.mean(select_measured(X, dt, level=level)["best"] != "bm") <= level + 3 * np.sqrt(
        level * (1 - level) / n
    )


def test_bidiagonal_solve_matches_a_dense_triangular_solve():
    import scipy.linalg

    from sptmotion.motion._levinson import bidiag_solve

    rng = np.random.default_rng(5)
    var = rng.uniform(0.5, 2.0, 31)
    N = noise_covariance(var)
    c = scipy.linalg.cholesky(N, lower=True)
    B = rng.normal(size=(30, 7))
    np.testing.assert_allclose(bidiag_solve(np.diag(c), np.diag(c, -1), B),
                               scipy.linalg.solve_triangular(c, B, lower=True), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(bidiag_solve(np.diag(c), np.diag(c, -1), B[:, 0]),
                               scipy.linalg.solve_triangular(c, B[:, 0], lower=True), rtol=1e-12)  # fmt: skip


def test_long_tracks_refine_the_grid_where_it_matters(monkeypatch):
    """Tracks of >= 200 points: the scout grid (step 0.3) and then the 0.05 grid near each
    estimate and interval give what the whole 0.05 grid gives (alpha and its interval to
    1e-3; the grid points far away do not move the spline's maximum or its crossings)."""
    from sptmotion.motion import measured

    rng = np.random.default_rng(8)
    X = _exact_tracks("fbm", 0.6, 0.1, 0.033, 0.015, 0.03, 4, 250, rng, K=8)
    X = np.concatenate([X, _exact_tracks("fbm", 1.5, 0.1, 0.033, 0.015, 0.03, 4, 250, rng, K=8)])
    X = [*X, *_exact_tracks("fbm", 0.35, 0.1, 0.033, 0.015, 0.01, 2, 900, rng, K=4)]
    for model in ("fbm", "sbm"):
        part = fit_measured(X, 0.033, model, exposure=0.015)
        # every point of the 0.05 grid from the start
        monkeypatch.setitem(measured._SCOUT_GRID, model, measured.ALPHA_GRID[model])
        full = fit_measured(X, 0.033, model, exposure=0.015)
        monkeypatch.undo()
        for c in ("alpha", "alpha_lo", "alpha_hi"):
            np.testing.assert_allclose(part[c], full[c], atol=1e-3)
        np.testing.assert_allclose(part["log_likelihood"], full["log_likelihood"], atol=1e-3)


def test_one_track_length_shares_the_cores_over_alphas_with_the_same_numbers(monkeypatch):
    """A fit with one track length reduces its alphas on threads (one BLAS thread each): the
    same numbers, to the bit, as on one core, with and without gaps."""
    from sptmotion.motion import measured

    rng = np.random.default_rng(14)
    X = _exact_tracks("fbm", 0.7, 0.1, 0.033, 0.015, 0.03, 2, 300, rng, K=4)
    frames = [np.delete(np.arange(303), [50, 51, 200])] * 2
    for kw in ({}, {"frames": frames}):
        runs = []
        for cores in (1, 3):
            monkeypatch.setattr(measured, "_available_cores", lambda c=cores: c)
            runs.append(fit_measured(X, 0.033, "fbm", exposure=0.015, **kw))
        pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)


def test_short_tracks_reach_alpha_below_the_coarse_grid():
    """The estimate is not stopped at the coarse grid's end (0.1): FBM alpha 0.05 tracks of 60
    points (no noise, sigma given) come out near 0.05, and their intervals reach below 0.1."""
    rng = np.random.default_rng(12)
    X = _exact_tracks("fbm", 0.05, 0.1, 0.033, 0.0, 0.0, 30, 60, rng, K=1)
    est = fit_measured(X, 0.033, "fbm", sigma_loc=0.0)
    a = est["alpha"].to_numpy()
    assert np.median(a) < 0.09
    assert abs(np.mean(a) - 0.05) < 0.02 + 3 * a.std() / np.sqrt(len(a))
    assert np.mean(est["alpha_lo"] < 0.05) > 0.5


def test_the_grid_ends_are_extended_per_track():
    """Only the tracks whose estimate or interval reaches an end of the grid are fitted at the
    extra points: a track gets the same answer alone as among tracks that need none of them
    (which keep their coarse-grid answers) or the other end's."""
    rng = np.random.default_rng(13)
    low = _exact_tracks("fbm", 0.05, 0.1, 0.033, 0.0, 0.0, 4, 60, rng, K=1)
    mid = _exact_tracks("fbm", 0.8, 0.1, 0.033, 0.0, 0.0, 12, 60, rng, K=1)
    high = _exact_tracks("fbm", 1.95, 0.1, 0.033, 0.0, 0.0, 4, 60, rng, K=1)
    alone = fit_measured(low, 0.033, "fbm", sigma_loc=0.0)
    mixed = fit_measured(np.concatenate([low, mid, high]), 0.033, "fbm", sigma_loc=0.0)
    assert alone["alpha"].max() < 0.1  # they did need the extra points
    assert mixed["alpha"].to_numpy()[-4:].min() > 1.9  # and these the high ones
    for c in ("alpha", "alpha_lo", "alpha_hi", "log_likelihood"):
        np.testing.assert_allclose(mixed[c].to_numpy()[:4], alone[c].to_numpy(), rtol=1e-9)
    # the others are as on the coarse grid alone
    coarse = fit_measured(mid, 0.033, "fbm", sigma_loc=0.0)
    for c in ("alpha", "alpha_lo", "alpha_hi", "log_likelihood"):
        np.testing.assert_allclose(mixed[c].to_numpy()[4:-4], coarse[c].to_numpy(), rtol=1e-9)


def test_mixed_lengths_give_the_same_numbers_on_one_or_several_threads(monkeypatch):
    """Each track length is its own group, fitted on its own thread: the result does not depend
    on the number of threads (BLAS runs one thread per task either way)."""
    from sptmotion.motion import measured

    rng = np.random.default_rng(9)
    tracks = [_exact_tracks("fbm", 0.8, 0.1, 0.033, 0.015, 0.03, 1, P, rng, K=4)[0]
              for P in (12, 30, 31, 64, 210)]  # fmt: skip
    monkeypatch.setattr(measured, "_available_cores", lambda: 1)
    one = select_measured(tracks, 0.033, exposure=0.015)
    monkeypatch.setattr(measured, "_available_cores", lambda: 4)
    four = select_measured(tracks, 0.033, exposure=0.015)
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(one, four, check_exact=True)


@pytest.mark.parametrize("n", [7, 8])
def test_centrosymmetric_fold_keeps_the_generalized_eigenvalues(n):
    """A symmetric Toeplitz motion covariance and the noise covariance split into two blocks
    whose generalized eigenvalues together are those of the whole pair."""
    import scipy.linalg

    from sptmotion.motion.measured import _fold, _fold_vectors

    C = increment_covariance("fbm", 0.6, np.arange(n + 1), exposure_ratio=0.5)
    N = noise_covariance(np.ones(n + 1))
    whole = scipy.linalg.eigh(C, N, eigvals_only=True)
    parts = np.sort(
        np.concatenate([scipy.linalg.eigh(c, m, eigvals_only=True)
                        for c, m in zip(_fold(C), _fold(N), strict=True)])
    )  # fmt: skip
    np.testing.assert_allclose(parts, whole, rtol=1e-10)
    # the fold is an orthogonal change of basis: quadratic forms are kept
    x = np.random.default_rng(0).standard_normal((n, 3))
    xp, xm = _fold_vectors(x)
    Cp, Cm = _fold(C)
    np.testing.assert_allclose(
        np.einsum("ik,ij,jk->k", xp, Cp, xp) + np.einsum("ik,ij,jk->k", xm, Cm, xm),
        np.einsum("ik,ij,jk->k", x, C, x), rtol=1e-12,
    )  # fmt: skip


@pytest.mark.parametrize("n", [4, 5, 8, 9, 63])
def test_whitened_toeplitz_fold_equals_dense_fold_and_whitening(n):
    """The compiled fold of a Toeplitz covariance (from its first column, the stationary
    models' autocovariance) and its whitening by the folded noise factors give the lower
    triangles of the dense route (:func:`_fold`, then two triangular solves)."""
    import scipy.linalg

    from sptmotion.motion._levinson import whitened_toeplitz_fold
    from sptmotion.motion.measured import _fold
    from sptmotion.motion.measurement import increment_autocovariance

    for model, alpha, r in (("fbm", 0.4, 0.0), ("fbm", 1.5, 0.9), ("bm", 1.0, 0.5)):
        C = increment_covariance(model, alpha, np.arange(n + 1), exposure_ratio=r)
        c = increment_autocovariance(model, alpha, n, r)
        np.testing.assert_array_equal(C[:, 0], c)
    for bad in (("sbm", 0.5, n, 0.0), ("fbm", 0.5, 0, 0.0), ("fbm", 0.5, n, 1.5)):
        with pytest.raises(ValueError):
            increment_autocovariance(*bad)
        chols = [np.linalg.cholesky(Nb) for Nb in _fold(noise_covariance(np.ones(n + 1)))]
        bands = [(np.diag(Lc).copy(), np.diag(Lc, -1).copy()) for Lc in chols]
        got = whitened_toeplitz_fold(c, *bands)
        for Cb, Lc, Mb in zip(_fold(C), chols, got, strict=True):
            A = scipy.linalg.solve_triangular(Lc, Cb, lower=True)
            ref = scipy.linalg.solve_triangular(Lc, A.T, lower=True)
            assert Mb.flags.f_contiguous and Mb.shape == ref.shape
            low = np.tril_indices(len(ref))
            np.testing.assert_allclose(Mb[low], ref[low], rtol=1e-12, atol=1e-13 * abs(ref).max())


def test_folded_fits_equal_the_whole_eigenproblem(monkeypatch):
    """Consecutive frames, one noise level: the split eigenproblem gives the fits of the whole
    one (odd and even numbers of increments, with and without blur, sigma free and fixed; DBM's
    drift regressor split with the data)."""
    from sptmotion.motion import measured

    rng = np.random.default_rng(10)
    for P, expo in ((41, 0.0), (60, 0.02)):
        X = _exact_tracks("fbm", 0.7, 0.1, 0.033, expo, 0.03, 5, P, rng, K=4)
        drifting = X + 0.033 * np.arange(P)[None, :, None] * np.array([0.5, -0.2])  # µm/s
        for model, Y in (("fbm", X), ("dbm", drifting)):
            cols = ["alpha", "alpha_lo", "alpha_hi", "D", "sigma"]
            cols += ["v_x", "v_y"] if model == "dbm" else []
            for sig in ("auto", 0.03):
                folded = fit_measured(Y, 0.033, model, exposure=expo, sigma_loc=sig)
                monkeypatch.setattr(measured, "_FOLD", False)
                whole = fit_measured(Y, 0.033, model, exposure=expo, sigma_loc=sig)
                monkeypatch.undo()
                for c in cols:
                    np.testing.assert_allclose(folded[c], whole[c], rtol=1e-5, atol=1e-7)
                np.testing.assert_allclose(
                    folded["log_likelihood"], whole["log_likelihood"], rtol=1e-9
                )


def test_sbm_increment_covariance_is_tridiagonal():
    """SBM's observed increments are correlated with their neighbours only (gaps, blur)."""
    from sptmotion.motion.measurement import sbm_increment_band

    for frames in (np.arange(12), np.array([0, 1, 2, 5, 6, 9, 10, 11, 20])):
        for r in (0.0, 0.3, 1.0):
            for a in (0.3, 1.0, 1.7):
                C = increment_covariance("sbm", a, frames, exposure_ratio=r)
                d0, d1 = sbm_increment_band(a, frames, exposure_ratio=r)
                T = np.diag(d0) + np.diag(d1, 1) + np.diag(d1, -1)
                np.testing.assert_allclose(T, C, rtol=0, atol=1e-12 * np.abs(C).max())


def test_pencil_kernels_match_dense_algebra():
    """Log-determinants, quadratic forms, Fisher traces and extreme generalized eigenvalues of
    ``a C + b N`` (tridiagonal) against dense linear algebra."""
    import scipy.linalg

    from sptmotion.motion._levinson import pencil_extremes, pencil_fisher, pencil_forms

    rng = np.random.default_rng(0)
    L, K, m, d = 9, 3, 2, 2

    def tri(d0, d1):
        return np.diag(d0) + np.diag(d1, 1) + np.diag(d1, -1)

    c0, c1 = rng.uniform(2, 3, (K, L)), rng.uniform(-0.5, 0.5, (K, L - 1))
    n0, n1 = rng.uniform(1.5, 2.5, L), -rng.uniform(0.3, 0.7, L - 1)
    a, b = rng.uniform(0.5, 2, K * m), rng.uniform(-0.2, 1, K * m)
    X = rng.normal(size=(m, L, d))
    logdet, quad = pencil_forms(c0, c1, n0, n1, a, b, X)
    t_aa, t_ab, t_bb = pencil_fisher(c0, c1, n0, n1, a, b, m)
    N = tri(n0, n1)
    for r in range(K * m):
        k, t = divmod(r, m)
        A = a[r] * tri(c0[k], c1[k])
        Si = np.linalg.inv(A + b[r] * N)
        assert logdet[r] == pytest.approx(np.linalg.slogdet(A + b[r] * N)[1], rel=1e-12)
        assert quad[r] == pytest.approx(np.einsum("ij,ik,kj->", X[t], Si, X[t]), rel=1e-12)
        assert t_aa[r] == pytest.approx(np.trace(Si @ A @ Si @ A), rel=1e-10)
        assert t_ab[r] == pytest.approx(np.trace(Si @ A @ Si @ N), rel=1e-10)
        assert t_bb[r] == pytest.approx(np.trace(Si @ N @ Si @ N), rel=1e-10)
    lam_min, lam_mean = pencil_extremes(c0, c1, n0, n1)
    for k in range(K):
        ev = scipy.linalg.eigh(tri(c0[k], c1[k]), N, eigvals_only=True)
        assert lam_min[k] == pytest.approx(ev[0], rel=1e-12)
        assert lam_mean[k] == pytest.approx(ev.mean(), rel=1e-12)
    # not positive definite: NaN
    logdet, quad = pencil_forms(c0, c1, n0, n1, np.full(K * m, -1.0), np.zeros(K * m), X)
    assert np.all(np.isnan(logdet)) and np.all(np.isnan(quad))


@pytest.mark.parametrize("profiled", [True, False])
def test_pencil_maximize_finds_the_maximum_of_a_dense_search(profiled):
    """The compiled grid + Brent search reaches the maximum of a 4001-point dense search of
    the same profile (dense algebra) on every row, two-humped profiles included, and
    reports the profile's value at its argument."""
    from sptmotion.motion._levinson import pencil_maximize

    rng = np.random.default_rng(5)
    L, K, m, d = 12, 4, 6, 2

    def tri(d0, d1):
        return np.diag(d0) + np.diag(d1, 1) + np.diag(d1, -1)

    c0, c1 = rng.uniform(2, 3, (K, L)), rng.uniform(-0.9, 0.9, (K, L - 1))
    n0, n1 = np.full(L, 2.0), np.full(L - 1, -1.0)
    X = rng.normal(size=(K, m, L, d)) * rng.choice([0.3, 1.0, 3.0], size=(K, m, 1, 1))
    R, Ntot, const = K * m, L * d, 7.0
    scale = rng.uniform(0.5, 2.0, R)
    if profiled:
        lo, hi = np.full(R, -0.3), 1.0 - 1e-9
    else:
        lo, hi = np.full(R, -8.0), 3.0
    x, f = pencil_maximize(
        c0, c1, n0, n1, X, lo, hi, scale=scale if profiled else None, b_fixed=0.4,
        const=const, n_grid=16, rtol=1e-9,
    )  # fmt: skip

    def value(r, u):
        k, t = divmod(r, m)
        if profiled:
            S = (1 - u) * scale[r] * tri(c0[k], c1[k]) + u * tri(n0, n1)
        else:
            S = np.exp(u) * tri(c0[k], c1[k]) + 0.4 * tri(n0, n1)
        sign, logdet = np.linalg.slogdet(S)
        if sign <= 0:
            return -np.inf
        q = np.einsum("ij,ik,kj->", X[k, t], np.linalg.inv(S), X[k, t])
        if profiled:
            return -0.5 * (const + Ntot * np.log(q / Ntot) + Ntot + d * logdet)
        return -0.5 * (const + d * logdet + q)

    for r in range(R):
        dense = max(value(r, u) for u in np.linspace(lo[r], hi, 4001))
        assert f[r] >= dense - 1e-9
        assert f[r] == pytest.approx(value(r, x[r]), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("model", ["sbm", "fbm", "bm", "dbm"])
def test_tridiagonal_fits_equal_the_eigendecomposition(monkeypatch, model):
    """Fits with tridiagonal matrices (SBM's, BM's and DBM's own covariances, DBM's drift
    profiled out in the same recursion; the Householder reductions of the whitened FBM
    covariances, folded or not) give the numbers of the eigendecomposition route: gaps,
    blur, per-point variances, sigma free, fixed and zero."""
    from sptmotion.motion import measured

    rng = np.random.default_rng(11)
    gen = "fbm" if model in ("bm", "dbm") else model
    X = _exact_tracks(gen, 0.6, 0.1, 0.033, 0.02, 0.03, 4, 40, rng, K=4)
    if model == "dbm":  # a drift of 0.5 and -0.2 µm/s
        X = X + 0.033 * np.arange(40)[None, :, None] * np.array([0.5, -0.2])
    holey = [x[np.r_[0:10, 13:40]] for x in X]
    frames = [np.r_[0:10, 13:40]] * 4
    pvar = [np.full(37, 0.03**2) * rng.uniform(0.5, 2.0, 37) for _ in range(4)]
    cases = [
        ({"tracks": X}, ("auto", 0.03, 0.0)),
        ({"tracks": holey, "frames": frames}, ("auto", 0.03)),
        ({"tracks": holey, "frames": frames, "point_var": pvar}, ("auto", 1.0)),
    ]
    cols = ["alpha", "alpha_lo", "alpha_hi", "D", "D_lo", "D_hi", "sigma", "sigma_hi"]
    cols += ["v_x", "v_y"] if model == "dbm" else []
    for kw, sigmas in cases:
        for sig in sigmas:
            tri = measured.fit_measured(dt=0.033, model=model, exposure=0.02, sigma_loc=sig, **kw)
            monkeypatch.setattr(measured, "_TRIDIAGONAL", False)
            eig = measured.fit_measured(dt=0.033, model=model, exposure=0.02, sigma_loc=sig, **kw)
            monkeypatch.undo()
            for c in cols:
                np.testing.assert_allclose(tri[c], eig[c], rtol=1e-4, atol=1e-7, err_msg=c)
            np.testing.assert_allclose(tri["log_likelihood"], eig["log_likelihood"], rtol=1e-9)


def test_lapack_tridiagonal_reduction():
    """``M = Q T Qᵀ`` and ``Qᵀz`` (LAPACK through numba): same eigenvalues, same quadratic forms."""
    from sptmotion.motion._lapack import tridiagonalize

    rng = np.random.default_rng(12)
    for n in (2, 3, 10, 61):
        A = rng.normal(size=(n, n))
        M = A @ A.T + np.eye(n)
        Z = rng.normal(size=(n, 3))
        diag, off, W = tridiagonalize(M, Z)
        T = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
        np.testing.assert_allclose(np.linalg.eigvalsh(T), np.linalg.eigvalsh(M), rtol=1e-10)
        np.testing.assert_allclose(
            np.einsum("ik,ij,jk->k", W, np.linalg.inv(T), W),
            np.einsum("ik,ij,jk->k", Z, np.linalg.inv(M), Z), rtol=1e-10,
        )  # fmt: skip
        assert np.array_equal(M, M.T)  # the input is left as it was


def test_pencil_kernels_give_the_same_numbers_on_threads():
    """Large calls split their rows over threads: the same numbers, bit for bit."""
    from sptmotion.motion._levinson import pencil_fisher, pencil_forms, pencil_maximize

    rng = np.random.default_rng(13)
    K, m, L = 2, 3000, 80
    c0, c1 = rng.uniform(2, 3, (K, L)), rng.uniform(-0.5, 0.5, (K, L - 1))
    n0, n1 = np.full(L, 2.0), np.full(L - 1, -1.0)
    a, b = rng.uniform(0.5, 2, K * m), rng.uniform(0, 1, K * m)
    X = rng.normal(size=(K, m, L, 2))
    lo = rng.uniform(-0.5, 0.0, K * m)
    kw = dict(scale=np.full(K * m, 0.5), const=1.0, n_grid=16, rtol=1e-9)
    one = (
        pencil_forms(c0, c1, n0, n1, a, b, X)
        + pencil_fisher(c0, c1, n0, n1, a, b, m)
        + pencil_maximize(c0, c1, n0, n1, X, lo, 0.99, **kw)
    )
    three = (
        pencil_forms(c0, c1, n0, n1, a, b, X, n_threads=3)
        + pencil_fisher(c0, c1, n0, n1, a, b, m, n_threads=3)
        + pencil_maximize(c0, c1, n0, n1, X, lo, 0.99, n_threads=3, **kw)
    )
    for x, y in zip(one, three, strict=True):
        assert np.array_equal(x, y)


def _pencil_sum(args):
    from sptmotion.motion._levinson import pencil_forms

    return float(pencil_forms(*args, n_threads=2)[0].sum())


def test_pencil_threads_work_in_a_forked_child():
    """The row threads are per process: a child forked after the parent used them computes
    (the parent's pool has no threads in the child; reusing it would wait forever)."""
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    rng = np.random.default_rng(14)
    K, m, L = 1, 6000, 80
    args = (
        rng.uniform(2, 3, (K, L)), rng.uniform(-0.5, 0.5, (K, L - 1)),
        np.full(L, 2.0), np.full(L - 1, -1.0),
        rng.uniform(0.5, 2, K * m), rng.uniform(0, 1, K * m), rng.normal(size=(K, m, L, 2)),
    )  # fmt: skip
    parent = _pencil_sum(args)
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.map_async(_pencil_sum, [args]).get(timeout=60) == [parent]


def test_pencil_log_determinant_at_extreme_scales():
    """Covariances of 1e-30 or 1e30 per entry (200 increments): the leading minors are
    rescaled, so the log-determinant stays finite and exact."""
    from sptmotion.motion._levinson import pencil_forms

    rng = np.random.default_rng(15)
    L = 200
    c0, c1 = rng.uniform(2, 3, (1, L)), rng.uniform(-0.5, 0.5, (1, L - 1))
    C = np.diag(c0[0]) + np.diag(c1[0], 1) + np.diag(c1[0], -1)
    X = rng.normal(size=(1, 1, L, 2))
    for scale in (1e-30, 1.0, 1e30):
        logdet, quad = pencil_forms(
            c0 * scale, c1 * scale, np.full(L, 2.0), np.full(L - 1, -1.0),
            np.ones(1), np.zeros(1), X,
        )  # fmt: skip
        assert logdet[0] == pytest.approx(np.linalg.slogdet(C)[1] + L * np.log(scale), rel=1e-12)
        expect = np.einsum("ij,ik,kj->", X[0, 0], np.linalg.inv(C), X[0, 0]) / scale
        assert quad[0] == pytest.approx(expect, rel=1e-10)


def test_curvature_of_each_track_at_its_own_estimate():
    """The profile's curvature (alpha's standard error) is read per track from its own spline
    piece, also at the knots and the grid's ends: as evaluating every track's spline at every
    estimate, without the (tracks x tracks) array."""
    from scipy.interpolate import CubicSpline

    from sptmotion.motion.measured import _row_second_derivative

    rng = np.random.default_rng(4)
    x = np.round(np.arange(0.1, 1.91, 0.1), 10)
    spl = CubicSpline(x, rng.normal(size=(8, len(x))), axis=1)
    xq = np.array([0.1, 0.15, 0.2, 0.55, 1.0, 1.37, 1.85, 1.9])
    full = spl(xq, 2)[np.arange(8), np.arange(8)]
    np.testing.assert_allclose(_row_second_derivative(spl, x, xq), full, rtol=1e-12, atol=1e-9)


def test_profile_summary_on_the_fine_grid_equals_the_array_form():
    """The compiled summary of the profiles (maximum on the fine grid, the region within
    q/2 of it and its interpolated ends) gives the numbers of the array computation it
    replaced, for profiles peaked inside, at either end and flat over the whole grid."""
    from scipy.interpolate import CubicSpline

    from sptmotion.motion._levinson import spline_profile_summary

    rng = np.random.default_rng(5)
    x = np.round(np.arange(0.1, 1.91, 0.1), 10)
    peak = np.array([0.6, 0.1, 1.9, 1.0, 0.35, 1.2])
    width = np.array([0.1, 0.3, 0.2, 50.0, 0.05, 0.4])  # 50: flat, the region is everything
    Y = -0.5 * ((x[None] - peak[:, None]) / width[:, None]) ** 2 + rng.normal(0, 0.01, (6, 19))
    Yc = Y - rng.uniform(0, 1, (6, 1))
    fine = np.arange(x[0], x[-1] + 1e-12, 0.001)
    spl, splc = CubicSpline(x, Y, axis=1), CubicSpline(x, Yc, axis=1)
    alpha, lo, hi, top = spline_profile_summary(x, spl.c, splc.c, fine, 0.5 * 3.84)
    # the array form
    Pf = spl(fine)
    j = np.argmax(Pf, axis=1)
    rows = np.arange(6)
    thr = Pf[rows, j] - 0.5 * 3.84
    out = ~(Pf >= thr[:, None])
    pos = np.arange(len(fine))[None]
    left = np.where(out & (pos < j[:, None]), pos, -1).max(axis=1)
    right = np.where(out & (pos > j[:, None]), pos, len(fine)).min(axis=1)
    np.testing.assert_array_equal(alpha, fine[j])
    np.testing.assert_array_equal(top, splc(fine).max(axis=1))
    for r in rows:
        for end, i_out, i_in in ((lo, left[r], left[r] + 1), (hi, right[r], right[r] - 1)):
            if i_out < 0 or i_out >= len(fine):
                assert np.isnan(end[r])
                continue
            p0, p1 = Pf[r, i_out], Pf[r, i_in]
            t = np.clip((thr[r] - p0) / (p1 - p0), 0, 1)
            assert end[r] == fine[i_out] + t * (fine[i_in] - fine[i_out])
    assert np.isnan(lo[3]) and np.isnan(hi[3]) and np.isnan(lo[1]) and np.isnan(hi[2])
