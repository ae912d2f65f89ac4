"""A full field as independent regions: grouping, stitching, determinism across workers."""

import numpy as np
import pytest

from sptmotion import optics
from sptmotion.tracking.regions import find_regions, sum_posteriors, track_field

SETUP = optics.preset("hendrix2025", rows=40, cols=40, subframes=1)


def _field(seed=0, N=12):
    """Three static-ish particles: two 3 pixels apart (one region), one far away (another)."""
    rng = np.random.default_rng(seed)
    a = SETUP.pixel_size
    starts = np.array([[8, 8, 0.05], [11, 8, 0.1], [30, 28, 0.05]]) * np.array([a, a, 1.0])
    X = starts[:, None, :] + np.cumsum(rng.normal(0, 0.005, (3, N, 3)), axis=1)
    return optics.render(X, SETUP, rng=rng), X


def test_regions_group_close_particles_and_separate_far_ones():
    movie, X = _field()
    regions, labels = find_regions(movie, SETUP)
    assert len(regions) == 2
    a = SETUP.pixel_size
    lab = [labels[0, int(x[0, 1] / a), int(x[0, 0] / a)] for x in X]
    assert lab[0] == lab[1] != lab[2] and min(lab) > 0
    big = next(g for g in regions if g.label == lab[0])
    assert big.n_detections >= movie.shape[0] - 1  # the detector may see the pair as one spot


def test_sum_posteriors_is_the_convolution():
    out = sum_posteriors([{0: 0.5, 1: 0.5}, {2: 0.25, 3: 0.75}])
    assert out == pytest.approx({2: 0.125, 3: 0.5, 4: 0.375})


@pytest.mark.slow
def test_track_field_stitches_regions_with_global_ids():
    """Three particles in two regions: M posterior of the movie 3, one global id per particle,
    positions in movie coordinates; 1 or 2 worker threads give the same table."""
    movie, X = _field()
    res1 = track_field(movie, SETUP, n_iterations=400, seed=3, workers=1, n_samples=25)
    res2 = track_field(movie, SETUP, n_iterations=400, seed=3, workers=2)
    assert len(res1.regions) == 2
    post = res1.n_emitters_posterior
    assert max(post, key=post.get) == 3
    tab = res1.table
    assert sorted(tab["particle"].unique()) == [0, 1, 2]
    assert {"p_present", "region", "x_lo", "x_hi"} <= set(tab.columns)
    np.testing.assert_allclose(tab["t"], tab["frame"] * SETUP.frame_period)
    for x in X:
        d = np.hypot(tab["x"] - x[0, 0], tab["y"] - x[0, 1])
        assert (d < 0.05).sum() >= movie.shape[0] - 1  # each particle found in movie coordinates
    assert res1.table.equals(res2.table)
    # posterior samples aligned with the rows, in movie coordinates, inside the credible bounds
    S = res1.samples
    assert S.shape == (25, len(tab), 3) and res2.samples is None
    for ax, k in (("x", 0), ("y", 1)):
        inside = (S[..., k] >= tab[f"{ax}_lo"].to_numpy()) & (
            S[..., k] <= tab[f"{ax}_hi"].to_numpy()
        )
        assert inside.mean() > 0.9
    assert res1.summary()["n_emitters"] == 3
