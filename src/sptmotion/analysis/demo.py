"""The demo: an FBM and a BM particle in one rendered movie, analyzed end to end."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .movie import analyze_movie
from .output import result_line
from .pretrained import LearnedModels, load_models

__all__ = ["demo_movie", "run_demo"]


def _demo_tracks(setup, n_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Fine-grid tracks (2, N*K, 3) µm of an FBM (alpha 0.5) and a BM particle inside the ROI.

    Both have D = 0.05 µm²/s (Dα in µm²/s^alpha for FBM), z from the same model scaled by 0.3
    (a particle near the focal plane). Draws are repeated until both particles stay 0.4 µm
    inside the ROI and at least 1 µm apart (a movie a tracker with M = 2 can follow; the
    conditioning is mild: the RMS lateral displacement over the movie is ~0.4 µm).
    """
    from ..motion import MODELS

    specs = [
        {"model": "fbm", "alpha": 0.5, "D": 0.05, "start": (1.25, 2.13)},
        {"model": "bm", "alpha": 1.0, "D": 0.05, "start": (3.0, 2.13)},
    ]
    t = setup.fine_times(n_frames)
    w, h = setup.roi_size
    for _ in range(1000):
        parts = []
        for sp in specs:
            kw = {"D": sp["D"]} if sp["model"] == "bm" else {"alpha": sp["alpha"], "D": sp["D"]}
            X, _ = MODELS[sp["model"]](**kw).sample(1, 0, dim=3, rng=rng, times=t)
            X = X[0]
            X[:, 2] *= 0.3
            X[:, :2] += sp["start"]
            parts.append(X)
        X = np.stack(parts)
        inside = np.all(
            (X[..., 0] > 0.4) & (X[..., 0] < w - 0.4) & (X[..., 1] > 0.4) & (X[..., 1] < h - 0.4)
        )
        if inside and np.min(np.hypot(*(X[0, :, :2] - X[1, :, :2]).T)) > 1.0:
            return X, specs
    raise RuntimeError("could not draw demo tracks inside the ROI")  # pragma: no cover


def demo_movie(seed: int = 0, n_frames: int = 100):
    """The demo's movie: an FBM (alpha 0.5) and a BM particle, reference optics (hendrix2025).

    Returns
    -------
    movie : ndarray (n_frames, rows, cols)
        ADU.
    setup : sptmotion.optics.Setup
    truth : ndarray (2, n_frames, 3)
        Exposure-averaged true positions (µm).
    specs : list of dict
        ``model``, ``alpha``, ``D`` and start of each particle.
    """
    from .. import optics

    ss = np.random.SeedSequence(int(seed))
    rng_tracks, rng_camera = (np.random.default_rng(s) for s in ss.spawn(2))
    setup = optics.preset("hendrix2025")
    fine, specs = _demo_tracks(setup, int(n_frames), rng_tracks)
    movie = optics.render(fine, setup, rng=rng_camera)
    truth = np.einsum("mnka,k->mna", fine.reshape(2, n_frames, setup.subframes, 3), setup.weights)
    return movie, setup, truth, specs


def run_demo(
    output: str | os.PathLike = "demo-output",
    seed: int = 0,
    *,
    n_frames: int = 100,
    iterations: int = 1000,
    chains: int = 2,
    models: LearnedModels | str | os.PathLike | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """The full pipeline on a simulated movie: render, track, decompose, characterize, report.

    Renders a movie with the reference imaging parameters of Hendrix, Xu, Pressé (2025,
    Table 2: EMCCD G = 350, 32x32 pixels of 133 nm, 33 ms frames, 30 ms exposure, K = 10
    sub-frame positions for motion blur) of two particles, one subdiffusive FBM
    (alpha = 0.5) and one BM, writes it as TIFF + JSON sidecar into ``output``, and analyzes
    it end to end with :func:`analyze_movie` (Bayesian tracker with M = 2, K = 1; the modular
    tracker for comparison). The report goes to ``output/report/``.

    Parameters
    ----------
    output : path
        Demo folder (the movie and the report folder ``report/``).
    seed : int
        Seed of the simulation and of the analysis; another seed gives another movie and
        other (but consistent) numbers.
    n_frames, iterations, chains : int
        Movie length and MCMC effort (the defaults finish in under 3 minutes on 2 cores).
    models : LearnedModels or path, optional
        Learned models (bundled by default).
    verbose : bool
        Print where the report is and the key numbers.

    Returns
    -------
    DataFrame
        The per-track results with the true model and alpha of the matched particle
        (columns ``true_model``, ``true_alpha``, ``true_distance_um``).
    """
    from .. import optics

    t0 = time.perf_counter()
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    movie, setup, truth, specs = demo_movie(seed, n_frames)
    movie_path = out / "movie.tif"
    optics.write_movie(
        movie_path,
        movie,
        setup,
        metadata={
            "demo_seed": int(seed),
            "particles": specs,
            "truth_frame_positions_um": truth.round(5).tolist(),
        },
    )
    if verbose:
        print(
            f"rendered {movie_path} ({n_frames} frames, FBM alpha=0.5 + BM, D=0.05 µm²/s); analyzing..."
        )
    models = models if isinstance(models, LearnedModels) else load_models(models)
    report_dir = out / "report"
    results = analyze_movie(
        movie_path,
        report_dir,
        models=models,
        seed=seed,
        iterations=iterations,
        chains=chains,
        n_emitters=2,
        truth=truth,
        truth_labels=[{"model": sp["model"], "alpha": sp["alpha"], "D": sp["D"]} for sp in specs],
        title=f"sptmotion demo (seed {seed}): FBM (alpha 0.5) and BM particles in one movie",
    )
    if verbose:
        summary = json.loads((report_dir / "summary.json").read_text())
        dec = summary["decomposition_at_posterior_mean"]
        D = summary["bayes"]["D"]
        print(f"report: {(report_dir / 'report.html').resolve()}")
        print(
            f"likelihood at the posterior mean: emission {dec['emission']:.4g}, motion {dec['motion']:.4g}, "
            f"emission share {dec['emission_share']:.2%}; D posterior mean {D['mean']:.3g} µm²/s "
            f"[{D['lo']:.3g}, {D['hi']:.3g}]"
        )
        for r in results.itertuples(index=False):
            truth_txt = "" if r.error else f" (truth {r.true_model}, alpha {r.true_alpha:g})"
            print(f"  {r.tracker:7s} track {r.particle}{truth_txt}: {result_line(r)}")
        print(f"demo finished in {time.perf_counter() - t0:.0f} s")
    return results
