"""Benchmark of the Bayesian tracker against the modular (detect-localize-link) baseline.

Measured on movies rendered with the reference parameters of
Hendrix, Xu & Pressé (2025) (``optics.preset("hendrix2025")``: 32x32 pixels of 133 nm, 50 frames,
33 ms frame period, 30 ms exposure, EMCCD Gamma G = 350, F = 1e5 /µm²/s, H = 1e4 /s, motion
blur from K = 10 sub-frame positions per exposure):

1. coverage: fraction of the true in-frame lateral positions (exposure-averaged, per coordinate)
   inside the 98% credible interval, over 17 trajectories (10 BM with D from 0.05 to 1 µm²/s,
   DBM, FBM alpha 0.5 and 1.5, SBM, CTRW, ATTM, LW);
2. precision: RMS lateral error of the posterior mean of slow particles (BM, D < 0.1 µm²/s)
   relative to the Cramér-Rao bound of the same blurred PSF and EMCCD (excess-noise factor 2),
   and the same ratio for the modular tracker;
3. D: the 98% credible interval of D contains the truth in >= 9 of the 10 BM movies;
4. speed: 6000 iterations on one 50-frame 32x32 movie under ``taskset -c 0`` for (M, K) = (1, 1),
   (1, 5), (3, 1).

Run (from the repository root)::

    nice .venv/bin/python benchmarks/bench_tracking.py --iterations 3000 --chains 2
    .venv/bin/python benchmarks/bench_tracking.py --speed        # the timing part only
    # replicate sets (--seed-base), parts in parallel (--only ... --tag _a, then --merge _a,_b),
    # and the coverage of several finished sets pooled with movie-clustered standard errors:
    .venv/bin/python benchmarks/bench_tracking.py --pool=,_seed2000,_seed3000

Results go to ``benchmarks/results/tracking/tracking.{md,json}`` (and ``tracking_speed.{md,json}``); the
JSON is rewritten after every movie so a partial run keeps its numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sptmotion import optics
from sptmotion.motion import MODELS
from sptmotion.tracking import track_bayes, track_modular

RESULTS = Path(__file__).parent / "results" / "tracking"
N_FRAMES = 50
BLUR_CHOICES = {"auto": "auto", "on": True, "off": False}
#: diagnostic split of the coverage: defocused (|z| > HARD_Z µm) or near the ROI edge (< HARD_EDGE µm)
HARD_Z = 0.5
HARD_EDGE = 0.3


def trajectories() -> list[tuple[str, str, dict]]:
    """(label, model name, parameters) of the benchmark trajectories."""
    out = [(f"BM D={D:.3g}", "bm", {"D": float(D)}) for D in np.geomspace(0.05, 1.0, 10)]
    out += [
        ("DBM D=0.1 v=1", "dbm", {"D": 0.1, "v": (1.0, 0.5, 0.0)}),
        ("FBM a=0.5 D=0.1", "fbm", {"alpha": 0.5, "D": 0.1}),
        ("FBM a=1.5 D=0.5", "fbm", {"alpha": 1.5, "D": 0.5}),
        ("SBM a=0.5 D=0.2", "sbm", {"alpha": 0.5, "D": 0.2}),
        ("CTRW a=0.6 D=0.5", "ctrw", {"alpha": 0.6, "D": 0.5, "tau0": 0.01}),
        ("ATTM a=0.6 D=0.5", "attm", {"alpha": 0.6, "D": 0.5, "tau0": 0.01}),
        ("LW a=1.5 v=1", "lw", {"alpha": 1.5, "v": 1.0, "tau0": 0.01}),
    ]
    return out


def make_movie(
    setup,
    model: str,
    params: dict,
    rng: np.random.Generator,
    n_frames: int = N_FRAMES,
    start: np.ndarray | None = None,
):
    """Render one movie: 3D track on the fine grid (K = setup.subframes) starting near the ROI
    centre (random offset), or at ``start`` (µm) if given. Returns the movie, the fine track and
    the exposure-averaged positions (the truth)."""
    times = setup.fine_times(n_frames)
    X, _ = MODELS[model](**params).sample(1, len(times) - 1, dim=3, times=times, rng=rng)
    if start is None:
        w, h = setup.roi_size
        start = np.array([w / 2, h / 2, 0.0]) + np.array([0.3, 0.3, 0.2]) * rng.uniform(-1, 1, 3)
    fine = X + start
    movie = optics.render(fine, setup, rng=rng, allow_outside=True)
    K = setup.subframes
    exposure_mean = np.einsum("nka,k->na", fine[0].reshape(n_frames, K, 3), setup.weights)
    return movie, fine, exposure_mean


def crb_lateral(fine: np.ndarray, setup) -> np.ndarray:
    """Cramér-Rao bound (µm, per lateral axis, RMS of x and y) of each frame's lateral position.

    Fisher information of a common lateral shift of the K sub-frame positions of one frame, with
    z, F and H known: ``I_xx = sum_pixels (du/dx)^2 beta / (2 u)`` (EMCCD, excess-noise factor 2),
    du/dx by central differences of the exact pixel-integrated expected photons.
    """
    qe = setup.camera.qe
    h = 1e-4
    info = []
    for axis in (0, 1):
        dp = fine.copy()
        dm = fine.copy()
        dp[..., axis] += h
        dm[..., axis] -= h
        du = (
            optics.expected_photons(dp, setup, allow_outside=True)
            - optics.expected_photons(dm, setup, allow_outside=True)
        ) / (2 * h)
        u = optics.expected_photons(fine, setup, allow_outside=True)
        info.append(np.sum(du**2 * qe / (2 * u), axis=(1, 2)))
    info = np.array(info)
    with np.errstate(divide="ignore"):
        return np.sqrt(0.5 * (1 / info[0] + 1 / info[1]))


def in_roi(pos: np.ndarray, setup) -> np.ndarray:
    w, h = setup.roi_size
    return (pos[:, 0] >= 0) & (pos[:, 0] <= w) & (pos[:, 1] >= 0) & (pos[:, 1] <= h)


def run_movie(label, model, params, seed, args, setup):
    rng = np.random.default_rng(seed)
    movie, fine, truth = make_movie(setup, model, params, rng)
    track_setup = setup.replace(subframes=1)
    inside = in_roi(truth, setup)
    t0 = time.perf_counter()
    post = track_bayes(
        movie,
        track_setup,
        n_iterations=args.iterations,
        n_chains=args.chains,
        seed=seed,
        subframes=args.K,
        blur_psf=BLUR_CHOICES[args.blur_psf],
    )
    t_bayes = time.perf_counter() - t0
    mean = post.mean_track()[0]
    lo, hi = post.credible_interval(0.98)
    lo, hi = lo[0], hi[0]
    cov = (truth[:, :2] >= lo[:, :2]) & (truth[:, :2] <= hi[:, :2])
    err = mean[:, :2] - truth[:, :2]
    crb = crb_lateral(fine, setup)
    diag = post.diagnostics()
    # where the misses are: true |z| (defocus) and distance to the ROI edge of every in-frame coordinate
    w, h = setup.roi_size
    edge = np.minimum.reduce([truth[:, 0], w - truth[:, 0], truth[:, 1], h - truth[:, 1]])
    hard = (np.abs(truth[:, 2]) > HARD_Z) | (edge < HARD_EDGE)
    misses = [
        {
            "frame": int(n),
            "axis": "xy"[a],
            "z_true": float(truth[n, 2]),
            "edge_um": float(edge[n]),
            "error_um": float(err[n, a]),
            "half_width_um": float(0.5 * (hi[n, a] - lo[n, a])),
        }
        for n in np.flatnonzero(inside)
        for a in range(2)
        if not cov[n, a]
    ]
    pit, zsc = pit_and_zscore(post, truth)
    Ds = post.D_summary(0.98)
    res = {
        "label": label,
        "model": model,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "seed": seed,
        "n_in_frame": int(inside.sum()),
        "bayes": {
            "covered_coords": int(cov[inside].sum()),
            "n_coords": int(2 * inside.sum()),
            "covered_joint": int(cov[inside].all(axis=1).sum()),
            "covered_easy": int(cov[inside & ~hard].sum()),
            "n_easy": int(2 * (inside & ~hard).sum()),
            "misses": misses,
            "pit": pit[inside].tolist(),
            "pit_easy": pit[inside & ~hard].tolist(),
            "zscore": zsc[inside].tolist(),
            "rmse_lateral": float(np.sqrt(np.mean(err[inside] ** 2))),
            "mean_ci_width": float(np.mean((hi - lo)[inside, :2])),
            "D": Ds,
            "rhat_max_positions": diag["positions"]["rhat"],
            "ess_min_positions": diag["positions"]["ess"],
            "rhat_D": diag["D"]["rhat"],
            "ess_D": diag["D"]["ess"],
            "acceptance": {
                k: float(np.mean(v)) for k, v in post.acceptance.items() if np.all(np.isfinite(v))
            },
            "mean_log_probabilities": post.mean_log_probabilities(),
            "seconds": t_bayes,
        },
        "crb_rms": float(np.sqrt(np.mean(crb[inside] ** 2))) if inside.any() else None,
    }
    # modular baseline on the same movie
    t0 = time.perf_counter()
    tab = track_modular(movie, track_setup, ci=0.98)
    t_mod = time.perf_counter() - t0
    if len(tab):
        # keep the longest track (the movie has one emitter)
        best = tab.groupby("particle").size().idxmax()
        tab = tab[tab["particle"] == best]
        fr = tab["frame"].to_numpy()
        ok = inside[fr]
        tr = truth[fr]
        e = tab[["x", "y"]].to_numpy() - tr[:, :2]
        cv = (tr[:, 0] >= tab["x_lo"].to_numpy()) & (tr[:, 0] <= tab["x_hi"].to_numpy())
        cvy = (tr[:, 1] >= tab["y_lo"].to_numpy()) & (tr[:, 1] <= tab["y_hi"].to_numpy())
        res["modular"] = {
            "n_frames_tracked": int(len(tab)),
            "n_in_frame_tracked": int(ok.sum()),
            "covered_coords": int(cv[ok].sum() + cvy[ok].sum()),
            "n_coords": int(2 * ok.sum()),
            "rmse_lateral": float(np.sqrt(np.mean(e[ok] ** 2))) if ok.any() else None,
            "crb_rms_tracked": float(np.sqrt(np.mean(crb[fr][ok] ** 2))) if ok.any() else None,
            "seconds": t_mod,
        }
    else:
        res["modular"] = {
            "n_frames_tracked": 0,
            "n_in_frame_tracked": 0,
            "covered_coords": 0,
            "n_coords": 0,
        }
    return res


LEVELS = (0.5, 0.8, 0.9, 0.95, 0.98)
CALIBRATION_MODES = ("exact", "blur", "blur-plain", "static", "blur-K10")


def pit_and_zscore(post, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibration beyond the 98% level, per frame and lateral axis (N, 2) of emitter 0: the
    posterior CDF at the truth (PIT; uniform if calibrated) and the z-score
    (posterior mean - truth) / posterior sd."""
    fs = post.frame_samples[:, :, 0, :, :2].reshape(-1, truth.shape[0], 2)
    pit = (fs < truth[None, :, :2]).mean(axis=0)
    zsc = (fs.mean(axis=0) - truth[:, :2]) / fs.std(axis=0)
    return pit, zsc


