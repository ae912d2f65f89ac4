"""The learners as scikit-learn estimators: declared 3D input, the API checks that apply, and the
model-selection tools on tracks.

scikit-learn's generic suite (``parametrize_with_checks``) is built on 2D feature matrices; a
2D ``X`` is one track for these learners, so the estimators declare ``three_d_array`` input and
the suite skips them (checked below). The API-level checks that need no 2D data run one by one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import SkipTestWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils import estimator_checks as ec
from sklearn.utils import get_tags

from sptmotion.learn import AlphaRegressor, ModelClassifier
from sptmotion.motion import MODELS

API_CHECKS = [
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_no_attributes_set_in_init",
    "check_estimator_repr",
    "check_estimator_cloneable",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_estimators_unfitted",
]
ESTIMATORS = [
    AlphaRegressor("features", random_state=0),
    ModelClassifier("features", random_state=0),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_tags_declare_track_input_and_the_2d_suite_skips(est):
    tags = get_tags(est)
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checks = list(ec._yield_all_checks(est, legacy=True))
    assert checks == [] and any(issubclass(w.category, SkipTestWarning) for w in caught)


@pytest.mark.parametrize("check", API_CHECKS)
@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_api_checks(est, check):
    getattr(ec, check)(type(est).__name__, clone(est))


def _tracks(n=60, seed=0):
    rng = np.random.default_rng(seed)
    alphas = np.repeat([0.5, 1.5], n // 2)
    X = np.concatenate(
        [
            MODELS["fbm"](alpha=a, D=1.0).sample(n // 2, 49, dim=2, dt=1.0, rng=rng)[0]
            for a in (0.5, 1.5)
        ]
    )
    return X, alphas


def test_model_selection_on_tracks():
    """cross_val_score and GridSearchCV split and refit on 3D track arrays."""
    X, alpha = _tracks()
    scores = cross_val_score(AlphaRegressor("features", random_state=0), X, alpha, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    labels = np.where(alpha < 1, "sub", "super")
    grid = GridSearchCV(
        ModelClassifier("features", random_state=0), {"augment": [True, False]}, cv=3
    )
    grid.fit(X, labels)
    assert grid.best_estimator_.n_features_in_ == 2
    assert set(grid.predict(X[:4])) <= {"sub", "super"}
