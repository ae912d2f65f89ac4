"""Time and memory of ``datasets.measured_andi``: this tree against an older commit.

``measured_andi`` draws every track on a fine grid of ``max length x subframes`` steps (4000
with the defaults, 20-1000 points) before the blur, the noise and the cut. Measured per tree,
each run in a fresh process (numba cache warm from one untimed run; the trees alternating):
wall and CPU seconds and the process's peak resident memory for ``--tracks`` tracks of each
task (the class mixes differ: the alpha task has more FBM tracks), and a check that the
tracks are the same kind of data: the mean lag-1 correlation of the frame increments of the
FBM tracks per alpha band (anti-correlated below 1, correlated above) and the mean length.

    .venv/bin/python benchmarks/bench_measured_andi.py [--before 95aaa15] [--tracks 10000]
        [--rounds 2]

Writes ``benchmarks/results/simulate/measured_andi.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _trees import ROOT, alternate, head, run_child, trees  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "simulate"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from sptmotion.datasets.measured import measured_andi

n, task = int(sys.argv[2]), sys.argv[3]
t0, c0 = time.perf_counter(), time.process_time()
df = measured_andi(n, dim=2, task=task, rng=7)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
bands = {"alpha < 0.8": (0.0, 0.8), "0.8-1.2": (0.8, 1.2), "alpha > 1.2": (1.2, 2.1)}
corr = {k: [] for k in bands}
lengths = []
for _, g in df.groupby("particle", sort=False):
    lengths.append(len(g))
    if g["model"].iat[0] != "fbm" or g["snr"].iat[0] != np.inf:
        continue
    f = g["frame"].to_numpy()
    inc = np.diff(g[["x", "y"]].to_numpy(), axis=0)
    ok = np.diff(f) == 1  # increments over one frame
    pair = ok[1:] & ok[:-1]  # and the next one too
    if pair.sum() < 5:
        continue
    r = float(np.mean(inc[1:][pair] * inc[:-1][pair]) / np.mean(inc[ok] ** 2))
    a = g["alpha"].iat[0]
    for k, (lo, hi) in bands.items():
        if lo <= a < hi:
            corr[k].append(r)
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_mb": peak,
                  "mean_length": float(np.mean(lengths)),
                  "fbm_lag1": {k: [float(np.mean(v)), float(np.std(v) / np.sqrt(len(v))), len(v)]
                               for k, v in corr.items() if v}}))
"""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="95aaa15", help="commit to compare with ('none')")
    ap.add_argument("--tracks", type=int, default=10000, help="tracks per task")
    ap.add_argument("--rounds", type=int, default=2, help="timed runs per tree and task")
    args = ap.parse_args(argv)
    res: dict = {"before": args.before, "after": head(), "cores": os.cpu_count(),
                 "tracks": args.tracks, "rounds": args.rounds, "tasks": {}}  # fmt: skip
    with trees(args.before) as sources:
        for task in ("alpha", "model"):
            runs = alternate(
                sources,
                lambda src, task=task: run_child(CHILD, src, str(args.tracks), task),
                args.rounds,
            )
            res["tasks"][task] = runs
    labels = [k for k in ("before", "after") if k in res["tasks"]["alpha"]]
    lines = [
        f"# datasets.measured_andi: {args.before} vs this tree ({res['after']})",
        "",
        f"`benchmarks/bench_measured_andi.py --before {args.before} --tracks {args.tracks} "
        f"--rounds {args.rounds}`: `measured_andi({args.tracks}, dim=2, task=..., rng=7)` with "
        "the default settings (20-1000 points, 4 subframes), each run in a fresh process "
        f"({os.cpu_count()} cores; one untimed run per tree first, then the trees "
        "alternating); mean over the timed runs, peak resident memory of the process.",
        "",
        "| task | tree | wall s | CPU s | peak memory MB | mean length |",
        "|---|---|---|---|---|---|",
    ]
    for task, runs in res["tasks"].items():
        for k in labels:
            r = runs[k]
            lines.append(
                f"| {task} | {k} ({args.before if k == 'before' else res['after']}) | "
                f"{np.mean([x['wall_s'] for x in r]):.1f} | {np.mean([x['cpu_s'] for x in r]):.1f} "
                f"| {max(x['peak_mb'] for x in r):.0f} | {r[0]['mean_length']:.1f} |"
            )
    lines += [
        "",
        "Lag-1 correlation of the one-frame increments of the noise-free FBM tracks "
        "(mean +- SE, tracks), from the first timed run (the same seed in both trees; the "
        "trees draw the FBM series differently when they differ, so the values agree within "
        "their SE, not to the digit):",
        "",
        "| task | tree | " + " | ".join(("alpha < 0.8", "0.8-1.2", "alpha > 1.2")) + " |",
        "|---|---|---|---|---|",
    ]
    for task, runs in res["tasks"].items():
        for k in labels:
            c = runs[k][0]["fbm_lag1"]
            cells = [
                f"{c[b][0]:+.3f} +- {c[b][1]:.3f} ({c[b][2]})" if b in c else "-"
                for b in ("alpha < 0.8", "0.8-1.2", "alpha > 1.2")
            ]
            lines.append(f"| {task} | {k} | " + " | ".join(cells) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "measured_andi.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / "measured_andi.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return res


if __name__ == "__main__":
    main()
