"""Gaussian motion models (BM, DBM, FBM, SBM): exact sampling, exact likelihood, MLE fits.

The samplers' statistics, the likelihood against a dense multivariate normal, the FBM MLE's
bias and standard errors, and bad input.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from sptmotion.motion import MODELS, fit_eamsd_alpha, get_model
from sptmotion.motion import gaussian as g
from sptmotion.motion._levinson import toeplitz_quad, tridiag_whiten

DT = 0.03  # s


def _exact_increment_cov(
    model, times: np.ndarray, sigma_loc: float
) -> tuple[np.ndarray, np.ndarray]:
    """Dense mean (L, dim=2) and covariance (L, L) of the observed increments, from first principles."""
    dts = np.diff(times)
    L = len(dts)
    t1, t0 = times[1:], times[:-1]
    if model.name in ("bm", "dbm"):
        cov = np.diag(2.0 * model.D * dts)
    elif model.name == "sbm":
        cov = np.diag(
            2.0 * model.D * ((t1 + model.t_age) ** model.alpha - (t0 + model.t_age) ** model.alpha)
        )
    else:  # FBM: Cov(B(t), B(s)) = D (t^a + s^a - |t-s|^a), differenced on both sides

        def c(a, b):
            return model.D * (
                a[:, None] ** model.alpha
                + b[None, :] ** model.alpha
                - np.abs(a[:, None] - b[None, :]) ** model.alpha
            )

        cov = c(t1, t1) - c(t1, t0) - c(t0, t1) + c(t0, t0)
    cov = cov + sigma_loc**2 * (2.0 * np.eye(L) - np.eye(L, k=1) - np.eye(L, k=-1))
    mean = np.zeros((L, 2))
    if model.name == "dbm":
        mean = dts[:, None] * model.velocity(2)[None, :]
    return mean, cov


# ----------------------------------------------------------------------------------------
# registry, parameters, bad input
# ----------------------------------------------------------------------------------------
def test_registry_and_unknown_name():
    for name in ("bm", "dbm", "fbm", "sbm"):
        assert get_model(name) is MODELS[name]
        assert MODELS[name].has_likelihood
    with pytest.raises(ValueError, match="unknown motion model"):
        get_model("brownian-ish")


@pytest.mark.parametrize(
    "name, alpha, interval",
    [
        ("fbm", 0.0, r"\(0, 2\)"),
        ("fbm", 2.0, r"\(0, 2\)"),
        ("fbm", -0.5, r"\(0, 2\)"),
        ("fbm", np.nan, r"\(0, 2\)"),
        ("sbm", 0.0, r"\(0, 2\]"),
        ("sbm", 2.01, r"\(0, 2\]"),
    ],
)
def test_out_of_range_alpha_names_model_and_range(name, alpha, interval):
    with pytest.raises(ValueError, match=rf"{name.upper()}: alpha must lie in {interval}"):
        MODELS[name](alpha=alpha, D=1.0)


def test_bad_parameters():
    with pytest.raises(ValueError, match="BM: D"):
        MODELS["bm"](D=0.0)
    with pytest.raises(ValueError, match="FBM: D"):
        MODELS["fbm"](alpha=0.5, D=-1.0)
    with pytest.raises(ValueError, match="t_age"):
        MODELS["sbm"](alpha=0.5, D=1.0, t_age=-1.0)
    with pytest.raises(ValueError, match="DBM: v"):
        MODELS["dbm"](D=1.0, v=[1.0, np.inf])
    with pytest.raises(ValueError, match="DBM: v has 2 components but dim=3"):
        MODELS["dbm"](D=1.0, v=(1.0, 2.0)).sample(2, 5, dim=3, dt=DT, rng=0)
    # SBM accepts the ballistic end point alpha = 2, FBM does not
    assert MODELS["sbm"](alpha=2.0).alpha == 2.0


@pytest.mark.parametrize("name", ["bm", "dbm", "fbm", "sbm"])
def test_bad_input_raises_value_error(name):
    m = MODELS[name]() if name in ("bm", "dbm") else MODELS[name](alpha=0.7, D=0.2)
    with pytest.raises(ValueError, match="n_steps"):
        m.sample(3, 0, dim=2, dt=DT, rng=0)
    with pytest.raises(ValueError, match="dim"):
        m.sample(3, 10, dim=4, dt=DT, rng=0)
    with pytest.raises(ValueError, match="n_tracks"):
        m.sample(0, 10, dim=2, dt=DT, rng=0)
    with pytest.raises(ValueError, match="dt"):
        m.sample(3, 10, dim=2, dt=0.0, rng=0)
    X, _ = m.sample(3, 10, dim=2, dt=DT, rng=0)
    for bad in (np.nan, np.inf):
        Y = X.copy()
        Y[1, 4, 0] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            m.log_likelihood(Y, dt=DT)
        with pytest.raises(ValueError, match="NaN or inf"):
            type(m).fit(Y, dt=DT)
    with pytest.raises(ValueError, match="rank"):
        m.log_likelihood(X[0, :, 0], dt=DT)
    with pytest.raises(ValueError, match="rank"):
        type(m).fit(X[None], dt=DT)
    with pytest.raises(ValueError, match="spatial dimensions"):
        m.log_likelihood(np.zeros((2, 10, 4)), dt=DT)
    with pytest.raises(ValueError, match="times"):
        m.log_likelihood(X, times=np.linspace(0, 1, 5))


# ----------------------------------------------------------------------------------------
# sampler statistics
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, alpha",
    [
        ("bm", 1.0),
        ("fbm", 0.3),
        ("fbm", 1.0),
        ("fbm", 1.7),
        ("sbm", 0.5),
        ("sbm", 1.0),
        ("sbm", 1.5),
    ],
)
def test_ensemble_msd_exponent(name, alpha):
    """Ensemble MSD from the start <|r(t)-r(0)|²> grows as t^alpha over t = 10..200 steps.

    Tolerance: with n tracks in d dimensions the eMSD at each time is a mean of n·d
    independent chi-square(1) variables scaled by the MSD (Gaussian positions), so its relative
    error is sqrt(2/(n·d)) = 0.016 for n = 4000, d = 2. Even if these errors were fully
    anti-correlated between t = 10 and t = 200 the least-squares slope over
    ln(200/10) = 3.0 would move by at most 2·0.016/3.0 = 0.011, so 0.05 is > 4 sigma.
    """
    m = MODELS[name](D=0.2) if name == "bm" else MODELS[name](alpha=alpha, D=0.2)
    X, t = m.sample(4000, 200, dim=2, dt=DT, rng=11)
    assert X.shape == (4000, 201, 2) and t.shape == (201,)
    assert np.all(X[:, 0] == 0.0)
    fit = fit_eamsd_alpha(X, DT, steps=np.arange(10, 201))
    assert abs(fit.alpha - alpha) < 0.05
    # the prefactor: MSD = 2·dim·Dα·t^α; log-intercept error ~ slope error x mean log t
    assert abs(np.log(fit.D / 0.2)) < 0.05 * abs(np.log(DT * 200)) + 0.05


@pytest.mark.parametrize("alpha", [0.4, 1.0, 1.6])
def test_fbm_increment_autocovariance(alpha):
    """FBM increments are fractional Gaussian noise: Cov(Δx_i, Δx_{i+k}) = Dα dt^α (|k+1|^α − 2|k|^α + |k−1|^α).

    Each track gives one (time-averaged) estimate of γ(k); tracks are independent, so the
    ensemble mean has standard error std/sqrt(n) measured from the data; we allow 4 SE.
    """
    D = 0.3
    n = 4000
    X, _ = MODELS["fbm"](alpha=alpha, D=D).sample(n, 100, dim=1, dt=DT, rng=3)
    inc = np.diff(X[:, :, 0], axis=1)
    theory = 2.0 * D * DT**alpha * g.fgn_autocovariance(alpha, 6)
    for k in range(6):
        per_track = np.mean(inc[:, : inc.shape[1] - k] * inc[:, k:], axis=1)
        se = per_track.std(ddof=1) / np.sqrt(n)
        assert abs(per_track.mean() - theory[k]) < 4.0 * se + 1e-12, (
            k,
            per_track.mean(),
            theory[k],
        )


def test_fbm_cholesky_fallback_matches_theory(monkeypatch):
    """If the circulant embedding had a negative eigenvalue, the (cached) Cholesky sampler is exact too."""
    monkeypatch.setattr(g, "_fgn_circulant_scale", lambda alpha, n: None)
    alpha, D, n = 0.6, 0.5, 4000
    X, _ = MODELS["fbm"](alpha=alpha, D=D).sample(n, 30, dim=2, dt=DT, rng=4)
    inc = np.diff(X, axis=1).transpose(0, 2, 1).reshape(-1, 30)
    emp = inc.T @ inc / inc.shape[0]
    theory = scipy.linalg.toeplitz(2.0 * D * DT**alpha * g.fgn_autocovariance(alpha, 30))
    # entry-wise: var(x y) = γ(0)² + γ(k)² <= 2 γ(0)², se = sqrt(2) γ(0)/sqrt(8000); 5 se
    tol = 5.0 * np.sqrt(2.0) * theory[0, 0] / np.sqrt(inc.shape[0])
    assert np.max(np.abs(emp - theory)) < tol


def test_davies_harte_eigenvalues_nonnegative():
    """The minimal circulant embedding of fGn is non-negative definite for all alpha in (0, 2)."""
    for alpha in (0.05, 0.5, 1.0, 1.5, 1.95):
        for n in (1, 2, 99, 1000):
            assert g._fgn_circulant_scale(alpha, n) is not None


@pytest.mark.parametrize("name", ["bm", "dbm"])
def test_bm_increments_ks(name):
    """BM/DBM increments, centered by v·dt and scaled by sqrt(2·D·dt), are standard normal (KS test)."""
    m = MODELS["bm"](D=0.25) if name == "bm" else MODELS["dbm"](D=0.25, v=(2.0, -1.0, 0.5))
    X, _ = m.sample(500, 40, dim=3, dt=DT, rng=8)
    inc = np.diff(X, axis=1)
    if name == "dbm":
        inc = inc - m.velocity(3) * DT
    z = (inc / np.sqrt(2 * 0.25 * DT)).ravel()
    # fixed seed; at the 1% level a correct sampler fails with probability 0.01
    assert scipy.stats.kstest(z, "norm").pvalue > 0.01


@pytest.mark.parametrize("name", ["fbm", "sbm", "bm"])
def test_irregular_times_variance(name):
    """On arbitrary observation times, Var x(t) = 2·Dα·t^α per axis (t^1 for BM).

    Var estimate over n·d = 8000 Gaussian values has relative error sqrt(2/8000) = 0.016; 5 sigma.
    """
    alpha, D = (0.7, 0.4) if name != "bm" else (1.0, 0.4)
    times = np.array([0.0, 0.004, 0.008, 0.012, 0.030, 0.034, 0.038, 0.042, 0.060, 0.5])
    m = MODELS[name](D=D) if name == "bm" else MODELS[name](alpha=alpha, D=D)
    X, t = m.sample(4000, 1, dim=2, dt=1.0, rng=9, times=times)
    assert X.shape == (4000, 10, 2) and np.array_equal(t, times)
    var = np.mean(X[:, 1:] ** 2, axis=(0, 2))
    theory = 2.0 * D * times[1:] ** alpha
    assert np.all(np.abs(var / theory - 1.0) < 5.0 * np.sqrt(2.0 / 8000))


def test_sbm_aging_increment_variance():
    """Aged SBM: increment i has variance 2Dα[(t_i + t_age)^α − (t_{i−1} + t_age)^α]."""
    alpha, D, ta = 0.5, 0.3, 2.0
    X, _ = MODELS["sbm"](alpha=alpha, D=D, t_age=ta).sample(8000, 5, dim=1, dt=0.5, rng=2)
    var = np.mean(np.diff(X[:, :, 0], axis=1) ** 2, axis=0)
    t = 0.5 * np.arange(6) + ta
    theory = 2.0 * D * np.diff(t**alpha)
    assert np.all(np.abs(var / theory - 1.0) < 5.0 * np.sqrt(2.0 / 8000))


def test_sampling_is_reproducible():
    m = MODELS["fbm"](alpha=0.8, D=0.1)
    a, _ = m.sample(5, 20, dim=2, dt=DT, rng=42)
    b, _ = m.sample(5, 20, dim=2, dt=DT, rng=np.random.default_rng(42))
    assert np.array_equal(a, b)


# ----------------------------------------------------------------------------------------
# exact likelihood
# ----------------------------------------------------------------------------------------
_LIK_MODELS = [
    ("bm", {"D": 0.3}),
    ("dbm", {"D": 0.3, "v": (0.7, -1.2)}),
    ("fbm", {"alpha": 0.35, "D": 0.2}),
    ("fbm", {"alpha": 1.0, "D": 0.2}),
    ("fbm", {"alpha": 1.75, "D": 0.2}),
    ("sbm", {"alpha": 0.6, "D": 0.2}),
    ("sbm", {"alpha": 1.4, "D": 0.2, "t_age": 0.3}),
]


@pytest.mark.parametrize("name, params", _LIK_MODELS)
@pytest.mark.parametrize("sigma_loc", [0.0, 0.04])
@pytest.mark.parametrize("irregular", [False, True])
@pytest.mark.parametrize("n_steps", [1, 7, 50])
def test_log_likelihood_matches_dense_mvn(name, params, sigma_loc, irregular, n_steps):
    """log_likelihood equals scipy.stats.multivariate_normal on the increments to 1e-8 relative."""
    rng = np.random.default_rng(n_steps + 100 * irregular)
    m = MODELS[name](**params)
    times = (
        np.concatenate([[0.0], np.cumsum(rng.uniform(0.005, 0.06, n_steps))])
        if irregular
        else DT * np.arange(n_steps + 1)
    )
    X, _ = m.sample(4, n_steps, dim=2, dt=DT, rng=rng, times=times)
    X = X + sigma_loc * rng.standard_normal(X.shape)
    ll = (
        m.log_likelihood(X, times=times, sigma_loc=sigma_loc)
        if irregular
        else m.log_likelihood(X, dt=DT, sigma_loc=sigma_loc)
    )
    mean, cov = _exact_increment_cov(m, times, sigma_loc)
    inc = np.diff(X, axis=1)
    ref = sum(
        np.atleast_1d(scipy.stats.multivariate_normal(mean[:, d], cov).logpdf(inc[:, :, d]))
        for d in range(2)
    )
    assert ll.shape == (4,)
    np.testing.assert_allclose(ll, ref, rtol=1e-8)


def test_levinson_kernels_match_dense_algebra():
    """Durbin-Levinson and tridiagonal LDLᵀ give xᵀΣ⁻¹x and log det Σ of a dense solve."""
    rng = np.random.default_rng(0)
    L = 40
    acov = np.stack([2 * 0.1 * g.fgn_autocovariance(a, L) for a in (0.3, 1.2, 1.9)])
    x = rng.standard_normal((3, 5, L))
    quad, logdet = toeplitz_quad(acov, x)
    for i in range(3):
        S = scipy.linalg.toeplitz(acov[i])
        np.testing.assert_allclose(logdet[i], np.linalg.slogdet(S)[1], rtol=1e-9)
        np.testing.assert_allclose(
            quad[i], np.einsum("rl,rl->r", x[i], np.linalg.solve(S, x[i].T).T), rtol=1e-8
        )
    diag = rng.uniform(1, 2, (5, L))
    off = rng.uniform(-0.4, 0.4, (5, L - 1))
    y = rng.standard_normal((5, L))
    z, ld = tridiag_whiten(diag, off, y)
    for r in range(5):
        S = np.diag(diag[r]) + np.diag(off[r], 1) + np.diag(off[r], -1)
        np.testing.assert_allclose(ld[r], np.linalg.slogdet(S)[1], rtol=1e-10)
        np.testing.assert_allclose(np.sum(z[r] ** 2), y[r] @ np.linalg.solve(S, y[r]), rtol=1e-10)


def test_long_track_likelihood_is_fast_and_finite():
    """A 5000-step FBM track is whitened by Durbin-Levinson (O(L²)), never a dense O(L³) solve."""
    m = MODELS["fbm"](alpha=0.5, D=0.1)
    X, _ = m.sample(2, 5000, dim=2, dt=DT, rng=1)
    ll = m.log_likelihood(X, dt=DT, sigma_loc=0.01)
    assert np.all(np.isfinite(ll))
    # the true parameters are more likely than clearly wrong ones
    assert np.all(ll > MODELS["fbm"](alpha=0.6, D=0.1).log_likelihood(X, dt=DT, sigma_loc=0.01))


# ----------------------------------------------------------------------------------------
# maximum likelihood
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.5, 1.3])
def test_fbm_mle_bias_and_standard_errors(alpha):
    """FBM MLE of alpha on 1000 2D tracks of 100 points: |bias| < 0.02, spread matches the SEs.

    - bias: the Monte-Carlo error of the mean is std/sqrt(1000) ≈ 0.003, so 0.02 tests the
      estimator, not the noise;
    - the sample std of 1000 estimates has relative error 1/sqrt(2·1000) = 2.2%, so the
      ratio std(alpha_hat) / rms(SE) must lie within 1 ± 0.1 (4.5 sigma);
    - 95% Wald intervals cover the truth in 95% ± 3·sqrt(0.95·0.05/1000) = ±2.1% of tracks.
    """
    D = 0.1
    X, _ = MODELS["fbm"](alpha=alpha, D=D).sample(1000, 99, dim=2, dt=DT, rng=21)
    est = MODELS["fbm"].fit(X, dt=DT)
    assert list(est.columns) == ["alpha", "alpha_se", "D", "D_se", "log_likelihood", "n_params"]
    assert est.notna().all().all()
    a = est["alpha"].to_numpy()
    assert abs(a.mean() - alpha) < 0.02
    ratio = a.std(ddof=1) / np.sqrt(np.mean(est["alpha_se"] ** 2))
    assert 0.9 < ratio < 1.1, ratio
    coverage = np.mean(np.abs(a - alpha) < 1.96 * est["alpha_se"])
    assert abs(coverage - 0.95) < 0.021
    # D: the MLE of a scale is biased by O(1/n) only; check its spread against the SE too
    d_ratio = est["D"].std(ddof=1) / np.sqrt(np.mean(est["D_se"] ** 2))
    assert 0.85 < d_ratio < 1.15
    assert abs(np.median(est["D"]) / D - 1.0) < 0.05
    # the reported log-likelihood is the model's log-likelihood at the estimates
    i = 7
    ll = MODELS["fbm"](alpha=a[i], D=est["D"][i]).log_likelihood(X[i], dt=DT)
    np.testing.assert_allclose(est["log_likelihood"][i], ll[0], rtol=1e-10)


def test_fbm_mle_is_the_maximum():
    """The fitted (alpha, D) beat nearby parameter values on each track's own likelihood."""
    X, _ = MODELS["fbm"](alpha=0.8, D=0.2).sample(20, 60, dim=2, dt=DT, rng=5)
    est = MODELS["fbm"].fit(X, dt=DT)
    for i in range(0, 20, 5):
        a, D = est["alpha"][i], est["D"][i]
        best = MODELS["fbm"](alpha=a, D=D).log_likelihood(X[i], dt=DT)[0]
        for da, fD in ((0.01, 1.0), (-0.01, 1.0), (0.0, 1.02), (0.0, 0.98), (0.01, 1.02)):
            other = MODELS["fbm"](alpha=a + da, D=D * fD).log_likelihood(X[i], dt=DT)[0]
            assert best >= other


