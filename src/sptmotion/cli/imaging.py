"""CLI of the imaging stage: ``render`` a movie from tracks, ``likelihood`` of a movie and tracks.

- ``sptmotion render tracks.csv --preset hendrix2025 --camera emccd --seed 1 -o movie.tif``
- ``sptmotion likelihood movie.tif tracks.csv --motion bm --D 0.05 [--json]``
- ``sptmotion likelihood sweep -o benchmarks/results/likelihood_sweep.md``

``likelihood`` is a command group whose default command (``eval``) runs when the first argument
is not a sub-command name, so both spellings above work.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from typer.core import TyperGroup

__all__ = ["register", "table_to_fine_tracks"]


def table_to_fine_tracks(
    df: pd.DataFrame, subframes: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Fine-grid track array from a track table.

    Parameters
    ----------
    df : DataFrame
        Track table (``particle``, ``frame``, ``x``, ``y`` [, ``z``] [, ``subframe``]), positions in µm.
    subframes : int, optional
        K; by default ``max(subframe) + 1`` (1 without a ``subframe`` column).

    Returns
    -------
    X : ndarray, shape (M, N*K, dim)
        Positions; point ``frame*K + subframe``; NaN where a particle is absent.
    particles : ndarray
        Particle id of each row of ``X``.
    K : int
    """
    from ..datasets.tables import AXES, _dims_of, check_table

    df = check_table(df)
    has_sub = "subframe" in df.columns
    sub = df["subframe"].to_numpy(dtype=np.int64) if has_sub else np.zeros(len(df), dtype=np.int64)
    K = int(sub.max()) + 1 if subframes is None else int(subframes)
    if K < 1:
        raise ValueError(f"subframes K must be >= 1, got {K}")
    frame = df["frame"].to_numpy(dtype=np.int64)
    if (frame < 0).any() or (sub < 0).any() or (sub >= K).any():
        raise ValueError(f"track table has negative frames or subframe values outside 0..{K - 1}")
    dim = _dims_of(df)
    particles, pidx = np.unique(df["particle"].to_numpy(), return_inverse=True)
    N = int(frame.max()) + 1
    X = np.full((len(particles), N * K, dim), np.nan)
    X[pidx, frame * K + sub] = df[list(AXES[:dim])].to_numpy(dtype=float)
    return X, particles, K


def _table_times(df: pd.DataFrame, n_points: int, K: int) -> np.ndarray | None:
    """Times (s) of the fine points from the table's ``t`` column (None without one / if ragged)."""
    if "t" not in df.columns:
        return None
    keys = ["frame"] + (["subframe"] if "subframe" in df.columns else [])
    t = df.groupby(keys, sort=True)["t"].first().to_numpy(dtype=float)
    if t.shape != (n_points,) or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        return None
    return t - t[0]


def _shift_for(X: np.ndarray, setup, origin: str) -> np.ndarray:
    """Offset (µm) added to the table's x, y so the tracks sit in ROI coordinates."""
    w, h = setup.roi_size
    centre = np.array([w / 2, h / 2] + [0.0] * (X.shape[2] - 2))
    if origin == "roi":
        return np.zeros(X.shape[2])
    if origin == "center":
        return centre
    if origin == "auto":
        with np.errstate(invalid="ignore"):
            outside = (np.nanmin(X[..., 0]) < 0) or (np.nanmin(X[..., 1]) < 0)
        return centre if outside else np.zeros(X.shape[2])
    raise ValueError(f"--origin must be one of auto, roi, center; got {origin!r}")


def _camera_for(name: str, base):
    from ..optics.camera import EMCCDPGN, SCMOS, EMCCDGamma, get_camera

    name = name.lower()
    if name == "emccd":
        return base if isinstance(base, EMCCDGamma) else EMCCDGamma()
    if name == "emccd-pgn" and isinstance(base, EMCCDGamma):
        return EMCCDPGN(gain=base.gain, conversion=base.conversion, qe=base.qe)
    if name == "scmos":
        return SCMOS()
    return get_camera(name)


class _DefaultGroup(TyperGroup):
    """A group that runs its default command when the first argument names no sub-command."""

    default_command = "eval"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    """Add ``render`` and the ``likelihood`` group to the root app."""
    app.command("render")(render)
    lik = typer.Typer(
        cls=_DefaultGroup,
        no_args_is_help=True,
        help="Decomposed log-likelihood of a movie and its tracks (default), or the parameter sweep.",
    )
    lik.command("eval")(likelihood_eval)
    lik.command("sweep")(likelihood_sweep_cmd)
    app.add_typer(lik, name="likelihood")


