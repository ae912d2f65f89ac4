"""A full field as independent regions: grouping, stitching, determinism across workers."""

import numpy as np
import pandas as pd
import pytest

from sptmotion import optics
from sptmotion.tracking.regions import (
    Region,
    find_regions,
    predicted_blur,
    sum_posteriors,
    track_field,
)

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


def _spots(path, loc_sd: float, rng, ci: float = 0.98):
    """A modular-tracker table of one particle's path (n, 2) µm: localization noise ``loc_sd``
    and bounds at level ``ci`` that say so."""
    from scipy.stats import norm

    xy = path + rng.normal(0, loc_sd, path.shape)
    half = norm.ppf(0.5 + ci / 2) * loc_sd
    return pd.DataFrame(
        {"particle": 0, "frame": np.arange(len(path)), "x": xy[:, 0], "y": xy[:, 1],
         "x_lo": xy[:, 0] - half, "x_hi": xy[:, 0] + half,
         "y_lo": xy[:, 1] - half, "y_hi": xy[:, 1] + half}
    )  # fmt: skip


def _whole(n: int):
    """Labels and a region that claim all of n frames (one pixel per frame: positions beyond
    the label grid fall on its edge)."""
    return np.ones((n, 1, 1), dtype=np.int32), Region(1, 0, n, 0, 1, 0, 1, n)


@pytest.mark.parametrize("loc_sd", [0.0, 0.06])
def test_predicted_blur_is_the_brownian_blur_of_the_spots_steps(loc_sd):
    """A random walk of variance 2 D dt per frame and axis predicts the blur sqrt(D t_E / 3),
    whatever the localization noise; within 5 SE of the medians' difference (relative SE of a
    median variance 1.44 / sqrt(n))."""
    rng = np.random.default_rng(1)
    n, D, dt, te = 20000, 0.3, SETUP.frame_period, SETUP.exposure
    path = 20 * SETUP.pixel_size + np.cumsum(rng.normal(0, np.sqrt(2 * D * dt), (n, 2)), axis=0)
    labels, region = _whole(n)
    blur = predicted_blur(_spots(path, loc_sd, rng), labels, region, SETUP)
    m1, m2 = 2 * D * dt + 2 * loc_sd**2, 4 * D * dt + 2 * loc_sd**2
    rel_se = 1.44 * (m1 + m2) / np.sqrt(n) / (m2 - m1)
    assert blur == pytest.approx(np.sqrt(D * te / 3), rel=5 * rel_se / 2)
    # a track outside the region's claimed pixels predicts nothing
    assert predicted_blur(_spots(path, loc_sd, rng), 0 * labels, region, SETUP) == 0.0


def test_predicted_blur_of_persistent_motion_comes_from_one_frame_steps():
    """FBM alpha = 1.6: the two-frame displacements grow by 2^1.6 - 1 = 2.03 over the one-frame
    ones, more than Brownian motion's 1, so the one-frame estimate (noise taken off) is the
    smaller: blur^2 = m1 t_E / (6 (dt - t_E / 3)) with m1 = 2 D dt^alpha."""
    from sptmotion.motion import MODELS

    rng = np.random.default_rng(2)
    n, D, a, dt, te = 20000, 0.2, 1.6, SETUP.frame_period, SETUP.exposure
    X, _ = MODELS["fbm"](alpha=a, D=D).sample(1, n - 1, dim=2, dt=dt, rng=3)
    labels, region = _whole(n)
    tab = _spots(X[0] - X[0].min(axis=0) + 1.0, 0.03, rng)
    blur = predicted_blur(tab, labels, region, SETUP)
    m1 = 2 * D * dt**a
    want = np.sqrt(m1 * te / (6 * (dt - te / 3)))
    assert blur == pytest.approx(want, rel=5 * 1.44 / np.sqrt(n) * (1 + 2 * 0.03**2 / m1))


def test_auto_subframes_follow_the_blur_and_keep_one_for_crowded_regions():
    from sptmotion.tracking.regions import (
        SMEAR_BLUR_FRACTION,
        SMEAR_SUBFRAMES,
        STREAK_BLUR_FRACTION,
        STREAK_MAX_CONCURRENT,
        STREAK_SUBFRAMES,
        region_subframes,
    )

    width = float(SETUP.psf.kernel_params[0])
    edge = STREAK_BLUR_FRACTION * width
    assert region_subframes("auto", 1.1 * edge, 0.0, SETUP) == STREAK_SUBFRAMES
    smear = SMEAR_BLUR_FRACTION * width
    assert region_subframes("auto", 0.9 * smear, 0.0, SETUP) == STREAK_SUBFRAMES
    assert region_subframes("auto", 1.1 * smear, 0.0, SETUP) == SMEAR_SUBFRAMES
    assert region_subframes("auto", 0.9 * edge, 0.0, SETUP) == 1
    # two particles at once in more than a few frames: one D for both, K stays 1
    assert region_subframes("auto", 10 * edge, 1.1 * STREAK_MAX_CONCURRENT, SETUP) == 1
    assert region_subframes(3, 0.0, 1.0, SETUP) == 3
    # a continuous exposure (t_E = dt) leaves the sub-frame model out
    gapless = SETUP.replace(exposure=SETUP.frame_period)
    assert region_subframes("auto", 10 * edge, 0.0, gapless) == 1
    for bad in ("x", 0, 2.5, True):
        with pytest.raises(ValueError, match="subframes must be"):
            region_subframes(bad, 0.0, 0.0, SETUP)


def test_concurrent_fraction_counts_frames_with_two_detections():
    from sptmotion.tracking.regions import concurrent_fraction

    labels, region = _whole(10)
    # frames 0-9 with one detection each, frames 2 and 5 with a second; frame 7 outside
    tab = pd.DataFrame({"frame": [*range(10), 2, 5], "x": 0.1, "y": 0.1})
    assert concurrent_fraction(tab, labels, region, SETUP) == pytest.approx(0.2)
    labels[7] = 0
    assert concurrent_fraction(tab, labels, region, SETUP) == pytest.approx(2 / 9)
    assert concurrent_fraction(tab.iloc[:0], labels, region, SETUP) == 0.0


def test_track_field_names_a_bad_subframes_value():
    movie, _ = _field(N=4)
    with pytest.raises(ValueError, match="subframes"):
        track_field(movie, SETUP, n_iterations=10, subframes="many")
