"""``sptmotion track``: round trip on a rendered movie, and one-line errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from sptmotion import optics
from sptmotion.cli import main
from sptmotion.tracking import TABLE_COLUMNS

SETUP = optics.preset("hendrix2025", rows=12, cols=12, subframes=1, emission_rate=3e4)


@pytest.fixture(scope="module")
def movie_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("movie")
    rng = np.random.default_rng(0)
    X = np.array([0.8, 0.8, 0.1]) + np.cumsum(rng.normal(0, 0.01, (5, 3)), axis=0)
    movie = optics.render(X[None], SETUP, rng=rng)
    p = d / "m.tif"
    optics.write_movie(p, movie, SETUP)
    return p, X


def _run(args):
    return main([str(a) for a in args])


def test_bayes_round_trip(movie_path, tmp_path):
    """Table columns, bounds around the truth, JSON summary; same seed gives the same table."""
    p, X = movie_path
    out = tmp_path / "track.csv"
    args = [
        "track",
        p,
        "--method",
        "bayes",
        "--iterations",
        60,
        "--chains",
        2,
        "--seed",
        1,
        "--quiet",
    ]
    assert _run([*args, "-o", out]) == 0
    tab = pd.read_csv(out)
    assert list(tab.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    assert len(tab) == 5
    js = json.loads(out.with_suffix(".json").read_text())
    for key in ("D", "diagnostics", "acceptance", "mean_log_probabilities"):
        assert key in js
    assert js["D"]["lo"] <= js["D"]["hi"]
    assert js["mean_log_probabilities"]["emission"] < 0
    # short chains, but the posterior mean is already within 60 nm of a bright static emitter
    assert np.all(np.hypot(tab["x"] - X[:, 0], tab["y"] - X[:, 1]) < 0.06)
    out2 = tmp_path / "track2.csv"
    assert _run([*args, "-o", out2]) == 0
    pd.testing.assert_frame_equal(tab, pd.read_csv(out2))


def test_blur_psf_flag_recorded(movie_path, tmp_path):
    """--no-blur-psf switches the blur-aware K = 1 emission off; the JSON settings record it
    (on by default for K = 1)."""
    p, _ = movie_path
    base = ["track", p, "--iterations", 6, "--chains", 1, "--seed", 2, "--quiet"]
    out_on = tmp_path / "on.csv"
    out_off = tmp_path / "off.csv"
    assert _run([*base, "-o", out_on]) == 0
    assert _run([*base, "--no-blur-psf", "-o", out_off]) == 0
    on = json.loads(out_on.with_suffix(".json").read_text())
    off = json.loads(out_off.with_suffix(".json").read_text())
    assert on["settings"]["blur_psf"] is True and on["settings"]["blur_psf_coef_s"] > 0
    assert off["settings"]["blur_psf"] is False and off["settings"]["blur_psf_coef_s"] == 0


def test_planar_flag_holds_z_at_focus(movie_path, tmp_path):
    """--planar: the JSON settings record it and every z of the table is at focus."""
    p, _ = movie_path
    out = tmp_path / "planar.csv"
    args = ["track", p, "--emitters", 1, "--iterations", 6, "--chains", 1, "--planar", "--quiet"]
    assert _run([*args, "-o", out]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["settings"]["planar"] is True
    tab = pd.read_csv(out)
    assert (tab["z"] == 0).all() and (tab["z_lo"] == 0).all() and (tab["z_hi"] == 0).all()


def test_modular_round_trip(movie_path, tmp_path):
    p, X = movie_path
    out = tmp_path / "mod.csv"
    assert _run(["track", p, "--method", "modular", "-o", out, "--ci", 0.9]) == 0
    tab = pd.read_csv(out)
    assert list(tab.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    assert len(tab) >= 4
    js = json.loads(out.with_suffix(".json").read_text())
    assert js["method"] == "modular" and js["ci"] == 0.9


def _assert_failed(capsys, rc, out, match, code=1):
    assert rc == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and match in err and "\n" not in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_not_a_stack(tmp_path, capsys):
    p = tmp_path / "img.tif"
    tifffile.imwrite(p, np.full((12, 12), 100.0, dtype=np.float32))
    (tmp_path / "img.json").write_text(json.dumps({"setup": SETUP.to_dict()}))
    out = tmp_path / "t.csv"
    _assert_failed(
        capsys, _run(["track", p, "-o", out, "--iterations", 5, "--quiet"]), out, "not a stack"
    )


def test_wrong_dtype(tmp_path, capsys):
    p = tmp_path / "c.tif"
    tifffile.imwrite(p, np.ones((3, 12, 12), dtype=np.complex64), photometric="minisblack")
    (tmp_path / "c.json").write_text(json.dumps({"setup": SETUP.to_dict()}))
    out = tmp_path / "t.csv"
    _assert_failed(capsys, _run(["track", p, "-o", out, "--quiet"]), out, "dtype")


def test_missing_sidecar(movie_path, tmp_path, capsys):
    p, _ = movie_path
    q = tmp_path / "nosidecar.tif"
    q.write_bytes(p.read_bytes())
    out = tmp_path / "t.csv"
    _assert_failed(capsys, _run(["track", q, "-o", out, "--quiet"]), out, "sidecar")


def test_movie_without_sidecar_runs_with_a_preset(movie_path, tmp_path):
    """A TIFF without sidecar tracks with --preset and camera flags, as in ``analyze``; its
    pixel size and frame interval come from the TIFF's own metadata."""
    p, X = movie_path
    q = tmp_path / "nosidecar.tif"
    q.write_bytes(p.read_bytes())
    out = tmp_path / "t.csv"
    args = ["track", q, "-o", out, "--method", "modular", "--preset", "hendrix2025",
            "--camera", "emccd", "--gain", "350", "--conversion", "3.5", "--quiet"]  # fmt: skip
    assert _run(args) == 0
    tab = pd.read_csv(out)
    assert len(tab) >= 4 and np.all(np.hypot(tab["x"] - X[tab["frame"], 0],
                                             tab["y"] - X[tab["frame"], 1]) < 0.1)  # fmt: skip
    js = json.loads(out.with_suffix(".json").read_text())
    assert js["setup"]["pixel_size"] == SETUP.pixel_size
    # the PSF width flags: NA and wavelength replace the preset's and reach the setup
    out2 = tmp_path / "t2.csv"
    assert _run([*args[:3], out2, *args[4:], "--na", "1.2", "--wavelength", "0.58"]) == 0
    js2 = json.loads(out2.with_suffix(".json").read_text())
    assert (js2["setup"]["na"], js2["setup"]["wavelength"]) == (1.2, 0.58)
    assert js["setup"]["na"] != 1.2


