"""Learners of the anomalous exponent and the motion model (scikit-learn estimators).

>>> from sptmotion.learn import AlphaRegressor, ModelClassifier, load
>>> clf = ModelClassifier(representation="wavelet", random_state=0).fit(X, models)  # doctest: +SKIP
>>> clf.predict_proba(X_new)   # calibrated probabilities, columns clf.classes_  # doctest: +SKIP
>>> clf.save("model.sptm"); clf2 = load("model.sptm")   # one file, no pickle  # doctest: +SKIP

Representations: ``"wavelet"`` (scalogram CNN, the data-efficient learner),
``"features"`` (LightGBM on classical features), ``"trajectory"`` (WADNet-style network).
"""

from .estimators import (
    MEASUREMENT_KEYS,
    MIN_POINTS,
    REPRESENTATION_NAMES,
    AlphaRegressor,
    ModelClassifier,
    check_measurement,
    check_tracks,
    predict_tracks,
)
from .estimators import load_estimator as load
from .serialize import save_estimator as save

__all__ = [
    "AlphaRegressor",
    "ModelClassifier",
    "MEASUREMENT_KEYS",
    "MIN_POINTS",
    "REPRESENTATION_NAMES",
    "check_measurement",
    "check_tracks",
    "load",
    "predict_tracks",
    "save",
]
