"""The bundled classifier on long tracks: whole tracks against windows (``window_points``).

The bundled models were trained on measured tracks of 20-400 points. Read whole, the
classifier's errors grow with the track's length: Brownian tracks are called another model
more often at 300 points than at 100, and most of them at 1000. With ``window_points = W`` a
longer track is read in ``ceil(L / W)`` windows whose log-probabilities are averaged
(:func:`sptmotion.learn.estimators.window_groups`).

1. Choice of W, on a calibration set (``datasets.measured_andi``, seed 7001, lengths 20-1000
   log-uniform, exposure ratio 0-1, SNR 0.5-20 or none, no gaps, no DBM): accuracy (6
   classes), Brownian tracks called another model and the log-loss, per length band, for the
   tracks longer than 150 points, whole and with W in 150, 200, 300, 400; W is chosen by
   :func:`rule` (among the windows at least as accurate as whole tracks in every band, the
   one that calls the fewest Brownian tracks another model) unless ``--choose`` gives it.
2. Test, on fresh tracks (seeds 7002-7004; 100, 300 and 1000 points; exposure half the frame
   time, as ``bench_verdict.py``): the learned answers alone (``predict_tracks``, the path of
   ``analyze`` and ``predict``) whole and with the chosen W: accuracy, Brownian tracks
   called another model, recall per class, log-loss, alpha MAE and the coverage of the 95 %
   alpha interval per class (alpha is always read whole). +- one binomial standard error.

    .venv/bin/python benchmarks/bench_windows.py [--choose W] [--models FOLDER]   # ~3 min on 2 cores

Writes ``benchmarks/results/pretrained/windows.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "pretrained"
Z95 = 1.959963984540054
BANDS = ((150, 300), (300, 600), (600, 1001))


def binomial_se(p: float, n: int) -> float:
    """Standard error of a proportion ``p`` of ``n`` (floored away from 0)."""
    return float(np.sqrt(max(p * (1 - p), 1e-12) / max(n, 1)))


def measured_tracks(
    n: int,
    seed: int,
    lengths: tuple[int, int],
    exposure: tuple[float, float] = (0.0, 1.0),
    *,
    task: str = "model",
    dim: int = 2,
):
    """``n`` measured tracks (``datasets.measured_andi``, no gaps, no DBM) as a list of
    ``(n_points, dim)`` arrays in particle order, with their alpha and model labels."""
    from sptmotion.datasets.measured import measured_andi

    df = measured_andi(n, dim=dim, task=task, rng=seed, lengths=lengths, exposure_ratio=exposure,
                       missing=(0.0, 0.0), include_dbm=False)  # fmt: skip
    df = df.sort_values(["particle", "frame"], kind="stable")
    _, first = np.unique(df["particle"].to_numpy(), return_index=True)
    X = np.split(df[["x", "y", "z"][:dim]].to_numpy(), first[1:])
    return X, df["alpha"].to_numpy()[first], df["model"].to_numpy().astype(str)[first]


def covered(mu: np.ndarray, sd: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Whether the report's 95 % interval (``mu +- 1.96 sd`` cut to [0, 2]) holds ``alpha``."""
    lo = np.maximum(mu - Z95 * sd, np.minimum(0.0, mu))
    hi = np.minimum(mu + Z95 * sd, np.maximum(2.0, mu))
    return (lo <= alpha) & (alpha <= hi)


def class_scores(proba: np.ndarray, classes: np.ndarray, truth: np.ndarray) -> dict:
    """A classifier's scores on tracks of known model ``truth``: accuracy over the classes,
    the Brownian tracks called another model (each with its binomial SE), the log-loss and
    the recall per class; ``proba`` (n, n_classes) in the order of the sorted ``classes``."""
    y = np.searchsorted(classes, truth)
    pred = np.argmax(proba, axis=1)
    bm = y == int(np.searchsorted(classes, "bm"))
    acc = float(np.mean(pred == y))
    bm_non = float(np.mean(pred[bm] != y[bm]))
    return {
        "n": int(len(y)),
        "accuracy": acc,
        "accuracy_se": binomial_se(acc, len(y)),
        "bm_called_other": bm_non,
        "bm_called_other_se": binomial_se(bm_non, int(bm.sum())),
        "log_loss": float(-np.mean(np.log(np.maximum(proba[np.arange(len(y)), y], 1e-300)))),
        "recall": {str(c): float(np.mean(pred[y == k] == k)) for k, c in enumerate(classes)},
    }


def choose(models, windows: list[int]) -> dict:
    clf = models.classifier
    X, _, truth = measured_tracks(6000, 7001, (20, 1000), (0.0, 1.0))
    L = np.array([len(x) for x in X])
    sel = np.flatnonzero(L > 150)
    Xs, ts, Ls = [X[i] for i in sel], truth[sel], L[sel]
    out = {"n_tracks": int(len(X)), "n_long": int(len(sel)), "rows": []}
    for W in [None, *windows]:
        clf.set_params(window_points=W)
        p = clf.predict_proba(Xs)
        for lo, hi in BANDS:
            b = (Ls >= lo) & (Ls < hi)
            out["rows"].append({"window_points": W, "band": [lo, hi - 1],
                                **class_scores(p[b], clf.classes_, ts[b])})  # fmt: skip
        print("W", W, "done", flush=True)
    clf.set_params(window_points=None)
    return out


