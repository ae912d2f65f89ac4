"""``sptmotion demo``: a quick tour of the package.

The demo has two parts:

1. Motion models (:func:`sptmotion.studies.motion_demo.run_motion_demo`): every registered
   motion model with a representative exponent, its true ``alpha`` against the MLE and a
   TAMSD fit.
2. The full pipeline (:func:`sptmotion.analysis.demo.run_demo`): a widefield EMCCD movie
   of an FBM and a BM particle rendered with the reference parameters of Hendrix, Xu, Pressé
   (2025), tracked by MCMC from the raw images (and by the modular tracker), its likelihood
   decomposed, every track characterized, and an HTML report written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    examples,
    quiet_option,
    seed_option,
    setup_logging,
    verbose_option,
)

__all__ = ["register"]


def _print_table(df) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Motion models: true α vs. estimates (mean ± std over tracks)")
    table.add_column("model")
    table.add_column("true α", justify="right")
    table.add_column("MLE α", justify="right")
    table.add_column("MLE of", justify="left")
    table.add_column("TAMSD-fit α", justify="right")
    for r in df.itertuples(index=False):
        table.add_row(
            r.model,
            f"{r.alpha_true:.2f}",
            f"{r.alpha_mle_mean:.3f} ± {r.alpha_mle_std:.3f}",
            r.mle_estimator,
            f"{r.alpha_tamsd_mean:.3f} ± {r.alpha_tamsd_std:.3f}",
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root app."""

    @app.command(
        "demo",
        epilog=examples(
            "sptmotion demo",
            "sptmotion demo --motion-only --n 500 --steps 200 -o tour",
        ),
    )
    def demo(
        output: Path = typer.Option(Path("demo-output"), "--output", "-o", help="Output folder."),
        seed: int = seed_option(),
        n_tracks: int = typer.Option(
            200, "--n", min=2, metavar="INT", help="Tracks simulated per model."
        ),
        n_steps: int = typer.Option(100, "--steps", min=10, metavar="INT", help="Steps per track."),
        motion_only: bool = typer.Option(
            False, "--motion-only", help="Only the motion-model table (a few seconds)."
        ),
        quiet: bool = quiet_option(),
        verbose: bool = verbose_option(),
    ) -> None:
        """Tour the package: motion models, then a movie analyzed end to end into a report.

        Writes OUTPUT/models.csv (true alpha vs MLE and TAMSD-fit estimates for every motion
        model) and, unless --motion-only, OUTPUT/movie.tif and the report OUTPUT/report/.
        """
        setup_logging(quiet, verbose)
        if output.exists() and not output.is_dir():
            raise ValueError(f"--output must be a folder, {output} is a file")
        from .._io import atomic_path
        from ..studies.motion_demo import run_motion_demo

        df = run_motion_demo(n_tracks=n_tracks, n_steps=n_steps, seed=seed)
        output.mkdir(parents=True, exist_ok=True)
        with atomic_path(output / "models.csv") as tmp:
            df.to_csv(tmp, index=False)
        if not quiet:
            _print_table(df)
        typer.echo(f"wrote {output / 'models.csv'}")
        if not motion_only:
            from ..analysis.demo import run_demo

            run_demo(output, seed=seed, verbose=not quiet)
