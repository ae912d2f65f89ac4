"""How far below 0 sigma² may go in the FBM fit: the choice of ``measured._EXTEND``.

With sigma estimated, :func:`sptmotion.motion.fit_measured` maximizes over sigma² down to a
fraction (``_EXTEND``) of the most negative value that keeps the covariance positive definite
(held at sigma² >= 0, short antipersistent tracks' alpha is pulled up). This script measures
the bias of alpha, its spread, and the coverage of the 95% intervals of alpha and sigma for
several fractions on tracks of ``bench_measured.py``'s own camera simulator drawn with
another seed than the acceptance run
(seed 7; T = 50 and 100 points, t_E = 0.5 dt, sigma 10 and 30 nm, alpha 0.2, 0.5, 1.0, 1.2,
1.5, 400 tracks per cell), so that the fraction is not chosen on the tracks it is judged on.

Rule (:func:`choose`): among the fractions whose sigma intervals still cover (pooled coverage
over the cells with SNR >= 1 at least 0.95 minus two binomial standard errors), the one with
the fewest cells of |bias| > 0.05, then the smallest largest |bias|. (The bias alone would
pick 0.5, whose sigma intervals cover 0.93 pooled and down to 0.87 in a cell.)

    .venv/bin/python benchmarks/choose_extend.py [--values 0,0.25,0.5,0.7,0.8,0.9] [--n 400]

Writes ``benchmarks/results/measured/extend.md`` (~25 s on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_measured import D_TRUE, DT, OUT, camera_tracks  # noqa: E402
from sptmotion.motion import fit_measured, measured  # noqa: E402

ALPHAS = (0.2, 0.5, 1.0, 1.2, 1.5)
SIGMAS = (0.010, 0.030)
LENGTHS = (50, 100)
RATIO = 0.5


def cell(T: int, alpha: float, sigma: float, n: int, values, seed: int) -> list[dict]:
    """Bias (with its SE), median error and interval coverage of alpha, and the coverage of
    sigma's interval, for each fraction on the same tracks."""
    X = camera_tracks(alpha, n, T, RATIO, sigma, np.random.default_rng(seed))
    rows = []
    keep = measured._EXTEND
    try:
        for v in values:
            measured._EXTEND = v
            est = fit_measured(X, DT, "fbm", exposure=RATIO * DT)
            a = est["alpha"].to_numpy()
            cover = np.mean((est["alpha_lo"] <= alpha) & (est["alpha_hi"] >= alpha))
            s_cover = np.mean((est["sigma_lo"] <= sigma) & (est["sigma_hi"] >= sigma))
            rows.append({
                "T": T, "alpha": alpha, "sigma_nm": round(1000 * sigma), "extend": v,
                "snr": float(np.sqrt(D_TRUE * DT**alpha) / sigma),
                "bias": float(a.mean() - alpha), "bias_se": float(a.std(ddof=1) / np.sqrt(n)),
                "median_error": float(np.median(a) - alpha), "coverage": float(cover),
                "sigma_coverage": float(s_cover),
            })  # fmt: skip
    finally:
        measured._EXTEND = keep
    return rows


def summarize(rows: list[dict], v: float) -> dict:
    """Fraction ``v`` over the cells with SNR >= 1: cells with |bias| > 0.05, the largest
    |bias|, the pooled and the lowest coverage of sigma's interval, the number of cells."""
    mine = [r for r in rows if r["extend"] == v and r["snr"] >= 1]
    bias = np.abs([r["bias"] for r in mine])
    cover = [r["sigma_coverage"] for r in mine]
    return {"n_bad": int(np.sum(bias > 0.05)), "max_bias": float(bias.max()),
            "sigma_coverage": float(np.mean(cover)), "sigma_coverage_min": float(np.min(cover)),
            "n_cells": len(mine)}  # fmt: skip


def choose(summary: dict, values, n: int) -> tuple[float, float]:
    """The fraction the rule of the module docstring picks from the :func:`summarize` of each
    fraction (``n`` tracks per cell), and the floor of the sigma coverage."""
    n_tracks = summary[values[0]]["n_cells"] * n
    floor = 0.95 - 2 * np.sqrt(0.95 * 0.05 / max(n_tracks, 1))
    eligible = [v for v in values if summary[v]["sigma_coverage"] >= floor]
    return min(
        eligible or values, key=lambda v: (summary[v]["n_bad"], summary[v]["max_bias"])
    ), floor


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--values", default="0,0.25,0.5,0.7,0.8,0.9", help="fractions to compare")
    ap.add_argument("--n", type=int, default=400, help="tracks per cell")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    values = [float(v) for v in args.values.split(",")]
    t0 = time.time()
    rows = []
    for T in LENGTHS:
        for alpha in ALPHAS:
            for sigma in SIGMAS:
                rows += cell(T, alpha, sigma, args.n, values, args.seed)
    lines = [
        "# How far below 0 sigma² may go: alpha's bias per fraction `_EXTEND`",
        "",
        f"`benchmarks/choose_extend.py --values {args.values} --n {args.n} --seed {args.seed}`"
        f" ({time.time() - t0:.0f} s): `fit_measured` (FBM, sigma estimated) on 2D tracks of "
        f"`bench_measured.py`'s camera simulator (D = {D_TRUE} µm²/s^alpha, dt = {DT} s, "
        f"t_E = {RATIO} dt), {args.n} tracks per cell, the same tracks for every fraction. "
        "Bias ± its SE / coverage of the 95% interval; cells with SNR < 1 are marked (the "
        "acceptance of `bench_measured.py` counts only SNR >= 1).",
        "",
        "| T | alpha | sigma nm | SNR | " + " | ".join(f"{v:g}" for v in values) + " |",
        "|---|---|---|---|" + "---|" * len(values),
    ]
    for i in range(0, len(rows), len(values)):
        group = rows[i : i + len(values)]
        r0 = group[0]
        snr = f"{r0['snr']:.2f}" + (" (<1)" if r0["snr"] < 1 else "")
        cells = [f"{r['bias']:+.3f} ± {r['bias_se']:.3f} / {r['coverage']:.3f}" for r in group]
        lines.append(
            f"| {r0['T']} | {r0['alpha']} | {r0['sigma_nm']} | {snr} | " + " | ".join(cells) + " |"
        )
    summary = {v: summarize(rows, v) for v in values}
    lines += [
        "",
        "Coverage of sigma's 95% interval (Wald on sigma², clipped at 0), pooled over the cells "
        "with SNR >= 1: "
        + ", ".join(
            f"{v:g}: {summary[v]['sigma_coverage']:.3f} "
            f"(lowest cell {summary[v]['sigma_coverage_min']:.3f})"
            for v in values
        )
        + ".",
        "",
        "Cells with SNR >= 1 and |bias| > 0.05, per fraction: "
        + ", ".join(f"{v:g}: {summary[v]['n_bad']}" for v in values)
        + "; largest |bias| at SNR >= 1: "
        + ", ".join(f"{v:g}: {summary[v]['max_bias']:.3f}" for v in values)
        + ".",
    ]
    pick, floor = choose(summary, values, args.n)
    lines += [
        "",
        f"Rule (docstring): sigma coverage at least {floor:.3f}, then the fewest cells with "
        f"|bias| > 0.05, then the smallest largest |bias|: **{pick:g}**.",
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "extend.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
