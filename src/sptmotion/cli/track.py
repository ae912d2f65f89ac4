"""``sptmotion track``: tracks (with credible bounds) from a raw movie, Bayesian or modular."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

from ._common import (
    CameraName,
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
    verbose_option,
    wavelength_option,
)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``track`` to the root app."""

    @app.command(
        "track",
        epilog=examples(
            "sptmotion track movie.tif -o tracks.csv   # M unknown: its posterior, p_present",
            "sptmotion track movie.tif --emitters 2 --iterations 6000 --seed 1 -o tracks.parquet",
            "sptmotion track movie.tif --method modular -o spots.csv",
            "sptmotion track cell.ome.tif --method modular --preset hendrix2025 --camera-file cam.json -o spots.csv",
        ),
    )
    def track(
        movie: Path = typer.Argument(
            ...,
            help="TIFF stack (frames, rows, cols): with its JSON sidecar, or ImageJ/OME metadata "
            "and --preset/--camera/--gain/--conversion.",
        ),
        output: Path = typer.Option(
            ..., "-o", "--output", help="Track table (.csv or .parquet); JSON summary beside it."
        ),
        method: Literal["bayes", "modular"] = typer.Option(
            "bayes", "--method", help="MCMC posterior, or detect-localize-link."
        ),
        iterations: int = typer.Option(
            6000, "--iterations", min=2, metavar="INT", help="MCMC sweeps per chain."
        ),
        chains: int = typer.Option(
            2, "--chains", min=1, metavar="INT", help="Independent MCMC chains."
        ),
        seed: int = seed_option(),
        ci: float = typer.Option(0.98, "--ci", help="Credible/confidence level of the bounds."),
        emitters: int = typer.Option(
            None,
            "--emitters",
            min=1,
            metavar="M",
            help="Known number of emitters, present in every frame (bayes). Default: unknown "
            "and changing; the posterior of M and p_present per frame are sampled.",
            show_default=False,
        ),
        extra_candidates: int = typer.Option(
            2,
            "--extra-candidates",
            min=0,
            metavar="INT",
            help="Unused candidate emitters beyond the detected tracks (bayes, unknown M).",
        ),
        subframes: int | None = typer.Option(
            None,
            "--subframes",
            min=1,
            metavar="K",
            help="Positions per exposure (bayes); default 1, by regions chosen per region "
            "(3 where motion smears the spots over the exposure, 5 where over 0.75 PSF widths).",
        ),
        burn: float = typer.Option(0.5, "--burn", help="Burn-in fraction of each chain (bayes)."),
        fix_background: bool = typer.Option(
            False, "--fix-background", help="Keep F at the sidecar value."
        ),
        fix_emission_rate: bool = typer.Option(
            False, "--fix-emission-rate", help="Keep H at the sidecar value."
        ),
        refine: bool = typer.Option(
            True, "--refine/--no-refine", help="ML refinement of localizations (modular)."
        ),
        max_gap: int = typer.Option(
            3, "--max-gap", min=0, metavar="FRAMES", help="Largest gap the linker closes (modular)."
        ),
        search_range: float = typer.Option(
            1.5, "--search-range", min=0.001, metavar="µm", help="Largest link (modular)."
        ),
        minmass: float = typer.Option(
            None,
            "--minmass",
            metavar="PHOTONS",
            help="Detection threshold (band-passed photons; modular). Default: the mass that "
            "0.05 false detections per frame exceed on background-only frames drawn from the "
            "camera model at the movie's own background.",
        ),
        linker: Literal["trackpy", "laptrack"] = typer.Option(
            "trackpy",
            "--linker",
            help="Linker of the modular tracker (trackpy: memory = --max-gap).",
        ),
        min_length: int = typer.Option(
            3, "--min-length", min=1, metavar="INT", help="Shortest track kept (modular)."
        ),
        regions: bool | None = typer.Option(
            None,
            "--regions/--no-regions",
            help="With M unknown: track independent regions of the field in parallel "
            "(default: for frames of more than 64 x 64 pixels).",
            show_default=False,
        ),
        workers: int = typer.Option(
            2, "--workers", min=1, metavar="INT", help="Regions tracked at once (threads)."
        ),
        init: Literal["brightest", "modular"] = typer.Option(
            None,
            "--init",
            help="MCMC start with --emitters: the brightest pixels (default) or the modular "
            "tracker (always the modular tracker's tracks when M is unknown).",
            show_default=False,
        ),
        blur_psf: bool | None = typer.Option(
            None,
            "--blur-psf/--no-blur-psf",
            help="Widen the K = 1 PSF by the motion blur D*t_E/3 (bayes; default: on for K = 1).",
            show_default=False,
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
        dt: float = movie_dt_option(),
        pixel_size: float = pixel_size_option(),
        exposure: float = typer.Option(
            None, "--exposure", help="Exposure time in s (movie without sidecar, or override)."
        ),
        quiet: bool = quiet_option(),
        verbose: bool = verbose_option(),
    ) -> None:
        """Track particles in a raw movie: table of positions (µm) with credible bounds, and a JSON summary."""
        from ..analysis.output import emitters_line
        from ..analysis.track import track_movie

        setup_logging(quiet, verbose)
        table, js = track_movie(
            movie,
            output,
            method=method,
            iterations=iterations,
            chains=chains,
            seed=seed,
            ci=ci,
            emitters=emitters,
            extra_candidates=extra_candidates,
            subframes="auto" if subframes is None else subframes,
            burn=burn,
            fix_background=fix_background,
            fix_emission_rate=fix_emission_rate,
            refine=refine,
            max_gap=max_gap,
            search_range=search_range,
            minmass=minmass,
            linker=linker,
            min_length=min_length,
            init=init,
            movie_setup={
                **camera_settings(
                    preset,
                    camera,
                    gain,
                    conversion,
                    offset,
                    read_noise,
                    camera_file,
                    na,
                    wavelength,
                ),
                "dt": dt,
                "pixel_size": pixel_size,
                "exposure": exposure,
            },
            blur_psf="auto" if blur_psf is None else blur_psf,
            planar=planar,
            regions=regions,
            workers=workers,
            quiet=quiet,
        )
        line = emitters_line(json.loads(js.read_text()))
        if line:
            typer.echo(line)
        typer.echo(f"wrote {table} and {js}")
