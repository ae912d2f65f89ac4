"""Post-training settings of the bundled models, fitted on a calibration set of their own.

After ``train_pretrained.py`` (networks, temperature, one interval factor), two settings are
chosen on held-out measured tracks (``datasets.measured_andi`` seed 7001: 6000 tracks of
20-1000 points, log-uniform, exposure ratio 0-1, SNR 0.5-20 or none, no gaps, no DBM; the
calibration set of ``bench_windows.py`` and ``bench_interval_classes.py``) and written into
the model files:

- the classifier's ``window_points`` (150, chosen by the rule of ``bench_windows.py``);
- the regressor's length calibration of its 95 % intervals
  (:meth:`sptmotion.learn.AlphaRegressor.calibrate_lengths`, six bands of equal counts,
  factors floored at 1): one interval factor fitted on the training lengths under-covers
  tracks of 20-35 points (0.90) and over-covers the longer ones (~0.97); only the first are
  widened.

    .venv/bin/python benchmarks/calibrate_bundled.py --in-place    # ~1.5 min; rewrites the bundled files
    .venv/bin/python benchmarks/calibrate_bundled.py --models /tmp/m --output /tmp/m2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_windows import measured_tracks  # noqa: E402

WINDOW_POINTS = 150
N_BANDS = 6
#: Widen only: the factors below 1 (over-covered lengths) would narrow every track's interval
#: and cut ATTM's coverage at 100 points from 0.92 to 0.82 (``bench_interval_classes.py``).
MIN_FACTOR = 1.0


def main(argv: list[str] | None = None) -> dict:
    from sptmotion.analysis.pretrained import bundled_model_paths
    from sptmotion.learn import load

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="folder with alpha.sptm, model.sptm")
    ap.add_argument("--output", type=Path, default=None, help="folder to write the two files to")
    ap.add_argument("--in-place", action="store_true", help="rewrite the input files")
    args = ap.parse_args(argv)
    if args.models is None:
        reg_path, clf_path = bundled_model_paths()
    else:
        reg_path, clf_path = args.models / "alpha.sptm", args.models / "model.sptm"
    if args.in_place == (args.output is not None):
        ap.error("give either --output FOLDER or --in-place")
    if args.output is not None:
        out_reg, out_clf = args.output / "alpha.sptm", args.output / "model.sptm"
        if {out_reg.resolve(), out_clf.resolve()} & {reg_path.resolve(), clf_path.resolve()}:
            ap.error(
                f"--output {args.output} holds the input files; use --in-place to rewrite them"
            )
        args.output.mkdir(parents=True, exist_ok=True)
    else:
        out_reg, out_clf = reg_path, clf_path
    clf = load(clf_path)
    clf.set_params(window_points=WINDOW_POINTS)
    reg = load(reg_path)
    X, alpha, _ = measured_tracks(6000, 7001, (20, 1000), (0.0, 1.0))
    reg.calibrate_lengths(X, alpha, n_bands=N_BANDS, min_factor=MIN_FACTOR)
    clf.save(out_clf)  # both written only once both are ready (each atomically)
    reg.save(out_reg)
    print("window_points", WINDOW_POINTS, "length calibration", reg.length_scale_)
    return {"window_points": WINDOW_POINTS, "length_scale": reg.length_scale_}


if __name__ == "__main__":
    main()
