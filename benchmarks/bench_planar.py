"""D of particles moving in the focal plane: the Bayesian tracker's 3D model against
``planar=True`` (z held at focus, D from x and y).

Movies (``optics.render``, the reference optics, K = 5 positions per 30 ms exposure): two
particles doing 2D Brownian motion at z = 0, D log-uniform in 0.03-0.5 µm²/s (both the same),
60 frames, 32 x 32 pixels, started 1.2 µm apart near the centre; movies where a particle leaves
the field are redrawn before tracking (the truth is never looked at after). Each movie is
tracked with both models (K = 1, blur-aware PSF, 1000 sweeps x 2 chains): D posterior mean over
the truth, 98% interval coverage of D (pooled over movies, binomial SE), R-hat of D, and the
lateral 98% coverage of the positions.

    .venv/bin/python benchmarks/bench_planar.py --movies 16     # ~8 min on 2 cores

Writes ``benchmarks/results/planar/planar.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "planar"
N_FRAMES = 60


def movie(rng, setup):
    from sptmotion import optics

    edge = setup.cols * setup.pixel_size
    t = setup.fine_times(N_FRAMES)
    while True:
        D = float(np.exp(rng.uniform(np.log(0.03), np.log(0.5))))
        steps = np.sqrt(2 * D * np.diff(t, prepend=0.0))[None, :, None] * rng.standard_normal(
            (2, len(t), 2)
        )
        X = np.zeros((2, len(t), 3))
        start = edge / 2 + np.array([[-0.6, -0.3], [0.6, 0.3]])
        X[:, :, :2] = start[:, None, :] + np.cumsum(steps, axis=1)
        if X[..., :2].min() > 0.3 and X[..., :2].max() < edge - 0.3:
            return optics.render(X, setup, rng=rng), X, D


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--movies", type=int, default=16)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--rewrite", action="store_true", help="rewrite planar.md from planar.json")
    args = ap.parse_args()
    if args.rewrite:
        save(json.loads((RESULTS / "planar.json").read_text()))
        return
    os.environ.setdefault("NUMBA_NUM_THREADS", "2")
    from sptmotion import optics
    from sptmotion.tracking import track_bayes

    setup = optics.preset("hendrix2025", rows=32, cols=32, subframes=5)
    rng = np.random.default_rng(2026)
    rows = []
    t0 = time.perf_counter()
    for i in range(args.movies):
        stack, X, D = movie(rng, setup)
        truth = X.reshape(2, N_FRAMES, 5, 3).mean(axis=2)[..., :2]
        row = {"movie": i, "D": D}
        for name, planar in (("3d", False), ("planar", True)):
            post = track_bayes(stack, setup.replace(subframes=1), n_emitters=2,
                               n_iterations=args.iterations, seed=i, planar=planar)  # fmt: skip
            d = post.D_summary(0.98)
            lo, hi = post.credible_interval(0.98)
            mean = post.mean_track()[..., :2]
            # emitters to particles by mean distance
            direct = np.linalg.norm(mean - truth, axis=2).mean()
            swapped = np.linalg.norm(mean[::-1] - truth, axis=2).mean()
            o = slice(None) if direct <= swapped else slice(None, None, -1)
            inside = (lo[o, :, :2] <= truth) & (truth <= hi[o, :, :2])
            row[name] = {"mean_over_true": d["mean"] / D, "covered": bool(d["lo"] <= D <= d["hi"]),
                         "rhat": post.diagnostics()["D"]["rhat"],
                         "position_coverage": float(inside.mean())}  # fmt: skip
        rows.append(row)
        print(row, flush=True)
    out = {"rows": rows, "args": vars(args), "wall_s": time.perf_counter() - t0,
           "machine": platform.processor() or platform.machine()}  # fmt: skip
    save(out)


def summarize(rows: list[dict], name: str) -> dict:
    n = len(rows)
    ratio = np.array([r[name]["mean_over_true"] for r in rows])
    cov = float(np.mean([r[name]["covered"] for r in rows])) if n else float("nan")
    return {"n": n, "ratio_median": float(np.median(ratio)), "ratio_min": float(ratio.min()),
            "ratio_max": float(ratio.max()), "D_coverage": cov,
            "D_coverage_se": float(np.sqrt(cov * (1 - cov) / n)),
            "worst_rhat": float(max(r[name]["rhat"] for r in rows)),
            "position_coverage": float(np.mean([r[name]["position_coverage"] for r in rows]))}  # fmt: skip


def save(out: dict) -> None:
    rows, args = out["rows"], out["args"]
    # a movie is tracked when both models' lateral 98% intervals cover >= 0.9 of the positions
    # (below that the tracks follow the wrong particle somewhere and D measures the jumps)
    tracked = [r for r in rows if min(r[k]["position_coverage"] for k in ("3d", "planar")) >= 0.9]
    lines = [
        "# D of particles moving in the focal plane: 3D model vs planar",
        "",
        f"`benchmarks/bench_planar.py`: {len(rows)} movies (2 particles, 2D BM at focus, D "
        f"0.03-0.5 µm²/s, {N_FRAMES} frames, 32 x 32), K = 1 blur-aware, "
        f"{args['iterations']} sweeps x 2 chains, 2 cores.",
        "",
        "| movies | model | D mean / true (median, range) | 98% D interval covers (SE) | "
        "worst R-hat of D | position 98% coverage |",
        "|---|---|---|---|---|---|",
    ]
    for label, subset in (("all", rows), ("tracked", tracked)):
        for name in ("3d", "planar"):
            sm = summarize(subset, name)
            out[f"{label}_{name}"] = sm
            lines.append(
                f"| {label} ({sm['n']}) | {name} | {sm['ratio_median']:.3f} "
                f"({sm['ratio_min']:.2f}-{sm['ratio_max']:.2f}) | {sm['D_coverage']:.3f} "
                f"({sm['D_coverage_se']:.3f}) | {sm['worst_rhat']:.3f} | "
                f"{sm['position_coverage']:.3f} |"
            )
    lines += [
        "",
        "Tracked: both models' lateral 98% intervals cover at least 0.9 of the true positions "
        "(a movie below that has tracks that follow the wrong particle in places).",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "planar.json").write_text(json.dumps(out, indent=2, default=float))
    (RESULTS / "planar.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
