"""Wavelet scalograms: equality with pywt.cwt, standardization, channel order, input forms."""

import numpy as np
import pandas as pd
import pytest
import pywt

from sptmotion.datasets.tables import tracks_to_table
from sptmotion.represent import SCALES, WAVELETS, wavelet, wavelet_padded


def _reference(X, wavelets=WAVELETS, scales=SCALES):
    """The paper's recipe, one pywt.cwt call per coordinate and wavelet (method='conv')."""
    n, L, dim = X.shape
    Z = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)  # ddof=0
    ref = np.empty((n, dim * len(wavelets), len(scales), L))
    for i in range(n):
        for d in range(dim):
            for w, name in enumerate(wavelets):
                coef, _ = pywt.cwt(Z[i, :, d], scales, name)
                ref[i, d * len(wavelets) + w] = np.abs(coef)
    return ref


def _walks(n, L, dim, seed):
    return np.random.default_rng(seed).normal(size=(n, L, dim)).cumsum(axis=1)


# lengths cover the banded Toeplitz products (<= 1024 points) and the FFT path (> 1024), the
# shortest allowed track (20) and odd lengths
@pytest.mark.parametrize(
    ("L", "dim"),
    [
        (20, 1),
        (20, 3),
        (37, 2),
        (100, 1),
        (100, 2),
        (100, 3),
        (200, 2),
        (201, 1),
        (600, 3),
        (1000, 2),
        (1100, 1),
    ],
)
def test_equals_pywt_all_wavelets(L, dim):
    X = _walks(2, L, dim, seed=L + dim)
    got = wavelet(X)
    assert got.shape == (2, 6 * dim, 24, L)
    assert got.dtype == np.float32
    ref = _reference(X)
    # acceptance: equal to pywt to 1e-5 of the array's maximum (float32 arithmetic gives ~1e-6)
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))


def test_custom_wavelets_and_scales_equal_pywt():
    X = _walks(3, 64, 1, seed=3)
    wavelets, scales = ("gaus2", "cmor2.0-0.5"), [0.25, 1.5, 7.0, 30.0]
    got = wavelet(X, wavelets=wavelets, scales=scales)
    ref = _reference(X, wavelets, scales)
    assert got.shape == (3, 2, 4, 64)
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))


@pytest.mark.parametrize(("n", "L", "dim"), [(150, 100, 2), (90, 64, 3), (130, 57, 2)])
def test_many_signals_across_chunks_equal_pywt(n, L, dim):
    # several chunks of signals (the last one partial): whole-track filters of even lengths
    # use the Karatsuba even/odd split and banded ones overlapping 16-sample blocks; the
    # transform is linear per signal, so the chunking must not change any value; the
    # reference is pywt's batched call (same filters as the per-signal call)
    X = _walks(n, L, dim, seed=n + L)
    got = wavelet(X)
    Z = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    ref = np.empty(got.shape)
    for d in range(dim):
        for w, name in enumerate(WAVELETS):
            coef, _ = pywt.cwt(np.ascontiguousarray(Z[:, :, d]), SCALES, name, axis=-1)
            ref[:, d * len(WAVELETS) + w] = np.abs(coef).transpose(1, 0, 2)
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))
    # each track alone gives the same maps as inside the batch (float32 rounding only)
    np.testing.assert_allclose(wavelet(X[-3:]), got[-3:], rtol=4e-6, atol=1e-6 * np.max(got))


def test_standardization_removes_offset_and_scale():
    # each coordinate is standardized: an affine change of units leaves the maps unchanged
    X = _walks(4, 80, 2, seed=5)
    Y = X * np.array([3.7, 0.01]) + np.array([100.0, -5.0])
    a, b = wavelet(X), wavelet(Y)
    assert np.max(np.abs(a - b)) <= 1e-5 * np.max(a)


def test_constant_coordinate_gives_zeros_not_nan():
    X = _walks(2, 50, 2, seed=6)
    X[:, :, 1] = 4.2  # particle never moves along y
    got = wavelet(X)
    assert np.all(np.isfinite(got))
    assert np.all(got[:, 6:] == 0)


