"""How much too narrow the EMCCD Gamma model makes a spot's position interval.

The Bayesian tracker's fast EMCCD likelihood (``EMCCDGamma``, Hendrix, Xu & Pressé 2025) takes
the offset-subtracted signal as ``Gamma(shape = u/2, scale = 2 G/phi)``: the mean and variance
of the high-gain EM register, not its distribution. The field benchmark's renderer (and a real
EM register at high gain, read noise aside) draws the compound Poisson-Gamma: ``n ~ Poisson(u)``
photoelectrons, then ``Gamma(n, G/phi)`` ADU. Under such a misspecified model the posterior of
a position has the variance ``1 / H`` (the model's information) while the estimate scatters
with the sandwich variance ``J / H^2`` (``J``: the variance of the model's score under the
true data). This script computes, per pixel at ``u`` expected photons, ``H(u) = psi'(u/2)/4``
exactly and ``J(u)`` by Monte Carlo, then for a spot of the field benchmark (and a dimmer one)
the ratio ``sqrt(sum g^2 J / sum g^2 H)`` over its pixels (``g = du/dx``): the factor by which
the errors exceed the posterior sd, and the 98% coverage it leaves (normal posterior, the
model otherwise right).

    .venv/bin/python benchmarks/gamma_sandwich.py      # ~3 s

Writes ``benchmarks/results/pgn_table/gamma_sandwich.{md,json}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fullfield import BG, PHOTONS, PIXEL, setup_for  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "pgn_table"
#: The field benchmark's in-focus PSF sigma (µm)
SIGMA = float(setup_for(32).psf.kernel_params[0])
DRAWS = 400_000


def score_moments(u: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """``H``, ``J`` and the mean of the Gamma model's score in ``u`` under Poisson-Gamma data
    (unit ADU scale; the scale cancels)."""
    n = rng.poisson(u, DRAWS)
    # the model has no mass at w = 0, which Poisson-Gamma data hold with probability e^-u (the
    # tracker refuses such pixels): the levels start at 5 photons, P = 0.007
    w = rng.gamma(np.maximum(n, 1), 1.0)[n > 0]
    score = 0.5 * (np.log(w) - special.digamma(u / 2) - np.log(2.0))
    return 0.25 * float(special.polygamma(1, u / 2)), float(np.var(score)), float(score.mean())


def spot_ratio(photons: float, bg: float, table: tuple, x0: float = 0.0) -> float:
    """``sqrt(sum g^2 J / sum g^2 H)`` over the pixels of a spot centred ``x0`` µm from a
    pixel centre (x direction), with ``H`` and ``J`` interpolated in ``table``."""
    uu, hh, jj = table
    edges = (np.arange(-8, 9) - 0.5) * PIXEL
    s2 = np.sqrt(2.0) * SIGMA
    fx = 0.5 * (special.erf((edges[1:] - x0) / s2) - special.erf((edges[:-1] - x0) / s2))
    gx = np.exp(-(((edges[:-1] - x0) / s2) ** 2)) - np.exp(-(((edges[1:] - x0) / s2) ** 2))
    gx /= np.sqrt(np.pi) * s2
    fy = 0.5 * (special.erf(edges[1:] / s2) - special.erf(edges[:-1] / s2))
    u = bg + photons * fy[:, None] * fx[None, :]
    g2 = (photons * fy[:, None] * gx[None, :]) ** 2
    h = np.interp(np.log(u), np.log(uu), hh)
    j = np.interp(np.log(u), np.log(uu), jj)
    return float(np.sqrt(np.sum(g2 * j) / np.sum(g2 * h)))


def main() -> dict:
    rng = np.random.default_rng(20261207)
    levels = np.geomspace(5.0, 2000.0, 49)
    rows = [score_moments(float(u), rng) for u in levels]
    table = (levels, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    z = stats.norm.ppf(0.99)
    out = {"pixels": [], "spots": []}
    for u in (5.0, 10.0, 20.0, 50.0, 200.0, 1000.0):
        h, j, m = score_moments(u, rng)
        out["pixels"].append({"u": u, "H": h, "J": j, "ratio": float(np.sqrt(j / h)),
                              "mean_score": m})  # fmt: skip
    for photons, bg, what in ((PHOTONS, BG, "field benchmark"), (PHOTONS / 2, BG / 2, "dimmer")):
        for x0 in (0.0, 0.25 * PIXEL, 0.5 * PIXEL):
            r = spot_ratio(photons, bg, table, x0)
            out["spots"].append({"what": what, "photons": photons, "bg": bg, "x0_um": x0,
                                 "ratio": r, "coverage_98": float(2 * stats.norm.cdf(z / r) - 1)})  # fmt: skip
    lines = [
        "# EMCCD Gamma model against Poisson-Gamma data: the sandwich factor",
        "",
        "`benchmarks/gamma_sandwich.py`: per pixel, the Gamma model's information `H` in the "
        "expected photons `u` and the variance `J` of its score under compound Poisson-Gamma "
        f"data ({DRAWS} draws); per spot (sigma {SIGMA:.4f} µm, pixel {PIXEL} µm), the factor by "
        "which position errors exceed the posterior sd and the 98% coverage it leaves.",
        "",
        "| u (photons) | H | J | sqrt(J/H) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {p['u']:g} | {p['H']:.5f} | {p['J']:.5f} | {p['ratio']:.4f} |"
              for p in out["pixels"]]  # fmt: skip
    lines += ["", "| spot | photons | background | centre off pixel (µm) | sqrt(J/H) | 98% coverage |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {s['what']} | {s['photons']:g} | {s['bg']:g} | {s['x0_um']:.3f} | "
              f"{s['ratio']:.4f} | {s['coverage_98']:.4f} |" for s in out["spots"]]  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gamma_sandwich.json").write_text(json.dumps(out, indent=2))
    (RESULTS / "gamma_sandwich.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    main()
