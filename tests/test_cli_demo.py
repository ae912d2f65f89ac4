"""The motion stage of ``sptmotion demo``: every model simulated, alpha estimated two ways."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sptmotion.cli import main
from sptmotion.motion import MODELS
from sptmotion.studies.motion_demo import run_motion_demo


def test_run_motion_demo_table():
    df = run_motion_demo(n_tracks=100, n_steps=100, seed=3)
    assert list(df["model"]) == list(MODELS)
    assert df[["alpha_true", "alpha_mle_mean", "alpha_tamsd_mean"]].notna().all().all()
    rows = df.set_index("model")
    assert rows.loc["fbm", "mle_estimator"] == "fbm" and rows.loc["sbm", "mle_estimator"] == "sbm"
    assert rows.loc["bm", "mle_estimator"] == "fbm (generic)"
    # exact MLEs recover alpha: within 4 standard errors of the mean (+0.02 for O(1/n) bias)
    for m in ("fbm", "sbm", "bm"):
        r = rows.loc[m]
        assert abs(r.alpha_mle_mean - r.alpha_true) < 4 * r.alpha_mle_std / np.sqrt(100) + 0.02
    # the TAMSD of SBM (alpha 1.5) grows linearly: weak ergodicity breaking shows in the table
    assert abs(rows.loc["sbm", "alpha_tamsd_mean"] - 1.0) < 0.1
    # same seed, same table
    pd.testing.assert_frame_equal(df, run_motion_demo(n_tracks=100, n_steps=100, seed=3))


def test_demo_cli_writes_table(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(
        [
            "demo",
            "--output",
            str(out),
            "--motion-only",
            "--n",
            "20",
            "--steps",
            "30",
            "--seed",
            "1",
        ]
    )
    assert rc == 0
    table = pd.read_csv(out / "models.csv")
    assert list(table["model"]) == list(MODELS)
    assert "MLE" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", "3"], "--steps"),
        (["--n", "1"], "--n"),
        (["--seed", "-2"], "--seed"),
    ],
)
def test_demo_cli_bad_input(tmp_path, capsys, args, message):
    """Out-of-range options are usage errors: one line, exit 2 (click's convention)."""
    out = tmp_path / "demo"
    rc = main(["demo", "--output", str(out), *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1
    assert not (out / "models.csv").exists()


def test_demo_cli_output_is_a_file(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["demo", "--output", str(f)]) == 1
    assert "must be a folder" in capsys.readouterr().err
