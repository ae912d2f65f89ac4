"""Memory layout and batch size of the scalogram networks at prediction time, on one tree.

``learn.estimators`` runs the networks in channels-last layout for scalograms padded to at
least ``CHANNELS_LAST_POINTS`` points (``nets.channels_last_copy``, with ``DenseGELU``) in
batches of ``PREDICT_BATCH_POINTS`` points. This script times ``predict_tracks`` with the
bundled models for several settings of the two constants (and the channels-last networks with
PyTorch's own GELU, and the inference copies' GELUs out of place), all in one process with the settings alternating round by round (the
machine's speed drifts by up to 1.5x over minutes; one setting timed after another would
take the drift for its own effect), on the sets of ``bench_predict_speed.py``: 10,000
simulated 2D FBM tracks of 20-500 points (log-uniform) and of 100 points. Reports the median
and every run's wall time, and the largest difference of each setting's outputs from the
plain layout's.

    .venv/bin/python benchmarks/bench_predict_layout.py [--rounds 3] [--settings A,B]
        [--stem layout]   # ~15 min on 2 cores for all settings

``--settings``: a comma-separated subset of the settings' short keys (``plain``, ``cl3200``,
``default``, ``cl12800``, ``cl128``, ``torchgelu``, ``copygelu``; the first one given is the
reference of the output differences). Writes ``benchmarks/results/inference/<stem>.md`` and
``.json``.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _trees import ROOT, head, write_results  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "inference"

#: name -> (CHANNELS_LAST_POINTS, PREDICT_BATCH_POINTS, GELU of the channels-last copies,
#: GELUs of the inference copies in place)
SETTINGS = {
    "plain layout, 3200 points": (10**9, 3200, "dense", True),
    "channels-last from 64, 3200 points": (64, 3200, "dense", True),
    "channels-last from 64, 6400 points (default)": (64, 6400, "dense", True),
    "channels-last from 64, 12800 points": (64, 12800, "dense", True),
    "channels-last from 128, 6400 points": (128, 6400, "dense", True),
    "channels-last from 64, 6400 points, torch's GELU": (64, 6400, "torch", True),
    "default, GELUs out of place": (64, 6400, "dense", False),
}
KEYS = dict(
    zip(
        ("plain", "cl3200", "default", "cl12800", "cl128", "torchgelu", "copygelu"),
        SETTINGS,
        strict=True,
    )
)
#: the settings also timed on the 100-point set
SHORT = (
    "plain layout, 3200 points",
    "channels-last from 64, 3200 points",
    "channels-last from 64, 6400 points (default)",
)


def make_tracks(lengths, rng) -> list[np.ndarray]:
    """2D FBM tracks (alpha 0.6, D = 0.1 µm²/s, dt 0.033 s) with 30 nm noise, in µm."""
    from sptmotion.motion import MODELS

    out = []
    for n_points in lengths:
        X, _ = MODELS["fbm"](alpha=0.6, D=0.1).sample(
            1, int(n_points) - 1, dim=2, dt=0.033, rng=int(rng.integers(1 << 30))
        )
        out.append(X[0] + rng.normal(0.0, 0.03, X[0].shape))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="timed runs per setting, alternating")
    ap.add_argument("--n", type=int, default=10000, help="tracks per set")
    ap.add_argument("--settings", default=None, help="comma-separated keys (default: all)")
    ap.add_argument("--stem", default="layout", help="name of the result files")
    args = ap.parse_args(argv)
    chosen = None
    if args.settings:
        unknown = [k for k in args.settings.split(",") if k not in KEYS]
        if unknown:
            ap.error(f"unknown settings {unknown}; choose from {', '.join(KEYS)}")
        chosen = [KEYS[k] for k in args.settings.split(",")]

    import torch

    from sptmotion.analysis.pretrained import load_models
    from sptmotion.learn import estimators, nets, predict_tracks

    def torch_gelu_copy(net):
        return copy.deepcopy(net).to(memory_format=torch.channels_last)

    def out_of_place_copy(net):
        out = nets.inference_copy(net)
        for module in out.modules():
            if isinstance(module, nets.DenseGELU):
                module.inplace = False
        return out

    copies = {"dense": nets.channels_last_copy, "torch": torch_gelu_copy}
    rng = np.random.default_rng(0)
    n = args.n
    sets = {
        f"{n} of 20-500 points": make_tracks(
            np.exp(rng.uniform(np.log(20), np.log(500), n)).astype(int), rng
        ),
        f"{n} x 100 points": make_tracks(np.full(n, 100), rng),
    }
    models = load_models()
    res = {"tree": head(), "cores": os.cpu_count(), "rounds": args.rounds, "sets": {}}
    defaults = (
        estimators.CHANNELS_LAST_POINTS,
        estimators.PREDICT_BATCH_POINTS,
        estimators.channels_last_copy,
        estimators.inference_copy,
    )
    try:
        for set_name, X in sets.items():
            names = list(SETTINGS) if "20-500" in set_name else list(SHORT)
            if chosen is not None:
                names = chosen
            runs = {k: [] for k in names}
            outs = {}
            for r in range(args.rounds + 1):  # round 0 untimed (caches, first allocations)
                for k in names:
                    points, batch, gelu, inplace = SETTINGS[k]
                    estimators.CHANNELS_LAST_POINTS = points
                    estimators.PREDICT_BATCH_POINTS = batch
                    estimators.channels_last_copy = copies[gelu]
                    estimators.inference_copy = (
                        nets.inference_copy if inplace else out_of_place_copy
                    )
                    t0 = time.perf_counter()
                    out = predict_tracks(models.regressor, models.classifier, X)
                    if r:
                        runs[k].append(time.perf_counter() - t0)
                    outs[k] = np.column_stack(out)
                print(set_name, r, {k: [round(t, 1) for t in v] for k, v in runs.items()})
            ref = outs[names[0]]
            res["sets"][set_name] = {
                k: {
                    "median_wall_s": float(np.median(runs[k])),
                    "wall_runs_s": runs[k],
                    "max_diff_vs_plain": float(np.max(np.abs(outs[k] - ref))),
                }
                for k in names
            }
    finally:
        (
            estimators.CHANNELS_LAST_POINTS,
            estimators.PREDICT_BATCH_POINTS,
            estimators.channels_last_copy,
            estimators.inference_copy,
        ) = defaults
    lines = [
        f"# Network layout and batch size at prediction time ({res['tree']})",
        "",
        f"`benchmarks/bench_predict_layout.py --rounds {args.rounds}"
        + (f" --settings {args.settings}" if args.settings else "")
        + "`: `predict_tracks` with the "
        f"bundled models, one process ({os.cpu_count()} cores), the settings alternating round "
        "by round after one untimed round; median and every run's wall time; largest "
        "difference of the outputs (alpha, its std, the probabilities) from the first "
        "setting's.",
    ]
    for set_name, rows in res["sets"].items():
        lines += [
            "",
            f"## {set_name}",
            "",
            "| setting | median wall | runs | max diff |",
            "|---|---|---|---|",
        ]
        for k, row in rows.items():
            lines.append(
                f"| {k} | {row['median_wall_s']:.1f} s | "
                f"{', '.join(f'{t:.1f}' for t in row['wall_runs_s'])} | "
                f"{row['max_diff_vs_plain']:.1e} |"
            )
    write_results(RESULTS, args.stem, res, lines)
    return res


if __name__ == "__main__":
    main()
