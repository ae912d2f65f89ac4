"""The bundled pretrained models: where they live and how they are loaded (without pickle).

The package ships two learned models in ``sptmotion/data/``, trained by the committed script
``benchmarks/train_pretrained.py`` on simulated AnDi-style tracks (``datasets.andi`` with
Brownian motion included as the null model), on the wavelet representation:

- ``pretrained_alpha.sptm``: an :class:`sptmotion.learn.AlphaRegressor` (alpha with a
  predictive standard deviation);
- ``pretrained_model.sptm``: an :class:`sptmotion.learn.ModelClassifier` (probabilities of
  ``attm, bm, ctrw, fbm, lw, sbm``).

``sptmotion analyze --model PATH`` replaces them: ``PATH`` is either a folder holding
``alpha.sptm`` and/or ``model.sptm`` (what ``train_pretrained.py --output`` writes) or a
single model file, which replaces the bundled model of its own task.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._checks import check_int

__all__ = [
    "DATA_DIR",
    "ALPHA_FILE",
    "MODEL_FILE",
    "LearnedModels",
    "bundled_model_paths",
    "load_models",
    "resolve_models",
    "set_tta_points",
]

#: Folder of the package data.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: File names of the bundled models inside :data:`DATA_DIR`.
ALPHA_FILE = "pretrained_alpha.sptm"
MODEL_FILE = "pretrained_model.sptm"
#: File names inside a user model folder (``--model FOLDER``).
FOLDER_ALPHA = "alpha.sptm"
FOLDER_MODEL = "model.sptm"


@dataclass
class LearnedModels:
    """The alpha regressor and the model classifier used by the analysis.

    Attributes
    ----------
    regressor : sptmotion.learn.AlphaRegressor
        ``predict(X, return_std=True)`` -> (alpha, std).
    classifier : sptmotion.learn.ModelClassifier
        ``predict_proba(X)`` with ``classes_`` (model names, ``"bm"`` included).
    sources : dict
        For ``summary.json``: path and SHA-256 of each model file.
    """

    regressor: object
    classifier: object
    sources: dict = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        """Class names of the classifier, as strings."""
        return [str(c) for c in self.classifier.classes_]

    @property
    def tta_points(self) -> int:
        """Test-time rotation budget of the wavelet learners (points; see
        :func:`sptmotion.learn.tta_count`): the regressor's ``tta_points`` or the default."""
        from ..learn.estimators import TTA_POINT_BUDGET

        v = getattr(self.regressor, "tta_points", None)
        return int(TTA_POINT_BUDGET if v is None else v)

    @property
    def window_points(self) -> int | None:
        """Tracks longer than this are classified in windows (the classifier's
        ``window_points``; None: whole tracks)."""
        v = getattr(self.classifier, "window_points", None)
        return None if v is None else int(v)

    @property
    def min_length(self) -> int:
        """Shortest track (points) both models accept."""
        return max(_min_length(self.regressor), _min_length(self.classifier))


def _min_length(est) -> int:
    for attr in ("min_length_", "min_length"):
        v = getattr(est, attr, None)
        if v is not None:
            return int(v)
    return 20


def bundled_model_paths() -> tuple[Path, Path]:
    """Paths of the bundled (alpha regressor, model classifier) files."""
    return DATA_DIR / ALPHA_FILE, DATA_DIR / MODEL_FILE


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_one(path: Path):
    from .. import learn

    if not path.is_file():
        raise ValueError(f"model file not found: {path}")
    try:
        return learn.load(path)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is a bad model file
        raise ValueError(f"cannot load model file {path}: {exc}") from None


def _kind(est) -> str:
    from .. import learn

    if isinstance(est, learn.AlphaRegressor):
        return "alpha"
    if isinstance(est, learn.ModelClassifier):
        return "model"
    raise ValueError(f"{type(est).__name__} is neither an AlphaRegressor nor a ModelClassifier")


def resolve_models(
    models: LearnedModels | str | os.PathLike | None, tta_points: int | None = None
) -> LearnedModels:
    """The learned models of an analysis: ``models`` itself or loaded by :func:`load_models`,
    with the test-time rotation budget ``tta_points`` (points) set on both when given."""
    out = models if isinstance(models, LearnedModels) else load_models(models)
    set_tta_points([out.regressor, out.classifier], tta_points)
    return out


def set_tta_points(estimators, tta_points: int | None) -> None:
    """Set the test-time rotation budget ``tta_points`` (points, >= 1) on fitted
    ``estimators``; None leaves them as they are."""
    if tta_points is None:
        return
    check_int(tta_points, "--tta-points", 1)
    for est in estimators:
        est.tta_points = int(tta_points)


def load_models(model: str | os.PathLike | None = None) -> LearnedModels:
    """Load the learned models (the bundled ones unless ``model`` is given).

    Parameters
    ----------
    model : path, optional
        A folder with ``alpha.sptm`` and/or ``model.sptm``, or one model file (``.sptm``);
        whatever it does not provide comes from the bundled models.

    Raises
    ------
    ValueError
        If a file is missing or is not a model saved by :mod:`sptmotion.learn`.
    """
    alpha_path, model_path = bundled_model_paths()
    paths = {"alpha": alpha_path, "model": model_path}
    given: dict[str, object] = {}
    if model is not None:
        p = Path(model)
        if p.is_dir():
            found = False
            for kind, name in (("alpha", FOLDER_ALPHA), ("model", FOLDER_MODEL)):
                if (p / name).is_file():
                    paths[kind] = p / name
                    found = True
            if not found:
                raise ValueError(
                    f"model folder {p} holds neither {FOLDER_ALPHA} nor {FOLDER_MODEL}"
                )
        elif p.is_file():
            est = _load_one(p)
            kind = _kind(est)
            paths[kind] = p
            given[kind] = est
        else:
            raise ValueError(f"--model: no such file or folder {p}")
    for kind in ("alpha", "model"):
        if kind not in given and not paths[kind].is_file():
            raise ValueError(
                f"the bundled pretrained {kind} model is missing ({paths[kind]}); "
                "train it with `python benchmarks/train_pretrained.py` or pass --model PATH"
            )
    reg = given.get("alpha") or _load_one(paths["alpha"])
    clf = given.get("model") or _load_one(paths["model"])
    if _kind(reg) != "alpha":
        raise ValueError(f"{paths['alpha']} is not an alpha regressor")
    if _kind(clf) != "model":
        raise ValueError(f"{paths['model']} is not a model classifier")
    sources = {
        kind: {"path": str(path), "sha256": _sha256(path), "bundled": path.parent == DATA_DIR}
        for kind, path in paths.items()
    }
    return LearnedModels(regressor=reg, classifier=clf, sources=sources)
