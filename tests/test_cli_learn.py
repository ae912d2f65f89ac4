"""CLI of the learning stage: `sptmotion train` / `sptmotion predict` round trip and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sptmotion.cli import main
from sptmotion.datasets.tables import tracks_to_table
from sptmotion.motion import MODELS


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Training table (2D FBM, 40 points, alpha and model columns) and a tracks table."""
    d = tmp_path_factory.mktemp("cli_learn")
    rng = np.random.default_rng(11)
    alphas = np.repeat(np.linspace(0.4, 1.6, 6), 6)
    X = np.concatenate(
        [MODELS["fbm"](alpha=a, D=1.0).sample(1, 39, 2, 1.0, rng)[0] for a in alphas]
    )
    model = np.where(alphas < 1, "sub", "super")
    tracks_to_table(X, labels={"alpha": alphas, "model": model}).to_csv(
        d / "train.csv", index=False
    )
    tracks_to_table(X[:5]).to_csv(d / "tracks.csv", index=False)
    pd.DataFrame({"particle": np.arange(len(X)), "model": model}).to_csv(
        d / "labels.csv", index=False
    )
    return d


INFO = ["n_points", "n_interpolated", "error"]  # what each track was made of
FAST = ["--n-models", "1", "--max-epochs", "2", "--quiet", "--device", "cpu"]


