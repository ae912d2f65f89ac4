"""Analysis of a widefield movie: track from the pixels, decompose the likelihood, characterize, report.

:func:`analyze_movie` runs named stages in order: :func:`read_input` (TIFF and sidecar, or an
in-memory stack), :func:`bayes_stage` (MCMC from the pixels), :func:`modular_stage` (the
detect-localize-link tracker), :func:`decompose_stage` (the likelihood at the posterior mean),
:func:`characterize_stage` (per-track verdicts through the measurement model) and, with an
output folder, :func:`write_movie_report`. Its settings are one :class:`MovieOptions`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import check_int
from .characterize import characterize, mle_from_localizations
from .localizations import emitter_localizations
from .mle import parse_sigma_loc
from .movie_field import presence_fine_tracks, presence_localizations, unknown_bayes_stage
from .movie_report import movie_summary, write_movie_report
from .output import check_output_folder
from .pretrained import LearnedModels, resolve_models
from .report import convergence_warnings
from .track import single_subframes
from .trackset import TrackSet, bound_variance, lateral, modular_trackset
from .truth import match_truth
from .write import check_track_figures, missing_tracks

__all__ = [
    "MovieOptions",
    "analyze_movie",
    "read_input",
    "bayes_stage",
    "modular_stage",
    "decompose_stage",
    "characterize_stage",
]

logger = logging.getLogger("sptmotion")

#: Confidence level of the modular tracker's bounds (their width gives the per-point variances).
MODULAR_CI = 0.98
#: Simulated spots of the calibration of the localizations' Fisher variances (factor to ~3.5%).
CALIBRATION_SPOTS = 1000

#: With M unknown, a localization belongs to a particle within this many in-focus PSF widths of
#: its posterior-mean position (:func:`.movie_field.presence_localizations`).
LOCALIZATION_GATE = 2.0


@dataclass(frozen=True)
class MovieOptions:
    """Settings of :func:`analyze_movie`.

    Attributes
    ----------
    seed : int
        Seed of the MCMC chains and of the choice of posterior samples.
    iterations, chains, burn, ci
        MCMC sweeps per chain, number of chains, burn-in fraction, credible level.
    n_emitters : int, optional
        Known number of emitters M, present in every frame; None (default): unknown, sampled
        with each emitter's presence per frame (:mod:`.movie_field`).
    subframes : int or "auto"
        Sub-frame positions K of the tracking model; "auto" (default): by regions chosen per
        region from its spots' motion blur (1, or
        :data:`~sptmotion.tracking.regions.STREAK_SUBFRAMES` where motion smears the spots,
        :data:`~sptmotion.tracking.regions.SMEAR_SUBFRAMES` where it smears them beyond
        :data:`~sptmotion.tracking.regions.SMEAR_BLUR_FRACTION` of the PSF width), otherwise 1.
    regions : bool, optional
        With M unknown: track independent regions of the field in parallel
        (:func:`sptmotion.tracking.track_field`); default for frames over 64 x 64 pixels.
    region_workers : int
        Regions tracked at once (threads).
    planar : bool
        Motion in the focal plane (z held at focus, D from x and y; ``track_bayes(planar=)``).
    modular : bool
        Also run the modular tracker (trackpy + laptrack) and characterize its tracks.
    max_samples : int
        Posterior sample tracks per emitter for the posterior-aware learned verdicts.
    dt, pixel_size, preset, camera, gain, conversion, offset, read_noise, camera_file, exposure
        Imaging parameters for a movie without sidecar (or overrides of the sidecar):
        frame period (s), pixel size (µm), preset name, camera model name, EM gain,
        conversion (e-/ADU), offset (ADU), read noise (e-), a camera calibration file
        (:func:`sptmotion.optics.io.read_camera_file`), exposure (s).
    na, wavelength : float, optional
        Numerical aperture and emission wavelength (µm) overriding the sidecar's or preset's
        (the PSF width).
    sigma_loc : "auto", "tracker" or float
        Localization noise of the likelihood fits: the per-point Fisher variances of the
        localizations times a factor calibrated on the movie (``"auto"``: its spots simulated
        at their photons, backgrounds, depths and blur and localized again,
        :func:`sptmotion.tracking.calibrate_fisher_variance`; at the reference optics the
        Fisher variances under-state the error by ~1.1-1.3x), taken as they are
        (``"tracker"``), or a fixed number of µm.
    figures : bool or "embed"
        Draw the PNG figures and the HTML report; ``"embed"`` also puts the figures into the
        page (one self-contained ``report.html``).
    title : str
        Title of the report.
    track_figures : tuple of int, optional
        Emitters (Bayesian tracks) that get their own figures; default the first four.
    """

    seed: int = 0
    iterations: int = 2000
    chains: int = 2
    n_emitters: int | None = None
    subframes: int | str = "auto"
    regions: bool | None = None
    region_workers: int = 2
    planar: bool = False
    burn: float = 0.5
    ci: float = 0.98
    modular: bool = True
    max_samples: int = 50
    dt: float | None = None
    pixel_size: float | None = None
    preset: str | None = None
    camera: str | None = None
    gain: float | None = None
    conversion: float | None = None
    offset: float | None = None
    read_noise: float | None = None
    camera_file: str | os.PathLike | None = None
    exposure: float | None = None
    na: float | None = None
    wavelength: float | None = None
    sigma_loc: float | str = "auto"
    figures: bool | str = True
    title: str = "sptmotion analysis of a movie"
    track_figures: tuple | None = None


def analyze_movie(
    movie: str | os.PathLike | np.ndarray,
    output: str | os.PathLike | None = None,
    *,
    setup=None,
    models: LearnedModels | str | os.PathLike | None = None,
    tta_points: int | None = None,
    options: MovieOptions | None = None,
    truth: np.ndarray | None = None,
    truth_labels: Sequence[dict] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    **settings,
) -> pd.DataFrame:
    """Analyze a widefield movie end to end: track, decompose, characterize, report.

    Steps: Bayesian tracking (:func:`sptmotion.tracking.track_bayes`, K = ``subframes``
    positions per exposure; with ``n_emitters`` None the number of emitters and their presence
    per frame are sampled, by regions on a large field), the modular tracker for comparison,
    the likelihood decomposition at the posterior-mean fine track with Brownian motion at the
    posterior-mean D, then :func:`characterize` on the lateral (x, y) tracks: the learned
    models posterior-aware for the Bayesian tracks (``max_samples`` posterior sample tracks per
    emitter), the likelihood fits on each emitter's own localizations.

    Parameters
    ----------
    movie : path or ndarray (frames, rows, cols)
        TIFF movie (with its JSON sidecar, or ``preset`` and flags) or an ADU stack with ``setup``.
    output : path, optional
        Report folder; nothing is written when None.
    setup : sptmotion.optics.Setup, optional
        Imaging parameters of an in-memory stack.
    models : LearnedModels or path, optional
        Learned models (bundled by default).
    tta_points : int, optional
        Test-time rotation budget of the learned models (points): a track of ``n`` points
        is read in ``tta_points // n`` rotations (at least 1, at most the model's); None
        keeps the models' own (by default 120). Recorded in ``summary.json``.
    options : MovieOptions, optional
        The settings; by default ``MovieOptions(**settings)``.
    truth : ndarray (M_true, N, 3), optional
        True frame positions (simulations, e.g. the demo), drawn in the figures; every track
        is matched to the nearest true particle (mean lateral distance over its frames,
        columns ``true_particle``, ``true_distance_um``).
    truth_labels : sequence of dict, optional
        Per true particle labels (``model``, ``alpha``, ``D``) copied as ``true_<key>``.
    progress : callable(chain, iteration, log_posterior), optional
        Called every few MCMC sweeps (:func:`sptmotion.tracking.track_bayes`).
    **settings
        Fields of :class:`MovieOptions` (``seed``, ``iterations``, ``exposure``, ...).

    Returns
    -------
    DataFrame
        One row per track (Bayesian then modular; column ``tracker``), with the columns of
        :func:`analyze_table` plus the posterior-aware ``alpha_post*``, ``p_<model>_post*``
        and the D posterior (``D_post_mean, D_post_lo, D_post_hi``, µm²/s).
    """
    opts = _options(options, settings)
    t0 = time.perf_counter()
    stack, setup, meta, src = read_input(movie, setup, opts)
    if output is not None:
        check_output_folder(Path(output))
    models = resolve_models(models, tta_points)
    n_frames = int(stack.shape[0]) if stack.ndim == 3 else 0
    if n_frames < models.min_length:
        raise ValueError(
            f"the movie has {n_frames} frames; the learned models need tracks of at least "
            f"{models.min_length} points"
        )
    seeds = dict(
        zip(("bayes", "modular", "posterior_samples"), _stage_seeds(opts.seed), strict=True)
    )
    if opts.n_emitters is None:
        bayes = unknown_bayes_stage(stack, setup, opts, seeds["bayes"], progress)
        if not bayes["trackset"].tracks:
            raise ValueError("no emitter was found in the movie")
        opts = _present_track_figures(opts, bayes["trackset"].particles)
    else:
        bayes = bayes_stage(stack, setup, opts, seeds["bayes"], progress)
    for warning in bayes["warnings"]:
        logger.warning(warning)
    mod = modular_stage(stack, setup, opts, seeds["modular"], done=bayes.get("spots"))
    parts = decompose_stage(stack, setup, opts, bayes)
    results = characterize_stage(bayes, mod, setup, opts, models, seeds["posterior_samples"])
    if truth is not None:
        results = match_truth(
            results,
            [bayes["trackset"], mod["trackset"]],
            np.asarray(truth, dtype=float),
            truth_labels,
        )
    if results["error"].astype(bool).all():
        raise ValueError(f"no track can be analyzed: {results['error'].iloc[0]}")
    if output is not None:
        summary = movie_summary(stack, setup, meta, src, opts, seeds, bayes, mod, parts, models)
        write_movie_report(
            output, results, summary, stack, setup, opts, bayes, mod, parts, models, truth, t0
        )
    return results


def _options(options: MovieOptions | None, settings: dict) -> MovieOptions:
    """The settings, with ``sigma_loc`` parsed (a bad value fails before the movie is read)."""
    if options is not None and settings:
        raise TypeError("give the settings either as options=MovieOptions(...) or as keywords")
    if options is None:
        names = {f.name for f in dataclasses.fields(MovieOptions)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise TypeError(
                f"analyze_movie() got unexpected keyword argument(s) {', '.join(unknown)}"
            )
        options = MovieOptions(**settings)
    if options.n_emitters is not None:
        options = dataclasses.replace(
            options, n_emitters=check_int(options.n_emitters, "n_emitters", 1)
        )
    track_figures = (
        options.track_figures  # the particles are known after tracking
        if options.n_emitters is None
        else check_track_figures(options.track_figures, range(options.n_emitters))
    )
    return dataclasses.replace(
        options,
        sigma_loc=parse_sigma_loc(options.sigma_loc),
        track_figures=None if track_figures is None else tuple(track_figures),
    )


def _present_track_figures(opts: MovieOptions, particles) -> MovieOptions:
    """The requested per-track figures of the particles found (others named in a warning)."""
    if opts.track_figures is None:
        return opts
    known, missing = missing_tracks(opts.track_figures, particles)
    if missing:
        logger.warning(
            f"--track-figures: no track {', '.join(missing[:5])} was found (ids 0 to "
            f"{len(known) - 1})"
        )
    keep = tuple(p for p in opts.track_figures if str(p) in known)
    return dataclasses.replace(opts, track_figures=keep)


def _stage_seeds(seed: int) -> tuple[int, int, int]:
    """Seeds of the Bayesian tracker, the modular tracker and the posterior-sample choice."""
    return tuple(int(s) for s in np.random.SeedSequence(int(seed)).generate_state(3))


def read_input(movie, setup, opts: MovieOptions):
    """The ADU stack, its setup, the input metadata and the source path (None in memory)."""
    from ..optics.io import load_movie

    if isinstance(movie, str | os.PathLike):
        src = Path(movie)
        stack, setup, meta = load_movie(
            src,
            dt=opts.dt,
            pixel_size=opts.pixel_size,
            preset=opts.preset,
            camera=opts.camera,
            gain=opts.gain,
            conversion=opts.conversion,
            offset=opts.offset,
            read_noise=opts.read_noise,
            camera_file=opts.camera_file,
            exposure=opts.exposure,
            na=opts.na,
            wavelength=opts.wavelength,
        )
        return stack, setup, meta, src
    if setup is None:
        raise ValueError("an in-memory movie needs its setup (sptmotion.optics.Setup)")
    return np.asarray(movie, dtype=np.float64), setup, {}, None


def bayes_stage(stack: np.ndarray, setup, opts: MovieOptions, seed: int, progress=None) -> dict:
    """Bayesian tracking: the posterior and the lateral tracks with their samples and bounds."""
    from .. import tracking

    t1 = time.perf_counter()
    post = tracking.track_bayes(
        stack,
        setup,
        n_emitters=opts.n_emitters,
        subframes=single_subframes(opts.subframes),
        n_iterations=opts.iterations,
        n_chains=opts.chains,
        burn=opts.burn,
        seed=seed,
        ci=opts.ci,
        planar=opts.planar,
        progress=progress,
    )
    elapsed = time.perf_counter() - t1
    fs = post.frame_samples  # (chains, draws, M, N, 3)
    flat = fs.reshape(-1, *fs.shape[2:])  # (S, M, N, 3)
    mean = post.mean_track()
    lo, hi = post.credible_interval(opts.ci)
    Dsum = post.D_summary(opts.ci)
    M = mean.shape[0]
    trackset = TrackSet(
        tracks=[lateral(mean[m]) for m in range(M)],
        particles=np.arange(M),
        dt=float(setup.frame_period),
        source="bayes",
        samples=[lateral(flat[:, m]) for m in range(M)],
        lower=[lo[m] for m in range(M)],
        upper=[hi[m] for m in range(M)],
        extra={
            "D_post_mean": [Dsum["mean"]] * M,
            "D_post_lo": [Dsum["lo"]] * M,
            "D_post_hi": [Dsum["hi"]] * M,
        },
        fit_motion=False,
    )
    return {
        "post": post,
        "trackset": trackset,
        "flat": flat,
        "mean": mean,
        "lo": lo,
        "hi": hi,
        "D": Dsum,
        "warnings": convergence_warnings(post.diagnostics()),
        "elapsed_s": elapsed,
    }


def modular_stage(stack: np.ndarray, setup, opts: MovieOptions, seed: int = 0, done=None) -> dict:
    """The modular tracker's table (None when off or when it found nothing) and its tracks.

    ``done``: its table from an earlier run with the same settings (the region finder of
    :func:`sptmotion.tracking.track_field`), used instead of tracking again. With
    ``sigma_loc="auto"`` the localizations' Fisher variances are calibrated
    (:func:`calibrate_localizations`, randomness from ``seed``); ``"calibration"`` holds the
    factor (None when not calibrated).
    """
    from .. import tracking

    table = None
    elapsed = 0.0
    error = ""
    if opts.modular and done is not None:
        table = done
    elif opts.modular:
        t1 = time.perf_counter()
        try:
            table = tracking.track_modular(stack, setup, n_emitters=opts.n_emitters, ci=MODULAR_CI)
        except ValueError as exc:  # e.g. nothing detected: report it, keep the Bayesian result
            error = str(exc)
        elapsed = time.perf_counter() - t1
    trackset = modular_trackset(
        table,
        float(setup.frame_period),
        ci=MODULAR_CI,
        exposure=float(setup.exposure),
        sigma_loc=opts.sigma_loc,
    )
    calibration, t2 = None, time.perf_counter()
    if opts.sigma_loc == "auto" and table is not None and "photons" in table and len(table):
        calibration = calibrate_localizations(table, setup, seed)
        trackset = trackset.calibrated(calibration.factor)
    return {
        "table": table,
        "trackset": trackset,
        "calibration": calibration,
        "elapsed_s": elapsed,
        "calibration_s": time.perf_counter() - t2,
        "error": error,
    }


def calibrate_localizations(table: pd.DataFrame, setup, seed: int):
    """The factor on the localizations' Fisher variances, by simulating the movie's spots.

    :func:`sptmotion.tracking.calibrate_fisher_variance` with :data:`CALIBRATION_SPOTS` spots at
    the localizations' photons, backgrounds and depths, moving over the exposure with the
    Brownian-equivalent D of their frame-to-frame steps (:func:`sptmotion.tracking.step_diffusion`).
    """
    from scipy.stats import norm

    from .. import tracking

    noise = float(np.nanmean(bound_variance(table, float(norm.ppf(0.5 + MODULAR_CI / 2.0)))))
    blur_D = tracking.step_diffusion(table, float(setup.frame_period), noise)
    return tracking.calibrate_fisher_variance(
        setup, table, n_spots=CALIBRATION_SPOTS, blur_D=blur_D, rng=seed
    )


def decompose_stage(stack: np.ndarray, setup, opts: MovieOptions, bayes: dict) -> dict[str, float]:
    """ln P = initial + emission + motion at the posterior-mean track, BM at the posterior-mean D.

    With M unknown: at the posterior-mean frame positions of the particles where present (one
    position per exposure), BM at the posterior mean of D averaged over the tracks' points.
    """
    from .. import likelihood
    from ..motion import MODELS

    if opts.n_emitters is None:
        fine_mean = presence_fine_tracks(bayes["table"], int(stack.shape[0]))
        D_hat, K = max(bayes["D_mean"], 1e-12), 1
    else:
        fine_mean = bayes["post"].samples.mean(axis=(0, 1))  # (M, N*K, 3)
        D_hat, K = max(bayes["D"]["mean"], 1e-12), single_subframes(opts.subframes)
    parts = likelihood.decompose(
        stack,
        fine_mean,
        setup.replace(subframes=K),
        motion=MODELS["bm"](D=D_hat),
        allow_outside=True,
    )
    return {
        k: float(getattr(parts, k))
        for k in ("initial", "emission", "motion", "total", "emission_share")
    }


def characterize_stage(
    bayes: dict, mod: dict, setup, opts: MovieOptions, models: LearnedModels, seed: int
) -> pd.DataFrame:
    """Per-track results: Bayesian tracks (likelihood fits on each emitter's localizations),
    then the modular tracks."""
    rng = np.random.default_rng(seed)
    res_b = characterize(bayes["trackset"], models, max_samples=opts.max_samples, rng=rng)
    mod_ts = mod["trackset"]
    res_m = characterize(mod_ts, models, rng=rng) if mod_ts.tracks else None
    loc_options = dict(ci=MODULAR_CI, exposure=float(setup.exposure), sigma_loc=opts.sigma_loc)
    if opts.n_emitters is None:
        loc_ts = presence_localizations(
            mod["table"],
            bayes["table"],
            float(setup.frame_period),
            LOCALIZATION_GATE * float(setup.psf.kernel_params[0]),
            **loc_options,
        )
        present = bayes["table"].groupby("particle")["frame"].size()
        n_frames = {int(p): int(n) for p, n in present.items()}
    else:
        mean = bayes["mean"]
        loc_ts = emitter_localizations(
            mod["table"], [mean[m] for m in range(mean.shape[0])], float(setup.frame_period),
            **loc_options,
        )  # fmt: skip
        n_frames = mean.shape[1]
    if mod.get("calibration") is not None:
        loc_ts = loc_ts.calibrated(mod["calibration"].factor)
    res_b = mle_from_localizations(res_b, loc_ts, n_frames, models.classes)
    if res_m is None:
        return res_b
    return pd.concat([res_b, res_m], ignore_index=True)
