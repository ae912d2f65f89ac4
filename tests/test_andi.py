"""The AnDi-1 dataset recipe ``sptmotion.datasets.andi``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sptmotion._checks import BLOCK_SIZE
from sptmotion.datasets import andi
from sptmotion.datasets.andi_recipe import (
    ALPHA_GRID,
    AndiData,
    andi_class_weights,
    andi_model_tracks,
)

RANGES = {
    "attm": (0.05, 1.0),
    "ctrw": (0.05, 1.0),
    "fbm": (0.05, 1.95),
    "lw": (1.05, 2.0),
    "sbm": (0.05, 2.0),
}


@pytest.fixture(scope="module")
def alpha_set() -> AndiData:
    return andi(20_000, 30, dim=2, task="alpha", rng=1)


@pytest.fixture(scope="module")
def model_set() -> AndiData:
    return andi(20_000, 30, dim=2, task="model", rng=2, include_bm=True)


def test_alpha_grid_and_per_model_ranges(alpha_set):
    assert np.array_equal(ALPHA_GRID, np.round(np.arange(1, 41) * 0.05, 2))
    assert np.all(np.isin(alpha_set.alpha, ALPHA_GRID))
    for name, (lo, hi) in RANGES.items():
        a = alpha_set.alpha[alpha_set.model == name]
        # 20000 tracks: every (model, alpha) class has expected count >= 60, so the extremes occur
        assert a.min() == lo and a.max() == hi, name
    assert set(np.unique(alpha_set.model)) == set(RANGES)


def test_class_balance_alpha_task(alpha_set):
    """Task 'alpha': uniform over the 40 grid points (chi-square goodness of fit)."""
    counts = np.array([(alpha_set.alpha == g).sum() for g in ALPHA_GRID])
    assert stats.chisquare(counts).pvalue > 1e-3


def test_class_balance_model_task_with_bm(model_set):
    """Task 'model' with include_bm: six equally likely models; BM has alpha = 1."""
    names, counts = np.unique(model_set.model, return_counts=True)
    assert list(names) == ["attm", "bm", "ctrw", "fbm", "lw", "sbm"]
    assert stats.chisquare(counts).pvalue > 1e-3
    assert np.all(model_set.alpha[model_set.model == "bm"] == 1.0)
    # within a model, uniform over its alpha range
    lw = model_set.alpha[model_set.model == "lw"]
    assert stats.chisquare(np.unique(lw, return_counts=True)[1]).pvalue > 1e-3


def test_andi_datasets_mix_reproduces_its_truncation():
    """mix='andi-datasets': challenge_theory_dataset's selection keeps FBM/SBM only above alpha 1
    in task 1 and cuts ATTM/CTRW at 0.70 in task 2 (its rows are ordered model-major)."""
    m, a, p = andi_class_weights("alpha", False, "andi-datasets")
    assert a[m == "fbm"].min() == 1.05 and a[m == "sbm"].min() == 1.05
    assert np.isclose(p.sum(), 1)
    per_alpha = np.array([p[a == g].sum() for g in ALPHA_GRID])
    # every exponent is capped at ceil(1.1·N/40) except 2.00, where only LW and SBM exist
    assert np.allclose(per_alpha[:-1], per_alpha[0]) and per_alpha[-1] < per_alpha[0]
    m, a, p = andi_class_weights("model", False, "andi-datasets")
    assert a[m == "attm"].max() == 0.7 and a[m == "ctrw"].max() == 0.7
    assert np.allclose([p[m == k].sum() for k in RANGES], 0.2)
    d = andi(3000, 20, task="model", rng=3, mix="andi-datasets")
    assert d.alpha[d.model == "ctrw"].max() <= 0.7


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_unit_std_increments(dim):
    """Before noise and scaling, every axis of every track has increments of std 1 (ddof 0)."""
    d = andi(3000, 50, dim=dim, rng=4, noise=False, random_scale=False)
    inc = np.diff(d.X, axis=1)
    sd = inc.std(axis=1)
    # Constant increments cannot be normalized (CTRW without a jump, LW on a single flight); they
    # are left as generated (see docs/andi_differences.md). A CTRW track has no jump in 49 steps
    # with probability 50^-alpha, on average over alpha = 0.05..1.00 about 0.26; CTRW is 1/6 of the
    # 'alpha' mix, so ~4.4% of the tracks (plus ~0.2% single-flight LW).
    constant = np.ptp(inc, axis=1) <= 1e-9 * (np.abs(inc).max(axis=1) + 1e-300)
    assert constant.mean() < 0.07
    assert np.allclose(sd[~constant], 1.0, atol=1e-10)
    assert np.all(d.noise == 0) and np.all(d.scale == 1)


def test_noise_levels_and_their_effect():
    """sigma from {0.1, 0.5, 1}, equally likely; BM increments then have variance 1 + 2·sigma²."""
    d = andi(6000, 20, rng=5)
    levels, counts = np.unique(d.noise, return_counts=True)
    assert np.allclose(levels, [0.1, 0.5, 1.0]) and stats.chisquare(counts).pvalue > 1e-3
    bm = andi_model_tracks("bm", 1.0, 6000, 200, dim=2, rng=6, random_scale=False)
    var = np.diff(bm.X, axis=1).var(axis=(1, 2))
    for s in (0.1, 0.5, 1.0):
        v = var[bm.noise == s]
        # per-track variance of 398 increments: relative SE ~ sqrt(2/398)·(1+...) ≈ 0.1, mean of
        # ~2000 tracks: SE ≈ 0.003 relative; the normalization (exactly unit clean increments)
        # and the noise-difference correlation shift the mean by O(1/L); 3% tolerance.
        assert abs(v.mean() / (1 + 2 * s**2) - 1) < 0.03, s


def test_random_scale_is_standard_normal():
    """andi-datasets multiplies the increments by a N(0, 1) factor per track."""
    d = andi(4000, 20, rng=7, noise=False)
    assert stats.kstest(d.scale, "norm").pvalue > 1e-3
    inc = np.diff(d.X, axis=1)[:, :, 0]
    sd = inc.std(axis=1)
    moving = np.ptp(inc, axis=1) > 1e-9 * (np.abs(inc).max(axis=1) + 1e-300)
    assert moving.mean() > 0.9  # see test_unit_std_increments
    assert np.allclose(sd[moving], np.abs(d.scale[moving]), rtol=1e-9)


def test_same_seed_same_data_whatever_the_chunking():
    n = 2 * BLOCK_SIZE + 300
    full = andi(n, (10, 40), dim=3, task="model", rng=8)
    parts = [
        andi(n, (10, 40), dim=3, task="model", rng=8, blocks=b) for b in [(0, 1), (1, 2), (2, 3)]
    ]
    X = [x for p in parts for x in p.X]
    assert len(X) == n == len(full.X)
    assert all(np.array_equal(a, b) for a, b in zip(X, full.X, strict=True))
    assert np.array_equal(np.concatenate([p.alpha for p in parts]), full.alpha)
    assert np.array_equal(np.concatenate([p.model for p in parts]), full.model)
    again = andi(n, (10, 40), dim=3, task="model", rng=8)
    assert all(np.array_equal(a, b) for a, b in zip(again.X, full.X, strict=True))
    other = andi(n, (10, 40), dim=3, task="model", rng=9)
    assert not np.array_equal(other.alpha, full.alpha)


def test_variable_lengths_and_table():
    d = andi(500, (10, 25), dim=2, rng=10)
    assert isinstance(d.X, list) and d.lengths.min() >= 10 and d.lengths.max() <= 25
    assert len(np.unique(d.lengths)) > 10
    assert all(np.all(x[0] == 0) for x in d.X)
    df = d.to_table()
    assert list(df.columns) == ["particle", "frame", "x", "y", "t", "model", "alpha", "noise"]
    assert len(df) == d.lengths.sum()
    first = df.groupby("particle").first()
    assert np.array_equal(first["alpha"].to_numpy(), d.alpha)
    assert np.array_equal(first["model"].to_numpy(), d.model)
    fixed = andi(30, 12, dim=1, rng=11)
    assert fixed.X.shape == (30, 12, 1)
    tab = fixed.to_table()
    assert np.array_equal(tab["t"].to_numpy(), tab["frame"].to_numpy().astype(float))


def test_andi_sbm_is_sbm_aged_by_one_step():
    """andi-datasets' SBM drops the first increment: X(k) = B(k+1) − B(1), i.e. SBM with t_age = 1:
    increment k (k = 1..T−1) has variance ∝ (k+1)^α − k^α."""
    from sptmotion.datasets.andi_recipe import _increments_andi

    inc = _increments_andi("sbm", np.full(20_000, 0.5), 30, 1, np.random.default_rng(12))[:, :, 0]
    k = np.arange(1, 30)
    theory = (k + 1) ** 0.5 - k**0.5
    # variance estimates from 20000 Gaussian samples: relative SE sqrt(2/20000) = 1%; 5% = 5 SE
    assert np.allclose(inc.var(axis=0), theory, rtol=0.05)


@pytest.mark.parametrize("n_steps", [40, 700])
@pytest.mark.parametrize("alpha", [0.3, 1.6])
def test_andi_fbm_increments_are_fgn_by_either_route(n_steps, alpha):
    """Short series come from the Cholesky factor, long ones (> CHOLESKY_MAX_STEPS) from
    Davies-Harte: both must have the unit-fGn covariance rho(k) at every lag and position."""
    from sptmotion.datasets.andi_recipe import CHOLESKY_MAX_STEPS, _increments_andi
    from sptmotion.motion.gaussian import fgn_autocovariance

    assert (n_steps > CHOLESKY_MAX_STEPS) == (n_steps == 700)
    n = 4000
    inc = _increments_andi("fbm", np.full(n, alpha), n_steps + 1, 1, np.random.default_rng(3))
    z = inc[:, :, 0]
    rho = fgn_autocovariance(alpha, 4)
    for t in (0, n_steps // 2, n_steps - 4):
        for k in range(4):
            c = np.mean(z[:, t] * z[:, t + k])
            # a product of two unit normals has variance 1 + rho(k)^2 <= 2: SE <= sqrt(2 / n);
            # 5 SE keeps the 24 checks per case from failing by chance
            assert abs(c - rho[k]) < 5 * np.sqrt(2.0 / n), (t, k, c, rho[k])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"length": (20, 10)}, "length"),
        ({"length": 2}, "length"),
        ({"dim": 4}, "dim"),
        ({"task": "segment"}, "task"),
        ({"mix": "other"}, "mix"),
        ({"rng": -1}, "rng"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"n": 10, "length": 20} | kwargs
    with pytest.raises(ValueError, match=match):
        andi(**args)


def test_benchmark_learner_variants():
    """The AnDi benchmark's 'wavelet+scale' row is the wavelet learner with scale inputs;
    other variants are refused before anything is trained."""
    from sptmotion.studies.andi import _learner, run_andi_benchmark

    assert _learner("wavelet+scale") == ("wavelet", {"scale_inputs": True})
    assert _learner("features") == ("features", {})
    for bad in ("features+scale", "wavelet+shift"):
        with pytest.raises(ValueError, match="wavelet\\+scale"):
            _learner(bad)
    with pytest.raises(ValueError, match="unknown learner"):
        run_andi_benchmark(train_sizes=(20,), n_test=20, representations=("trajectory+scale",))
