"""Does the wavelet learner gain from knowing the measurement? (issue: scale-aware representation)

Three wavelet learners per task, trained on the same measured tracks
(``datasets.measured_andi``: AnDi-1 models + BM through motion blur, D over three decades,
localization noise at SNR 0.5-20 or none; no gaps, no DBM; lengths log-uniform):

- ``paper``: the standardized scalograms only (Wang, Zhang, Huang 2025);
- ``scale``: plus each coordinate's log step scale (``scale_inputs=True``);
- ``scale+measurement``: plus the exposure ratio and sigma of each track
  (``measurement_inputs=True``; sigma relative to the step scale, each with a known-flag;
  each known value hidden with probability 0.3 per training batch).

Test: fresh measured tracks of another seed at fixed lengths (100 and 300 points). The
measurement learner is scored twice: with the test tracks' exposure ratio and sigma given
("known"), and with neither ("unknown", what a user without a calibration gets). Reported:
alpha MAE, coverage of the 95 % interval, 6-class accuracy, BM called non-BM, and the
MAE / accuracy split by step-to-noise ratio (SNR < 2, SNR >= 2 incl. noise-free); standard
errors from the test-set size.

    nice .venv/bin/python benchmarks/bench_measurement_inputs.py [--n-train 3000] \\
        [--n-test 1000] [--max-epochs 12] [--n-models 1]

Writes ``benchmarks/results/measurement_inputs/measurement_inputs.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "measurement_inputs"
VARIANTS = {
    "paper": {"scale_inputs": False, "measurement_inputs": False},
    "scale": {"scale_inputs": True, "measurement_inputs": False},
    "scale+measurement": {"scale_inputs": True, "measurement_inputs": True},
}


def _data(n: int, lengths: tuple[int, int], task: str, seed: int):
    """Tracks, labels and per-track measurement (exposure ratio, sigma, snr) of a measured set."""
    from sptmotion.datasets.measured import measured_andi
    from sptmotion.datasets.tables import table_to_tracks, track_labels

    df = measured_andi(n, dim=2, task=task, rng=seed, lengths=lengths, missing=(0.0, 0.0),
                       include_dbm=False)  # fmt: skip
    tracks, particles = table_to_tracks(df)
    lab = track_labels(df, ("model", "alpha", "sigma", "exposure_ratio", "snr"))
    lab = lab.set_index("particle").loc[particles]
    meas = {"exposure_ratio": lab["exposure_ratio"].to_numpy(float),
            "sigma": lab["sigma"].to_numpy(float)}  # fmt: skip
    return tracks, lab, meas


def _scores(lab, alpha=None, std=None, proba=None, classes=None) -> dict:
    snr = lab["snr"].to_numpy(float)
    low = snr < 2
    out = {"n": int(len(lab)), "n_low_snr": int(low.sum())}
    if alpha is not None:
        err = np.abs(alpha - lab["alpha"].to_numpy(float))
        out |= {
            "alpha_mae": float(err.mean()),
            "alpha_mae_se": float(err.std(ddof=1) / np.sqrt(len(err))),
            "coverage95": float(np.mean(err <= 1.959964 * std)),
            "alpha_mae_low_snr": float(err[low].mean()),
            "alpha_mae_high_snr": float(err[~low].mean()),
        }
    if proba is not None:
        pred = np.asarray(classes)[proba.argmax(1)]
        truth = lab["model"].to_numpy(str)
        ok = pred == truth
        bm = truth == "bm"
        out |= {
            "accuracy": float(ok.mean()),
            "accuracy_se": float(np.sqrt(ok.mean() * (1 - ok.mean()) / len(ok))),
            "bm_called_non_bm": float(np.mean(pred[bm] != "bm")),
            "n_bm": int(bm.sum()),
            "accuracy_low_snr": float(ok[low].mean()),
            "accuracy_high_snr": float(ok[~low].mean()),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=3000, help="training tracks per task")
    ap.add_argument("--n-test", type=int, default=1000, help="test tracks per task and length")
    ap.add_argument("--lengths", default="20,400", help="training lengths LO,HI (log-uniform)")
    ap.add_argument("--test-lengths", default="100,300")
    ap.add_argument("--n-models", type=int, default=1)
    ap.add_argument("--max-epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--name", default="measurement_inputs")
    args = ap.parse_args(argv)

    import torch

    from sptmotion.learn import AlphaRegressor, ModelClassifier

    torch.set_num_threads(2)
    lo, hi = (int(v) for v in args.lengths.split(","))
    variants = args.variants.split(",")
    test_lengths = [int(v) for v in args.test_lengths.split(",")]
    results: dict = {"settings": vars(args), "fit_s": {}, "scores": {}}
    for task, cls, seed in (("alpha", AlphaRegressor, 0), ("model", ModelClassifier, 1)):
        Xtr, labtr, meastr = _data(args.n_train, (lo, hi), task, args.seed * 10 + seed)
        ytr = labtr["alpha"].to_numpy(float) if task == "alpha" else labtr["model"].to_numpy(str)
        tests = {
            L: _data(args.n_test, (L, L), task, args.seed * 10 + 5 + seed + 2 * i)
            for i, L in enumerate(test_lengths)
        }
        for v in variants:
            est = cls(
                "wavelet",
                n_models=args.n_models,
                max_epochs=args.max_epochs,
                lr_schedule="cosine",
                random_state=args.seed,
                **VARIANTS[v],
            )
            t0 = time.process_time()
            est.fit(Xtr, ytr, measurement=meastr if VARIANTS[v]["measurement_inputs"] else None)
            results["fit_s"][f"{task}/{v}"] = time.process_time() - t0
            print(task, v, f"fit {results['fit_s'][f'{task}/{v}']:.0f} CPU-s", flush=True)
            given = ("known", "unknown") if VARIANTS[v]["measurement_inputs"] else ("-",)
            for L, (Xte, labte, meaate) in tests.items():
                for g in given:
                    m = meaate if g == "known" else None
                    if task == "alpha":
                        a, s = est.predict(Xte, return_std=True, measurement=m)
                        sc = _scores(labte, alpha=a, std=s)
                    else:
                        p = est.predict_proba(Xte, measurement=m)
                        sc = _scores(labte, proba=p, classes=est.classes_)
                    results["scores"][f"{task}/{v}/{L}/{g}"] = sc
                    print(task, v, L, g, sc, flush=True)
    results["cpus"] = os.cpu_count()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# Wavelet learner: paper form, + step scale, + measurement (`bench_measurement_inputs.py`)",
        "",
        f"Training: {args.n_train} measured tracks per task (lengths {lo}-{hi} log-uniform, "
        f"dim 2), {args.n_models} CNN(s), {args.max_epochs} epochs (cosine), seed {args.seed}. "
        f"Test: {args.n_test} fresh measured tracks per task and length (another seed). "
        "'known' / 'unknown': the test tracks' exposure ratio and sigma given or not.",
        "",
        "| variant | length | measurement | alpha MAE (± SE) | 95% coverage | MAE SNR<2 | "
        "MAE SNR>=2 | accuracy (± SE) | BM called non-BM | acc. SNR<2 | acc. SNR>=2 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        for L in test_lengths:
            for g in ("known", "unknown") if VARIANTS[v]["measurement_inputs"] else ("-",):
                a = results["scores"][f"alpha/{v}/{L}/{g}"]
                c = results["scores"][f"model/{v}/{L}/{g}"]
                lines.append(
                    f"| {v} | {L} | {g} | {a['alpha_mae']:.3f} ± {a['alpha_mae_se']:.3f} | "
                    f"{a['coverage95']:.3f} | {a['alpha_mae_low_snr']:.3f} | "
                    f"{a['alpha_mae_high_snr']:.3f} | {c['accuracy']:.3f} ± "
                    f"{c['accuracy_se']:.3f} | {c['bm_called_non_bm']:.3f} | "
                    f"{c['accuracy_low_snr']:.3f} | {c['accuracy_high_snr']:.3f} |"
                )
    lines += ["", "Training CPU time (s): " + ", ".join(
        f"{k} {v:.0f}" for k, v in results["fit_s"].items())]  # fmt: skip
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
