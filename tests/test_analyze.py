"""End-to-end analysis of track tables and movies (``sptmotion analyze``), and bad inputs."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sptmotion.analysis as pl
from sptmotion.analysis import analyze_table, is_complete, load_models
from sptmotion.analysis import write as analysis_write
from sptmotion.cli import main
from sptmotion.datasets import tracks_to_table, write_table
from sptmotion.motion import MODELS

DT = 0.03  # s per frame


@pytest.fixture(scope="module")
def models():
    return load_models()


def _table(seed: int, n: int = 4, length: int = 100) -> pd.DataFrame:
    """n BM tracks (alpha = 1) followed by n subdiffusive FBM tracks (alpha = 0.4), in µm."""
    rng = np.random.default_rng(seed)
    Xb, _ = MODELS["bm"](D=0.1).sample(n, length - 1, dim=2, dt=DT, rng=rng)
    Xf, _ = MODELS["fbm"](alpha=0.4, D=0.1).sample(n, length - 1, dim=2, dt=DT, rng=rng)
    return tracks_to_table(np.concatenate([Xb, Xf]), labels={"alpha": [1.0] * n + [0.4] * n})


def test_table_end_to_end_cli(tmp_path: Path, models):
    """A track table goes through the CLI to a complete report folder with one row per track.

    Physics checked: the FBM maximum-likelihood alpha separates the BM tracks (alpha = 1) from
    the subdiffusive FBM tracks (alpha = 0.4). Its standard error for 100 points in 2D is
    about 0.06-0.08, so the group means (4 tracks each) differ by 0.6 with an error of
    ~0.05: requiring a difference > 0.3 has negligible chance of failing by noise. The learned
    regressor (trained on AnDi-style data with noise) must order the groups the same way.
    """
    csv = tmp_path / "tracks.csv"
    write_table(_table(1), csv)
    out = tmp_path / "report"
    assert main(["analyze", str(csv), "--dt", str(DT), "-o", str(out)]) == 0
    assert is_complete(out)
    res = pd.read_csv(out / "results.csv")
    assert len(res) == 8 and list(res["particle"]) == list(range(8))
    classes = models.classes
    assert "bm" in classes
    P = res[[f"p_{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-6)
    mle_p = res[[c for c in res.columns if c.startswith("mle_p_")]].to_numpy()
    np.testing.assert_allclose(mle_p.sum(axis=1), 1.0, atol=1e-6)
    assert res["mle_alpha"][:4].mean() - res["mle_alpha"][4:].mean() > 0.3
    assert res["alpha"][:4].mean() > res["alpha"][4:].mean()
    assert np.all(res["alpha_lo"] < res["alpha"]) and np.all(res["alpha"] < res["alpha_hi"])
    assert set(res["verdict"]) <= set(classes) | {"dbm", "inconclusive"}
    assert set(res["verdict_source"]) <= {"likelihood", "learned", "none"}
    learned = res["verdict_source"] == "learned"
    assert set(res.loc[learned, "verdict"]) <= {"attm", "ctrw", "lw"}
    lik = res["verdict_source"] == "likelihood"
    assert (res.loc[lik, "verdict"] == res.loc[lik, "mle_best"]).all()
    assert (res.loc[lik, "gaussian_p"] >= 0.3).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["dt_s"] == DT
    assert summary["seeds"]["seed"] == 0
    assert {"sptmotion", "numpy", "torch"} <= set(summary["versions"])
    assert set(summary["models"]) == {"alpha", "model"}


def test_tta_points_reach_the_learned_models_and_the_summary(tmp_path: Path, models):
    """`analyze --tta-points 200` reads the 100-point tracks in two rotations: the learned
    columns are those of the estimators with that budget, the likelihood's are untouched, and
    summary.json records the budget (120 by default)."""
    from sptmotion.analysis.pretrained import load_models
    from sptmotion.learn import predict_tracks

    csv = tmp_path / "tracks.csv"
    table = _table(3, n=2)
    write_table(table, csv)
    runs = {}
    for name, extra in (("default", []), ("two", ["--tta-points", "200"])):
        out = tmp_path / name
        assert main(["analyze", str(csv), "--dt", str(DT), "-o", str(out), *extra]) == 0
        summary = json.loads((out / "summary.json").read_text())
        runs[name] = (pd.read_csv(out / "results.csv"), summary["parameters"]["tta_points"])
    (a, ta), (b, tb) = runs["default"], runs["two"]
    assert (ta, tb) == (120, 200)
    mle = [c for c in a.columns if c.startswith("mle_")]
    pd.testing.assert_frame_equal(a[mle], b[mle])
    assert not np.allclose(a["alpha"], b["alpha"])
    lm = load_models()
    lm.regressor.tta_points = lm.classifier.tta_points = 200
    X = [g[["x", "y"]].to_numpy() for _, g in table.groupby("particle")]
    alpha, _, _ = predict_tracks(lm.regressor, lm.classifier, [x - x[:1] for x in X])
    np.testing.assert_allclose(b["alpha"], alpha, rtol=1e-5, atol=1e-6)
    assert main(["analyze", str(csv), "--dt", str(DT), "-o", str(tmp_path / "z"),
                 "--tta-points", "0"]) == 2  # fmt: skip
    assert not (tmp_path / "z").exists()


def test_pixel_units_are_converted(tmp_path: Path, models):
    """Positions in pixels with --pixel-size give the same analysis as positions in µm.

    alpha is scale invariant (the wavelet representation standardizes each coordinate, the FBM
    likelihood's alpha does not depend on the length unit), while the MLE of Dα scales as
    pixel_size² — both hold to floating-point precision.
    """
    px = 0.133
    df = _table(2, n=2, length=60)
    res_um = analyze_table(df, dt=DT, models=models)
    dfp = df.copy()
    dfp[["x", "y"]] /= px
    res_px = analyze_table(dfp, dt=DT, pixel_size=px, models=models)
    np.testing.assert_allclose(res_px["mle_alpha"], res_um["mle_alpha"], rtol=1e-6)
    np.testing.assert_allclose(res_px["alpha"], res_um["alpha"], rtol=1e-4, atol=1e-5)
    res_raw = analyze_table(dfp, dt=DT, models=models)
    np.testing.assert_allclose(res_raw["mle_D"] * px**2, res_um["mle_D"], rtol=1e-4)


def test_frame_gaps_are_interpolated(models):
    """A track with skipped frames is put back on the regular frame grid (linear interpolation):
    removing interior points of a straight uniform-speed track and filling them restores the
    track exactly, so the analysis equals that of the complete track."""
    t = np.arange(40)
    X = np.stack([0.01 * t, -0.02 * t], axis=1)[None]
    full = tracks_to_table(X)
    holey = full[~full["frame"].isin([5, 6, 17])]
    res_full = analyze_table(full, dt=DT, models=models)
    res_holey = analyze_table(holey, dt=DT, models=models)
    assert res_holey["n_points"].iloc[0] == 40 and res_holey["n_interpolated"].iloc[0] == 3
    np.testing.assert_allclose(res_holey["alpha"], res_full["alpha"], rtol=1e-6)


def test_posterior_aware_spread(models):
    """Posterior sample tracks widen the alpha interval by the spread they add.

    The samples are the mean track plus independent Gaussian localization noise (30 nm). By the
    law of total variance the posterior-aware alpha is the mean of the regressor's predictions
    over the samples and its variance the mean predictive variance plus the variance across
    samples; checked against the regressor run directly on every sample (all taken: 40 for the
    two tracks of 60 points, 25 for the one of 45, which run through the models in the same
    call), and the averaged model probabilities still sum to 1.
    """
    rng = np.random.default_rng(3)
    X, _ = MODELS["bm"](D=0.05).sample(3, 59, dim=2, dt=DT, rng=rng)
    tracks = [X[0], X[1], X[2][:45]]
    counts = (40, 40, 25)
    samples = [x + 0.03 * rng.standard_normal((k, *x.shape)) for x, k in zip(tracks, counts, strict=True)]
    ts = pl.TrackSet(tracks=tracks, particles=np.arange(3), dt=DT, source="bayes", samples=samples)
    res = pl.characterize(ts, models, max_samples=30, rng=0)
    assert list(res["n_posterior_samples"]) == [30, 30, 25]
    assert np.all(res["alpha_post_spread"] > 0)
    every = pl.characterize(ts, models, max_samples=40, rng=0)
    assert list(every["n_posterior_samples"]) == list(counts)
    for i, smp in enumerate(samples):
        mu, sd = models.regressor.predict(smp - smp[:, :1], return_std=True)
        assert every["alpha_post"].iloc[i] == pytest.approx(mu.mean(), rel=1e-5)
        assert every["alpha_post_spread"].iloc[i] == pytest.approx(mu.std(ddof=1), rel=1e-4)
        var = np.mean(sd**2) + mu.var(ddof=1)
        assert every["alpha_post_std"].iloc[i] ** 2 == pytest.approx(var, rel=1e-4)
    P = res[[f"p_{c}_post" for c in models.classes]].to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-6)
    # the sample choice is seeded: same seed, same numbers
    res2 = pl.characterize(ts, models, max_samples=30, rng=0)
    pd.testing.assert_frame_equal(res, res2)


# -- bad inputs -------------------------------------------------------------------------------
def _err(capsys) -> str:
    return capsys.readouterr().err


def test_empty_table_message(tmp_path: Path, capsys):
    csv = tmp_path / "empty.csv"
    csv.write_text("particle,frame,x,y\n")
    assert main(["analyze", str(csv), "--dt", "0.03", "-o", str(tmp_path / "o")]) == 1
    assert "is empty" in _err(capsys)
    assert not (tmp_path / "o").exists()


def test_short_track_message(tmp_path: Path, capsys, models):
    """A table whose tracks are all shorter than the models' minimum length is refused; in a
    mixed table the short track gets a row with the reason and the others are analyzed."""
    short = _table(4, n=1, length=10)
    csv = tmp_path / "short.csv"
    write_table(short, csv)
    assert main(["analyze", str(csv), "--dt", "0.03", "-o", str(tmp_path / "o")]) == 1
    err = _err(capsys)
    assert f"at least {models.min_length}" in err and "10 points" in err
    mixed = pd.concat(
        [short, _table(5, n=1, length=40).assign(particle=lambda d: d["particle"] + 10)]
    )
    res = analyze_table(mixed, dt=DT, models=models)
    # _table(n=1) holds one BM and one FBM track: two short tracks, then two usable ones
    assert all(e.startswith("track has 10 points") for e in res["error"].iloc[:2])
    assert (res["error"].iloc[2:] == "").all()
    assert np.isnan(res["alpha"].iloc[:2]).all() and np.isfinite(res["alpha"].iloc[2:]).all()


def test_missing_dt_and_unknown_suffix(tmp_path: Path, capsys):
    csv = tmp_path / "t.csv"
    write_table(_table(6, n=1, length=30), csv)
    assert main(["analyze", str(csv), "-o", str(tmp_path / "o")]) == 1
    assert "--dt" in _err(capsys)
    other = tmp_path / "t.txt"
    other.write_text("hello")
    assert main(["analyze", str(other), "-o", str(tmp_path / "o")]) == 1
    assert "unknown input type" in _err(capsys)


def test_movie_without_sidecar_message(tmp_path: Path, capsys):
    """A TIFF without its JSON sidecar and without camera/optics flags is refused clearly."""
    import tifffile

    tif = tmp_path / "bare.tif"
    tifffile.imwrite(tif, np.ones((5, 8, 8), dtype=np.float32))
    assert main(["analyze", str(tif), "-o", str(tmp_path / "o")]) == 1
    err = _err(capsys)
    assert "sidecar" in err and "--preset" in err
    assert not (tmp_path / "o").exists()


def test_failure_leaves_no_partial_output(tmp_path: Path, monkeypatch, models):
    """If writing the outputs fails half-way (results.csv already written), no output folder
    (and no temp folder) remains, and an existing finished report is left untouched."""
    df = _table(7, n=1, length=40)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    out = tmp_path / "o"
    monkeypatch.setattr(analysis_write, "write_json", boom)  # summary.json comes after results.csv
    with pytest.raises(RuntimeError, match="disk full"):
        analyze_table(df, out, dt=DT, models=models, figures=False)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    analyze_table(df, out, dt=DT, models=models, figures=False)
    before = (out / "results.csv").read_text()
    monkeypatch.setattr(analysis_write, "write_json", boom)
    with pytest.raises(RuntimeError):
        analyze_table(_table(8, n=1, length=40), out, dt=DT, models=models, figures=False)
    assert (out / "results.csv").read_text() == before and is_complete(out)
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_refuses_foreign_output_folder(tmp_path: Path, models):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a finished sptmotion analysis"):
        analyze_table(_table(9, n=1, length=30), out, dt=DT, models=models)
    assert (out / "thesis.tex").read_text() == "precious"


# -- bundled models ---------------------------------------------------------------------------
def test_bundled_models_are_small_and_pickle_free(tmp_path: Path, models):
    """The shipped models are small .npz archives read with allow_pickle=False, include BM as a
    class, and --model FOLDER replaces them."""
    import shutil

    from sptmotion.analysis import bundled_model_paths

    for path in bundled_model_paths():
        assert path.stat().st_size < 5e6
        with np.load(path, allow_pickle=False) as z:  # raises if anything needs unpickling
            assert "__meta__" in z.files
    assert "bm" in models.classes and models.min_length >= 20
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(bundled_model_paths()[1], folder / "model.sptm")
    mine = load_models(folder)
    assert mine.sources["model"]["path"] == str(folder / "model.sptm")
    assert not mine.sources["model"]["bundled"] and mine.sources["alpha"]["bundled"]
    with pytest.raises(ValueError, match="neither alpha.sptm nor model.sptm"):
        load_models(tmp_path)


# -- movies: the demo pipeline with a tiny MCMC ----------------------------------------------
@pytest.mark.slow
def test_demo_seed_changes_numbers_consistently(tmp_path: Path, models):
    """The demo renders, tracks and analyzes a movie; its numbers are computed, not canned.

    Two seeds give two different movies, hence different numbers, which must agree with the
    physics of each movie: both Bayesian tracks follow their own true particle (mean lateral
    distance < 0.1 µm, i.e. < 1 pixel, against a particle separation > 1 µm, even with a
    short 60-iteration MCMC since the spots have ~300 photons over a ~50-photon background per
    pixel), the emission part dominates the log-likelihood (share > 99%, Hendrix et al. 2025:
    |ln P(data|r)| ~ 1e5 vs |ln P(r|motion)| ~ 1e2-1e3), and the emission log-likelihood per
    pixel, an average over 24*32*32 pixels, differs by less than 1% between the seeds.
    """
    out = {}
    for seed in (1, 2):
        res = pl.run_demo(
            tmp_path / f"demo{seed}",
            seed=seed,
            n_frames=24,
            iterations=60,
            chains=2,
            models=models,
            verbose=False,
        )
        rep = tmp_path / f"demo{seed}" / "report"
        assert is_complete(rep) and (tmp_path / f"demo{seed}" / "movie.json").is_file()
        html = (rep / "report.html").read_text()
        for fig in (
            "movie_overlay",
            "track_bands_0",
            "track_bands_1",
            "loglik_bars",
            "alpha_probabilities",
        ):
            assert f"figures/{fig}.png" in html and (rep / "figures" / f"{fig}.png").is_file()
        bayes = res[res["tracker"] == "bayes"]
        assert len(bayes) == 2 and sorted(bayes["true_particle"]) == [0, 1]
        assert (bayes["true_distance_um"] < 0.1).all()
        assert set(bayes["true_model"]) == {"fbm", "bm"}
        assert np.isfinite(bayes["alpha_post"]).all() and (bayes["alpha_post_spread"] > 0).all()
        summary = json.loads((rep / "summary.json").read_text())
        assert summary["seeds"]["seed"] == seed
        dec = summary["decomposition_at_posterior_mean"]
        assert dec["emission_share"] > 0.99
        out[seed] = (res, dec["emission"] / (24 * 32 * 32))
    (r1, e1), (r2, e2) = out[1], out[2]
    assert not np.allclose(r1["alpha"].to_numpy()[:2], r2["alpha"].to_numpy()[:2])
    assert e1 != e2 and abs(e1 - e2) < 0.01 * abs(e1)


def test_movie_cli_with_and_without_sidecar(tmp_path: Path, models):
    """A tiny movie (20 frames, one BM emitter) goes through `sptmotion analyze` with its
    sidecar, and without it when --preset is given; the flags reach the summary."""
    from sptmotion import optics

    setup = optics.preset("hendrix2025", subframes=2, rows=16, cols=16)
    X, _ = MODELS["bm"](D=0.05).sample(1, 0, dim=3, rng=0, times=setup.fine_times(20))
    X[..., 2] *= 0.2
    X += [1.06, 1.06, 0.0]
    tif = tmp_path / "m.tif"
    optics.write_movie(tif, optics.render(X, setup, rng=1), setup)
    args = ["--iterations", "30", "--chains", "2", "--no-modular", "--seed", "4", "--emitters", "1"]
    assert main(["analyze", str(tif), "-o", str(tmp_path / "a"), *args]) == 0
    res = pd.read_csv(tmp_path / "a" / "results.csv")
    assert list(res["tracker"]) == ["bayes"] and np.isfinite(res["alpha_post"]).all()
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert s["parameters"]["iterations"] == 30 and s["seeds"]["seed"] == 4
    assert s["parameters"]["tta_points"] == 120  # the learned models' default budget
    assert s["parameters"]["window_points"] == 150  # the bundled classifier's windows
    # the tracks' positions come with the report: posterior means with their credible bounds
    tracks = pd.read_csv(tmp_path / "a" / "tracks.csv")
    assert {"tracker", "particle", "frame", "x", "y", "x_lo", "x_hi"} <= set(tracks.columns)
    bayes = tracks[tracks["tracker"] == "bayes"]
    assert len(bayes) == X.shape[1] // setup.subframes and (bayes["x_lo"] <= bayes["x"]).all()
    assert s["setup"]["rows"] == 16 and s["input"]["parameters_from"] == "sidecar"
    (tmp_path / "m.json").unlink()
    extra = ["--preset", "hendrix2025", "--gain", "300"]
    assert main(["analyze", str(tif), "-o", str(tmp_path / "b"), *args, *extra]) == 0
    s = json.loads((tmp_path / "b" / "summary.json").read_text())
    # the TIFF carries the pixel size and frame interval it was rendered with: they are used
    assert (
        s["input"]["parameters_from"]
        == "preset hendrix2025 with the TIFF's frame_period and pixel_size"
    )
    assert s["setup"]["pixel_size"] == setup.pixel_size
    assert s["setup"]["camera"]["gain"] == 300 and s["setup"]["cols"] == 16


@pytest.mark.slow
def test_demo_particles_get_their_model_and_an_interval_holding_alpha(models):
    """The demo's answers come from the pixels through the measurement model.

    Each demo particle's localizations (per-frame PSF fits, no motion prior, linked without
    jumps between particles) with their Fisher variances (times the factor calibrated on the
    movie by simulating its spots) and the 30 ms exposure as motion blur give its model
    (``mle_best``, BM null at 5%) and a 95% alpha interval.
    The issue's criterion: the first five seeds, as they come, give both particles the right
    model and an interval holding the truth (10 of 10). Seeds 0-9 give 20/20 right and 19/20
    covered; a calibrated method (95% coverage, the BM null at 5%) passes 10 of 10 on roughly
    a third of fresh five-seed sets, so a failure after a change that moves the numbers calls
    for the 20-seed check, not new seeds. A short chain suffices: the chain only names the
    linked tracks.
    """
    right, covered = 0, 0
    for seed in range(5):
        movie, setup, truth, specs = pl.demo_movie(seed)
        res = pl.analyze_movie(
            movie,
            None,
            setup=setup,
            models=models,
            seed=seed,
            iterations=100,
            n_emitters=2,
            truth=truth,
            truth_labels=[{"model": sp["model"], "alpha": sp["alpha"]} for sp in specs],
        )
        bayes = res[res["tracker"] == "bayes"]
        assert sorted(bayes["true_model"]) == ["bm", "fbm"]
        for r in bayes.itertuples():
            n_loc = int(r.mle_source.split()[1])
            assert r.mle_source.startswith("localizations: ") and n_loc >= 90
            right += r.mle_best == r.true_model
            covered += r.mle_alpha_lo <= r.true_alpha <= r.mle_alpha_hi
    assert right == 10 and covered == 10, (right, covered)


def test_emitter_localizations_never_join_two_particles():
    """An identity swap of the emitters' tracks (as a tracker can make) must not turn into a jump.

    Two particles 1 µm apart take 30 nm steps; each frame has their two localizations (a few
    frames lack one). The reference tracks swap the particles halfway: the linked localization
    tracks still follow one particle each, missing frames stay missing, and each is labelled
    with the emitter that follows it most of the time.
    """
    rng = np.random.default_rng(3)
    n = 60
    truth = np.stack([np.cumsum(rng.normal(0, 0.03, (n, 2)), axis=0) + (x0, 2.0) for x0 in (1, 2)])
    rows = []
    for f in range(n):
        for p in range(2):
            if (f, p) in {(10, 0), (11, 0), (40, 1)}:
                continue
            x, y = truth[p, f] + rng.normal(0, 0.01, 2)
            rows.append(
                {
                    "frame": f,
                    "x": x,
                    "y": y,
                    "x_lo": x - 0.02,
                    "x_hi": x + 0.02,
                    "y_lo": y - 0.02,
                    "y_hi": y + 0.02,
                }
            )
    table = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # order must not matter
    swapped = truth.copy()
    swapped[:, 35:] = truth[::-1, 35:]  # emitter 0 follows particle 0, then particle 1
    ts = pl.emitter_localizations(table, list(swapped), 0.033, exposure=0.03)
    assert sorted(ts.particles) == [0, 1]
    for k, m in enumerate(ts.particles):
        f = ts.observed_frames[k]
        own = int(np.argmin([np.mean(np.hypot(*(ts.observed[k] - truth[p, f]).T)) for p in (0, 1)]))
        assert np.max(np.hypot(*(ts.observed[k] - truth[own, f]).T)) < 0.05
        assert own == m  # the emitter that followed it over the first 35 of 60 frames
        missing = {0: {10, 11}, 1: {40}}[own]
        assert set(range(n)) - set(f.tolist()) == missing


def test_calibrated_trackset_fixes_the_scaled_variances(models):
    """A calibration factor multiplies the tracker's variances, which the fits then take as
    they are: the reported sigma is the typical calibrated one with a zero-width interval."""
    rng = np.random.default_rng(4)
    X, _ = MODELS["bm"](D=0.05).sample(2, 60, dim=2, dt=DT, rng=rng)
    var = [np.full(X.shape[1], 0.02**2), None]
    ts = pl.TrackSet(tracks=list(X), particles=np.arange(2), dt=DT, point_var=var)
    cal = ts.calibrated(1.44)
    assert cal.sigma_loc == "tracker" and ts.sigma_loc == "auto" and cal.point_var[1] is None
    np.testing.assert_allclose(cal.point_var[0], 1.44 * var[0])
    one = pl.TrackSet(tracks=[X[0]], particles=np.arange(1), dt=DT, point_var=[var[0]])
    res = pl.characterize(one.calibrated(1.44), models)
    assert res["mle_sigma"].iloc[0] == pytest.approx(0.024)
    assert res["mle_sigma_lo"].iloc[0] == res["mle_sigma_hi"].iloc[0] == res["mle_sigma"].iloc[0]
    plain = pl.TrackSet(tracks=list(X), particles=np.arange(2), dt=DT)
    assert plain.calibrated(2.0) is plain
    with pytest.raises(ValueError, match="variance factor"):
        ts.calibrated(-1.0)


def test_learned_models_are_told_what_the_likelihood_assumes():
    """Exposure ratio for every track; sigma: the given µm, the tracker's (calibrated) rms
    per track, or unknown when the fits estimate it."""
    from sptmotion.analysis.characterize import learned_measurement

    X = [np.zeros((30, 2)), np.zeros((30, 2))]
    var = [np.full(30, 0.02**2), None]
    ts = pl.TrackSet(tracks=X, particles=np.arange(2), dt=0.05, exposure=0.04, point_var=var)
    m = learned_measurement(ts, [1, 0])
    np.testing.assert_allclose(m["exposure_ratio"], [0.8, 0.8])
    assert np.isnan(m["sigma"]).all()  # "auto": estimated per track by the fits
    m = learned_measurement(ts.calibrated(2.25), [0, 1])
    assert m["sigma"][0] == pytest.approx(0.03) and np.isnan(m["sigma"][1])
    fixed = pl.TrackSet(tracks=X, particles=np.arange(2), dt=0.05, sigma_loc=0.025)
    m = learned_measurement(fixed, [0, 1])
    np.testing.assert_allclose(m["sigma"], 0.025)
    np.testing.assert_allclose(m["exposure_ratio"], 0.0)


def test_learned_alpha_intervals_stay_within_the_exponents_that_exist():
    """alpha +- 1.96 std cut to [0, 2], never past the point estimate."""
    from sptmotion.analysis.characterize import _alpha_interval

    lo, hi = _alpha_interval(np.array([0.2, 1.0, 1.9, 2.1, -0.1]), np.array([0.5, 0.1, 0.5, 0.5, 0.5]))
    np.testing.assert_allclose(lo, [0.0, 1.0 - 0.196, 1.9 - 0.98, 2.1 - 0.98, -0.1], atol=1e-3)
    np.testing.assert_allclose(hi, [1.18, 1.0 + 0.196, 2.0, 2.1, 0.88], atol=1e-3)


def test_fits_beside_the_networks_give_the_same_table(models, monkeypatch):
    """With two or more cores the likelihood fits run in their own thread while the networks
    run (each on its share of the cores): the table equals the one-after-the-other run (the
    networks' numbers to torch's thread-count rounding), and the fits there saw their share."""
    import sptmotion.motion.measured as measured

    C = importlib.import_module("sptmotion.analysis.characterize")
    df = _table(31, n=3, length=60)
    seen = []
    real = measured._available_cores
    monkeypatch.setattr(measured, "_available_cores", lambda: seen.append(real()) or real())
    monkeypatch.setattr(C, "_core_split", lambda: None)
    alone = analyze_table(df, dt=DT, models=models, figures=False)
    cores_alone = set(seen)
    seen.clear()
    monkeypatch.setattr(C, "_core_split", lambda: (1, 1))
    beside = analyze_table(df, dt=DT, models=models, figures=False)
    assert set(seen) == {1}
    assert cores_alone == {real()}
    pd.testing.assert_frame_equal(beside, alone, rtol=1e-5)
