"""Speed of the wavelet representation against batched pywt.cwt, on one CPU core.

Target: 10,000 2D tracks of length 100 transformed at least 50x faster
than the batched peer -- ``pywt.cwt(signals, SCALES, wavelet, axis=-1)`` over the same six
wavelets and 24 scales, on the same standardized signals, with the modulus stacked into the
same ``(n, 12, 24, 100)`` float32 array -- measured in the same run. The paper's own
per-track loop (one ``pywt.cwt`` call per track, coordinate and wavelet) is timed on a
subset for reference. Both outputs are compared (max |difference| / max).

Run by hand (pins itself to one core and one BLAS thread)::

    taskset -c 0 .venv/bin/python benchmarks/bench_wavelet.py

Writes ``benchmarks/results/wavelet/bench_wavelet.md`` and ``.json``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pywt  # noqa: E402

from sptmotion import __version__  # noqa: E402
from sptmotion._io import atomic_path  # noqa: E402
from sptmotion.represent import SCALES, WAVELETS, wavelet  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "wavelet"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _timed(fn, *args):
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - t0, time.process_time() - c0


def pywt_batched(X: np.ndarray) -> np.ndarray:
    """The peer: batched pywt.cwt (axis=-1) per coordinate and wavelet, modulus, stacked."""
    n, L, dim = X.shape
    Z = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    out = np.empty((n, dim * len(WAVELETS), len(SCALES), L), dtype=np.float32)
    for d in range(dim):
        sig = np.ascontiguousarray(Z[:, :, d])
        for w, name in enumerate(WAVELETS):
            coef, _ = pywt.cwt(sig, SCALES, name, axis=-1)  # (24, n, L)
            out[:, d * len(WAVELETS) + w] = np.abs(coef).transpose(1, 0, 2)
    return out


def pywt_per_track(X: np.ndarray) -> np.ndarray:
    """The paper's loop: one pywt.cwt call per track, coordinate and wavelet."""
    n, L, dim = X.shape
    out = np.empty((n, dim * len(WAVELETS), len(SCALES), L), dtype=np.float32)
    for i in range(n):
        for d in range(dim):
            x = X[i, :, d]
            z = (x - x.mean()) / x.std()
            for w, name in enumerate(WAVELETS):
                coef, _ = pywt.cwt(z, SCALES, name)
                out[i, d * len(WAVELETS) + w] = np.abs(coef)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-tracks", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="timed calls of represent.wavelet")
    ap.add_argument("--loop-tracks", type=int, default=200, help="tracks for the per-track loop")
    ap.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: do not pin)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", type=Path, default=RESULTS / "bench_wavelet.md")
    args = ap.parse_args()
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

    rng = np.random.default_rng(args.seed)
    X = rng.normal(size=(args.n_tracks, args.length, args.dim)).cumsum(axis=1)  # Brownian tracks
    load_start = os.getloadavg()

    wavelet(X[:64])  # compile the numba kernels and build the filter plan once
    walls, cpus = [], []
    ours = None
    for _ in range(args.repeats):
        ours = None
        ours, wall, cpu = _timed(wavelet, X)
        walls.append(wall)
        cpus.append(cpu)

    peer, peer_wall, peer_cpu = _timed(pywt_batched, X)
    err = float(np.max(np.abs(ours - peer)) / np.max(np.abs(peer)))
    del peer, ours

    n_loop = min(args.loop_tracks, args.n_tracks)
    loop, loop_wall, loop_cpu = _timed(pywt_per_track, X[:n_loop])
    loop_err = float(np.max(np.abs(wavelet(X[:n_loop]) - loop)) / np.max(np.abs(loop)))
    load_end = os.getloadavg()

    n = args.n_tracks
    best_wall, med_wall = min(walls), statistics.median(walls)
    best_cpu, med_cpu = min(cpus), statistics.median(cpus)
    res = {
        "n_tracks": n,
        "length": args.length,
        "dim": args.dim,
        "wavelets": list(WAVELETS),
        "n_scales": len(SCALES),
        "ours_wall_s": walls,
        "ours_cpu_s": cpus,
        "ours_tracks_per_s_best_wall": n / best_wall,
        "ours_tracks_per_s_median_wall": n / med_wall,
        "ours_tracks_per_s_best_cpu": n / best_cpu,
        "pywt_batched_wall_s": peer_wall,
        "pywt_batched_cpu_s": peer_cpu,
        "pywt_batched_tracks_per_s": n / peer_wall,
        "pywt_per_track_tracks": n_loop,
        "pywt_per_track_tracks_per_s": n_loop / loop_wall,
        "speedup_best_wall": peer_wall / best_wall,
        "speedup_median_wall": peer_wall / med_wall,
        "speedup_cpu_time": peer_cpu / best_cpu,
        "max_rel_difference_vs_pywt": err,
        "max_rel_difference_vs_per_track_loop": loop_err,
        "acceptance_50x_best_wall": bool(peer_wall / best_wall >= 50),
        "cpu": _cpu_model(),
        "cores_used": affinity,
        "load_average_start": load_start,
        "load_average_end": load_end,
        "numpy": np.__version__,
        "pywt": pywt.__version__,
        "sptmotion": __version__,
        "command": "taskset -c 0 .venv/bin/python benchmarks/bench_wavelet.py",
    }
    md = f"""# Wavelet representation speed: `represent.wavelet` vs batched `pywt.cwt`

{n:,} Brownian {args.dim}D tracks of {args.length} points; six wavelets ({", ".join(WAVELETS)}) x
{len(SCALES)} scales; standardized coordinates, modulus, float32 `(n, {args.dim * len(WAVELETS)}, {len(SCALES)}, {args.length})`.
One core (affinity {affinity}), one BLAS thread; CPU: {res["cpu"]}.
Load average during the run: {load_start[0]:.1f} at start, {load_end[0]:.1f} at end
(the 2-core machine is shared with other jobs: wall times include their interference).

| method | tracks/s | time for {n:,} tracks |
|---|---:|---:|
| `represent.wavelet` (best of {args.repeats}) | {n / best_wall:,.0f} | {best_wall:.2f} s wall, {best_cpu:.2f} s CPU |
| `represent.wavelet` (median of {args.repeats}) | {n / med_wall:,.0f} | {med_wall:.2f} s wall, {med_cpu:.2f} s CPU |
| batched `pywt.cwt(..., axis=-1)` (peer) | {n / peer_wall:,.1f} | {peer_wall:.1f} s wall, {peer_cpu:.1f} s CPU |
| per-track `pywt.cwt` loop (paper's code), {n_loop} tracks | {n_loop / loop_wall:,.1f} | {loop_wall:.1f} s wall |

- Speed-up over the batched peer: **{peer_wall / best_wall:.1f}x** (best wall), {peer_wall / med_wall:.1f}x
  (median wall), {peer_cpu / best_cpu:.1f}x (CPU time). Acceptance (>= 50x): **{"met" if peer_wall / best_wall >= 50 else "NOT met"}**.
- Agreement: max |ours - pywt| / max |pywt| = {err:.1e} (batched peer), {loop_err:.1e} (per-track loop);
  the acceptance tolerance is 1e-5.

Reproduce: `{res["command"]}` (writes this file and `bench_wavelet.json`).
"""
    out = Path(args.output)
    with atomic_path(out) as tmp:
        tmp.write_text(md)
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(res, indent=2))
    print(md)


if __name__ == "__main__":
    main()
