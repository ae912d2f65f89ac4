"""Batch analysis on Dask: a 2-worker local cluster gives the same table as a serial run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sptmotion.analysis import COMPLETE_MARKER, analyze_batch
from sptmotion.analysis.batch import read_results
from sptmotion.cli import main
from sptmotion.datasets import tracks_to_table, write_table
from sptmotion.motion import MODELS

DT = 0.03


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """20 small track tables (2 tracks of 30 points each) and one unreadable file."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(11)
    for i in range(20):
        model = MODELS["bm"](D=0.1) if i % 2 else MODELS["fbm"](alpha=0.5, D=0.1)
        X, _ = model.sample(2, 29, dim=2, dt=DT, rng=rng)
        write_table(tracks_to_table(X), d / f"tracks{i:02d}.csv")
    (d / "tracks99.parquet").write_bytes(b"this is not a parquet file")
    return d


@pytest.mark.slow
def test_batch_on_local_cluster_equals_serial(inputs: Path, tmp_path: Path):
    pattern = str(inputs / "tracks*")
    # figures=False: the PNGs are tested in test_report.py; here only the tables matter
    opts = {"dt": DT, "figures": False, "progress": False}
    serial = analyze_batch(pattern, tmp_path / "serial", workers=0, **opts)
    dask = analyze_batch(pattern, tmp_path / "dask", workers=2, **opts)
    # 20 tables x 2 tracks + 1 failed input
    assert len(serial) == 41
    pd.testing.assert_frame_equal(serial, dask)
    failed = serial[serial["status"] == "failed"]
    assert len(failed) == 1 and failed["input"].iloc[0].endswith("tracks99.parquet")
    assert "cannot read track table" in failed["error"].iloc[0]
    ok = serial[serial["status"] == "done"]
    assert ok["input"].nunique() == 20 and (ok["error"] == "").all()
    # every finished input has its own complete report; the failed one has no folder
    for i in range(20):
        assert (tmp_path / "dask" / f"tracks{i:02d}" / COMPLETE_MARKER).is_file()
    assert not (tmp_path / "dask" / "tracks99").exists()
    pd.testing.assert_frame_equal(read_results(tmp_path / "dask" / "results.csv"), dask)


def test_rerun_skips_finished_inputs(inputs: Path, tmp_path: Path, capsys):
    out = tmp_path / "b"
    files = [str(inputs / f"tracks{i:02d}.csv") for i in range(3)]
    first = analyze_batch(files, out, dt=DT, figures=False, progress=False)
    marker = out / "tracks01" / COMPLETE_MARKER
    stamp = marker.stat().st_mtime_ns
    assert main(["analyze", *files, "--dt", str(DT), "-o", str(out)]) == 0
    assert "0 analyzed, 3 already finished, 0 failed" in capsys.readouterr().out
    assert marker.stat().st_mtime_ns == stamp
    again = read_results(out / "results.csv")
    assert set(again["status"]) == {"cached"}
    cols = [c for c in first.columns if c != "status"]
    pd.testing.assert_frame_equal(
        first[cols].reset_index(drop=True), again[cols].reset_index(drop=True), check_dtype=False
    )