def test_train_predict_alpha_round_trip(tables):
    d = tables
    model = d / "alpha.sptm"
    assert (
        main(
            [
                "train",
                "--task",
                "alpha",
                "--representation",
                "wavelet",
                "--train",
                str(d / "train.csv"),
                "-o",
                str(model),
                *FAST,
            ]
        )
        == 0
    )
    out = d / "pred_alpha.csv"
    assert main(["predict", str(model), str(d / "tracks.csv"), "-o", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["particle", "alpha", "alpha_std", *INFO]
    assert list(pred["particle"]) == [0, 1, 2, 3, 4]
    assert np.all(np.isfinite(pred["alpha"])) and np.all(pred["alpha_std"] > 0)


def test_train_options_reach_the_model(tables):
    """--loss and --lr-schedule are stored in the model file; a bad value is a one-line error."""
    from sptmotion.learn import load

    d = tables
    model = d / "alpha_laplace.sptm"
    args = [
        "train",
        "--task",
        "alpha",
        "--representation",
        "features",
        "--train",
        str(d / "train.csv"),
    ]
    assert (
        main([*args, "-o", str(model), "--loss", "laplace", "--lr-schedule", "cosine", *FAST]) == 0
    )
    est = load(model)
    assert est.loss == "laplace" and est.lr_schedule == "cosine"
    steps = d / "alpha_steps.sptm"
    assert main([*args, "-o", str(steps), "--lr-schedule", "cosine_steps", *FAST]) == 0
    assert load(steps).lr_schedule == "cosine_steps"
    bad = d / "bad.sptm"
    assert main([*args, "-o", str(bad), "--loss", "huber", *FAST]) == 2
    assert not bad.exists()
    # the rotation budget and the side inputs are the wavelet learner's: a usage error for
    # the others, no file
    for flag in (["--tta-points", "120"], ["--scale-inputs"], ["--measurement-inputs"]):
        assert main([*args, "-o", str(bad), *flag, *FAST]) == 2
        assert not bad.exists()


def test_train_predict_model_with_label_file(tables):
    d = tables
    tab = pd.read_csv(d / "train.csv").drop(columns=["model", "alpha"])
    tab.to_csv(d / "train_nolabels.csv", index=False)
    model = d / "model.sptm"
    assert (
        main(
            [
                "train",
                "--task",
                "model",
                "--representation",
                "features",
                "--train",
                str(d / "train_nolabels.csv"),
                "--labels",
                str(d / "labels.csv"),
                "-o",
                str(model),
                *FAST,
            ]
        )
        == 0
    )
    out = d / "pred_model.csv"
    assert main(["predict", str(model), str(d / "tracks.csv"), "-o", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["particle", "model", "p_sub", "p_super", *INFO]
    np.testing.assert_allclose(pred[["p_sub", "p_super"]].sum(axis=1), 1.0, rtol=1e-9)


def test_bad_input_gives_one_line_error_and_no_output(tables, tmp_path, capsys):
    d = tables
    tab = pd.read_csv(d / "train.csv").drop(columns=["alpha"])
    tab.to_csv(tmp_path / "noalpha.csv", index=False)
    out = tmp_path / "m.sptm"
    # missing label column
    assert (
        main(
            [
                "train",
                "--task",
                "alpha",
                "--train",
                str(tmp_path / "noalpha.csv"),
                "-o",
                str(out),
                *FAST,
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "alpha" in err and "\n" not in err
    assert not out.exists()
    # tracks shorter than 20 points
    short = pd.read_csv(d / "train.csv")
    short[short["frame"] < 15].to_csv(tmp_path / "short.csv", index=False)
    assert (
        main(
            [
                "train",
                "--task",
                "alpha",
                "--train",
                str(tmp_path / "short.csv"),
                "-o",
                str(out),
                *FAST,
            ]
        )
        == 1
    )
    assert "at least 20 points" in capsys.readouterr().err
    assert not out.exists()
    # unreadable model file
    junk = tmp_path / "junk.sptm"
    junk.write_text("nonsense")
    pred = tmp_path / "p.csv"
    assert main(["predict", str(junk), str(d / "tracks.csv"), "-o", str(pred)]) == 1
    assert "not an sptmotion model" in capsys.readouterr().err
    assert not pred.exists()
    # unknown task
    assert (
        main(["train", "--task", "speed", "--train", str(d / "train.csv"), "-o", str(out), *FAST])
        == 2
    )
    assert not out.exists()


def test_benchmark_andi_smoke(tmp_path):
    """`sptmotion benchmark andi` runs end to end on a tiny set and writes .md, .json, .png."""
    stem = tmp_path / "bench"
    rc = main(
        [
            "benchmark",
            "andi",
            "--train-sizes",
            "40",
            "--n-test",
            "30",
            "--representations",
            "features",
            "--threads",
            "1",
            "-o",
            str(stem),
        ]
    )
    assert rc == 0
    md = (tmp_path / "bench.md").read_text()
    assert "features" in md and "tamsd_fit" in md
    assert (tmp_path / "bench.png").stat().st_size > 0
    assert main(["benchmark", "andi", "--train-sizes", "ten", "-o", str(tmp_path / "x")]) == 1
    assert not (tmp_path / "x.md").exists()


def test_train_defaults_are_the_benchmarks_choice(tables, tmp_path):
    """What `sptmotion train` uses when not told: the settings the AnDi table reports."""
    from sptmotion.analysis.learned import TRAIN_DEFAULTS, train_from_table
    from sptmotion.learn import load

    est = train_from_table(tables / "train.csv", tmp_path / "w.sptm", task="model", max_epochs=1,
                           device="cpu")  # fmt: skip
    chosen = TRAIN_DEFAULTS[("wavelet", "model")]
    assert (est.n_models, est.lr_schedule) == (chosen["n_models"], chosen["lr_schedule"])
    assert est.max_epochs == 1  # given values win
    # two test-time rotations up to 100 points, saved with the model
    assert est.tta_points == chosen["tta_points"] == 200
    assert load(tmp_path / "w.sptm").tta_points == 200
    est = train_from_table(tables / "train.csv", tmp_path / "w120.sptm", task="model",
                           max_epochs=1, tta_points=120, device="cpu")  # fmt: skip
    assert load(tmp_path / "w120.sptm").tta_points == 120
    est = train_from_table(tables / "train.csv", tmp_path / "f.sptm", representation="features")
    assert est.loss == "laplace"
    assert TRAIN_DEFAULTS[("wavelet", "alpha")]["max_epochs"] == 40


def test_predict_both_tasks_in_one_table(tables, tmp_path, capsys):
    """`predict A --also B`: alpha and the model in one table, the numbers of two separate
    calls (the bundled wavelet models share one transform); two models of one task are a
    one-line error and no file."""
    from sptmotion.analysis.pretrained import bundled_model_paths

    alpha_model, class_model = bundled_model_paths()
    tracks = str(tables / "tracks.csv")
    both, pa, pm = tmp_path / "both.csv", tmp_path / "a.csv", tmp_path / "m.csv"
    args = ["predict", str(alpha_model), tracks, "--also", str(class_model), "-o", str(both)]
    assert main(args) == 0
    assert main(["predict", str(alpha_model), tracks, "-o", str(pa)]) == 0
    assert main(["predict", str(class_model), tracks, "-o", str(pm)]) == 0
    b, a, m = pd.read_csv(both), pd.read_csv(pa), pd.read_csv(pm)
    probs = [c for c in m.columns if c.startswith("p_")]
    assert list(b.columns) == ["particle", "alpha", "alpha_std", "model", *probs, *INFO]
    np.testing.assert_allclose(b[["alpha", "alpha_std"]], a[["alpha", "alpha_std"]], rtol=1e-5)
    np.testing.assert_allclose(b[probs], m[probs], rtol=1e-4, atol=1e-6)
    assert list(b["model"]) == list(m["model"])
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    args = ["predict", str(alpha_model), tracks, "--also", str(alpha_model), "-o", str(bad)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other task" in err[0] and not bad.exists()


def test_predict_tta_points_sets_the_rotation_budget(tables, tmp_path, capsys):
    """`predict --tta-points N`: the tracks (40 points) are read in min(4, N // 40) rotations,
    the numbers of the estimator with that ``tta_points``; 0 is a usage error, no file."""
    from sptmotion.analysis.pretrained import bundled_model_paths
    from sptmotion.datasets.tables import read_table, table_to_tracks
    from sptmotion.learn import load

    alpha_model, _ = bundled_model_paths()
    tracks = str(tables / "tracks.csv")
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert main(["predict", str(alpha_model), tracks, "-o", str(one), "--tta-points", "40"]) == 0
    assert main(["predict", str(alpha_model), tracks, "-o", str(two), "--tta-points", "80"]) == 0
    a1, a2 = pd.read_csv(one)["alpha"], pd.read_csv(two)["alpha"]
    assert not np.allclose(a1, a2)  # one rotation against two
    est = load(alpha_model)
    est.tta_points = 80
    X, _ = table_to_tracks(read_table(tables / "tracks.csv"))
    np.testing.assert_allclose(a2, est.predict(X), rtol=1e-5)
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    assert main(["predict", str(alpha_model), tracks, "-o", str(bad), "--tta-points", "0"]) == 2
    assert not bad.exists()


def test_train_and_predict_with_measurement_inputs(tables, tmp_path, capsys):
    """`train --measurement-inputs` reads the table's exposure_ratio and sigma columns and
    `predict` passes them on (a table without them: unknown); a training table without
    them is a one-line error and no model file."""
    from sptmotion.learn import load

    tab = pd.read_csv(tables / "train.csv")
    n = tab["particle"].nunique()
    per = pd.DataFrame({"particle": np.arange(n), "sigma": np.linspace(0.0, 0.5, n),
                        "exposure_ratio": 0.8})  # fmt: skip
    train = tmp_path / "train_meas.csv"
    tab.merge(per, on="particle").to_csv(train, index=False)
    model = tmp_path / "meas.sptm"
    args = ["train", "--task", "alpha", "--train", str(train), "-o", str(model), *FAST]
    assert main([*args, "--measurement-inputs"]) == 0
    est = load(model)
    assert est.measurement_inputs and est.scale_inputs
    tracks = pd.read_csv(tables / "tracks.csv")
    with_meas = tmp_path / "tracks_meas.csv"
    tracks.merge(per, on="particle").to_csv(with_meas, index=False)
    out1, out0 = tmp_path / "p1.csv", tmp_path / "p0.csv"
    assert main(["predict", str(model), str(with_meas), "-o", str(out1)]) == 0
    assert main(["predict", str(model), str(tables / "tracks.csv"), "-o", str(out0)]) == 0
    p1, p0 = pd.read_csv(out1), pd.read_csv(out0)
    X = [g[["x", "y"]].to_numpy() for _, g in tracks.groupby("particle")]
    m = {"sigma": per["sigma"].to_numpy()[:5], "exposure_ratio": np.full(5, 0.8)}
    np.testing.assert_allclose(p1["alpha"], est.predict(X, measurement=m), rtol=1e-5)
    np.testing.assert_allclose(p0["alpha"], est.predict(X), rtol=1e-5)
    assert not np.allclose(p1["alpha"], p0["alpha"])
    capsys.readouterr()
    bad = tmp_path / "bad.sptm"
    rc = main(["train", "--task", "alpha", "--train", str(tables / "train.csv"), "-o", str(bad),
               "--measurement-inputs", *FAST])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "exposure_ratio" in err[0] and not bad.exists()
