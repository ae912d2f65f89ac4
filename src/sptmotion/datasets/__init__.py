"""Datasets: AnDi-style generators, experimental loaders and track-table I/O."""

from .andi_recipe import andi
from .experimental import load_granik2019
from .tables import (
    AXES,
    LABEL_COLUMNS,
    check_table,
    group_by_length,
    read_table,
    table_to_tracks,
    track_labels,
    tracks_to_table,
    write_table,
)

__all__ = [
    "AXES",
    "LABEL_COLUMNS",
    "andi",
    "check_table",
    "group_by_length",
    "load_granik2019",
    "read_table",
    "table_to_tracks",
    "track_labels",
    "tracks_to_table",
    "write_table",
]
