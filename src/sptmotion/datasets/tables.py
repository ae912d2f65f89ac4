"""Long-form track tables with trackpy's column names, and their CSV/Parquet I/O.

A table has one row per point: ``particle``, ``frame``, ``x`` (and ``y``, ``z`` for 2D/3D),
optionally ``t`` (s) and ``subframe`` (0..K-1 when motion was sampled at K points per frame),
and optional per-track labels repeated on every row of the track: ``model``, ``alpha``, ``D``.
Positions are in µm. These tables interoperate with trackpy and laptrack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import check_positions
from .._io import atomic_path

__all__ = [
    "AXES",
    "TABLE_SUFFIXES",
    "READ_SUFFIXES",
    "read_hdf_table",
    "LABEL_COLUMNS",
    "tracks_to_table",
    "table_to_tracks",
    "track_labels",
    "read_table",
    "write_table",
    "table_to_fine_tracks",
    "table_times",
    "dims_of",
    "check_table",
    "group_by_length",
]

AXES = ("x", "y", "z")
#: Suffixes of the track-table files written (CSV, Parquet).
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
#: Suffixes read: also tab-separated text and TrackMate XML (TrackMate's spot CSV is a .csv).
READ_SUFFIXES = (*TABLE_SUFFIXES, ".tsv", ".xml", ".h5", ".hdf5")
#: Frame numbers must stay below this (10 million frames: 3.8 days at 30 fps); larger ones are
#: refused before anything is allocated for them.
MAX_FRAME = 10_000_000
LABEL_COLUMNS = ("model", "alpha", "D")


def tracks_to_table(
    X,
    t: np.ndarray | None = None,
    labels: Mapping[str, Sequence] | pd.DataFrame | None = None,
    *,
    particle_offset: int = 0,
    subframes: int = 1,
) -> pd.DataFrame:
    """Convert a trajectory array ``(n_tracks, n_points, dim)`` into a long-form table.

    Parameters
    ----------
    X : array_like, shape (n_tracks, n_points, dim)
        Positions in µm.
    t : array_like, shape (n_points,), optional
        Times in s of the points (added as column ``t``).
    labels : mapping or DataFrame, optional
        Per-track labels (``model``, ``alpha``, ``D``...), each of length ``n_tracks``.
    particle_offset : int
        Number of the first track (``particle`` column).
    subframes : int
        Points per frame K. With K > 1, ``frame = point // K`` and a ``subframe`` column is added.
    """
    X = check_positions(X)
    n, L, d = X.shape
    if subframes < 1:
        raise ValueError(f"subframes must be >= 1, got {subframes}")
    if subframes > 1 and L % subframes:
        raise ValueError(f"n_points={L} is not a multiple of subframes={subframes}")
    point = np.tile(np.arange(L), n)
    data: dict[str, np.ndarray] = {
        "particle": np.repeat(np.arange(particle_offset, particle_offset + n), L),
        "frame": point // subframes,
    }
    if subframes > 1:
        data["subframe"] = point % subframes
    for k in range(d):
        data[AXES[k]] = X[:, :, k].ravel()
    if t is not None:
        t = np.asarray(t, dtype=float)
        if t.shape != (L,):
            raise ValueError(f"t must have shape ({L},), got {t.shape}")
        data["t"] = np.tile(t, n)
    df = pd.DataFrame(data)
    if labels is not None:
        for key, values in (
            dict(labels).items() if not isinstance(labels, pd.DataFrame) else labels.items()
        ):
            values = np.asarray(values)
            if values.shape[0] != n:
                raise ValueError(f"label {key!r} has {values.shape[0]} values for {n} tracks")
            df[key] = np.repeat(values, L)
    return df


def dims_of(df: pd.DataFrame) -> int:
    if "x" not in df.columns:
        raise ValueError("track table needs at least the columns particle, frame, x")
    if "z" in df.columns and "y" not in df.columns:
        raise ValueError("track table has a z column but no y column")
    return 1 + ("y" in df.columns) + ("z" in df.columns)


def _numeric_columns(df: pd.DataFrame, columns: Sequence[str], name: str) -> pd.DataFrame:
    """``df`` with ``columns`` (and ``frame``, ``subframe``) as numbers; a cell that is not one
    is named by column, row and value."""
    cols = [c for c in (*columns, "frame", "subframe") if c in df.columns]
    bad = [c for c in cols if not pd.api.types.is_numeric_dtype(df[c])]
    if not bad:
        return df
    df = df.copy()
    for c in bad:
        num = pd.to_numeric(df[c], errors="coerce")
        wrong = num.isna() & df[c].notna()
        if wrong.any():
            row = int(np.flatnonzero(wrong.to_numpy())[0])
            raise ValueError(
                f"{name}: column {c!r} has a non-numeric value {df[c].iloc[row]!r} "
                f"(data row {row + 1})"
            )
        df[c] = num
    return df


def _frame_numbers(frames: np.ndarray, col: str, name: str) -> np.ndarray:
    """Frame (or subframe) numbers as int64: finite, whole, >= 0 and below :data:`MAX_FRAME`."""
    if not np.all(np.isfinite(frames)):
        raise ValueError(f"{name}: column {col!r} has missing or infinite values")
    whole = frames == np.round(frames)
    if not whole.all():
        value = frames[np.flatnonzero(~whole)[0]]
        raise ValueError(
            f"{name}: column {col!r} must hold whole frame numbers, got {value:g} "
            "(a time in seconds? give frame indices and the frame interval with --dt)"
        )
    if frames.min() < 0 or frames.max() >= MAX_FRAME:
        raise ValueError(
            f"{name}: column {col!r} must lie in 0 .. {MAX_FRAME - 1:,}, got "
            f"{frames.min():.0f} .. {frames.max():.0f}"
        )
    return frames.astype(np.int64)


def _flat_index(df: pd.DataFrame) -> pd.DataFrame:
    """A trackpy DataFrame as it comes: an index level that is also a column (``frame`` after
    ``tp.link`` / ``filter_stubs``) is dropped; a named index that is not a column becomes one."""
    names = [n for n in df.index.names if n is not None]
    if not names:
        return df
    if all(n in df.columns for n in names):
        return df.reset_index(drop=True)
    keep = [n for n in names if n not in df.columns]
    return df.reset_index(level=keep).reset_index(drop=True)


def check_table(df: pd.DataFrame, name: str = "track table") -> pd.DataFrame:
    """Validate a track table and return it sorted by particle, frame (and subframe)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame")
    df = _flat_index(df)
    if len(df) == 0:
        raise ValueError(f"{name} is empty")
    missing = [c for c in ("particle", "frame") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the column(s) {', '.join(missing)} (trackpy names expected)"
        )
    d = dims_of(df)
    axes = list(AXES[:d])
    df = _numeric_columns(df, axes, name)
    values = df[axes].to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} has NaN or inf positions in {', '.join(axes)}")
    df = df.assign(
        **{
            col: _frame_numbers(df[col].to_numpy(dtype=float), col, name)
            for col in ("frame", "subframe")
            if col in df.columns
        }
    )
    keys = ["particle", "frame"] + (["subframe"] if "subframe" in df.columns else [])
    if df.duplicated(keys).any():
        raise ValueError(f"{name} has duplicate rows for the same ({', '.join(keys)})")
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def table_to_tracks(df: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
    """Split a table into per-track arrays.

    Returns
    -------
    tracks : list of ndarray, each (n_points_i, dim)
        Positions in µm, in frame (and subframe) order.
    particles : ndarray
        The particle id of each track.

    Notes
    -----
    Use :func:`group_by_length` to batch tracks of equal length into
    ``(n_tracks, n_points, dim)`` arrays for vectorized work.
    """
    df = check_table(df)
    d = dims_of(df)
    pos = df[list(AXES[:d])].to_numpy(dtype=float)
    pid = df["particle"].to_numpy()
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
    ends = np.r_[starts[1:], len(pid)]
    tracks = [pos[s:e] for s, e in zip(starts, ends, strict=True)]
    return tracks, pid[starts]


def group_by_length(tracks: Sequence[np.ndarray]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Group tracks by length: ``{n_points: (indices, array (n, n_points, dim))}``."""
    lengths = np.array([len(tr) for tr in tracks])
    out = {}
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        out[int(L)] = (idx, np.stack([tracks[i] for i in idx]))
    return out


def track_labels(df: pd.DataFrame, columns: Sequence[str] = LABEL_COLUMNS) -> pd.DataFrame:
    """Per-track labels (first row of each particle) for the label columns present."""
    present = [c for c in columns if c in df.columns]
    return df.groupby("particle", sort=True)[present].first().reset_index()


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a track table and validate it.

    By suffix: ``.csv`` (trackpy's columns, or TrackMate's spot export: ``TRACK_ID``,
    ``FRAME``, ``POSITION_X/Y/Z`` with its extra header rows), ``.tsv``, ``.parquet``/``.pq``,
    ``.xml`` (TrackMate: the simple ``<Tracks>`` export or the full model file), ``.h5``/``.hdf5``
    (:func:`read_hdf_table`: ``DataFrame.to_hdf`` or trackpy's ``PandasHDFStore*`` files).
    Positions are taken in the file's length unit (µm for calibrated TrackMate data).
    """
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"track table {p} is a directory, not a file")
    if not p.is_file():
        raise ValueError(f"cannot read track table: no such file {p}")
    suffix = p.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise ValueError(
            f"track table {p.name}: unknown file type {p.suffix!r} (expected "
            f"{', '.join(READ_SUFFIXES)})"
        )
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix == ".xml":
            from .trackmate import read_trackmate_xml

            df = read_trackmate_xml(p)
        elif suffix in (".h5", ".hdf5"):
            df = read_hdf_table(p)
        else:
            df = pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
            from .trackmate import TRACKMATE_CSV_COLUMNS, from_trackmate_csv

            if set(TRACKMATE_CSV_COLUMNS) <= set(df.columns):
                df = from_trackmate_csv(df)
    except ValueError as exc:
        raise ValueError(f"cannot read track table {p.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad input file
        raise ValueError(f"cannot read track table {p}: {exc}") from None
    return check_table(df, name=f"track table {p.name}")


def read_hdf_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a track table from an HDF5 file written by pandas or trackpy.

    A file with one table (``df.to_hdf(path, key=...)``, trackpy's ``PandasHDFStoreSingleNode``)
    gives that table; trackpy's per-frame stores (``PandasHDFStore``, ``PandasHDFStoreBig``:
    one ``Frame_<n>`` node per frame, as ``tp.batch(..., output=store)`` and
    ``tp.link_df_iter`` write them) are joined over all frames. Other files with several
    tables are refused with their keys listed.
    """
    with pd.HDFStore(path, mode="r") as store:
        # trackpy's helper nodes: the frame cache of PandasHDFStoreBig, tabular copies
        keys = [k for k in store.keys() if not k.endswith(("/tabular", "/_Frames_Cache"))]
        if not keys:
            raise ValueError("the HDF5 file holds no table")
        frames = [k for k in keys if k.rsplit("/", 1)[-1].startswith("Frame_")]
        if frames and len(frames) == len(keys):
            return pd.concat([store[k] for k in frames], ignore_index=True)
        if len(keys) > 1:
            raise ValueError(
                f"it holds {len(keys)} tables ({', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''}); "
                "write the one track table alone (df.to_hdf(path, key='tracks'))"
            )
        return store[keys[0]]


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table to CSV or Parquet (by suffix), atomically; other suffixes are refused."""
    p = Path(path)
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise ValueError(
            f"cannot write {p.name}: tables are written as {', '.join(TABLE_SUFFIXES)}"
        )
    with atomic_path(p) as tmp:
        if p.suffix.lower() in (".parquet", ".pq"):
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return p


def table_to_fine_tracks(
    df: pd.DataFrame, subframes: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Fine-grid track array from a track table.

    Parameters
    ----------
    df : DataFrame
        Track table (``particle``, ``frame``, ``x``, ``y`` [, ``z``] [, ``subframe``]), positions in µm.
    subframes : int, optional
        K; by default ``max(subframe) + 1`` (1 without a ``subframe`` column).

    Returns
    -------
    X : ndarray, shape (M, N*K, dim)
        Positions; point ``frame*K + subframe``; NaN where a particle is absent.
    particles : ndarray
        Particle id of each row of ``X``.
    K : int
    """
    df = check_table(df)
    has_sub = "subframe" in df.columns
    sub = df["subframe"].to_numpy(dtype=np.int64) if has_sub else np.zeros(len(df), dtype=np.int64)
    K = int(sub.max()) + 1 if subframes is None else int(subframes)
    if K < 1:
        raise ValueError(f"subframes K must be >= 1, got {K}")
    frame = df["frame"].to_numpy(dtype=np.int64)
    if (frame < 0).any() or (sub < 0).any() or (sub >= K).any():
        raise ValueError(f"track table has negative frames or subframe values outside 0..{K - 1}")
    dim = dims_of(df)
    particles, pidx = np.unique(df["particle"].to_numpy(), return_inverse=True)
    N = int(frame.max()) + 1
    X = np.full((len(particles), N * K, dim), np.nan)
    X[pidx, frame * K + sub] = df[list(AXES[:dim])].to_numpy(dtype=float)
    return X, particles, K


def table_times(df: pd.DataFrame, n_points: int, K: int) -> np.ndarray | None:
    """Times (s) of the fine points from the table's ``t`` column (None without one / if ragged)."""
    if "t" not in df.columns:
        return None
    keys = ["frame"] + (["subframe"] if "subframe" in df.columns else [])
    t = df.groupby(keys, sort=True)["t"].first().to_numpy(dtype=float)
    if t.shape != (n_points,) or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        return None
    return t - t[0]
