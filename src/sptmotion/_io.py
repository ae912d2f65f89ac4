"""File-output helpers: outputs are written atomically, never half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    If the body raises, the temporary file is removed and ``path`` is left untouched.
    The temporary name keeps the suffix of ``path`` so writers that infer the format from
    the suffix (pandas, tifffile, matplotlib) still work.
    """
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise ValueError(f"output folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600: give the file the mode the umask allows
            os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def current_umask() -> int:
    """The process's file-mode creation mask.

    Read from ``/proc/self/status`` where there is one (no change of the process state, safe
    in threads); elsewhere set and restored at once.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_file(path: str | os.PathLike, suffixes: tuple[str, ...]) -> Path:
    """Validate an output file path before any work: its suffix, a writable existing folder,
    not a folder itself.

    Raises
    ------
    ValueError
        One line naming the problem.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"output must end in {' or '.join(suffixes)}, got {path.name!r}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"output folder is not writable: {parent}")
    if path.is_dir():
        raise ValueError(f"output {path} is a folder")
    return path


def check_not_inputs(outputs, inputs) -> None:
    """Refuse to write over an input: every output path must differ from every input path
    (after resolving links and ``..``).

    Raises
    ------
    ValueError
        ``"output X would overwrite the input Y"``.
    """
    ins = {Path(p).resolve(): Path(p) for p in inputs if p is not None}
    for out in outputs:
        hit = ins.get(Path(out).resolve())
        if hit is not None:
            raise ValueError(f"output {out} would overwrite the input {hit}; choose another name")


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_bytes: float, what: str) -> None:
    """Refuse a request that needs more memory than is available, before allocating it.

    Raises
    ------
    ValueError
        ``"<what> needs about N GB of memory; M GB are available"``.
    """
    avail = available_memory()
    if avail is not None and n_bytes > avail:
        raise ValueError(
            f"{what} needs about {n_bytes / 1e9:,.1f} GB of memory; "
            f"{avail / 1e9:,.1f} GB are available"
        )


def jsonable(obj):
    """Convert numpy scalars/arrays, paths and non-finite floats to JSON-ready values.

    Dicts and sequences are converted recursively; NaN and inf become ``None``.
    """
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj
