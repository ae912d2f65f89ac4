"""Nothing lost, nothing silent: one test per failure found by a hostile-but-realistic pass.

Outputs never clobber inputs; interrupts, bad sizes and damaged files fail with one line and a
non-zero exit, leaving no partial file; suspicious data (gaps, non-integer frames, immobile or
over-long tracks) is refused or flagged, never silently changed. The fuzz tests at the end feed
random bytes and random tables to the table reader and the sidecar parser.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sptmotion import optics
from sptmotion.cli import main
from sptmotion.datasets.tables import MAX_FRAME, read_table, tracks_to_table
from sptmotion.motion import MODELS

SETUP = optics.preset("hendrix2025", rows=12, cols=12, subframes=1, emission_rate=3e4)
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def _run(args) -> int:
    return main([str(a) for a in args])


def _one_error_line(capsys, *needles) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("reliability")
    rng = np.random.default_rng(0)
    X = np.array([0.8, 0.8, 0.1]) + np.cumsum(rng.normal(0, 0.01, (6, 3)), axis=0)
    optics.write_movie(d / "movie.tif", optics.render(X[None], SETUP, rng=rng), SETUP)
    tracks, _ = MODELS["bm"](D=0.05).sample(4, 29, dim=2, dt=0.03, rng=rng)
    tracks_to_table(tracks + 2.0).to_csv(d / "t.csv", index=False)
    return d


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- 1-3: outputs never replace inputs ------------------------------------------------------------
def test_track_never_overwrites_the_movie_or_its_sidecar(files, tmp_path, capsys):
    before = _snapshot(files)
    for out in ("movie.csv", "movie.tif", "movie.json"):
        assert _run(["track", files / "movie.tif", "--method", "modular", "-o", files / out]) == 1
        _one_error_line(capsys)
    assert _snapshot(files) == before


def test_no_command_writes_over_its_input(files, capsys):
    before = _snapshot(files)
    t = files / "t.csv"
    assert _run(["render", t, "-o", t]) == 1
    _one_error_line(capsys, ".tif")
    assert _run(["train", "--train", t, "-o", t, "--quiet"]) == 1
    _one_error_line(capsys, ".sptm")
    model = files / "m.sptm"
    assert _run(["predict", model, t, "-o", t]) == 1
    _one_error_line(capsys)
    assert _snapshot(files) == before


def test_predict_refuses_its_model_as_output(tmp_path, capsys):
    model = tmp_path / "m.sptm"
    model.write_bytes(b"a model")
    table = tmp_path / "t.csv"
    table.write_text("particle,frame,x\n")
    assert _run(["predict", model, table, "-o", model]) == 1
    _one_error_line(capsys)
    assert model.read_bytes() == b"a model"


def test_render_to_json_is_refused_before_anything_is_written(files, tmp_path, capsys):
    assert _run(["render", files / "t.csv", "-o", tmp_path / "rj.json"]) == 1
    _one_error_line(capsys, ".tif")
    assert list(tmp_path.iterdir()) == []


# -- 4: interrupts and failures leave no partial file ----------------------------------------------
def test_sigterm_during_a_run_leaves_nothing(files, tmp_path):
    """SIGTERM in the middle of a long MCMC run: exit 143 with "terminated", no partial table."""
    out = tmp_path / "term.csv"
    cmd = [sys.executable, "-m", "sptmotion", "track", str(files / "movie.tif")]
    cmd += ["--iterations", "2000000", "-q", "-o", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=ENV)
    time.sleep(6.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.strip().endswith("terminated")
    assert list(tmp_path.iterdir()) == []


def test_render_with_a_folder_as_sidecar_leaves_no_tiff(files, tmp_path, capsys):
    (tmp_path / "orph.json").mkdir()
    assert _run(["render", files / "t.csv", "-o", tmp_path / "orph.tif"]) == 1
    _one_error_line(capsys, "directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orph.json"]


# -- 5: damaged model files -------------------------------------------------------------------------
def test_cut_lightgbm_model_is_refused_not_crashed(tmp_path, capsys):
    from sptmotion.learn import AlphaRegressor

    rng = np.random.default_rng(1)
    X, _ = MODELS["fbm"](alpha=0.7, D=1.0).sample(40, 29, dim=2, dt=1.0, rng=rng)
    y = rng.uniform(0.3, 1.5, 40)
    good = tmp_path / "good.sptm"
    AlphaRegressor("features", random_state=0).fit(X, y).save(good)
    with np.load(good, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    for name, drop_sum in (("cut.sptm", False), ("cut_old.sptm", True)):
        m = dict(meta, lightgbm={k: v[: len(v) // 2] for k, v in meta["lightgbm"].items()})
        if drop_sum:  # a file written before the checksum existed
            m.pop("lightgbm_sha256")
        arrays["__meta__"] = np.frombuffer(json.dumps(m).encode(), dtype=np.uint8)
        with open(tmp_path / name, "wb") as fh:
            np.savez(fh, **arrays)
        table = tmp_path / "t.csv"
        tracks_to_table(X[:3]).to_csv(table, index=False)
        res = subprocess.run(
            [sys.executable, "-m", "sptmotion", "predict", str(tmp_path / name), str(table)]
            + ["-o", str(tmp_path / "p.csv")],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=300,
        )
        assert res.returncode == 1, res.stderr  # not 139 (segfault)
        assert res.stderr.startswith("error: ") and "damaged" in res.stderr
        assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "change",
    [
        {"estimator": ["AlphaRegressor"]},
        {"params": None},
        {"fitted": {"std_scale_": float("nan")}},
        {"format_version": "x"},
    ],
)
def test_crafted_model_metadata_is_one_line(tmp_path, capsys, change):
    from sptmotion.learn import load

    arrays = {"__meta__": None}
    meta = {"format": "sptmotion-learner", "format_version": 1, "estimator": "AlphaRegressor"}
    meta.update({"params": {"representation": "features"}, "task": "regression"})
    meta.update({"representation": "features", "training_data": {}, "fitted": {}, **change})
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(tmp_path / "c.sptm", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ValueError):
        load(tmp_path / "c.sptm")


# -- 6: requests larger than memory are refused with the number -------------------------------------
def test_memory_is_checked_before_allocating(files, tmp_path, capsys, monkeypatch):
    from sptmotion import _io

    monkeypatch.setattr(_io, "available_memory", lambda: 2_000_000_000)
    assert (
        _run(["simulate", "--model", "bm", "--n", "100000000", "-q", "-o", tmp_path / "x.csv"]) == 1
    )
    _one_error_line(capsys, "GB of memory", "GB are available")
    df = pd.DataFrame(
        {"particle": [0, 0], "frame": [0, 9_000_000], "x": [1.0, 1.1], "y": [1.0, 1.0]}
    )
    df.to_csv(tmp_path / "long.csv", index=False)
    assert _run(["render", tmp_path / "long.csv", "-o", tmp_path / "long.tif"]) == 1
    _one_error_line(capsys, "GB of memory")
    assert (
        _run(["track", files / "movie.tif", "--iterations", 10**12, "-q", "-o", tmp_path / "t.csv"])
        == 1
    )
    _one_error_line(capsys, "MCMC sweeps")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.csv"]


def test_huge_frame_numbers_are_refused(tmp_path, capsys):
    df = pd.DataFrame({"particle": [0, 0], "frame": [0, 10**12], "x": [1.0, 1.1]})
    df.to_csv(tmp_path / "f.csv", index=False)
    assert _run(["render", tmp_path / "f.csv", "-o", tmp_path / "f.tif"]) == 1
    _one_error_line(capsys, f"{MAX_FRAME - 1:,}")


# -- 7: tracebacks that were -------------------------------------------------------------------------
def test_output_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file.csv").write_text("x")
    assert _run(["simulate", "--model", "bm", "-o", tmp_path / "file.csv" / "x.csv"]) == 1
    _one_error_line(capsys, "does not exist")


def test_sidecar_with_null_setup_is_one_line(files, tmp_path, capsys):
    tif = tmp_path / "n.tif"
    tif.write_bytes((files / "movie.tif").read_bytes())
    (tmp_path / "n.json").write_text(json.dumps({"setup": None}))
    assert _run(["track", tif, "-o", tmp_path / "t.csv", "-q"]) == 1
    _one_error_line(capsys, "sidecar")


def test_andi_file_without_alpha_is_one_line(tmp_path, capsys):
    np.savez(tmp_path / "a.npz", X_model=np.zeros((2, 100, 2)), model=np.array(["bm", "bm"]))
    args = ["benchmark", "andi", "--train-sizes", "10", "--andi-file", tmp_path / "a.npz"]
    assert _run([*args, "-o", tmp_path / "b", "-q"]) == 1
    _one_error_line(capsys, "X_alpha", "alpha")


def test_numba_cache_falls_back_without_writable_home(monkeypatch, tmp_path):
    import sptmotion

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "missing"))
    monkeypatch.setattr(sptmotion._os, "access", lambda *a, **k: False)
    sptmotion._numba_cache_dir()
    assert os.environ["NUMBA_CACHE_DIR"].startswith(sptmotion._tempfile.gettempdir())


def test_analyze_into_a_file_fails_before_any_work(files, tmp_path, capsys):
    (tmp_path / "out").write_text("a file")
    t0 = time.perf_counter()
    assert _run(["analyze", files / "t.csv", "--dt", "0.03", "-o", tmp_path / "out"]) == 1
    _one_error_line(capsys, "not a folder")
    assert time.perf_counter() - t0 < 5.0 and (tmp_path / "out").read_text() == "a file"


# -- 8: usage errors (and 9, Ctrl-C: tests/test_cli_conventions.py) ---------------------------------
@pytest.mark.parametrize(
    "args",
    [["--version"], ["simulate", "--nope"], ["track"], ["simulate", "--model", "bm", "--n", "-1"]],
)
def test_usage_errors_are_one_line(args, capsys):
    rc = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if args == ["--version"]:
        assert rc == 0 and captured.out.startswith("sptmotion ")
    else:
        assert rc == 2 and len(captured.err.strip().splitlines()) == 1


# -- 10: gaps are exact in the likelihood, reported, and filled the same way for the learners --------
def test_gaps_are_reported_and_do_not_bias_the_likelihood(tmp_path):
    from sptmotion.analysis import analyze_table

    rng = np.random.default_rng(5)
    X, _ = MODELS["bm"](D=0.05).sample(60, 99, dim=2, dt=0.03, rng=rng)
    full = tracks_to_table(X)
    keep = rng.random(len(full)) > 0.3
    keep[full["frame"].to_numpy() == 0] = True
    res = analyze_table(full[keep], dt=0.03, sigma_loc=0.0)
    assert (res["n_interpolated"] > 0).all()
    # BM alpha from the observed points only (gaps exact): unbiased within 4 SE of the mean
    a = res["mle_alpha"].to_numpy(dtype=float)
    assert abs(a.mean() - 1.0) < 4 * a.std(ddof=1) / np.sqrt(len(a)) + 0.02
    table = tmp_path / "holey.csv"
    full[keep].to_csv(table, index=False)


def test_predict_reports_gaps_and_skips_short_tracks(tmp_path, capsys):
    from sptmotion.learn import AlphaRegressor

    rng = np.random.default_rng(2)
    X, _ = MODELS["bm"](D=1.0).sample(30, 39, dim=2, dt=1.0, rng=rng)
    model = tmp_path / "a.sptm"
    AlphaRegressor("features", random_state=0).fit(X, np.full(30, 1.0)).save(model)
    df = tracks_to_table(X[:3])
    df = df[~((df["particle"] == 0) & df["frame"].between(10, 14))]  # a 5-frame gap
    df = df[~((df["particle"] == 2) & (df["frame"] >= 10))]  # 10 points: too short
    df.to_csv(tmp_path / "t.csv", index=False)
    assert _run(["predict", model, tmp_path / "t.csv", "-o", tmp_path / "p.parquet", "-q"]) == 0
    out = pd.read_parquet(tmp_path / "p.parquet")  # a real Parquet file, not CSV text
    assert list(out["n_interpolated"]) == [5, 0, 0]
    assert out["error"].iloc[2].startswith("shorter than") and np.isnan(out["alpha"].iloc[2])
    assert np.isfinite(out["alpha"].iloc[:2]).all()


# -- 11, 12: frames and dimensions are what they say ------------------------------------------------
def test_non_integer_frames_are_refused(tmp_path, capsys):
    df = pd.DataFrame({"particle": 0, "frame": np.arange(21) * 0.5, "x": 1.0, "y": 1.0})
    df.to_csv(tmp_path / "s.csv", index=False)
    assert _run(["render", tmp_path / "s.csv", "-o", tmp_path / "s.tif"]) == 1
    _one_error_line(capsys, "whole frame numbers", "0.5")
    with pytest.raises(ValueError, match="whole frame numbers"):
        read_table(tmp_path / "s.csv")


def test_1d_tracks_render_along_x_only(monkeypatch):
    """A 1D table is rendered as motion along x at a fixed y (it used to move diagonally)."""
    import sptmotion.optics
    from sptmotion.analysis.imaging import render_table

    seen = {}
    real = sptmotion.optics.render

    def spy(X, setup, **kw):
        seen["X"] = np.array(X)
        return real(X, setup, **kw)

    monkeypatch.setattr(sptmotion.optics, "render", spy)
    df = pd.DataFrame({"particle": 0, "frame": np.arange(5), "x": 0.5 + 0.3 * np.arange(5)})
    render_table(df, seed=1, origin="roi")
    X = seen["X"][0]
    assert np.ptp(X[:, 0]) > 1.0 and np.ptp(X[:, 1]) == 0.0


# -- 13: complex TIFFs ------------------------------------------------------------------------------
def test_complex_tiff_is_refused_everywhere(files, tmp_path, capsys):
    tif = tmp_path / "c.tif"
    tifffile.imwrite(tif, np.ones((3, 12, 12), dtype=np.complex64), photometric="minisblack")
    (tmp_path / "c.json").write_text((files / "movie.json").read_text())
    assert _run(["likelihood", tif, files / "t.csv"]) == 1
    _one_error_line(capsys, "dtype")
    assert _run(["analyze", tif, "-o", tmp_path / "o"]) == 1
    _one_error_line(capsys, "dtype")


# -- 14, 17: immobile and over-long tracks are flagged, not classified -------------------------------
def test_immobile_and_overlong_tracks_are_flagged(tmp_path):
    from sptmotion.analysis import analyze_table
    from sptmotion.analysis.characterize import MAX_TRACK_POINTS

    rng = np.random.default_rng(3)
    X, _ = MODELS["bm"](D=0.05).sample(2, 49, dim=2, dt=0.03, rng=rng)
    still = np.full((50, 2), 1.0)
    long = np.cumsum(rng.normal(0, 0.01, (MAX_TRACK_POINTS + 1, 2)), axis=0)
    tables = [tracks_to_table(X), tracks_to_table(still[None], particle_offset=2)]
    tables.append(tracks_to_table(long[None], particle_offset=3))
    res = analyze_table(pd.concat(tables, ignore_index=True), dt=0.03)
    err = res.set_index("particle")["error"]
    assert err[2].startswith("immobile") and "at most" in err[3]
    assert res.set_index("particle").loc[[2, 3], "verdict"].eq("").all()
    assert (err[[0, 1]] == "").all()


# -- 15: files are what their names say --------------------------------------------------------------
def test_unknown_table_suffixes_are_refused(tmp_path):
    from sptmotion.datasets import write_table

    with pytest.raises(ValueError, match="tables are written as"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "w.xlsx")
    assert list(tmp_path.iterdir()) == []


# -- 16: out-of-range values ------------------------------------------------------------------------
def test_out_of_range_values_are_refused(files, tmp_path, capsys):
    df = pd.read_csv(files / "t.csv").assign(alpha=5.0)
    df.to_csv(tmp_path / "lab.csv", index=False)
    assert _run(["train", "--train", tmp_path / "lab.csv", "-o", tmp_path / "m.sptm", "-q"]) == 1
    _one_error_line(capsys, "[0, 2]")
    assert _run(["analyze", files / "t.csv", "--dt", "0.03", "--workers", "-1"]) == 2
    assert _run(["benchmark", "andi", "--seeds", "0"]) == 2
    assert list(tmp_path.iterdir()) == [tmp_path / "lab.csv"]


# -- 18: messages name the problem --------------------------------------------------------------------
def test_messages_name_file_column_and_kind(tmp_path, capsys):
    pd.DataFrame({"particle": [0, 0], "frame": [0, 1], "x": ["1.0", "oops"]}).to_csv(
        tmp_path / "n.csv", index=False
    )
    with pytest.raises(ValueError, match=r"n\.csv: column 'x' has a non-numeric value 'oops'"):
        read_table(tmp_path / "n.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        read_table(tmp_path / "d.csv")
    tif = tmp_path / "trunc.tif"
    tifffile.imwrite(tif, np.ones((20, 12, 12), dtype=np.float32))
    tif.write_bytes(tif.read_bytes()[:3000])
    with pytest.raises(ValueError) as info:
        optics.load_movie(tif, preset="hendrix2025")
    assert "single 2D image" not in str(info.value)


# -- fuzz: the table reader and the sidecar parser raise only ValueError, never write ----------------
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_table_reader_bytes(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fz") / "t.csv"
    p.write_bytes(data)
    before = sorted(p.parent.iterdir())
    try:
        read_table(p)
    except ValueError:
        pass
    assert sorted(p.parent.iterdir()) == before


cell = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.none(),
)


@FUZZ
@given(
    st.lists(st.tuples(cell, cell, cell, cell), min_size=0, max_size=12),
    st.sampled_from(
        [("particle", "frame", "x", "y"), ("particle", "frame", "x", "z"), ("a", "b", "x", "y")]
    ),
)
def test_fuzz_table_reader_tables(tmp_path_factory, rows, columns):
    p = tmp_path_factory.mktemp("fz") / "t.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(p, index=False)
    try:
        read_table(p)
    except ValueError:
        pass


def _json_containers(inner):
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    _json_containers,
    max_leaves=12,
)


@FUZZ
@given(json_value)
def test_fuzz_sidecar_parser(tmp_path_factory, sidecar):
    d = tmp_path_factory.mktemp("fz")
    tifffile.imwrite(d / "m.tif", np.full((2, 8, 8), 100.0, dtype=np.float32))
    (d / "m.json").write_text(json.dumps(sidecar))
    good = {"setup": SETUP.to_dict()}
    for side in (
        sidecar,
        {"setup": sidecar},
        {**good, "setup": {**good["setup"], "camera": sidecar}},
    ):
        (d / "m.json").write_text(json.dumps(side))
        try:
            optics.load_movie(d / "m.tif")
        except ValueError:
            pass
    assert sorted(p.name for p in d.iterdir()) == ["m.json", "m.tif"]


def test_model_file_zip_garbage(tmp_path):
    from sptmotion.learn import load

    with zipfile.ZipFile(tmp_path / "z.sptm", "w") as z:
        z.writestr("__meta__.npy", b"\x93NUMPY garbage")
    with pytest.raises(ValueError):
        load(tmp_path / "z.sptm")
