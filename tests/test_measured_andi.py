"""Training tracks through the measurement model (``datasets.measured.measured_andi``):
the blur of the exposure average, the noise at the drawn SNR, gaps, and reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sptmotion.cli import main
from sptmotion.datasets.measured import measured_andi


def _bm_steps(exposure: float, K: int = 4) -> np.ndarray:
    df = measured_andi(
        3000,
        rng=7,
        lengths=(60, 60),
        exposure_ratio=(exposure, exposure),
        D_range=(1.0, 1.0),
        noise_free=1.0,
        missing=(0.0, 0.0),
        subframes=K,
    )
    bm = df[df["model"] == "bm"]
    return np.concatenate(
        [np.diff(g[["x", "y"]].to_numpy(), axis=0) for _, g in bm.groupby("particle")]
    )


@pytest.mark.parametrize("exposure, K", [(0.0, 4), (1.0, 4)])
def test_exposure_average_has_the_blurred_brownian_step_variance(exposure, K):
    """Unit-variance fine steps, K per frame: an instantaneous frame step has variance K; the
    difference of two consecutive K-point averages of a random walk has (2 K^2 + 1) / (3 K)."""
    steps = _bm_steps(exposure, K).ravel()
    want = K if exposure == 0 else (2 * K**2 + 1) / (3 * K)
    # per-track RMS normalization makes each track's fine steps unit on average: tolerance from
    # the sampling error of the mean square (4 SE) plus 2% for that normalization
    se = np.std(steps**2) / np.sqrt(steps.size)
    assert abs(np.mean(steps**2) - want) < 4 * se + 0.02 * want


def test_noise_gaps_labels_and_lengths():
    df = measured_andi(2048, rng=1, lengths=(20, 300))
    lab = df.groupby("particle").first()
    assert set(lab["model"]) == {"attm", "ctrw", "fbm", "lw", "sbm", "bm", "dbm"}
    assert lab["D"].between(0.01, 10).all() and lab["exposure_ratio"].between(0, 1).all()
    noisy = np.isfinite(lab["snr"])
    assert 0.7 < noisy.mean() < 0.9 and (lab.loc[~noisy, "sigma"] == 0).all()
    assert (lab.loc[noisy, "sigma"] > 0).mean() > 0.95  # 0 only where the motion never moved (CTRW)
    span = df.groupby("particle")["frame"].agg(["min", "max", "size"])
    assert (span["min"] == 0).all() and (span["max"] + 1).between(20, 300).all()
    gaps = (span["max"] + 1 - span["size"]) / (span["max"] + 1)
    assert 0.05 < gaps.mean() < 0.15  # missing fraction uniform in 0-0.2 per track


def test_same_seed_same_table_whatever_the_blocks():
    whole = measured_andi(1100, rng=4, lengths=(20, 100))
    second = measured_andi(1100, rng=4, blocks=(1, 2), lengths=(20, 100))
    pd.testing.assert_frame_equal(
        whole[whole["particle"] >= 1024].reset_index(drop=True), second.reset_index(drop=True)
    )


def test_cli_measured(tmp_path):
    out = tmp_path / "m.parquet"
    assert (
        main(["simulate", "--andi", "--measured", "--n", "50", "--seed", "2", "-q", "-o", str(out)])
        == 0
    )
    df = pd.read_parquet(out)
    assert {"exposure_ratio", "snr", "sigma", "D", "missing"} <= set(df.columns)
    assert main(["simulate", "--model", "bm", "--measured", "-o", str(tmp_path / "x.csv")]) == 1
