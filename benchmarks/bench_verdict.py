"""The report's verdict against its two sources, on measured tracks with known models.

Tracks from ``datasets.measured_andi`` (AnDi-1 models + BM, 2D, exposure half the frame time,
D log-uniform over 3 decades, localization noise at SNR 0.5-20 or none; no missing frames, no
DBM since the bundled classifier does not know it) of 100, 300 and 1000 points go through
``analysis.analyze_table`` with the bundled models. Per length, for the likelihood's model
(``mle_best``: Gaussian models only, BM null at 5%), the learned classifier's most probable
class (``learned_verdict``) and the combined ``verdict`` (``analysis.characterize``,
"Verdict"): accuracy, BM tracks called another model, BM tracks called inconclusive, and the
confusion table; binomial standard errors from the sample sizes.

    .venv/bin/python benchmarks/bench_verdict.py [--n 1200] [--lengths 100,300,1000]
    .venv/bin/python benchmarks/bench_verdict.py --sweep --seed 21 --lengths 100,300   # the thresholds

Writes ``benchmarks/results/verdict/verdict.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_windows import binomial_se  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "verdict"
SOURCES = (("likelihood (mle_best)", "mle_best"), ("learned", "learned_verdict"),
           ("verdict (combined)", "verdict"))  # fmt: skip


def run_length(n: int, length: int, seed: int, sweep: bool = False, models=None) -> dict:
    from sptmotion.analysis import analyze_table
    from sptmotion.datasets.measured import measured_andi

    df = measured_andi(
        n,
        rng=seed,
        lengths=(length, length),
        exposure_ratio=(0.5, 0.5),
        missing=(0.0, 0.0),
        include_dbm=False,
    )
    truth = df.groupby("particle")["model"].first()
    true_alpha = df.groupby("particle")["alpha"].first()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_table(df[["particle", "frame", "x", "y"]], Path(tmp) / "out", dt=1.0,
                            exposure=0.5, figures=False, models=models)  # fmt: skip
    wall = time.perf_counter() - t0
    res = res.set_index("particle")
    res["truth"] = truth
    res["true_alpha"] = true_alpha
    res = res[res["error"].fillna("") == ""]
    if sweep:
        return {"length": length, "sweep": _sweep(res)}
    bm = res["truth"] == "bm"
    out = {"length": length, "n_tracks": int(len(res)), "n_bm": int(bm.sum()), "analyze_s": wall}
    # alpha: the learned regressor and the likelihood (FBM through blur + noise), per class
    for key, (a, lo, hi) in {
        "learned": ("alpha", "alpha_lo", "alpha_hi"),
        "likelihood": ("mle_alpha", "mle_alpha_lo", "mle_alpha_hi"),
    }.items():
        err = np.abs(res[a] - res["true_alpha"])
        cov = (res[lo] <= res["true_alpha"]) & (res["true_alpha"] <= res[hi])
        out[f"alpha_{key}"] = {
            "mae": float(err.mean()),
            "coverage95": float(cov.mean()),
            "coverage95_per_class": {
                str(c): float(cov[res["truth"] == c].mean()) for c in sorted(res["truth"].unique())
            },  # fmt: skip
        }
    for label, col in SOURCES:
        called = res[col].fillna("").astype(str)
        acc = float(np.mean(called == res["truth"]))
        wrong_bm = float(np.mean((called[bm] != "bm") & (called[bm] != "inconclusive")))
        inc_bm = float(np.mean(called[bm] == "inconclusive"))
        out[col] = {
            "label": label,
            "accuracy": acc,
            "accuracy_se": binomial_se(acc, len(res)),
            "bm_called_other_model": wrong_bm,
            "bm_called_other_model_se": binomial_se(wrong_bm, int(bm.sum())),
            "bm_inconclusive": inc_bm,
            "confusion": pd.crosstab(res["truth"], called).to_dict(),
        }
    return out


def _sweep(res: pd.DataFrame) -> list[dict]:
    """The verdict rule over a grid of its two thresholds (for choosing them)."""
    from sptmotion.analysis.characterize import NON_GAUSSIAN

    P = res[[f"p_{c}" for c in NON_GAUSSIAN]].to_numpy()
    g, top, p_top = 1 - P.sum(axis=1), P.argmax(axis=1), P.max(axis=1)
    bm = (res["truth"] == "bm").to_numpy()
    rows = []
    for t_ng in (0.5, 0.6, 0.7, 0.8, 0.9):
        for t_g in (0.5, 0.3, 0.0):
            v = np.where(
                p_top >= t_ng,
                np.asarray(NON_GAUSSIAN)[top],
                np.where(g >= t_g, res["mle_best"].astype(str), "inconclusive"),
            )
            rows.append({
                "non_gaussian_min_p": t_ng,
                "gaussian_min_p": t_g,
                "accuracy": float(np.mean(v == res["truth"].to_numpy())),
                "bm_called_other_model": float(np.mean((v[bm] != "bm") & (v[bm] != "inconclusive"))),
                "inconclusive": float(np.mean(v == "inconclusive")),
            })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1200, help="tracks per length")
    ap.add_argument("--lengths", default="100,300,1000")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--sweep",
        action="store_true",
        help="grid of the rule's two thresholds instead (choose them on another --seed)",
    )
    ap.add_argument("--models", default=None, help="model folder or file (default: bundled)")
    ap.add_argument("--stem", default="verdict")
    args = ap.parse_args(argv)
    rows = [
        run_length(args.n, int(L), args.seed + i, args.sweep, args.models)
        for i, L in enumerate(args.lengths.split(","))
    ]
    if args.sweep:
        RESULTS.mkdir(parents=True, exist_ok=True)
        lines = ["# Verdict thresholds sweep (`bench_verdict.py --sweep`)", "",
                 f"{args.n} tracks per length, seed {args.seed}.", "",
                 "| length | non-Gaussian min p | Gaussian-family min p | accuracy | "
                 "BM called another model | inconclusive |", "|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            for q in r["sweep"]:
                lines.append(
                    f"| {r['length']} | {q['non_gaussian_min_p']} | {q['gaussian_min_p']} | "
                    f"{q['accuracy']:.3f} | {q['bm_called_other_model']:.3f} | "
                    f"{q['inconclusive']:.3f} |"
                )
        (RESULTS / "sweep.json").write_text(json.dumps({"settings": vars(args), "rows": rows}))
        (RESULTS / "sweep.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return {"rows": rows}
    res = {"settings": vars(args), "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.stem}.json").write_text(json.dumps(res, indent=2))
    lines = [
        "# Verdict vs its sources (`benchmarks/bench_verdict.py`)",
        "",
        f"{args.n} measured tracks per length (AnDi-1 + BM, 2D, exposure = dt/2, SNR 0.5-20 or "
        f"none), models: {args.models or 'bundled'}; +- one binomial standard error.",
        "",
        "| length | source | accuracy (6 classes) | BM called another model | BM inconclusive |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        for _, col in SOURCES:
            s = r[col]
            lines.append(
                f"| {r['length']} | {s['label']} | {s['accuracy']:.3f} +- {s['accuracy_se']:.3f} | "
                f"{s['bm_called_other_model']:.3f} +- {s['bm_called_other_model_se']:.3f} | "
                f"{s['bm_inconclusive']:.3f} |"
            )
    lines += ["", "Alpha (truth: the motion's exponent): MAE and coverage of the 95% interval, "
              "overall and per class:", "",
              "| length | alpha from | MAE | coverage | per class |", "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        for key in ("learned", "likelihood"):
            a = r[f"alpha_{key}"]
            per = ", ".join(f"{c} {v:.2f}" for c, v in a["coverage95_per_class"].items())
            lines.append(
                f"| {r['length']} | {key} | {a['mae']:.3f} | {a['coverage95']:.3f} | {per} |"
            )
    lines += ["", "Confusion of the combined verdict (rows: truth, columns: verdict):", ""]
    for r in rows:
        conf = pd.DataFrame(r["verdict"]["confusion"]).fillna(0).astype(int)
        cols = list(conf.columns)
        lines += [f"Length {r['length']}:", "", "| truth | " + " | ".join(cols) + " |",
                  "|---" * (len(cols) + 1) + "|"]  # fmt: skip
        for truth, row in conf.iterrows():
            lines.append(f"| {truth} | " + " | ".join(str(int(v)) for v in row) + " |")
        lines.append("")
    walls = ", ".join(f"{r['length']} points {r['analyze_s']:.0f} s" for r in rows)
    lines.append(f"analyze wall time: {walls}")
    (RESULTS / f"{args.stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return res


if __name__ == "__main__":
    main()
