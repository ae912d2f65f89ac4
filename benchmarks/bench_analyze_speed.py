"""`analyze` on 200 (or more) tracks: this tree against an older commit.

Targets: nothing slower than before the measurement model by more than 2x (issue: measured
answers, point 4; 200 tracks); 10,000 tracks of 100 points and 10,000 of 20-500 points each
in <= 60 s on 2 cores (issue: learned models, point 5; ``--tracks 10000``). Times
``analyze_table(table, None, dt=0.033, figures=False)`` (likelihood fits of BM, DBM, FBM, SBM
through the measurement model, learned models, verdict) on

- N 2D FBM tracks (alpha 0.6, D = 0.1 µm²/s, 30 nm noise) of 100 points, and
- N such tracks of 20-500 points (log-uniform; about 150 distinct lengths for N = 200, all
  481 for N = 10,000, each its own covariance),

for this tree and for ``--before`` (default 64c0f58, the last commit before the measurement
model), each in a fresh process on the same machine, one untimed run first (numba's cache
warm, as for a user's second analysis), then ``--rounds`` timed runs per tree with the trees
alternating (the machine's speed drifts by up to 1.5x over minutes, which a tree timed after
the other would take for its own); mean wall and CPU seconds, and every run's wall time.

    .venv/bin/python benchmarks/bench_analyze_speed.py [--before 64c0f58] [--tracks 200]
        [--rounds 2] [--suffix _x]

Writes ``benchmarks/results/measured/speed.md`` and ``.json`` (N = 200), else
``speed_<N>.md`` and ``.json`` (``--suffix`` added to the stem).
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
    timing_cell,
    trees,
    write_results,
)

RESULTS = ROOT / "benchmarks" / "results" / "measured"

# Runs in a fresh interpreter with the tree under test first on sys.path.
CHILD = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np, pandas as pd
from sptmotion.analysis import analyze_table
from sptmotion.motion import MODELS

rng = np.random.default_rng(0)

def table(lengths):
    rows = []
    for i, n_points in enumerate(lengths):
        seed = int(rng.integers(1 << 30))
        X, _ = MODELS["fbm"](alpha=0.6, D=0.1).sample(1, int(n_points) - 1, dim=2, dt=0.033,
                                                      rng=seed)
        X = X[0] + rng.normal(0.0, 0.03, X[0].shape)
        rows.append(pd.DataFrame({"particle": i, "frame": np.arange(n_points),
                                  "x": X[:, 0], "y": X[:, 1]}))
    return pd.concat(rows, ignore_index=True)

n = int(sys.argv[2])
mixed = np.exp(rng.uniform(np.log(20), np.log(500), n)).astype(int)
out = {}
for name, lengths in ((f"{n} x 100 points", np.full(n, 100)), (f"{n} of 20-500 points", mixed)):
    df = table(lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        analyze_table(df, None, dt=0.033, figures=False)
        out[name] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                     "distinct_lengths": int(len(np.unique(lengths)))}
print(json.dumps(out))
"""


def _time(src: Path, n: int) -> dict:
    return run_child(CHILD, src, str(n))


def _mean_runs(runs: list[dict]) -> dict:
    """Mean wall and CPU seconds per set over runs, with every run's wall time kept."""
    out = {}
    for name in runs[0]:
        rows = [r[name] for r in runs]
        out[name] = {
            "wall_s": float(np.mean([r["wall_s"] for r in rows])),
            "cpu_s": float(np.mean([r["cpu_s"] for r in rows])),
            "wall_runs_s": [r["wall_s"] for r in rows],
            "distinct_lengths": rows[0]["distinct_lengths"],
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--before", default="64c0f58", help="commit to compare with ('none': this tree only)"
    )
    ap.add_argument("--tracks", type=int, default=200, help="tracks per set")
    ap.add_argument(
        "--rounds", type=int, default=2, help="timed runs per tree, the trees alternating"
    )
    ap.add_argument("--suffix", default="", help="added to the result files' names")
    args = ap.parse_args(argv)
    n = args.tracks
    with trees(args.before) as sources:
        runs = alternate(sources, lambda src: _time(src, n), args.rounds)
    after_head = head()
    after = _mean_runs(runs["after"])
    before = _mean_runs(runs["before"]) if "before" in runs else None
    rounds = len(runs["after"])
    res = {
        "before": args.before, "after": after_head, "cores": os.cpu_count(), "tracks": n,
        "rounds": rounds, "rows": {},
    }  # fmt: skip
    order = "the trees alternating, " if before is not None else ""
    lines = [
        f"# analyze on {n:,} tracks: {args.before} vs this tree ({after_head})",
        "",
        f"`benchmarks/bench_analyze_speed.py --before {args.before} --tracks {n} --rounds "
        f"{rounds}`: `analyze_table(table, None, dt=0.033, figures=False)` on {n:,} simulated "
        "2D FBM tracks (30 nm noise), each run in a fresh process on the same machine "
        f"({os.cpu_count()} cores) after one untimed run per tree (numba cache warm); "
        f"{rounds} timed runs per tree, {order}mean wall / CPU and every run's wall time.",
        "",
        "| tracks | before: wall / CPU | after: wall / CPU | ratio wall / CPU |",
        "|---|---|---|---|",
    ]
    if before is None:
        lines[0] = f"# analyze on {n:,} tracks ({after_head})"
        lines[-2:] = ["| tracks | wall / CPU |", "|---|---|"]

    for name in after:
        a = after[name]
        label = f"{name} ({a['distinct_lengths']} distinct lengths)"
        if before is None:
            res["rows"][name] = {"after": a}
            lines.append(f"| {label} | {timing_cell(a)} |")
            continue
        b = before[name]
        rw, rc = a["wall_s"] / b["wall_s"], a["cpu_s"] / b["cpu_s"]
        res["rows"][name] = {"before": b, "after": a, "ratio_wall": rw, "ratio_cpu": rc}
        lines.append(f"| {label} | {timing_cell(b)} | {timing_cell(a)} | {rw:.2f} / {rc:.2f} |")
    stem = ("speed" if n == 200 else f"speed_{n}") + args.suffix
    write_results(RESULTS, stem, res, lines)
    return res


if __name__ == "__main__":
    main()
