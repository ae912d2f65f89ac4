"""`sptmotion analyze movie.tif` with an unknown number of emitters (particles entering, leaving)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sptmotion import optics
from sptmotion.analysis.movie_field import presence_localizations
from sptmotion.analysis.trackset import fill_rows
from sptmotion.cli import main
from sptmotion.motion import MODELS


def test_fill_rows_interpolates_missing_frames_along_the_points_axis():
    frames = np.array([3, 4, 7])
    v = np.array([[[0.0, 1.0], [1.0, 1.0], [4.0, -2.0]]] * 2)  # (2 samples, 3 points, 2)
    out = fill_rows(v, frames)
    assert out.shape == (2, 5, 2)
    np.testing.assert_allclose(out[0, :, 0], [0, 1, 2, 3, 4])
    np.testing.assert_allclose(out[1, :, 1], [1, 1, 0, -1, -2], atol=1e-12)
    np.testing.assert_array_equal(fill_rows(v[0, :2], frames[:2]), v[0, :2])


def test_presence_localizations_follow_each_particle_where_present():
    """Two particles 1 µm apart; the second is present in frames 10-29 only. Each frame has the
    localizations of the particles present, plus a far false detection: every localization goes
    to its own particle, the false one to none, and a particle's localizations keep its frames."""
    rng = np.random.default_rng(0)
    n = 30
    truth = [np.cumsum(rng.normal(0, 0.02, (n, 2)), axis=0) + c for c in ([1, 1], [2, 1])]
    rows_b, rows_l = [], []
    for p, tr in enumerate(truth):
        for f in range(n):
            if p == 1 and f < 10:
                continue
            rows_b.append((p, f, *tr[f], 0.0))
            xy = tr[f] + rng.normal(0, 0.03, 2)
            rows_l.append((f, *xy))
    for f in range(0, n, 3):
        rows_l.append((f, 4.0, 4.0))  # a false detection far from both
    bayes = pd.DataFrame(rows_b, columns=["particle", "frame", "x", "y", "z"])
    loc = pd.DataFrame(rows_l, columns=["frame", "x", "y"])
    for ax in "xy":
        loc[f"{ax}_lo"], loc[f"{ax}_hi"] = loc[ax] - 0.07, loc[ax] + 0.07
    ts = presence_localizations(loc, bayes, 0.03, gate_um=0.2)
    assert list(ts.particles) == [0, 1]
    np.testing.assert_array_equal(ts.observed_frames[0], np.arange(n))
    np.testing.assert_array_equal(ts.observed_frames[1], np.arange(10, n))
    for p in (0, 1):
        err = ts.observed[p] - truth[p][ts.observed_frames[p]]
        assert np.abs(err).max() < 0.15
        assert ts.point_var[p] == pytest.approx(np.full(len(err), (0.07 / 2.326) ** 2), rel=1e-3)


@pytest.mark.slow
def test_analyze_movie_without_emitters_finds_a_particle_that_enters(tmp_path: Path, capsys):
    """A 24 x 24 movie of 40 frames: one particle throughout, a second from frame 12 on.
    `sptmotion analyze movie.tif` without --emitters samples M: two Bayesian tracks with their
    frames, likelihood fits on their own localizations, the M posterior in the summary, and
    the figures of the field and of M in the report."""
    setup = optics.preset("hendrix2025", subframes=1, rows=24, cols=24)
    X, _ = MODELS["bm"](D=0.05).sample(2, 0, dim=3, rng=0, times=setup.fine_times(40))
    X[..., 2] *= 0.1
    X += np.array([[[0.8, 0.9, 0.0]], [[1.7, 1.6, 0.0]]])
    X[1, :12] = np.nan  # absent: not rendered
    tif = tmp_path / "m.tif"
    optics.write_movie(tif, optics.render(X, setup, rng=1), setup)
    out = tmp_path / "rep"
    assert main(["analyze", str(tif), "-o", str(out), "--iterations", "300", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "number of emitters, posterior: 2: 1.000" in printed
    assert "localization error bars: Fisher variances x " in printed
    res = pd.read_csv(out / "results.csv")
    bayes = res[res["tracker"] == "bayes"].sort_values("particle")
    assert len(bayes) == 2
    assert sorted(bayes["n_points"]) == [28, 40]
    assert bayes["mle_source"].str.startswith("localizations: ").all()
    assert np.isfinite(bayes["alpha_post"]).all() and (bayes["p_present_mean"] > 0.9).all()
    s = json.loads((out / "summary.json").read_text())
    assert s["parameters"]["n_emitters"] == "unknown"
    cal = s["modular"]["fisher_variance_calibration"]  # sigma_loc "auto": calibrated variances
    assert cal["n_spots"] >= 900 and 0.9 < cal["factor"] < 2.0 and cal["se"] < 0.1
    assert s["bayes"]["n_emitters_posterior"] == {"2": 1.0}
    assert s["decomposition_at_posterior_mean"]["emission_share"] > 0.99
    tracks = pd.read_csv(out / "tracks.csv")
    tb = tracks[tracks["tracker"] == "bayes"]
    assert "p_present" in tb and tb.groupby("particle")["frame"].min().tolist() in (
        [0, 12],
        [12, 0],
    )
    html = (out / "report.html").read_text()
    for fig in ("movie_overlay", "n_emitters", "track_bands_0", "loglik_bars"):
        assert f"figures/{fig}.png" in html and (out / "figures" / f"{fig}.png").is_file()
