"""The report of a movie analysis: its summary, the movie and track figures, then the common outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import figures as _figures
from .characterize import ALPHA_CI
from .mle import MLE_NOTE
from .output import staged_output, versions
from .truth import closest_modular, true_index
from .write import write_outputs

__all__ = ["movie_summary", "write_movie_report", "movie_figures", "movie_tracks"]


def movie_summary(stack, setup, meta, src, opts, seeds, bayes, mod, parts, models) -> dict:
    """``summary.json`` of a movie analysis: input, setup, settings, seeds, tracker summaries."""
    return {
        "input": {
            "kind": "movie",
            "path": str(src) if src else None,
            "n_frames": int(stack.shape[0]),
            "shape": list(stack.shape),
            **meta,
        },
        "setup": setup.to_dict(),
        "parameters": {
            "iterations": int(opts.iterations),
            "chains": int(opts.chains),
            "burn": float(opts.burn),
            "ci": float(opts.ci),
            "n_emitters": int(opts.n_emitters),
            "subframes": int(opts.subframes),
            "max_posterior_samples": int(opts.max_samples),
            "alpha_ci": ALPHA_CI,
            "modular": bool(opts.modular),
            "sigma_loc": opts.sigma_loc,
        },
        "measurement_model": MLE_NOTE,
        "warnings": bayes["warnings"],
        "seeds": {"seed": int(opts.seed), **seeds},
        "bayes": bayes["post"].summary(opts.ci),
        "modular": {
            "n_tracks": len(mod["trackset"].tracks),
            "n_localizations": 0 if mod["table"] is None else len(mod["table"]),
            "error": mod["error"],
        },
        "decomposition_at_posterior_mean": parts,
        "timing_s": {
            "bayes": round(bayes["elapsed_s"], 2),
            "modular": round(mod["elapsed_s"], 2),
        },
        "models": models.sources,
        "classes": models.classes,
        "min_length": models.min_length,
        "versions": versions(),
    }


def write_movie_report(
    output, results, summary, stack, setup, opts, bayes, mod, parts, models, truth, t0
) -> None:
    """Write the report folder of a movie: the tracks' positions (``tracks.csv``), the movie and
    track figures, then the common outputs."""
    with staged_output(output) as tmp:
        movie_tracks(bayes, mod, opts).to_csv(tmp / "tracks.csv", index=False)
        extra = []
        if opts.figures:
            fig_dir = tmp / "figures"
            fig_dir.mkdir()
            extra = movie_figures(fig_dir, results, stack, setup, opts, bayes, mod, parts, truth)
        write_outputs(
            tmp,
            results,
            summary,
            [bayes["trackset"], mod["trackset"]],
            models.classes,
            figures=opts.figures,
            t0=t0,
            extra_figures=extra,
            title=opts.title,
            track_figures=opts.track_figures,
        )


def movie_tracks(bayes: dict, mod: dict, opts) -> pd.DataFrame:
    """The positions of every track of a movie, long form (trackpy columns, µm, with bounds):
    the Bayesian posterior means with their credible bounds, then the modular tracker's
    localizations with their confidence bounds; column ``tracker`` tells them apart."""
    tables = [bayes["post"].to_table(opts.ci).assign(tracker="bayes")]
    if mod["table"] is not None and len(mod["table"]):
        tables.append(mod["table"].assign(tracker="modular"))
    table = pd.concat(tables, ignore_index=True)
    return table[["tracker", *[c for c in table.columns if c != "tracker"]]]


def movie_figures(fig_dir, results, stack, setup, opts, bayes, mod, parts, truth) -> list:
    """The movie overlay, the credible bands of each track and the log-likelihood bars."""
    post, mean, flat = bayes["post"], bayes["mean"], bayes["flat"]
    M = mean.shape[0]
    ci = opts.ci
    _figures.plot_movie_overlay(
        stack.mean(axis=0),
        [bayes["trackset"].tracks[m] for m in range(M)],
        setup.pixel_size,
        fig_dir / "movie_overlay.png",
        labels=[f"Bayesian track {m}" for m in range(M)],
        other_tracks=mod["trackset"].tracks,
        title="mean frame of the movie with the posterior-mean tracks",
    )
    extra = [
        (
            "Movie with the tracks",
            "figures/movie_overlay.png",
            "Mean over frames of the movie (ADU) with the Bayesian posterior-mean tracks (solid, "
            "dot at the start) and the modular tracker's tracks (dashed white).",
        )
    ]
    t = post.frame_times
    for m in range(M):
        other, other_t = closest_modular(mod["table"], mean[m], float(setup.frame_period))
        _figures.plot_track_bands(
            t,
            mean[m],
            fig_dir / f"track_bands_{m}.png",
            lower=bayes["lo"][m],
            upper=bayes["hi"][m],
            samples=flat[:: max(1, len(flat) // 20), m],
            other=other,
            other_t=other_t,
            truth=None if truth is None else np.asarray(truth)[true_index(results, m)],
            ci=ci,
            title=f"emitter {m}: posterior mean, {ci:.0%} credible band, 20 posterior samples",
        )
        extra.append((f"Track {m} with credible bands", f"figures/track_bands_{m}.png", ""))
    mlp = post.mean_log_probabilities()
    _figures.plot_loglik_bars(parts, fig_dir / "loglik_bars.png")
    extra.append(
        (
            "Emission and motion log-likelihoods",
            "figures/loglik_bars.png",
            "ln P = initial + emission + motion at the posterior-mean track (BM at the posterior-mean "
            f"D). Means over the post-burn-in MCMC iterations: emission {mlp['emission']:.4g}, "
            f"motion {mlp['motion']:.4g} (emission share {mlp['emission_share']:.2%}); Hendrix, Xu, "
            "Pressé 2025: the emission part dominates by orders of magnitude.",
        )
    )
    return extra