@pytest.mark.parametrize("alpha", [0.5, 1.6])
def test_sbm_mle(alpha):
    """SBM MLE: mean alpha within 4 Monte-Carlo SE (+0.01 for the O(1/n) bias), SEs match the spread."""
    X, _ = MODELS["sbm"](alpha=alpha, D=0.1).sample(1000, 99, dim=2, dt=DT, rng=31)
    est = MODELS["sbm"].fit(X, dt=DT)
    a = est["alpha"].to_numpy()
    assert abs(a.mean() - alpha) < 4 * a.std() / np.sqrt(len(a)) + 0.01
    assert 0.9 < a.std(ddof=1) / np.sqrt(np.mean(est["alpha_se"] ** 2)) < 1.1


def test_bm_and_dbm_closed_form_mle():
    """BM: D̂ = Σ|Δx|²/(2·dt·L·d), se = D̂·sqrt(2/(L·d)); DBM adds v̂ = mean(Δx)/dt with se sqrt(2D/(L·dt))."""
    D, v = 0.2, (1.5, -0.5)
    X, _ = MODELS["dbm"](D=D, v=v).sample(2000, 50, dim=2, dt=DT, rng=12)
    est = MODELS["dbm"].fit(X, dt=DT)
    assert list(est.columns) == [
        "D",
        "D_se",
        "v_x",
        "v_x_se",
        "v_y",
        "v_y_se",
        "log_likelihood",
        "n_params",
    ]
    assert (est["n_params"] == 3).all()
    for col, true in (("v_x", v[0]), ("v_y", v[1])):
        se_mc = est[col].std() / np.sqrt(len(est))
        assert abs(est[col].mean() - true) < 4 * se_mc
        assert 0.9 < est[col].std() / est[f"{col}_se"].mean() < 1.1
    # E[D̂] = D (1 − 1/L) for the MLE with the mean removed per axis
    assert abs(est["D"].mean() / (D * (1 - 1 / 50)) - 1) < 4 * est["D"].std() / est[
        "D"
    ].mean() / np.sqrt(2000)
    bm = MODELS["bm"].fit(X - np.asarray(v) * DT * np.arange(51)[None, :, None], dt=DT)
    assert abs(bm["D"].mean() / D - 1) < 4 * bm["D"].std() / D / np.sqrt(2000)
    assert 0.9 < bm["D"].std() / bm["D_se"].mean() < 1.1


