"""Input validation and randomness helpers shared by every layer.

Checks happen once, at the public boundary, with messages that name the argument
(in the spirit of scikit-learn's ``check_array``). Numerical code below the
boundary assumes validated input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "check_positions",
    "check_rng",
    "check_dim",
    "check_positive",
    "check_range",
    "check_int",
    "spawn_block_rngs",
    "BLOCK_SIZE",
]

#: Number of tracks generated from one child seed. Work split across processes or Dask
#: workers is always split on multiples of this block size, so the same seed gives the
#: same tracks whatever the number of workers or chunks.
BLOCK_SIZE = 1024


def check_rng(rng: np.random.Generator | int | None = None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a Generator, an integer seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, int | np.integer):
        if rng is not None and int(rng) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ValueError(
        f"rng must be a numpy.random.Generator, an integer seed or None, got {type(rng).__name__}"
    )


def spawn_block_rngs(seed: int | None, start_block: int, n_blocks: int) -> list[np.random.Generator]:
    """Generators for blocks ``start_block .. start_block + n_blocks - 1`` of a seeded job.

    Block ``b`` always gets the generator of ``SeedSequence(seed, spawn_key=(b,))``,
    independently of how the blocks are distributed over chunks or workers.
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    return [
        np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(b,)))
        for b in range(start_block, start_block + n_blocks)
    ]


def check_dim(dim: int) -> int:
    """Validate a spatial dimension (1, 2 or 3)."""
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
    return int(dim)


def check_int(value, name: str, minimum: int | None = None) -> int:
    """Validate an integer (Python or NumPy, not bool), at least ``minimum`` when given.

    Raises
    ------
    ValueError
        ``"<name> must be an integer >= <minimum>, got <value>"``.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or (minimum is not None and value < minimum)
    ):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be an integer{bound}, got {value!r}")
    return int(value)


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Validate a finite positive (or non-negative) scalar."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_range(
    value: float,
    name: str,
    low: float,
    high: float,
    *,
    low_open: bool = True,
    high_open: bool = True,
    owner: str | None = None,
) -> float:
    """Validate that ``value`` lies in the interval (low, high) with the given openness.

    The message names the owner (e.g. the motion model) and the allowed interval.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    ok = np.isfinite(v)
    ok = ok and (v > low if low_open else v >= low)
    ok = ok and (v < high if high_open else v <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        who = f"{owner}: " if owner else ""
        raise ValueError(f"{who}{name} must lie in {interval}, got {value!r}")
    return v


def check_positions(
    X, name: str = "positions", *, min_points: int = 2, dim: int | None = None
) -> np.ndarray:
    """Validate a trajectory array and return it as float64 ``(n_tracks, n_points, dim)``.

    A 2D array ``(n_points, dim)`` is accepted as a single track.

    Raises
    ------
    ValueError
        If the array has the wrong rank, a dimension outside 1..3, too few points, or
        non-finite values.
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array of shape (n_tracks, n_points, dim)") from None
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_tracks, n_points, dim) (or (n_points, dim) for one track), "
            f"got an array of rank {arr.ndim} with shape {arr.shape}"
        )
    n_tracks, n_points, d = arr.shape
    if n_tracks < 1:
        raise ValueError(f"{name} holds no tracks (shape {arr.shape})")
    if d not in (1, 2, 3):
        raise ValueError(f"{name} must have 1, 2 or 3 spatial dimensions in its last axis, got {d}")
    if dim is not None and d != dim:
        raise ValueError(f"{name} must have dim={dim} in its last axis, got {d}")
    if n_points < min_points:
        raise ValueError(f"{name} tracks need at least {min_points} points, got {n_points}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} contains NaN or inf (first at track {bad[0]}, point {bad[1]}, axis {bad[2]})"
        )
    return arr


def as_float_sequence(values: float | Sequence[float], name: str, length: int) -> np.ndarray:
    """Broadcast a scalar or a sequence to a float vector of the given length."""
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.size == 1:
        arr = np.repeat(arr, length)
    if arr.shape != (length,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite scalar or a sequence of length {length}, got {values!r}")
    return arr