def pit_coverage(u: np.ndarray) -> dict:
    """Coverage of the central credible intervals at LEVELS from PIT values u (the posterior CDF
    at the truth): a coordinate lies in the central level-p interval iff |u - 1/2| <= p/2."""
    return {str(p): float(np.mean(np.abs(u - 0.5) <= p / 2)) for p in LEVELS}


def calibration_summary(rows: list[dict]) -> dict:
    """Coverage of central credible intervals at several levels (:func:`pit_coverage`) and the
    RMS z-score; all and in-focus/interior coordinates."""
    out = {}
    for key in ("pit", "pit_easy"):
        u = np.concatenate([np.ravel(r["bayes"].get(key, [])) for r in rows])
        if u.size:
            out[key.replace("pit", "coverage")] = pit_coverage(u)
    z = np.concatenate([np.ravel(r["bayes"].get("zscore", [])) for r in rows])
    if z.size:
        out["zscore_rms"] = float(np.sqrt(np.mean(z**2)))
    return out


def summarize(rows: list[dict], args) -> dict:
    cov = sum(r["bayes"]["covered_coords"] for r in rows)
    n = sum(r["bayes"]["n_coords"] for r in rows)
    ce = sum(r["bayes"]["covered_easy"] for r in rows)
    ne = sum(r["bayes"]["n_easy"] for r in rows)
    joint = sum(r["bayes"]["covered_joint"] for r in rows)
    nf = sum(r["n_in_frame"] for r in rows)
    mcov = sum(r["modular"]["covered_coords"] for r in rows)
    mn = sum(r["modular"]["n_coords"] for r in rows)
    bm = [r for r in rows if r["model"] == "bm"]
    d_in = sum(r["bayes"]["D"]["lo"] <= r["params"]["D"] <= r["bayes"]["D"]["hi"] for r in bm)
    slow = [r for r in bm if r["params"]["D"] < 0.1]
    prec = {}
    if slow:
        b = np.sqrt(np.mean([r["bayes"]["rmse_lateral"] ** 2 for r in slow]))
        c = np.sqrt(np.mean([r["crb_rms"] ** 2 for r in slow]))
        ms = [r for r in slow if r["modular"].get("rmse_lateral") is not None]
        m = (
            np.sqrt(np.mean([r["modular"]["rmse_lateral"] ** 2 for r in ms]))
            if ms
            else float("nan")
        )
        mc = (
            np.sqrt(np.mean([r["modular"]["crb_rms_tracked"] ** 2 for r in ms]))
            if ms
            else float("nan")
        )
        prec = {
            "bayes_rmse": float(b),
            "crb": float(c),
            "bayes_over_crb": float(b / c),
            "modular_rmse": float(m),
            "modular_crb_tracked": float(mc),
            "modular_over_crb": float(m / mc),
        }
    return {
        "n_movies": len(rows),
        "calibration": calibration_summary(rows),
        "coverage": {
            "covered": cov,
            "n": n,
            "fraction": cov / n if n else None,
            "joint_covered": joint,
            "joint_n": nf,
            "easy_covered": ce,
            "easy_n": ne,
            "hard_covered": cov - ce,
            "hard_n": n - ne,
        },
        "modular_coverage": {"covered": mcov, "n": mn, "fraction": mcov / mn if mn else None},
        "D": {"contained": int(d_in), "n": len(bm)},
        "precision_slow": prec,
        "iterations": args.iterations,
        "chains": args.chains,
        "K_model": args.K,
        "blur_psf": args.blur_psf,
    }


