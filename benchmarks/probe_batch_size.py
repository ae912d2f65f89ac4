"""Probe: does the batch size decide whether a classifier keeps long Brownian tracks BM?

The classifiers trained on 1e5 measured tracks with batches of ~50-64 tracks of one length
called almost every BM track of 300+ points another model (``results/pretrained/
compare_1e5_*.md``); the bundled one, whose training batches held ~18 tracks, did not. This
trains one network on 20,000 measured tracks of 20-400 points for two epochs (cosine by
step) per batch size given and prints, on 1200 fresh measured tracks (exposure ratio 0-1)
of 100 and of 300 points, the
accuracy and the BM tracks called another model. Exploratory: one network, one seed.

    .venv/bin/python benchmarks/probe_batch_size.py 64,16     # ~8 min on 2 cores
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_windows import measured_tracks  # noqa: E402
from sptmotion.learn import ModelClassifier  # noqa: E402

Xtr, _, mtr = measured_tracks(20000, 2027, (20, 400))
Xb, _, mb = measured_tracks(1200, 11, (300, 300))
Xh, _, mh = measured_tracks(1200, 11, (100, 100))
for bs in (int(a) for a in (sys.argv[1] if len(sys.argv) > 1 else "64,16").split(",")):
    t0 = time.perf_counter()
    clf = ModelClassifier(
        "wavelet", n_models=1, max_epochs=2, lr_schedule="cosine_steps", batch_size=bs,
        random_state=5,
    )  # fmt: skip
    clf.fit(Xtr, mtr)
    cl = np.asarray(clf.classes_).astype(str)
    out = []
    for X, m in ((Xh, mh), (Xb, mb)):
        pred = cl[clf.predict_proba(X).argmax(1)]
        acc, bm_other = np.mean(pred == m), np.mean(pred[m == "bm"] != "bm")
        out.append(f"acc {acc:.3f} BM->other {bm_other:.3f}")
    print("batch", bs, "| 100 pts:", out[0], "| 300 pts:", out[1],
          f"| {time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
