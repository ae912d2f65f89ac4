"""Likelihood-based model selection (BIC) among BM, DBM, FBM and SBM."""

from __future__ import annotations

import numpy as np
import pytest

from sptmotion.motion import MODELS, select

DT = 0.03  # s


@pytest.mark.parametrize(
    "name, params, min_fraction",
    [
        # strongly anomalous / drifting cases: the generating model wins on (almost) every track
        ("fbm", {"alpha": 0.4, "D": 0.1}, 0.95),
        ("fbm", {"alpha": 1.6, "D": 0.1}, 0.95),
        ("sbm", {"alpha": 0.4, "D": 0.1}, 0.95),
        ("sbm", {"alpha": 1.6, "D": 0.1}, 0.95),
        # drift 2 µm/s over 3 s = 6 µm vs. diffusion sqrt(2·0.1·3) = 0.8 µm per axis
        ("dbm", {"D": 0.1, "v": (2.0, 0.0)}, 0.95),
        # the null model: BIC's ln(n) penalty makes the extra parameters rarely worth it
        ("bm", {"D": 0.1}, 0.8),
    ],
)
def test_select_picks_the_generating_model(name, params, min_fraction):
    X, _ = MODELS[name](**params).sample(100, 100, dim=2, dt=DT, rng=3)
    res = select(X, dt=DT)
    frac = np.mean(res["best"] == name)
    assert frac >= min_fraction, res["best"].value_counts().to_dict()
    p = res[[f"p_{m}" for m in ("bm", "dbm", "fbm", "sbm")]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # the posterior probability of the generating model is high on average
    assert res[f"p_{name}"].mean() > 0.7


def test_bic_definition_and_bm_always_included():
    X, _ = MODELS["fbm"](alpha=0.7, D=0.1).sample(5, 40, dim=3, dt=DT, rng=1)
    res = select(X, dt=DT, candidates=("fbm",))
    assert [c for c in res.columns if c.startswith("p_")] == ["p_bm", "p_fbm"]
    n = 40 * 3
    fit = MODELS["fbm"].fit(X, dt=DT)
    np.testing.assert_allclose(
        res["bic_fbm"], -2 * fit["log_likelihood"] + 2 * np.log(n), rtol=1e-12
    )
    assert (res["n_params_bm"] == 1).all() and (res["n_params_fbm"] == 2).all()
    w = np.exp(
        -0.5
        * (
            res[["bic_bm", "bic_fbm"]].to_numpy()
            - res[["bic_bm", "bic_fbm"]].min(axis=1).to_numpy()[:, None]
        )
    )
    np.testing.assert_allclose(
        res[["p_bm", "p_fbm"]].to_numpy(), w / w.sum(axis=1, keepdims=True), rtol=1e-10
    )
    # DBM has 1 + dim parameters
    assert (select(X, dt=DT, candidates=("dbm",))["n_params_dbm"] == 4).all()


def test_select_bad_input():
    X, _ = MODELS["bm"](D=0.1).sample(3, 20, dim=2, dt=DT, rng=0)
    with pytest.raises(ValueError, match="unknown motion model"):
        select(X, DT, candidates=("bm", "levy"))
    with pytest.raises(ValueError, match="no tractable likelihood"):
        select(X, DT, candidates=("ctrw",))
    Y = X.copy()
    Y[2, 5, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        select(Y, DT)
    with pytest.raises(ValueError, match="at least 3 points"):
        select(X[:, :2], DT)
