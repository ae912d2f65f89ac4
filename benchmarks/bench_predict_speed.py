"""The bundled learned models' batched prediction (``predict_tracks``): this tree against an
older commit.

``bench_inference.py`` times one tree; the machine's speed drifts by up to 1.5x between
sessions and minutes, so a change of the prediction code is timed here with the trees
alternating. Timed on 10,000 simulated 2D FBM tracks (alpha 0.6, D = 0.1 µm²/s, 30 nm noise)

- of 100 points (one length), and
- of 20-500 points (log-uniform, 480 distinct lengths; the set of ``bench_inference.py``),

``learn.predict_tracks(regressor, classifier, tracks)`` with the bundled models (both tasks,
one transform; what ``analyze`` runs), each tree in a fresh process, one untimed run per tree
first, then ``--rounds`` runs per tree with the trees alternating; mean wall and CPU seconds,
every run's wall time, and the largest difference of the two trees' outputs.

    .venv/bin/python benchmarks/bench_predict_speed.py --before a82a36f [--rounds 2] [--suffix _x]

Writes ``benchmarks/results/inference/predict_speed.md`` and ``.json`` (``--suffix`` added to
the stem).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _trees import (  # noqa: E402
    ROOT,
    alternate,
    head,
    run_child,
    timed_row,
    timing_cell,
    trees,
    write_results,
)

RESULTS = ROOT / "benchmarks" / "results" / "inference"

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from sptmotion.analysis.pretrained import load_models
from sptmotion.learn import predict_tracks
from sptmotion.motion import MODELS

rng = np.random.default_rng(0)

def tracks(lengths):
    out = []
    for n_points in lengths:
        X, _ = MODELS["fbm"](alpha=0.6, D=0.1).sample(1, int(n_points) - 1, dim=2, dt=0.033,
                                                      rng=int(rng.integers(1 << 30)))
        out.append(X[0] + rng.normal(0.0, 0.03, X[0].shape))
    return out

n = 10000
sets = (("10000 x 100 points", tracks(np.full(n, 100))),
        ("10000 of 20-500 points",
         tracks(np.exp(rng.uniform(np.log(20), np.log(500), n)).astype(int))))
models = load_models()
out = {}
for name, X in sets:
    t0, c0 = time.perf_counter(), time.process_time()
    alpha, std, proba = predict_tracks(models.regressor, models.classifier, X)
    out[name] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                 "alpha": alpha.tolist(), "std": std.tolist(), "proba": proba.tolist()}
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="commit to compare with")
    ap.add_argument("--rounds", type=int, default=2, help="timed runs per tree, alternating")
    ap.add_argument("--suffix", default="", help="added to the result files' names")
    args = ap.parse_args(argv)
    with trees(args.before) as sources:
        runs = alternate(sources, lambda src: run_child(CHILD, src), args.rounds)
    after_head = head()
    res = {"before": args.before, "after": after_head, "cores": os.cpu_count(), "rows": {}}
    lines = [
        f"# Batched prediction of the bundled models: {args.before} vs this tree ({after_head})",
        "",
        f"`benchmarks/bench_predict_speed.py --before {args.before} --rounds {args.rounds}"
        f"{' --suffix ' + args.suffix if args.suffix else ''}`: `predict_tracks(regressor, "
        "classifier, tracks)` with the bundled models on 10,000 simulated 2D FBM tracks, in a "
        f"fresh process per run on the same machine ({os.cpu_count()} cores), one untimed run "
        f"per tree, then {args.rounds} runs per tree with the trees alternating; mean wall / "
        "CPU and every run's wall time; the largest difference of the outputs between the trees.",
        "",
        "| tracks | before: wall / CPU | after: wall / CPU | ratio wall / CPU "
        "| max diff alpha / std / probabilities |",
        "|---|---|---|---|---|",
    ]

    for name in runs["after"][0]:
        row = timed_row(runs, name)
        a, b = runs["after"][0][name], runs["before"][0][name]
        diff = {
            k: float(np.max(np.abs(np.subtract(a[k], b[k])))) for k in ("alpha", "std", "proba")
        }
        row["max_diff"] = diff
        res["rows"][name] = row
        lines.append(
            f"| {name} | {timing_cell(row['before'])} | {timing_cell(row['after'])} | "
            f"{row['ratio_wall']:.2f} / {row['ratio_cpu']:.2f} | {diff['alpha']:.1e} / "
            f"{diff['std']:.1e} / {diff['proba']:.1e} |"
        )
    write_results(RESULTS, "predict_speed" + args.suffix, res, lines)
    return res


if __name__ == "__main__":
    main()
