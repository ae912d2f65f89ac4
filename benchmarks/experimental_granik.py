"""Learning from experimental tracks (Granik et al. 2019 beads).

Data: :func:`sptmotion.datasets.load_granik2019` - beads in a 625 nm F-actin network and beads
in glycerol (2D, camera pixels, frame rate not stored: alpha does not need it). Every track
of >= 100 frames is cut into non-overlapping 100-point segments. Tracks (never segments of one
track) are split into train and test, stratified by environment, so no track contributes to
both sides.

(a) Environment classification (actin vs glycerol) trained on ~1200 experimental segments
    (600 per environment, drawn from the training tracks): wavelet vs features vs
    trajectory learners. Accuracy on all segments of the test tracks, with a 95 % confidence
    interval from a cluster bootstrap over test tracks (segments of one track are correlated).
(b) Alpha regression. Label of a segment = FBM maximum-likelihood alpha of its whole long
    track (``MODELS["fbm"].fit``). Compared: the wavelet learner trained on ~1200
    experimental segments; the same architecture trained on simulated AnDi tracks
    (``datasets.andi``, task alpha, length 100, published class mix); the FBM MLE on the
    100-point segment itself; the features learner on the experimental segments.
(c) The simulation-trained wavelet model fine-tuned on the experimental training segments.

``--representations wavelet,wavelet+scale,features --n-sim 0`` puts the scale-aware wavelet
learner (``scale_inputs=True``: each coordinate's log step scale beside the standardized
scalograms) next to the paper's form and the features, on the same split.

Run::

    nice .venv/bin/python benchmarks/experimental_granik.py --n-sim 10000

Writes ``benchmarks/results/experimental_granik/experimental_granik.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sptmotion.analysis.learned import TRAIN_DEFAULTS

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "experimental_granik"
SEG = 100


def load_tracks() -> dict[str, list[np.ndarray]]:
    """``{"actin": [tracks], "glycerol": [tracks]}``, each track ``(n_points, 2)`` in pixels."""
    from sptmotion.datasets import load_granik2019

    data = load_granik2019()
    return _split_environments(data)


def _split_environments(data) -> dict[str, list[np.ndarray]]:
    """Accept the loader's return value: a track table (with an environment column) or a dict."""
    import pandas as pd

    from sptmotion.datasets.tables import table_to_tracks

    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            key = "actin" if "actin" in k.lower() or "625" in k else "glycerol"
            out[key] = table_to_tracks(v)[0] if isinstance(v, pd.DataFrame) else list(v)
        return out
    df = data if isinstance(data, pd.DataFrame) else getattr(data, "table", None)
    col = next(
        c for c in ("environment", "sample", "condition", "dataset", "medium") if c in df.columns
    )
    out = {}
    for env, sub in df.groupby(col, observed=True):
        key = "actin" if "actin" in str(env).lower() or "625" in str(env) else "glycerol"
        out[key] = table_to_tracks(sub)[0]
    return out


