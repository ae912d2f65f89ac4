"""Track files in the formats users have: trackpy DataFrames as they come, TrackMate's spot CSV,
its simple and full XML exports, tab-separated text. Each must give the same track table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sptmotion.datasets.tables import check_table, read_table

# two tracks: particle 3 on frames 0-3, particle 7 on frames 1-2 (µm)
TRUTH = pd.DataFrame(
    {
        "particle": [3, 3, 3, 3, 7, 7],
        "frame": [0, 1, 2, 3, 1, 2],
        "x": [1.0, 1.1, 1.25, 1.3, 4.0, 4.2],
        "y": [2.0, 2.05, 1.9, 2.1, 5.0, 5.1],
    }
)


def _same(df):
    got = df[["particle", "frame", "x", "y"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, TRUTH, check_dtype=False)


def test_trackpy_frame_index_clash():
    """``tp.link``/``filter_stubs`` leave ``frame`` both as index level and column."""
    clash = TRUTH.set_index("frame", drop=False)
    _same(check_table(clash))
    only_index = TRUTH.set_index("frame")  # frame as the index alone becomes the column
    _same(check_table(only_index))


def test_tsv(tmp_path):
    TRUTH.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    _same(read_table(tmp_path / "t.tsv"))


def test_trackmate_spot_csv_with_its_header_rows(tmp_path):
    header = "LABEL,ID,TRACK_ID,QUALITY,POSITION_X,POSITION_Y,POSITION_Z,POSITION_T,FRAME\n"
    extra = (
        "Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame\n"
        "Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame\n"
        ",,,(quality),(micron),(micron),(micron),(sec),\n"
    )
    rows = [
        f"ID{i},{i},{r.particle},1.0,{r.x},{r.y},0.0,{0.1 * r.frame},{r.frame}\n"
        for i, r in enumerate(TRUTH.itertuples())
    ]
    rows.append("ID99,99,,1.0,9.0,9.0,0.0,0.0,0\n")  # a spot in no track
    (tmp_path / "spots.csv").write_text(header + extra + "".join(rows))
    _same(read_table(tmp_path / "spots.csv"))


def test_trackmate_simple_xml(tmp_path):
    parts = []
    for pid in (3, 7):
        g = TRUTH[TRUTH["particle"] == pid]
        dets = "".join(
            f'<detection t="{r.frame}" x="{r.x}" y="{r.y}" z="0.0" />' for r in g.itertuples()
        )
        parts.append(f'<particle nSpots="{len(g)}">{dets}</particle>')
    xml = (
        '<?xml version="1.0"?><Tracks nTracks="2" spaceUnits="micron">'
        + "".join(parts)
        + "</Tracks>"
    )
    (tmp_path / "tracks.xml").write_text(xml)
    got = read_table(tmp_path / "tracks.xml")
    # the simple export has no track ids: tracks are numbered in file order
    np.testing.assert_array_equal(got["particle"], [0, 0, 0, 0, 1, 1])
    np.testing.assert_allclose(got[["frame", "x", "y"]], TRUTH[["frame", "x", "y"]])


def test_trackmate_model_xml_keeps_filtered_tracks(tmp_path):
    spots, tracks = [], []
    sid = 0
    for pid in (3, 7, 9):
        g = TRUTH[TRUTH["particle"] == pid] if pid != 9 else TRUTH.iloc[:2].assign(particle=9)
        ids = []
        for r in g.itertuples():
            spots.append(
                f'<Spot ID="{sid}" FRAME="{r.frame}" POSITION_X="{r.x}" POSITION_Y="{r.y}" POSITION_Z="0"/>'
            )
            ids.append(sid)
            sid += 1
        edges = "".join(
            f'<Edge SPOT_SOURCE_ID="{a}" SPOT_TARGET_ID="{b}"/>'
            for a, b in zip(ids, ids[1:], strict=False)
        )
        tracks.append(f'<Track TRACK_ID="{pid}">{edges}</Track>')
    xml = (
        '<?xml version="1.0"?><TrackMate version="7"><Model spatialunits="micron">'
        f'<AllSpots><SpotsInFrame frame="0">{"".join(spots)}</SpotsInFrame></AllSpots>'
        f"<AllTracks>{''.join(tracks)}</AllTracks>"
        '<FilteredTracks><TrackID TRACK_ID="3"/><TrackID TRACK_ID="7"/></FilteredTracks>'
        "</Model></TrackMate>"
    )
    (tmp_path / "model.xml").write_text(xml)
    _same(read_table(tmp_path / "model.xml"))  # track 9 was filtered out in TrackMate


@pytest.mark.parametrize("text", ["<Other/>", "not xml at all", "<Tracks></Tracks>"])
def test_bad_xml_is_one_value_error(tmp_path, text):
    (tmp_path / "x.xml").write_text(text)
    with pytest.raises(ValueError, match="x.xml"):
        read_table(tmp_path / "x.xml")


def test_positions_in_pixels_are_flagged(tmp_path, caplog):
    """Positions that move microns per frame are most likely pixels: warned without --pixel-size,
    recorded in summary.json, and not warned when the pixel size is given."""
    import json
    import logging

    from sptmotion.analysis import analyze_table
    from sptmotion.datasets import tracks_to_table
    from sptmotion.motion import MODELS

    X, _ = MODELS["bm"](D=0.1).sample(3, 39, dim=2, dt=0.03, rng=np.random.default_rng(0))
    pixels = tracks_to_table(X / 0.016)  # 16 nm pixels: steps of ~5 units per frame
    with caplog.at_level(logging.WARNING, logger="sptmotion"):
        analyze_table(pixels, tmp_path / "a", dt=0.03, figures=False)
    assert any("--pixel-size" in r.getMessage() for r in caplog.records)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["warnings"] and "pixels" in summary["warnings"][0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sptmotion"):
        analyze_table(pixels, tmp_path / "b", dt=0.03, pixel_size=0.016, figures=False)
    assert not any("--pixel-size" in r.getMessage() for r in caplog.records)


def test_tiff_calibration_read_and_written(tmp_path, caplog):
    """Pixel size and frame interval come from ImageJ or OME metadata when a movie has no
    sidecar (a flag overrides them, with a warning), and rendered movies carry them for Fiji."""
    import logging

    import tifffile

    from sptmotion import optics
    from sptmotion.optics.io import tiff_calibration

    frames = np.full((6, 12, 12), 300.0, dtype=np.float32)
    tifffile.imwrite(
        tmp_path / "ij.tif",
        frames,
        imagej=True,
        resolution=(10.0, 10.0),
        metadata={"axes": "TYX", "unit": "micron", "finterval": 0.05},
    )
    _, setup, meta = optics.load_movie(tmp_path / "ij.tif", preset="hendrix2025")
    assert setup.pixel_size == pytest.approx(0.1) and setup.frame_period == pytest.approx(0.05)
    assert "TIFF" in meta["parameters_from"]
    tifffile.imwrite(
        tmp_path / "ome.tif",
        frames,
        ome=True,
        metadata={"axes": "TYX", "PhysicalSizeX": 107, "PhysicalSizeXUnit": "nm"},
    )
    with caplog.at_level(logging.WARNING, logger="sptmotion"):
        _, setup, _ = optics.load_movie(tmp_path / "ome.tif", preset="hendrix2025")
        assert setup.pixel_size == pytest.approx(0.107) and not caplog.records
        _, setup, _ = optics.load_movie(tmp_path / "ome.tif", preset="hendrix2025", pixel_size=0.2)
    assert setup.pixel_size == 0.2 and "a flag gives 0.2" in caplog.records[-1].getMessage()
    own = optics.preset("hendrix2025", rows=12, cols=12, subframes=1)
    optics.write_movie(tmp_path / "own.tif", frames, own)
    with tifffile.TiffFile(tmp_path / "own.tif") as tif:
        cal = tiff_calibration(tif)
    assert cal["pixel_size"] == pytest.approx(own.pixel_size)
    assert cal["frame_period"] == pytest.approx(own.frame_period)


def test_trackpy_hdf5_stores(tmp_path):
    """trackpy's per-frame HDF5 stores (as ``tp.batch(..., output=store)`` writes them) and a
    plain ``DataFrame.to_hdf`` file read back as the same table."""
    tp = pytest.importorskip("trackpy")
    for cls in (tp.PandasHDFStore, tp.PandasHDFStoreBig, tp.PandasHDFStoreSingleNode):
        path = tmp_path / f"{cls.__name__}.h5"
        with cls(str(path)) as store:
            for _, g in TRUTH.sort_values(["frame", "particle"]).groupby("frame"):
                store.put(g.reset_index(drop=True))
        got = read_table(path).sort_values(["particle", "frame"])
        _same(got)
    TRUTH.to_hdf(tmp_path / "plain.hdf5", key="tracks")
    _same(read_table(tmp_path / "plain.hdf5"))
    TRUTH.to_hdf(tmp_path / "two.h5", key="a")
    TRUTH.to_hdf(tmp_path / "two.h5", key="b")
    with pytest.raises(ValueError, match="2 tables"):
        read_table(tmp_path / "two.h5")
