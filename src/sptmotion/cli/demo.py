"""``sptmotion demo``: a quick tour of the package.

The demo has two parts:

1. Motion models: it simulates every registered motion model with a representative
   exponent and compares the true ``alpha`` with two classical estimators — maximum
   likelihood (the model's own exact MLE where it has one with an ``alpha`` parameter:
   FBM, SBM; otherwise the FBM MLE used as a generic Gaussian estimator) and a log-log fit
   of each track's time-averaged MSD (lags 1-10 for 100 points).
2. The full pipeline (:func:`sptmotion.analysis.pipeline.run_demo`): a widefield EMCCD movie
   of an FBM and a BM particle rendered with the reference parameters of Hendrix, Xu, Pressé
   (2025), tracked by MCMC from the raw images (and by the modular tracker), its likelihood
   decomposed, every track characterized, and an HTML report written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import typer

from .._checks import check_dim, check_positive
from .._io import atomic_path
from ..motion import MODELS, fit_tamsd_alpha

__all__ = ["run_motion_demo", "REPRESENTATIVE_PARAMS", "register"]

#: Parameters used for each model in the demo (D in µm²/s or µm²/s^alpha, v in µm/s).
REPRESENTATIVE_PARAMS: dict[str, dict] = {
    "bm": {"D": 1.0},
    "dbm": {"D": 1.0, "v": 1.0},
    "fbm": {"alpha": 0.5, "D": 1.0},
    "sbm": {"alpha": 1.5, "D": 1.0},
    "ctrw": {"alpha": 0.5},
    "attm": {"alpha": 0.5},
    "lw": {"alpha": 1.6},
}


def _demo_model(name: str):
    """Instantiate a registered model with its representative parameters."""
    cls = MODELS[name]
    if name in REPRESENTATIVE_PARAMS:
        return cls(**REPRESENTATIVE_PARAMS[name])
    low, high, _, _ = cls.alpha_range
    return cls() if low == high else cls(alpha=0.5 * (low + high))


def run_motion_demo(
    n_tracks: int = 200,
    n_steps: int = 100,
    dim: int = 2,
    dt: float = 0.03,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Simulate each motion model and estimate its exponent by MLE and by a TAMSD fit.

    Parameters
    ----------
    n_tracks, n_steps : int
        Tracks per model and steps per track.
    dim : {1, 2, 3}
        Spatial dimension.
    dt : float
        Time step in s.
    seed : int, optional
        Seed; model ``i`` (in registry order) uses ``SeedSequence(seed, spawn_key=(i,))``.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``alpha_true``, ``mle_estimator`` (which model's MLE
        gave ``alpha``), ``alpha_mle_mean``/``_std``, ``alpha_tamsd_mean``/``_std`` (over
        tracks; tracks where an estimate is undefined, e.g. a CTRW track that never moves,
        are left out) and ``n_tracks``.
    """
    if isinstance(n_tracks, bool) or not isinstance(n_tracks, int | np.integer) or n_tracks < 2:
        raise ValueError(f"n_tracks must be an integer >= 2, got {n_tracks!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 10:
        raise ValueError(f"n_steps must be an integer >= 10, got {n_steps!r}")
    dim = check_dim(dim)
    dt = check_positive(dt, "dt")
    if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root = np.random.SeedSequence(seed)
    rows = []
    for i, name in enumerate(MODELS):
        model = _demo_model(name)
        rng = np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(i,)))
        X, _ = model.sample(int(n_tracks), int(n_steps), dim=dim, dt=dt, rng=rng)
        cls = type(model)
        own = cls.has_likelihood and "alpha" in cls.fit_params
        estimator = cls if own else MODELS["fbm"]
        with np.errstate(all="ignore"):
            a_mle = estimator.fit(X, dt=dt)["alpha"].to_numpy()
            a_msd = fit_tamsd_alpha(X, dt=dt)["alpha"].to_numpy()
        a_mle = a_mle[np.isfinite(a_mle)]
        a_msd = a_msd[np.isfinite(a_msd)]
        rows.append(
            {
                "model": name,
                "alpha_true": model.alpha,
                "mle_estimator": estimator.name if own else f"{estimator.name} (generic)",
                "alpha_mle_mean": float(np.mean(a_mle)) if a_mle.size else np.nan,
                "alpha_mle_std": float(np.std(a_mle, ddof=1)) if a_mle.size > 1 else np.nan,
                "alpha_tamsd_mean": float(np.mean(a_msd)) if a_msd.size else np.nan,
                "alpha_tamsd_std": float(np.std(a_msd, ddof=1)) if a_msd.size > 1 else np.nan,
                "n_tracks": int(n_tracks),
            }
        )
    return pd.DataFrame(rows)


def _print_table(df: pd.DataFrame) -> None:
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

    @app.command("demo")
    def demo(
        output: Path = typer.Option(Path("demo-output"), "--output", "-o", help="Output folder."),
        seed: int = typer.Option(0, "--seed", help="Random seed (non-negative integer)."),
        n_tracks: int = typer.Option(200, "--n-tracks", help="Tracks simulated per model."),
        n_steps: int = typer.Option(100, "--n-steps", help="Steps per track (>= 10)."),
        motion_only: bool = typer.Option(
            False, "--motion-only", help="Only the motion-model table (a few seconds)."
        ),
    ) -> None:
        """Tour the package: motion models, then a movie analyzed end to end into a report.

        Writes OUTPUT/models.csv (true alpha vs MLE and TAMSD-fit estimates for every motion
        model) and, unless --motion-only, OUTPUT/movie.tif and the report OUTPUT/report/.
        """
        if output.exists() and not output.is_dir():
            raise ValueError(f"--output must be a folder, {output} is a file")
        df = run_motion_demo(n_tracks=n_tracks, n_steps=n_steps, seed=seed)
        output.mkdir(parents=True, exist_ok=True)
        with atomic_path(output / "models.csv") as tmp:
            df.to_csv(tmp, index=False)
        _print_table(df)
        typer.echo(f"wrote {output / 'models.csv'}")
        if not motion_only:
            from ..analysis.pipeline import run_demo

            run_demo(output, seed=seed)