def test_missing_camera_parameters(movie_path, tmp_path, capsys):
    p, _ = movie_path
    q = tmp_path / "nocam.tif"
    q.write_bytes(p.read_bytes())
    d = SETUP.to_dict()
    del d["camera"]
    (tmp_path / "nocam.json").write_text(json.dumps({"setup": d}))
    out = tmp_path / "t.csv"
    _assert_failed(capsys, _run(["track", q, "-o", out, "--quiet"]), out, "camera")


@pytest.mark.filterwarnings("ignore:.*zero-size")
def test_zero_frames_and_missing_file(tmp_path, capsys):
    p = tmp_path / "z.tif"
    tifffile.imwrite(p, np.zeros((0, 12, 12), dtype=np.float32))
    (tmp_path / "z.json").write_text(json.dumps({"setup": SETUP.to_dict()}))
    out = tmp_path / "t.csv"
    rc = _run(["track", p, "-o", out, "--quiet"])
    assert rc == 1
    assert capsys.readouterr().err.startswith("error:")
    assert not out.exists()
    _assert_failed(capsys, _run(["track", tmp_path / "nope.tif", "-o", out]), out, "no such")


def test_bad_method(movie_path, tmp_path, capsys):
    p, _ = movie_path
    out = tmp_path / "t.csv"
    rc = _run(["track", p, "--method", "magic", "-o", out])
    _assert_failed(capsys, rc, out, "Invalid value for '--method'", code=2)


def test_classification_bias_study_rows():
    """The study classifies truth, Bayesian and modular tracks of each movie (tiny run)."""
    from sptmotion.studies.classification_bias import bias_table, classification_bias
    from sptmotion.studies.classification_bias import longest_run as _longest_run

    assert _longest_run(np.array([0, 1, 2, 5, 6, 7, 8, 10])) == (3, 4)
    df = classification_bias(
        n_movies=1, iterations=20, chains=1, seed=3, conditions=(("BM D=1", "bm", {"D": 1.0}),)
    )
    assert list(df["source"]) == ["truth", "bayes", "bayes_draw", "modular"]
    truth = df.iloc[0]
    assert truth["n_points"] == 50 and truth["best"] in ("bm", "dbm", "fbm", "sbm")
    assert 0 < truth["alpha"] < 2 and truth["alpha_se"] > 0
    assert "| BM D=1 | truth |" in bias_table(df)


