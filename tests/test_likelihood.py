"""Decomposed likelihood: each part against an independent formula, frame-local updates, headline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sptmotion import likelihood, optics
from sptmotion.motion import MODELS
from sptmotion.studies import likelihood_sweep


@pytest.fixture(scope="module")
def data():
    s = optics.preset("hendrix2025", subframes=4)
    bm = MODELS["bm"](D=0.05)
    X, _ = bm.sample(2, 0, dim=3, rng=0, times=s.fine_times(20))
    X = X + np.array([[[1.8, 2.0, 0.0]], [[2.6, 2.4, 0.05]]])
    movie, u = optics.render(X, s, rng=1, return_expected=True)
    return s, bm, X, movie, u


def test_parts_match_independent_formulas(data):
    s, bm, X, movie, u = data
    parts = likelihood.decompose(movie, X, s, motion=bm)
    # emission: Gamma log-density of every pixel (scipy) with the rendered expected photons
    ref_e = stats.gamma.logpdf(movie, a=0.95 * u / 2, scale=2 * 350 / 3.5).sum()
    assert parts.emission == pytest.approx(ref_e, rel=1e-10)
    # motion: independent Gaussian increments of variance 2 D dt per axis on the fine grid
    dt = np.diff(s.fine_times(20))
    var = 2 * 0.05 * dt[None, :, None]
    ref_m = stats.norm.logpdf(np.diff(X, axis=1), scale=np.sqrt(var)).sum()
    assert parts.motion == pytest.approx(ref_m, rel=1e-10)
    # initial: Gaussian prior centred on the ROI centre, sd (w/2, h/2, 0.5 µm)
    w = 32 * 0.133
    ref_i = stats.norm.logpdf(X[:, 0], loc=[w / 2, w / 2, 0], scale=[w / 2, w / 2, 0.5]).sum()
    assert parts.initial == pytest.approx(ref_i, rel=1e-12)
    assert parts.total == pytest.approx(parts.initial + parts.emission + parts.motion)
    assert parts.emission_share == pytest.approx(abs(ref_e) / (abs(ref_e) + abs(ref_m)))
    d = parts.to_dict()
    assert {"initial", "emission", "motion", "total", "emission_share"} <= set(d)


def test_other_motion_models(data):
    s, _, X, movie, _ = data
    for model in (
        MODELS["fbm"](alpha=0.7, D=0.05),
        MODELS["sbm"](alpha=0.7, D=0.05),
        MODELS["dbm"](D=0.05, v=0.1),
    ):
        parts = likelihood.decompose(movie, X, s, motion=model)
        ref = model.log_likelihood(X, times=s.fine_times(20)).sum()
        assert parts.motion == pytest.approx(ref, rel=1e-10)
    with pytest.raises(ValueError, match="likelihood"):
        likelihood.decompose(movie, X, s, motion=MODELS["ctrw"]())


def test_frame_local_updates_add_up(data):
    s, _, X, movie, u = data
    K = s.subframes
    parts = likelihood.decompose(movie, X, s)
    Xf = X.reshape(2, 20, K, 3)
    total = sum(likelihood.frame_loglik(movie[n], Xf[:, n], s) for n in range(20))
    assert total == pytest.approx(parts.emission, rel=1e-12)
    # a window of a frame: only its pixels
    ref = s.camera.log_pdf(movie[7, 10:20, 5:30], u[7, 10:20, 5:30]).sum()
    got = likelihood.frame_loglik(movie[7, 10:20, 5:30], Xf[:, 7], s, row0=10, col0=5)
    assert got == pytest.approx(ref, rel=1e-12)
    # the generic path (any camera) agrees with the fused Gamma kernel's definition
    pgn = s.replace(camera=optics.EMCCDPGN(offset=0.0))
    ref = pgn.camera.log_pdf(movie[3], u[3]).sum()
    assert likelihood.frame_loglik(movie[3], Xf[:, 3], pgn) == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValueError, match="window"):
        likelihood.frame_loglik(movie[3], Xf[:, 3], s, row0=5)


def test_emission_peaks_at_true_positions(data):
    # H t_E = 300 photons per frame: moving every position by one pixel (133 nm) must cost many nats
    s, _, X, movie, _ = data
    e0 = likelihood.emission_loglik(movie, X, s)
    for shift in ([0.133, 0, 0], [0, -0.133, 0], [0, 0, 0.4]):
        assert likelihood.emission_loglik(movie, X + shift, s) < e0 - 100


def test_headline_emission_dominates():
    # Hendrix, Xu & Pressé 2025: at the reference settings (50 frames of 32x32, BM) the emission
    # part is of order -1e5, the motion part of order +1e3, the emission share above 99 %.
    s = optics.preset("hendrix2025")
    bm = MODELS["bm"](D=0.05)
    X, _ = bm.sample(1, 0, dim=3, rng=3, times=s.fine_times(50))
    X += [2.128, 2.128, 0.0]
    parts = likelihood.decompose(optics.render(X, s, rng=4), X, s, motion=bm)
    assert -1e6 < parts.emission < -1e5
    assert 1e3 < parts.motion < 1e4
    assert parts.emission_share > 0.99
    # large D: increments spread over more than 1/(2 pi e) µm² per axis and step -> negative motion part
    big = MODELS["bm"](D=10.0)
    Y, _ = big.sample(1, 0, dim=3, rng=5, times=s.fine_times(50))
    Y += [2.128, 2.128, 0.0]
    parts = likelihood.decompose(
        optics.render(Y, s, rng=6, allow_outside=True), Y, s, motion=big, allow_outside=True
    )
    assert parts.motion < 0


def test_bad_input(data):
    s, bm, X, movie, _ = data
    bad = movie.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        likelihood.decompose(bad, X, s, motion=bm)
    with pytest.raises(ValueError, match="frames"):
        likelihood.decompose(movie[:5], X, s, motion=bm)
    with pytest.raises(ValueError, match="shape"):
        likelihood.decompose(movie[:, :10], X, s, motion=bm)
    neg = movie.copy()
    neg[2, 3, 4] = -1.0
    with pytest.raises(ValueError, match="impossible"):
        likelihood.decompose(neg, X, s, motion=bm)
    with pytest.raises(ValueError, match="MotionModel"):
        likelihood.decompose(movie, X, s, motion="bm")


def test_sweep_small_grid():
    df = likelihood_sweep.likelihood_sweep(
        seed=0,
        repeats=1,
        grid={"D": [0.05, 10.0]},
        other_models={"fbm": ("fbm", {"alpha": 0.5, "D": 0.05})},
        sign_map={"K": [1], "N": [2], "D": [0.001, 10.0]},
    )
    assert list(df["group"]) == ["D", "D", "model", "sign", "sign"]
    assert df.loc[0, "motion"] > 0 > df.loc[1, "motion"]
    assert (df["emission"] < 0).all()
    assert np.allclose(df["motion_r0"], df["initial"] + df["motion"])
    # K = 1, N = 2: one 33 ms step, 3 axes. Expected motion part per axis (-ln(4 pi D dt) - 1)/2:
    # +3.4 at D = 0.001, -1.2 at D = 10 (sd 0.71 per axis, 1.2 for 3); the initial prior is a
    # constant -3.6 (start at the ROI centre). So ln P(r0) + motion is about +6.6 and -7.2: both
    # signs hold at > 5 sd.
    signs = df[df["group"] == "sign"]["motion_r0"].to_numpy()
    assert signs[0] > 0 > signs[1]
    md = likelihood_sweep.sweep_markdown(df)
    assert "emission share" in md and "fbm" in md and "sign of the motion part" in md


def test_absent_emitter_frames(data):
    # NaN marks frames where an emitter is absent: it adds no photons there, and its motion part
    # is the likelihood of the frames where it is present (times measured from its first point)
    s, bm, X, movie, _ = data
    K = s.subframes
    Y = X.copy()
    Y[1, : 5 * K] = np.nan
    parts = likelihood.decompose(movie, Y, s, motion=bm)
    t = s.fine_times(20)
    ref_m = (
        bm.log_likelihood(X[:1], times=t).sum()
        + bm.log_likelihood(X[1:, 5 * K :], times=t[5 * K :] - t[5 * K]).sum()
    )
    assert parts.motion == pytest.approx(ref_m, rel=1e-12)
    u = optics.expected_photons(Y, s)
    np.testing.assert_allclose(u[:5], optics.expected_photons(X[:1, : 5 * K], s), rtol=1e-12)
    assert parts.emission == pytest.approx(s.camera.log_pdf(movie, u).sum(), rel=1e-12)
