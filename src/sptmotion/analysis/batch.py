"""Batch analysis of many inputs on Dask (dask.distributed), one task per input.

Layout of a batch output folder::

    OUTPUT/
      <input name>/        one finished analysis per input (results.csv, summary.json, report.html,
                           figures/, and the completion marker written last)
      results.csv          all per-track rows of all inputs, plus one row per failed input
      batch.json           inputs, status and error of each, options, versions

Every input is analyzed by :func:`sptmotion.analysis.inputs.analyze_path` in its own task;
an exception inside a task becomes a row with ``status = "failed"`` and the error message,
and the other tasks go on. A re-run skips the inputs whose folder already holds a finished
analysis (``status = "cached"``). The combined table is always assembled from the per-input
``results.csv`` files, in input order, so the serial run, a local cluster and a remote
scheduler give the same table. Each task runs with one torch thread, so the floating-point
results do not depend on the number of threads of the worker.
"""

from __future__ import annotations

import glob
import os
import traceback
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .._checks import check_int
from .._io import atomic_path
from .._io import jsonable as _jsonable
from .._parallel import torch_threads
from .inputs import analyze_path
from .output import COMPLETE_MARKER, is_complete, versions, write_json

__all__ = ["expand_inputs", "output_names", "analyze_one", "analyze_batch", "read_results"]


def expand_inputs(patterns: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Expand file names and glob patterns (``'movies/*.tif'``) into a sorted list of files.

    Raises
    ------
    ValueError
        If a pattern matches nothing or a plain name does not exist.
    """
    if isinstance(patterns, str | os.PathLike):
        patterns = [patterns]
    out: list[Path] = []
    for pat in patterns:
        s = str(pat)
        if glob.has_magic(s):
            hits = sorted(Path(h) for h in glob.glob(s, recursive=True) if Path(h).is_file())
            if not hits:
                raise ValueError(f"no input file matches {s!r}")
            out += hits
        else:
            p = Path(s)
            if not p.exists():
                raise ValueError(f"input not found: {p}")
            out.append(p)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def output_names(inputs: Sequence[Path]) -> list[str]:
    """Sub-folder name of each input: its stem, made unique when two inputs share it."""
    stems = [p.stem for p in inputs]
    names = []
    for p, s in zip(inputs, stems, strict=True):
        if stems.count(s) > 1:
            s = f"{s}-{p.suffix.lstrip('.')}-{zlib.crc32(str(p.resolve()).encode()):08x}"
        names.append(s)
    return names


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``results.csv`` (single or batch) with the ``error`` column as strings ("" = none)."""
    df = pd.read_csv(path, dtype={"error": str})
    if "error" in df:
        df["error"] = df["error"].fillna("")
    return df


def _read_results(folder: Path) -> pd.DataFrame:
    return read_results(folder / "results.csv")


def analyze_one(
    path: str | os.PathLike, folder: str | os.PathLike, options: dict | None = None
) -> pd.DataFrame:
    """Analyze one input into ``folder`` and return its rows, never raising.

    Returns the input's per-track table with the columns ``input`` and ``status``
    (``"done"``, ``"cached"`` when ``folder`` already held a finished analysis, or
    ``"failed"``: then one row whose ``error`` column holds the message).
    """
    path, folder = Path(path), Path(folder)
    options = dict(options or {})
    status = "cached"
    try:
        if not is_complete(folder):
            status = "done"
            with torch_threads(1):
                analyze_path(path, folder, **options)
        df = _read_results(folder)
    except Exception as exc:  # noqa: BLE001 - a failed input must not stop the batch
        msg = str(exc) or type(exc).__name__
        if not isinstance(exc, ValueError | FileNotFoundError | OSError):
            msg = f"{type(exc).__name__}: {msg} [{traceback.format_exc(limit=-1).strip().splitlines()[-2].strip()}]"
        df = pd.DataFrame({"error": [msg]})
        status = "failed"
    df.insert(0, "status", status)
    df.insert(0, "input", str(path))
    return df


def analyze_batch(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    workers: int = 0,
    scheduler: str | None = None,
    progress: bool = True,
    **options,
) -> pd.DataFrame:
    """Analyze many inputs, each in its own Dask task, and gather one table.

    Parameters
    ----------
    inputs : path, glob pattern or sequence of them
        Movies (``.tif``) and/or track tables (``.csv``, ``.parquet``).
    output : path
        Batch folder (created); holds one sub-folder per input, ``results.csv`` and
        ``batch.json``.
    workers : int
        Number of local worker processes (``dask.distributed.LocalCluster``, one thread
        each). 0 runs the inputs one after another in this process (no Dask).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); overrides ``workers``.
        The workers must have sptmotion installed and see the input and output paths.
    progress : bool
        Show a progress bar.
    **options
        Passed to :func:`~sptmotion.analysis.inputs.analyze_path` (``dt``, ``pixel_size``,
        ``models`` (a path), ``seed``, movie options). Every input uses the same options and
        seed, so a batch row equals the row of a single ``sptmotion analyze`` of that input.

    Returns
    -------
    DataFrame
        All rows, in input order, with the columns ``input`` and ``status`` first.
    """
    paths = expand_inputs(inputs)
    if not paths:
        raise ValueError("no inputs to analyze")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} exists and is not a folder")
    workers = check_int(workers, "workers", 0)
    if (
        "models" in options
        and options["models"] is not None
        and not isinstance(options["models"], str | os.PathLike)
    ):
        raise ValueError("batch analysis takes the learned models as a path (--model PATH)")
    out.mkdir(parents=True, exist_ok=True)
    folders = [out / name for name in output_names(paths)]
    tables: list[pd.DataFrame | None] = [None] * len(paths)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), desc="analyze", unit="input")

    if scheduler is None and int(workers) == 0:
        for i, (p, f) in enumerate(zip(paths, folders, strict=True)):
            tables[i] = analyze_one(p, f, options)
            if bar is not None:
                bar.update()
    else:
        from dask.distributed import as_completed

        from .._parallel import dask_client

        with dask_client(workers, scheduler) as client:
            futures = client.map(analyze_one, paths, folders, options=options, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in as_completed(futures):
                i = index[fut.key]
                if fut.status == "finished":
                    tables[i] = fut.result()
                else:  # the task itself died (worker lost): report it, go on
                    exc = fut.exception()
                    tables[i] = pd.DataFrame(
                        {
                            "input": [str(paths[i])],
                            "status": ["failed"],
                            "error": [f"{type(exc).__name__}: {exc}"],
                        }
                    )
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()

    table = pd.concat([t for t in tables if t is not None], ignore_index=True)
    if "error" in table:
        table["error"] = table["error"].fillna("").astype(str)
    with atomic_path(out / "results.csv") as tmp:
        table.to_csv(tmp, index=False)
    status = {
        str(p): {
            "folder": f.name,
            "status": str(t["status"].iloc[0]),
            "error": str(t["error"].iloc[0]) if t["status"].iloc[0] == "failed" else "",
            "complete": (f / COMPLETE_MARKER).is_file(),
        }
        for p, f, t in zip(paths, folders, tables, strict=True)
    }
    summary = {
        "inputs": status,
        "n_inputs": len(paths),
        "n_failed": sum(v["status"] == "failed" for v in status.values()),
        "options": _jsonable(
            {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in options.items()}
        ),
        "scheduler": scheduler
        or (f"LocalCluster({int(workers)} workers)" if workers else "serial"),
        "versions": versions(),
    }
    with atomic_path(out / "batch.json") as tmp:
        write_json(tmp, summary)
    return table