def test_camera_flags_and_calibration_files(movie_path, tmp_path, capsys):
    """--offset/--read-noise change the camera's parameters, --camera-file replaces the camera
    (JSON, or NPZ with per-pixel maps of the frame's shape); a bad combination is one line."""
    p, _ = movie_path
    q = tmp_path / "raw.tif"
    q.write_bytes(p.read_bytes())
    base = ["track", q, "--method", "modular", "--no-refine", "--preset", "hendrix2025", "-q"]
    out = tmp_path / "a.csv"
    assert _run([*base, "--offset", "90", "-o", out]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["setup"]["camera"]["offset"] == 90
    cam = {"name": "emccd-pgn", "gain": 350.0, "conversion": 3.5, "read_noise": 12.0}
    (tmp_path / "cam.json").write_text(json.dumps(cam))
    out = tmp_path / "b.csv"
    assert (
        _run([*base, "--camera-file", tmp_path / "cam.json", "--read-noise", "8", "-o", out]) == 0
    )
    used = json.loads(out.with_suffix(".json").read_text())["setup"]["camera"]
    assert used["name"] == "emccd-pgn" and used["read_noise"] == 8.0
    # the summary beside the table may not overwrite the camera file it was given
    out = tmp_path / "cam.csv"
    assert _run([*base, "--camera-file", tmp_path / "cam.json", "-o", out]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "overwrite" in err and "\n" not in err
    assert not out.exists() and json.loads((tmp_path / "cam.json").read_text()) == cam
    # the Gamma EMCCD model has no read noise: one line naming the parameter
    out = tmp_path / "c.csv"
    _assert_failed(capsys, _run([*base, "--read-noise", "8", "-o", out]), out, "read_noise")
    np.savez(tmp_path / "maps.npz", name="scmos", gain=np.full((5, 5), 2.0), offset=100.0,
             read_var=4.0)  # fmt: skip
    out = tmp_path / "d.csv"
    _assert_failed(capsys, _run([*base, "--camera-file", tmp_path / "maps.npz", "-o", out]),
                   out, "gain map is 5 x 5")  # fmt: skip


def test_unknown_number_of_emitters(tmp_path, capsys):
    """Without --emitters the tracker samples M: two emitters, one leaving after frame 5; the
    table has p_present, the JSON the posterior of M, and the command prints it."""
    rng = np.random.default_rng(4)
    N = 10
    X = np.stack([np.tile([0.5, 0.5, 0.1], (N, 1)), np.tile([1.1, 1.0, 0.05], (N, 1))])
    X = X + np.cumsum(rng.normal(0, 0.01, X.shape), axis=1)
    X[1, 6:] = 500.0
    p = tmp_path / "two.tif"
    optics.write_movie(p, optics.render(X, SETUP, rng=rng, allow_outside=True), SETUP)
    out = tmp_path / "tracks.csv"
    args = ["track", p, "-o", out, "--iterations", 400, "--seed", 3, "--quiet"]
    assert _run(args) == 0
    assert "number of emitters, posterior: 2: " in capsys.readouterr().out
    tab = pd.read_csv(out)
    assert "p_present" in tab.columns and set(tab["particle"]) == {0, 1}
    assert sorted(tab.groupby("particle").size()) == [6, 10]
    js = json.loads(out.with_suffix(".json").read_text())
    assert js["n_emitters"] == 2 and js["n_emitters_posterior"]["2"] > 0.9
    assert js["settings"]["n_emitters"] is None
    bad = tmp_path / "bad.csv"
    rc = _run(["track", p, "-o", bad, "--init", "brightest", "--quiet"])
    _assert_failed(capsys, rc, bad, "modular tracker")
    # the same movie by regions (forced; by default only frames over 64 x 64 pixels)
    out_r = tmp_path / "regions.csv"
    assert _run([*args[:3], out_r, *args[4:], "--regions"]) == 0
    assert "number of emitters (1 regions), posterior: 2: " in capsys.readouterr().out
    js = json.loads(out_r.with_suffix(".json").read_text())
    assert js["method"] == "bayes-regions" and js["n_emitters"] == 2
    assert len(js["regions"]) == 1 and js["regions"][0]["candidates"] >= 2
    tab = pd.read_csv(out_r)
    assert {"p_present", "region"} <= set(tab.columns) and tab["particle"].nunique() == 2