def test_channel_order_per_dimension_then_wavelet():
    # channel d*6 + w holds coordinate d transformed with wavelet w
    X = _walks(2, 60, 3, seed=7)
    got = wavelet(X)
    for d in range(3):
        np.testing.assert_allclose(
            got[:, 6 * d : 6 * d + 6], wavelet(X[:, :, d : d + 1]), rtol=4e-6, atol=1e-6
        )
    single = wavelet(X, wavelets=("cgau1",))
    np.testing.assert_allclose(single[:, 1], got[:, 6 + 2], rtol=4e-6, atol=1e-6)


def test_mixed_lengths_list_and_table_keep_input_order():
    rng = np.random.default_rng(8)
    tracks = [rng.normal(size=(L, 2)).cumsum(axis=0) for L in (40, 25, 40, 33)]
    maps = wavelet(tracks)
    assert [m.shape for m in maps] == [(12, 24, 40), (12, 24, 25), (12, 24, 40), (12, 24, 33)]
    for tr, m in zip(tracks, maps, strict=True):
        np.testing.assert_allclose(m, wavelet(tr)[0], rtol=4e-6, atol=1e-6)
    table = pd.concat(
        [tracks_to_table(tr[None], particle_offset=10 + i) for i, tr in enumerate(tracks)],
        ignore_index=True,
    )
    from_table = wavelet(table)
    for a, b in zip(from_table, maps, strict=True):
        np.testing.assert_allclose(a, b, rtol=4e-6, atol=1e-6)


def test_single_track_2d_input():
    X = _walks(1, 30, 2, seed=9)
    np.testing.assert_array_equal(wavelet(X[0]), wavelet(X))


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((3, 19, 2)), "at least 20 points"),
        (np.full((2, 30, 2), np.nan), "NaN"),
        (np.zeros((2, 30, 4)), "dimensions"),
        ([np.zeros((30, 2)), np.zeros((30, 3))], "same dimension"),
    ],
)
def test_bad_input_raises(X, match):
    with pytest.raises(ValueError, match=match):
        wavelet(X)


def test_bad_wavelet_or_scales_raise():
    X = _walks(1, 30, 1, seed=1)
    with pytest.raises(ValueError, match="continuous wavelet"):
        wavelet(X, wavelets=("db4",))
    with pytest.raises(ValueError, match="scales"):
        wavelet(X, scales=[1.0, -2.0])


# banded products (width 48 and 130) and FFTs (1100), the shortest track, a constant axis
@pytest.mark.parametrize("width", [48, 130, 1100])
def test_padded_batch_gives_each_tracks_own_scalograms(width):
    """Tracks of different lengths zero-padded into one array, transformed with the filters
    of that one length: each track's first samples are its own scalograms, whatever the
    array holds after its end."""
    rng = np.random.default_rng(width)
    lens = np.array([width, 20, width - 1, width // 2 + 3])
    X = rng.normal(size=(4, width, 2)).cumsum(axis=1)
    X[1, :, 1] = 7.0  # never moves along y
    for i, L in enumerate(lens):
        X[i, L:] = rng.normal(size=(width - L, 2)) * 1e3  # not read
    got = wavelet_padded(X, lens)
    assert got.shape == (4, 12, 24, width) and got.dtype == np.float32
    for i, L in enumerate(lens):
        alone = wavelet(X[i : i + 1, :L])[0]
        err = np.max(np.abs(got[i, ..., :L] - alone))
        assert err <= 1e-5 * max(np.max(np.abs(alone)), 1.0)
    assert np.all(got[1, 6:, :, : lens[1]] == 0)


@pytest.mark.parametrize(
    ("lengths", "match"),
    [
        ([30, 41], "lengths must lie"),
        ([19, 30], "lengths must lie"),
        ([30], "one per track"),
        ([30.0, 40.0], "one per track"),
    ],
)
def test_padded_batch_rejects_bad_lengths(lengths, match):
    with pytest.raises(ValueError, match=match):
        wavelet_padded(_walks(2, 40, 2, seed=2), lengths)