def write_results(rows, args, setup, t_start, wall_seconds=None):
    """Write ``tracking<tag>.{json,md}``; ``wall_seconds`` overrides the time since ``t_start``."""
    summ = summarize(rows, args)
    meta = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_1min": os.getloadavg()[0],
        "wall_seconds": time.perf_counter() - t_start if wall_seconds is None else wall_seconds,
        "setup": setup.to_dict(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"tracking{args.tag}.json").write_text(
        json.dumps({"summary": summ, "movies": rows, "meta": meta}, indent=2, default=str)
    )
    c = summ["coverage"]
    lines = [
        "# Bayesian tracker vs modular tracker",
        "",
        f"Movies: preset `hendrix2025` (32x32 px, {N_FRAMES} frames, K = 10 motion blur in the rendering), one emitter.",
        f"Bayesian tracker: {args.iterations} iterations x {args.chains} chains, model K = {args.K}, burn-in half,",
        (
            "blur-aware K = 1 emission (PSF variance + D t_E/3)"
            if args.K == 1 and args.blur_psf != "off"
            else "plain emission (the sub-frame points model the blur)"
            if args.K > 1
            else "plain K = 1 emission"
        )
        + f": `--blur-psf {args.blur_psf}`,",
        "start from the brightest pixels. Modular: trackpy + ML refinement (EMCCD Gamma) + laptrack.",
        f"Truth = exposure-averaged true position. Wall time {meta['wall_seconds']:.0f} s, load average {meta['load_average_1min']:.1f} (shared CPU).",
        "",
        "## Summary",
        "",
        f"- **Coverage** (per lateral coordinate, in-frame, 98% CI): {c['covered']}/{c['n']} = {100 * (c['fraction'] or 0):.2f}% "
        f"(target >= 98%); both x and y inside: {c['joint_covered']}/{c['joint_n']}.",
        f"- Coverage split (diagnostic): in focus and away from the edge (|z| <= {HARD_Z} µm, >= {HARD_EDGE} µm "
        f"from the ROI edge) {c['easy_covered']}/{c['easy_n']}"
        + (f" = {100 * c['easy_covered'] / c['easy_n']:.2f}%" if c["easy_n"] else "")
        + f"; defocused or near the edge {c['hard_covered']}/{c['hard_n']}"
        + (f" = {100 * c['hard_covered'] / c['hard_n']:.2f}%." if c["hard_n"] else "."),
    ]
    cal = summ["calibration"]
    if "coverage" in cal:
        levels = " / ".join(f"{100 * float(p):.0f}%" for p in cal["coverage"])
        lines.append(
            f"- Calibration (diagnostic): coverage of the central {levels} intervals, all in-frame coordinates "
            + " / ".join(f"{100 * v:.1f}%" for v in cal["coverage"].values())
            + "; in focus and interior "
            + " / ".join(f"{100 * v:.1f}%" for v in cal.get("coverage_easy", {}).values())
            + f"; RMS z-score (posterior mean - truth) / posterior sd {cal['zscore_rms']:.3f}."
        )
    mc = summ["modular_coverage"]
    if mc["n"]:
        lines.append(
            f"- Modular 98% Fisher confidence intervals: {mc['covered']}/{mc['n']} = {100 * mc['fraction']:.2f}% (tracked in-frame coordinates only)."
        )
    d = summ["D"]
    lines.append(
        f"- **D**: 98% credible interval contains the true D in {d['contained']}/{d['n']} BM movies (target >= 9/10)."
    )
    p = summ["precision_slow"]
    if p:
        lines.append(
            f"- **Precision** (BM, D < 0.1 µm²/s): Bayesian RMS lateral error {1000 * p['bayes_rmse']:.1f} nm = "
            f"{p['bayes_over_crb']:.2f} x CRB ({1000 * p['crb']:.1f} nm; target <= 1.5); modular "
            f"{1000 * p['modular_rmse']:.1f} nm = {p['modular_over_crb']:.2f} x CRB on its tracked frames."
        )
    lines += [
        "",
        "## Per movie",
        "",
        "| trajectory | in-frame | Bayes covered | Bayes RMSE (nm) | CRB (nm) | D 98% CI | R-hat max (pos) | ESS min (pos) | s | modular covered | modular RMSE (nm) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b = r["bayes"]
        m = r["modular"]
        crb = f"{1000 * r['crb_rms']:.1f}" if r["crb_rms"] is not None else "-"
        mr = f"{1000 * m['rmse_lateral']:.1f}" if m.get("rmse_lateral") is not None else "-"
        lines.append(
            f"| {r['label']} | {r['n_in_frame']} | {b['covered_coords']}/{b['n_coords']} | {1000 * b['rmse_lateral']:.1f} | {crb} | "
            f"[{b['D']['lo']:.3g}, {b['D']['hi']:.3g}] (mean {b['D']['mean']:.3g}) | {b['rhat_max_positions']:.3f} | "
            f"{b['ess_min_positions']:.0f} | {b['seconds']:.0f} | {m['covered_coords']}/{m['n_coords']} | {mr} |"
        )
    lines += [
        "",
        "Reproduce: `nice .venv/bin/python benchmarks/bench_tracking.py "
        f"--iterations {args.iterations} --chains {args.chains} --K {args.K} --blur-psf {args.blur_psf}"
        + (f" --only {args.only}" if args.only else "")
        + (f" --seed-base {args.seed_base}" if args.seed_base != 1000 else "")
        + (f" --merge {args.merge}" if args.merge else "")
        + (f" --tag {args.tag}`" if args.tag else "`"),
        "",
    ]
    if args.merge:
        lines[-1:-1] = [
            f"(merged from the runs `{args.merge}`, each a part of the movies run with `--only`; the wall "
            "time is their sum)",
        ]
    (RESULTS / f"tracking{args.tag}.md").write_text("\n".join(lines))
    return summ


def speed_one(args) -> None:
    """One timed run (called in a subprocess under taskset)."""
    setup = optics.preset("hendrix2025")
    rng = np.random.default_rng(7)
    movies = []
    for _ in range(args.M):
        movies.append(make_movie(setup, "bm", {"D": 0.1}, rng)[1])
    fine = np.concatenate(movies, axis=0)
    movie = optics.render(fine, setup, rng=rng, allow_outside=True)
    ts = setup.replace(subframes=1)
    track_bayes(
        movie, ts, n_iterations=4, n_chains=1, seed=0, subframes=args.K, n_emitters=args.M
    )  # compile
    t0 = time.perf_counter()
    c0 = time.process_time()
    post = track_bayes(
        movie,
        ts,
        n_iterations=args.iterations,
        n_chains=1,
        seed=0,
        subframes=args.K,
        n_emitters=args.M,
    )
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(
        json.dumps(
            {
                "M": args.M,
                "K": args.K,
                "iterations": args.iterations,
                "seconds": dt,
                "cpu_seconds": cpu,
                "acceptance": {
                    k: float(v[0]) for k, v in post.acceptance.items() if np.isfinite(v[0])
                },
            }
        )
    )


def speed(args) -> None:
    rows = []
    for M, K in ((1, 1), (1, 5), (3, 1)):
        cmd = [
            "taskset",
            "-c",
            "0",
            sys.executable,
            __file__,
            "--speed-one",
            "--M",
            str(M),
            "--K",
            str(K),
            "--iterations",
            str(args.iterations),
        ]
        load = os.getloadavg()[0]
        out = (
            subprocess.run(cmd, capture_output=True, text=True, check=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        r["load_average_1min_before"] = load
        rows.append(r)
        print(r, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tracking_speed.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "# Speed of the Bayesian tracker",
        "",
        f"One chain of {args.iterations} iterations (sweeps) on a 50-frame 32x32 movie (preset hendrix2025), "
        "pinned to one core with `taskset -c 0`, numba compiled beforehand. The machine (2 cores) was shared "
        "with other jobs (load average given), so the wall time includes waiting for the core; the CPU "
        "time of the process is the cost on an idle core. Default tracker settings (blur-aware K = 1 "
        "emission on for K = 1: one whole-stack likelihood evaluation per sweep for the D step).",
        "",
        "| M emitters | K sub-frames | wall seconds | CPU seconds | target | load average |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        tgt = "<= 120 s" if (r["M"], r["K"]) == (1, 1) else "(reported)"
        lines.append(
            f"| {r['M']} | {r['K']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {tgt} | "
            f"{r['load_average_1min_before']:.1f} |"
        )
    lines += [
        "",
        f"Reproduce: `.venv/bin/python benchmarks/bench_tracking.py --speed --iterations {args.iterations}`",
        "",
    ]
    (RESULTS / "tracking_speed.md").write_text("\n".join(lines))


def calibration(args) -> None:
    """Coverage of the 98% intervals on many short movies, with and without model mismatch.

    ``n`` movies of 8 frames (16x16 px, one BM emitter with D = ``--calibration-D`` µm²/s
    starting at z = ``--calibration-z`` µm: 0.1 near focus, ~1 defocused; hendrix2025 optics).
    Modes: ``exact`` renders K = 1 images at positions drawn from the tracker's own motion
    prior (exposure-averaged Brownian increments: Gaussian with covariance 2 D T, T of
    :func:`sptmotion.tracking.bayes.brownian_precision_band`), so only the priors of D, F, H and
    the first position differ from the data generation; ``blur`` renders K = 10 motion-blurred
    movies (truth = exposure average) and tracks them with the blur-aware K = 1 emission;
    ``blur-plain``: the same movies tracked with the plain K = 1 emission; ``static``: the same
    exposure-averaged positions, but rendered with the emitter static during each exposure (the
    K = 10 renderer at the exposure average), so only the motion within the exposure differs from
    ``blur-plain``; ``blur-K10``: the ``blur`` movies tracked with the K = 10 sub-frame model, the
    renderer's own discretisation (so the emission is exact and the posterior that of the
    generating model). Pick modes with ``--calibration-modes``. If the posterior is calibrated, the
    misses are ~2% and the z-scores (posterior mean - truth) / posterior sd have unit RMS; the
    binomial sd of the miss fraction over 2 x 8 x n coordinates is sqrt(0.02 * 0.98 / (16 n))
    (an underestimate: coordinates of one movie are correlated).
    """
    base = optics.preset("hendrix2025", rows=16, cols=16)
    one = base.replace(subframes=1)
    nf, D = 8, args.calibration_D
    modes = args.calibration_modes.split(",")
    bad = [m for m in modes if m not in CALIBRATION_MODES]
    if bad:  # before any movie is tracked
        raise SystemExit(f"unknown calibration mode(s) {bad}; choose from {CALIBRATION_MODES}")
    out, z_by_mode = {}, {}
    for mode in modes:
        zs, cov, pits = [], [], []
        for i in range(args.calibration):
            rng = np.random.default_rng(args.calibration_seed + i)
            start = np.array([1.06, 1.06, args.calibration_z])
            if mode == "exact":
                # T: variance dt - t_E/3 per increment, covariance t_E/6 between neighbours
                T = (base.frame_period - base.exposure / 3) * np.eye(nf - 1) + (
                    base.exposure / 6
                ) * (np.eye(nf - 1, k=1) + np.eye(nf - 1, k=-1))
                inc = np.linalg.cholesky(2 * D * T) @ rng.standard_normal((nf - 1, 3))
                truth = start + np.concatenate([np.zeros((1, 3)), np.cumsum(inc, axis=0)])
                movie = optics.render(truth[None], one, rng=rng, allow_outside=True)
            else:
                movie, _, truth = make_movie(base, "bm", {"D": D}, rng, nf, start=start)
                if mode == "static":
                    still = np.repeat(truth, base.subframes, axis=0)[None]
                    movie = optics.render(still, base, rng=rng, allow_outside=True)
            post = track_bayes(
                movie,
                one,
                n_iterations=args.iterations,
                n_chains=args.chains,
                seed=i,
                subframes=base.subframes if mode == "blur-K10" else 1,
                blur_psf=(mode == "blur"),
            )
            pit, zsc = pit_and_zscore(post, truth)
            zs.append(zsc)
            pits.append(pit)
            lo, hi = post.credible_interval(0.98)
            cov.append((truth[:, :2] >= lo[0, :, :2]) & (truth[:, :2] <= hi[0, :, :2]))
        zs, cov, u = np.array(zs), np.array(cov), np.ravel(pits)
        z_by_mode[mode] = zs
        out[mode] = {
            "coverage_levels": pit_coverage(u),
            "n_movies": args.calibration,
            "n_coords": int(cov.size),
            "missed": int((~cov).sum()),
            "miss_fraction": float((~cov).mean()),
            "binomial_sd_of_fraction": float(np.sqrt(0.02 * 0.98 / cov.size)),
            "zscore_rms": float(np.sqrt(np.mean(zs**2))),
            "zscore_rms_per_frame": np.sqrt(np.mean(zs**2, axis=(0, 2))).tolist(),
            "missed_per_frame": (~cov).sum(axis=(0, 2)).tolist(),
        }
        print(mode, out[mode], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"tracking_calibration{args.tag}.json").write_text(json.dumps(out, indent=2))
    lines = [
        "# Calibration of the Bayesian tracker's 98% intervals on short movies (diagnostic)",
        "",
        f"{args.calibration} movies of {nf} frames, 16x16 px, BM D = {D} µm²/s from z = {args.calibration_z} µm, hendrix2025 optics "
        f"(movie seeds {args.calibration_seed}..{args.calibration_seed + args.calibration - 1}); "
        f"{args.iterations} iterations x {args.chains} chains per movie.",
        "`exact`: K = 1 images at positions drawn from the tracker's own motion prior (plain emission); "
        "`blur`: K = 10 motion-blurred movies, blur-aware K = 1 emission; `blur-plain`: the same movies, "
        "plain emission; `static`: the same positions, emitter static during each exposure, plain emission; "
        "`blur-K10`: the `blur` movies, K = 10 sub-frame model (exact emission). "
        "Truth = exposure-averaged position.",
        "",
        "| mode | lateral coordinates | missed | miss fraction | binomial sd | z-score RMS | misses per frame "
        "| coverage of the " + " / ".join(f"{100 * p:.0f}%" for p in LEVELS) + " intervals |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in out.items():
        lines.append(
            f"| {mode} | {r['n_coords']} | {r['missed']} | {100 * r['miss_fraction']:.2f}% | "
            f"{100 * r['binomial_sd_of_fraction']:.2f}% | {r['zscore_rms']:.3f} | {r['missed_per_frame']} | "
            + " / ".join(f"{100 * v:.1f}%" for v in r["coverage_levels"].values())
            + " |"
        )
    # modes tracked on the very same movies: paired difference of the squared z-scores
    same = [m for m in ("blur", "blur-plain", "blur-K10") if m in z_by_mode]
    pairs = [(a, b) for i, a in enumerate(same) for b in same[i + 1 :]]
    if pairs:
        lines += [
            "",
            "Paired (same movies): mean over movies of the per-movie mean of z_a^2 - z_b^2, with its "
            "standard error over movies (0 if the two models give equally wide posteriors around the truth).",
            "",
            "| a | b | mean (z_a^2 - z_b^2) | SE |",
            "|---|---|---|---|",
        ]
        for a, b in pairs:
            d = np.mean(z_by_mode[a] ** 2 - z_by_mode[b] ** 2, axis=(1, 2))
            se = d.std(ddof=1) / np.sqrt(len(d))
            out[f"paired_{a}_vs_{b}"] = {"mean_dz2": float(d.mean()), "se": float(se)}
            lines.append(f"| {a} | {b} | {d.mean():+.4f} | {se:.4f} |")
        (RESULTS / f"tracking_calibration{args.tag}.json").write_text(json.dumps(out, indent=2))
    lines += [
        "",
        "Reproduce: `nice .venv/bin/python benchmarks/bench_tracking.py --calibration "
        f"{args.calibration} --iterations {args.iterations} --chains {args.chains}"
        + (f" --calibration-seed {args.calibration_seed}" if args.calibration_seed != 500 else "")
        + (f" --calibration-z {args.calibration_z}" if args.calibration_z != 0.1 else "")
        + (f" --calibration-D {args.calibration_D}" if args.calibration_D != 0.1 else "")
        + (
            f" --calibration-modes {args.calibration_modes}"
            if args.calibration_modes != "exact,blur"
            else ""
        )
        + (f" --tag {args.tag}`" if args.tag else "`"),
        "",
    ]
    (RESULTS / f"tracking_calibration{args.tag}.md").write_text("\n".join(lines))


def merge(args) -> None:
    """One result set from runs over parts of the movies (``--only``, e.g. one per core)."""
    parts = [json.loads((RESULTS / f"tracking{t}.json").read_text()) for t in args.merge.split(",")]
    rows = sorted((m for p in parts for m in p["movies"]), key=lambda m: m["seed"])
    wall = sum(p["meta"]["wall_seconds"] for p in parts)
    summ = write_results(rows, args, optics.preset("hendrix2025"), 0.0, wall_seconds=wall)
    print(json.dumps(summ, indent=2))


def pooled_coverage(covered: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Coverage ``sum covered / sum n`` over movies and its standard error with the movies as
    clusters (the coordinates of one movie are correlated): ``sqrt(G/(G-1) sum (c_i - p n_i)^2) / sum n``."""
    covered, n = np.asarray(covered, float), np.asarray(n, float)
    p = covered.sum() / n.sum()
    G = len(n)
    se = np.sqrt(G / max(G - 1, 1) * np.sum((covered - p * n) ** 2)) / n.sum()
    return float(p), float(se)


def pool(args) -> None:
    """Coverage over several benchmark sets (``--pool`` tags of ``tracking<tag>.json``), with
    movie-clustered standard errors, overall and for BM / non-BM movies."""
    tags = args.pool.split(",")
    sets = {t: json.loads((RESULTS / f"tracking{t}.json").read_text()) for t in tags}
    cov = {
        t: np.array([m["bayes"]["covered_coords"] for m in d["movies"]]) for t, d in sets.items()
    }
    n = {t: np.array([m["bayes"]["n_coords"] for m in d["movies"]]) for t, d in sets.items()}
    bm = {t: np.array([m["model"] == "bm" for m in d["movies"]]) for t, d in sets.items()}
    rows = []
    for t in tags:
        p, se = pooled_coverage(cov[t], n[t])
        rows.append((f"`tracking{t}.json`", int(cov[t].sum()), int(n[t].sum()), len(n[t]), p, se))
    allc, alln, allbm = (np.concatenate([x[t] for t in tags]) for x in (cov, n, bm))
    for name, sel in (("all sets", slice(None)), ("BM movies", allbm), ("other models", ~allbm)):
        p, se = pooled_coverage(allc[sel], alln[sel])
        rows.append((name, int(allc[sel].sum()), int(alln[sel].sum()), len(alln[sel]), p, se))
    lines = [
        "# Coverage of the Bayesian tracker's 98% intervals over several benchmark sets",
        "",
        "Per lateral coordinate, in-frame frames only. SE: standard error with the movies as clusters "
        "(the coordinates of one movie are correlated, so the binomial SE is too small).",
        "",
        "| set | covered | coordinates | movies | coverage | SE | (coverage - 98%) / SE |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c, nn, g, p, se in rows:
        lines.append(
            f"| {name} | {c} | {nn} | {g} | {100 * p:.2f}% | {100 * se:.2f}% | {(p - 0.98) / se:+.1f} |"
        )
    lines += [
        "",
        f"Reproduce: `.venv/bin/python benchmarks/bench_tracking.py --pool={args.pool}"
        + (f" --tag {args.tag}`" if args.tag else "`"),
    ]
    (RESULTS / f"tracking_pooled{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--K", type=int, default=1, help="sub-frame points of the tracking model")
    ap.add_argument("--M", type=int, default=1)
    ap.add_argument(
        "--tag", type=str, default="", help="suffix of the result files (tracking<tag>.md)"
    )
    ap.add_argument(
        "--only", type=str, default=None, help="comma-separated indices of trajectories to run"
    )
    ap.add_argument(
        "--blur-psf",
        choices=sorted(BLUR_CHOICES),
        default="auto",
        help="blur-aware K = 1 emission of the tracker (auto: on for K = 1)",
    )
    ap.add_argument(
        "--seed-base",
        type=int,
        default=1000,
        help="movie i is drawn (and tracked) with seed seed_base + i (another value: a replicate set)",
    )
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--speed-one", action="store_true")
    ap.add_argument(
        "--calibration",
        type=int,
        default=0,
        help="run the short-movie calibration diagnostic on this many movies per mode",
    )
    ap.add_argument(
        "--calibration-z",
        type=float,
        default=0.1,
        help="axial start (µm) of the calibration movies (0.1: near focus; ~1: defocused)",
    )
    ap.add_argument(
        "--calibration-modes",
        default="exact,blur",
        help="comma-separated modes of the calibration diagnostic: " + ", ".join(CALIBRATION_MODES),
    )
    ap.add_argument(
        "--calibration-D",
        type=float,
        default=0.1,
        help="diffusion coefficient (µm²/s) of the calibration movies",
    )
    ap.add_argument(
        "--calibration-seed",
        type=int,
        default=500,
        help="movie i of the calibration diagnostic is drawn with seed calibration_seed + i",
    )
    ap.add_argument(
        "--pool",
        default=None,
        help="comma-separated tags of finished runs (e.g. ',_seed2000'): their coverage pooled",
    )
    ap.add_argument(
        "--merge",
        default=None,
        help="comma-separated tags of runs over parts of the movies (--only): written as one set "
        "under --tag (pass the parts' --iterations/--chains/--K/--blur-psf/--seed-base)",
    )
    args = ap.parse_args()
    if args.merge:
        merge(args)
        return
    if args.pool is not None:
        pool(args)
        return
    if args.calibration:
        calibration(args)
        return
    if args.speed_one:
        speed_one(args)
        return
    if args.speed:
        speed(args)
        return
    setup = optics.preset("hendrix2025")
    trajs = trajectories()
    idx = range(len(trajs)) if args.only is None else [int(i) for i in args.only.split(",")]
    rows = []
    t_start = time.perf_counter()
    for i in idx:
        label, model, params = trajs[i]
        r = run_movie(label, model, params, args.seed_base + i, args, setup)
        rows.append(r)
        b = r["bayes"]
        print(
            f"{label}: covered {b['covered_coords']}/{b['n_coords']}, rmse {1000 * b['rmse_lateral']:.1f} nm, "
            f"D [{b['D']['lo']:.3g}, {b['D']['hi']:.3g}], rhat {b['rhat_max_positions']:.3f}, {b['seconds']:.0f} s; "
            f"modular {r['modular']['covered_coords']}/{r['modular']['n_coords']}",
            flush=True,
        )
        write_results(rows, args, setup, t_start)
    print(json.dumps(summarize(rows, args), indent=2))


if __name__ == "__main__":
    main()
