"""``sptmotion track``: tracks (with credible bounds) from a raw movie, Bayesian or modular."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

__all__ = ["register", "run_track"]


def run_track(
    movie: str | Path,
    output: str | Path,
    *,
    method: str = "bayes",
    iterations: int = 6000,
    chains: int = 2,
    seed: int | None = None,
    ci: float = 0.98,
    emitters: int = 1,
    subframes: int = 1,
    burn: float = 0.5,
    fix_background: bool = False,
    fix_emission_rate: bool = False,
    refine: bool = True,
    init: str = "brightest",
    blur_psf: bool | str = "auto",
    quiet: bool = True,
) -> tuple[Path, Path]:
    """Track a movie and write the table (CSV/Parquet) and its JSON summary beside it, atomically."""
    from .._io import atomic_path
    from .._io import jsonable as _jsonable
    from ..datasets.tables import write_table
    from ..optics.io import load_movie
    from ..tracking import track_bayes, track_modular
    from ..tracking.posterior import check_ci

    method = method.lower()
    if method not in ("bayes", "modular"):
        raise ValueError(f"--method must be 'bayes' or 'modular', got {method!r}")
    ci = check_ci(ci)
    out = Path(output)
    if not out.parent.exists():
        raise ValueError(f"output folder does not exist: {out.parent}")
    stack, setup, _ = load_movie(movie)
    if method == "bayes":
        bar = None
        if not quiet:
            from tqdm import tqdm

            bar = tqdm(total=chains * iterations, desc="MCMC", unit="it", leave=False)
            state = {"done": 0}

            def progress(ch: int, it: int, lp: float) -> None:
                done = ch * iterations + it + 1
                bar.update(done - state["done"])
                state["done"] = done
                bar.set_postfix_str(f"chain {ch + 1}/{chains} log-posterior {lp:.6g}")

        else:
            progress = None
        try:
            post = track_bayes(
                stack,
                setup,
                n_emitters=emitters,
                subframes=subframes,
                n_iterations=iterations,
                n_chains=chains,
                burn=burn,
                seed=seed,
                ci=ci,
                fix_background=fix_background,
                fix_emission_rate=fix_emission_rate,
                init=init,
                blur_psf=blur_psf,
                progress=progress,
            )
        finally:
            if bar is not None:
                bar.close()
        table = post.to_table(ci)
        summary = post.summary(ci)
    else:
        table = track_modular(stack, setup, refine=refine, ci=ci)
        se = (table["x_hi"] - table["x_lo"]).to_numpy()
        summary = {
            "method": "modular",
            "ci": ci,
            "refine": bool(refine),
            "n_tracks": int(table["particle"].nunique()) if len(table) else 0,
            "n_localizations": int(len(table)),
            "n_frames": int(stack.shape[0]),
            "median_interval_width_x": float(np.nanmedian(se)) if len(se) else None,
        }
    summary["movie"] = str(movie)
    summary["table"] = out.name
    json_path = out.with_suffix(".json")
    if json_path == out:
        raise ValueError("the output table must not have the suffix .json (the summary goes there)")
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False))
    try:
        write_table(table, out)
    except BaseException:
        json_path.unlink(missing_ok=True)
        raise
    return out, json_path


def register(app: typer.Typer) -> None:
    """Add ``track`` to the root app."""

    @app.command("track")
    def track(
        movie: Path = typer.Argument(
            ..., help="TIFF stack (frames, rows, cols) with its JSON sidecar."
        ),
        output: Path = typer.Option(
            ..., "-o", "--output", help="Track table (.csv or .parquet); JSON summary beside it."
        ),
        method: str = typer.Option(
            "bayes", "--method", help="bayes (MCMC posterior) or modular (detect-localize-link)."
        ),
        iterations: int = typer.Option(6000, "--iterations", min=2, help="MCMC sweeps per chain."),
        chains: int = typer.Option(2, "--chains", min=1, help="Independent MCMC chains."),
        seed: int = typer.Option(
            None, "--seed", min=0, help="Random seed (same seed, same result)."
        ),
        ci: float = typer.Option(0.98, "--ci", help="Credible/confidence level of the bounds."),
        emitters: int = typer.Option(
            1, "--emitters", min=1, help="Known number of emitters (bayes)."
        ),
        subframes: int = typer.Option(
            1, "--subframes", min=1, help="Positions per exposure K (bayes)."
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
        init: str = typer.Option(
            "brightest", "--init", help="MCMC start: brightest (pixels) or modular (tracker)."
        ),
        blur_psf: bool | None = typer.Option(
            None,
            "--blur-psf/--no-blur-psf",
            help="Widen the K = 1 PSF by the motion blur D*t_E/3 (bayes; default: on for K = 1).",
            show_default=False,
        ),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    ) -> None:
        """Track particles in a raw movie: table of positions (µm) with credible bounds, and a JSON summary."""
        table, js = run_track(
            movie,
            output,
            method=method,
            iterations=iterations,
            chains=chains,
            seed=seed,
            ci=ci,
            emitters=emitters,
            subframes=subframes,
            burn=burn,
            fix_background=fix_background,
            fix_emission_rate=fix_emission_rate,
            refine=refine,
            init=init,
            blur_psf="auto" if blur_psf is None else blur_psf,
            quiet=quiet,
        )
        typer.echo(f"wrote {table} and {js}")
