"""The tabulated EMCCD Poisson-Gamma-Normal likelihood (``EMCCDPGN(approx="table")``) against
the exact one: its error, its speed, and whether it moves the Bayesian tracker's posteriors.

Parts:

1. error: per-pixel |log p_table - log p_exact| (nats) at signals drawn from the model, for
   photoelectrons 0.003-2000, two cameras (gain 300, read noise 50 e-; gain 100, 20 e-);
2. speed: ns per pixel of the table, the exact series and the read-noise-free Gamma model, and
   the table's build time;
3. likelihood ratios: on movies rendered with read noise, the emission log-likelihood ratio
   between the true track and the track shifted by 10, 30 and 100 nm, with the table and
   exactly (the posterior depends on the data only through such ratios);
4. posterior: the Bayesian tracker with the table on 12 movies per light level (32 x 32 pixels,
   40 frames, one BM particle): a bright background (20 photons per pixel, where the Gamma
   model also runs: same movies, its coverage and time next to the table's) and a dim one
   (1 photon per pixel: most pixels hold read noise only, half of them below the offset, where
   the Gamma model refuses the data). Coverage of the 98% intervals of the lateral positions
   (pooled, with the SE clustered by movie), of D, and the time per movie. The exact model is
   out of reach here (~3 ms per 32 x 32 frame evaluation, thousands per sweep).

    .venv/bin/python benchmarks/bench_pgn_table.py            # ~10 min on 2 cores

Writes ``benchmarks/results/pgn_table/pgn_table.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "pgn_table"
CAMERAS = [(300.0, 50.0), (100.0, 20.0)]
LAMBDAS = [0.003, 0.03, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 2000.0]


def part_error() -> list[dict]:
    from sptmotion.optics.camera import EMCCDPGN

    rows = []
    rng = np.random.default_rng(1)
    for gain, s in CAMERAS:
        ex = EMCCDPGN(gain=gain, read_noise=s, offset=100.0, approx="exact")
        tb = EMCCDPGN(gain=gain, read_noise=s, offset=100.0)
        for lam in LAMBDAS:
            u = np.full(3000, lam / ex.qe)
            adu = ex.sample(u, rng)
            d = np.abs(tb.log_pdf(adu, u) - ex.log_pdf(adu, u))
            rows.append({"gain": gain, "read_noise": s, "photoelectrons": lam,
                         "mean_abs": float(d.mean()), "max_abs": float(d.max())})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def part_speed() -> dict:
    from sptmotion.optics import camera as cm
    from sptmotion.optics.camera import EMCCDPGN, EMCCDGamma

    cm.pgn_table.cache_clear()
    cm.pgn_table(300.0, 49.0)  # compile
    cm.pgn_table.cache_clear()
    t0 = time.perf_counter()
    cm.pgn_table(300.0, 50.0)
    build = time.perf_counter() - t0
    rng = np.random.default_rng(2)
    u = rng.uniform(15.0, 120.0, (128, 128))
    out = {"table_build_s": build}
    for name, cam, reps in (
        ("table", EMCCDPGN(gain=300.0, read_noise=50.0, offset=100.0), 20),
        ("exact", EMCCDPGN(gain=300.0, read_noise=50.0, offset=100.0, approx="exact"), 1),
        ("gamma", EMCCDGamma(gain=300.0, offset=100.0), 20),
    ):
        adu = cam.sample(u, rng)
        cam.log_pdf_sum(adu[:4, :4], u[:4, :4])
        t0 = time.perf_counter()
        for _ in range(reps):
            cam.log_pdf_sum(adu, u)
        out[f"{name}_ns_per_pixel"] = (time.perf_counter() - t0) / reps / u.size * 1e9
    print(out, flush=True)
    return out


def setup_for(background: float, camera):
    from sptmotion import optics

    base = optics.preset("hendrix2025", rows=32, cols=32, subframes=5)
    a, t_e = base.pixel_size, base.exposure
    return base.replace(background_flux=background / (a * a * t_e), camera=camera)


def movie(setup, rng, n_frames: int, D: float = 0.1):
    from sptmotion import optics
    from sptmotion.motion import MODELS

    X, _ = MODELS["bm"](D=D).sample(1, 0, dim=3, rng=rng, times=setup.fine_times(n_frames))
    X[..., 2] *= 0.2
    X += [setup.cols * setup.pixel_size / 2, setup.rows * setup.pixel_size / 2, 0.0]
    X[..., :2] += rng.uniform(-0.3, 0.3, 2)
    return optics.render(X, setup, rng=rng), X


def part_ratios() -> list[dict]:
    from sptmotion import likelihood
    from sptmotion.optics.camera import EMCCDPGN

    rows = []
    rng = np.random.default_rng(3)
    for bg in (20.0, 1.0):
        ex = setup_for(bg, EMCCDPGN(gain=300.0, read_noise=50.0, offset=100.0, approx="exact"))
        tb = ex.replace(camera=EMCCDPGN(gain=300.0, read_noise=50.0, offset=100.0))
        for rep in range(2):
            stack, X = movie(ex, rng, 20)
            base = {}
            for name, setup in (("exact", ex), ("table", tb)):
                base[name] = likelihood.decompose(stack, X, setup).emission
            for shift in (0.01, 0.03, 0.1):
                Y = X + [shift, 0.0, 0.0]
                r = {n: likelihood.decompose(stack, Y, s).emission - base[n]
                     for n, s in (("exact", ex), ("table", tb))}  # fmt: skip
                rows.append({"background": bg, "movie": rep, "shift_um": shift,
                             "ratio_exact": r["exact"], "ratio_table": r["table"],
                             "error": r["table"] - r["exact"],
                             "loglik_error": base["table"] - base["exact"]})  # fmt: skip
                print(rows[-1], flush=True)
    return rows


def coverage_runs(movies, setup, iterations: int) -> dict:
    """The Bayesian tracker (K = 1, 2 chains) on ``movies`` [(stack, fine track)] of 40 frames,
    one BM particle with D = 0.1: pooled 98% coverage of the lateral positions (SE clustered by
    movie), movies whose D interval holds 0.1, median time per movie."""
    from sptmotion.tracking import track_bayes

    cov, Dcov, times = [], [], []
    for i, (stack, X) in enumerate(movies):
        t0 = time.perf_counter()
        post = track_bayes(stack, setup.replace(subframes=1), n_emitters=1,
                           n_iterations=iterations, n_chains=2, seed=i)  # fmt: skip
        times.append(time.perf_counter() - t0)
        lo, hi = post.credible_interval(0.98)
        truth = X[0].reshape(40, 5, 3).mean(axis=1)[:, :2]
        cov.append(((lo[0, :, :2] <= truth) & (truth <= hi[0, :, :2])).mean())
        Ds = post.D_summary(0.98)
        Dcov.append(float(Ds["lo"] <= 0.1 <= Ds["hi"]))
    c = np.array(cov)
    return {
        "coverage_98": float(c.mean()),
        "coverage_se": float(c.std(ddof=1) / np.sqrt(len(c))),
        "n_coordinates": int(len(c) * 80),
        "D_covered": int(sum(Dcov)),
        "n_movies": len(c),
        "median_time_s": float(np.median(times)),
    }


def part_posterior(n_movies: int, iterations: int) -> dict:
    from sptmotion.optics.camera import EMCCDPGN, EMCCDGamma

    out = {}
    for bg in (20.0, 1.0):
        setup = setup_for(bg, EMCCDPGN(gain=300.0, read_noise=50.0, offset=100.0))
        models = [("table", setup)]
        if bg >= 10:
            models.append(("gamma", setup.replace(camera=EMCCDGamma(gain=300.0, offset=100.0))))
        rng = np.random.default_rng([4, int(bg)])
        movies = [movie(setup, rng, 40) for _ in range(n_movies)]
        below = float(np.mean([(stack < 100.0).mean() for stack, _ in movies]))
        for name, s in models:
            key = f"bg{bg:g}_{name}"
            out[key] = {**coverage_runs(movies, s, iterations), "pixels_below_offset": below}
            print(key, out[key], flush=True)
    return out


def write(out: dict) -> list[str]:
    lines = [
        "# Tabulated EMCCD Poisson-Gamma-Normal likelihood",
        "",
        '`EMCCDPGN(approx="table")` (the default) against the exact series '
        '(`approx="exact"`); `benchmarks/bench_pgn_table.py`, 2 cores.',
        "",
        "## Per-pixel error of the log-density (nats), signals drawn from the model",
        "",
        "| gain | read noise (e-) | photoelectrons | mean abs error | max abs error |",
        "|---|---|---|---|---|",
    ]
    for r in out["error"]:
        lines.append(f"| {r['gain']:g} | {r['read_noise']:g} | {r['photoelectrons']:g} | "
                     f"{r['mean_abs']:.1e} | {r['max_abs']:.1e} |")  # fmt: skip
    sp = out["speed"]
    lines += [
        "",
        f"## Speed: table {sp['table_ns_per_pixel']:.0f} ns per pixel, exact "
        f"{sp['exact_ns_per_pixel']:.0f} ns, Gamma (no read noise) {sp['gamma_ns_per_pixel']:.0f} "
        f"ns (sums over a 128 x 128 frame, 15-120 photons); table built in "
        f"{sp['table_build_s']:.1f} s once per gain and read noise.",
        "",
        "## Emission log-likelihood ratios, true track vs shifted (20 frames, 32 x 32)",
        "",
        "| background (photons/pixel) | movie | shift (nm) | ratio, exact | ratio, table | "
        "error | error of the log-likelihood itself |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in out["ratios"]:
        lines.append(f"| {r['background']:g} | {r['movie']} | {1000 * r['shift_um']:.0f} | "
                     f"{r['ratio_exact']:.3f} | {r['ratio_table']:.3f} | {r['error']:.1e} | "
                     f"{r['loglik_error']:.1e} |")  # fmt: skip
    lines += [
        "",
        "## Bayesian tracker: 98% interval coverage of the lateral positions, D, time",
        "",
        "| background | likelihood | movies | pixels below offset | coverage (SE) | "
        "D covered | median time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, r in out["posterior"].items():
        bg, name = k.split("_")
        lines.append(f"| {bg[2:]} | {name} | {r['n_movies']} | {r['pixels_below_offset']:.2f} | "
                     f"{r['coverage_98']:.3f} ({r['coverage_se']:.3f}) | "
                     f"{r['D_covered']}/{r['n_movies']} | {r['median_time_s']:.1f} |")  # fmt: skip
    return lines


def run_camera_benchmark(doc: str, stem: str, results: Path, parts: tuple, write_fn) -> None:
    """The main of the camera-likelihood benchmarks (this one and ``bench_scmos.py``):
    ``--movies``, ``--iterations``; ``parts = (error, speed, ratios, posterior)``; writes
    ``results/<stem>.{json,md}``."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--movies", type=int, default=12)
    ap.add_argument("--iterations", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "2")
    error, speed, ratios, posterior = parts
    t0 = time.perf_counter()
    out = {"error": error(), "speed": speed(), "ratios": ratios(),
           "posterior": posterior(args.movies, args.iterations)}  # fmt: skip
    out["args"] = vars(args)
    out["wall_s"] = time.perf_counter() - t0
    out["machine"] = platform.processor() or platform.machine()
    lines = write_fn(out)
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{stem}.json").write_text(json.dumps(out, indent=2, default=float))
    (results / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    run_camera_benchmark(__doc__, "pgn_table", RESULTS,
                         (part_error, part_speed, part_ratios, part_posterior), write)  # fmt: skip


if __name__ == "__main__":
    main()
