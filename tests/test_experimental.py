"""Granik et al. (2019) experimental tracks and fixed-length segments."""

import numpy as np
import pandas as pd
import pytest

from sptmotion.datasets.experimental import _find_dir, load_granik2019, segments
from sptmotion.datasets.tables import tracks_to_table


def _data_available() -> bool:
    try:
        _find_dir(None)
    except FileNotFoundError:
        return False
    return True


needs_data = pytest.mark.skipif(not _data_available(), reason="Granik 2019 data folder absent")


@needs_data
def test_reads_both_files_with_published_counts():
    df = load_granik2019()
    tracks = df.groupby("particle")
    env = tracks["environment"].first()
    # README of the data: 867 actin tracks (242,943 points), 3420 glycerol (265,229 points)
    assert (env == "actin").sum() == 867 and (env == "glycerol").sum() == 3420
    assert (df["environment"] == "actin").sum() == 242_943
    assert (df["environment"] == "glycerol").sum() == 265_229
    assert list(df.columns[:4]) == ["particle", "frame", "x", "y"]
    assert df.attrs["units"]["x"] == "pixel"
    # frames run 0..n-1 within each track; actin tracks have 200..1943 points
    n = tracks.size()
    assert (tracks["frame"].max() == n - 1).all() and (tracks["frame"].min() == 0).all()
    assert n[env == "actin"].min() == 200 and n[env == "actin"].max() == 1943


@needs_data
def test_environment_filter_and_bad_name():
    g = load_granik2019(environment="glycerol")
    assert set(g["environment"]) == {"glycerol"} and g["particle"].nunique() == 3420
    # particle ids do not depend on the subset loaded
    full = load_granik2019()
    assert set(g["particle"]) == set(full.loc[full["environment"] == "glycerol", "particle"])
    with pytest.raises(ValueError, match="environment"):
        load_granik2019(environment="water")


def test_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_granik2019(path=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="actin"):
        load_granik2019(path=tmp_path, environment="actin")


def test_segments_are_non_overlapping_pieces_of_the_parent():
    rng = np.random.default_rng(0)
    tracks = [rng.normal(size=(L, 2)).cumsum(axis=0) for L in (250, 99, 100, 305)]
    table = pd.concat([tracks_to_table(tr[None], particle_offset=i) for i, tr in enumerate(tracks)])
    table["environment"] = np.where(table["particle"] % 2 == 0, "actin", "glycerol")
    seg = segments(table.sample(frac=1.0, random_state=1), length=100)  # row order must not matter
    # 250 -> 2 segments, 99 -> 0, 100 -> 1, 305 -> 3
    assert seg.positions.shape == (6, 100, 2)
    assert list(seg.particle) == [0, 0, 2, 3, 3, 3]
    assert list(seg.start) == [0, 100, 0, 0, 100, 200]
    assert list(seg.environment) == ["actin", "actin", "actin", "glycerol", "glycerol", "glycerol"]
    for p, s0, pos in zip(seg.particle, seg.start, seg.positions, strict=True):
        np.testing.assert_array_equal(pos, tracks[p][s0 : s0 + 100])
    overlapping = segments(table, length=100, step=50)
    assert list(overlapping.start[overlapping.particle == 0]) == [0, 50, 100, 150]


def test_segments_bad_arguments():
    table = tracks_to_table(np.zeros((1, 30, 2)))
    with pytest.raises(ValueError, match="length"):
        segments(table, length=1)
    with pytest.raises(ValueError, match="step"):
        segments(table, length=10, step=0)


@needs_data
def test_segments_of_experimental_tracks():
    seg = segments(load_granik2019(), length=100)
    assert seg.positions.shape[1:] == (100, 2)
    # about 1200 segments per class or more are available for the environment benchmark
    assert (seg.environment == "actin").sum() > 1200 and (
        seg.environment == "glycerol"
    ).sum() > 1200
