"""CLI of the learning stage: ``train``, ``predict`` and ``benchmark andi``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from ._common import (
    examples,
    quiet_option,
    seed_option,
    setup_logging,
    tta_points_option,
    verbose_option,
)

__all__ = ["register"]


def train(
    train_path: Path = typer.Option(
        ..., "--train", help="Track table (CSV/Parquet) of the training tracks."
    ),
    output: Path = typer.Option(Path("model.sptm"), "-o", "--output", help="Model file to write."),
    task: Literal["alpha", "model"] = typer.Option(
        "alpha", "--task", help="Regression of alpha or classification of the motion model."
    ),
    representation: Literal["wavelet", "features", "trajectory"] = typer.Option(
        "wavelet", "--representation", help="Track representation and its learner."
    ),
    labels: Path | None = typer.Option(
        None, "--labels", help="CSV with particle and alpha/model columns."
    ),
    n_models: int | None = typer.Option(
        None,
        "--n-models",
        min=1,
        metavar="INT",
        help="Networks in the ensemble. Default for this and the next three: the AnDi "
        "benchmark's choice for the representation and task (wavelet: 3 networks, cosine, 40 "
        "epochs for alpha and 25 for the model; trajectory: 1, plateau, 40; features: "
        "laplace loss for alpha).",
    ),
    max_epochs: int | None = typer.Option(
        None, "--max-epochs", min=1, metavar="INT", help="Epochs (plateau: the limit)."
    ),
    lr_schedule: Literal["plateau", "cosine", "cosine_steps"] | None = typer.Option(
        None,
        "--lr-schedule",
        help="plateau (early stopping), cosine (exactly --max-epochs epochs, final weights) "
        "or cosine_steps (the same, annealed by step: one or a few epochs over a large set).",
    ),
    loss: Literal["gaussian", "laplace"] | None = typer.Option(
        None,
        "--loss",
        help="Alpha regression loss: gaussian (beta-NLL) or laplace (median head, MAE-aligned).",
    ),
    scale_inputs: bool = typer.Option(
        False,
        "--scale-inputs",
        help="Wavelet: also give the network each coordinate's log step scale (the paper's "
        "standardized scalograms cannot tell X from 100 X); predict then expects the same "
        "length unit and frame rate.",
    ),
    measurement_inputs: bool = typer.Option(
        False,
        "--measurement-inputs",
        help="Wavelet: also give the network each track's exposure ratio and localization "
        "noise, from the table's columns exposure_ratio and sigma (as simulate --andi "
        "--measured writes them; implies --scale-inputs). predict and analyze then pass "
        "what they know of them (predict: the same columns; missing means unknown).",
    ),
    tta_points: int | None = typer.Option(
        None,
        "--tta-points",
        min=1,
        metavar="INT",
        help="Wavelet: test-time rotation budget saved with the model (a track of n points "
        "is read in INT // n rotations, at least 1, at most 4). Default 200, the AnDi "
        "benchmark's choice: two rotations up to 100 points; 120 reads them once, for half "
        "the network time there.",
    ),
    seed: int = seed_option("Random seed (repeatable runs on CPU)."),
    device: Literal["auto", "cpu", "cuda"] = typer.Option(
        "auto", "--device", help="Where the networks train."
    ),
    quiet: bool = quiet_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Train an alpha regressor or a motion-model classifier on a track table."""
    from ..analysis.learned import train_from_table, wavelet_only_flag

    flag = wavelet_only_flag(
        representation,
        tta_points=tta_points,
        scale_inputs=scale_inputs,
        measurement_inputs=measurement_inputs,
    )
    if flag is not None:
        raise typer.BadParameter("applies to --representation wavelet only", param_hint=flag)
    setup_logging(quiet, verbose)
    est = train_from_table(
        train_path,
        output,
        task=task,
        representation=representation,
        labels=labels,
        n_models=n_models,
        max_epochs=max_epochs,
        lr_schedule=lr_schedule,
        loss=loss,
        scale_inputs=scale_inputs,
        measurement_inputs=measurement_inputs,
        tta_points=tta_points,
        seed=seed,
        device=device,
        verbose=not quiet,
    )
    typer.echo(
        f"trained {type(est).__name__}({representation}) on {est.n_tracks_} tracks -> {output}"
    )


