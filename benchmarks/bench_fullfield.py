"""Full-field movies with an unknown, changing number of particles (issue: real movies).

Movies are rendered here by the benchmark's own code (not ``sptmotion.optics.render``): a
Gaussian PSF of the setup's in-focus width integrated over pixels with erf, 10 positions per
30 ms exposure at the midpoints of its tenths (motion blur; the midpoint rule of the camera's
continuous integral), Poisson photons, EM gain as a Gamma draw, ADU offset; particles move in
2D in focus, Brownian or fractional Brownian (alpha 0.6 or 1.4, drawn exactly at the sub-frame
times), D log-uniform 0.05-0.5 µm²/s, start in a field 20% larger than the ROI (so they enter
and leave) and blink off in 5% of the frames. Until 2026-12-08 the renderer took 5 positions
from the start to the end of each exposure with equal weights, which overstates the blur's
variance by 20% (0.4 D t_E against D t_E / 3 per axis) and the exposure means' frame-to-frame
correlation; the results made with it say so.

Parts (``--part``):

- ``m``: 30 small regions (16 x 16 pixels, 40 frames) with 0-4 particles (6 movies each);
  ``track_bayes(n_emitters=None)``: the posterior mode of the number of emitters against the
  true number (particles visible, i.e. on and inside the ROI, in at least one frame), the
  posterior probability of the true number, R-hat of M, time.
- ``crowded``: one 20 x 20 region with 5 particles started within 0.35 µm of its centre
  (overlapping spots); the unknown-M run (one emitter's brightness from the region's own spots,
  or given as a calibration) next to fixed-M runs (M = 3..6): posterior of M, mean emission
  log-likelihood, per-frame recall, precision, RMSE (also over the CRLB), identity switches,
  98% interval coverage.
- ``field``: 256 x 256 x 200 frames, 30 particles: ``track_field`` next to the modular tracker
  and trackpy (recall, precision, RMSE, ID switches, coverage, time, memory).
- ``--planar`` (parts m and field): the Bayesian tracker with ``planar=True`` (the particles
  move in 2D at focus); results with the suffix ``_planar``.
- ``convergence``: a 128 x 128 x 100-frame movie with 8 particles tracked by ``track_field``
  at each of ``--sweep-list`` (default 1000 and 6000, the CLI's default): per region K, the
  R-hat and ESS of D and of the positions (the worst over the exposure-mean positions present
  in every draw, as the convergence warning reads them), the wall time; next to it, what the
  worst R-hat over many quantities is for chains that mix perfectly as AR(1) processes of the
  same effective sample sizes (2 chains, rank-normalized split R-hat, ArviZ).
- ``mixing``: the K = 1 regions of the convergence part's movie, each tracked by
  ``track_bayes`` (2 chains, ``--sweeps``) from ``--chain-seeds`` seeds, in this tree and in
  the commit ``--before`` (each in a fresh process): R-hat and ESS of D, of the log-posterior
  and of the positions per run, and the mean ESS per region; how a sampler change moves the
  mixing, judged over seeds rather than from one run.
- ``calibration``: one Brownian particle with M known, ``--n`` movies per case
  (:data:`CAL_CASES`): the coverage of ``track_bayes``' 98% position intervals on movies of
  the tracker's own model (``optics.render``; K = 1 at 1000 and 4000 sweeps, K = 3), where
  only the sampler can be wrong, and on this module's renderer with K = 1 (the blur-aware
  round spot) and K = 5, where the model's approximations add to it.
- ``pooled``: the field part's runs named by ``--stems`` (draws of other ``--seed``) pooled:
  recall, precision, identity switches and the 98% coverage with its SE over all of them.
- ``analyze``: ``sptmotion analyze movie.tif`` without ``--emitters`` on the field's movie,
  run as a command; the Bayesian tracks matched to the true particles, their likelihood
  verdicts and alpha intervals.

    .venv/bin/python benchmarks/bench_fullfield.py --part m [--n 30] [--sweeps 1500]
    .venv/bin/python benchmarks/bench_fullfield.py --part crowded
    .venv/bin/python benchmarks/bench_fullfield.py --part field --sweeps 1000
    .venv/bin/python benchmarks/bench_fullfield.py --part analyze --sweeps 1000
    .venv/bin/python benchmarks/bench_fullfield.py --part convergence     # ~6 min
    .venv/bin/python benchmarks/bench_fullfield.py --part mixing --sweeps 1000 --before HEAD~1
    .venv/bin/python benchmarks/bench_fullfield.py --part calibration --n 80        # ~20 min
    .venv/bin/python benchmarks/bench_fullfield.py --part field --sweeps 1000 --seed 1 \
        --stem field_session29_seed1       # and seed 2; then
    .venv/bin/python benchmarks/bench_fullfield.py --part pooled

Writes ``benchmarks/results/fullfield/<part>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import erf

RESULTS = Path(__file__).resolve().parent / "results" / "fullfield"
PIXEL, DT, T_E, K_SUB = 0.133, 0.033, 0.030, 10
GAIN, CONV, OFFSET = 300.0, 3.5, 100.0
PHOTONS, BG = 600.0, 20.0


def setup_for(size: int):
    from sptmotion import optics
    from sptmotion.optics.camera import EMCCDGamma

    return optics.preset(
        "hendrix2025",
        rows=size,
        cols=size,
        emission_rate=PHOTONS / T_E,
        background_flux=BG / (PIXEL**2 * T_E),
        camera=EMCCDGamma(gain=GAIN, conversion=CONV, qe=1.0, offset=OFFSET),
    )


def sub_times(n_frames: int) -> np.ndarray:
    """Times (s) of the sub-frame positions, (n_frames * K_SUB,): the midpoints of K_SUB equal
    parts of each exposure, so that their equal-weight mean is the midpoint rule of the
    camera's continuous integral (the blur's variance within 1% of ``D t_E / 3`` per axis)."""
    k = (np.arange(K_SUB) + 0.5) * T_E / K_SUB
    return (np.arange(n_frames)[:, None] * DT + k[None, :]).ravel()


@lru_cache(maxsize=8)
def _fbm_cholesky(n_frames: int, alpha: float) -> np.ndarray:
    """Lower Cholesky factor of the covariance of an FBM path (unit D: ``E x(s)^2 = 2 s^alpha``
    per axis) at :func:`sub_times` after the first, relative to the first position."""
    t = sub_times(n_frames)
    s = t[1:] - t[0]
    cov = s[:, None] ** alpha + s[None, :] ** alpha - np.abs(s[:, None] - s[None, :]) ** alpha
    return np.linalg.cholesky(cov + 1e-12 * np.mean(np.diag(cov)) * np.eye(len(s)))


def paths(rng, n_particles: int, n_frames: int, field: float, center=None, spread=None):
    """Sub-frame 2D paths (P, N, K_SUB, 2) µm at :func:`sub_times`, their D, alpha; starts
    uniform on ``[-0.1, 1.1] * field`` (or within ``spread`` of ``center``). FBM is drawn
    exactly at those times (Cholesky of its covariance)."""
    t = sub_times(n_frames)
    dts = np.diff(t)
    D = np.exp(rng.uniform(np.log(0.05), np.log(0.5), n_particles))
    alpha = rng.choice([1.0, 1.0, 0.6, 1.4], n_particles)
    out = np.empty((n_particles, len(t), 2))
    for p in range(n_particles):
        if center is None:
            out[p, 0] = rng.uniform(-0.1 * field, 1.1 * field, 2)
        else:
            out[p, 0] = center + rng.uniform(-spread, spread, 2)
        if alpha[p] == 1.0:
            steps = np.sqrt(2 * D[p] * dts)[:, None] * rng.standard_normal((len(dts), 2))
            out[p, 1:] = out[p, 0] + np.cumsum(steps, axis=0)
        else:
            Lc = _fbm_cholesky(n_frames, float(alpha[p]))
            out[p, 1:] = out[p, 0] + np.sqrt(D[p]) * (Lc @ rng.standard_normal((len(dts), 2)))
    return out.reshape(n_particles, n_frames, K_SUB, 2), D, alpha


#: A particle that is on and whose exposure-mean lies outside the field by at most this many
#: PSF sigmas still puts light on it (16% at one sigma): the scores neither require nor
#: penalize its detection (:func:`render`'s ``edge``).
EDGE_SIGMAS = 2.0


def render(fine: np.ndarray, size: int, rng, sigma: float, blink: float = 0.05):
    """ADU (N, size, size), exposure-mean truth (P, N, 2), visibility (P, N) and the edge spots
    (P, N: on, centre outside the field within :data:`EDGE_SIGMAS` PSF sigmas) of sub-frame
    paths ``fine`` (P, N, K, 2) µm."""
    P, N = fine.shape[:2]
    edges = np.arange(size + 1) * PIXEL
    s2 = np.sqrt(2) * sigma
    on = rng.random((P, N)) > blink
    u = np.full((N, size, size), BG)
    for p in range(P):
        for k in range(K_SUB):
            x, y = fine[p, :, k, 0][:, None], fine[p, :, k, 1][:, None]
            fx = 0.5 * (erf((edges[None, 1:] - x) / s2) - erf((edges[None, :-1] - x) / s2))
            fy = 0.5 * (erf((edges[None, 1:] - y) / s2) - erf((edges[None, :-1] - y) / s2))
            u += (PHOTONS / K_SUB) * on[p][:, None, None] * fy[:, :, None] * fx[:, None, :]
    n = rng.poisson(u)
    adu = OFFSET + np.where(n > 0, rng.gamma(np.maximum(n, 1), GAIN), 0.0) / CONV
    truth = fine.mean(axis=2)
    L = size * PIXEL
    inside = np.all((truth >= 0) & (truth <= L), axis=2)
    m = EDGE_SIGMAS * sigma
    near = np.all((truth >= -m) & (truth <= L + m), axis=2)
    return adu, truth, on & inside, on & near & ~inside


def match_tracks(post, truth, visible):
    """Candidates matched to true particles (Hungarian on the mean distance over frames where
    both are there); returns the pairs and per-(particle, frame) errors and coverage."""
    mean = post.mean_track()[..., :2]
    lo, hi = post.credible_interval()
    p = post.p_present() > 0.5
    M, P = mean.shape[0], truth.shape[0]
    cost = np.full((P, M), 10.0)
    for i in range(P):
        for m in range(M):
            both = visible[i] & p[m]
            if both.any():
                d = np.linalg.norm(mean[m, both] - truth[i, both], axis=1).mean()
                cost[i, m] = d + np.mean(visible[i] != p[m])
    r, c = linear_sum_assignment(cost)
    err, cov = [], []
    for i, m in zip(r, c, strict=True):
        both = visible[i] & p[m]
        if cost[i, m] >= 10.0 or not both.any():
            continue
        err.extend(np.linalg.norm(mean[m, both] - truth[i, both], axis=1))
        inside = (lo[m, both, :2] <= truth[i, both]) & (truth[i, both] <= hi[m, both, :2])
        cov.extend(inside.ravel())
    return np.array(err), np.array(cov, dtype=float)


def part_m(args) -> dict:
    from sptmotion.tracking import track_bayes

    size, N = 16, 40
    setup = setup_for(size)
    sigma = float(setup.psf.kernel_params[0])
    rows = []
    for i in range(args.n):
        rng = np.random.default_rng([args.seed, i])
        n_part = i % 5
        fine, D, alpha = paths(rng, n_part, N, size * PIXEL)
        adu, truth, visible, _ = render(fine, size, rng, sigma)
        m_true = int(visible.any(axis=1).sum())
        t0 = time.perf_counter()
        post = track_bayes(adu, setup, n_emitters=None, n_iterations=args.sweeps, n_chains=2,
                           seed=i, planar=args.planar,
                           emitter_D_sd=args.emitter_d_sd)  # fmt: skip
        wall = time.perf_counter() - t0
        counts = post.count_posterior()
        mode = max(counts, key=lambda k: (counts[k], -k))
        diag = post.diagnostics()
        err, cov = match_tracks(post.relabel_frames(), truth, visible)  # the tables' labels
        rows.append({
            "movie": i, "particles_rendered": n_part, "m_true": m_true,
            "visible_frames": visible.sum(axis=1).tolist(), "alpha": alpha.tolist(),
            "D": D.tolist(), "candidates": post.n_emitters, "posterior": counts, "mode": mode,
            "p_true": counts.get(m_true, 0.0), "rhat_m": diag.get("n_emitters", {}).get("rhat"),
            "rhat_D": diag["D"]["rhat"], "rmse_nm": 1e3 * float(np.sqrt(np.mean(err**2)))
            if len(err) else None, "coverage_98": float(cov.mean()) if len(cov) else None,
            "n_coverage": int(len(cov)), "time_s": wall,
        })  # fmt: skip
        print(f"movie {i}: true M {m_true}, mode {mode}, posterior {counts}, {wall:.1f} s",
              flush=True)  # fmt: skip
    right = np.array([r["mode"] == r["m_true"] for r in rows])
    cov = np.concatenate([[r["coverage_98"]] * r["n_coverage"] for r in rows if r["n_coverage"]])
    return {
        "rows": rows,
        "mode_right": float(right.mean()),
        "mode_right_se": float(np.sqrt(right.mean() * (1 - right.mean()) / len(right))),
        "coverage_98": float(cov.mean()) if len(cov) else None,
        "n_coverage": int(len(cov)),
        "median_time_s": float(np.median([r["time_s"] for r in rows])),
    }


def write_m(out: dict, args) -> list[str]:
    lines = [
        f"# Number of emitters in small regions: {args.n} movies of 16 x 16 pixels, 40 frames",
        "",
        "Independent renderer (`benchmarks/bench_fullfield.py`), 0-4 particles (BM and FBM, D "
        "0.05-0.5 µm²/s, entering/leaving, 5% blinking frames), EMCCD; "
        f"`track_bayes(n_emitters=None{', planar=True' if args.planar else ''})`, "
        f"{args.sweeps} sweeps x 2 chains, 2 threads.",
        "",
        f"Posterior mode of M right: **{out['mode_right']:.3f}** (SE {out['mode_right_se']:.3f}, "
        f"target >= 0.90). Lateral 98% intervals of the matched tracks (labels as in the "
        f"tables): coverage {out['coverage_98']:.3f} over {out['n_coverage']} coordinates (not "
        "independent). "
        f"Median time per movie {out['median_time_s']:.1f} s.",
        "",
        "| movie | rendered | true M | visible frames | posterior of M | mode | R-hat M | RMSE (nm) | time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in out["rows"]:
        post = ", ".join(f"{k}: {v:.2f}" for k, v in r["posterior"].items())
        rmse = "" if r["rmse_nm"] is None else f"{r['rmse_nm']:.0f}"
        rh = r["rhat_m"]
        rh = "" if rh is None or not np.isfinite(rh) else f"{rh:.3f}"
        lines.append(
            f"| {r['movie']} | {r['particles_rendered']} | {r['m_true']} | "
            f"{r['visible_frames']} | {post} | {r['mode']} | {rh} | {rmse} | {r['time_s']:.1f} |"
        )
    return lines


def part_crowded(args) -> dict:
    from sptmotion.tracking import track_bayes

    size, N = 20, 40
    setup = setup_for(size)
    sigma = float(setup.psf.kernel_params[0])
    rng = np.random.default_rng([args.seed, 99])
    c = np.array([size * PIXEL / 2] * 2)
    fine, D, alpha = paths(rng, 5, N, size * PIXEL, center=c, spread=0.35)
    adu, truth, visible, edge = render(fine, size, rng, sigma)
    runs = {}
    for m in ("unknown", "calibrated", 3, 4, 5, 6):
        t0 = time.perf_counter()
        kw = {"init": "modular"} if isinstance(m, int) else {}
        if m == "calibrated":
            kw["spot_photons"] = PHOTONS  # one emitter's brightness known (a calibration)
        m = m if isinstance(m, int) else None
        post = track_bayes(adu, setup, n_emitters=m, n_iterations=args.sweeps, n_chains=2,
                           seed=1, **kw)  # fmt: skip
        wall = time.perf_counter() - t0
        sc, extra = frame_scores(post.to_table(), truth, visible,
                                 crlb_lateral(truth, size, sigma), ignore=edge)  # fmt: skip
        diag = post.diagnostics()
        name = str(m) if m is not None else ("calibrated" if "spot_photons" in kw else "unknown")
        runs[name] = {
            "posterior": post.count_posterior(),
            "emission": post.mean_log_probabilities()["emission"],
            **sc,
            **extra,
            "rhat_positions": diag["positions"]["rhat"],
            "rhat_D": diag["D"]["rhat"],
            "D": post.D_summary(),
            "time_s": wall,
        }
        print(name, runs[name], flush=True)
    return {
        "true_M": int(visible.any(axis=1).sum()),
        "visible_frames": visible.sum(axis=1).tolist(),
        "true_points": int(visible.sum()),
        "D": D.tolist(),
        "alpha": alpha.tolist(),
        "runs": runs,
    }


LABELS = {"unknown": "M unknown", "calibrated": "M unknown, one emitter's photons given"}


def write_crowded(out: dict, args) -> list[str]:
    lines = [
        "# A crowded region: unknown M next to fixed M",
        "",
        f"20 x 20 pixels, 40 frames, {out['true_M']} particles started within 0.35 µm of the "
        f"centre (visible frames {out['visible_frames']}; {out['true_points']} true points), "
        f"independent renderer; {args.sweeps} sweeps x 2 chains each.",
        "",
        "Per frame, table rows are matched to the true positions within 2 pixels (Hungarian); "
        "ID switches: changes of the matched track id along a true particle.",
        "",
        "| run | posterior of M | mean emission log-lik | recall | precision | RMSE (nm) | RMSE / CRLB | ID switches | 98% coverage | R-hat positions | time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in out["runs"].items():
        post = ", ".join(f"{k}: {v:.2f}" for k, v in r["posterior"].items())
        lines.append(
            f"| {LABELS.get(name, 'M = ' + name)} | {post} | "
            f"{r['emission']:.1f} | {r['recall']:.3f} | {r['precision']:.3f} | "
            f"{r['rmse_nm']:.1f} | {r['rmse_over_crlb']:.2f} | {r['id_switches']} | "
            f"{r['coverage_98']:.3f} | {r['rhat_positions']:.2f} | {r['time_s']:.1f} |"
        )
    return lines


def crlb_lateral(truth: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Cramer-Rao bound (µm²) of x per true spot: in-focus Gaussian PSF integrated over pixels,
    PHOTONS per spot on BG per pixel, EMCCD excess-noise factor 2 (``I = sum (du/dx)² / (2 u)``;
    the other parameters known, so a lower bound)."""
    edges = np.arange(size + 1) * PIXEL
    s2 = np.sqrt(2) * sigma
    x, y = truth[..., 0].ravel()[:, None], truth[..., 1].ravel()[:, None]
    fx = 0.5 * (erf((edges[None, 1:] - x) / s2) - erf((edges[None, :-1] - x) / s2))
    fy = 0.5 * (erf((edges[None, 1:] - y) / s2) - erf((edges[None, :-1] - y) / s2))
    gauss = lambda e, c: np.exp(-((e - c) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)  # noqa: E731
    dfx = -(gauss(edges[None, 1:], x) - gauss(edges[None, :-1], x))
    out = np.full(len(x), np.inf)  # outside the ROI: no information
    for i in range(len(x)):  # local 15 x 15 windows
        c = int(np.clip(x[i, 0] / PIXEL, 7, size - 8))
        r = int(np.clip(y[i, 0] / PIXEL, 7, size - 8))
        cs, rs = slice(c - 7, c + 8), slice(r - 7, r + 8)
        u = BG + PHOTONS * np.outer(fy[i, rs], fx[i, cs])
        du = PHOTONS * np.outer(fy[i, rs], dfx[i, cs])
        info = np.sum(du**2 / (2 * u))
        if info > 0:
            out[i] = 1.0 / info
    return out.reshape(truth.shape[:-1])


def crlb_blurred(fine: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Cramer-Rao bound (µm², mean of x and y) of the exposure-mean position of each true spot
    as rendered: the K_SUB sub-frame positions' PSFs (motion blur) with the path's shape known
    and shifted as a whole, x and y jointly (2 x 2 Fisher information, EMCCD excess-noise
    factor 2, photons and background known). A lower bound for an estimator that does not know
    the path within the exposure; tighter than :func:`crlb_lateral` for a blurred spot."""
    P, N = fine.shape[:2]
    edges = np.arange(size + 1) * PIXEL
    s2 = np.sqrt(2) * sigma
    norm = np.sqrt(2 * np.pi) * sigma
    out = np.full((P, N), np.inf)
    mean = fine.mean(axis=2)
    for p in range(P):
        for n in range(N):
            c = int(np.clip(mean[p, n, 0] / PIXEL, 9, size - 10))
            r = int(np.clip(mean[p, n, 1] / PIXEL, 9, size - 10))
            ex, ey = edges[c - 9 : c + 11], edges[r - 9 : r + 11]
            x, y = fine[p, n, :, 0][:, None], fine[p, n, :, 1][:, None]
            fx = 0.5 * (erf((ex[None, 1:] - x) / s2) - erf((ex[None, :-1] - x) / s2))
            fy = 0.5 * (erf((ey[None, 1:] - y) / s2) - erf((ey[None, :-1] - y) / s2))
            gx = np.exp(-((ex[None] - x) ** 2) / (2 * sigma**2)) / norm
            gy = np.exp(-((ey[None] - y) ** 2) / (2 * sigma**2)) / norm
            dfx, dfy = -(gx[:, 1:] - gx[:, :-1]), -(gy[:, 1:] - gy[:, :-1])
            w = PHOTONS / K_SUB
            u = BG + w * np.einsum("kr,kc->rc", fy, fx)
            dux = w * np.einsum("kr,kc->rc", fy, dfx)
            duy = w * np.einsum("kr,kc->rc", dfy, fx)
            info = np.array([[np.sum(a * b / (2 * u)) for b in (dux, duy)] for a in (dux, duy)])
            if np.linalg.det(info) > 0:
                out[p, n] = 0.5 * np.trace(np.linalg.inv(info))
    return out


#: Spots whose sub-frame positions spread (rms about their mean) beyond this many pixels are
#: reported apart: the exposure smears them over more than the PSF's width.
SMEARED_PX = 1.0


def blur_radius(fine: np.ndarray) -> np.ndarray:
    """RMS distance (µm) of each spot's K_SUB sub-frame positions from their mean, (P, N)."""
    dev = fine - fine.mean(axis=2, keepdims=True)
    return np.sqrt(np.mean(np.sum(dev**2, axis=3), axis=2))


def frame_scores(
    tab, truth, visible, crlb, crlb_blur=None, spread=None, ignore=None, alpha=None
) -> tuple[dict, dict]:
    """Per-frame detection scores (``bench_modular.score``: Hungarian within 2 pixels, identity
    switches) and, over the matched spots, the RMSE relative to the CRLB (and to the blurred
    spots' CRLB ``crlb_blur``, when given) and the coverage of the tables' x and y bounds.

    With ``spread`` (:func:`blur_radius`, (P, N) µm) the coverage and gross errors are also
    given apart for the spots smeared beyond :data:`SMEARED_PX`, and the false detections by
    what lies within 3 pixels: a smeared spot, another spot, nothing. ``ignore`` (P, N): the
    edge spots of :func:`render`, neither required nor false (``bench_modular.score``).
    With ``alpha`` (P,) and a ``region`` column in ``tab``, the coverage is also given by
    :func:`coverage_groups`."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_modular import frame_matches, score

    errs, bounds, cov, smeared, who, where = [], [], [], [], [], []
    fp = {"near_smeared": 0, "near_other": 0, "far": 0}
    for f, g, vis, d, r, c, within in frame_matches(tab, truth, visible, ignore=ignore):
        if g is None or not len(vis):
            continue
        det = g[["x", "y"]].to_numpy()
        taken = set(c[within])  # by a required or an edge spot
        ok = within & (r < len(vis))
        d = d[: len(vis)]
        if spread is not None:
            for j in sorted(set(range(len(det))) - taken):
                near = d[:, j] < 3 * PIXEL
                if not near.any():
                    fp["far"] += 1
                elif np.any(spread[vis[near], f] > SMEARED_PX * PIXEL):
                    fp["near_smeared"] += 1
                else:
                    fp["near_other"] += 1
        for i, j in zip(vis[r[ok]], c[ok], strict=True):
            row = g.iloc[j]
            if spread is not None:
                smeared.append(spread[i, f] > SMEARED_PX * PIXEL)
            errs.append(truth[i, f] - det[j])
            bounds.append([crlb[i, f], np.nan if crlb_blur is None else crlb_blur[i, f]])
            cov.append(row["x_lo"] <= truth[i, f, 0] <= row["x_hi"])
            cov.append(row["y_lo"] <= truth[i, f, 1] <= row["y_hi"])
            who += [i, i]
            where += [row.get("region", -1)] * 2
    errs = np.array(errs)
    bounds = np.array(bounds).reshape(-1, 2)
    cov = np.array(cov, dtype=float)
    extra = {
        "rmse_over_crlb": float(np.sqrt(np.mean(errs**2) / np.mean(bounds[:, 0])))
        if len(errs)
        else None,
        "coverage_98": float(cov.mean()) if len(cov) else None,
        "coverage_se": float(np.sqrt(0.98 * 0.02 / max(len(cov), 1))),
        "coverage_se_particles": _cluster_se(cov, np.array(who)),
        "n_coverage": int(len(cov)),
    }
    if crlb_blur is not None and len(errs):
        extra["rmse_over_crlb_blurred"] = float(np.sqrt(np.mean(errs**2) / np.mean(bounds[:, 1])))
        # each spot's error over its own bound: robust spread (1.4826 MAD) and gross errors
        fin = np.isfinite(bounds[:, 1]) & (bounds[:, 1] > 0)
        z = errs[fin] / np.sqrt(bounds[fin, 1])[:, None]
        gross = np.any(np.abs(z) > 5.0, axis=1)
        extra["z_robust_sd_blurred"] = float(1.4826 * np.median(np.abs(z - np.median(z, axis=0))))
        extra["z_rms_blurred"] = float(np.sqrt(np.mean(z**2)))  # RMSE over each spot's CRLB
        extra["z_rms_blurred_without_gross"] = float(np.sqrt(np.mean(z[~gross] ** 2)))
        extra["gross_fraction"] = float(gross.mean())
        cov2 = cov.reshape(-1, 2)[fin]  # (x, y) per matched spot, in the order of errs
        extra["coverage_98_without_gross"] = float(cov2[~gross].mean())
        extra["coverage_98_gross"] = float(cov2[gross].mean()) if gross.any() else None
        if spread is not None:
            sm = np.array(smeared, dtype=bool)[fin]
            for key, sel in (("compact", ~sm), ("smeared", sm)):
                extra[f"{key}_spots"] = int(sel.sum())
                extra[f"{key}_coverage_98"] = float(cov2[sel].mean()) if sel.any() else None
                extra[f"{key}_gross_fraction"] = float(gross[sel].mean()) if sel.any() else None
                extra[f"{key}_z_rms_blurred"] = (
                    float(np.sqrt(np.mean(z[sel] ** 2))) if sel.any() else None
                )
            extra["false_positives"] = fp
    if alpha is not None and "region" in tab.columns and len(cov):
        extra["coverage_groups"] = coverage_groups(cov, np.array(who), np.array(where), alpha)
    return score(tab, truth, visible, ignore=ignore), extra


def coverage_groups(hits, particle, region, alpha) -> list[dict]:
    """Coverage of the matched coordinates by the true particle's motion (BM, FBM alpha 0.6,
    FBM alpha 1.4) and by whether its region holds other true particles (those matched in it),
    each with its SE over particles (:func:`_cluster_se`)."""
    shared = np.zeros(len(hits), dtype=bool)
    for r in np.unique(region):
        sel = region == r
        shared[sel] = len(np.unique(particle[sel])) > 1
    out = []
    for a in np.unique(alpha):
        for sh in (False, True):
            sel = (alpha[particle] == a) & (shared == sh)
            if sel.any():
                out.append({"alpha": float(a), "shares_region": sh,
                            "particles": int(len(np.unique(particle[sel]))),
                            "coordinates": int(sel.sum()), "coverage_98": float(hits[sel].mean()),
                            "misses": int(np.sum(hits[sel] == 0)),
                            "se_particles": _cluster_se(hits[sel], particle[sel])})  # fmt: skip
    return out


def _cluster_se(hits: np.ndarray, cluster: np.ndarray) -> float | None:
    """Standard error of the mean of ``hits`` with the clusters (true particles) as the units:
    the coordinates of one particle's frames are not independent (ratio estimator)."""
    ids, inv = np.unique(cluster, return_inverse=True)
    if len(ids) < 2:
        return None
    n = np.bincount(inv).astype(float)
    h = np.bincount(inv, weights=hits)
    mean = h.sum() / n.sum()
    return float(np.sqrt(len(ids) / (len(ids) - 1) * np.sum((h - mean * n) ** 2)) / n.sum())


def part_field(args) -> dict:
    import resource
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_modular import run_trackpy, score
    from sptmotion.optics.camera import photons_estimate
    from sptmotion.tracking import track_modular
    from sptmotion.tracking.regions import track_field

    size, N, P = args.size, args.frames, args.particles
    setup, adu, truth, visible, alpha, fine, edge = _field_movie(args)
    sigma = float(setup.psf.kernel_params[0])
    crlb, crlb_blur = crlb_lateral(truth, size, sigma), crlb_blurred(fine, size, sigma)
    spread = blur_radius(fine)
    out = {"size": size, "frames": N, "particles": P, "true_M": int(visible.any(axis=1).sum()),
           "visible_points": int(visible.sum())}  # fmt: skip
    track_modular(adu[:3, :32, :32], setup_for(32))  # compile before timing
    t0 = time.perf_counter()
    mod = track_modular(adu, setup)
    out["modular"] = {"time_s": time.perf_counter() - t0, **score(mod, truth, visible, ignore=edge)}
    out["modular"].update(frame_scores(mod, truth, visible, crlb, crlb_blur, spread, edge)[1])
    print("modular", out["modular"], flush=True)
    photons = photons_estimate(adu, setup.camera)
    out["trackpy"] = run_trackpy(photons, truth, visible, 1.5 / PIXEL, ignore=edge)
    print("trackpy", out["trackpy"], flush=True)
    t0 = time.perf_counter()
    res = track_field(adu, setup, n_iterations=args.sweeps, n_chains=2, seed=args.seed,
                      workers=args.workers, planar=args.planar,
                      subframes=_subframes(args.subframes),
                      emitter_D_sd=args.emitter_d_sd)  # fmt: skip
    wall = time.perf_counter() - t0
    tab = res.table
    if args.save_table:
        tab.to_parquet(args.save_table)
    sc, extra = frame_scores(tab, truth, visible, crlb, crlb_blur, spread, edge, alpha)
    post = res.n_emitters_posterior
    out["bayes_regions"] = {
        "time_s": wall, **sc, **extra, "n_regions": len(res.regions),
        "M_mode": int(max(post, key=lambda k: (post[k], -k))) if post else 0,
        "max_rhat_positions": float(np.nanmax([r["diagnostics"]["positions"]["rhat"]
                                               for r in res.regions] or [np.nan])),
        "region_times_s": [r["time_s"] for r in res.regions],
        "region_shapes": [[r["frames"][1] - r["frames"][0], r["rows"][1] - r["rows"][0],
                           r["cols"][1] - r["cols"][0]] for r in res.regions],
        "region_subframes": [r["subframes"] for r in res.regions],
        "region_blur_um": [r["predicted_blur_um"] for r in res.regions],
        "region_rhat": [{k: v["rhat"] for k, v in r["diagnostics"].items()
                         if isinstance(v, dict) and "rhat" in v} for r in res.regions],
        "region_D_median": [r["D"]["median"] for r in res.regions],
    }  # fmt: skip
    # the detections kept at stricter presence thresholds (the table keeps p_present >= 0.5)
    out["bayes_regions"]["by_p_present"] = [
        {"min_p_present": q, "rows": int(np.sum(tab["p_present"] >= q)),
         **score(tab[tab["p_present"] >= q], truth, visible, ignore=edge)}
        for q in P_PRESENT_LEVELS
    ]  # fmt: skip
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print("bayes", out["bayes_regions"], flush=True)
    return out


def _subframes(value: str):
    """``--subframes``: "auto" or a whole number."""
    return value if value == "auto" else int(value)


#: Presence thresholds at which the field's Bayesian detections are also scored.
P_PRESENT_LEVELS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def _k_text(b: dict, args) -> str:
    """The regions' sub-frame positions K, as the field's text gives them."""
    if args.subframes != "auto":
        return f"K = {args.subframes}"
    ks = b["region_subframes"]
    counts = ", ".join(f"K = {k} in {ks.count(k)}" for k in sorted(set(ks), reverse=True))
    return (
        f'K chosen per region from the blur its spots predict (`subframes="auto"`: '
        f"{counts} of {len(ks)} regions)"
    )


def _split_text(r: dict) -> str:
    """The compact and smeared spots' RMSE over their own blurred CRLB, as the text gives it."""
    if r.get("compact_z_rms_blurred") is None or r.get("smeared_z_rms_blurred") is None:
        return ""
    return (
        f" (compact spots {r['compact_z_rms_blurred']:.2f}, smeared "
        f"{r['smeared_z_rms_blurred']:.2f})"
    )


def write_field(out: dict, args) -> list[str]:
    b, m, t = out["bayes_regions"], out["modular"], out["trackpy"]
    lines = [
        f"# Full field: {out['size']} x {out['size']} pixels, {out['frames']} frames, "
        f"{out['particles']} particles",
        "",
        f"Independent renderer (`benchmarks/bench_fullfield.py --part field`); {out['true_M']} "
        f"particles visible, {out['visible_points']} visible spots. Bayesian: regions "
        f"(`tracking.regions.track_field`{', planar=True' if args.planar else ''}), "
        f"{args.sweeps} sweeps x 2 chains per region, "
        f"{_k_text(b, args)}, "
        f"{args.workers} worker threads on 2 cores. Peak memory {out['peak_rss_gb']:.2f} GB.",
        "",
        "| tracker | recall | precision | RMSE (nm) | ID switches | tracks | median length | time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in (("Bayesian, regions, M unknown", b), ("modular", m),
                    (f"trackpy (minmass {t['minmass']:g}, memory 3)", t)):  # fmt: skip
        lines.append(
            f"| {name} | {r['recall']:.3f} | {r['precision']:.3f} | {r['rmse_nm']:.1f} | "
            f"{r['id_switches']} | {r['n_tracks']} | {r['median_track_length']:.0f} | "
            f"{r.get('time_s', 0):.1f} |"
        )
    lines += [
        "",
        f"Bayesian: {b['n_regions']} regions, posterior mode of M {b['M_mode']} (true "
        f"{out['true_M']}); lateral RMSE / sqrt(mean CRLB) {b['rmse_over_crlb']:.2f} "
        f"({b['rmse_over_crlb_blurred']:.2f} to the blurred spots' CRLB; per spot, error over "
        f"its own blurred CRLB: rms {b['z_rms_blurred']:.2f} over all matched spots"
        f"{_split_text(b)}, robust sd {b['z_robust_sd_blurred']:.2f}, rms "
        f"{b['z_rms_blurred_without_gross']:.2f} without the {100 * b['gross_fraction']:.1f}% "
        "gross errors beyond 5 bounds); 98% "
        f"intervals cover {b['coverage_98']:.3f} of {b['n_coverage']} coordinates (SE "
        f"{b['coverage_se']:.3f} if independent, {b['coverage_se_particles']:.3f} with the "
        f"particles as the units; {b['coverage_98_without_gross']:.3f} without "
        + (
            f"the gross errors, whose intervals hold {b['coverage_98_gross']:.3f}); worst region "
            if b["coverage_98_gross"] is not None
            else "gross errors, of which there are none); worst region "
        )
        + f"R-hat of positions {b['max_rhat_positions']:.2f}.",
        f"Modular tracker on the same spots: RMSE / sqrt(mean CRLB) {m['rmse_over_crlb']:.2f} "
        f"({m['rmse_over_crlb_blurred']:.2f} blurred; per spot robust sd "
        f"{m['z_robust_sd_blurred']:.2f}, rms {m['z_rms_blurred_without_gross']:.2f} without "
        f"the {100 * m['gross_fraction']:.1f}% gross errors), "
        f"its 98% Fisher bounds cover {m['coverage_98']:.3f} of {m['n_coverage']} coordinates "
        f"({m['coverage_98_without_gross']:.3f} without the gross errors). "
        "The CRLB is that of an in-focus spot without motion blur (photons and background "
        "known), a bound the blurred spots of fast particles cannot reach; the blurred spots' "
        f"CRLB is that of each spot as rendered (its {K_SUB} sub-frame positions, the path's shape "
        "known), still a lower bound for a tracker that does not know the path.",
    ]
    if "smeared_spots" in b:
        lines += ["", f"Spots apart by their smear within the exposure (rms spread of the sub-frame "
                  f"positions over {SMEARED_PX:g} pixel, the fastest FBM alpha = 0.6 particles "
                  "mostly):", "",
                  "| tracker | compact: spots | compact: coverage | compact: gross | smeared: spots | "
                  "smeared: coverage | smeared: gross | false detections near a smeared spot / "
                  "another spot / nothing |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, r in (("Bayesian", b), ("modular", m)):
            f = r["false_positives"]
            lines.append(
                f"| {name} | {r['compact_spots']} | {r['compact_coverage_98']:.3f} | "
                f"{r['compact_gross_fraction']:.3f} | {r['smeared_spots']} | "
                f"{r['smeared_coverage_98']:.3f} | {r['smeared_gross_fraction']:.3f} | "
                f"{f['near_smeared']} / {f['near_other']} / {f['far']} |"
            )
    if "coverage_groups" in b:
        lines += ["", "Coverage of the Bayesian 98% intervals by the true motion and by whether "
                  "the particle's region holds others (the tracker's motion prior is "
                  "Brownian): SE over particles, misses per group.", "", "| true motion | shares its region | particles | coordinates | "
                  "coverage | SE | misses |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for g in b["coverage_groups"]:
            name = "BM" if g["alpha"] == 1.0 else f"FBM alpha {g['alpha']:g}"
            se = "" if g["se_particles"] is None else f"{g['se_particles']:.3f}"
            lines.append(
                f"| {name} | {'yes' if g['shares_region'] else 'no'} | {g['particles']} | "
                f"{g['coordinates']} | {g['coverage_98']:.3f} | {se} | {g['misses']} |"
            )
    if "by_p_present" in b:
        lines += ["", "The Bayesian detections kept at stricter thresholds of their posterior "
                  "probability of presence (the table keeps p_present >= 0.5), against "
                  f"trackpy's recall {t['recall']:.3f} and precision {t['precision']:.3f}:", "",
                  "| min p_present | rows | recall | precision | ID switches | tracks | "
                  "median length |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in b["by_p_present"]:
            lines.append(
                f"| {r['min_p_present']:g} | {r['rows']} | {r['recall']:.3f} | "
                f"{r['precision']:.4f} | {r['id_switches']} | {r['n_tracks']} | "
                f"{r['median_track_length']:.0f} |"
            )
    return lines


def _field_movie(args):
    """The field part's movie (same seed, same pixels): setup, ADU, truth, visibility, alpha and
    the sub-frame paths, and the edge spots (:func:`render`)."""
    size, N, P = args.size, args.frames, args.particles
    setup = setup_for(size)
    rng = np.random.default_rng([args.seed, 7])
    fine, D, alpha = paths(rng, P, N, size * PIXEL)
    adu, truth, visible, edge = render(fine, size, rng, float(setup.psf.kernel_params[0]))
    return setup, adu, truth, visible, alpha, fine, edge


def convergence_movie(seed: int):
    """The convergence part's movie: setup and ADU of 128 x 128 x 100 frames, 8 particles."""
    setup = setup_for(128)
    rng = np.random.default_rng([seed, 11])
    fine, _, _ = paths(rng, 8, 100, 128 * PIXEL)
    return setup, render(fine, 128, rng, float(setup.psf.kernel_params[0]))[0]


def part_convergence(args) -> dict:
    """R-hat and ESS per region of a 128 x 128 x 100 movie at each sweep count, and the worst
    R-hat of perfectly mixing AR(1) chains over as many quantities."""
    import warnings

    import arviz as az

    from sptmotion.tracking.regions import track_field

    setup, adu = convergence_movie(args.seed)
    out = {"runs": [], "ar1": []}
    for sweeps in [int(v) for v in args.sweep_list.split(",")]:
        t0 = time.perf_counter()
        res = track_field(adu, setup, n_iterations=sweeps, n_chains=2, seed=args.seed,
                          workers=args.workers)  # fmt: skip
        wall = time.perf_counter() - t0
        rows = res.table.groupby("region").size()
        regions = [{"K": r["subframes"], "D": r["diagnostics"]["D"],
                    "positions": r["diagnostics"]["positions"],
                    "table_rows": int(rows.get(r["region"], 0))} for r in res.regions]  # fmt: skip
        out["runs"].append({"sweeps": sweeps, "wall_s": wall, "regions": regions})
        print(out["runs"][-1], flush=True)
    # perfectly mixing chains: AR(1) with the ESS the tracker's positions reach
    sim = np.random.default_rng(args.seed)
    for n_draw, phi in ((500, 0.9), (3000, 0.9), (500, 0.0)):
        e = sim.standard_normal((2, n_draw, 2000))
        x = np.empty_like(e)
        x[:, 0] = e[:, 0]
        for t in range(1, n_draw):
            x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi**2) * e[:, t]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = az.convert_to_inference_data({"q": x}).posterior
            rh, es = np.asarray(az.rhat(ds)["q"]), np.asarray(az.ess(ds)["q"])
        out["ar1"].append({"draws_per_chain": n_draw, "phi": phi, "quantities": 2000,
                           "median_ess": float(np.median(es)), "max_rhat": float(rh.max()),
                           "frac_over_1_01": float(np.mean(rh > 1.01))})  # fmt: skip
    return out


def write_convergence(out: dict, args) -> list[str]:
    lines = [
        "# Convergence diagnostics of the field tracker against the sweeps",
        "",
        "`benchmarks/bench_fullfield.py --part convergence`: a 128 x 128 x 100-frame movie of this "
        "benchmark's renderer (8 particles), `track_field` with 2 chains (half of each burn-in). "
        "Per region: K, R-hat and ESS of D, and of the positions the convergence warning reads "
        "(the worst over the exposure-mean coordinates present in every draw). The warning "
        "fires at R-hat > 1.01 or ESS < 100 for any of them.",
        "",
        "| sweeps | wall (s) | region | K | table rows | D: R-hat / ESS | positions: worst R-hat / least ESS |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for run in out["runs"]:
        for i, r in enumerate(run["regions"]):
            d, p = r["D"], r["positions"]
            lines.append(
                f"| {run['sweeps']} | {run['wall_s']:.0f} | {i} | {r['K']} | {r['table_rows']} | "
                f"{d['rhat']:.3f} / {d['ess']:.0f} | {p['rhat']:.3f} / {p['ess']:.0f} |"
            )
    lines += [
        "",
        "Chains that mix perfectly, as AR(1) processes (2 chains, 2000 quantities): the worst "
        "R-hat over many quantities exceeds 1.01 unless every one has an ESS in the hundreds.",
        "",
        "| draws per chain | AR coefficient | median ESS | worst R-hat | fraction over 1.01 |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a['draws_per_chain']} | {a['phi']} | {a['median_ess']:.0f} | "
              f"{a['max_rhat']:.3f} | {a['frac_over_1_01']:.3f} |" for a in out["ar1"]]  # fmt: skip
    return lines


#: Part calibration: (renderer, K of the tracker, planar, sweeps) per case; one Brownian
#: particle of :data:`CAL_D` µm²/s on 24 x 24 pixels, 40 frames, its number known (M = 1)
CAL_CASES = (
    ("own", 1, False, 1000),
    ("own", 1, False, 4000),
    ("own", 3, False, 1000),
    ("independent", 1, True, 1000),
    ("independent", 5, True, 1000),
)
CAL_D, CAL_SIZE, CAL_FRAMES = 0.174, 24, 40


def calibration_movie(renderer: str, K: int, planar: bool, seed: int):
    """One movie of the calibration part: setup (K), ADU and the true positions (N, 2) µm that
    the tracker's exposure-mean estimates (own renderer: the trapezoid mean of its K points;
    independent: the mean of this module's sub-frame points), and the frames inside."""
    from sptmotion import optics

    rng = np.random.default_rng([seed, 13])
    setup = setup_for(CAL_SIZE).replace(subframes=K)
    N, L = CAL_FRAMES, CAL_SIZE * PIXEL
    start = rng.uniform(0.35 * L, 0.65 * L, 2)
    if renderer == "own":
        dim = 2 if planar else 3
        t = setup.fine_times(N)
        steps = np.sqrt(2 * CAL_D * np.diff(t))[:, None] * rng.standard_normal((len(t) - 1, dim))
        X = np.cumsum(np.vstack([np.r_[start, np.zeros(dim - 2)], steps]), axis=0)
        X = np.c_[X, np.zeros(len(X))] if planar else X
        adu = optics.render(X[None], setup, rng=rng)
        w = optics.trapezoid_weights(K)
        truth = np.einsum("nka,k->na", X.reshape(N, K, 3), w)[:, :2]
    else:
        t = sub_times(N)
        steps = np.sqrt(2 * CAL_D * np.diff(t))[:, None] * rng.standard_normal((len(t) - 1, 2))
        fine = np.cumsum(np.vstack([start, steps]), axis=0).reshape(1, N, K_SUB, 2)
        adu, truth, _, _ = render(fine, CAL_SIZE, rng, float(setup.psf.kernel_params[0]), 0.0)
        truth = truth[0]
    inside = np.all((truth > 0) & (truth < L), axis=1)
    return setup, adu, truth, inside


def _calibration_run(case, seed: int) -> dict:
    from sptmotion.tracking import track_bayes

    renderer, K, planar, sweeps = case
    setup, adu, truth, inside = calibration_movie(renderer, K, planar, seed)
    # the own renderer with K = 1 puts one point per frame: no blur to model
    kw = {"blur_correction": False, "blur_psf": False} if renderer == "own" and K == 1 else {}
    t0 = time.perf_counter()
    post = track_bayes(adu, setup, n_emitters=1, subframes=K, n_iterations=sweeps, n_chains=2,
                       seed=seed, planar=planar, **kw)  # fmt: skip
    wall = time.perf_counter() - t0
    fs = post.frame_samples[:, :, 0, :, :2]
    lo, hi = post.credible_interval()
    hits = ((truth >= lo[0, :, :2]) & (truth <= hi[0, :, :2]))[inside]
    z = ((truth - fs.mean(axis=(0, 1))) / fs.std(axis=(0, 1)))[inside]
    d_sum = post.D_summary()
    return {"hits": hits.ravel().tolist(), "z": z.ravel().tolist(),
            "D_covered": bool(d_sum["lo"] <= CAL_D <= d_sum["hi"]), "D_median": float(np.median(post.D)),
            "position_ess": float(post.diagnostics()["positions"]["ess"]), "time_s": wall}  # fmt: skip


def part_calibration(args) -> dict:
    """Coverage of ``track_bayes``' 98% position intervals for one Brownian particle (M known)
    on movies of the tracker's own model (``optics.render``: what the sampler must get right)
    and of this module's renderer (what its approximations cost), ``--n`` movies per case."""
    from concurrent.futures import ThreadPoolExecutor

    out = {"cases": []}
    for case in [c for c in CAL_CASES if c[0] in args.renderers.split(",")]:
        with ThreadPoolExecutor(args.workers) as ex:
            runs = list(ex.map(_calibration_run, [case] * args.n, range(args.n)))
        hits = np.concatenate([r["hits"] for r in runs]).astype(float)
        movie = np.concatenate([[i] * len(r["hits"]) for i, r in enumerate(runs)])
        z = np.concatenate([r["z"] for r in runs])
        row = {"renderer": case[0], "K": case[1], "planar": case[2], "sweeps": case[3],
               "movies": len(runs), "coordinates": int(len(hits)),
               "coverage_98": float(hits.mean()), "se_movies": _cluster_se(hits, movie),
               "z_rms": float(np.sqrt(np.mean(z**2))),
               "gauss_coverage_98": float(np.mean(np.abs(z) < 2.3263)),
               "D_coverage_98": float(np.mean([r["D_covered"] for r in runs])),
               "D_median": float(np.median([r["D_median"] for r in runs])),
               "median_position_ess": float(np.median([r["position_ess"] for r in runs])),
               "median_time_s": float(np.median([r["time_s"] for r in runs]))}  # fmt: skip
        out["cases"].append(row)
        print(row, flush=True)
    return out


def write_calibration(out: dict, args) -> list[str]:
    lines = [
        "# Calibration of the position intervals: the tracker's own model and this renderer",
        "",
        f"`benchmarks/bench_fullfield.py --part calibration --n {args.n}`: one Brownian "
        f"particle (D {CAL_D} µm²/s, blur {np.sqrt(CAL_D * T_E / 3) * 1e3:.0f} nm rms per axis "
        f"over the exposure) on {CAL_SIZE} x {CAL_SIZE} pixels, {CAL_FRAMES} frames, the "
        "field's optics, photons and background, no blinking; `track_bayes(n_emitters=1)`, 2 "
        "chains, half of each burn-in. Own: `optics.render` with the tracker's K (K = 1: one "
        "point per frame, tracked without blur terms; 3D motion, 3D tracker). Independent: this "
        f"module's renderer ({K_SUB} equal-weight points per exposure at the midpoints of its "
        "equal parts, exact EM-gain draws), 2D "
        "motion, `planar=True`. Coverage of the 98% intervals of x and y over the frames whose "
        "exposure-mean lies in the ROI (SE with the movies as the units); z: error over the "
        "posterior sd.",
        "",
        "| renderer | K | sweeps | movies | coordinates | coverage | SE | rms z | +-2.33 sd | "
        "D 98% coverage | median D | median least position ESS | median time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in out["cases"]:
        lines.append(
            f"| {r['renderer']} | {r['K']} | {r['sweeps']} | {r['movies']} | {r['coordinates']} "
            f"| {r['coverage_98']:.4f} | {r['se_movies']:.4f} | {r['z_rms']:.3f} | "
            f"{r['gauss_coverage_98']:.4f} | {r['D_coverage_98']:.2f} | {r['D_median']:.3f} | "
            f"{r['median_position_ess']:.0f} | {r['median_time_s']:.1f} |"
        )
    return lines


def part_pooled(args) -> dict:
    """The field part's runs ``--stems`` (independent draws, e.g. ``--seed 0, 1, 2``) pooled:
    recall and precision over all their spots and detections, identity switches summed per
    tracker, and the Bayesian 98% coverage over all coordinates with its SE (each draw's
    particle-level SE; the draws independent)."""
    runs = [json.loads((RESULTS / f"{stem}.json").read_text()) for stem in args.stems.split(",")]
    out = {"stems": args.stems.split(","), "seeds": [r["args"]["seed"] for r in runs],
           "trackers": {}}  # fmt: skip
    for key in ("bayes_regions", "modular", "trackpy"):
        found = [r["visible_points"] * r[key]["recall"] for r in runs]
        detections = [f / r[key]["precision"] for f, r in zip(found, runs, strict=True)]
        out["trackers"][key] = {
            "recall": float(sum(found) / sum(r["visible_points"] for r in runs)),
            "precision": float(sum(found) / sum(detections)),
            "id_switches": int(sum(r[key]["id_switches"] for r in runs)),
            "id_switches_per_draw": [int(r[key]["id_switches"]) for r in runs],
        }
    b = [r["bayes_regions"] for r in runs]
    n = np.array([x["n_coverage"] for x in b], dtype=float)
    cov = np.array([x["coverage_98"] for x in b])
    se = np.array([x["coverage_se_particles"] for x in b])
    out["coverage_98"] = float(np.sum(cov * n) / n.sum())
    out["coverage_se"] = float(np.sqrt(np.sum((se * n) ** 2)) / n.sum())
    out["coverage_per_draw"] = cov.tolist()
    out["n_coverage"] = int(n.sum())
    groups = {}
    for x in b:
        for g in x.get("coverage_groups", []):
            k = (g["alpha"], g["shares_region"])
            t = groups.setdefault(k, [0, 0, 0])
            t[0] += g["particles"]
            t[1] += g["coordinates"]
            t[2] += g["misses"]
    out["coverage_groups"] = [{"alpha": a, "shares_region": sh, "particles": t[0],
                               "coordinates": t[1], "misses": t[2],
                               "coverage_98": 1 - t[2] / t[1]}
                              for (a, sh), t in sorted(groups.items())]  # fmt: skip
    return out


def write_pooled(out: dict, args) -> list[str]:
    names = {"bayes_regions": "Bayesian, regions, M unknown", "modular": "modular",
             "trackpy": "trackpy"}  # fmt: skip
    lines = [
        f"# Full field: {len(out['stems'])} draws pooled",
        "",
        f"`benchmarks/bench_fullfield.py --part pooled --stems {args.stems}` (seeds "
        f"{', '.join(str(s) for s in out['seeds'])}): the field part's runs pooled over their "
        "spots; identity switches summed.",
        "",
        "| tracker | recall | precision | ID switches (per draw) |",
        "|---|---|---|---|",
    ]
    for key, t in out["trackers"].items():
        lines.append(f"| {names[key]} | {t['recall']:.3f} | {t['precision']:.4f} | "
                     f"{t['id_switches']} ({', '.join(map(str, t['id_switches_per_draw']))}) |")  # fmt: skip
    lines += [
        "",
        f"Bayesian 98% intervals: coverage {out['coverage_98']:.4f} of {out['n_coverage']} "
        f"coordinates, SE {out['coverage_se']:.4f} (per draw "
        f"{', '.join(f'{c:.3f}' for c in out['coverage_per_draw'])}); 2 SE under 0.98 is "
        f"{0.98 - 2 * out['coverage_se']:.4f}.",
        "",
        "| true motion | shares its region | particles | coordinates | coverage | misses |",
        "|---|---|---|---|---|---|",
    ]
    for g in out["coverage_groups"]:
        motion = "BM" if g["alpha"] == 1.0 else f"FBM alpha {g['alpha']:g}"
        lines.append(f"| {motion} | {'yes' if g['shares_region'] else 'no'} | {g['particles']} | "
                     f"{g['coordinates']} | {g['coverage_98']:.3f} | {g['misses']} |")  # fmt: skip
    return lines


MIXING_CHILD = """
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import numpy as np
import bench_fullfield as bf
from sptmotion.tracking.bayes import track_bayes
from sptmotion.tracking.modular import track_modular
from sptmotion.tracking.regions import (concurrent_fraction, crop_setup, find_regions,
                                        predicted_blur, region_subframes)
seed, sweeps, n_seeds = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
setup, adu = bf.convergence_movie(seed)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    spots = track_modular(adu, setup, ci=0.98)
    regions, labels = find_regions(adu, setup, locs=spots)
    runs = []
    for i, g in enumerate(regions):
        blur = predicted_blur(spots, labels, g, setup, ci=0.98)
        conc = concurrent_fraction(spots, labels, g, setup)
        if region_subframes("auto", blur, conc, setup) != 1:
            continue
        sub = adu[g.t0 : g.t1, g.r0 : g.r1, g.c0 : g.c1]
        for c in range(1, n_seeds + 1):
            t0 = time.perf_counter()
            post = track_bayes(sub, crop_setup(setup, g), n_emitters=None, n_iterations=sweeps,
                               n_chains=2, seed=c, subframes=1)
            d = post.diagnostics()
            runs.append({"region": i, "chain_seed": c, "candidates": int(post.n_emitters),
                         "wall_s": time.perf_counter() - t0,
                         **{f"{k}_{q}": float(d[k][q]) for k in ("D", "log_posterior", "positions")
                            for q in ("rhat", "ess")}})
print(json.dumps({"runs": runs}))
"""


def part_mixing(args) -> dict:
    """The K = 1 regions of the convergence movie from several chain seeds, in this tree and
    in ``--before``: R-hat and ESS of D, the log-posterior and the positions."""
    from _trees import head, run_child, trees

    out = {"after_commit": head(), "before_commit": args.before, "trees": {}}
    here = str(Path(__file__).resolve().parent)
    with trees(args.before) as sources:
        for name, src in sources.items():
            res = run_child(MIXING_CHILD, src, here, str(args.seed), str(args.sweeps),
                            str(args.chain_seeds))  # fmt: skip
            out["trees"][name] = res["runs"]
            print(name, res["runs"], flush=True)
    return out


def write_mixing(out: dict, args) -> list[str]:
    trees_ = list(out["trees"])
    lines = [
        "# Mixing of the field tracker's K = 1 regions, over chain seeds",
        "",
        f"`benchmarks/bench_fullfield.py --part mixing --sweeps {args.sweeps} --chain-seeds "
        f"{args.chain_seeds} --before {args.before}`: the K = 1 regions of the convergence "
        "part's 128 x 128 x 100 movie, each tracked by `track_bayes` (unknown M, 2 chains, "
        f"{args.sweeps} sweeps, half burn-in) from chain seeds 1..{args.chain_seeds}, in "
        f"this tree ({out['after_commit']}) and in {args.before}, each tree in a fresh "
        "process. ESS: bulk, ArviZ, both chains; positions: the worst over the coordinates "
        "present in every draw.",
        "",
        "| region | candidates | tree | D: R-hat / ESS per seed | log-posterior ESS per seed "
        "| positions: worst R-hat / least ESS per seed | mean ESS: D, log-posterior, positions |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    regions = sorted({r["region"] for r in out["trees"][trees_[0]]})
    for i in regions:
        for t in trees_:
            rs = [r for r in out["trees"][t] if r["region"] == i]
            d = ", ".join(f"{r['D_rhat']:.3f} / {r['D_ess']:.0f}" for r in rs)
            lp = ", ".join(f"{r['log_posterior_ess']:.0f}" for r in rs)
            pos = ", ".join(f"{r['positions_rhat']:.3f} / {r['positions_ess']:.0f}" for r in rs)
            means = [np.mean([r[k] for r in rs])
                     for k in ("D_ess", "log_posterior_ess", "positions_ess")]  # fmt: skip
            lines.append(f"| {i} | {rs[0]['candidates']} | {t} | {d} | {lp} | {pos} | "
                         + ", ".join(f"{v:.0f}" for v in means) + " |")  # fmt: skip
    return lines


def part_analyze(args) -> dict:
    """``sptmotion analyze movie.tif`` (no --emitters) on the field movie, run as a user would;
    its Bayesian tracks matched to the true particles, their verdicts and alpha intervals."""
    import shutil
    import subprocess
    import sys
    import tempfile

    import pandas as pd

    from sptmotion import optics

    setup, adu, truth, visible, alpha, _, _ = _field_movie(args)
    keep = RESULTS / ("analyze" if args.size == 256 else f"analyze_{args.size}")
    with tempfile.TemporaryDirectory() as tmp:
        tif = Path(tmp) / "field.tif"
        optics.write_movie(tif, adu, setup)
        rep = Path(tmp) / "report"
        cmd = [sys.executable, "-m", "sptmotion", "analyze", str(tif), "-o", str(rep),
               "--iterations", str(args.sweeps), "--seed", str(args.seed), "--quiet"]  # fmt: skip
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if run.returncode != 0:
            raise SystemExit(f"analyze failed ({run.returncode}): {run.stderr[-2000:]}")
        res = pd.read_csv(rep / "results.csv")
        tracks = pd.read_csv(rep / "tracks.csv")
        summary = json.loads((rep / "summary.json").read_text())
        html = (rep / "report.html").read_text()
        n_figures = html.count("<img")
        if keep.exists():
            shutil.rmtree(keep)
        keep.mkdir(parents=True)
        for name in ("results.csv", "tracks.csv", "figures/movie_overlay.png",
                     "figures/n_emitters.png"):  # fmt: skip
            shutil.copy(rep / name, keep / Path(name).name)
    bayes = res[res["tracker"] == "bayes"].set_index("particle")
    tb = tracks[tracks["tracker"] == "bayes"]
    rows = []
    for pid, g in tb.groupby("particle"):
        f = g["frame"].to_numpy(dtype=int)
        xy = g[["x", "y"]].to_numpy()
        d = np.full(len(truth), np.inf)
        for i in range(len(truth)):
            ok = visible[i, f]
            if ok.sum() >= 0.5 * len(f):
                d[i] = np.linalg.norm(xy[ok] - truth[i, f[ok]], axis=1).mean()
        i = int(np.argmin(d))
        r = bayes.loc[pid]
        rows.append({
            "particle": int(pid), "true": i if np.isfinite(d[i]) and d[i] < 0.1 else -1,
            "frames": len(f), "true_model": "bm" if alpha[i] == 1.0 else "fbm",
            "true_alpha": float(alpha[i]), "mle_best": r["mle_best"],
            "mle_alpha": r["mle_alpha"], "mle_alpha_lo": r["mle_alpha_lo"],
            "mle_alpha_hi": r["mle_alpha_hi"], "learned_verdict": r["learned_verdict"],
            "alpha_post": r["alpha_post"], "error": r["error"] if isinstance(r["error"], str) else "",
        })  # fmt: skip
    tab = pd.DataFrame(rows)
    ok = tab[(tab["true"] >= 0) & (tab["error"] == "") & tab["mle_alpha"].notna()]
    covered = (ok["mle_alpha_lo"] <= ok["true_alpha"]) & (ok["true_alpha"] <= ok["mle_alpha_hi"])
    post = summary["bayes"]["n_emitters_posterior"]
    out = {
        "wall_s": wall, "command": " ".join(["sptmotion", "analyze", "field.tif", "-o", "report", *cmd[7:]]),
        "timing_s": summary.get("timing_s"), "n_regions": summary["bayes"].get("n_regions"),
        "M_mode": int(max(post, key=lambda k: (post[k], -int(k)))), "true_M": int(visible.any(axis=1).sum()),
        "n_bayes_tracks": int(len(bayes)), "n_modular_tracks": int((res["tracker"] == "modular").sum()),
        "n_matched": int((tab["true"] >= 0).sum()), "n_analyzed": int(len(ok)),
        "n_figures": n_figures, "n_warnings": len(summary.get("warnings") or []),
        "verdicts": pd.crosstab(ok["true_model"], ok["mle_best"]).to_dict(orient="index"),
        "mle_right": float((ok["mle_best"] == ok["true_model"]).mean()) if len(ok) else None,
        "alpha_mae": float((ok["mle_alpha"] - ok["true_alpha"]).abs().mean()) if len(ok) else None,
        "alpha_coverage_95": float(covered.mean()) if len(ok) else None,
        "tracks": rows,
    }  # fmt: skip
    print({k: v for k, v in out.items() if k != "tracks"}, flush=True)
    return out


def write_analyze(out: dict, args) -> list[str]:
    lines = [
        f"# `sptmotion analyze` without --emitters on the {args.size} x {args.size} x "
        f"{args.frames}-frame field ({args.particles} particles)",
        "",
        f"Command: `{out['command']}` (the movie of `--part field`, written as TIFF + sidecar). "
        f"Wall time {out['wall_s']:.0f} s on 2 cores (stages: {out['timing_s']}); "
        f"{out['n_regions']} regions; posterior mode of M {out['M_mode']} (true {out['true_M']}); "
        f"{out['n_bayes_tracks']} Bayesian tracks ({out['n_matched']} matched to a true particle "
        f"within 0.1 µm), {out['n_modular_tracks']} modular tracks; report with "
        f"{out['n_figures']} figures and {out['n_warnings']} convergence warnings.",
        "",
        f"Matched Bayesian tracks fitted on their own localizations ({out['n_analyzed']}): "
        f"likelihood verdict right {out['mle_right']:.3f}, alpha MAE {out['alpha_mae']:.3f}, "
        f"95% alpha intervals cover {out['alpha_coverage_95']:.3f}. Verdicts (true model -> "
        f"mle_best counts): {out['verdicts']}.",
        "",
        "Files in `analyze/`: `results.csv`, `tracks.csv`, `movie_overlay.png`, `n_emitters.png`.",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--part",
        choices=(
            "m",
            "crowded",
            "field",
            "analyze",
            "convergence",
            "mixing",
            "calibration",
            "pooled",
        ),
        required=True,
    )
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--particles", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--sweeps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--planar", action="store_true",
                    help="motion in the focal plane (parts m and field)")  # fmt: skip
    ap.add_argument(
        "--subframes",
        default="auto",
        help="part field: sub-frame positions K per region, a number or 'auto'",
    )
    ap.add_argument("--save-table", default=None, help="part field: write the Bayesian table here")
    ap.add_argument("--emitter-d-sd", type=float, default=0.0,
                    help="parts m, field: track_bayes' emitter_D_sd (0: one D per region; "
                    "ln(10)/2 = 1.1513 for each emitter's own D)")  # fmt: skip
    ap.add_argument("--sweep-list", default="1000,6000", help="part convergence: sweep counts")
    ap.add_argument("--chain-seeds", type=int, default=4, help="part mixing: seeds per region")
    ap.add_argument("--before", default="HEAD~1", help="part mixing: the commit compared")
    ap.add_argument("--stems", default="field_session29,field_session29_seed1,field_session29_seed2",
                    help="part pooled: the field runs' result stems")  # fmt: skip
    ap.add_argument("--renderers", default="own,independent",
                    help="part calibration: the cases' renderers")  # fmt: skip
    ap.add_argument("--stem", default=None, help="name of the result files (default the part's)")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "2")
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    with threadpool_limits(2):
        part, write = {"m": (part_m, write_m), "crowded": (part_crowded, write_crowded),
                       "field": (part_field, write_field),
                       "analyze": (part_analyze, write_analyze),
                       "convergence": (part_convergence, write_convergence),
                       "mixing": (part_mixing, write_mixing),
                       "calibration": (part_calibration, write_calibration),
                       "pooled": (part_pooled, write_pooled)}[args.part]  # fmt: skip
        out = part(args)
        lines = write(out, args)
    out["args"] = vars(args)
    out["wall_s"] = time.perf_counter() - t0
    out["machine"] = platform.processor() or platform.machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = (
        args.part
        if args.part in ("m", "crowded", "convergence", "mixing", "calibration", "pooled")
        or args.size == 256
        else f"{args.part}_{args.size}"
    )
    stem += "_planar" if args.planar else ""
    stem = args.stem or stem
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=2, default=float))
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
