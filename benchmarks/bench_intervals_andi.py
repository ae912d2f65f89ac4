"""The bundled regressor's 95 % alpha intervals on tracks of a generator it was not built on.

Tracks from andi-datasets (``challenge_theory_dataset`` steps, task 1: AnDi-1 models with
andi-datasets' own normalization and localization noise; no motion blur, which andi-datasets
does not simulate), 2D, 1000 per length, in the separate venv of ``_andi_env.py``. For each
length: alpha MAE and bias, and the coverage of the report's 95 % interval (``alpha +- 1.96
std`` cut to [0, 2]) overall and per model, with the bundled length calibration
(``AlphaRegressor.calibrate_lengths``, fitted on ``datasets.measured_andi`` tracks,
``calibrate_bundled.py``) and without it (one interval factor). +- one binomial SE.

    .venv/bin/python benchmarks/bench_intervals_andi.py    # ~3 min (first run builds the venv)

Writes ``benchmarks/results/pretrained/intervals_andi.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _andi_env import andi_datasets_tracks  # noqa: E402
from bench_windows import covered  # noqa: E402

RESULTS = HERE / "results" / "pretrained"
LENGTHS = (25, 35, 50, 100, 300)


def main(argv: list[str] | None = None) -> dict:
    from sptmotion.analysis.pretrained import resolve_models

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="tracks per length")
    ap.add_argument("--seed", type=int, default=424242)
    ap.add_argument("--results", type=Path, default=RESULTS / "intervals_andi")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    reg = resolve_models(None).regressor
    cal = reg.length_scale_
    rows = []
    for i, length in enumerate(LENGTHS):
        X, alpha, model = andi_datasets_tracks("alpha", args.n, length, 2, args.seed + i)
        mu, sd = reg.predict(X, return_std=True)
        factor = np.interp(np.log(length), cal["log_points"], cal["factor"]) if cal else 1.0
        for name, s in (("one factor", sd / factor), ("per length (bundled)", sd)):
            cov = covered(mu, s, alpha)
            rows.append({
                "length": length, "intervals": name, "n": int(len(alpha)),
                "mae": float(np.mean(np.abs(mu - alpha))), "bias": float(np.mean(mu - alpha)),
                "coverage": float(cov.mean()),
                "coverage_se": float(np.sqrt(cov.mean() * (1 - cov.mean()) / len(cov))),
                "per_model": {str(m): float(cov[model == m].mean()) for m in np.unique(model)},
            })  # fmt: skip
        print(length, "done", flush=True)
    report = {"settings": vars(args) | {"results": str(args.results)}, "length_scale": cal,
              "rows": rows, "wall_s": time.perf_counter() - t0}  # fmt: skip
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.with_suffix(".json").write_text(json.dumps(report, indent=1))
    models = sorted(rows[0]["per_model"])
    lines = [
        "# Learned alpha intervals on andi-datasets tracks (`benchmarks/bench_intervals_andi.py`)",
        "",
        f"Bundled regressor; andi-datasets AnDi-1 task-1 tracks (its normalization and "
        f"localization noise, no blur), 2D, {args.n} per length, seeds {args.seed}+i. "
        "Coverage of the 95% interval +- one binomial SE.",
        "",
        "| points | intervals | alpha MAE | bias | coverage | " + " | ".join(models) + " |",
        "|---|---|---|---|---|" + "---|" * len(models),
    ]
    for r in rows:
        cells = " | ".join(f"{r['per_model'][m]:.3f}" for m in models)
        lines.append(f"| {r['length']} | {r['intervals']} | {r['mae']:.3f} | {r['bias']:+.3f} | "
                     f"{r['coverage']:.3f} +- {r['coverage_se']:.3f} | {cells} |")  # fmt: skip
    lines += ["", f"Wall time {report['wall_s']:.0f} s."]
    args.results.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main()
