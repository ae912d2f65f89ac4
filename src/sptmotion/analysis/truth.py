"""Simulations: every track matched to the nearest true particle, for figures and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .trackset import TrackSet, nearest_modular

__all__ = ["match_truth", "true_index", "closest_modular"]


def closest_modular(
    table: pd.DataFrame | None, mean: np.ndarray, dt: float
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The modular track closest (mean lateral distance over shared frames) to a Bayesian track."""
    pid = nearest_modular(table, mean)
    if pid is None:
        return None, None
    best = table[table["particle"] == pid].sort_values("frame")
    xyz = np.column_stack(
        [best[c].to_numpy(dtype=float) if c in best else np.full(len(best), np.nan) for c in "xyz"]
    )
    return xyz, best["frame"].to_numpy() * dt


def true_index(results: pd.DataFrame, m: int) -> int:
    """Index of the true particle matched to Bayesian emitter ``m``."""
    row = results[(results["tracker"] == "bayes") & (results["particle"] == m)]
    return int(row["true_particle"].iloc[0]) if "true_particle" in row and len(row) else m


def match_truth(
    results: pd.DataFrame,
    tracksets: Sequence[TrackSet],
    truth: np.ndarray,
    labels: Sequence[dict] | None,
) -> pd.DataFrame:
    """Add the nearest true particle of every track (simulations)."""
    res = results.copy()
    res["true_particle"] = -1
    res["true_distance_um"] = np.nan
    for ts in tracksets:
        starts = ts.first_frames or [0] * len(ts.tracks)
        for tr, pid, f0 in zip(ts.tracks, ts.particles, starts, strict=True):
            seg = truth[:, f0 : f0 + len(tr), :2]
            n = seg.shape[1]
            d = [float(np.mean(np.hypot(*(tr[:n, :2] - seg[m]).T))) for m in range(len(truth))]
            row = (res["tracker"] == ts.source) & (res["particle"] == pid)
            res.loc[row, "true_particle"] = int(np.argmin(d))
            res.loc[row, "true_distance_um"] = float(np.min(d))
    for key in sorted({k for lab in labels or () for k in lab}):
        res[f"true_{key}"] = [labels[i].get(key) if i >= 0 else None for i in res["true_particle"]]
    return res
