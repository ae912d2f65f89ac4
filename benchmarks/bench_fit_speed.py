"""The likelihood fits of FBM and SBM (``fit_measured``): this tree against an older commit.

Their cost grows as L^3 per distinct track length L (FBM) and with the number of alpha grid
points evaluated per length, so it is set by the long tracks of a data set. Timed on

- the real F-actin bead tracks of Granik et al. 2019 (``../shared/data/granik2019``, 867
  tracks of 200-1943 points, 228 distinct lengths; positions in pixels x 0.1 µm, dt 0.033 s:
  the times, not the numbers, are the point here), and
- 10,000 simulated 2D FBM tracks (alpha 0.6, D = 0.1 µm²/s, 30 nm noise) of 20-500 points
  (log-uniform; the set of ``bench_analyze_speed.py``), and
- one such track of 3000 points (a single length: one task, whose alphas share the cores),

``fit_measured(tracks, 0.033, model)`` with sigma estimated, each tree in a fresh process on
the same machine, one untimed run per tree first, then ``--rounds`` runs per tree with the
trees alternating (the machine's speed drifts by up to 1.5x over minutes); mean wall and CPU
seconds and every run's wall time; and the largest difference of the two trees' estimates.

    .venv/bin/python benchmarks/bench_fit_speed.py --before 14973a3 [--rounds 3] [--suffix _x]

Writes ``benchmarks/results/measured/fit_speed.md`` and ``.json`` (``--suffix`` added to the
stem).
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

RESULTS = ROOT / "benchmarks" / "results" / "measured"
GRANIK = ROOT.parent / "shared" / "data" / "granik2019" / "625nm_mesh_size.mat"

CHILD = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np, scipy.io
from sptmotion.motion import MODELS
from sptmotion.motion.measured import fit_measured

tr = scipy.io.loadmat(sys.argv[2])["tr"]
cut = np.flatnonzero(np.diff(tr[:, 2].astype(int))) + 1
granik = [t[:, :2] * 0.1 for t in np.split(tr, cut)]
rng = np.random.default_rng(0)
mixed = []
for n_points in np.exp(rng.uniform(np.log(20), np.log(500), 10000)).astype(int):
    X, _ = MODELS["fbm"](alpha=0.6, D=0.1).sample(1, int(n_points) - 1, dim=2, dt=0.033,
                                                  rng=int(rng.integers(1 << 30)))
    mixed.append(X[0] + rng.normal(0.0, 0.03, X[0].shape))
X, _ = MODELS["fbm"](alpha=0.6, D=0.1).sample(1, 2999, dim=2, dt=0.033, rng=1)
long = [X[0] + rng.normal(0.0, 0.03, X[0].shape)]
sets = (("granik F-actin", granik), ("10000 of 20-500 points", mixed),
        ("one track of 3000 points", long))
out = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, tracks in sets:
        for model in ("fbm", "sbm"):
            t0, c0 = time.perf_counter(), time.process_time()
            est = fit_measured(tracks, 0.033, model)
            out[f"{name}, {model}"] = {
                "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                "alpha": est["alpha"].tolist(), "alpha_lo": est["alpha_lo"].tolist(),
                "alpha_hi": est["alpha_hi"].tolist(),
                "log_likelihood": est["log_likelihood"].tolist(),
            }
print(json.dumps(out))
"""


def _time(src: Path) -> dict:
    return run_child(CHILD, src, str(GRANIK))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="commit to compare with")
    ap.add_argument("--rounds", type=int, default=3, help="timed runs per tree, alternating")
    ap.add_argument("--suffix", default="", help="added to the result files' names")
    args = ap.parse_args(argv)
    with trees(args.before) as sources:
        runs = alternate(sources, _time, args.rounds)
    after_head = head()
    res = {"before": args.before, "after": after_head, "cores": os.cpu_count(), "rows": {}}
    lines = [
        f"# FBM and SBM fits: {args.before} vs this tree ({after_head})",
        "",
        f"`benchmarks/bench_fit_speed.py --before {args.before} --rounds {args.rounds}"
        f"{' --suffix ' + args.suffix if args.suffix else ''}`: "
        "`fit_measured(tracks, 0.033, model)` (sigma estimated) in a fresh process per run on "
        f"the same machine ({os.cpu_count()} cores), one untimed run per tree, then "
        f"{args.rounds} runs per tree with the trees alternating; mean wall / CPU and every "
        "run's wall time; the largest difference of the estimates between the trees.",
        "",
        "| tracks, model | before: wall / CPU | after: wall / CPU | ratio wall / CPU "
        "| max diff alpha / interval ends / log-likelihood |",
        "|---|---|---|---|---|",
    ]
    for name in runs["after"][0]:
        row = timed_row(runs, name)
        a, b = runs["after"][0][name], runs["before"][0][name]
        diff = {
            k: float(np.nanmax(np.abs(np.subtract(a[k], b[k]))))
            for k in ("alpha", "alpha_lo", "alpha_hi", "log_likelihood")
        }
        row["max_diff"] = diff
        res["rows"][name] = row

        ends = max(diff["alpha_lo"], diff["alpha_hi"])
        lines.append(
            f"| {name} | {timing_cell(row['before'])} | {timing_cell(row['after'])} | "
            f"{row['ratio_wall']:.2f} / {row['ratio_cpu']:.2f} | {diff['alpha']:.4f} / "
            f"{ends:.4f} / {diff['log_likelihood']:.4f} |"
        )
    stem = "fit_speed" + args.suffix
    write_results(RESULTS, stem, res, lines)
    return res


if __name__ == "__main__":
    main()
