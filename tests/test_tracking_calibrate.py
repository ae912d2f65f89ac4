"""The calibration of the localizations' Fisher variances against their actual errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sptmotion import optics
from sptmotion.tracking import calibrate_fisher_variance, step_diffusion, track_modular


def _standardized_errors(setup, D, n_frames, seed, z=0.2):
    """Squared standardized lateral errors of the modular tracker's localizations of one
    emitter (exposure-weighted true position), and the localization table."""
    rng = np.random.default_rng(seed)
    t = setup.fine_times(n_frames)
    # confined (Ornstein-Uhlenbeck, relaxation 0.3 s): Brownian over a frame, stays in the ROI
    tau = 0.3
    rho = np.exp(-np.diff(t) / tau)
    kick = rng.normal(size=(len(t) - 1, 2)) * np.sqrt(D * tau * (1 - rho**2))[:, None]
    X = np.zeros((len(t), 3))
    for i in range(1, len(t)):
        X[i, :2] = rho[i - 1] * X[i - 1, :2] + kick[i - 1]
    X[:, 2] = z
    w, h = setup.roi_size
    X[:, :2] += (w / 2, h / 2)
    movie = optics.render(X[None], setup, rng=rng)
    table = track_modular(movie, setup, n_emitters=1)
    K = setup.subframes
    truth = np.einsum("nka,k->na", X.reshape(n_frames, K, 3), setup.weights)[:, :2]
    zq = stats.norm.ppf(0.99)
    se = np.stack([(table[f"{a}_hi"] - table[f"{a}_lo"]) / (2 * zq) for a in "xy"], axis=1)
    err = table[["x", "y"]].to_numpy() - truth[table["frame"].to_numpy(dtype=int)]
    u2 = (err / se) ** 2
    return u2[np.all(u2 < 64, axis=1)].mean(axis=1), table


@pytest.mark.parametrize("D", [0.0, 0.3])
def test_calibrated_factor_matches_the_errors_of_an_independent_movie(D):
    """Spots of 300 photons over 53 background photons per pixel, defocused by 0.25 µm, static
    or moving with D = 0.3 µm²/s (confined over 0.3 s, Brownian within a frame: steps of
    ~140 nm per frame, blur ~130 nm): the
    factor from simulated spots (at the localizations' own photons, backgrounds, depths and,
    for the moving one, the blur of :func:`step_diffusion`) equals the mean squared
    standardized error of the movie's localizations within 3 combined standard errors.
    The Fisher variances alone (factor 1) are rejected by the same criterion."""
    setup = optics.preset("hendrix2025", rows=20, cols=20)
    u2, table = _standardized_errors(setup, D, 1000, seed=11, z=0.25)
    emp, emp_se = u2.mean(), u2.std(ddof=1) / np.sqrt(len(u2))
    zq = stats.norm.ppf(0.99)
    noise = np.mean([((table[f"{a}_hi"] - table[f"{a}_lo"]) / (2 * zq)) ** 2 for a in "xy"])
    blur_D = step_diffusion(table, setup.frame_period, noise)
    if D == 0:
        assert blur_D < 0.01
    else:
        assert 0.5 * D < blur_D < 1.5 * D
    cal = calibrate_fisher_variance(setup, table, n_spots=1200, blur_D=blur_D, rng=3)
    tol = 3 * np.hypot(emp_se, cal.se)
    assert abs(cal.factor - emp) < tol, (cal, emp, emp_se)
    assert abs(1.0 - emp) > 3 * emp_se, (emp, emp_se)
    assert cal.n_spots >= 1170 and cal.failed < 0.03


def test_calibration_is_reproducible_and_checks_its_input():
    setup = optics.preset("hendrix2025", rows=16, cols=16)
    locs = pd.DataFrame({"photons": [300.0, 280.0], "background": [53.0, 50.0], "z": [0.1, 0.2]})
    a = calibrate_fisher_variance(setup, locs, n_spots=40, rng=5)
    b = calibrate_fisher_variance(setup, locs, n_spots=40, rng=5)
    assert a == b and a.blur_D == 0.0 and a.to_dict()["n_spots"] == a.n_spots
    with pytest.raises(ValueError, match="refine them first"):
        calibrate_fisher_variance(setup, locs.drop(columns="photons"))
    with pytest.raises(ValueError, match="no refined localization"):
        calibrate_fisher_variance(setup, locs.assign(photons=np.nan))


def test_step_diffusion_of_linked_localizations():
    """BM steps of D = 0.1 µm²/s with 30 nm noise, two particles, a gap: D within 10%
    (4000 steps per axis: SE ~2.5%); steps across a gap or between particles are not used."""
    rng = np.random.default_rng(0)
    dt, D, s = 0.033, 0.1, 0.03
    rows = []
    for p in range(2):
        x = np.cumsum(rng.normal(0, np.sqrt(2 * D * dt), (2001, 2)), axis=0) + 5 * p
        x += rng.normal(0, s, x.shape)
        frames = np.arange(2001)
        keep = frames != 1000
        rows.append(pd.DataFrame({"particle": p, "frame": frames[keep], "x": x[keep, 0],
                                  "y": x[keep, 1]}))  # fmt: skip
    table = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=1)
    assert abs(step_diffusion(table, dt, s**2) / D - 1) < 0.1
    assert step_diffusion(table.iloc[:1], dt) == 0.0
    with pytest.raises(ValueError, match="noise_var"):
        step_diffusion(table, dt, -1.0)


def test_calibration_of_an_scmos_movie_with_pixel_maps():
    """Per-pixel gain, offset and read-noise maps of the whole chip: the small calibration
    frames use their medians, and the factor comes back (not an error about map shapes)."""
    rng = np.random.default_rng(2)
    shape = (16, 16)
    cam = optics.SCMOS(
        gain=rng.uniform(1.8, 2.2, shape), offset=100.0, read_var=rng.uniform(2, 6, shape)
    )
    setup = optics.preset("hendrix2025", rows=16, cols=16, camera=cam)
    locs = pd.DataFrame({"photons": [300.0] * 3, "background": [20.0] * 3, "z": [0.1] * 3})
    cal = calibrate_fisher_variance(setup, locs, n_spots=60, rng=1)
    assert np.isfinite(cal.factor) and cal.n_spots >= 55
