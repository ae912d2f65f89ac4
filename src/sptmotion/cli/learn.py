"""CLI of the learning stage: ``train``, ``predict`` and ``benchmark andi``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import typer

__all__ = ["register", "run_andi_benchmark"]

TASKS = {"alpha": "AlphaRegressor", "model": "ModelClassifier"}


def _read_labels(
    table: pd.DataFrame, particles: np.ndarray, column: str, labels_path: Path | None
) -> np.ndarray:
    """Per-track labels from the label file (keyed by particle) or from the table's column."""
    from ..datasets.tables import track_labels

    if labels_path is not None:
        if not labels_path.is_file():
            raise ValueError(f"cannot read labels: no such file {labels_path}")
        try:
            lab = pd.read_csv(labels_path)
        except Exception as exc:  # noqa: BLE001 - any parser failure is bad input
            raise ValueError(f"cannot read labels file {labels_path}: {exc}") from None
        where = f"labels file {labels_path.name}"
        if "particle" not in lab.columns:
            raise ValueError(f"{where} lacks the column 'particle'")
        if lab["particle"].duplicated().any():
            raise ValueError(f"{where} has several rows for the same particle")
    else:
        lab = track_labels(table, (column,))
        where = "training table"
    if column not in lab.columns:
        raise ValueError(
            f"{where} has no column {column!r} (give it in the table or with --labels)"
        )
    lab = lab.set_index("particle")[column]
    missing = np.setdiff1d(particles, lab.index.to_numpy())
    if len(missing):
        raise ValueError(
            f"{where} has no {column!r} label for particle(s) {', '.join(map(str, missing[:5]))}"
        )
    y = lab.loc[particles].to_numpy()
    if pd.isna(y).any():
        raise ValueError(f"{where} has missing {column!r} labels")
    return y


