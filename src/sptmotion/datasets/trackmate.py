"""TrackMate (Fiji) exports as track tables: the spot CSV, the simple XML and the full model XML.

TrackMate writes positions in the image's calibrated unit (µm when the image is calibrated) and
frames as 0-based integers. Spots that belong to no track are left out.

- Spot CSV ("Export spots", TrackMate 7+): columns ``LABEL, ID, TRACK_ID, QUALITY, POSITION_X,
  POSITION_Y, POSITION_Z, POSITION_T, FRAME, ...``, followed by three rows of descriptive names,
  short names and units before the data.
- Simple XML ("Export tracks to XML"): ``<Tracks ...><particle nSpots="..."><detection t="0"
  x="..." y="..." z="..."/>...``.
- Full model XML (the ``.xml`` TrackMate saves): spots under ``Model/AllSpots`` (``ID``,
  ``FRAME``, ``POSITION_X/Y/Z``), tracks under ``Model/AllTracks`` as edges between spot IDs,
  the kept tracks under ``Model/FilteredTracks``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

__all__ = ["TRACKMATE_CSV_COLUMNS", "from_trackmate_csv", "read_trackmate_xml"]

#: Columns that identify TrackMate's spot CSV.
TRACKMATE_CSV_COLUMNS = ("TRACK_ID", "FRAME", "POSITION_X", "POSITION_Y")


def _table(particle, frame, x, y, z) -> pd.DataFrame:
    df = pd.DataFrame({"particle": particle, "frame": frame, "x": x, "y": y})
    z = np.asarray(z, dtype=float)
    if len(z) and np.any(z != 0):  # 2D data carry z = 0
        df["z"] = z
    return df.sort_values(["particle", "frame"], kind="stable").reset_index(drop=True)


def from_trackmate_csv(df: pd.DataFrame) -> pd.DataFrame:
    """A TrackMate spot CSV (as read by pandas) as a track table (trackpy columns).

    The descriptive-name, short-name and unit rows under the header, and spots without a track,
    are dropped.
    """
    frame = pd.to_numeric(df["FRAME"], errors="coerce")
    track = pd.to_numeric(df["TRACK_ID"], errors="coerce")
    keep = frame.notna() & track.notna()
    if not keep.any():
        raise ValueError("TrackMate spot table without any spot in a track")
    d = df[keep]
    z = d["POSITION_Z"] if "POSITION_Z" in d else np.zeros(len(d))
    return _table(
        track[keep].astype(np.int64).to_numpy(),
        frame[keep].to_numpy(),
        pd.to_numeric(d["POSITION_X"], errors="coerce").to_numpy(),
        pd.to_numeric(d["POSITION_Y"], errors="coerce").to_numpy(),
        pd.to_numeric(pd.Series(z), errors="coerce").to_numpy(),
    )


def read_trackmate_xml(path: str | os.PathLike) -> pd.DataFrame:
    """Read TrackMate's simple ``<Tracks>`` export or its full model file as a track table."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"not a readable XML file ({exc})") from None
    if root.tag == "Tracks":
        return _simple_tracks(root)
    model = root.find("Model") if root.tag == "TrackMate" else None
    if model is None:
        raise ValueError(f"XML root <{root.tag}> is neither TrackMate's <Tracks> nor <TrackMate>")
    return _model_tracks(model)


def _float(el, key: str) -> float:
    value = el.get(key)
    if value is None:
        raise ValueError(f"<{el.tag}> lacks the attribute {key}")
    return float(value)


def _simple_tracks(root) -> pd.DataFrame:
    rows = [
        (i, _float(det, "t"), _float(det, "x"), _float(det, "y"), float(det.get("z", 0.0)))
        for i, particle in enumerate(root.iter("particle"))
        for det in particle.iter("detection")
    ]
    if not rows:
        raise ValueError("TrackMate <Tracks> file without any detection")
    return _table(*zip(*rows, strict=True))


def _model_tracks(model) -> pd.DataFrame:
    spots = {}
    for spot in model.iter("Spot"):
        spots[spot.get("ID")] = (
            _float(spot, "FRAME"),
            _float(spot, "POSITION_X"),
            _float(spot, "POSITION_Y"),
            float(spot.get("POSITION_Z", 0.0)),
        )
    kept = {t.get("TRACK_ID") for t in model.iter("TrackID")}
    rows = []
    for track in model.iter("Track"):
        tid = track.get("TRACK_ID")
        if kept and tid not in kept:
            continue
        ids = {e.get(k) for e in track.iter("Edge") for k in ("SPOT_SOURCE_ID", "SPOT_TARGET_ID")}
        for sid in ids:
            if sid not in spots:
                raise ValueError(f"track {tid} links the unknown spot {sid}")
            rows.append((int(tid), *spots[sid]))
    if not rows:
        raise ValueError("TrackMate model without any track")
    return _table(*zip(*rows, strict=True))
