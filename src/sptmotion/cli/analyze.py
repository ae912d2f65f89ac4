"""``sptmotion analyze``: a movie or a track table (or many, on Dask) -> report folder."""

from __future__ import annotations

import glob
from pathlib import Path

import typer

from ._common import (
    CameraName,
    PlainCommand,
    camera_file_option,
    camera_option,
    camera_settings,
    conversion_option,
    examples,
    gain_option,
    movie_dt_option,
    na_option,
    offset_option,
    pixel_size_option,
    planar_option,
    preset_option,
    quiet_option,
    read_noise_option,
    seed_option,
    setup_logging,
    tta_points_option,
    verbose_option,
    wavelength_option,
)


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to the root app."""

    @app.command(
        "analyze",
        cls=PlainCommand,
        epilog=examples(
            "sptmotion analyze tracks.csv --dt 0.033 --exposure 0.03 -o report",
            "sptmotion analyze linked.parquet --dt 0.05 --pixel-size 0.107 -o report",
            "sptmotion analyze trackpy.h5 --fps 20 --mpp 0.107 --track-figures 3,17 -o report",
            "sptmotion analyze movie.tif -o report",
            "sptmotion analyze 'movies/*.tif' --workers 4 -o batch",
        ),
    )
    def analyze(
        inputs: list[str] = typer.Argument(
            ...,
            metavar="INPUT",
            help="TIFF movie(s) with JSON sidecar, or track table(s) (CSV/Parquet, trackpy columns). "
            "Quote glob patterns: 'movies/*.tif'.",
        ),
        output: Path = typer.Option(
            Path("analysis"),
            "--output",
            "-o",
            help="Report folder (batch: one sub-folder per input).",
        ),
        dt: float = movie_dt_option("Seconds per frame (tables; movies without sidecar)."),
        fps: float = typer.Option(
            None, "--fps", help="Frames per second, trackpy's fps: the same as --dt 1/fps."
        ),
        pixel_size: float = pixel_size_option(
            "µm per pixel (trackpy's mpp): table positions are in pixels / movie pixel size."
        ),
        model: Path = typer.Option(
            None,
            "--model-file",
            help="Learned models: a .sptm file or a folder (default: the bundled ones).",
        ),
        tta_points: int = tta_points_option(),
        seed: int = seed_option("Seed of every random step (MCMC, sample choice)."),
        iterations: int = typer.Option(
            6000, "--iterations", min=2, metavar="INT", help="MCMC sweeps per chain (movies)."
        ),
        chains: int = typer.Option(
            2, "--chains", min=1, metavar="INT", help="MCMC chains (movies)."
        ),
        emitters: int = typer.Option(
            None,
            "--emitters",
            min=1,
            metavar="M",
            help="Known number of emitters, present in every frame (movies). Default: unknown; "
            "the number of emitters and when each is present are sampled, by regions of the "
            "field for frames over 64 x 64 pixels.",
        ),
        modular: bool = typer.Option(
            True, "--modular/--no-modular", help="Also run the modular tracker (movies)."
        ),
        planar: bool = planar_option(),
        preset: str = preset_option(),
        camera: CameraName | None = camera_option(),
        gain: float = gain_option(),
        conversion: float = conversion_option(),
        offset: float = offset_option(),
        read_noise: float = read_noise_option(),
        camera_file: Path = camera_file_option(),
        na: float = na_option(),
        wavelength: float = wavelength_option(),
        exposure: float = typer.Option(
            None,
            "--exposure",
            help="Exposure time t_E in s (0 <= t_E <= dt): motion blur of every point. Tables: "
            "default 0 (no blur); movies: overrides the sidecar.",
        ),
        sigma_loc: str = typer.Option(
            None,
            "--sigma-loc",
            metavar="auto|tracker|µm",
            help="Localization noise of the likelihood fits: 'auto' (default: estimated per "
            "track; for movies the localizations' Fisher variances times a factor calibrated by "
            "simulating the movie's spots), 'tracker' (the Fisher variances as they are) or a "
            "fixed value in µm.",
        ),
        track_figures: str = typer.Option(
            None,
            "--track-figures",
            metavar="IDS",
            help="Comma-separated track ids that get their own figures (scalograms, MSD with "
            "the fit); default: the first four analyzed; 'none' for none.",
        ),
        embed_figures: bool = typer.Option(
            False,
            "--embed-figures",
            help="Put the figures into report.html: one self-contained file (PNGs stay too).",
        ),
        workers: int = typer.Option(
            0,
            "--workers",
            min=0,
            metavar="INT",
            help="Local Dask worker processes (batch); 0: serial.",
        ),
        scheduler: str = typer.Option(
            None, "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786."
        ),
        quiet: bool = quiet_option(),
        verbose: bool = verbose_option(),
    ) -> None:
        """Analyze a movie or a track table end to end and write a report.

        Per track: maximum-likelihood fits of BM, DBM, FBM and SBM through the measurement
        model (motion blur over --exposure, localization noise --sigma-loc), the verdict with
        BM as the null model (5% false positives), alpha with its 95% profile-likelihood
        interval, D and sigma; plus the learned alpha and model probabilities. For a movie:
        Bayesian tracking and the modular tracker first (the fits use the localizations, not
        the posterior means), and the likelihood decomposition. Output: results.csv,
        summary.json, report.html, figures/.
        """
        from ..analysis import batch
        from ..analysis import inputs as single
        from ..analysis.track import MCMCProgress

        setup_logging(quiet, verbose)
        if fps is not None:
            if dt is not None:
                raise typer.BadParameter("give --dt or --fps, not both", param_hint="--fps")
            if fps <= 0:
                raise typer.BadParameter(f"must be > 0, got {fps}", param_hint="--fps")
            dt = 1.0 / fps

        movie_options = {
            "iterations": iterations,
            "chains": chains,
            "n_emitters": emitters,
            "modular": modular,
            "planar": planar,
            **camera_settings(
                preset, camera, gain, conversion, offset, read_noise, camera_file, na, wavelength
            ),
        }
        options = {
            "dt": dt,
            "pixel_size": pixel_size,
            "models": model,
            "tta_points": tta_points,
            "seed": seed,
            "sigma_loc": sigma_loc,
            "exposure": exposure,
            "track_figures": _track_ids(track_figures),
            "figures": "embed" if embed_figures else True,
        }
        is_batch = (
            len(inputs) > 1 or any(glob.has_magic(s) for s in inputs) or workers > 0 or scheduler
        )
        if not is_batch:
            path = Path(inputs[0])
            bar = None
            if path.suffix.lower() in single.MOVIE_SUFFIXES:
                options.update(movie_options)
                if not quiet:
                    bar = options["progress"] = MCMCProgress(iterations, chains)
            try:
                results = single.analyze_path(path, output, **options)
            finally:
                if bar is not None:
                    bar.close()
            if not quiet:
                _print_summary(results, output / "report.html")
            return
        paths = batch.expand_inputs(inputs)
        if any(p.suffix.lower() in single.MOVIE_SUFFIXES for p in paths):
            options.update(movie_options)
        table = batch.analyze_batch(paths, output, workers=workers, scheduler=scheduler, **options)
        status = table.groupby("input", sort=False)["status"].first()
        n_fail = int((status == "failed").sum())
        typer.echo(
            f"{len(status)} inputs: {int((status == 'done').sum())} analyzed, "
            f"{int((status == 'cached').sum())} already finished, {n_fail} failed"
        )
        for inp, err in table.loc[table["status"] == "failed", ["input", "error"]].itertuples(
            index=False
        ):
            typer.echo(f"  failed: {inp}: {err}", err=True)
        typer.echo(f"table: {output / 'results.csv'}")


#: Tracks listed on the terminal after a single-input analysis (all are in results.csv).
PRINT_MAX_TRACKS = 20


def _track_ids(text: str | None) -> list[int] | None:
    """``--track-figures``: None (default), [] for 'none', else the integer ids."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated track ids or 'none', got {text!r}",
            param_hint="--track-figures",
        ) from None


def _print_summary(results, report: Path) -> None:
    from ..analysis.output import folder_summary_lines, result_line

    for line in folder_summary_lines(report.parent):
        typer.echo(line)
    for r in results.head(PRINT_MAX_TRACKS).itertuples(index=False):
        typer.echo(f"{r.tracker} track {r.particle}: {result_line(r)}")
    if len(results) > PRINT_MAX_TRACKS:
        typer.echo(f"... and {len(results) - PRINT_MAX_TRACKS} more tracks (results.csv)")
    typer.echo(f"report: {report}")
