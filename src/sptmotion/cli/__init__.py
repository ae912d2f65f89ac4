"""The ``sptmotion`` command line (typer).

Every command module defines ``register(app)``. Errors from bad input (``ValueError``,
``FileNotFoundError``) end the program with a one-line message and exit code 1, without a
traceback; outputs are written atomically so no half-written file is left behind.
"""

from __future__ import annotations

import sys

import typer

from . import analyze, demo, imaging, learn, simulate, study, track

app = typer.Typer(
    name="sptmotion",
    help="Learn motion models (anomalous diffusion) from single-particle-tracking data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (simulate, imaging, track, learn, study, analyze, demo):
    _module.register(app)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:  # --help, --version
        return exc.exit_code
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return 1
        raise
    return 0


def _console_main() -> None:  # pragma: no cover - thin wrapper
    sys.exit(main())
