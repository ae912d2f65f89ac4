"""Tests of the learners (sptmotion.learn): estimator contract, save/load, determinism, learnability.

The training runs are tiny (a few epochs, one network) so the file stays fast on 2 CPU cores;
the learnability checks use physically well-separated classes (BM vs strongly superdiffusive
FBM) and a wide range of exponents, where any working learner must succeed.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from sptmotion.learn import AlphaRegressor, ModelClassifier, load
from sptmotion.motion import MODELS

FAST = {"n_models": 1, "max_epochs": 3, "patience": 2, "n_threads": 1}


def _fbm(alphas, n_each, n_points, dim, rng):
    """FBM tracks, ``n_each`` per exponent, with their exponents."""
    X = [
        MODELS["fbm"](alpha=a, D=1.0).sample(n_each, n_points - 1, dim, 1.0, rng)[0] for a in alphas
    ]
    return np.concatenate(X), np.repeat(np.asarray(alphas, float), n_each)


def _bm_vs_fbm(n, n_points, rng, alpha=1.8):
    Xb, _ = MODELS["bm"](D=1.0).sample(n, n_points - 1, 2, 1.0, rng)
    Xf, _ = MODELS["fbm"](alpha=alpha, D=1.0).sample(n, n_points - 1, 2, 1.0, rng)
    return np.concatenate([Xb, Xf]), np.array(["bm"] * n + ["fbm"] * n)


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(1)
    X, a = _fbm(np.linspace(0.3, 1.7, 8), 8, 30, 2, rng)
    m = np.where(a > 1, "super", "sub")
    return X, a, m


def test_init_only_stores_and_clone():
    est = AlphaRegressor("trajectory", n_models=2, random_state=3)
    params = est.get_params()
    assert (
        params["representation"] == "trajectory"
        and params["n_models"] == 2
        and params["random_state"] == 3
    )
    c = clone(ModelClassifier("features", max_epochs=5))
    assert c.get_params()["max_epochs"] == 5
    # nothing is validated in __init__ (scikit-learn contract), everything in fit
    bad = AlphaRegressor("nonsense")
    with pytest.raises(ValueError, match="representation"):
        bad.fit(np.zeros((12, 30, 2)), np.zeros(12))


@pytest.mark.parametrize("rep", ["wavelet", "features", "trajectory"])
def test_fit_predict_shapes_and_save_load(rep, small_data, tmp_path):
    X, a, m = small_data
    reg = AlphaRegressor(rep, random_state=0, **FAST).fit(X, a)
    mu, sd = reg.predict(X[:5], return_std=True)
    assert mu.shape == (5,) and sd.shape == (5,) and np.all(sd > 0)
    clf = ModelClassifier(rep, random_state=0, **FAST).fit(X, m)
    p = clf.predict_proba(X[:5])
    assert p.shape == (5, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert set(clf.predict(X[:5])) <= {"sub", "super"}
    # mixed lengths >= 20 in one call (list input)
    mixed = [X[0][:20], X[1], X[2][:25]]
    assert reg.predict(mixed).shape == (3,)
    # save/load: one file, a zip of .npy arrays (no pickle), identical predictions
    for est, out in ((reg, reg.predict(X, return_std=True)), (clf, clf.predict_proba(X))):
        path = tmp_path / f"{rep}.sptm"
        est.save(path)
        with zipfile.ZipFile(path) as z:
            assert all(name.endswith(".npy") for name in z.namelist())
        back = load(path)
        assert type(back) is type(est) and back.get_params()["representation"] == rep
        again = (
            back.predict(X, return_std=True)
            if isinstance(back, AlphaRegressor)
            else back.predict_proba(X)
        )
        np.testing.assert_array_equal(np.asarray(again), np.asarray(out))


@pytest.mark.parametrize("rep", ["wavelet", "trajectory"])
def test_networks_read_any_dim(rep):
    """The networks share one trunk across coordinates: a model fitted in 2D reads 1D and 3D."""
    rng = np.random.default_rng(2)
    X, a = _fbm([0.5, 1.5], 8, 24, 2, rng)
    reg = AlphaRegressor(rep, random_state=0, **FAST).fit(X, a)
    for dim in (1, 3):
        X_d, _ = _fbm([1.0], 3, 40, dim, rng)
        assert reg.predict(X_d).shape == (3,)
    X1, a1 = _fbm([0.5, 1.5], 8, 24, 1, rng)
    assert AlphaRegressor(rep, random_state=0, **FAST).fit(X1, a1).predict(X1[:2]).shape == (2,)


def test_bad_input():
    rng = np.random.default_rng(3)
    X, a = _fbm([0.5, 1.5], 8, 30, 2, rng)
    with pytest.raises(ValueError, match="at least 20 points"):
        AlphaRegressor(**FAST).fit(X[:, :15], a)
    with pytest.raises(ValueError, match="values for"):
        AlphaRegressor(**FAST).fit(X, a[:-1])
    with pytest.raises(ValueError, match="two classes"):
        ModelClassifier(**FAST).fit(X, np.array(["fbm"] * len(X)))
    bad = X.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AlphaRegressor(**FAST).fit(bad, a)
    with pytest.raises(ValueError, match="same spatial dimension"):
        AlphaRegressor(**FAST).fit([X[0], X[1][:, :1]] * 6, a[:12])


def test_unreadable_model_file(tmp_path):
    p = tmp_path / "junk.sptm"
    p.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not an sptmotion model"):
        load(p)
    with pytest.raises(ValueError, match="no such file"):
        load(tmp_path / "missing.sptm")


def test_random_state_makes_cpu_runs_repeatable(small_data):
    X, a, _ = small_data
    p1 = AlphaRegressor("wavelet", random_state=7, **FAST).fit(X, a).predict(X, return_std=True)
    p2 = AlphaRegressor("wavelet", random_state=7, **FAST).fit(X, a).predict(X, return_std=True)
    np.testing.assert_array_equal(p1, p2)


def test_cross_val_score_works(small_data):
    X, _, m = small_data
    scores = cross_val_score(ModelClassifier("features", random_state=0, n_threads=1), X, m, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_classifier_separates_bm_from_superdiffusive_fbm():
    """BM (alpha = 1, independent increments) vs FBM alpha = 1.8 (increment correlation
    2^(alpha-1) - 1 = 0.74 at lag 1): 40-point tracks are separable almost surely. With 200
    test tracks, an accuracy of 0.9 is > 4 binomial standard deviations (sqrt(0.9*0.1/200)
    = 0.021) below the ~0.99 a working learner reaches, so the check is not flaky."""
    rng = np.random.default_rng(4)
    X, y = _bm_vs_fbm(80, 40, rng)
    Xt, yt = _bm_vs_fbm(100, 40, rng)
    clf = ModelClassifier(
        "wavelet", n_models=1, max_epochs=6, patience=3, batch_size=16, random_state=0, n_threads=1
    )
    clf.fit(X, y)
    assert clf.score(Xt, yt) >= 0.9
    # calibrated probabilities: the mean predicted probability of the true class is close to
    # the accuracy (within the same 4-sigma margin)
    p_true = clf.predict_proba(Xt)[np.arange(len(yt)), np.searchsorted(clf.classes_, yt)]
    assert abs(p_true.mean() - clf.score(Xt, yt)) < 0.1


def test_regressor_tracks_alpha_with_uncertainty():
    """FBM exponents 0.2-1.8 on 40-point tracks: the MLE has sd ~0.1-0.15 at this length, so
    a learner must correlate strongly with the truth (r > 0.8 leaves wide room for the
    few-epoch training), and the calibrated std must be of the size of the actual errors
    (rms z-score between 0.5 and 2 over 160 test tracks: its sampling sd is ~0.1)."""
    rng = np.random.default_rng(5)
    X, a = _fbm(np.linspace(0.2, 1.8, 16), 15, 40, 2, rng)
    Xt, at = _fbm(np.linspace(0.25, 1.75, 16), 10, 40, 2, rng)
    reg = AlphaRegressor(
        "wavelet", n_models=1, max_epochs=8, patience=3, batch_size=16, random_state=0, n_threads=1
    )
    mu, sd = reg.fit(X, a).predict(Xt, return_std=True)
    assert np.corrcoef(mu, at)[0, 1] > 0.8
    z = (mu - at) / sd
    assert 0.5 < np.sqrt(np.mean(z**2)) < 2.0


def test_augmentation_is_a_rigid_motion_of_a_window():
    """Training augmentation of the wavelet learner: a random orthogonal map of a contiguous
    window of each track. Rotations keep every pairwise distance between the points of a
    track (isotropic motion: same model, same alpha), and the window keeps the point order."""
    from sptmotion.learn.estimators import augment_tracks, random_rotations

    rng = np.random.default_rng(6)
    for dim in (2, 3):
        Q = random_rotations(2000, dim, rng)
        np.testing.assert_allclose(
            np.einsum("nij,nkj->nik", Q, Q), np.broadcast_to(np.eye(dim), Q.shape), atol=1e-12
        )
        # Haar measure on O(dim): det = +1 and -1 equally often; 2000 draws give a
        # binomial sd of sqrt(0.25 / 2000) = 0.011, so 0.45-0.55 is a > 4-sigma band
        assert 0.45 < np.mean(np.linalg.det(Q) > 0) < 0.55
        # and the first column is uniform on the sphere: mean ~0 (sd 1/sqrt(dim * 2000))
        assert np.all(np.abs(Q[:, :, 0].mean(axis=0)) < 4 / np.sqrt(dim * 2000))
        X = rng.normal(size=(7, 50, dim)).cumsum(axis=1)
        A = augment_tracks(X, rng, min_fraction=0.6)
        n_win = A.shape[1]
        assert A.shape[0] == 7 and 30 <= n_win <= 50
        dA = np.linalg.norm(A[:, :, None] - A[:, None], axis=-1)
        # the window starts somewhere in the track: find it from the step lengths
        found = [
            t0
            for t0 in range(50 - n_win + 1)
            if np.allclose(
                dA,
                np.linalg.norm(X[:, t0 : t0 + n_win, None] - X[:, None, t0 : t0 + n_win], axis=-1),
            )
        ]
        assert len(found) == 1


def test_test_time_rotations_are_deterministic_and_switchable(small_data):
    """Predictions averaged over fixed rotations do not depend on the batch a track is in,
    and test_rotations=1 reads the tracks as given."""
    X, a, _ = small_data
    reg = AlphaRegressor("wavelet", random_state=0, **FAST).fit(X, a)
    full = reg.predict(X)
    np.testing.assert_allclose(reg.predict(X[5:9]), full[5:9], rtol=1e-5, atol=1e-6)
    plain = reg.set_params(test_rotations=1).predict(X)
    assert not np.allclose(plain, full)
    with pytest.raises(ValueError, match="test_rotations"):
        AlphaRegressor(test_rotations=0, **FAST).fit(X, a)
    with pytest.raises(ValueError, match="label_smoothing"):
        ModelClassifier(label_smoothing=1.0, **FAST).fit(X, np.where(a > 1, "a", "b"))


def test_laplace_nll_value_and_gradient():
    """The Laplace head predicts (median mu, log variance), variance = 2 b^2. Its plain NLL
    (beta = 0) is -log of the Laplace density log(2 b) + |y - mu| / b (compared with
    scipy's logpdf); with beta = 0.5 the stop-gradient weight sigma makes the location
    gradient sqrt(2) * sign(mu - y) / n, the gradient of the absolute error (up to the
    constant), and the scale gradient vanishes at b = |y - mu| (the per-track minimum)."""
    import torch
    from scipy.stats import laplace

    from sptmotion.learn._torch_train import laplace_beta_nll, regression_loss

    rng = np.random.default_rng(7)
    n = 50
    mu = rng.normal(size=n)
    logvar = rng.uniform(-3, 2, size=n)
    y = rng.normal(size=n)
    b = np.sqrt(np.exp(logvar) / 2)
    out = torch.tensor(np.stack([mu, logvar], 1), requires_grad=True)
    yt = torch.tensor(y)
    val = laplace_beta_nll(out, yt, beta=0.0)
    np.testing.assert_allclose(
        float(val.detach()), -np.mean(laplace.logpdf(y, loc=mu, scale=b)), rtol=1e-12
    )
    with torch.no_grad():
        assert float(regression_loss(out, yt, "laplace")) == float(laplace_beta_nll(out, yt))
    laplace_beta_nll(out, yt, beta=0.5).backward()
    g = out.grad.numpy()
    np.testing.assert_allclose(g[:, 0], np.sqrt(2) * np.sign(mu - y) / n, rtol=1e-10)
    # d/dlogvar of sigma * [log(2b) + |r| / b] with sigma fixed: sigma * (1/2 - |r| / (2 b)) / n
    sigma = np.sqrt(np.exp(logvar))
    np.testing.assert_allclose(
        g[:, 1], sigma * (0.5 - np.abs(y - mu) / (2 * b)) / n, rtol=1e-10, atol=1e-14
    )
    with pytest.raises(ValueError, match="loss"):
        regression_loss(out, yt, "cauchy")


def test_laplace_regressor_fits_and_round_trips(tmp_path):
    """loss="laplace": the wavelet regressor learns FBM exponents 0.2-1.8 on 40-point tracks
    (same thresholds and sample-size reasoning as the Gaussian test above: r > 0.8, rms
    z-score of the calibrated std in 0.5-2 over 160 test tracks), stores its loss in the
    model file, predicts identically after loading, and old files (no loss entry) load as
    Gaussian models. LightGBM with loss="laplace" fits its point booster with the L1
    objective."""
    import json

    rng = np.random.default_rng(5)
    X, a = _fbm(np.linspace(0.2, 1.8, 16), 15, 40, 2, rng)
    Xt, at = _fbm(np.linspace(0.25, 1.75, 16), 10, 40, 2, rng)
    reg = AlphaRegressor(
        "wavelet",
        loss="laplace",
        n_models=1,
        max_epochs=8,
        patience=3,
        batch_size=16,
        random_state=0,
        n_threads=1,
    )
    mu, sd = reg.fit(X, a).predict(Xt, return_std=True)
    assert np.corrcoef(mu, at)[0, 1] > 0.8
    assert 0.5 < np.sqrt(np.mean(((mu - at) / sd) ** 2)) < 2.0
    path = tmp_path / "lap.sptm"
    reg.save(path)
    back = load(path)
    assert back.get_params()["loss"] == "laplace"
    np.testing.assert_array_equal(
        np.asarray(back.predict(Xt, return_std=True)), np.asarray((mu, sd))
    )
    # a file written before the option existed (no "loss" in its parameters) is Gaussian
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    del meta["params"]["loss"]
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    old = tmp_path / "old.sptm"
    with open(old, "wb") as fh:
        np.savez(fh, **arrays)
    assert load(old).get_params()["loss"] == "gaussian"
    feat = AlphaRegressor("features", loss="laplace", random_state=0, n_threads=1).fit(X, a)
    assert '"objective": "regression_l1"' in json.dumps(feat.boosters_["mean"].dump_model())
    with pytest.raises(ValueError, match="loss"):
        AlphaRegressor(loss="huber", **FAST).fit(X, a)


def test_fast_inference_layers_match_the_reference_layers():
    """The reshape max-pool equals nn.MaxPool2d(ceil_mode=True) on odd and even sizes, and a
    batch-norm-folded copy computes the network's function (up to float32 rounding)."""
    import torch

    from sptmotion.learn.nets import BlockMaxPool2d, ScalogramCNN, inference_copy

    g = torch.Generator().manual_seed(0)
    for shape in [(3, 4, 24, 100), (2, 5, 7, 33), (1, 1, 3, 1)]:
        h = torch.randn(shape, generator=g)
        for pool in [(2, 2), (2, 1)]:
            ref = torch.nn.MaxPool2d(pool, ceil_mode=True)(h)
            assert torch.equal(BlockMaxPool2d(pool)(h), ref)
    torch.manual_seed(0)
    net = ScalogramCNN(2, scale_stats=True)
    net.train()
    net(torch.randn(8, 2, 6, 24, 40))  # move the batch-norm running statistics off 0/1
    net.eval()
    x = torch.randn(4, 2, 6, 24, 37)
    with torch.no_grad():
        ref = net(x)
        fused = inference_copy(net)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
        torch.testing.assert_close(fused(x), ref, rtol=1e-5, atol=1e-5)
        # padded batch with lengths = the tracks read one by one, unpadded
        lens = [20, 21, 33, 57]
        xs = [torch.randn(1, 2, 6, 24, L, generator=g) for L in lens]
        padded = torch.zeros(len(lens), 2, 6, 24, 64)
        for i, xi in enumerate(xs):
            padded[i, ..., : lens[i]] = xi[0]
        one_by_one = torch.cat([fused(xi) for xi in xs])
        torch.testing.assert_close(
            fused(padded, torch.tensor(lens)), one_by_one, rtol=1e-5, atol=1e-5
        )


def test_padded_batches_of_many_lengths_and_given_row_statistics():
    """Masking by runs of equal length and by one mask (more runs than
    ``_MAX_FILL_RUNS``) give the unpadded outputs; so do the input rows' time statistics
    when the caller gives them (``row_stats``) instead of the network computing them."""
    import torch

    from sptmotion.learn import nets
    from sptmotion.learn._kernels import row_moments

    torch.manual_seed(1)
    net = nets.ScalogramCNN(3, scale_stats=True, pooling="mean,max,std")
    net.train()
    net(torch.randn(8, 2, 6, 24, 40))
    net.eval()
    fused = nets.inference_copy(net)
    g = torch.Generator().manual_seed(2)
    lens = [20 + (i * 7) % 13 for i in range(nets._MAX_FILL_RUNS + 8)]  # 13 lengths
    xs = [torch.randn(1, 2, 6, 24, L, generator=g) for L in lens]
    padded = torch.zeros(len(lens), 2, 6, 24, max(lens))
    for i, xi in enumerate(xs):
        padded[i, ..., : lens[i]] = xi[0]
    with torch.no_grad():
        one_by_one = torch.cat([fused(xi) for xi in xs])
        # as given: 40 runs (one mask); sorted: 13 runs (one fill each)
        for order in (np.arange(len(lens)), np.argsort(lens, kind="stable")):
            sub = torch.from_numpy(order)
            got = fused(padded[sub], torch.tensor(lens)[sub])
            torch.testing.assert_close(got, one_by_one[sub], rtol=1e-5, atol=1e-5)
        moments = [row_moments(xi[0].numpy()) for xi in xs]
        stats = tuple(torch.from_numpy(np.stack([mo[q] for mo in moments])).float() for q in (0, 1))
        given = fused(padded, torch.tensor(lens), None, stats)
        torch.testing.assert_close(given, one_by_one, rtol=1e-5, atol=1e-5)
        # the channels-last copy fed channels-last input: the same function
        cl_net, cl_in = nets.channels_last_copy(fused), nets.to_channels_last(padded)
        assert cl_in.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(cl_in, padded)
        got = cl_net(cl_in, torch.tensor(lens), None, stats)
        torch.testing.assert_close(got, one_by_one, rtol=1e-5, atol=1e-5)


def test_normalize_into_is_numpys_float32_normalization_with_a_zero_tail():
    from sptmotion.learn._kernels import normalize_into

    rng = np.random.default_rng(2)
    S = rng.standard_normal((3, 2, 6, 24, 37)).astype(np.float32)
    mean = rng.standard_normal((6, 24, 1)).astype(np.float32)
    std = rng.uniform(0.5, 2.0, (6, 24, 1)).astype(np.float32)
    out = np.full((3, 2, 6, 24, 45), np.nan, dtype=np.float32)
    normalize_into(S, mean, std, out)
    np.testing.assert_array_equal(out[..., :37], (S - mean) / std)
    assert not out[..., 37:].any()
    with pytest.raises(ValueError, match="C-contiguous"):
        normalize_into(S, mean, std, out[..., :40])


def test_bucket_and_rotation_counts():
    from sptmotion.learn.estimators import bucket_length, tta_count

    for n in range(1, 3000):
        b = bucket_length(n)
        assert n <= b <= n * 9 / 8
    assert len({bucket_length(n) for n in range(20, 1001)}) < 50
    assert [tta_count(4, n) for n in (20, 30, 31, 40, 60, 100, 121, 1000)] == [
        4,
        4,
        3,
        3,
        2,
        1,
        1,
        1,
    ]
    assert tta_count(1, 20) == 1
    assert [tta_count(4, n, 200) for n in (50, 66, 100, 101)] == [4, 3, 2, 1]


def test_tta_point_budget_is_a_parameter(small_data, tmp_path):
    """``tta_points`` sets the rotations per track length (30-point tracks: four by default,
    one with a budget of 30 points, the same numbers as test_rotations=1), is refused below
    1 and is kept by the model file."""
    from sptmotion.learn.estimators import load_estimator

    X, a, _ = small_data
    reg = AlphaRegressor("wavelet", random_state=0, **FAST).fit(X, a)
    four = reg.predict(X)
    one = reg.set_params(tta_points=30).predict(X)
    assert not np.allclose(one, four)
    plain = reg.set_params(tta_points=None, test_rotations=1).predict(X)
    np.testing.assert_array_equal(one, plain)
    reg.set_params(test_rotations=4, tta_points=30).save(tmp_path / "m.sptm")
    loaded = load_estimator(tmp_path / "m.sptm")
    assert loaded.tta_points == 30
    np.testing.assert_array_equal(loaded.predict(X), one)
    with pytest.raises(ValueError, match="tta_points"):
        AlphaRegressor(tta_points=0, **FAST).fit(X, a)


def test_mixed_lengths_predict_as_one_by_one_and_jointly(small_data):
    """A track's prediction does not depend on the lengths of the other tracks (buckets,
    padding, rotations), and predict_tracks gives both models' numbers in one pass."""
    from sptmotion.learn import predict_tracks

    X, a, m = small_data
    rng = np.random.default_rng(3)
    reg = AlphaRegressor("wavelet", random_state=0, **FAST).fit(X, a)
    clf = ModelClassifier("wavelet", random_state=0, **FAST).fit(X, m)
    lengths = [20, 23, 29, 41, 64, 65, 130]
    tracks = [np.cumsum(rng.standard_normal((L, 2)), axis=0) for L in lengths]
    alpha, std = reg.predict(tracks, return_std=True)
    proba = clf.predict_proba(tracks)
    for i, t in enumerate(tracks):
        a1, s1 = reg.predict(t[None], return_std=True)
        np.testing.assert_allclose([a1[0], s1[0]], [alpha[i], std[i]], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(clf.predict_proba(t[None])[0], proba[i], rtol=1e-5, atol=1e-6)
    ja, js, jp = predict_tracks(reg, clf, tracks)
    np.testing.assert_allclose(ja, alpha, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(js, std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jp, proba, rtol=1e-5, atol=1e-6)


def test_dense_gelu_on_channels_last_is_the_contiguous_kernel():
    """DenseGELU gives a channels-last tensor the values of the contiguous GELU kernel,
    keeps its layout, and leaves other tensors to nn.GELU."""
    import torch

    from sptmotion.learn.nets import DenseGELU

    h = torch.randn(3, 12, 24, 37, generator=torch.Generator().manual_seed(0))
    cl = h.contiguous(memory_format=torch.channels_last)
    out = DenseGELU()(cl)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, torch.nn.functional.gelu(h))
    for other in (h, h[..., ::2], h[0]):
        assert torch.equal(DenseGELU()(other), torch.nn.GELU()(other))


def test_inference_copy_overwrites_only_its_own_activations():
    """The inference copy's GELUs run in place where they are a fresh tensor's only reader:
    the same outputs bit for bit as out-of-place GELUs, in both layouts, the input left
    alone; with gradients on nothing is overwritten."""
    import torch

    from sptmotion.learn import nets

    net = nets.ScalogramCNN(n_out=2, scale_stats=True)
    net.eval()
    fast = nets.inference_copy(net)
    gelus = [m for m in fast.modules() if isinstance(m, torch.nn.GELU)]
    assert gelus and all(isinstance(m, nets.DenseGELU) and m.inplace for m in gelus)
    plain = nets.inference_copy(net)
    for module in plain.modules():
        if isinstance(module, torch.nn.Sequential):
            for i, layer in enumerate(module):
                if isinstance(layer, nets.DenseGELU):
                    module[i] = torch.nn.GELU()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 2, 6, 24, 80, generator=g)
    lengths = torch.tensor([80, 41, 80, 23, 66])
    with torch.inference_mode():
        for copy, x_in in (
            (lambda n: n, x),
            (nets.channels_last_copy, nets.to_channels_last(x)),
        ):
            keep = x_in.clone()
            out = copy(fast)(x_in, lengths)
            assert torch.equal(x_in, keep)
            assert torch.equal(out, copy(plain)(x_in, lengths))
            assert torch.equal(copy(fast)(x_in), copy(plain)(x_in))
    # a GELU first in its container may see the container's input: left out of place
    seq = nets.inference_copy(torch.nn.Sequential(torch.nn.GELU(), torch.nn.Linear(3, 3)))
    assert type(seq[0]) is torch.nn.GELU
    h = torch.randn(4, 7, generator=g)
    keep = h.clone()
    with torch.inference_mode():
        assert nets.DenseGELU(inplace=True)(h) is h and not torch.equal(h, keep)
    h = keep.clone()
    assert not torch.equal(nets.DenseGELU(inplace=True)(h), h) and torch.equal(h, keep)


def test_channels_last_batches_predict_as_the_plain_layout(small_data, monkeypatch):
    """Every bucket in channels-last layout, or none: the same predictions (float32
    rounding), on lengths below and above the default switch."""
    from sptmotion.learn import estimators, predict_tracks

    X, a, m = small_data
    rng = np.random.default_rng(4)
    reg = AlphaRegressor("wavelet", random_state=0, **FAST).fit(X, a)
    clf = ModelClassifier("wavelet", random_state=0, **FAST).fit(X, m)
    tracks = [np.cumsum(rng.standard_normal((L, 2)), axis=0) for L in (20, 37, 64, 90, 90, 301)]
    outs = []
    for points in (1, 10**9):
        monkeypatch.setattr(estimators, "CHANNELS_LAST_POINTS", points)
        outs.append(predict_tracks(reg, clf, tracks))
    for cl, plain in zip(*outs, strict=True):
        np.testing.assert_allclose(cl, plain, rtol=1e-5, atol=1e-6)


def test_window_groups_cut_long_tracks_into_equal_consecutive_windows():
    from sptmotion.learn.estimators import check_tracks, window_groups

    rng = np.random.default_rng(0)
    tracks = [rng.standard_normal((L, 2)) for L in (30, 61, 40, 100, 61)]
    windows, owner = window_groups(check_tracks(tracks)[0], 40)
    seen = {i: [] for i in range(len(tracks))}
    for w, (idx, arr) in windows.items():
        assert arr.shape[1] == w and 20 <= w <= 40
        for j, a in zip(idx, arr, strict=True):
            seen[int(owner[j])].append(a)
    assert sorted(owner.tolist()) == [0, 1, 1, 2, 3, 3, 3, 4, 4]
    for i, t in enumerate(tracks):
        joined = np.concatenate(seen[i])
        k = len(seen[i])
        assert k == -(-len(t) // 40)
        # consecutive windows from the start; only the last len % k points are left out
        np.testing.assert_array_equal(joined, t[: len(joined)])
        assert len(t) - len(joined) < k


def test_classifier_reads_long_tracks_in_windows(small_data, tmp_path):
    """With ``window_points``, a longer track's probabilities are the normalized geometric
    mean of its windows' (the same in predict_proba and predict_tracks, the regressor
    unchanged); shorter tracks are as without; the setting round-trips, is refused below
    40 and on the regressor."""
    from scipy.special import softmax

    from sptmotion.learn import predict_tracks
    from sptmotion.learn.estimators import load_estimator

    X, a, m = small_data
    reg = AlphaRegressor("wavelet", random_state=0, **FAST).fit(X, a)
    clf = ModelClassifier("wavelet", random_state=0, **FAST).fit(X, m)
    rng = np.random.default_rng(4)
    tracks = [np.cumsum(rng.standard_normal((L, 2)), axis=0) for L in (25, 50, 51, 120, 90)]
    whole = clf.predict_proba(tracks)
    proba = clf.set_params(window_points=50).predict_proba(tracks)
    np.testing.assert_allclose(proba[:2], whole[:2], rtol=1e-5, atol=1e-6)
    clf.set_params(window_points=None)
    for i, t in enumerate(tracks[2:], start=2):
        k = -(-len(t) // 50)
        w = len(t) // k
        p = clf.predict_proba([t[j * w : (j + 1) * w] for j in range(k)])
        expect = softmax(np.log(p).mean(axis=0))
        np.testing.assert_allclose(proba[i], expect, rtol=1e-5, atol=1e-6)
        assert not np.allclose(proba[i], whole[i], atol=1e-4)
    clf.set_params(window_points=50)
    ja, js, jp = predict_tracks(reg, clf, tracks)
    ra, rs = reg.predict(tracks, return_std=True)
    np.testing.assert_allclose(jp, proba, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.c_[ja, js], np.c_[ra, rs], rtol=1e-5, atol=1e-6)
    clf.save(tmp_path / "c.sptm")
    loaded = load_estimator(tmp_path / "c.sptm")
    assert loaded.window_points == 50
    np.testing.assert_array_equal(loaded.predict_proba(tracks), proba)
    with pytest.raises(ValueError, match="window_points"):
        clf.set_params(window_points=39).predict_proba(tracks)
    with pytest.raises(ValueError, match="classifier"):
        reg.set_params(window_points=50).predict(tracks)


def test_length_calibration_of_the_intervals(small_data, tmp_path):
    """calibrate_lengths: per length band, the factor that makes the held-out 95 % intervals
    cover 95 %, interpolated in log length; the same in predict and predict_tracks; kept by
    the model file; a refit drops it; too few tracks are refused."""
    from sptmotion.learn import predict_tracks
    from sptmotion.learn.estimators import Z95, load_estimator

    X, a, m = small_data
    reg = AlphaRegressor("wavelet", random_state=0, **FAST).fit(X, a)
    clf = ModelClassifier("wavelet", random_state=0, **FAST).fit(X, m)
    rng = np.random.default_rng(7)
    alphas = rng.uniform(0.3, 1.7, 80)
    lengths = np.repeat([25, 60], 40)
    tracks = [
        MODELS["fbm"](alpha=al, D=1.0).sample(1, L - 1, 2, 1.0, rng)[0][0]
        for al, L in zip(alphas, lengths, strict=True)
    ]
    mu, std = reg.predict(tracks, return_std=True)
    reg.calibrate_lengths(tracks, alphas, n_bands=2)
    cal = reg.length_scale_
    np.testing.assert_allclose(np.exp(cal["log_points"]), [25, 60])
    mu2, std2 = reg.predict(tracks, return_std=True)
    np.testing.assert_array_equal(mu2, mu)
    for L, f in zip((25, 60), cal["factor"], strict=True):
        sel = lengths == L
        np.testing.assert_allclose(std2[sel], std[sel] * f)
        z = np.abs(alphas[sel] - mu[sel]) / std2[sel]
        assert np.mean(z <= Z95 * (1 + 1e-9)) >= 0.95
    mid = reg.predict([tracks[-1][:40]], return_std=True)[1][0]
    ja, js, _ = predict_tracks(reg, clf, tracks)
    np.testing.assert_allclose(np.c_[ja, js], np.c_[mu2, std2], rtol=1e-5, atol=1e-6)
    reg.save(tmp_path / "r.sptm")
    loaded = load_estimator(tmp_path / "r.sptm")
    np.testing.assert_array_equal(loaded.predict(tracks, return_std=True)[1], std2)
    # between the knots: linear in log length
    w = (np.log(40) - np.log(25)) / (np.log(60) - np.log(25))
    loaded.length_scale_ = None
    raw = loaded.predict([tracks[-1][:40]], return_std=True)[1][0]
    np.testing.assert_allclose(mid, raw * ((1 - w) * cal["factor"][0] + w * cal["factor"][1]))
    loaded.length_scale_ = {"log_points": [1.0, 0.0], "factor": [1.0, 1.0]}
    loaded.save(tmp_path / "bad.sptm")
    with pytest.raises(ValueError, match="damaged"):
        load_estimator(tmp_path / "bad.sptm")
    floored = reg.calibrate_lengths(tracks, alphas, n_bands=2, min_factor=1.0).length_scale_
    np.testing.assert_allclose(floored["factor"], np.maximum(cal["factor"], 1.0))
    with pytest.raises(ValueError, match="min_factor"):
        reg.calibrate_lengths(tracks, alphas, n_bands=2, min_factor=-1.0)
    with pytest.raises(ValueError, match="at least 60 tracks"):
        reg.calibrate_lengths(tracks[:50], alphas[:50], n_bands=3)
    reg.fit(X, a)
    assert reg.length_scale_ is None


def test_scale_inputs_see_the_diffusivity_the_standardized_scalograms_cannot(tmp_path):
    """The paper's representation gives X and 100 X the same scalograms, so it cannot tell a
    slow from a fast Brownian particle; with scale_inputs the step scale reaches the network."""
    rng = np.random.default_rng(0)
    slow, _ = MODELS["bm"](D=1.0).sample(60, 39, 2, 1.0, rng)
    X = np.concatenate([slow, 10.0 * slow[::-1]])
    y = np.array(["slow"] * 60 + ["fast"] * 60)
    plain = ModelClassifier("wavelet", random_state=0, **FAST).fit(X, y)
    np.testing.assert_allclose(
        plain.predict_proba(slow), plain.predict_proba(10.0 * slow), atol=1e-6
    )
    aware = ModelClassifier("wavelet", random_state=0, scale_inputs=True, **FAST).fit(X, y)
    p = aware.predict_proba(np.concatenate([slow[:20], 10.0 * slow[:20]]))
    fast_col = list(aware.classes_).index("fast")
    assert p[20:, fast_col].mean() > p[:20, fast_col].mean() + 0.1
    aware.save(tmp_path / "m.sptm")
    back = load(tmp_path / "m.sptm")
    assert back.scale_inputs
    np.testing.assert_array_equal(back.predict_proba(slow[:5]), aware.predict_proba(slow[:5]))
    with pytest.raises(ValueError, match="scale_inputs"):
        AlphaRegressor("features", scale_inputs=True, **FAST).fit(X, np.ones(len(X)))


def test_measurement_inputs_reach_the_network_and_round_trip(tmp_path):
    """Identical tracks labelled by their declared localization noise: only a learner that
    reads the measurement can tell them apart, and only when it is given; per-track values
    follow their tracks through mixed lengths, the shared transform and a saved file."""
    from sptmotion.learn import check_measurement, predict_tracks

    rng = np.random.default_rng(3)
    X, _ = MODELS["bm"](D=1.0).sample(60, 39, 2, 1.0, rng)
    X = np.concatenate([X, X])
    y = np.array(["clean"] * 60 + ["noisy"] * 60)
    meas = {"sigma": np.r_[np.full(60, 0.01), np.full(60, 0.6)], "exposure_ratio": 0.5}
    opts = {**FAST, "max_epochs": 6, "scale_inputs": True, "measurement_inputs": True}
    clf = ModelClassifier("wavelet", random_state=0, **opts).fit(X, y, measurement=meas)
    noisy = list(clf.classes_).index("noisy")
    p = clf.predict_proba(X, measurement=meas)[:, noisy]
    assert p[60:].min() > p[:60].max()  # the same tracks, ordered by the declared sigma
    assert p[60:].mean() > p[:60].mean() + 0.15
    blind = clf.predict_proba(X)[:, noisy]  # unknown: the same answer for both halves
    np.testing.assert_allclose(blind[:60], blind[60:], atol=1e-6)
    # per-track values stay with their tracks: mixed lengths, joint vs one by one
    reg = AlphaRegressor("wavelet", random_state=0, **opts).fit(
        X, np.r_[np.full(60, 0.8), np.full(60, 1.2)], measurement=meas
    )
    tracks = [X[0][:25], X[70], X[5][:31], X[100][:25]]
    m4 = {"sigma": np.array([0.01, 0.6, np.nan, 0.3]), "exposure_ratio": [0.0, 1.0, 0.5, np.nan]}
    a, s, pr = predict_tracks(reg, clf, tracks, measurement=m4)
    for i, t in enumerate(tracks):
        mi = {k: np.asarray(v)[i : i + 1] for k, v in m4.items()}
        np.testing.assert_allclose(clf.predict_proba(t[None], measurement=mi)[0], pr[i], atol=1e-5)
        np.testing.assert_allclose(reg.predict(t[None], measurement=mi)[0], a[i], atol=1e-5)
    clf.save(tmp_path / "m.sptm")
    back = load(tmp_path / "m.sptm")
    assert back.measurement_inputs
    m10 = {"sigma": meas["sigma"][55:65], "exposure_ratio": 0.5}
    np.testing.assert_array_equal(
        back.predict_proba(X[55:65], measurement=m10), clf.predict_proba(X[55:65], measurement=m10)
    )
    # a learner without measurement inputs ignores them
    plain = ModelClassifier("wavelet", random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(
        plain.predict_proba(X[:4]), plain.predict_proba(X[:4], measurement={"sigma": 0.3})
    )
    with pytest.raises(ValueError, match="needs the training tracks' measurement"):
        ModelClassifier("wavelet", **opts).fit(X, y)
    with pytest.raises(ValueError, match="needs scale_inputs"):
        ModelClassifier("wavelet", measurement_inputs=True, **FAST).fit(X, y, measurement=meas)
    for bad, msg in (
        ({"sigma": -1.0}, "sigma"),
        ({"exposure_ratio": 1.5}, "exposure_ratio"),
        ({"blur": 0.5}, "unknown key"),
        ({"sigma": [0.1, 0.2]}, "2 values for 3 tracks"),
    ):
        with pytest.raises(ValueError, match=msg):
            check_measurement(bad, 3)
    assert check_measurement(None, 3) is None
    assert np.isnan(check_measurement({"sigma": 0.2}, 3)[:, 0]).all()


def test_features_intervals_survive_crossing_quantile_boosters():
    """The two LightGBM quantile boosters are trained apart and touch or cross for a few
    tracks; their widths are floored, so no track gets a near-zero interval and the
    calibration factor is not inflated by them (before: max |z| 16-27 over 1000 tracks)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.3, 1.5, 1400)
    X = np.stack([MODELS["fbm"](alpha=x, D=1.0).sample(1, 99, 2, 1.0, rng)[0][0] for x in a])
    reg = AlphaRegressor("features", random_state=0, n_threads=1).fit(X[:400], a[:400])
    mu, sd = reg.predict(X[400:], return_std=True)
    z = (mu - a[400:]) / sd
    # 1000 tracks: rms z of calibrated Gaussian errors is 1 +- ~0.05 (+ the calibration's
    # own error from 60 validation tracks, ~0.1); max |z| of 1000 normals ~3.3
    assert 0.8 < np.sqrt(np.mean(z**2)) < 1.25
    assert np.abs(z).max() < 6
    assert sd.min() >= reg.half_floor_ * reg.std_scale_ * (1 - 1e-9)


@pytest.mark.parametrize("epochs", [1, 2])
def test_cosine_steps_anneals_the_rate_by_step(monkeypatch, epochs):
    """'cosine_steps' lowers the rate at every optimizer step, from the start to ~0 at the
    last step of the last epoch; 'cosine' keeps it constant within an epoch."""
    import torch

    from sptmotion.learn._torch_train import train_net

    class Source:  # fixed random inputs, one length group per size
        def __init__(self, sizes):
            self.groups, start = {}, 0
            for L, n in enumerate(sizes, start=10):
                self.groups[L] = np.arange(start, start + n)
                start += n
            self.x = torch.randn(start, 3, generator=torch.Generator().manual_seed(0))

        def batch(self, idx, train, rng):
            return self.x[torch.as_tensor(idx)]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)
            self.config = {"n_out": 2}

        def forward(self, x):
            return self.lin(x)

    seen = {}
    step = torch.optim.AdamW.step

    def spy(self, *a, **k):
        seen.setdefault(self.key, []).append(self.param_groups[0]["lr"])
        return step(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    # 1 + 1 + 1 batches of <= 64, and a one-track batch that is not stepped (batch norm needs
    # two): 3 steps per epoch
    src = Source([40, 25, 64, 1])
    y = np.arange(130) % 2
    for schedule in ("cosine_steps", "cosine"):
        monkeypatch.setattr(torch.optim.AdamW, "key", schedule, raising=False)
        train_net(Net(), "classification", src, y, src, y, max_epochs=epochs,
                  lr_schedule=schedule, learning_rate=1e-2, rng=np.random.default_rng(0))  # fmt: skip
    by_step = np.array(seen["cosine_steps"])
    n = 3 * epochs
    assert len(by_step) == n
    expected = 1e-2 * 0.5 * (1 + np.cos(np.pi * np.arange(n) / n))
    assert np.allclose(by_step, expected)
    by_epoch = np.array(seen["cosine"]).reshape(epochs, 3)
    assert np.all(by_epoch == by_epoch[:, :1])
