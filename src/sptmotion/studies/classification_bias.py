"""``sptmotion study``: reproducible studies; ``classification-bias`` (Table 1 of Hendrix et al. 2025).

How much does the tracker bias the motion model read off a track? Movies are rendered with the
reference parameters (preset ``hendrix2025``: 32x32 pixels, 50 frames, K = 10 motion blur), for BM
with D = 1, 5, 10 µm²/s and for anomalous motion (FBM alpha 0.5 and 1.5, SBM alpha 0.5). Three
lateral tracks are classified per movie:

- ``truth``: the true positions at the start of each exposure (a regular grid of step dt; the
  exposure-averaged positions would carry the motion-blur correlation of the increments);
- ``bayes``: the posterior mean of :func:`sptmotion.tracking.track_bayes` (all 50 frames, the
  frames outside the ROI filled in by the Brownian prior);
- ``bayes_draw``: one posterior draw of the same run (the last draw of the first chain): the
  posterior mean averages many paths and is smoother than any of them, a draw is not;
- ``modular``: the longest gap-free segment of the longest track of
  :func:`sptmotion.tracking.track_modular` (at least 5 frames, else "not tracked").

Each track is classified by BIC model selection among BM, DBM, FBM and SBM
(:func:`sptmotion.motion.select`; the learned classifier of the learning issue can replace it) and
fitted by FBM maximum likelihood (alpha with its standard error).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CONDITIONS",
    "CANDIDATES",
    "classification_bias",
    "bias_table",
    "longest_run",
    "write_bias_report",
]

#: (label, model, parameters) of the study's movies; D in µm²/s (µm²/s^alpha for FBM/SBM).
CONDITIONS: tuple[tuple[str, str, dict], ...] = (
    ("BM D=1", "bm", {"D": 1.0}),
    ("BM D=5", "bm", {"D": 5.0}),
    ("BM D=10", "bm", {"D": 10.0}),
    ("FBM alpha=0.5 D=1", "fbm", {"alpha": 0.5, "D": 1.0}),
    ("FBM alpha=1.5 D=1", "fbm", {"alpha": 1.5, "D": 1.0}),
    ("SBM alpha=0.5 D=1", "sbm", {"alpha": 0.5, "D": 1.0}),
)
CANDIDATES = ("bm", "dbm", "fbm", "sbm")


def longest_run(frames: np.ndarray) -> tuple[int, int]:
    """Start index and length of the longest run of consecutive frame numbers."""
    if len(frames) == 0:
        return 0, 0
    breaks = np.flatnonzero(np.diff(frames) != 1)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks + 1, len(frames)]
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i] - starts[i])


def classification_bias(
    n_movies: int = 3,
    iterations: int = 2000,
    chains: int = 2,
    seed: int = 0,
    conditions=CONDITIONS,
    progress=None,
) -> pd.DataFrame:
    """Run the study; one row per (condition, movie, source) with the predicted model and alpha.

    Columns: condition, true_model, movie, source, n_points, best, p_best (approximate posterior
    probability of the selected model), p_true (of the true model), alpha, alpha_se (FBM MLE).
    """
    from ..motion import MODELS, select
    from ..optics import preset, render
    from ..tracking import track_bayes, track_modular

    setup = preset("hendrix2025")
    track_setup = setup.replace(subframes=1)
    dt = setup.frame_period
    n_frames = 50
    rows = []
    root = np.random.SeedSequence(seed)
    seeds = root.spawn(len(conditions) * n_movies)
    for ci_, (label, model, params) in enumerate(conditions):
        for mv in range(n_movies):
            rng = np.random.default_rng(seeds[ci_ * n_movies + mv])
            times = setup.fine_times(n_frames)
            X, _ = MODELS[model](**params).sample(1, len(times) - 1, dim=3, times=times, rng=rng)
            w, h = setup.roi_size
            fine = X + np.array([w / 2, h / 2, 0.0])
            movie = render(fine, setup, rng=rng, allow_outside=True)
            # ground truth: the instantaneous positions at the start of each exposure (regular grid dt)
            tracks = {"truth": fine[0, :: setup.subframes, :2]}
            post = track_bayes(
                movie,
                track_setup,
                n_iterations=iterations,
                n_chains=chains,
                seed=int(rng.integers(2**31)),
            )
            tracks["bayes"] = post.mean_track()[0, :, :2]
            tracks["bayes_draw"] = post.frame_samples[0, -1, 0, :, :2]
            tab = track_modular(movie, track_setup)
            if len(tab):
                best_p = tab.groupby("particle").size().idxmax()
                t = tab[tab["particle"] == best_p].sort_values("frame")
                s, n = longest_run(t["frame"].to_numpy())
                if n >= 5:
                    tracks["modular"] = t[["x", "y"]].to_numpy()[s : s + n]
            for source in ("truth", "bayes", "bayes_draw", "modular"):
                row = {"condition": label, "true_model": model, "movie": mv, "source": source}
                if source not in tracks:
                    row.update(n_points=0, best="not tracked")
                    rows.append(row)
                    continue
                tr = tracks[source][None]
                sel = select(tr, dt, candidates=CANDIDATES).iloc[0]
                fit = MODELS["fbm"].fit(tr, dt).iloc[0]
                best = sel["best"]
                row.update(
                    n_points=int(tr.shape[1]),
                    best=best if isinstance(best, str) else "none",
                    p_best=float(sel[f"p_{best}"]) if isinstance(best, str) else np.nan,
                    p_true=float(sel[f"p_{model}"]) if f"p_{model}" in sel else np.nan,
                    alpha=float(fit["alpha"]),
                    alpha_se=float(fit["alpha_se"]),
                )
                rows.append(row)
            if progress is not None:
                progress(label, mv)
    return pd.DataFrame(rows)


def bias_table(df: pd.DataFrame) -> str:
    """Markdown summary: per condition and source, the predicted models and the FBM alpha."""
    lines = [
        "| condition | source | predicted model (count) | mean P(selected) | mean P(true model) | FBM alpha (mean ± SE of mean) | per-track alpha ± SE |",
        "|---|---|---|---|---|---|---|",
    ]
    for (cond, source), g in df.groupby(["condition", "source"], sort=False):
        counts = g["best"].value_counts()
        pred = ", ".join(f"{k} ({v})" for k, v in counts.items())
        ok = g[g["n_points"] > 0]
        if len(ok):
            a = ok["alpha"].to_numpy()
            sem = a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else np.nan
            per = "; ".join(
                f"{x:.2f} ± {s:.2f}" for x, s in zip(ok["alpha"], ok["alpha_se"], strict=True)
            )
            lines.append(
                f"| {cond} | {source} | {pred} | {ok['p_best'].mean():.2f} | {ok['p_true'].mean():.2f} | "
                f"{a.mean():.2f} ± {sem:.2f} | {per} |"
            )
        else:
            lines.append(f"| {cond} | {source} | {pred} | - | - | - | - |")
    return "\n".join(lines)


def write_bias_report(
    df: pd.DataFrame, out: Path, *, movies: int, iterations: int, chains: int, seed: int
) -> Path:
    """Write the study as Markdown (``out``) and its rows as CSV beside it (atomically); return the CSV path."""
    from .._io import atomic_path

    text = "\n".join(
        [
            "# Classification bias of tracked trajectories (Hendrix, Xu & Pressé 2025, Table 1)",
            "",
            f"Movies: preset hendrix2025 (32x32 px of 133 nm, 50 frames, 33 ms, K = 10 motion blur), {movies} per condition, seed {seed}.",
            f"Bayesian tracker: {iterations} iterations x {chains} chains (`bayes`: posterior mean, `bayes_draw`: one posterior draw); modular: trackpy + ML + laptrack "
            "(longest gap-free segment, >= 5 frames). Classifier: BIC model selection among BM, DBM, FBM, SBM "
            "(`sptmotion.motion.select`, no localization-noise term) and the FBM maximum-likelihood alpha.",
            "",
            bias_table(df),
            "",
            f"Reproduce: `sptmotion study classification-bias --movies {movies} --iterations {iterations} --chains {chains} --seed {seed} -o {out.name}`",
            "",
        ]
    )
    csv = out.with_suffix(".csv")
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return csv
