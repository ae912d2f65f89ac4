"""Inference speed of the bundled learned models (issue: fast inference), and what it costs.

Targets: 10,000 tracks of 100 points, and 10,000 tracks of mixed lengths 20-500 points
(log-uniform), each through both bundled models (alpha with its std, and the model
probabilities) in at most 60 s on 2 cores. Timed, on this machine:

- ``sptmotion.learn.predict_tracks`` (what ``analyze`` runs: one wavelet pass shared by both
  models), wall time, 2 torch threads;
- ``sptmotion predict`` of each bundled model on the same table, as a fresh process (reading
  the CSV included), the sum of the two, and ``predict alpha --also model`` (both in one
  process, one transform);
- the accuracy the speed-ups leave: on plain AnDi tracks with BM (no blur or added noise)
  of 30, 100 and 300 points, alpha MAE, coverage of the 95%
  interval and model accuracy with the length-dependent test-time rotations
  (``tta_count``) against four rotations for every track, as before.

    .venv/bin/python benchmarks/bench_inference.py [--n 10000] [--n-check 1000]

Writes ``benchmarks/results/inference/inference.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "inference"
ROOT = Path(__file__).resolve().parent.parent


def _tracks(n: int, mixed: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """Brownian tracks (µm, D = 0.1 µm²/s, dt = 0.03 s) with 20 nm noise."""
    if mixed:
        lengths = np.exp(rng.uniform(np.log(20), np.log(500), n)).astype(int)
    else:
        lengths = np.full(n, 100)
    s = np.sqrt(2 * 0.1 * 0.03)
    return [
        np.cumsum(s * rng.standard_normal((L, 2)), axis=0) + 0.02 * rng.standard_normal((L, 2))
        for L in lengths
    ]


def _table(tracks: list[np.ndarray]) -> pd.DataFrame:
    lengths = np.array([len(t) for t in tracks])
    xy = np.concatenate(tracks)
    return pd.DataFrame(
        {
            "particle": np.repeat(np.arange(len(tracks)), lengths),
            "frame": np.concatenate([np.arange(L) for L in lengths]),
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )


def _cli_predict(model: Path, table: Path, out: Path, also: Path | None = None) -> float:
    cmd = [sys.executable, "-m", "sptmotion", "predict", str(model), str(table), "-o", str(out)]
    if also is not None:
        cmd += ["--also", str(also)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def _accuracy_check(n: int) -> list[dict]:
    import sptmotion.learn.estimators as E
    from sptmotion.analysis.pretrained import load_models
    from sptmotion.datasets import andi

    m = load_models()
    budget = E.TTA_POINT_BUDGET
    rows = []
    for L in (30, 100, 300):
        d1 = andi(n, L, 2, task="alpha", rng=9100 + L, include_bm=True)
        d2 = andi(n, L, 2, task="model", rng=9200 + L, include_bm=True)
        truth = np.asarray(d2.model).astype(str)
        for label, point_budget in (("4 (before)", 10**9), ("tta_count (now)", budget)):
            E.TTA_POINT_BUDGET = point_budget  # tta_count(4, L) = min(4, budget // L)
            try:
                a, s = m.regressor.predict(d1.X, return_std=True)
                p = m.classifier.predict_proba(d2.X)
                n_rot = E.tta_count(int(m.regressor.test_rotations), L)
            finally:
                E.TTA_POINT_BUDGET = budget
            pred = np.asarray(m.classifier.classes_)[p.argmax(1)]
            rows.append(
                {
                    "length": L,
                    "rotations": label,
                    "n_rotations": n_rot,
                    "alpha_mae": float(np.mean(np.abs(a - d1.alpha))),
                    "alpha_cov95": float(np.mean(np.abs(a - d1.alpha) <= 1.959964 * s)),
                    "model_accuracy": float(np.mean(pred == truth)),
                    "bm_called_non_bm": float(np.mean(pred[truth == "bm"] != "bm")),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="tracks per timing set")
    ap.add_argument("--n-check", type=int, default=1000, help="tracks per length and task")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    from sptmotion.analysis.pretrained import bundled_model_paths, load_models
    from sptmotion.learn import predict_tracks

    torch.set_num_threads(2)
    models = load_models()
    alpha_path, model_path = bundled_model_paths()
    rng = np.random.default_rng(args.seed)
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, mixed in (("length 100", False), ("lengths 20-500", True)):
            tracks = _tracks(args.n, mixed, rng)
            predict_tracks(models.regressor, models.classifier, tracks[:50])  # warm-up (numba)
            t0 = time.perf_counter()
            predict_tracks(models.regressor, models.classifier, tracks)
            api = time.perf_counter() - t0
            table = Path(tmp) / "tracks.csv"
            _table(tracks).to_csv(table, index=False)
            cli_a = _cli_predict(alpha_path, table, Path(tmp) / "a.csv")
            cli_m = _cli_predict(model_path, table, Path(tmp) / "m.csv")
            cli_am = _cli_predict(alpha_path, table, Path(tmp) / "am.csv", also=model_path)
            lengths = np.array([len(t) for t in tracks])
            timings[name] = {
                "n_tracks": len(tracks),
                "mean_length": float(lengths.mean()),
                "distinct_lengths": int(len(np.unique(lengths))),
                "predict_tracks_s": api,
                "cli_predict_alpha_s": cli_a,
                "cli_predict_model_s": cli_m,
                "cli_predict_both_s": cli_a + cli_m,
                "cli_predict_also_s": cli_am,
            }
            print(name, timings[name], flush=True)
    check = _accuracy_check(args.n_check)
    res = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible, 2 torch threads",
        "load_at_start": os.getloadavg()[0],
        "timings": timings,
        "accuracy": check,
        "settings": vars(args),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inference.json").write_text(json.dumps(res, indent=2))
    lines = [
        "# Inference speed of the bundled models (`benchmarks/bench_inference.py`)",
        "",
        f"Machine: {res['machine']}. Target: <= 60 s per set of 10,000 tracks, both models.",
        "",
        "| tracks | mean length | distinct lengths | predict_tracks (both, s) | "
        "CLI predict alpha (s) | CLI predict model (s) | CLI both, two calls (s) | "
        "CLI `predict alpha --also model` (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in timings.items():
        lines.append(
            f"| {t['n_tracks']} x {name} | {t['mean_length']:.0f} | {t['distinct_lengths']} | "
            f"{t['predict_tracks_s']:.1f} | {t['cli_predict_alpha_s']:.1f} | "
            f"{t['cli_predict_model_s']:.1f} | {t['cli_predict_both_s']:.1f} | "
            f"{t['cli_predict_also_s']:.1f} |"
        )
    lines += [
        "",
        "Plain AnDi + BM tracks (no blur or added noise; the bundled models were trained on "
        "measured tracks, see `benchmarks/results/pretrained/`), "
        f"{args.n_check} per length and task:",
        "",
        "| length | test-time rotations | n | alpha MAE | 95% coverage | model accuracy | "
        "BM called non-BM |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in check:
        lines.append(
            f"| {r['length']} | {r['rotations']} | {r['n_rotations']} | {r['alpha_mae']:.4f} | "
            f"{r['alpha_cov95']:.3f} | {r['model_accuracy']:.4f} | {r['bm_called_non_bm']:.3f} |"
        )
    (RESULTS / "inference.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return res


if __name__ == "__main__":
    main()
