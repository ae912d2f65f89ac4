"""Alpha, D and sigma from camera-recorded tracks: motion blur and localization noise.

Tracks come from this file's own simulator, not from sptmotion's samplers or covariance
formulas: BM as a Gaussian random walk on a fine grid (60 sub-steps per frame) integrated over
each exposure ``[n·dt, n·dt + t_E]`` by the trapezoid rule, as a camera integrates light; FBM as
exact Gaussian draws whose covariance is the defining exposure double integral of the FBM
covariance taken by adaptive quadrature (``scipy.integrate.quad``); then white Gaussian
localization noise. The fit never sees sigma.

Grid (2D, D = 0.1 µm²/s^alpha, dt = 33 ms): T = 50, 100, 500 points; alpha in 0.2, 0.3, 0.5,
0.8, BM (alpha 1), 1.2, 1.5, 1.6; exposure t_E = 0.5 dt and 0.9 dt; sigma = 10, 30, 50 nm;
``--n`` tracks per cell (200).

Per cell, side by side in the same run:

- **sptmotion** (:func:`sptmotion.motion.fit_measured`, FBM, sigma estimated): mean bias of
  alpha with its standard error, 95% profile-likelihood interval coverage with its binomial
  standard error, sigma and D (median ratio to the truth);
- **naive**: today's FBM MLE without blur and with sigma = 0 (``MODELS["fbm"].fit``), Wald
  interval ``alpha ± 1.96 se``;
- BM cells: D from the BM fit, and the CVE estimator of Vestergaard, Blainey & Flyvbjerg (2014)
  (``D = <Δx²>/(2dt) + <Δx_n Δx_{n+1}>/dt``, blur coefficient ``R = t_E/(6 dt)``) as the peer;
- model selection with BM as the null (:func:`sptmotion.motion.select_measured`, 5% level): the
  rate at which BM tracks are called non-BM (all BM cells), and FBM alpha 0.3 and 1.5 called
  ``fbm`` at T = 100, with sigma unknown (the default) and with sigma given (the oracle that
  shows what the unknown noise costs).

Acceptance (cells with SNR = sqrt(D dt^alpha)/sigma >= 1): |bias| <= 0.05 and coverage in
[0.93, 0.97] (a cell "within 2 SE" when its coverage is within two binomial standard errors of
that band, or its |bias| within two standard errors of 0.05; the median error is reported
beside the mean's); sigma within 20% (median) at T = 100; BM called non-BM <= 5%; FBM 0.3 and 1.5 called
fbm >= 90% at T = 100.

Run: ``.venv/bin/python benchmarks/bench_measured.py [--n 200] [--workers 2] [--tag NAME]``.
Writes ``benchmarks/results/measured/measured<tag>.md``, ``.csv`` and ``.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from functools import lru_cache  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.linalg import toeplitz  # noqa: E402

from sptmotion.motion import MODELS, fit_measured, select_measured  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "measured"
D_TRUE = 0.1
DT = 0.033
SUBSTEPS = 60  # fine grid points per frame period
ALPHAS = (0.2, 0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 1.6)
LENGTHS = (50, 100, 500)
RATIOS = (0.5, 0.9)
SIGMAS = (0.010, 0.030, 0.050)
Z95 = 1.959963984540054


# ----------------------------------------------------------------------------------------
# independent camera simulator
# ----------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _blurred_fgn_chol(alpha: float, n_inc: int, ratio: float) -> np.ndarray:
    """Cholesky factor of the exposure-averaged FBM increment covariance (unit D, dt = 1).

    Entry ``k`` of the Toeplitz covariance is the defining double integral
    ``(1/r²)∫∫ g(k + u − v) du dv`` over ``u, v`` in ``[0, r]``, taken as the triangle-weighted
    single integral by adaptive quadrature (``scipy.integrate.quad``, break points at the kinks of
    ``g(τ) = |τ+1|^α + |τ−1|^α − 2|τ|^α``).
    """
    a, r = alpha, ratio

    def g(tau):
        return abs(tau + 1) ** a + abs(tau - 1) ** a - 2 * abs(tau) ** a

    acov = np.empty(n_inc)
    for k in range(n_inc):
        pts = [p for p in (-k - 1.0, -k, 1.0 - k) if -r < p < r]
        acov[k] = quad(
            lambda s, k=k: (r - abs(s)) / r**2 * g(k + s),
            -r,
            r,
            points=pts or None,
            limit=400,
            epsabs=1e-14,
            epsrel=1e-12,
        )[0]
    return np.linalg.cholesky(toeplitz(acov))


def camera_tracks(alpha, n, T, ratio, sigma, rng, dim=2):
    """``(n, T, dim)`` positions (µm): motion averaged over each exposure, plus noise.

    BM: a Gaussian random walk on a fine grid (60 sub-steps per frame) integrated over the
    exposure by the trapezoid rule, as a camera integrates light. FBM: exact Gaussian draws with
    the covariance of :func:`_blurred_fgn_chol` (a fine-grid FBM converges to the exposure
    average only like h^alpha: at alpha 0.2, 60 sub-steps leave the step variance 2% off).
    """
    if alpha != 1.0:
        c = _blurred_fgn_chol(alpha, T - 1, ratio) * np.sqrt(D_TRUE * DT**alpha)
        inc = np.einsum("ij,njd->nid", c, rng.standard_normal((n, T - 1, dim)))
        Y = np.zeros((n, T, dim))
        np.cumsum(inc, axis=1, out=Y[:, 1:])
        return Y + sigma * rng.standard_normal(Y.shape)
    h = DT / SUBSTEPS
    n_fine = T * SUBSTEPS
    inc = rng.standard_normal((n * dim, n_fine)) * np.sqrt(2 * D_TRUE * h)
    pos = np.zeros((n * dim, n_fine + 1))
    np.cumsum(inc, axis=1, out=pos[:, 1:])
    e = int(round(ratio * SUBSTEPS))  # exposure covers e sub-steps from the frame start
    starts = np.arange(T) * SUBSTEPS
    w = np.ones(e + 1)
    w[0] = w[-1] = 0.5
    w /= e
    idx = starts[:, None] + np.arange(e + 1)[None, :]
    Y = np.einsum("rtk,k->rt", pos[:, idx], w)
    Y = Y.reshape(n, dim, T).transpose(0, 2, 1)
    return Y + sigma * rng.standard_normal(Y.shape)


def cve_D(X, ratio):
    """Covariance-based estimator of D (Vestergaard et al. 2014), per track, averaged over axes."""
    dx = np.diff(X, axis=1)
    m2 = np.mean(dx**2, axis=(1, 2))
    m11 = np.mean(dx[:, 1:] * dx[:, :-1], axis=(1, 2))
    return m2 / (2 * DT) + m11 / DT


# ----------------------------------------------------------------------------------------
# one job: (T, ratio, alpha), all sigmas
# ----------------------------------------------------------------------------------------
def run_job(args):
    T, ratio, alpha, n, seed = args
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    exposure = ratio * DT
    X = np.concatenate([camera_tracks(alpha, n, T, ratio, s, rng) for s in SIGMAS])
    sig = np.repeat(SIGMAS, n)
    fbm = fit_measured(X, DT, "fbm", exposure=exposure)
    naive = MODELS["fbm"].fit(X, DT)
    rows = []
    select_cell = alpha == 1.0 or (T == 100 and alpha in (0.3, 1.5))
    if select_cell:
        sel = select_measured(X, DT, exposure=exposure, fits={"fbm": fbm})
        bmfit = fit_measured(X, DT, "bm", exposure=exposure)
        cve = cve_D(X, ratio)
    for s in SIGMAS:
        k = sig == s
        a = fbm["alpha"].to_numpy()[k]
        lo = fbm["alpha_lo"].to_numpy()[k]
        hi = fbm["alpha_hi"].to_numpy()[k]
        cov = (lo <= alpha) & (hi >= alpha)
        an = naive["alpha"].to_numpy()[k]
        ase = naive["alpha_se"].to_numpy()[k]
        cov_n = (an - Z95 * ase <= alpha) & (an + Z95 * ase >= alpha)
        row = {
            "T": T,
            "exposure_ratio": ratio,
            "alpha": alpha,
            "sigma_nm": round(1000 * s),
            "snr": float(np.sqrt(D_TRUE * DT**alpha) / s),
            "n": int(k.sum()),
            "bias": float(np.nanmean(a) - alpha),
            "bias_se": float(np.nanstd(a, ddof=1) / np.sqrt(k.sum())),
            "median_error": float(np.nanmedian(a) - alpha),
            "coverage": float(np.mean(cov)),
            "coverage_se": float(
                np.sqrt(max(np.mean(cov) * (1 - np.mean(cov)), 0.95 * 0.05) / k.sum())
            ),
            "width": float(np.nanmean(hi - lo)),
            "sigma_ratio_median": float(np.nanmedian(fbm["sigma"].to_numpy()[k]) / s),
            "sigma_ratio_mean": float(np.nanmean(fbm["sigma"].to_numpy()[k]) / s),
            "sigma_coverage": float(
                np.mean((fbm["sigma_lo"].to_numpy()[k] <= s) & (fbm["sigma_hi"].to_numpy()[k] >= s))
            ),
            "D_ratio_median": float(np.nanmedian(fbm["D"].to_numpy()[k]) / D_TRUE),
            "naive_bias": float(np.nanmean(an) - alpha),
            "naive_coverage": float(np.mean(cov_n)),
        }
        if select_cell:
            best = sel["best"].to_numpy()[k]
            row["called_non_bm"] = float(np.mean(best != "bm"))
            row["called_fbm"] = float(np.mean(best == "fbm"))
        if alpha == 1.0:
            row["bm_D_ratio_median"] = float(np.nanmedian(bmfit["D"].to_numpy()[k]) / D_TRUE)
            bmD = bmfit["D"].to_numpy()[k]
            row["bm_D_rel_rmse"] = float(np.sqrt(np.nanmean((bmD / D_TRUE - 1) ** 2)))
            c = cve[k]
            row["cve_D_ratio_median"] = float(np.median(c) / D_TRUE)
            row["cve_D_rel_rmse"] = float(np.sqrt(np.mean((c / D_TRUE - 1) ** 2)))
            bl, bh = bmfit["D_lo"].to_numpy()[k], bmfit["D_hi"].to_numpy()[k]
            row["bm_D_coverage"] = float(np.mean((bl <= D_TRUE) & (bh >= D_TRUE)))
        if select_cell and alpha != 1.0:
            # oracle: sigma given to the fits
            Xk = X[k]
            sel_o = select_measured(Xk, DT, exposure=exposure, sigma_loc=s)
            row["called_fbm_sigma_known"] = float(np.mean(sel_o["best"] == "fbm"))
            # the most powerful single test: FBM vs BM at 5%, sigma unknown
            row["fbm_test_alone_rejects"] = float(np.mean(sel["pvalue_fbm"].to_numpy()[k] < 0.05))
        rows.append(row)
    return rows, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="tracks per cell")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    jobs = []
    for i, (T, r, a) in enumerate((T, r, a) for T in lengths for r in RATIOS for a in ALPHAS):
        seed = int(np.random.SeedSequence([args.seed, i]).generate_state(1)[0])
        jobs.append((T, r, a, args.n, seed))
    jobs.sort(key=lambda j: -j[0])  # long tracks first (balance the workers)
    t0 = time.time()
    rows, cpu = [], 0.0
    with ProcessPoolExecutor(args.workers) as ex:
        for rr, c in ex.map(run_job, jobs):
            rows += rr
            cpu += c
            print(
                f"{rr[0]['T']:4d} r={rr[0]['exposure_ratio']} alpha={rr[0]['alpha']}: "
                f"bias {rr[1]['bias']:+.3f} cov {rr[1]['coverage']:.3f} ({c:.0f} CPU-s)",
                flush=True,
            )
    df = pd.DataFrame(rows).sort_values(["T", "exposure_ratio", "alpha", "sigma_nm"])
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"measured{args.tag}"
    df.to_csv(stem.with_suffix(".csv"), index=False)
    meta = {
        "n_per_cell": args.n,
        "seed": args.seed,
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round(cpu, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "cells": rows}, indent=1))
    stem.with_suffix(".md").write_text(report(df, meta))
    print(report(df, meta))


def _fmt(v, spec):
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def report(df: pd.DataFrame, meta: dict) -> str:
    ok = df["snr"] >= 1
    lo_b, hi_b = 0.93, 0.97
    within = (df["coverage"] >= lo_b - 2 * df["coverage_se"]) & (
        df["coverage"] <= hi_b + 2 * df["coverage_se"]
    )
    strict = (df["coverage"] >= lo_b) & (df["coverage"] <= hi_b)
    bias_ok = df["bias"].abs() <= 0.05
    bias_2se = df["bias"].abs() - 2 * df["bias_se"] <= 0.05
    med_ok = df["median_error"].abs() <= 0.05 if "median_error" in df else None
    L = [
        "# Alpha through the measurement model (blur + localization noise)",
        "",
        f"Generated by `benchmarks/bench_measured.py` (independent camera simulator, {meta['n_per_cell']} "
        f"2D tracks per cell, D = {D_TRUE} µm²/s^alpha, dt = {DT} s, seed {meta['seed']}; "
        f"{meta['wall_s']} s wall, {meta['cpu_s']} CPU-s).",
        "",
        "## Acceptance summary (cells with SNR = sqrt(D dt^alpha)/sigma >= 1)",
        "",
        f"- cells: {int(ok.sum())} of {len(df)} have SNR >= 1",
        f"- |bias of alpha| <= 0.05: {int((bias_ok & ok).sum())} / {int(ok.sum())} "
        f"(largest |bias| {df.loc[ok, 'bias'].abs().max():.3f}; naive fit: largest "
        f"{df.loc[ok, 'naive_bias'].abs().max():.3f}); within 2 SE of it: "
        f"{int((bias_2se & ok).sum())} / {int(ok.sum())}; per T: "
        + ", ".join(
            f"{T} points {int((bias_ok & ok & (df['T'] == T)).sum())} / {int((ok & (df['T'] == T)).sum())}"
            for T in sorted(df["T"].unique())
        ),
        f"- 95% coverage in [0.93, 0.97]: {int((strict & ok).sum())} / {int(ok.sum())}; within 2 binomial SE "
        f"of that band: {int((within & ok).sum())} / {int(ok.sum())}; pooled coverage "
        f"{df.loc[ok, 'coverage'].mean():.4f} (naive fit {df.loc[ok, 'naive_coverage'].mean():.3f})",
    ]
    if med_ok is not None:
        L.append(
            f"- |median error of alpha| <= 0.05: {int((med_ok & ok).sum())} / {int(ok.sum())} "
            f"(largest {df.loc[ok, 'median_error'].abs().max():.3f})"
        )
    t100 = ok & (df["T"] == 100)
    sr = df.loc[t100, "sigma_ratio_median"]
    L.append(
        f"- sigma at T = 100 (median estimate / truth): {sr.min():.2f} to {sr.max():.2f}; within 20% in "
        f"{int(((sr - 1).abs() <= 0.2).sum())} / {len(sr)} cells"
    )
    if "sigma_coverage" in df:
        ident = t100 & (df["snr"] <= 5)
        sr5 = df.loc[ident, "sigma_ratio_median"]
        L.append(
            f"- sigma at T = 100 where the noise is at least a fifth of a step (SNR <= 5): within "
            f"20% in {int(((sr5 - 1).abs() <= 0.2).sum())} / {len(sr5)} cells; 95% interval of "
            f"sigma covers the truth in {df.loc[t100, 'sigma_coverage'].mean():.3f} of the tracks "
            f"(cells from {df.loc[t100, 'sigma_coverage'].min():.3f}; SNR > 5: "
            f"{df.loc[t100 & (df['snr'] > 5), 'sigma_coverage'].mean():.3f})"
        )
    bm = df[df["alpha"] == 1.0]
    if "called_non_bm" in bm:
        n_tot = bm["n"].sum()
        rate = float((bm["called_non_bm"] * bm["n"]).sum() / n_tot)
        L.append(
            f"- BM called non-BM (5% level): pooled {rate:.4f} ± {np.sqrt(0.05 * 0.95 / n_tot):.4f} over "
            f"{n_tot} tracks; per cell {bm['called_non_bm'].min():.3f} to {bm['called_non_bm'].max():.3f}"
        )
    sel = df[(df["T"] == 100) & df["alpha"].isin([0.3, 1.5])]
    if "called_fbm" in sel:
        for a in (0.3, 1.5):
            s = sel[sel["alpha"] == a]
            L.append(
                f"- FBM alpha {a} at T = 100 called fbm: "
                + ", ".join(
                    f"{r.called_fbm:.2f} (t_E {r.exposure_ratio} dt, {r.sigma_nm} nm, SNR {r.snr:.1f}; "
                    f"sigma known {r.called_fbm_sigma_known:.2f}; FBM test alone {r.fbm_test_alone_rejects:.2f})"
                    for r in s.itertuples()
                )
            )
    L += [
        "",
        "## All cells",
        "",
        "bias ± SE, median error and coverage ± SE of the sptmotion fit (FBM, sigma estimated); "
        "naive = FBM MLE without blur and with sigma = 0; sigma and D as median estimate / truth.",
        "",
        "| T | t_E/dt | alpha | sigma nm | SNR | bias | median error | coverage | width | sigma ratio | D ratio | naive bias | naive cov |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in df.itertuples():
        flag = "" if r.snr >= 1 else " (SNR<1)"
        L.append(
            f"| {r.T} | {r.exposure_ratio} | {r.alpha} | {r.sigma_nm} | {r.snr:.2f}{flag} | "
            f"{r.bias:+.3f} ± {r.bias_se:.3f} | {_fmt(getattr(r, 'median_error', None), '+.3f')} | "
            f"{r.coverage:.3f} ± {r.coverage_se:.3f} | {r.width:.2f} | "
            f"{r.sigma_ratio_median:.2f} | {r.D_ratio_median:.2f} | {r.naive_bias:+.3f} | {r.naive_coverage:.2f} |"
        )
    if "bm_D_ratio_median" in df:
        L += [
            "",
            "## BM: D from the BM fit vs the CVE peer; selection",
            "",
            "| T | t_E/dt | sigma nm | D ratio (fit) | D rel. RMSE (fit) | D 95% coverage (fit) | D ratio (CVE) | D rel. RMSE (CVE) | called non-BM |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in bm.itertuples():
            L.append(
                f"| {r.T} | {r.exposure_ratio} | {r.sigma_nm} | {r.bm_D_ratio_median:.3f} | {r.bm_D_rel_rmse:.3f} | "
                f"{r.bm_D_coverage:.3f} | {r.cve_D_ratio_median:.3f} | {r.cve_D_rel_rmse:.3f} | {r.called_non_bm:.3f} |"
            )
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
