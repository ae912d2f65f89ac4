"""What the test-time rotation budget costs in accuracy: a wavelet alpha regressor trained as
in the AnDi table (1000 tracks of 100 points, repeat 0: 3 networks, cosine, 40 epochs),
read with 1, 2 and 4 fixed rotations per track.

Test sets: the table's held-out tracks (100 points) and andi-datasets tracks (when the cache of
``learn_andi.py`` holds them), plus held-out tracks of 30, 50, 200 and 400 points of the same
generator (another seed); MAE and the paired difference of the absolute errors with one
rotation minus two (mean +- standard error over tracks).

    .venv/bin/python benchmarks/tta_andi.py [--model saved.sptm]   # ~8 min on one core

Writes ``benchmarks/results/learn_andi/tta.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "learn_andi"
ANDI_CACHE = HERE / ".cache" / "andi_datasets_test_d2_L100_n1000_seed20261123.npz"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="a saved regressor instead of training one")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    import sptmotion.learn.estimators as E
    from sptmotion.datasets import andi
    from sptmotion.learn import AlphaRegressor

    torch.set_num_threads(args.threads)
    t0 = time.time()
    if args.model:
        reg = E.load_estimator(args.model)
    else:
        da = andi(1000, 100, dim=2, task="alpha", rng=1000, mix="andi-datasets")
        reg = AlphaRegressor(
            "wavelet", random_state=0, n_threads=args.threads, n_models=3,
            lr_schedule="cosine", max_epochs=40,
        ).fit(np.asarray(da.X), np.asarray(da.alpha, float))  # fmt: skip
    fit_s = time.time() - t0
    sets = []
    ha = andi(1000, 100, dim=2, task="alpha", rng=999, mix="andi-datasets")
    sets.append(("heldout", 100, np.asarray(ha.X), np.asarray(ha.alpha, float)))
    if ANDI_CACHE.exists():
        with np.load(ANDI_CACHE) as f:
            sets.append(("andi_datasets", 100, f["X_alpha"], f["alpha"]))
    for T in (30, 50, 200, 400):
        h = andi(1000, T, dim=2, task="alpha", rng=997, mix="andi-datasets")
        sets.append(("heldout (seed 997)", T, np.asarray(h.X), np.asarray(h.alpha, float)))
    budget = E.TTA_POINT_BUDGET
    rows = []
    for name, T, X, a in sets:
        err = {}
        for k in (1, 2, 4):
            # exactly k rotations at this length
            err[k] = np.abs(reg.set_params(tta_points=k * T).predict(X) - a)
        d = err[1] - err[2]
        rows.append(
            {
                "test": name, "points": T, "default_rotations": E.tta_count(4, T),
                **{f"mae_{k}": float(err[k].mean()) for k in err},
                "paired_1_minus_2": float(d.mean()),
                "paired_se": float(d.std(ddof=1) / np.sqrt(len(d))),
            }
        )  # fmt: skip
        print(rows[-1], flush=True)
    source = f"read from {args.model}" if args.model else f"fit {fit_s:.0f} s"
    lines = [
        "# Test-time rotations: what one pass costs",
        "",
        f"`benchmarks/tta_andi.py`: one wavelet alpha regressor (AnDi table settings, repeat 0; "
        f"{source}), 1000 test tracks per row. Default: the rotations `tta_count` "
        f"gives (budget {budget} points).",
        "",
        "| test set | points | default rotations | MAE 1 | MAE 2 | MAE 4 | 1 minus 2 (paired) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['test']} | {r['points']} | {r['default_rotations']} | {r['mae_1']:.4f} | "
            f"{r['mae_2']:.4f} | {r['mae_4']:.4f} | "
            f"{r['paired_1_minus_2']:+.4f} +- {r['paired_se']:.4f} |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tta.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "tta.json").write_text(json.dumps({"fit_s": fit_s, "rows": rows}, indent=1))
    print(f"wrote {RESULTS / 'tta.md'} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