def train(
    train_path: Path = typer.Option(
        ..., "--train", help="Track table (CSV/Parquet) of the training tracks."
    ),
    output: Path = typer.Option(Path("model.sptm"), "-o", "--output", help="Model file to write."),
    task: str = typer.Option(
        "alpha", "--task", help="alpha (regression) or model (classification)."
    ),
    representation: str = typer.Option(
        "wavelet", "--representation", help="wavelet, features or trajectory."
    ),
    labels: Path | None = typer.Option(
        None, "--labels", help="CSV with particle and alpha/model columns."
    ),
    n_models: int = typer.Option(3, "--n-models", help="Networks in the ensemble."),
    max_epochs: int = typer.Option(
        60, "--max-epochs", help="Epoch limit (early stopping ends sooner)."
    ),
    lr_schedule: str = typer.Option(
        "plateau",
        "--lr-schedule",
        help="plateau (early stopping) or cosine (exactly --max-epochs epochs, final weights; "
        "the benchmarks' setting with --max-epochs 25).",
    ),
    loss: str = typer.Option(
        "gaussian",
        "--loss",
        help="Alpha regression loss: gaussian (beta-NLL) or laplace (median head, MAE-aligned).",
    ),
    seed: int | None = typer.Option(0, "--seed", help="Random seed (repeatable runs on CPU)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train an alpha regressor or a motion-model classifier on a track table."""
    from ..datasets.tables import read_table, table_to_tracks
    from ..learn import AlphaRegressor, ModelClassifier, check_tracks

    if task not in TASKS:
        raise ValueError(f"--task must be 'alpha' or 'model', got {task!r}")
    if task == "model" and loss != "gaussian":
        raise ValueError("--loss applies to --task alpha only")
    table = read_table(train_path)
    tracks, particles = table_to_tracks(table)
    check_tracks(tracks, name=f"tracks of {train_path.name}")
    y = _read_labels(table, particles, task, labels)
    cls = AlphaRegressor if task == "alpha" else ModelClassifier
    est = cls(
        representation,
        n_models=n_models,
        max_epochs=max_epochs,
        lr_schedule=lr_schedule,
        loss=loss,
        random_state=seed,
        device=device,
        verbose=not quiet,
    )
    est.fit(tracks, y, data_description=f"{train_path.name}: {len(tracks)} tracks")
    est.save(output)
    typer.echo(f"trained {cls.__name__}({representation}) on {len(tracks)} tracks -> {output}")


def predict(
    model_path: Path = typer.Argument(..., help="Model file written by `sptmotion train`."),
    tracks_path: Path = typer.Argument(..., help="Track table (CSV/Parquet)."),
    output: Path = typer.Option(Path("predictions.csv"), "-o", "--output", help="CSV to write."),
) -> None:
    """Predict alpha (with alpha_std) or the motion model (with probabilities) per track."""
    from .._io import atomic_path
    from ..datasets.tables import read_table, table_to_tracks
    from ..learn import load

    est = load(model_path)
    tracks, particles = table_to_tracks(read_table(tracks_path))
    out = pd.DataFrame({"particle": particles})
    if type(est).__name__ == "AlphaRegressor":
        out["alpha"], out["alpha_std"] = est.predict(tracks, return_std=True)
    else:
        proba = est.predict_proba(tracks)
        out["model"] = est.classes_[np.argmax(proba, axis=1)]
        for k, c in enumerate(est.classes_):
            out[f"p_{c}"] = proba[:, k]
    with atomic_path(output) as tmp:
        out.to_csv(tmp, index=False)
    typer.echo(f"predicted {len(out)} tracks -> {output}")


# --------------------------------------------------------------------------------------
# AnDi learning-curve benchmark
# --------------------------------------------------------------------------------------
def _reference_alpha(X: np.ndarray) -> dict[str, np.ndarray]:
    """Alpha of the non-learned references: FBM maximum likelihood and the TAMSD log-log fit."""
    out = {}
    try:
        from ..motion import MODELS

        out["fbm_mle"] = MODELS["fbm"].fit(X, 1.0)["alpha"].to_numpy()
    except Exception:  # noqa: BLE001 - a reference that is not available is left out
        pass
    try:
        from ..motion.msd import fit_tamsd_alpha

        res = fit_tamsd_alpha(X, 1.0)
        out["tamsd_fit"] = np.asarray(
            res["alpha"] if isinstance(res, pd.DataFrame) else res, dtype=float
        )
    except Exception:  # noqa: BLE001
        pass
    return out


def _f1_micro(y_true, y_pred) -> float:
    return float(
        np.mean(np.asarray(y_true) == np.asarray(y_pred))
    )  # micro-F1 = accuracy (single label)


def run_andi_benchmark(
    dim: int = 2,
    length: int = 100,
    train_sizes: tuple[int, ...] = (1000,),
    seeds: int = 1,
    representations: tuple[str, ...] = ("wavelet", "features", "trajectory"),
    n_test: int = 1000,
    andi_file: Path | None = None,
    estimator_params: dict[str, dict] | None = None,
    n_threads: int | None = None,
    mix: str = "andi-datasets",
    verbose: bool = False,
    log=print,
    tasks: tuple[str, ...] = ("alpha", "model"),
) -> dict:
    """Learning curves: MAE of alpha and micro-F1 of the model versus training-set size.

    As in the AnDi challenge, alpha (task 1) and the model (task 2) have their own datasets.
    Training tracks come from :func:`sptmotion.datasets.andi` (seed ``1000 + s`` for repeat
    ``s``, class ``mix`` of andi-datasets by default, i.e. what its generator returns); the
    test sets are a held-out seed of the same generator (``heldout``, seed 999) and, when
    ``andi_file`` is given, an ``.npz`` with ``X_alpha``, ``alpha``, ``X_model``, ``model``
    made by andi-datasets (``andi_datasets``). FBM-MLE and TAMSD-fit alpha references are
    scored on the alpha test sets.

    Returns
    -------
    dict with ``settings``, ``rows`` (one per representation, size, repeat, test set) and
    ``references``.
    """
    from ..datasets import andi
    from ..learn import AlphaRegressor, ModelClassifier

    estimator_params = estimator_params or {}
    tests: dict[str, dict] = {}
    ha = andi(n_test, length, dim=dim, task="alpha", rng=999, mix=mix)
    hm = andi(n_test, length, dim=dim, task="model", rng=998, mix=mix)
    tests["heldout"] = {
        "alpha": (np.asarray(ha.X), np.asarray(ha.alpha, float)),
        "model": (np.asarray(hm.X), np.asarray(hm.model).astype(str)),
    }
    if andi_file is not None:
        with np.load(andi_file, allow_pickle=False) as f:
            tests["andi_datasets"] = {
                "alpha": (f["X_alpha"][:n_test], f["alpha"][:n_test]),
                "model": (f["X_model"][:n_test], f["model"][:n_test].astype(str)),
            }
    refs = []
    for tname, t in tests.items():
        Xt, at = t["alpha"]
        for ref, a in _reference_alpha(Xt).items():
            ok = np.isfinite(a)
            refs.append(
                {
                    "test": tname,
                    "method": ref,
                    "mae": float(np.mean(np.abs(a[ok] - at[ok]))),
                    "n_failed": int((~ok).sum()),
                }
            )
            log(f"[ref] {tname:14s} {ref:10s} MAE {refs[-1]['mae']:.3f}")
    rows = []
    for size in train_sizes:
        for s in range(seeds):
            da = andi(size, length, dim=dim, task="alpha", rng=1000 + s, mix=mix)
            dm = andi(size, length, dim=dim, task="model", rng=2000 + s, mix=mix)
            for rep in representations:
                params = {
                    "n_threads": n_threads,
                    "verbose": verbose,
                    **estimator_params.get(rep, {}),
                }
                reg = clf = None
                t_reg = t_clf = float("nan")
                if "alpha" in tasks:
                    t0 = time.time()
                    reg = AlphaRegressor(rep, random_state=s, **params).fit(
                        np.asarray(da.X), np.asarray(da.alpha, float)
                    )
                    t_reg = time.time() - t0
                if "model" in tasks:
                    t0 = time.time()
                    clf = ModelClassifier(rep, random_state=s, **params).fit(
                        np.asarray(dm.X), np.asarray(dm.model)
                    )
                    t_clf = time.time() - t0
                for tname, t in tests.items():
                    Xa, at = t["alpha"]
                    Xm, mt = t["model"]
                    row = {
                        "representation": rep,
                        "train_size": int(size),
                        "repeat": s,
                        "test": tname,
                        "mae": float("nan"),
                        "f1_micro": float("nan"),
                        "z_rms": float("nan"),
                        "fit_s_alpha": t_reg,
                        "fit_s_model": t_clf,
                    }
                    if reg is not None:
                        a_hat, a_std = reg.predict(Xa, return_std=True)
                        row["mae"] = float(np.mean(np.abs(a_hat - at)))
                        row["z_rms"] = float(np.sqrt(np.mean(((a_hat - at) / a_std) ** 2)))
                    if clf is not None:
                        row["f1_micro"] = _f1_micro(mt, clf.predict(Xm))
                    rows.append(row)
                    log(
                        f"[{rep:10s}] n={size:6d} rep={s} {tname:14s} MAE {row['mae']:.3f} "
                        f"F1 {row['f1_micro']:.3f} rms-z {row['z_rms']:.2f} (fit {t_reg:.0f}+{t_clf:.0f} s)"
                    )
    settings = {
        "dim": dim,
        "length": length,
        "train_sizes": list(train_sizes),
        "seeds": seeds,
        "n_test": n_test,
        "mix": mix,
        "andi_file": str(andi_file) if andi_file else None,
        "estimator_params": estimator_params,
    }
    return {"settings": settings, "rows": rows, "references": refs}


def andi_report(result: dict, md_path: Path, png_path: Path | None = None, title: str = "") -> None:
    """Markdown table (mean +- std over repeats) and learning-curve plot of :func:`run_andi_benchmark`."""
    from .._io import atomic_path

    df = pd.DataFrame(result["rows"])
    lines = [f"# {title or 'AnDi learning curves'}", ""]
    st = result["settings"]
    lines.append(
        f"{st['dim']}D tracks of {st['length']} points; {st['seeds']} repeat(s) per training size; "
        f"test sets of {st['n_test']} tracks. MAE of alpha (lower is better), micro-F1 of the "
        "model (higher is better); mean +- std over repeats."
    )
    lines.append("")
    if len(df):
        g = df.groupby(["test", "representation", "train_size"])
        agg = g.agg(
            mae=("mae", "mean"),
            mae_sd=("mae", "std"),
            f1=("f1_micro", "mean"),
            f1_sd=("f1_micro", "std"),
            z=("z_rms", "mean"),
            t_a=("fit_s_alpha", "mean"),
            t_m=("fit_s_model", "mean"),
        ).reset_index()
        lines.append(
            "| test set | representation | train size | alpha MAE | model micro-F1 | rms z of alpha | fit time alpha+model (s) |"
        )
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for _, r in agg.iterrows():
            sd = lambda v: "" if not np.isfinite(v) else f" +- {v:.3f}"  # noqa: E731
            lines.append(
                f"| {r['test']} | {r['representation']} | {r['train_size']} | {r['mae']:.3f}{sd(r['mae_sd'])} | "
                f"{r['f1']:.3f}{sd(r['f1_sd'])} | {r['z']:.2f} | {r['t_a']:.0f}+{r['t_m']:.0f} |"
            )
    if result["references"]:
        lines += [
            "",
            "Non-learned alpha references on the same test sets:",
            "",
            "| test set | method | alpha MAE |",
            "|---|---|---:|",
        ]
        for r in result["references"]:
            lines.append(f"| {r['test']} | {r['method']} | {r['mae']:.3f} |")
    with atomic_path(md_path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    if png_path is not None and len(df):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for (test, rep), d in df.groupby(["test", "representation"]):
            m = d.groupby("train_size")[["mae", "f1_micro"]].mean()
            ls = "-" if test == "andi_datasets" else "--"
            axes[0].plot(m.index, m["mae"], ls, marker="o", label=f"{rep} ({test})")
            axes[1].plot(m.index, m["f1_micro"], ls, marker="o", label=f"{rep} ({test})")
        for r in result["references"]:
            axes[0].axhline(
                r["mae"], color="gray", lw=0.8, ls=":" if r["method"] == "tamsd_fit" else "-."
            )
        for ax, lab in zip(axes, ("alpha MAE", "model micro-F1"), strict=True):
            ax.set_xscale("log")
            ax.set_xlabel("training tracks")
            ax.set_ylabel(lab)
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        with atomic_path(png_path) as tmp:
            fig.savefig(tmp, dpi=120)
        plt.close(fig)


def benchmark_andi(
    dim: int = typer.Option(2, "--dim", help="Spatial dimension."),
    length: int = typer.Option(100, "--length", help="Points per track."),
    train_sizes: str = typer.Option(
        "1000,10000", "--train-sizes", help="Comma-separated training-set sizes."
    ),
    seeds: int = typer.Option(1, "--seeds", help="Repeats (training seeds) per size."),
    representations: str = typer.Option("wavelet,features,trajectory", "--representations"),
    n_test: int = typer.Option(1000, "--n-test", help="Tracks per test set."),
    andi_file: Path | None = typer.Option(
        None,
        "--andi-file",
        help=".npz test sets made by andi-datasets (X_alpha, alpha, X_model, model; see benchmarks/learn_andi.py).",
    ),
    output: Path = typer.Option(
        Path("learn_andi"), "-o", "--output", help="Output stem: writes .md, .json, .png."
    ),
    n_threads: int | None = typer.Option(None, "--threads", help="torch/LightGBM threads."),
) -> None:
    """Learning curves on AnDi data for the three representations plus FBM-MLE / TAMSD references."""
    from .._io import atomic_path

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
        log=typer.echo,
    )
    stem = Path(output)
    with atomic_path(stem.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(res, indent=1))
    andi_report(res, stem.with_suffix(".md"), stem.with_suffix(".png"))
    typer.echo(f"wrote {stem.with_suffix('.md')}, .json, .png")


def register(app: typer.Typer) -> None:
    """Add ``train``, ``predict`` and the ``benchmark`` group to the root app."""
    app.command("train")(train)
    app.command("predict")(predict)
    bench = typer.Typer(help="Benchmarks of the learners.", no_args_is_help=True)
    bench.command("andi")(benchmark_andi)
    app.add_typer(bench, name="benchmark")
