"""Train the pretrained models bundled with sptmotion (``src/sptmotion/data/``).

Two learners on the wavelet representation (Wang, Zhang, Huang 2025), trained on simulated
AnDi-1-style tracks from :func:`sptmotion.datasets.andi` with Brownian motion included as a
sixth class (the null model AnDi-1 lacks), localization noise as in AnDi-1 and lengths drawn
over a few fixed values spanning 20-100 points (the CNN pools over time, so it reads any
length >= 20; fixed lengths keep the training batches full, which matters on 2 CPU cores):

- ``pretrained_alpha.sptm``: :class:`sptmotion.learn.AlphaRegressor` (task 1 data, balanced
  over the alpha grid 0.05..2.00), alpha with a calibrated predictive std;
- ``pretrained_model.sptm``: :class:`sptmotion.learn.ModelClassifier` (task 2 data, balanced
  over attm, bm, ctrw, fbm, lw, sbm), calibrated probabilities.

Both are saved as one ``.npz`` + JSON file each (no pickle) and evaluated on a held-out set
generated with another seed; the numbers go to ``benchmarks/results/pretrained/pretrained.md`` (and
``.json``) next to the peer reference of the same run (TAMSD-fit alpha; chance level for the
six-class model task).

Usage::

    nice .venv/bin/python benchmarks/train_pretrained.py            # the bundled configuration
    .venv/bin/python benchmarks/train_pretrained.py --n-train 500 --max-epochs 3 --output /tmp/m
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_windows import measured_tracks  # noqa: E402
from sptmotion import __version__
from sptmotion.datasets import andi
from sptmotion.learn import AlphaRegressor, ModelClassifier
from sptmotion.motion.msd import fit_tamsd_alpha

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "src" / "sptmotion" / "data"
RESULTS = HERE / "results" / "pretrained"


def _dataset(n: int, lengths: list[int], dim: int, task: str, seed: int):
    """``n`` AnDi tracks split evenly over ``lengths``: (list of tracks, alpha, model)."""
    X, alpha, model = [], [], []
    for i, L in enumerate(lengths):
        d = andi(n // len(lengths), L, dim, task=task, rng=seed * 100 + i, include_bm=True)
        X += list(d.X)
        alpha.append(d.alpha)
        model.append(d.model)
    return X, np.concatenate(alpha), np.concatenate(model).astype(str)


def _desc(template: str, task: str, lengths: list[int], measured: str | None) -> str:
    """The models' data description for one task (measured sets: with its lengths)."""
    if measured:
        return template % (lengths, repr(task))
    return template % repr(task)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=1200, help="training tracks per task")
    ap.add_argument("--n-test", type=int, default=1000, help="held-out tracks per task")
    ap.add_argument(
        "--lengths", default="20,30,50,75,100", help="track lengths (points), comma-separated"
    )
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument(
        "--measured",
        default=None,
        metavar="LO,HI",
        help="train and test on datasets.measured_andi tracks of lengths LO-HI (log-uniform) "
        "instead of the plain AnDi recipe at --lengths",
    )
    ap.add_argument(
        "--measured-model",
        default=None,
        metavar="LO,HI",
        help="lengths of the classifier's measured tracks (default: those of --measured)",
    )
    ap.add_argument("--threads", type=int, default=None, help="torch threads per network")
    ap.add_argument("--tasks", default="alpha,model", help="models to train: alpha, model or both")
    ap.add_argument("--n-models", type=int, default=2, help="CNNs per ensemble")
    ap.add_argument("--max-epochs", type=int, default=8)
    ap.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="tracks per training batch (batches hold one length, so fewer when a length is rare)",
    )
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument(
        "--lr-schedule",
        default="cosine",
        help="'cosine' (max_epochs, final weights), 'cosine_steps' (annealed by step) or 'plateau'",
    )
    ap.add_argument(
        "--window-points",
        type=int,
        default=None,
        help="set on the fitted classifier before it is saved: longer tracks are read in "
        "windows (ModelClassifier window_points; the temperature stays the one fitted on "
        "whole validation tracks); the bundled one got 300 from benchmarks/calibrate_bundled.py",
    )
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--output", type=Path, default=DATA, help="folder of the model files")
    ap.add_argument(
        "--results", type=Path, default=RESULTS / "pretrained", help="results path stem"
    )
    args = ap.parse_args(argv)
    tasks = {t.strip() for t in args.tasks.split(",")}
    if not tasks or tasks - {"alpha", "model"}:
        ap.error(f"--tasks must list alpha and/or model, got {args.tasks!r}")

    args.output.mkdir(parents=True, exist_ok=True)
    bundled = args.output.resolve() == DATA.resolve()
    names = (
        ("pretrained_alpha.sptm", "pretrained_model.sptm")
        if bundled
        else ("alpha.sptm", "model.sptm")
    )
    lengths = [int(v) for v in args.lengths.split(",")]
    dataset = model_dataset = _dataset
    if args.measured:
        lo, hi = (int(v) for v in args.measured.split(","))
        lo_m, hi_m = (int(v) for v in (args.measured_model or args.measured).split(","))

        def dataset(n, _lengths, dim, task, seed):
            return measured_tracks(n, seed, (lo, hi), task=task, dim=dim)

        def model_dataset(n, _lengths, dim, task, seed):
            return measured_tracks(n, seed, (lo_m, hi_m), task=task, dim=dim)

        lengths = [lo, hi]
        model_lengths = [lo_m, hi_m]
    elif args.measured_model:
        ap.error("--measured-model needs --measured")
    else:
        model_lengths = lengths
    desc = (
        f"sptmotion.datasets.andi(n={args.n_train} split over lengths {lengths}, dim={args.dim}, task=%s, "
        f"include_bm=True, noise=True, seed={args.seed}); sptmotion {__version__}"
        if not args.measured
        else f"sptmotion.datasets.measured_andi(n={args.n_train}, lengths %s log-uniform, "
        f"dim={args.dim}, task=%s, missing=(0, 0), include_dbm=False, seed={args.seed}); "
        f"sptmotion {__version__}"
    )
    report: dict = {
        "config": vars(args) | {"output": str(args.output), "results": str(args.results)}
    }

    train_params = dict(
        n_models=args.n_models,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        lr_schedule=args.lr_schedule,
        random_state=args.seed,
        n_threads=args.threads,
        verbose=True,
    )

    # -- alpha regressor (AnDi task 1)
    if "alpha" in tasks:
        t0 = time.perf_counter()
        Xtr, atr, _ = dataset(args.n_train, lengths, args.dim, "alpha", args.seed)
        Xte, ate, _ = dataset(args.n_test, lengths, args.dim, "alpha", args.seed + 1)
        reg = AlphaRegressor("wavelet", **train_params)
        reg.fit(Xtr, atr, data_description=_desc(desc, "alpha", lengths, args.measured))
        reg.save(args.output / names[0])
        t_reg = time.perf_counter() - t0
        a_hat, a_std = reg.predict(Xte, return_std=True)
        err = a_hat - ate
        z = err / a_std
        tamsd = np.concatenate([fit_tamsd_alpha(x[None], 1.0)["alpha"].to_numpy() for x in Xte])
        report["alpha"] = {
            "mae_wavelet": float(np.mean(np.abs(err))),
            "mae_tamsd_fit": float(np.nanmean(np.abs(np.clip(tamsd, 0, 2) - ate))),
            "mean_std": float(np.mean(a_std)),
            "rms_z": float(np.sqrt(np.mean(z**2))),
            "coverage_95": float(np.mean(np.abs(z) < 1.959964)),
            "train_s": round(t_reg, 1),
        }
        print("alpha:", report["alpha"], flush=True)

    # -- model classifier (AnDi task 2)
    if "model" in tasks:
        t0 = time.perf_counter()
        Xtr, _, mtr = model_dataset(args.n_train, model_lengths, args.dim, "model", args.seed + 2)
        Xte, _, truth = model_dataset(args.n_test, model_lengths, args.dim, "model", args.seed + 3)
        clf = ModelClassifier("wavelet", **train_params)
        clf.fit(Xtr, mtr, data_description=_desc(desc, "model", model_lengths, args.measured))
        clf.set_params(window_points=args.window_points)
        clf.save(args.output / names[1])
        t_clf = time.perf_counter() - t0
        P = clf.predict_proba(Xte)
        classes = np.asarray(clf.classes_).astype(str)
        pred = classes[np.argmax(P, axis=1)]
        per_class = {
            c: float(np.mean(pred[truth == c] == c)) for c in classes if np.any(truth == c)
        }
        conf = np.max(P, axis=1)
        report["model"] = {
            "micro_f1_wavelet": float(np.mean(pred == truth)),
            "recall_per_class": per_class,
            "bm_recall": per_class.get("bm", float("nan")),
            "mean_confidence": float(conf.mean()),
            "classes": classes.tolist(),
            "train_s": round(t_clf, 1),
        }
        print("model:", report["model"], flush=True)
    report["files"] = {
        n: (args.output / n).stat().st_size
        for n, t in zip(names, ("alpha", "model"), strict=True)
        if t in tasks
    }

    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    a, m = report.get("alpha"), report.get("model")
    lines = [
        "# Bundled pretrained models (`benchmarks/train_pretrained.py`)",
        "",
        (
            f"Training: {args.n_train} tracks per task from `datasets.andi` (AnDi-1 recipe + BM "
            f"as a sixth class, localization noise), lengths {lengths}, "
            if not args.measured
            else f"Training: {args.n_train} tracks per task from `datasets.measured_andi` "
            "(AnDi-1 + BM through motion blur, D over 3 decades, localization noise at SNR "
            f"0.5-20 or none; no gaps, no DBM), lengths {lengths[0]}-{lengths[1]} log-uniform"
            + (
                f" (classifier: {model_lengths[0]}-{model_lengths[1]})"
                if model_lengths != lengths
                else ""
            )
            + ", "
        )
        + f"dim {args.dim}, wavelet "
        f"representation, ensemble of {args.n_models} compact CNNs, batches of "
        f"{args.batch_size} tracks of one length, "
        + (
            f"{args.max_epochs} epochs (cosine schedule"
            + (" by step" if args.lr_schedule == "cosine_steps" else "")
            + ", final weights; rotated and cut tracks)"
            if args.lr_schedule in ("cosine", "cosine_steps")
            else f"<= {args.max_epochs} epochs (early stopping, patience {args.patience})"
        )
        + f", seed {args.seed}. Test: {args.n_test} held-out "
        "tracks per task from another seed, same recipe.",
        "",
        "| quantity | wavelet CNN (bundled) | peer in the same run |",
        "|---|---|---|",
    ]
    if a:
        lines += [
            f"| alpha MAE | {a['mae_wavelet']:.3f} | TAMSD log-log fit: {a['mae_tamsd_fit']:.3f} |",
            f"| alpha: RMS z-score (1 = calibrated) | {a['rms_z']:.2f} | |",
            f"| alpha: coverage of the 95% interval | {a['coverage_95']:.1%} | |",
        ]
    if m:
        lines += [
            f"| model micro-F1 (6 classes) | {m['micro_f1_wavelet']:.3f} | chance 0.167 |",
            f"| BM recall (null model) | {m['bm_recall']:.3f} | |",
            "",
            "Recall per class: "
            + ", ".join(f"{k} {v:.2f}" for k, v in m["recall_per_class"].items()),
        ]
    times = ", ".join(f"{k} {r['train_s']} s" for k, r in (("alpha", a), ("model", m)) if r)
    lines += [
        "",
        f"Training time (this machine, 2 shared cores): {times}. "
        "Files: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in report["files"].items()) + ".",
        "",
    ]
    args.results.with_suffix(".md").write_text("\n".join(lines))
    return report


if __name__ == "__main__":
    main()