def render(
    tracks: Path = typer.Argument(..., help="Track table (CSV/Parquet), positions in µm."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Output TIFF; a JSON sidecar is written next to it."
    ),
    preset: str = typer.Option("hendrix2025", help="Imaging preset."),
    camera: str = typer.Option("emccd", help="Camera model: emccd, emccd-pgn or scmos."),
    seed: int | None = typer.Option(None, help="Seed of the camera noise."),
    origin: str = typer.Option(
        "auto",
        help="Where the table's (0, 0) is: 'roi' (the ROI corner), 'center' (the ROI centre), "
        "'auto' (centre if any x or y < 0).",
    ),
    allow_outside: bool = typer.Option(
        False, help="Render emitters far outside the ROI instead of failing."
    ),
) -> None:
    """Render a widefield movie (TIFF + JSON sidecar) from a track table."""
    from ..datasets.tables import read_table
    from ..optics import preset as get_preset
    from ..optics import render as render_movie
    from ..optics import write_movie

    df = read_table(tracks)
    X, particles, K = table_to_fine_tracks(df)
    base = get_preset(preset)
    setup = base.replace(subframes=K, camera=_camera_for(camera, base.camera))
    shift = _shift_for(X, setup, origin)
    t = _table_times(df, X.shape[1], K)
    if t is not None and not np.allclose(
        t, setup.fine_times(X.shape[1] // K), rtol=1e-6, atol=1e-9
    ):
        typer.echo(
            f"note: the table's times differ from the setup's sub-frame grid (frame period "
            f"{setup.frame_period} s, exposure {setup.exposure} s, K = {K}); the K positions of each "
            "frame are rendered as the positions during that frame's exposure",
            err=True,
        )
    movie = render_movie(X + shift, setup, rng=seed, allow_outside=allow_outside)
    meta = {
        "tracks": str(tracks),
        "n_emitters": int(len(particles)),
        "seed": seed,
        "track_shift_um": shift.tolist(),
        "preset": preset,
    }
    write_movie(output, movie, setup, metadata=meta)
    typer.echo(
        f"wrote {output} ({movie.shape[0]} frames of {setup.rows}x{setup.cols} px, {len(particles)} emitter(s), "
        f"K={K}, camera {setup.camera.name}) and {Path(output).with_suffix('.json').name}"
    )


def likelihood_eval(
    movie: Path = typer.Argument(
        ..., help="Movie TIFF written by `sptmotion render` (with its JSON sidecar)."
    ),
    tracks: Path = typer.Argument(..., help="Track table with the emitter positions (µm)."),
    motion: str = typer.Option("bm", help="Motion model with a likelihood: bm, dbm, fbm, sbm."),
    D: float = typer.Option(
        0.05, "--D", help="Diffusion coefficient D (µm²/s, µm²/s^alpha for fbm/sbm)."
    ),
    alpha: float | None = typer.Option(None, help="Anomalous exponent (fbm, sbm)."),
    v: float | None = typer.Option(None, help="Drift speed (µm/s, dbm)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    allow_outside: bool = typer.Option(False, help="Accept positions far outside the ROI."),
) -> None:
    """Print ln P(r0), ln P(data | positions), ln P(positions | motion), total and emission share."""
    from ..datasets.tables import read_table
    from ..likelihood import decompose
    from ..motion import get_model
    from ..optics import read_movie

    stack, setup, meta = read_movie(movie)
    df = read_table(tracks)
    X, _, K = table_to_fine_tracks(df)
    if K != setup.subframes:
        raise ValueError(
            f"the tracks have K={K} subframes but the movie was rendered with K={setup.subframes}"
        )
    shift = np.asarray(
        meta.get("metadata", {}).get("track_shift_um", np.zeros(X.shape[2])), dtype=float
    )
    if shift.shape != (X.shape[2],):
        shift = np.zeros(X.shape[2])
    params = {"D": D}
    if alpha is not None:
        params["alpha"] = alpha
    if v is not None:
        params["v"] = v
    cls = get_model(motion)
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for motion model {motion!r}: {exc}") from None
    times = _table_times(df, X.shape[1], K)
    parts = decompose(
        stack, X + shift, setup, motion=model, allow_outside=allow_outside, times=times
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
    seed: int = typer.Option(0, help="Seed of the sweep."),
    repeats: int = typer.Option(3, help="Movies per setting (the table holds means)."),
    quick: bool = typer.Option(False, help="A small grid (for smoke tests)."),
) -> None:
    """Sweep D, N, H, F, G, K (and generating models, and few frames x D) and tabulate the likelihood's parts."""
    from .._io import atomic_path
    from ..likelihood import SWEEP_OTHER_MODELS, likelihood_sweep, plot_sweep, sweep_markdown

    grid = other = signs = None
    if quick:
        grid = {"D": [0.05, 10.0], "N": [2, 8]}
        other = {k: SWEEP_OTHER_MODELS[k] for k in ("bm", "fbm (alpha=0.5)")}
        signs = {"K": [1], "N": [2], "D": [0.01, 10.0]}
    df = likelihood_sweep(seed=seed, repeats=repeats, grid=grid, other_models=other, sign_map=signs)
    out = Path(output)
    from .. import __version__

    text = (
        "# Decomposed likelihood of widefield SPT movies (after Hendrix, Xu & Pressé 2025)\n\n"
        f"Generated by `sptmotion likelihood sweep --seed {seed} --repeats {repeats}"
        f"{' --quick' if quick else ''}` (sptmotion {__version__}); means over {repeats} movie(s) per row.\n\n"
        + sweep_markdown(df)
        + f"\n![sweep]({out.with_suffix('.png').name})\n"
    )
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    with atomic_path(out.with_suffix(".csv")) as tmp:
        df.to_csv(tmp, index=False)
    plot_sweep(df, out.with_suffix(".png"))
    typer.echo(
        f"wrote {out}, {out.with_suffix('.png').name} and {out.with_suffix('.csv').name} ({len(df)} rows)"
    )
