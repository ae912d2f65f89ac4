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

__all__ = [
    "movie_summary",
    "write_movie_report",
    "movie_figures",
    "movie_tracks",
    "field_figures",
]


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
            "n_emitters": "unknown" if opts.n_emitters is None else int(opts.n_emitters),
            "subframes": opts.subframes if opts.subframes == "auto" else int(opts.subframes),
            "max_posterior_samples": int(opts.max_samples),
            "alpha_ci": ALPHA_CI,
            "tta_points": models.tta_points,
            "window_points": models.window_points,
            "modular": bool(opts.modular),
            "planar": bool(opts.planar),
            "sigma_loc": opts.sigma_loc,
        },
        "measurement_model": MLE_NOTE,
        "warnings": bayes["warnings"],
        "seeds": {"seed": int(opts.seed), **seeds},
        "bayes": bayes["summary"] if "summary" in bayes else bayes["post"].summary(opts.ci),
        "modular": {
            "n_tracks": len(mod["trackset"].tracks),
            "n_localizations": 0 if mod["table"] is None else len(mod["table"]),
            "error": mod["error"],
            "fisher_variance_calibration": (
                None if mod.get("calibration") is None else mod["calibration"].to_dict()
            ),
        },
        "decomposition_at_posterior_mean": parts,
        "timing_s": {
            "bayes": round(bayes["elapsed_s"], 2),
            "modular": round(mod["elapsed_s"], 2),
            "calibration": round(mod.get("calibration_s", 0.0), 2),
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
    own = bayes["table"] if "table" in bayes else bayes["post"].to_table(opts.ci)
    tables = [own.assign(tracker="bayes")]
    if mod["table"] is not None and len(mod["table"]):
        tables.append(mod["table"].assign(tracker="modular"))
    table = pd.concat(tables, ignore_index=True)
    return table[["tracker", *[c for c in table.columns if c != "tracker"]]]


def movie_figures(fig_dir, results, stack, setup, opts, bayes, mod, parts, truth) -> list:
    """The movie overlay, the credible bands of each track and the log-likelihood bars."""
    if opts.n_emitters is None:
        return field_figures(fig_dir, stack, setup, opts, bayes, mod, parts)
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


def field_figures(fig_dir, stack, setup, opts, bayes, mod, parts) -> list:
    """Figures of a movie with an unknown number of emitters: the field with every track, the
    credible bands of the tracks chosen for figures, the posterior of M and the log-likelihood
    bars."""
    ts = bayes["trackset"]
    dt = float(setup.frame_period)
    n_tracks = len(ts.tracks)
    _figures.plot_movie_overlay(
        stack.max(axis=0),
        ts.tracks,
        setup.pixel_size,
        fig_dir / "movie_overlay.png",
        labels=[f"Bayesian track {p}" for p in ts.particles],
        other_tracks=mod["trackset"].tracks,
        title=f"maximum over frames with the {n_tracks} posterior-mean tracks",
    )
    summary = bayes["summary"]
    where = f", tracked as {bayes['n_regions']} independent regions" if bayes["n_regions"] else ""
    extra = [
        (
            "Field with all tracks",
            "figures/movie_overlay.png",
            "Maximum over frames of the movie (ADU) with the Bayesian posterior-mean tracks "
            f"(solid, dot at the start; the frames where p_present >= 0.5{where}) and the "
            "modular tracker's tracks (dashed white).",
        )
    ]
    post_m = summary.get("n_emitters_posterior") or {}
    if post_m:
        _figures.plot_count_posterior(post_m, fig_dir / "n_emitters.png")
        extra.append(
            (
                "Number of emitters",
                "figures/n_emitters.png",
                "Posterior of the number of emitters present in at least one frame"
                + (" (the convolution of the regions' posteriors)." if bayes["n_regions"] else "."),
            )
        )
    shown = opts.track_figures
    if shown is None:
        shown = ts.particles[: min(4, n_tracks)]
    index = {int(p): i for i, p in enumerate(ts.particles)}
    for p in shown:
        i = index[int(p)]
        f0 = ts.first_frames[i]
        t = (f0 + np.arange(len(ts.tracks[i]))) * dt
        other, other_t = closest_modular(
            mod["table"], _padded(ts.tracks[i], f0), float(setup.frame_period)
        )
        _figures.plot_track_bands(
            t,
            ts.tracks[i],
            fig_dir / f"track_bands_{p}.png",
            lower=ts.lower[i],
            upper=ts.upper[i],
            samples=ts.samples[i],
            other=None if other is None else other[:, :2],
            other_t=other_t,
            ci=opts.ci,
            title=f"track {p}: posterior mean, {opts.ci:.0%} credible band, 20 posterior samples",
        )
        extra.append((f"Track {p} with credible bands", f"figures/track_bands_{p}.png", ""))
    _figures.plot_loglik_bars(parts, fig_dir / "loglik_bars.png")
    extra.append(
        (
            "Emission and motion log-likelihoods",
            "figures/loglik_bars.png",
            "ln P = initial + emission + motion at the posterior-mean frame positions of the "
            "present particles (BM at the tracks' mean posterior D); Hendrix, Xu, Pressé 2025: "
            "the emission part dominates by orders of magnitude.",
        )
    )
    return extra


def _padded(track: np.ndarray, first_frame: int) -> np.ndarray:
    """A track from frame ``first_frame`` on, with NaN before it (frame-indexed positions)."""
    out = np.full((first_frame + len(track), track.shape[1]), np.nan)
    out[first_frame:] = track
    return out
