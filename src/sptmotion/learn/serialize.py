"""Save and load fitted learners as one file, without pickle.

File format (``.sptm``): a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

- ``__meta__``: UTF-8 JSON (as a uint8 array) with the format name and version, the estimator
  class, its constructor parameters, the task, the representation, the classes, the
  calibration constants, the training-data description, the package version and - for the
  LightGBM learner - the boosters' model strings (LightGBM's own text format);
- ``net{k}/{name}``: the tensors of the state dict of ensemble member ``k``;
- ``norm_mean`` / ``norm_std``: the scalogram normalization of the wavelet learner.

It is read back with ``numpy.load(..., allow_pickle=False)``, so loading a file never runs
code. Numeric arrays are stored exactly: a loaded model predicts bit-identically.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_path

__all__ = [
    "save_estimator",
    "read_model",
    "restore_fitted",
    "stored_params",
    "FORMAT",
    "FORMAT_VERSION",
]

FORMAT = "sptmotion-learner"
FORMAT_VERSION = 1

_FITTED_SCALARS = {
    "AlphaRegressor": (
        "dim_",
        "n_tracks_",
        "std_scale_",
        "y_mean_",
        "y_std_",
        "half_floor_",
        "length_scale_",
    ),
    "ModelClassifier": ("dim_", "n_tracks_", "temperature_"),
}


def _json_params(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, np.random.Generator):
            v = None
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.floating):
            v = float(v)
        out[k] = v
    return out


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_lightgbm(meta: dict) -> None:
    """Refuse a LightGBM payload that is not intact before LightGBM's native parser sees it (a
    damaged model string can crash the process there): its checksum, or in files written
    without one, the end markers of LightGBM's text format."""
    strings = meta["lightgbm"]
    sums = meta.get("lightgbm_sha256")
    for key, text in strings.items():
        if not isinstance(text, str):
            raise ValueError(f"LightGBM model {key!r} is not text")
        if sums is not None:
            if _sha256(text) != sums.get(key):
                raise ValueError(f"LightGBM model {key!r} fails its checksum")
        elif "\nend of trees" not in text or "\nend of parameters" not in text:
            raise ValueError(f"LightGBM model {key!r} is cut short")


def save_estimator(est, path: str | os.PathLike) -> Path:
    """Write a fitted :class:`AlphaRegressor` / :class:`ModelClassifier` to ``path`` (atomically)."""
    from .. import __version__

    est._check_fitted()
    name = type(est).__name__
    meta: dict = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "estimator": name,
        "task": est._task,
        "representation": est.representation,
        "params": _json_params(est.get_params()),
        "training_data": est.training_data_,
        "fitted": {k: getattr(est, k) for k in _FITTED_SCALARS[name] if hasattr(est, k)},
    }
    if name == "ModelClassifier":
        meta["classes"] = est.classes_.tolist()
    arrays: dict[str, np.ndarray] = {}
    if est.representation == "features":
        meta["lightgbm"] = {k: b.model_to_string() for k, b in est.boosters_.items()}
        meta["lightgbm_sha256"] = {k: _sha256(v) for k, v in meta["lightgbm"].items()}
        meta["feature_names"] = list(est.feature_names_)
    else:
        meta["net"] = {"name": est.net_name_, "config": est.net_config_, "n_models": len(est.nets_)}
        meta["history"] = est.history_
        for k, net in enumerate(est.nets_):
            for key, t in net.state_dict().items():
                arrays[f"net{k}/{key}"] = t.detach().cpu().numpy()
        if est.representation == "wavelet":
            arrays["norm_mean"] = est.norm_mean_
            arrays["norm_std"] = est.norm_std_
            if getattr(est, "scale_inputs", False):
                arrays["side_norm"] = np.asarray(est.side_norm_, dtype=np.float32)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    p = Path(path)
    with atomic_path(p) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return p


