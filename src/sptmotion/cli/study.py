"""``sptmotion study``: reproducible studies; ``classification-bias`` (Table 1 of Hendrix et al. 2025).

The study itself is :mod:`sptmotion.studies.classification_bias`.
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


def register(app: typer.Typer) -> None:
    """Add the ``study`` command group to the root app."""
    study_app = typer.Typer(
        help="Reproducible studies (tables of the papers sptmotion reproduces).",
        no_args_is_help=True,
    )
    app.add_typer(study_app, name="study")

    @study_app.command(
        "classification-bias",
        epilog=examples("sptmotion study classification-bias --movies 3 -o classification_bias.md"),
    )
    def classification_bias_cmd(
        output: Path = typer.Option(
            Path("classification_bias.md"),
            "-o",
            "--output",
            help="Markdown table; the rows go to a .csv beside it.",
        ),
        movies: int = typer.Option(
            3, "--movies", min=1, metavar="INT", help="Movies per condition."
        ),
        iterations: int = typer.Option(
            6000, "--iterations", min=10, metavar="INT", help="MCMC sweeps per chain."
        ),
        chains: int = typer.Option(2, "--chains", min=1, metavar="INT", help="MCMC chains."),
        seed: int = seed_option(),
        quiet: bool = quiet_option(),
        verbose: bool = verbose_option(),
    ) -> None:
        """How the tracker biases motion-model classification (Hendrix et al. 2025, Table 1)."""
        from ..studies.classification_bias import classification_bias, write_bias_report

        out = Path(output)
        if not out.parent.exists():
            raise ValueError(f"output folder does not exist: {out.parent}")

        setup_logging(quiet, verbose)

        def progress(label, mv):
            if not quiet:
                typer.echo(f"{label}: movie {mv + 1}/{movies} done", err=True)

        df = classification_bias(movies, iterations, chains, seed, progress=progress)
        csv = write_bias_report(
            df, out, movies=movies, iterations=iterations, chains=chains, seed=seed
        )
        typer.echo(f"wrote {out} and {csv}")
