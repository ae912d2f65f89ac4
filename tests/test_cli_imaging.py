"""CLI: render -> TIFF + sidecar, likelihood (both spellings), likelihood sweep, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sptmotion import likelihood, optics
from sptmotion.cli import main
from sptmotion.datasets.tables import read_table, table_to_fine_tracks, tracks_to_table, write_table
from sptmotion.motion import MODELS


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    s = optics.preset("hendrix2025", subframes=5)
    X, t = MODELS["bm"](D=0.05).sample(2, 0, dim=2, rng=0, times=s.fine_times(12))
    write_table(tracks_to_table(X, t, subframes=5), d / "tracks.csv")
    return d


def test_table_to_fine_tracks_roundtrip():
    X = np.arange(2 * 6 * 2, dtype=float).reshape(2, 6, 2)
    df = tracks_to_table(X, subframes=3)
    Y, particles, K = table_to_fine_tracks(df)
    assert K == 3 and particles.tolist() == [0, 1]
    np.testing.assert_array_equal(Y, X)
    # a particle missing a frame -> NaN there
    Z, _, _ = table_to_fine_tracks(df[~((df.particle == 1) & (df.frame == 0))])
    assert np.isnan(Z[1, :3]).all() and np.isfinite(Z[1, 3:]).all()


def test_render_and_likelihood(files, capsys):
    movie, tracks = files / "movie.tif", files / "tracks.csv"
    rc = main(
        [
            "render",
            str(tracks),
            "--preset",
            "hendrix2025",
            "--camera",
            "emccd",
            "--seed",
            "1",
            "-o",
            str(movie),
        ]
    )
    assert rc == 0 and movie.exists() and movie.with_suffix(".json").exists()
    stack, setup, meta = optics.read_movie(movie)
    assert stack.shape == (12, 32, 32) and setup.subframes == 5 and meta["metadata"]["seed"] == 1
    capsys.readouterr()
    assert (
        main(["likelihood", str(movie), str(tracks), "--motion", "bm", "--D", "0.05", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"initial", "emission", "motion", "total", "emission_share"}
    # the same numbers from the library on the read-back movie and the shifted tracks
    X, _, _ = table_to_fine_tracks(read_table(tracks))
    parts = likelihood.decompose(
        stack, X + meta["metadata"]["track_shift_um"], setup, MODELS["bm"](D=0.05)
    )
    assert out["emission"] == pytest.approx(parts.emission, rel=1e-12)
    assert out["motion"] == pytest.approx(parts.motion, rel=1e-12)
    # the explicit sub-command spelling gives the same answer; the text report names the parts
    assert main(["likelihood", "eval", str(movie), str(tracks), "--D", "0.05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == out
    assert main(["likelihood", str(movie), str(tracks), "--motion", "fbm", "--alpha", "0.8"]) == 0
    text = capsys.readouterr().out
    assert "emission share" in text and "FBM" in text


def test_render_other_cameras(files):
    for cam in ("emccd-pgn", "scmos"):
        out = files / f"m_{cam}.tif"
        assert (
            main(
                [
                    "render",
                    str(files / "tracks.csv"),
                    "--camera",
                    cam,
                    "--seed",
                    "2",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        assert optics.read_movie(out)[1].camera.name == cam


def test_sweep_quick(tmp_path, capsys):
    out = tmp_path / "sweep.md"
    assert main(["likelihood", "sweep", "--quick", "--repeats", "1", "-o", str(out)]) == 0
    assert out.exists() and out.with_suffix(".png").exists() and out.with_suffix(".csv").exists()
    assert "emission share" in out.read_text()


def test_errors(files, capsys):
    tracks = str(files / "tracks.csv")
    assert main(["render", tracks, "--preset", "nope", "-o", str(files / "x.tif")]) == 1
    assert "unknown preset" in capsys.readouterr().err
    assert main(["render", tracks, "--camera", "ccd", "-o", str(files / "x.tif")]) == 2
    assert "Invalid value for '--camera'" in capsys.readouterr().err
    assert main(["likelihood", str(files / "none.tif"), tracks]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (files / "x.tif").exists()