@pytest.mark.parametrize(
    "name, params",
    [("bm", {"D": 0.1}), ("fbm", {"alpha": 0.5, "D": 0.1}), ("sbm", {"alpha": 0.6, "D": 0.1})],
)
def test_fit_with_localization_noise(name, params):
    """With sigma_loc the MLE stays unbiased (noise-ignorant estimates would not).

    Mean over 150 tracks within 4 Monte-Carlo SE + 0.02 (O(1/n) bias) of the truth.
    """
    sigma = 0.03  # µm, comparable to one step sqrt(2·0.1·0.03) = 0.077 µm
    rng = np.random.default_rng(17)
    X, _ = MODELS[name](**params).sample(150, 99, dim=2, dt=DT, rng=rng)
    X = X + sigma * rng.standard_normal(X.shape)
    est = MODELS[name].fit(X, dt=DT, sigma_loc=sigma)
    key = "alpha" if "alpha" in params else "D"
    vals = est[key].to_numpy()
    assert abs(vals.mean() - params[key]) < 4 * vals.std() / np.sqrt(len(vals)) + 0.02
    naive = MODELS[name].fit(X, dt=DT)[key].mean()
    assert abs(naive - params[key]) > abs(vals.mean() - params[key])


def test_fit_needs_three_points_and_handles_still_tracks():
    with pytest.raises(ValueError, match="at least 3 points"):
        MODELS["fbm"].fit(np.zeros((2, 2, 2)), dt=DT)
    X, _ = MODELS["bm"](D=0.1).sample(3, 20, dim=2, dt=DT, rng=1)
    X[1] = 0.0  # a particle that never moves: no finite MLE
    for name in ("bm", "dbm", "fbm", "sbm"):
        est = MODELS[name].fit(X, dt=DT)
        assert est.iloc[1].drop("n_params").isna().all()
        assert est.drop(index=1).notna().all().all()