def predict(
    model_path: Path = typer.Argument(..., help="Model file written by `sptmotion train`."),
    tracks_path: Path = typer.Argument(..., help="Track table (CSV/Parquet)."),
    output: Path = typer.Option(Path("predictions.csv"), "-o", "--output", help="CSV to write."),
    also: Path | None = typer.Option(
        None,
        "--also",
        metavar="PATH",
        help="A model file of the other task: alpha and the model in one table, one transform.",
    ),
    tta_points: int | None = tta_points_option(),
    quiet: bool = quiet_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Predict alpha (with alpha_std) and/or the motion model (with probabilities) per track."""
    from ..analysis.learned import predict_table

    setup_logging(quiet, verbose)
    out = predict_table(model_path, tracks_path, output, also=also, tta_points=tta_points)
    typer.echo(f"predicted {len(out)} tracks -> {output}")


def benchmark_andi(
    dim: int = typer.Option(2, "--dim", min=1, max=3, metavar="1|2|3", help="Spatial dimension."),
    length: int = typer.Option(100, "--length", min=20, metavar="INT", help="Points per track."),
    train_sizes: str = typer.Option(
        "1000,10000", "--train-sizes", help="Comma-separated training-set sizes."
    ),
    seeds: int = typer.Option(
        1, "--seeds", min=1, metavar="INT", help="Repeats (training seeds) per size."
    ),
    representations: str = typer.Option("wavelet,features,trajectory", "--representations"),
    n_test: int = typer.Option(1000, "--n-test", min=1, metavar="INT", help="Tracks per test set."),
    andi_file: Path | None = typer.Option(
        None,
        "--andi-file",
        help=".npz test sets made by andi-datasets (X_alpha, alpha, X_model, model; see benchmarks/learn_andi.py).",
    ),
    output: Path = typer.Option(
        Path("learn_andi"), "-o", "--output", help="Output stem: writes .md, .json, .png."
    ),
    n_threads: int | None = typer.Option(None, "--threads", help="torch/LightGBM threads."),
    quiet: bool = quiet_option(),
    verbose: bool = verbose_option(),
) -> None:
    """Learning curves on AnDi data for the three representations plus FBM-MLE / TAMSD references."""
    setup_logging(quiet, verbose)
    from ..studies.andi import run_andi_benchmark, write_andi_results

    try:
        sizes = tuple(int(s) for s in train_sizes.split(","))
    except ValueError:
        raise ValueError(
            f"--train-sizes must be comma-separated integers, got {train_sizes!r}"
        ) from None
    if andi_file is not None and not andi_file.is_file():
        raise ValueError(f"--andi-file: no such file {andi_file}")
    res = run_andi_benchmark(
        dim,
        length,
        sizes,
        seeds,
        tuple(representations.split(",")),
        n_test,
        andi_file,
        n_threads=n_threads,
        log=(lambda *_: None) if quiet else typer.echo,
    )
    stem = Path(output)
    write_andi_results(res, stem)
    typer.echo(f"wrote {stem.with_suffix('.md')}, .json, .png")


def register(app: typer.Typer) -> None:
    """Add ``train``, ``predict`` and the ``benchmark`` group to the root app."""
    app.command(
        "train",
        epilog=examples(
            "sptmotion train --train tracks.csv --task alpha -o alpha.sptm",
            "sptmotion train --train tracks.csv --task model --labels labels.csv -o model.sptm",
        ),
    )(train)
    app.command(
        "predict",
        epilog=examples(
            "sptmotion predict alpha.sptm tracks.csv -o predictions.csv",
            "sptmotion predict alpha.sptm tracks.csv --also model.sptm -o predictions.csv",
        ),
    )(predict)
    bench = typer.Typer(help="Benchmarks of the learners.", no_args_is_help=True)
    bench.command(
        "andi",
        epilog=examples(
            "sptmotion benchmark andi --train-sizes 100,1000 --seeds 3 -o learn_andi",
        ),
    )(benchmark_andi)
    app.add_typer(bench, name="benchmark")