def segments(tracks: list[np.ndarray], length: int = SEG) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping segments ``(n_seg, length, 2)`` and the index of their track."""
    segs, owner = [], []
    for i, tr in enumerate(tracks):
        for k in range(len(tr) // length):
            segs.append(tr[k * length : (k + 1) * length])
            owner.append(i)
    return np.stack(segs), np.asarray(owner)


def whole_track_alpha(tracks: list[np.ndarray], key: str) -> np.ndarray:
    """FBM MLE alpha of every whole track (cached)."""
    import hashlib

    from sptmotion.motion import MODELS

    CACHE.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha1(np.concatenate([np.asarray(t, float).ravel() for t in tracks]).tobytes())
    h.update(np.array([len(t) for t in tracks]).tobytes())
    path = CACHE / f"granik_{key}_fbm_mle_alpha_{h.hexdigest()[:12]}.npy"
    if path.exists():
        return np.load(path)
    alpha = np.empty(len(tracks))
    lengths = np.array([len(t) for t in tracks])
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        alpha[idx] = MODELS["fbm"].fit(np.stack([tracks[i] for i in idx]), 1.0)["alpha"].to_numpy()
    np.save(path, alpha)
    return alpha


def cluster_bootstrap(
    values: np.ndarray, cluster: np.ndarray, rng, n_boot: int = 2000
) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``values`` resampling whole clusters (tracks)."""
    uniq, inv = np.unique(cluster, return_inverse=True)
    sums = np.bincount(inv, weights=values)
    counts = np.bincount(inv)
    draws = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=1200, help="experimental training segments")
    ap.add_argument(
        "--n-sim", type=int, default=10000, help="simulated AnDi training tracks for (b)"
    )
    ap.add_argument("--test-fraction", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-models", type=int, default=3, help="wavelet ensemble size")
    ap.add_argument("--traj-models", type=int, default=1, help="WADNet ensemble size")
    ap.add_argument("--max-epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument(
        "--representations",
        default="wavelet,features,trajectory",
        help="comma-separated; 'wavelet+scale' is the wavelet learner with scale_inputs=True",
    )
    ap.add_argument("--stem", default="experimental_granik")
    ap.add_argument(
        "--tasks", default="environment,alpha", help="comma-separated: environment, alpha"
    )
    ap.add_argument(
        "--alpha-losses",
        default="gaussian",
        help="comma-separated regression losses of the wavelet and features learners "
        "(gaussian: conditional mean; laplace: conditional median, MAE-aligned)",
    )
    ap.add_argument(
        "--tta-points",
        type=int,
        default=TRAIN_DEFAULTS[("wavelet", "alpha")]["tta_points"],
        help="test-time rotation budget of the wavelet learner in points (default: that of "
        "`sptmotion train`, 200): tracks of n points are read in min(4, budget // n) "
        "rotations",
    )
    args = ap.parse_args(argv)

    import torch

    from sptmotion.datasets import andi
    from sptmotion.learn import AlphaRegressor, ModelClassifier
    from sptmotion.motion import MODELS

    torch.set_num_threads(args.threads)
    t_start = time.time()
    rng = np.random.default_rng(args.seed)
    envs = load_tracks()
    print({k: len(v) for k, v in envs.items()}, flush=True)

    # ---- segments, track-level split, labels -------------------------------------------
    X_all, env_all, track_all, alpha_all = [], [], [], []
    split_test = {}
    offset = 0
    for env, tracks in sorted(envs.items()):
        tracks = [np.asarray(t, float) for t in tracks if len(t) >= SEG]
        a_track = whole_track_alpha(tracks, env)
        S, owner = segments(tracks)
        n_tr = len(tracks)
        test_tracks = rng.permutation(n_tr)[: int(round(args.test_fraction * n_tr))]
        split_test[env] = set((test_tracks + offset).tolist())
        X_all.append(S)
        env_all.append(np.full(len(S), env))
        track_all.append(owner + offset)
        alpha_all.append(a_track[owner])
        offset += n_tr
    X = np.concatenate(X_all)
    env = np.concatenate(env_all)
    track = np.concatenate(track_all)
    alpha = np.concatenate(alpha_all)
    is_test = np.isin(track, sorted(set().union(*split_test.values())))
    per_env = args.n_train // 2
    train_idx = np.concatenate(
        [
            rng.choice(
                np.flatnonzero(~is_test & (env == e)),
                size=min(per_env, int((~is_test & (env == e)).sum())),
                replace=False,
            )
            for e in sorted(envs)
        ]
    )
    test_idx = np.flatnonzero(is_test)
    info = {
        "tta_points": args.tta_points,
        "segments": {e: int((env == e).sum()) for e in sorted(envs)},
        "tracks": {e: int(len(np.unique(track[env == e]))) for e in sorted(envs)},
        "n_train_segments": int(len(train_idx)),
        "n_test_segments": int(len(test_idx)),
        "n_test_tracks": int(len(np.unique(track[test_idx]))),
        "alpha_label_mean": {e: float(alpha[env == e].mean()) for e in sorted(envs)},
        "alpha_label_sd": {e: float(alpha[env == e].std()) for e in sorted(envs)},
    }
    print(info, flush=True)
    common = {"n_threads": args.threads, "random_state": args.seed}
    net_params = {
        "n_models": args.n_models,
        "max_epochs": args.max_epochs,
        "patience": args.patience,
    }
    # the wavelet learners' test-time rotation budget
    wavelet_params = {**net_params, "tta_points": args.tta_points}
    rep_params = {
        "wavelet": wavelet_params,
        "wavelet+scale": {**wavelet_params, "scale_inputs": True},
        "features": {},
        "trajectory": {**net_params, "n_models": args.traj_models},
    }
    results = {"settings": vars(args), "data": info, "classification": [], "regression": []}

    def clf_row(name, pred, t_fit):
        correct = (pred == env[test_idx]).astype(float)
        lo, hi = cluster_bootstrap(correct, track[test_idx], np.random.default_rng(1))
        row = {"method": name, "accuracy": float(correct.mean()), "ci95": [lo, hi], "fit_s": t_fit}
        for e in sorted(envs):
            row[f"accuracy_{e}"] = float(correct[env[test_idx] == e].mean())
        results["classification"].append(row)
        print(
            f"(a) {name:28s} acc {row['accuracy']:.3f} [{lo:.3f}, {hi:.3f}]  ({t_fit:.0f} s)",
            flush=True,
        )

    abs_err = {}  # method -> absolute errors on the test segments (paired comparisons)

    def reg_row(name, pred, t_fit, std=None):
        err = np.abs(pred - alpha[test_idx])
        abs_err[name] = err
        lo, hi = cluster_bootstrap(err, track[test_idx], np.random.default_rng(2))
        row = {
            "method": name,
            "mae": float(err.mean()),
            "ci95": [lo, hi],
            "bias": float(np.mean(pred - alpha[test_idx])),
            "corr": float(np.corrcoef(pred, alpha[test_idx])[0, 1]),
            "fit_s": t_fit,
        }
        for e in sorted(envs):
            row[f"mae_{e}"] = float(err[env[test_idx] == e].mean())
        if std is not None:
            row["z_rms"] = float(np.sqrt(np.mean(((pred - alpha[test_idx]) / std) ** 2)))
        ref = next((k for k in abs_err if k.startswith("features")), None)
        if ref is not None and ref != name:
            # paired: the same test segments, whole test tracks resampled
            d = err - abs_err[ref]
            row["vs_features"] = {
                "reference": ref,
                "mae_difference": float(d.mean()),
                "ci95": list(cluster_bootstrap(d, track[test_idx], np.random.default_rng(3))),
            }
        results["regression"].append(row)
        print(
            f"(b) {name:28s} MAE {row['mae']:.3f} [{lo:.3f}, {hi:.3f}] bias {row['bias']:+.3f} "
            f"r {row['corr']:.2f} ({t_fit:.0f} s)",
            flush=True,
        )

    def save():
        RESULTS.mkdir(parents=True, exist_ok=True)
        results["settings"]["wall_s"] = time.time() - t_start
        (RESULTS / f"{args.stem}.json").write_text(json.dumps(results, indent=1))
        write_md(results, RESULTS / f"{args.stem}.md")

    # ---- (a) environment classification -------------------------------------------------
    reps = args.representations.split(",")
    tasks = args.tasks.split(",")
    for rep in reps if "environment" in tasks else ():
        t0 = time.time()
        clf = ModelClassifier(rep.split("+")[0], **common, **rep_params[rep])
        clf.fit(X[train_idx], env[train_idx], data_description="Granik 2019 segments")
        clf_row(f"{rep} (experimental)", clf.predict(X[test_idx]), time.time() - t0)
        save()

    # ---- (b) alpha regression --------------------------------------------------------------
    if "alpha" not in tasks:
        save()
        return 0
    t0 = time.time()
    a_mle = MODELS["fbm"].fit(X[test_idx], 1.0)["alpha"].to_numpy()
    reg_row("FBM MLE on the segment", a_mle, time.time() - t0)
    losses = args.alpha_losses.split(",")
    # the features first: the learners after them get a paired difference to it
    for rep in ("features", "wavelet", "wavelet+scale"):
        if rep not in reps:
            continue
        for loss in losses:
            t0 = time.time()
            reg = AlphaRegressor(rep.split("+")[0], **common, **rep_params[rep], loss=loss)
            reg.fit(X[train_idx], alpha[train_idx])
            mu, sd = reg.predict(X[test_idx], return_std=True)
            tag = "" if losses == ["gaussian"] else f", {loss} loss"
            reg_row(f"{rep} (experimental{tag})", mu, time.time() - t0, sd)
            save()
    if args.n_sim > 0:
        t0 = time.time()
        sim = andi(args.n_sim, SEG, dim=2, task="alpha", rng=args.seed + 7)
        reg_sim = AlphaRegressor("wavelet", **common, **wavelet_params)
        reg_sim.fit(
            np.asarray(sim.X),
            np.asarray(sim.alpha, float),
            data_description=f"datasets.andi n={args.n_sim}",
        )
        t_sim = time.time() - t0
        mu, sd = reg_sim.predict(X[test_idx], return_std=True)
        reg_row(f"wavelet (simulated AnDi, n={args.n_sim})", mu, t_sim, sd)
        save()
        # ---- (c) fine-tuning ------------------------------------------------------------------
        t0 = time.time()
        reg_sim.fine_tune(X[train_idx], alpha[train_idx], data_description="Granik 2019 segments")
        mu, sd = reg_sim.predict(X[test_idx], return_std=True)
        reg_row("wavelet (simulated + fine-tuned)", mu, t_sim + time.time() - t0, sd)
    save()
    print(f"done in {time.time() - t_start:.0f} s")
    return 0


def write_md(res: dict, path: Path) -> None:
    d = res["data"]
    s = res["settings"]
    lines = [
        "# Learning from experimental tracks (Granik et al. 2019 beads)",
        "",
        f"100-point non-overlapping segments: {d['segments']} from {d['tracks']} tracks. Tracks split "
        f"train/test ({s['test_fraction']:.0%} of the tracks of each environment in the test set); "
        f"{d['n_train_segments']} training segments drawn from training tracks (balanced), "
        f"{d['n_test_segments']} test segments from {d['n_test_tracks']} test tracks. 95 % intervals: "
        "cluster bootstrap over test tracks. Networks: ensembles of "
        f"{s['n_models']}; seed {s['seed']}.",
        "",
        "## (a) Environment classification: F-actin network vs glycerol",
        "",
        "| learner (training data) | accuracy | 95 % CI | actin | glycerol | fit (s) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in res["classification"]:
        lines.append(
            f"| {r['method']} | {r['accuracy']:.3f} | [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}] | "
            f"{r.get('accuracy_actin', float('nan')):.3f} | {r.get('accuracy_glycerol', float('nan')):.3f} | "
            f"{r['fit_s']:.0f} |"
        )
    lines += [
        "",
        "## (b, c) Alpha regression; label = FBM MLE alpha of the whole long track",
        "",
        "Label mean +- sd per environment: "
        + ", ".join(
            f"{e} {d['alpha_label_mean'][e]:.2f} +- {d['alpha_label_sd'][e]:.2f}"
            for e in d["alpha_label_mean"]
        ),
        "",
        "| method | MAE | 95 % CI | MAE - features [95 % CI, paired] | bias | corr. | "
        "MAE actin | MAE glycerol | rms z | fit (s) |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["regression"]:
        z = f"{r['z_rms']:.2f}" if "z_rms" in r else ""
        vs = r.get("vs_features")
        vs = (
            f"{vs['mae_difference']:+.4f} [{vs['ci95'][0]:+.4f}, {vs['ci95'][1]:+.4f}]"
            if vs
            else ""
        )
        lines.append(
            f"| {r['method']} | {r['mae']:.3f} | [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}] | {vs} | "
            f"{r['bias']:+.3f} | {r['corr']:.2f} | {r.get('mae_actin', float('nan')):.3f} | "
            f"{r.get('mae_glycerol', float('nan')):.3f} | {z} | {r['fit_s']:.0f} |"
        )
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
