"""Two pairs of learned models on the same fresh measured tracks: bundled vs a candidate.

For deciding whether a retrained pair replaces the bundled one. Tracks from
``datasets.measured_andi`` (AnDi-1 models + BM, 2D, exposure half the frame time, SNR
0.5-20 or none, no gaps, no DBM; the settings of ``bench_verdict.py``), ``--n`` per length,
one seed for every length. Per length and pair: alpha MAE and the coverage of the 95 % alpha
interval (cut to [0, 2], as the report shows it) overall and per class; the classifier's
accuracy over the six classes, the Brownian tracks called another model, the log-loss and
the recall per class. +- one binomial standard error. The candidate classifier reads long
tracks in windows of ``--window-points`` (the bundled one's setting) unless it has its own.

    .venv/bin/python benchmarks/bench_compare_models.py --candidate /tmp/m --stem NAME

Writes ``benchmarks/results/pretrained/<stem>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_windows import class_scores, covered, measured_tracks  # noqa: E402

RESULTS = HERE / "results" / "pretrained"


def score(reg, clf, X, alpha, model) -> dict:
    """Alpha and model scores of one pair on tracks ``X`` with their labels."""
    mu, sd = reg.predict(X, return_std=True)
    cov = covered(mu, sd, alpha)
    classes = np.asarray(clf.classes_).astype(str)
    return {
        "alpha_mae": float(np.mean(np.abs(mu - alpha))),
        "coverage": float(cov.mean()),
        "coverage_per_class": {c: float(cov[model == c].mean()) for c in np.unique(model)},
        **class_scores(clf.predict_proba(X), classes, model),
    }


def main(argv: list[str] | None = None) -> dict:
    from sptmotion.analysis.pretrained import bundled_model_paths
    from sptmotion.learn import load

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidate", type=Path, required=True, help="folder: alpha.sptm, model.sptm")
    ap.add_argument("--lengths", default="30,100,300,1000")
    ap.add_argument("--n", type=int, default=1200, help="tracks per length")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--window-points", type=int, default=300)
    ap.add_argument("--stem", default="compare")
    ap.add_argument("--note", default="", help="one line on how the candidate was trained")
    args = ap.parse_args(argv)
    pairs = {
        "bundled": [load(p) for p in bundled_model_paths()],
        "candidate": [load(args.candidate / "alpha.sptm"), load(args.candidate / "model.sptm")],
    }
    if getattr(pairs["candidate"][1], "window_points", None) is None:
        pairs["candidate"][1].set_params(window_points=args.window_points)
    lengths = [int(v) for v in args.lengths.split(",")]
    res: dict = {"config": vars(args) | {"candidate": str(args.candidate)}, "rows": {}}
    for L in lengths:
        X, alpha, model = measured_tracks(args.n, args.seed, (L, L), (0.5, 0.5))
        res["rows"][L] = {k: score(r, c, X, alpha, model) for k, (r, c) in pairs.items()}
        print(L, json.dumps(res["rows"][L]), flush=True)
    lines = [
        f"# Bundled models vs a candidate (`benchmarks/bench_compare_models.py --stem {args.stem}`)",
        "",
        f"Candidate: `{args.candidate}`. {args.note}".rstrip(),
        "",
        f"{args.n} fresh measured tracks per length (`datasets.measured_andi` seed {args.seed}, "
        "AnDi-1 + BM, 2D, exposure half the frame time, SNR 0.5-20 or none, no gaps, no DBM); "
        "+- one binomial standard error.",
        "",
        "| points | pair | alpha MAE | 95% coverage | accuracy | BM called another model "
        "| log-loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for L, row in res["rows"].items():
        for k, s in row.items():
            lines.append(
                f"| {L} | {k} | {s['alpha_mae']:.3f} | {s['coverage']:.3f} | "
                f"{s['accuracy']:.3f} +- {s['accuracy_se']:.3f} | "
                f"{s['bm_called_other']:.3f} +- {s['bm_called_other_se']:.3f} | "
                f"{s['log_loss']:.3f} |"
            )
    lines += ["", "Recall and alpha coverage per class:", ""]
    for L, row in res["rows"].items():
        for k, s in row.items():
            rec = ", ".join(f"{c} {v:.2f}" for c, v in s["recall"].items())
            cov = ", ".join(f"{c} {v:.2f}" for c, v in s["coverage_per_class"].items())
            lines.append(f"- {L} points, {k}: recall {rec}; coverage {cov}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.stem}.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / f"{args.stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return res


if __name__ == "__main__":
    main()