def read_model(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read the metadata and arrays of a file written by :func:`save_estimator`.

    Returns
    -------
    meta : dict
        The JSON metadata (format, estimator class name, parameters, fitted scalars, ...).
    arrays : dict of str to ndarray
        The stored arrays (network tensors, normalization).

    Raises
    ------
    ValueError
        If the file is missing, not a model file of this package, or of a newer format.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"cannot read model: no such file {p}")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as exc:
        raise ValueError(
            f"cannot read model file {p}: not an sptmotion model ({type(exc).__name__})"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"cannot read model file {p}: not an sptmotion model")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"model file {p} has format version {meta['format_version']}, newer than this package"
        )
    return meta, arrays


def stored_params(meta: dict) -> dict:
    """Constructor parameters from ``meta``, with the defaults of options older files lack."""
    params = dict(meta["params"])
    # files written before test-time rotations existed predicted without them: keep that
    params.setdefault("test_rotations", 1)
    # files written before the loss option were trained with the Gaussian β-NLL
    params.setdefault("loss", "gaussian")
    # files written before scale_inputs read standardized scalograms only
    params.setdefault("scale_inputs", False)
    # files written before measurement_inputs read no exposure ratio or sigma
    params.setdefault("measurement_inputs", False)
    # files written before window_points read every track whole
    params.setdefault("window_points", None)
    return params


def _check_length_scale(cal) -> None:
    """A stored length calibration: increasing finite knots, finite positive factors."""
    if cal is None:
        return
    knots = np.asarray(cal["log_points"], dtype=float)
    factor = np.asarray(cal["factor"], dtype=float)
    if (
        knots.ndim != 1
        or knots.shape != factor.shape
        or knots.size == 0
        or not np.all(np.isfinite(knots))
        or np.any(np.diff(knots) < 0)
        or not np.all(np.isfinite(factor) & (factor > 0))
    ):
        raise ValueError("length_scale_ must hold increasing knots and positive factors")


def restore_fitted(est, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Set the fitted attributes of a freshly constructed ``est`` from a stored model.

    Raises ``KeyError``/``TypeError``/``RuntimeError`` on damaged content; the caller names the file.
    """
    import torch

    from .nets import build_net

    for k, v in meta["fitted"].items():
        if isinstance(v, float) and not np.isfinite(v):
            raise ValueError(f"fitted value {k} is {v}")
        setattr(est, k, v)
    _check_length_scale(meta["fitted"].get("length_scale_"))
    est.training_data_ = meta["training_data"]
    if "dim_" in meta["fitted"]:
        est.n_features_in_ = int(meta["fitted"]["dim_"])
    if "classes" in meta:
        est.classes_ = np.asarray(meta["classes"])
    if meta["representation"] == "features":
        import lightgbm as lgb

        _check_lightgbm(meta)
        est.boosters_ = {k: lgb.Booster(model_str=s) for k, s in meta["lightgbm"].items()}
        est.feature_names_ = meta["feature_names"]
        return
    net_meta = meta["net"]
    est.net_name_, est.net_config_ = net_meta["name"], net_meta["config"]
    est.history_ = meta.get("history", [])
    est.nets_ = []
    for k in range(int(net_meta["n_models"])):
        net = build_net(est.net_name_, est.net_config_)
        prefix = f"net{k}/"
        state = {
            key[len(prefix) :]: torch.from_numpy(a)
            for key, a in arrays.items()
            if key.startswith(prefix)
        }
        net.load_state_dict(state, strict=True)
        est.nets_.append(net.eval())
    if meta["representation"] == "wavelet":
        est.norm_mean_, est.norm_std_ = arrays["norm_mean"], arrays["norm_std"]
        if est.scale_inputs:
            side = np.asarray(arrays["side_norm"], dtype=np.float32)
            if side.shape != (2,) or not np.all(np.isfinite(side)) or side[1] <= 0:
                raise ValueError("side_norm must be a finite (mean, std > 0) pair")
            est.side_norm_ = side
