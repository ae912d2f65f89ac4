"""Datasets: AnDi-style generators, experimental loaders and track-table I/O."""

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
    "check_table",
    "group_by_length",
    "read_table",
    "table_to_tracks",
    "track_labels",
    "tracks_to_table",
    "write_table",
]
