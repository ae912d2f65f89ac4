"""Posterior-aware verdicts on BM movies vs the modular tracker.

Hendrix, Xu, Pressé (2025, Table 1) show that tracks from a conventional detect-localize-link
pipeline make a classifier mislabel Brownian motion: localization error and motion blur look
like anomalous motion. Here BM movies with D = 1, 5, 10 µm²/s are rendered with the reference
imaging parameters (EMCCD G = 350, 133 nm pixels, 33 ms frames, 30 ms exposure, K = 5
sub-frame positions for motion blur, F = 1e5 photons/µm²/s, H = 1e4 photons/s), in the focal
plane (z = 0), with a region of interest sized to each track (its bounding box + 0.8 µm, since
at D = 10 µm²/s a particle moves ~0.8 µm per frame and per axis), and each movie is analyzed
four ways with the SAME bundled learned classifier / regressor:

- ``posterior``: Bayesian tracker (M = 1, K = 1), learned models over posterior sample tracks
  (:func:`sptmotion.analysis.characterize`, the posterior-aware verdict);
- ``bayes-mean``: the same models on the posterior-mean track only;
- ``modular``: the modular tracker (trackpy + laptrack, ML refinement; linking search range
  4 sqrt(4 D dt), i.e. told the true D scale), its longest track;
- ``truth``: the true exposure-averaged track (reference).

A movie counts as "labelled BM" when the classifier's most probable model is BM, and as "BM
compatible" when that holds or the alpha interval (95%) contains 1. The table reports both
rates per D and method, the mean alpha, and how many movies gave no usable track.

Usage::

    nice .venv/bin/python benchmarks/posterior_verdict.py               # the committed table
    .venv/bin/python benchmarks/posterior_verdict.py --movies 1 --iterations 100   # smoke run
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sptmotion import optics, tracking
from sptmotion.analysis import TrackSet, characterize, load_models, modular_trackset
from sptmotion.motion import MODELS

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "posterior_verdict"
METHODS = ("posterior", "bayes-mean", "modular", "truth")


def _movie(D: float, n_frames: int, K: int, rng: np.random.Generator):
    """A BM movie with a track-sized ROI: (stack, setup, true frame positions (N, 3))."""
    base = optics.preset("hendrix2025", subframes=K)
    t = base.fine_times(n_frames)
    X, _ = MODELS["bm"](D=D).sample(1, 0, dim=2, rng=rng, times=t)
    X = X[0]
    margin = 0.8
    lo = X.min(axis=0) - margin
    a = base.pixel_size
    size = np.ceil((X.max(axis=0) - lo + margin) / a).astype(int)
    X = X - lo
    fine = np.concatenate([X, np.zeros((len(X), 1))], axis=1)[None]
    setup = base.replace(cols=int(size[0]), rows=int(size[1]))
    stack = optics.render(fine, setup, rng=rng)
    truth = np.einsum("nka,k->na", fine[0].reshape(n_frames, K, 3), setup.weights)
    return stack, setup, truth


def _row(res: pd.DataFrame, method: str, D: float, movie: int, classes) -> dict:
    out = {"D": D, "movie": movie, "method": method}
    ok = res[res["error"] == ""] if len(res) else res
    if len(ok) == 0:
        return out | {"usable": False}
    r = ok.sort_values("n_points", ascending=False).iloc[0]
    post = method == "posterior"
    a = r["alpha_post"] if post else r["alpha"]
    lo = r["alpha_post_lo"] if post else r["alpha_lo"]
    hi = r["alpha_post_hi"] if post else r["alpha_hi"]
    P = np.array([r[f"p_{c}_post" if post else f"p_{c}"] for c in classes], dtype=float)
    verdict = classes[int(np.argmax(P))]
    return out | {
        "usable": True,
        "n_points": int(r["n_points"]),
        "alpha": float(a),
        "alpha_lo": float(lo),
        "alpha_hi": float(hi),
        "p_bm": float(P[classes.index("bm")]),
        "verdict": verdict,
        "labelled_bm": bool(verdict == "bm"),
        "bm_compatible": bool(verdict == "bm" or (lo <= 1.0 <= hi)),
        "mle_best": r.get("mle_best", ""),
        "mle_alpha": float(r.get("mle_alpha_post" if post else "mle_alpha", np.nan)),
    }


def _markdown(df: pd.DataFrame) -> str:
    """A markdown table (no tabulate dependency)."""

    def fmt(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--D", default="1,5,10", help="diffusion coefficients (µm²/s)")
    ap.add_argument("--movies", type=int, default=4, help="movies per D")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--subframes", type=int, default=5, help="K of the rendering (motion blur)")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--samples", type=int, default=50, help="posterior sample tracks per movie")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--model", default=None, help="learned models (default: bundled)")
    ap.add_argument("--out", type=Path, default=RESULTS / "posterior_verdict")
    ap.add_argument("--from-csv", action="store_true", help="only rebuild the table from OUT.csv")
    args = ap.parse_args(argv)

    if args.from_csv:
        meta = json.loads(args.out.with_suffix(".json").read_text())
        df = pd.read_csv(args.out.with_suffix(".csv"))
        return write_tables(
            df, args, load_models(args.model).classes, float(meta.get("elapsed_s", np.nan))
        )
    models = load_models(args.model)
    classes = models.classes
    Ds = [float(v) for v in args.D.split(",")]
    rows = []
    t_start = time.perf_counter()
    for iD, D in enumerate(Ds):
        for k in range(args.movies):
            rng = np.random.default_rng([args.seed, iD, k])
            stack, setup, truth = _movie(D, args.frames, args.subframes, rng)
            dt = setup.frame_period
            t0 = time.perf_counter()
            post = tracking.track_bayes(
                stack, setup, n_emitters=1, subframes=1, n_iterations=args.iterations,
                n_chains=args.chains, seed=int(rng.integers(2**31)),
            )  # fmt: skip
            t_b = time.perf_counter() - t0
            fs = post.frame_samples.reshape(-1, post.n_emitters, post.n_frames, 3)[:, 0, :, :2]
            mean = post.mean_track()[0, :, :2]
            ts_post = TrackSet([mean], np.array([0]), dt, "bayes", samples=[fs])
            ts_mean = TrackSet([mean], np.array([0]), dt, "bayes")
            search = 4.0 * np.sqrt(4.0 * D * dt)
            try:
                table = tracking.track_modular(stack, setup, n_emitters=1, search_range=search)
            except ValueError:
                table = None
            ts_mod = modular_trackset(table, dt)
            ts_true = TrackSet([truth[:, :2]], np.array([0]), dt, "truth")
            for method, ts in zip(METHODS, (ts_post, ts_mean, ts_mod, ts_true), strict=True):
                res = (
                    characterize(ts, models, max_samples=args.samples, rng=k)
                    if ts.tracks
                    else pd.DataFrame()
                )
                row = _row(res, method, D, k, classes)
                if row["usable"]:  # mean lateral distance (nm) of the analyzed track to the truth
                    i = int(np.argmax([len(tr) for tr in ts.tracks]))
                    f0 = (ts.first_frames or [0] * len(ts.tracks))[i]
                    tr = ts.tracks[i]
                    row["error_nm"] = 1e3 * float(
                        np.mean(np.hypot(*(tr - truth[f0 : f0 + len(tr), :2]).T))
                    )
                row["n_localizations"] = 0 if table is None else len(table)
                row["D_post"] = post.D_summary()["mean"]
                rows.append(row)
            err_b = float(np.mean(np.hypot(*(mean - truth[:, :2]).T)))
            print(
                f"D={D:g} movie {k}: ROI {setup.rows}x{setup.cols}, bayes {t_b:.0f} s "
                f"(mean lateral error {err_b * 1e3:.0f} nm, D post {post.D_summary()['mean']:.2f}); "
                + ", ".join(f"{r['method']}: {r.get('verdict', '-')}" for r in rows[-4:]),
                flush=True,
            )
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out.with_suffix(".csv"), index=False)
    elapsed = time.perf_counter() - t_start
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "config": {k: str(v) for k, v in vars(args).items()},
                "elapsed_s": elapsed,
                "rows": rows,
            },
            indent=2,
            default=str,
        )
    )
    return write_tables(df, args, classes, elapsed)


def write_tables(df: pd.DataFrame, args, classes, elapsed: float) -> pd.DataFrame:
    """Aggregate the per-movie rows into the markdown table (also ``--from-csv``)."""
    for col in ("usable", "labelled_bm", "bm_compatible"):
        df[col] = df[col].map(lambda v: str(v) == "True").astype(bool)
    agg = []
    for (D, method), g in df.groupby(["D", "method"], sort=False):
        u = g[g["usable"]]
        n = len(g)
        agg.append(
            {
                "D (µm²/s)": D,
                "tracks from": method,
                "movies": n,
                "usable": len(u),
                "labelled BM": f"{int(u['labelled_bm'].sum())}/{n}",
                "BM or alpha CI ∋ 1": f"{int(u['bm_compatible'].sum())}/{n}",
                "mean alpha": float(u["alpha"].mean()) if len(u) else np.nan,
                "mean P(BM)": float(u["p_bm"].mean()) if len(u) else np.nan,
                "median track error (nm)": float(u["error_nm"].median()) if len(u) else np.nan,
                "verdicts": ", ".join(f"{v}:{c}" for v, c in u["verdict"].value_counts().items()),
            }
        )
    tab = pd.DataFrame(agg)
    tot = df[df["usable"]].groupby("method")[["labelled_bm", "bm_compatible"]].sum()
    n_all = df.groupby("method").size()
    lines = [
        "# Posterior-aware verdicts on BM movies",
        "",
        f"`nice .venv/bin/python benchmarks/posterior_verdict.py` — {args.movies} BM movies per D, "
        f"{args.frames} frames, reference imaging parameters (Hendrix et al. 2025, Table 2), K = "
        f"{args.subframes} rendering sub-frames, z = 0, ROI = track bounding box + 0.8 µm; Bayesian "
        f"tracker {args.chains} chains x {args.iterations} iterations (K = 1), {args.samples} posterior "
        f"sample tracks; bundled learned models (classes {', '.join(classes)}). Seed {args.seed}. "
        f"Total {elapsed:.0f} s on this machine (2 shared cores).",
        "",
        _markdown(tab),
        "",
        "Totals over all D:",
        "",
        "| tracks from | labelled BM | BM or alpha CI ∋ 1 |",
        "|---|---|---|",
    ]
    for m in METHODS:
        if m in n_all:
            lines.append(
                f"| {m} | {int(tot.loc[m, 'labelled_bm']) if m in tot.index else 0}/{n_all[m]} | "
                f"{int(tot.loc[m, 'bm_compatible']) if m in tot.index else 0}/{n_all[m]} |"
            )
    lost = df[(df["method"] == "posterior") & (df["error_nm"] > 500)]
    lost_by_D = (
        ", ".join(f"D={D:g}: {len(g)}/{args.movies}" for D, g in lost.groupby("D")) or "none"
    )
    mod_ok = df[(df["method"] == "modular") & df["usable"]]
    lines += [
        "",
        "Reading the table:",
        "",
        "- The posterior-aware verdict labels more BM movies BM than the same classifier on the modular "
        "tracker's tracks (totals above). Most of the gap comes from the modular tracker giving no "
        "track of >= 20 frames (the learned models' minimum) at D >= 5 µm²/s: trackpy misses the motion-blurred "
        f"spots and the links break (usable modular tracks: {len(mod_ok)}/{len(df[df['method'] == 'modular'])}). "
        "Where the modular tracker works (D = 1), both give the same number of BM labels.",
        "- 'BM or alpha CI ∋ 1' is weak evidence: the learned 95% alpha intervals of 30-point tracks are "
        "~±0.8 wide, so nearly every usable track passes it; 'labelled BM' is the discriminating column.",
        f"- Bayesian tracks that lost the particle (mean lateral error > 500 nm): {lost_by_D}. Their "
        "verdicts are not about the true track; at D = 10 µm²/s (~0.8 µm per frame and axis, ~6 pixels "
        "of motion blur) the tracker with 2 x 1000 iterations does not follow the particle reliably.",
        "- Posterior-aware vs posterior-mean: the mean track is smoother than any posterior sample "
        "(averaging removes the localization noise and part of the motion), which pushes alpha above 1 "
        "(mean alpha column); the samples restore the roughness of a real BM path.",
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return df


if __name__ == "__main__":
    main()
