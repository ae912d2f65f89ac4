"""The fast sCMOS likelihoods (``SCMOS(approx="poisson")``, the shifted Poisson of Huang et al.
2013, and ``approx="gaussian"``) against the exact Poisson-Gaussian series: their error where
inference sees it, their speed, and whether they move the Bayesian tracker's posteriors.

Parts:

1. error: per pixel, the error of the log-likelihood ratio between ``1.1 lam`` and ``lam``
   photoelectrons (what a posterior depends on; a constant offset of the log-density does not
   matter) at signals drawn from the exact model, lam 0.3-1000, read noise 1 and 6.2 e-^2;
2. speed: ns per pixel of each over a 128 x 128 frame;
3. likelihood ratios: on movies rendered with per-pixel gain, offset and read-noise maps, the
   emission log-likelihood ratio between the true track and the track shifted by 10, 30 and
   100 nm, exactly and with each approximation;
4. posterior: the Bayesian tracker with each approximation on the same movies (32 x 32 pixels,
   40 frames, one BM particle, 2 and 20 background photons per pixel): coverage of the 98%
   intervals of the lateral positions (pooled, SE clustered by movie), of D, time per movie.
   The exact series (~0.8 µs per pixel, ~40x the approximations) is out of reach there.

    .venv/bin/python benchmarks/bench_scmos.py            # ~10 min on 2 cores

Writes ``benchmarks/results/scmos/scmos.{md,json}``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pgn_table import coverage_runs, movie, run_camera_benchmark, setup_for  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "scmos"
CAMERAS = [(2.0, 4.0), (2.2, 30.0)]  # gain (ADU/e-), read variance (ADU^2)
LAMBDAS = [0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
APPROX = ("poisson", "gaussian")


def _camera(approx: str, shape=None, rng=None):
    from sptmotion.optics.camera import SCMOS

    if shape is None:
        return lambda g, v: SCMOS(gain=g, offset=100.0, read_var=v, qe=1.0, approx=approx)
    rng = np.random.default_rng(rng)
    gain = rng.uniform(1.8, 2.2, shape)
    offset = rng.uniform(95.0, 105.0, shape)
    read_var = np.exp(rng.uniform(np.log(2.0), np.log(40.0), shape))  # 0.7-3 e- rms
    return SCMOS(gain=gain, offset=offset, read_var=read_var, qe=0.8, approx=approx)


def part_error() -> list[dict]:
    rows = []
    rng = np.random.default_rng(1)
    for g, v in CAMERAS:
        cams = {a: _camera(a)(g, v) for a in ("exact", *APPROX)}
        for lam in LAMBDAS:
            u = np.full(5000, lam)
            adu = cams["exact"].sample(u, rng)
            d = {a: c.log_pdf(adu, 1.1 * u) - c.log_pdf(adu, u) for a, c in cams.items()}
            row = {"gain": g, "read_var": v, "read_noise_e2": v / g**2, "photoelectrons": lam}
            for a in APPROX:
                err = d[a] - d["exact"]
                row[f"{a}_mean_abs"] = float(np.abs(err).mean())
                row[f"{a}_bias"] = float(err.mean())
            rows.append(row)
            print(row, flush=True)
    return rows


def part_speed() -> dict:
    rng = np.random.default_rng(2)
    u = rng.uniform(15.0, 120.0, (128, 128))
    out = {}
    for approx, reps in (("exact", 2), ("poisson", 20), ("gaussian", 20)):
        cam = _camera(approx)(2.0, 10.0)
        adu = cam.sample(u, rng)
        cam.log_pdf(adu[:4, :4], u[:4, :4])
        t0 = time.perf_counter()
        for _ in range(reps):
            cam.log_pdf(adu, u)
        out[f"{approx}_ns_per_pixel"] = (time.perf_counter() - t0) / reps / u.size * 1e9
    print(out, flush=True)
    return out


def part_ratios() -> list[dict]:
    from sptmotion import likelihood

    rows = []
    rng = np.random.default_rng(3)
    for bg in (2.0, 20.0):
        setups = {a: setup_for(bg, _camera(a, (32, 32), 5)) for a in ("exact", *APPROX)}
        for rep in range(2):
            stack, X = movie(setups["exact"], rng, 20)
            base = {a: likelihood.decompose(stack, X, s).emission for a, s in setups.items()}
            for shift in (0.01, 0.03, 0.1):
                Y = X + [shift, 0.0, 0.0]
                r = {a: likelihood.decompose(stack, Y, s).emission - base[a]
                     for a, s in setups.items()}  # fmt: skip
                row = {"background": bg, "movie": rep, "shift_um": shift, "ratio_exact": r["exact"]}
                for a in APPROX:
                    row[f"ratio_{a}"] = r[a]
                    row[f"error_{a}"] = r[a] - r["exact"]
                rows.append(row)
                print(row, flush=True)
    return rows


def part_posterior(n_movies: int, iterations: int) -> dict:
    out = {}
    for bg in (2.0, 20.0):
        rng = np.random.default_rng([4, int(bg)])
        setup = setup_for(bg, _camera("exact", (32, 32), 5))
        movies = [movie(setup, rng, 40) for _ in range(n_movies)]
        for approx in APPROX:
            key = f"bg{bg:g}_{approx}"
            out[key] = coverage_runs(movies, setup.replace(camera=_camera(approx, (32, 32), 5)),
                                     iterations)  # fmt: skip
            print(key, out[key], flush=True)
    return out


def write(out: dict) -> list[str]:
    sp = out["speed"]
    lines = [
        "# sCMOS likelihoods: shifted Poisson and Gaussian against the exact series",
        "",
        '`SCMOS(approx="poisson")` (Huang et al. 2013) and `approx="gaussian"` against '
        '`approx="exact"`; `benchmarks/bench_scmos.py`, 2 cores.',
        "",
        f"Speed (128 x 128 frame, 15-120 photons): exact {sp['exact_ns_per_pixel']:.0f} ns per "
        f"pixel, poisson {sp['poisson_ns_per_pixel']:.0f} ns, gaussian "
        f"{sp['gaussian_ns_per_pixel']:.0f} ns.",
        "",
        "## Per-pixel error of the log-likelihood ratio ln p(adu | 1.1 lam) - ln p(adu | lam) "
        "(nats), signals drawn from the exact model",
        "",
        "| gain | read noise (e-^2) | photoelectrons | poisson: mean abs | poisson: mean | "
        "gaussian: mean abs | gaussian: mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in out["error"]:
        lines.append(f"| {r['gain']:g} | {r['read_noise_e2']:.2f} | {r['photoelectrons']:g} | "
                     f"{r['poisson_mean_abs']:.1e} | {r['poisson_bias']:+.1e} | "
                     f"{r['gaussian_mean_abs']:.1e} | {r['gaussian_bias']:+.1e} |")  # fmt: skip
    lines += [
        "",
        "## Emission log-likelihood ratios, true track vs shifted (20 frames, 32 x 32, per-pixel "
        "gain 1.8-2.2 ADU/e-, offset 95-105 ADU, read noise 0.7-3 e- rms)",
        "",
        "| background (photons/pixel) | movie | shift (nm) | ratio, exact | error, poisson | "
        "error, gaussian |",
        "|---|---|---|---|---|---|",
    ]
    for r in out["ratios"]:
        lines.append(f"| {r['background']:g} | {r['movie']} | {1000 * r['shift_um']:.0f} | "
                     f"{r['ratio_exact']:.3f} | {r['error_poisson']:+.3f} | "
                     f"{r['error_gaussian']:+.3f} |")  # fmt: skip
    lines += [
        "",
        "## Bayesian tracker: 98% interval coverage of the lateral positions, D, time",
        "",
        "| background | likelihood | movies | coverage (SE) | D covered | median time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for k, r in out["posterior"].items():
        bg, name = k.split("_")
        lines.append(f"| {bg[2:]} | {name} | {r['n_movies']} | {r['coverage_98']:.3f} "
                     f"({r['coverage_se']:.3f}) | {r['D_covered']}/{r['n_movies']} | "
                     f"{r['median_time_s']:.1f} |")  # fmt: skip
    return lines


def main() -> None:
    run_camera_benchmark(__doc__, "scmos", RESULTS,
                         (part_error, part_speed, part_ratios, part_posterior), write)  # fmt: skip


if __name__ == "__main__":
    main()
