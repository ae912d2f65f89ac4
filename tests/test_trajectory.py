"""Normalized increments for sequence networks."""

import numpy as np
import pytest

from sptmotion.represent import trajectory


def test_shape_dtype_and_unit_population_std():
    X = np.random.default_rng(0).normal(size=(5, 40, 2)).cumsum(axis=1) * 7.0
    inc = trajectory(X)
    assert inc.shape == (5, 39, 2) and inc.dtype == np.float32
    # divided by the per-track population std (ddof=0) of all steps and axes
    np.testing.assert_allclose(inc.std(axis=(1, 2)), 1.0, rtol=1e-5)
    dX = np.diff(X, axis=1)
    expected = dX / dX.std(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(inc, expected, rtol=1e-5, atol=1e-6)


def test_unit_and_offset_invariance_keeps_axis_ratio():
    X = np.random.default_rng(1).normal(size=(3, 30, 2)).cumsum(axis=1)
    np.testing.assert_allclose(trajectory(1e-3 * X + 5.0), trajectory(X), rtol=1e-4, atol=1e-5)
    Y = X.copy()
    Y[:, :, 1] *= 0.1  # anisotropic motion stays anisotropic
    inc = trajectory(Y)
    assert np.all(inc[:, :, 1].std(axis=1) < 0.2 * inc[:, :, 0].std(axis=1))


def test_motionless_track_gives_zeros_and_lists_work():
    rng = np.random.default_rng(2)
    tracks = [np.zeros((25, 1)), rng.normal(size=(31, 1)).cumsum(axis=0)]
    out = trajectory(tracks)
    assert out[0].shape == (24, 1) and np.all(out[0] == 0)
    assert out[1].shape == (30, 1)
    np.testing.assert_allclose(out[1], trajectory(tracks[1])[0])


def test_bad_input():
    with pytest.raises(ValueError, match="at least 20 points"):
        trajectory(np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        trajectory(np.full((1, 25, 2), np.nan))
