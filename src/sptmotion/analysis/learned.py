"""Learned models on track files: train on a labelled table, predict per track."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "TASKS",
    "TRAIN_DEFAULTS",
    "read_labels",
    "wavelet_only_flag",
    "table_measurement",
    "train_from_table",
    "predict_table",
]

#: The settings ``benchmarks/learn_andi.py`` chose per (representation, task) on its held-out
#: set at 1000 training tracks, with which it makes the table a user gets
#: (``benchmarks/results/learn_andi/learn_andi_v3.md``): the defaults of
#: :func:`train_from_table` and ``sptmotion train``. The wavelet learners read
#: tracks of up to 100 points in two test-time rotations (``tta_points`` 200; the estimator's
#: own default, 120, reads them in one): on held-out 100-point AnDi tracks one rotation costs
#: +0.0053 +- 0.0017 alpha MAE (paired, ``benchmarks/results/learn_andi/tta.md``), at twice the
#: network time for tracks of 61-100 points. The bundled models keep 120, at which their
#: verdict thresholds and ``analyze``'s speed were measured.
TRAIN_DEFAULTS = {
    ("wavelet", "alpha"): {
        "n_models": 3,
        "lr_schedule": "cosine",
        "max_epochs": 40,
        "tta_points": 200,
    },
    ("wavelet", "model"): {
        "n_models": 3,
        "lr_schedule": "cosine",
        "max_epochs": 25,
        "tta_points": 200,
    },
    ("trajectory", "alpha"): {
        "n_models": 1,
        "lr_schedule": "plateau",
        "max_epochs": 40,
        "patience": 6,
    },
    ("trajectory", "model"): {
        "n_models": 1,
        "lr_schedule": "plateau",
        "max_epochs": 40,
        "patience": 6,
    },
    ("features", "alpha"): {"loss": "laplace"},
}
#: Estimator defaults for what :data:`TRAIN_DEFAULTS` leaves open.
FALLBACK = {
    "n_models": 3,
    "max_epochs": 60,
    "patience": 8,
    "lr_schedule": "plateau",
    "loss": "gaussian",
    "tta_points": None,
}


def wavelet_only_flag(
    representation: str,
    *,
    tta_points: int | None = None,
    scale_inputs: bool = False,
    measurement_inputs: bool = False,
) -> str | None:
    """The first of the given ``train`` flags that apply to the wavelet representation only,
    when ``representation`` is another one (None if there is none)."""
    if representation == "wavelet":
        return None
    for flag, given in (
        ("--tta-points", tta_points is not None),
        ("--measurement-inputs", measurement_inputs),
        ("--scale-inputs", scale_inputs),
    ):
        if given:
            return flag
    return None


#: Learning tasks and their estimator classes.
TASKS = {"alpha": "AlphaRegressor", "model": "ModelClassifier"}


def read_labels(
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


def table_measurement(table: pd.DataFrame, particles: np.ndarray) -> dict | None:
    """Per-track measurement settings from a table's columns, for learners that read them.

    The columns ``exposure_ratio`` (exposure time over frame period) and ``sigma``
    (localization noise per axis, in the table's length unit), as ``simulate --andi
    --measured`` writes them; the first row of each particle counts, a missing value means
    unknown. None when the table has neither column.
    """
    from ..datasets.tables import track_labels
    from ..learn import MEASUREMENT_KEYS

    lab = track_labels(table, MEASUREMENT_KEYS)
    if len(lab.columns) == 1:  # particle only
        return None
    lab = lab.set_index("particle").reindex(particles)
    out = {}
    for key in lab.columns:
        v = pd.to_numeric(lab[key], errors="coerce")
        if v.isna().all() and lab[key].notna().any():
            raise ValueError(f"table column {key!r} must hold numbers")
        out[key] = v.to_numpy(dtype=float)
    return out


def train_from_table(
    train_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    task: str = "alpha",
    representation: str = "wavelet",
    labels: str | os.PathLike | None = None,
    n_models: int | None = None,
    max_epochs: int | None = None,
    lr_schedule: str | None = None,
    loss: str | None = None,
    scale_inputs: bool = False,
    measurement_inputs: bool = False,
    tta_points: int | None = None,
    seed: int | None = 0,
    device: str = "auto",
    verbose: bool = False,
):
    """Train an alpha regressor or a motion-model classifier on a track table and save it.

    Parameters
    ----------
    train_path : path
        Track table (CSV/Parquet) of the training tracks.
    output : path
        Model file to write (``.sptm``, no pickle).
    task : {"alpha", "model"}
        Regression of alpha or classification of the motion model.
    representation : {"wavelet", "features", "trajectory"}
        Track representation and its learner.
    labels : path, optional
        CSV with ``particle`` and the ``alpha``/``model`` column; by default the table's column.
    n_models, max_epochs, lr_schedule, loss
        Passed to the estimator (see :class:`sptmotion.learn.AlphaRegressor`); ``None``
        takes the settings the AnDi benchmark chose for this representation and task
        (:data:`TRAIN_DEFAULTS`), so a user gets what ``benchmarks/results/learn_andi``
        reports.
    tta_points : int, optional
        Wavelet: the test-time rotation budget saved with the model; None takes the table's
        (:data:`TRAIN_DEFAULTS`, 200). ``predict --tta-points`` overrides it.
    scale_inputs, seed, device, verbose
        Passed to the estimator.
    measurement_inputs : bool
        The network also reads each track's exposure ratio and localization noise, from the
        table's columns ``exposure_ratio`` and ``sigma`` (:func:`table_measurement`);
        implies ``scale_inputs``.

    Returns
    -------
    AlphaRegressor or ModelClassifier
        The fitted estimator (also written to ``output``).
    """
    from .._checks import check_int
    from .._io import check_not_inputs
    from ..datasets.tables import read_table, table_to_tracks
    from ..learn import AlphaRegressor, ModelClassifier, check_tracks

    if task not in TASKS:
        raise ValueError(f"--task must be 'alpha' or 'model', got {task!r}")
    if task == "model" and loss not in (None, "gaussian"):
        raise ValueError("--loss applies to --task alpha only")
    chosen = TRAIN_DEFAULTS.get((representation, task), {})
    settings = {
        "n_models": n_models,
        "max_epochs": max_epochs,
        "lr_schedule": lr_schedule,
        "loss": loss,
        "patience": None,
        "tta_points": None if tta_points is None else check_int(tta_points, "--tta-points", 1),
    }
    settings = {k: chosen.get(k, FALLBACK[k]) if v is None else v for k, v in settings.items()}
    flag = wavelet_only_flag(
        representation,
        tta_points=tta_points,
        scale_inputs=scale_inputs,
        measurement_inputs=measurement_inputs,
    )
    if flag is not None:
        raise ValueError(f"{flag} applies to --representation wavelet only")
    train_path = Path(train_path)
    output = Path(output)
    if output.suffix.lower() != ".sptm":
        raise ValueError(f"model file {output.name} must end in .sptm")
    check_not_inputs([output], [train_path, labels])
    table = read_table(train_path)
    tracks, particles = table_to_tracks(table)
    check_tracks(tracks, name=f"tracks of {train_path.name}")
    y = read_labels(table, particles, task, None if labels is None else Path(labels))
    if task == "alpha":
        y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
        bad = ~((y >= 0.0) & (y <= 2.0))
        if bad.any():
            raise ValueError(
                f"alpha labels must lie in [0, 2]; particle {particles[np.argmax(bad)]} has "
                f"{y[np.argmax(bad)]!r}"
            )
    measurement = None
    if measurement_inputs:
        measurement = table_measurement(table, particles)
        if measurement is None:
            raise ValueError(
                f"--measurement-inputs needs the columns exposure_ratio and / or sigma in "
                f"{train_path.name} (as simulate --andi --measured writes them)"
            )
    cls = AlphaRegressor if task == "alpha" else ModelClassifier
    est = cls(
        representation,
        **settings,
        scale_inputs=scale_inputs or measurement_inputs,
        measurement_inputs=measurement_inputs,
        random_state=seed,
        device=device,
        verbose=verbose,
    )
    est.fit(
        tracks,
        y,
        data_description=f"{train_path.name}: {len(tracks)} tracks",
        measurement=measurement,
    )
    est.save(output)
    return est


#: Columns of :func:`predict_table` after the predictions: what each track was made of.
_TRACK_INFO = ("n_points", "n_interpolated", "error")


def predict_table(
    model_path: str | os.PathLike,
    tracks_path: str | os.PathLike,
    output: str | os.PathLike,
    also: str | os.PathLike | None = None,
    tta_points: int | None = None,
) -> pd.DataFrame:
    """Predict alpha (with ``alpha_std``) and/or the motion model (with ``p_<model>``) per track.

    Frames missing inside a track are filled by linear interpolation (the learners need a regular
    grid; the same policy as ``analyze``) and counted in ``n_interpolated``; tracks shorter than
    the learners' minimum are kept in the table with ``error`` set and no prediction.

    Parameters
    ----------
    model_path : path
        Model file written by :func:`train_from_table` / ``sptmotion train``.
    tracks_path : path
        Track table (CSV/Parquet).
    output : path
        Table to write, CSV or Parquet by suffix (atomically); never one of the inputs.
    also : path, optional
        A model file of the other task: both predictions in one table, with one wavelet
        transform of each track for both (:func:`sptmotion.learn.predict_tracks`).
    tta_points : int, optional
        Test-time rotation budget of the models (their ``tta_points``): a track of ``n``
        points is read in ``min(test_rotations, tta_points // n)`` rotations (at least one)
        and the outputs averaged; None keeps each model's own (by default 120 points).

    Returns
    -------
    DataFrame
        One row per particle.
    """
    from .._io import check_not_inputs, check_output_file
    from ..datasets.tables import TABLE_SUFFIXES, read_table, write_table
    from ..learn import MIN_POINTS, load, predict_tracks
    from .pretrained import set_tta_points
    from .trackset import table_trackset

    output = check_output_file(output, TABLE_SUFFIXES)
    check_not_inputs([output], [p for p in (model_path, tracks_path, also) if p is not None])
    ests = [load(p) for p in (model_path, also) if p is not None]
    set_tta_points(ests, tta_points)
    by_kind = {type(e).__name__: e for e in ests}
    if len(by_kind) < len(ests):
        task = "alpha" if "AlphaRegressor" in by_kind else "model"
        raise ValueError(
            f"--also needs a model of the other task: {model_path} and {also} are both {task} models"
        )
    reg, clf = by_kind.get("AlphaRegressor"), by_kind.get("ModelClassifier")
    table = read_table(tracks_path)
    ts = table_trackset(table, 1.0, None)
    out = pd.DataFrame({"particle": ts.particles, "n_points": [len(t) for t in ts.observed]})
    out["n_interpolated"] = ts.extra["n_interpolated"]
    ok = np.array([len(t) >= MIN_POINTS for t in ts.tracks])
    out["error"] = np.where(ok, "", f"shorter than {MIN_POINTS} points: skipped")
    tracks = [t for t, keep in zip(ts.tracks, ok, strict=True) if keep]
    if not tracks:
        raise ValueError(f"no track of {tracks_path} has the {MIN_POINTS} points a learner needs")
    meas = None
    if any(getattr(e, "measurement_inputs", False) for e in ests):
        meas = table_measurement(table, np.asarray(ts.particles)[ok])
    if reg is not None and clf is not None:
        alpha, std, proba = predict_tracks(reg, clf, tracks, measurement=meas)
    else:
        alpha, std = (
            reg.predict(tracks, return_std=True, measurement=meas)
            if reg is not None
            else (None, None)
        )
        proba = clf.predict_proba(tracks, measurement=meas) if clf is not None else None
    if reg is not None:
        for col, val in (("alpha", alpha), ("alpha_std", std)):
            out[col] = np.nan
            out.loc[ok, col] = val
    if clf is not None:
        out["model"] = ""
        out.loc[ok, "model"] = clf.classes_[np.argmax(proba, axis=1)]
        for k, c in enumerate(clf.classes_):
            out[f"p_{c}"] = np.nan
            out.loc[ok, f"p_{c}"] = proba[:, k]
    out = out[[c for c in out.columns if c not in _TRACK_INFO] + list(_TRACK_INFO)]
    write_table(out, output)
    return out
