"""CLI of the motion stage: ``sptmotion simulate``.

- ``sptmotion simulate --model fbm --alpha 0.6 --D 0.1 --dt 0.03 --dim 3 --n 1000 --steps 100 --seed 1 -o tracks.csv``
- ``sptmotion simulate --andi --task model --dim 2 --n 10000 --length 100 --seed 1 -o train.csv``

The tables come from :func:`sptmotion.datasets.simulate.simulate_table` (same seed, same
table, whatever ``--workers`` / ``--scheduler``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from ._common import (
    MotionModelName,
    examples,
    quiet_option,
    seed_option,
    setup_logging,
    verbose_option,
)

__all__ = ["register"]


def _parse_length(text: str) -> int | tuple[int, int]:
    parts = [p.strip() for p in str(text).split(",")]
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"--length must be an integer or MIN,MAX, got {text!r}") from None
    if len(vals) == 1:
        return vals[0]
    if len(vals) == 2:
        return (vals[0], vals[1])
    raise ValueError(f"--length must be an integer or MIN,MAX, got {text!r}")


def _parse_vector(text: str, name: str) -> float | tuple[float, ...]:
    try:
        vals = tuple(float(p) for p in str(text).split(","))
    except ValueError:
        raise ValueError(
            f"{name} must be a number or comma-separated numbers, got {text!r}"
        ) from None
    return vals[0] if len(vals) == 1 else vals


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the root app."""

    @app.command(
        "simulate",
        epilog=examples(
            "sptmotion simulate --model fbm --alpha 0.6 --D 0.1 --dt 0.03 --n 1000 -o tracks.csv",
            "sptmotion simulate --model bm --D 0.05 --dt 0.033 --subframes 10 --seed 2 -o fine.parquet",
            "sptmotion simulate --andi --task model --length 20,500 --n 10000 -o train.csv",
            "sptmotion simulate --andi --measured --task model --n 100000 -o measured.parquet",
        ),
    )
    def simulate(
        output: Path = typer.Option(
            ..., "-o", "--output", help="Track table to write (.csv or .parquet)."
        ),
        model: MotionModelName | None = typer.Option(None, "--model", help="Motion model."),
        andi: bool = typer.Option(
            False, "--andi", help="Generate an AnDi-1 dataset instead of one model."
        ),
        alpha: float = typer.Option(
            None, "--alpha", help="Anomalous exponent (fbm, sbm, ctrw, attm, lw)."
        ),
        D: float = typer.Option(
            None,
            "--D",
            help="Diffusion coefficient: µm²/s (bm, dbm, ctrw, attm), µm²/s^alpha (fbm, sbm).",
        ),
        drift: str = typer.Option(
            None, "--drift", help="DBM drift velocity in µm/s: one number or vx,vy[,vz]."
        ),
        t_age: float = typer.Option(None, "--t-age", help="SBM aging time in s."),
        tau0: float = typer.Option(
            None, "--tau0", help="Time scale in s: CTRW waiting time, ATTM sojourn, LW flight."
        ),
        sigma: float = typer.Option(
            None,
            "--sigma",
            help="ATTM exponent sigma of P(D) ~ D^(sigma-1); LW flight-time exponent for alpha = 2.",
        ),
        regime: int = typer.Option(None, "--regime", help="ATTM regime (1 or 2)."),
        speed: float = typer.Option(None, "--v", help="LW speed in µm/s."),
        dt: float = typer.Option(1.0, "--dt", help="Frame interval in s."),
        dim: int = typer.Option(2, "--dim", min=1, max=3, metavar="1|2|3", help="Dimension."),
        n: int = typer.Option(1000, "--n", min=1, metavar="INT", help="Number of tracks."),
        steps: int = typer.Option(
            100, "--steps", min=1, metavar="INT", help="Steps per track (steps + 1 frames)."
        ),
        subframes: int = typer.Option(
            1,
            "--subframes",
            min=1,
            metavar="K",
            help="Motion sampled at dt/K, K rows per frame (column subframe).",
        ),
        task: Literal["alpha", "model"] = typer.Option(
            "alpha", "--task", help="AnDi task (class balance of the labels)."
        ),
        length: str = typer.Option(
            None, "--length", metavar="N|MIN,MAX", help="AnDi track length in points [100]."
        ),
        include_bm: bool = typer.Option(
            False, "--include-bm", help="AnDi: add Brownian motion (alpha = 1) as a sixth class."
        ),
        no_noise: bool = typer.Option(False, "--no-noise", help="AnDi: no localization noise."),
        measured: bool = typer.Option(
            False,
            "--measured",
            help="AnDi + BM + DBM through a camera's measurement model: motion blur, random D, "
            "localization noise, missing frames (--length default there: 20,1000).",
        ),
        mix: Literal["recipe", "andi-datasets"] = typer.Option(
            "recipe",
            "--mix",
            help="AnDi class mix: recipe (full per-model ranges) or andi-datasets'.",
        ),
        seed: int = seed_option("Random seed (same seed, same table, whatever the workers)."),
        workers: int = typer.Option(
            1, "--workers", min=1, metavar="INT", help="Dask workers (LocalCluster) when > 1."
        ),
        scheduler: str = typer.Option(
            None, "--scheduler", help="Address of a running Dask scheduler."
        ),
        processes: bool = typer.Option(
            True, "--processes/--threads", help="LocalCluster workers as processes or threads."
        ),
        quiet: bool = quiet_option(),
        verbose: bool = verbose_option(),
    ) -> None:
        """Simulate tracks of one motion model, or an AnDi-1 dataset, into a track table."""
        import numpy as np

        from .._io import check_memory, check_output_file
        from ..datasets.simulate import model_spec, simulate_table
        from ..datasets.tables import TABLE_SUFFIXES, write_table

        setup_logging(quiet, verbose)
        output = check_output_file(Path(output), TABLE_SUFFIXES)
        if andi == (model is not None):
            raise ValueError("give exactly one of --model NAME or --andi")
        if andi:
            from ..datasets.andi_recipe import check_length

            if subframes != 1:
                raise ValueError("--subframes applies to --model (AnDi tracks have dt = 1)")
            length_v = _parse_length(length or ("20,1000" if measured else "100"))
            check_length(length_v)
            spec = {
                "kind": "measured" if measured else "andi",
                "length": length_v,
                "task": task,
                "include_bm": include_bm,
                "noise": not no_noise,
                "mix": mix,
            }
        else:
            if measured:
                raise ValueError("--measured applies to --andi")
            if not np.isfinite(dt) or dt <= 0:
                raise ValueError(f"--dt must be > 0 (s), got {dt}")
            params = {
                "alpha": alpha,
                "D": D,
                "v": _parse_vector(drift, "--drift") if drift is not None else speed,
                "t_age": t_age,
                "tau0": tau0,
                "sigma": sigma,
                "regime": regime,
            }
            if drift is not None and speed is not None:
                raise ValueError("give --drift (DBM) or --v (LW), not both")
            spec = model_spec(model, params)
            spec.update({"steps": int(steps), "dt": float(dt), "subframes": int(subframes)})
        spec.update({"n": int(n), "dim": dim, "seed": int(seed)})
        points = int(np.max(spec["length"])) if andi else (steps + 1) * subframes
        rows = n * points
        check_memory(8.0 * 3 * rows * (dim + 5), f"a table of {rows:,} rows")
        table = simulate_table(spec, workers, scheduler, processes=processes, progress=not quiet)
        write_table(table, output)
        typer.echo(
            f"wrote {table['particle'].nunique()} tracks ({len(table)} rows) to {output}", err=True
        )
