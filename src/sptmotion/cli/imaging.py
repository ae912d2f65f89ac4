"""CLI of the imaging stage: ``render`` a movie from tracks, ``likelihood`` of a movie and tracks.

- ``sptmotion render tracks.csv --preset hendrix2025 --camera emccd --seed 1 -o movie.tif``
- ``sptmotion likelihood movie.tif tracks.csv --motion bm --D 0.05 [--json]``
- ``sptmotion likelihood sweep -o likelihood_sweep.md``

``likelihood`` is a command group whose default command (``eval``) runs when the first argument
is not a sub-command name, so both spellings above work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer
from typer.core import TyperGroup

from ._common import (
    CameraName,
    GaussianModelName,
    examples,
    quiet_option,
    seed_option,
    setup_logging,
    verbose_option,
)

__all__ = ["register"]


class _DefaultGroup(TyperGroup):
    """A group that runs its default command when the first argument names no sub-command."""

    default_command = "eval"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    """Add ``render`` and the ``likelihood`` group to the root app."""
    app.command(
        "render",
        epilog=examples(
            "sptmotion render tracks.csv -o movie.tif",
            "sptmotion render tracks.csv --camera emccd-pgn --seed 3 -o movie.tif",
        ),
    )(render)
    lik = typer.Typer(
        cls=_DefaultGroup,
        no_args_is_help=True,
        help="Decomposed log-likelihood of a movie and its tracks (default), or the parameter sweep.",
    )
    lik.command(
        "eval",
        epilog=examples(
            "sptmotion likelihood movie.tif tracks.csv --motion bm --D 0.05",
            "sptmotion likelihood eval movie.tif tracks.csv --motion fbm --alpha 0.5 --json",
        ),
    )(likelihood_eval)
    lik.command(
        "sweep", epilog=examples("sptmotion likelihood sweep --repeats 5 -o likelihood_sweep.md")
    )(likelihood_sweep_cmd)
    app.add_typer(lik, name="likelihood")


def render(
    tracks: Path = typer.Argument(..., help="Track table (CSV/Parquet), positions in µm."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Output TIFF; a JSON sidecar is written next to it."
    ),
    preset: str = typer.Option("hendrix2025", help="Imaging preset."),
    camera: CameraName = typer.Option("emccd", help="Camera model."),
    seed: int = seed_option("Seed of the camera noise."),
    origin: Literal["auto", "roi", "center"] = typer.Option(
        "auto",
        help="Where the table's (0, 0) is: 'roi' (the ROI corner), 'center' (the ROI centre), "
        "'auto' (centre if any x or y < 0).",
    ),
    allow_outside: bool = typer.Option(
        False, help="Render emitters far outside the ROI instead of failing."
    ),
    quiet: bool = quiet_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Render a widefield movie (TIFF + JSON sidecar) from a track table."""
    setup_logging(quiet, verbose)
    from .._io import check_not_inputs
    from ..optics.io import sidecar_path

    if output.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"output {output.name} must end in .tif or .tiff (the sidecar is .json)")
    check_not_inputs([output, sidecar_path(output)], [tracks])
    from ..analysis.imaging import render_table
    from ..datasets.tables import read_table
    from ..optics import write_movie

    movie, setup, meta, notes = render_table(
        read_table(tracks),
        preset=preset,
        camera=camera,
        seed=seed,
        origin=origin,
        allow_outside=allow_outside,
    )
    for note in notes if not quiet else ():
        typer.echo(f"note: {note}", err=True)
    meta = {"tracks": str(tracks), **meta}
    write_movie(output, movie, setup, metadata=meta)
    typer.echo(
        f"wrote {output} ({movie.shape[0]} frames of {setup.rows}x{setup.cols} px, "
        f"{meta['n_emitters']} emitter(s), K={setup.subframes}, camera {setup.camera.name}) and "
        f"{Path(output).with_suffix('.json').name}"
    )


def likelihood_eval(
    movie: Path = typer.Argument(
        ..., help="Movie TIFF written by `sptmotion render` (with its JSON sidecar)."
    ),
    tracks: Path = typer.Argument(..., help="Track table with the emitter positions (µm)."),
    motion: GaussianModelName = typer.Option("bm", help="Motion model with a likelihood."),
    D: float = typer.Option(
        0.05, "--D", help="Diffusion coefficient D (µm²/s, µm²/s^alpha for fbm/sbm)."
    ),
    alpha: float | None = typer.Option(None, help="Anomalous exponent (fbm, sbm)."),
    v: float | None = typer.Option(None, help="Drift speed (µm/s, dbm)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    allow_outside: bool = typer.Option(False, help="Accept positions far outside the ROI."),
    quiet: bool = quiet_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Print ln P(r0), ln P(data | positions), ln P(positions | motion), total and emission share."""
    setup_logging(quiet, verbose)
    from ..analysis.imaging import decompose_table
    from ..datasets.tables import read_table

    params = {"D": D, "alpha": alpha, "v": v}
    parts, model, times = decompose_table(
        movie,
        read_table(tracks),
        motion,
        {k: x for k, x in params.items() if x is not None},
        allow_outside=allow_outside,
    )
    keys = ("initial", "emission", "motion", "total", "emission_share")
    d = parts.to_dict()
    if as_json:
        typer.echo(json.dumps({k: d[k] for k in keys}))
        return
    typer.echo(
        f"movie {movie} ({parts.n_frames} frames, {parts.n_emitters} emitter(s), K={parts.subframes})"
    )
    grid = "the table's t column" if times is not None else "the setup's sub-frame grid"
    typer.echo(f"motion model {model!r}, evaluated at the times of {grid}")
    typer.echo(f"  ln P(r0)                 initial   {d['initial']:16.3f}")
    typer.echo(f"  ln P(data | positions)   emission  {d['emission']:16.3f}")
    typer.echo(f"  ln P(positions | motion) motion    {d['motion']:16.3f}")
    typer.echo(f"  total                              {d['total']:16.3f}")
    typer.echo(f"  emission share |e|/(|e|+|m|)       {100 * d['emission_share']:15.3f} %")


def likelihood_sweep_cmd(
    output: Path = typer.Option(
        Path("likelihood_sweep.md"),
        "-o",
        "--output",
        help="Markdown table; the PNG and CSV go next to it.",
    ),
    seed: int = seed_option("Seed of the sweep."),
    repeats: int = typer.Option(
        3, min=1, metavar="INT", help="Movies per setting (the table holds means)."
    ),
    quick: bool = typer.Option(False, help="A small grid (for smoke tests)."),
    quiet: bool = quiet_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Sweep D, N, H, F, G, K (and generating models, and few frames x D) and tabulate the likelihood's parts."""
    setup_logging(quiet, verbose)
    from ..studies.likelihood_sweep import (
        SWEEP_OTHER_MODELS,
        likelihood_sweep,
        write_sweep_report,
    )

    grid = other = signs = None
    if quick:
        grid = {"D": [0.05, 10.0], "N": [2, 8]}
        other = {k: SWEEP_OTHER_MODELS[k] for k in ("bm", "fbm (alpha=0.5)")}
        signs = {"K": [1], "N": [2], "D": [0.01, 10.0]}
    df = likelihood_sweep(seed=seed, repeats=repeats, grid=grid, other_models=other, sign_map=signs)
    out = write_sweep_report(df, output, seed=seed, repeats=repeats, quick=quick)
    typer.echo(
        f"wrote {out}, {out.with_suffix('.png').name} and {out.with_suffix('.csv').name} ({len(df)} rows)"
    )
