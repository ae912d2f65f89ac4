"""``sptmotion simulate``: tables, sub-frames, Dask chunking, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sptmotion._checks import BLOCK_SIZE
from sptmotion.cli import main
from sptmotion.datasets import andi, read_table


def test_model_table(tmp_path):
    out = tmp_path / "tracks.csv"
    args = ["simulate", "--model", "fbm", "--alpha", "0.6", "--D", "0.1", "--dt", "0.03"]
    assert (
        main(
            [
                *args,
                "--dim",
                "3",
                "--n",
                "50",
                "--steps",
                "20",
                "--seed",
                "1",
                "-o",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    df = read_table(out)
    assert list(df.columns) == ["particle", "frame", "x", "y", "z", "t", "model", "alpha", "D"]
    assert df["particle"].nunique() == 50 and len(df) == 50 * 21
    assert np.allclose(df["t"], 0.03 * df["frame"])
    assert (
        (df["model"] == "fbm").all() and np.allclose(df["alpha"], 0.6) and np.allclose(df["D"], 0.1)
    )
    assert np.all(df.loc[df["frame"] == 0, ["x", "y", "z"]].to_numpy() == 0)


def test_parquet_and_event_driven_model_with_subframes(tmp_path):
    out = tmp_path / "tracks.parquet"
    args = ["simulate", "--model", "ctrw", "--alpha", "0.5", "--tau0", "0.01", "--D", "0.2"]
    assert (
        main(
            [
                *args,
                "--dt",
                "0.1",
                "--n",
                "20",
                "--steps",
                "9",
                "--subframes",
                "4",
                "--seed",
                "2",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    df = pd.read_parquet(out)
    assert "subframe" in df.columns and set(df["subframe"]) == {0, 1, 2, 3}
    assert len(df) == 20 * 10 * 4  # (steps + 1) frames, K rows each
    one = df[df["particle"] == 0]
    assert np.allclose(np.diff(one["t"]), 0.1 / 4)
    assert np.allclose(one["t"], 0.1 * one["frame"] + 0.025 * one["subframe"])


def test_andi_table_has_labels_and_matches_datasets_andi(tmp_path):
    out = tmp_path / "train.csv"
    args = [
        "simulate",
        "--andi",
        "--task",
        "model",
        "--dim",
        "2",
        "--n",
        "300",
        "--length",
        "20,40",
    ]
    assert main([*args, "--seed", "5", "-o", str(out), "--quiet"]) == 0
    df = read_table(out)
    assert {"model", "alpha", "noise"} <= set(df.columns)
    sizes = df.groupby("particle").size()
    assert sizes.min() >= 20 and sizes.max() <= 40
    ref = andi(300, (20, 40), dim=2, task="model", rng=5)
    first = df.groupby("particle").first()
    assert np.array_equal(first["model"].to_numpy(), ref.model)
    assert np.allclose(first["alpha"].to_numpy(), ref.alpha)
    x0 = df.loc[df["particle"] == 7, ["x", "y"]].to_numpy()
    assert np.allclose(x0, ref.X[7])


@pytest.mark.parametrize(
    "args",
    [
        ["--andi", "--length", "15"],
        ["--model", "lw", "--alpha", "1.5", "--steps", "15", "--tau0", "0.05"],
    ],
)
def test_dask_workers_give_the_serial_table(tmp_path, args):
    """Same seed, same table, whatever the number of workers (chunks are whole blocks)."""
    n = str(2 * BLOCK_SIZE + 100)  # three blocks, uneven last block
    serial, dask2 = tmp_path / "serial.csv", tmp_path / "dask.csv"
    common = ["simulate", *args, "--n", n, "--seed", "9", "--quiet"]
    assert main([*common, "-o", str(serial)]) == 0
    assert main([*common, "--workers", "2", "--threads", "-o", str(dask2)]) == 0
    assert serial.read_bytes() == dask2.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "fbm", "--alpha", "2.5"], "FBM: alpha must lie in (0, 2)"),
        (["--model", "ctrw", "--alpha", "1.5"], "CTRW: alpha must lie in (0, 1)"),
        (["--model", "bm", "--t-age", "1"], "does not apply to model 'bm'"),
        (["--andi", "--length", "5,3"], "length"),
        (["--andi", "--model", "bm"], "exactly one of"),
        ([], "exactly one of"),
    ],
)
def test_bad_input_exits_1_with_one_line_and_no_file(tmp_path, capsys, args, message):
    out = tmp_path / "x.csv"
    assert main(["simulate", *args, "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "foo"], "Invalid value for '--model'"),
        (["--model", "bm", "--n", "0"], "Invalid value for '--n'"),
        (["--model", "bm", "--dim", "4"], "Invalid value for '--dim'"),
        (["--model", "bm", "--steps", "0"], "Invalid value for '--steps'"),
        (["--andi", "--task", "segment"], "Invalid value for '--task'"),
        (["--model", "bm", "--bogus"], "No such option: --bogus"),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_no_file(tmp_path, capsys, args, message):
    """Unknown options, wrong choices and out-of-range values are usage errors (click: exit 2)."""
    out = tmp_path / "x.csv"
    assert main(["simulate", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert "sptmotion simulate --help" in err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output(tmp_path, capsys):
    assert main(["simulate", "--model", "bm", "-o", str(tmp_path / "missing" / "x.csv")]) == 1
    assert main(["simulate", "--model", "bm", "-o", str(tmp_path / "x.txt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert list(tmp_path.iterdir()) == []