def rule(choice: dict) -> int:
    """The window the rule picks from the calibration rows: among the windows at least as
    accurate as whole tracks in every length band, the one that calls the fewest Brownian
    tracks another model (mean over the bands; BM is the null model users test against)."""
    rows = choice["rows"]
    whole = {r["band"][0]: r["accuracy"] for r in rows if r["window_points"] is None}
    per_w: dict[int, list[dict]] = {}
    for r in rows:
        if r["window_points"] is not None:
            per_w.setdefault(r["window_points"], []).append(r)
    eligible = [
        W for W, rs in per_w.items() if all(r["accuracy"] >= whole[r["band"][0]] for r in rs)
    ]
    bm = {W: np.mean([r["bm_called_other"] for r in per_w[W]]) for W in eligible}
    if not eligible:
        raise SystemExit("no window is as accurate as whole tracks in every band")
    return min(eligible, key=lambda W: (bm[W], W))


def test(models, W: int) -> dict:
    from sptmotion.learn import predict_tracks

    reg, clf = models.regressor, models.classifier
    out = []
    for length, seed, n in ((100, 7002, 1800), (300, 7003, 1800), (1000, 7004, 1200)):
        X, alpha, truth = measured_tracks(n, seed, (length, length), (0.5, 0.5))
        for w in (None, W):
            clf.set_params(window_points=w)
            t0 = time.perf_counter()
            mu, sd, p = predict_tracks(reg, clf, X)
            wall = time.perf_counter() - t0
            cov = covered(mu, sd, alpha)
            row = {"length": length, "window_points": w, "wall_s": wall,
                   **class_scores(p, clf.classes_, truth),
                   "alpha_mae": float(np.mean(np.abs(mu - alpha))),
                   "coverage95": float(cov.mean()),
                   "coverage95_per_class": {str(c): float(cov[truth == c].mean())
                                            for c in clf.classes_}}  # fmt: skip
            out.append(row)
            print(length, w, f"acc {row['accuracy']:.3f}", flush=True)
    clf.set_params(window_points=None)
    return out


def _md(report: dict) -> str:
    W = report["window_points"]
    lines = [
        "# The bundled classifier on long tracks: whole vs windows (`benchmarks/bench_windows.py`)",
        "",
        f"Models: {report.get('models', 'bundled')} (trained on 20-400 points); the classifier's "
        "`window_points` set per row "
        "(`-`: whole tracks). 2D measured tracks (`datasets.measured_andi`: AnDi-1 + BM, "
        "blur, D over 3 decades, SNR 0.5-20 or none; no gaps, no DBM). +- one binomial "
        "standard error.",
        "",
        f"## 1. Choice of `window_points` (calibration set, seed 7001: {report['choose']['n_tracks']} "
        f"tracks of 20-1000 points, exposure ratio 0-1; the {report['choose']['n_long']} longer "
        "than 150 points)",
        "",
        "| points | window_points | accuracy | BM called another model | log-loss |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(
        report["choose"]["rows"], key=lambda r: (r["band"][0], r["window_points"] or 0)
    ):
        lines.append(
            f"| {r['band'][0]}-{r['band'][1]} | {r['window_points'] or '-'} | "
            f"{r['accuracy']:.3f} +- {r['accuracy_se']:.3f} | "
            f"{r['bm_called_other']:.3f} +- {r['bm_called_other_se']:.3f} | {r['log_loss']:.3f} |"
        )
    lines += [
        "",
        f"Chosen: `window_points = {W}` "
        + (
            "(the rule: among the windows at least as accurate as whole tracks in every band, "
            "the one that calls the fewest Brownian tracks another model, mean over the bands)."
            if report.get("by_rule")
            else "(given with `--choose`)."
        ),
        "",
        "## 2. Fresh tracks (seeds 7002-7004, exposure half the frame time; 1800, 1800 and 1200 "
        "tracks)",
        "",
        "| points | window_points | accuracy | BM called another model | log-loss | alpha MAE | "
        "95% alpha coverage | recall per class | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["test"]:
        rec = ", ".join(f"{c} {v:.2f}" for c, v in r["recall"].items())
        lines.append(
            f"| {r['length']} | {r['window_points'] or '-'} | {r['accuracy']:.3f} +- "
            f"{r['accuracy_se']:.3f} | {r['bm_called_other']:.3f} +- {r['bm_called_other_se']:.3f} | "
            f"{r['log_loss']:.3f} | {r['alpha_mae']:.3f} | {r['coverage95']:.3f} | {rec} | "
            f"{r['wall_s']:.1f} |"
        )
    lines += ["", "Coverage of the 95% alpha interval per class (alpha read whole in every row):", "",
              "| points | window_points | " + " | ".join(report["classes"]) + " |",
              "|---|---|" + "---|" * len(report["classes"])]  # fmt: skip
    for r in report["test"]:
        cells = " | ".join(f"{r['coverage95_per_class'][c]:.3f}" for c in report["classes"])
        lines.append(f"| {r['length']} | {r['window_points'] or '-'} | {cells} |")
    lines += ["", f"Total wall time {report['wall_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    from sptmotion.analysis.pretrained import resolve_models

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--choose",
        type=int,
        default=None,
        help="window_points for the test part (default: the rule's)",
    )
    ap.add_argument("--windows", default="150,200,300,400", help="candidates of the choice part")
    ap.add_argument("--results", type=Path, default=RESULTS / "windows")
    ap.add_argument("--models", default=None, help="model folder (default: the bundled pair)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    models = resolve_models(args.models)
    choice = choose(models, [int(v) for v in args.windows.split(",")])
    W = rule(choice) if args.choose is None else args.choose
    report = {
        "models": args.models or "bundled",
        "window_points": W,
        "by_rule": args.choose is None,
        "classes": [str(c) for c in models.classifier.classes_],
        "choose": choice,
        "test": test(models, W),
    }
    report["wall_s"] = time.perf_counter() - t0
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.with_suffix(".json").write_text(json.dumps(report, indent=1))
    args.results.with_suffix(".md").write_text(_md(report))
    print(_md(report))
    return report


if __name__ == "__main__":
    main()
