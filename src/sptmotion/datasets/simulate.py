"""Simulated track tables of one motion model or an AnDi-1 dataset, serially or on Dask.

Tracks are generated in blocks of :data:`sptmotion._checks.BLOCK_SIZE`; block ``b`` always
uses the generator ``spawn_block_rngs(seed, b, 1)``, and chunks are made of whole blocks, so
the table is identical for one seed whatever the number of workers, the scheduler and chunking.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from .._checks import BLOCK_SIZE, spawn_block_rngs

__all__ = ["simulate_table", "model_spec", "chunk_table"]

#: Blocks per chunk when running serially (a chunk is one progress-bar tick).
_SERIAL_CHUNK_BLOCKS = 4


def model_spec(model: str, params: dict) -> dict:
    """Validate the model name and parameters (builds the model once); return a picklable spec."""
    from ..motion import get_model

    cls = get_model(model)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    given = {k: v for k, v in params.items() if v is not None}
    for key in given:
        if key not in accepted:
            opt = {"v": "--drift/--v", "t_age": "--t-age"}.get(key, f"--{key.replace('_', '-')}")
            raise ValueError(
                f"option {opt} does not apply to model {cls.name!r} (its parameters: {', '.join(sorted(accepted)) or 'none'})"
            )
    cls(**given)  # raises ValueError for out-of-range parameters
    return {"kind": "model", "model": cls.name, "params": given}


def chunk_table(spec: dict, b0: int, b1: int) -> pd.DataFrame:
    """The table of blocks ``b0 .. b1-1`` (runs on a Dask worker or in this process).

    BLAS runs single-threaded here: a multithreaded matrix product sums in another order, and
    the same seed must give the same bytes in this process and on a one-thread Dask worker.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _chunk_table(spec, b0, b1)


def _chunk_table(spec: dict, b0: int, b1: int) -> pd.DataFrame:
    from .tables import tracks_to_table

    n = spec["n"]
    if spec["kind"] == "measured":
        from .measured import measured_andi

        lo, hi = spec["length"] if isinstance(spec["length"], tuple) else (spec["length"],) * 2
        return measured_andi(
            n,
            dim=spec["dim"],
            task=spec["task"],
            rng=spec["seed"],
            blocks=(b0, b1),
            lengths=(lo, hi),
        )
    if spec["kind"] == "andi":
        from .andi_recipe import andi

        data = andi(
            n,
            spec["length"],
            spec["dim"],
            spec["task"],
            rng=spec["seed"],
            include_bm=spec["include_bm"],
            noise=spec["noise"],
            mix=spec["mix"],
            blocks=(b0, b1),
        )
        return data.to_table(particle_offset=b0 * BLOCK_SIZE)
    from ..motion import get_model

    model = get_model(spec["model"])(**spec["params"])
    K = spec["subframes"]
    n_points = (spec["steps"] + 1) * K
    dt_fine = spec["dt"] / K
    labels = {"model": model.name, "alpha": model.alpha}
    if "D" in model.params:
        labels["D"] = model.params["D"]
    tables = []
    for b, rng in zip(range(b0, b1), spawn_block_rngs(spec["seed"], b0, b1 - b0), strict=True):
        m = min(BLOCK_SIZE, n - b * BLOCK_SIZE)
        X, t = model.sample(m, n_points - 1, spec["dim"], dt_fine, rng)
        lab = {
            k: np.repeat(np.asarray(v, dtype=object if isinstance(v, str) else float), m)
            for k, v in labels.items()
        }
        tables.append(
            tracks_to_table(X, t=t, labels=lab, particle_offset=b * BLOCK_SIZE, subframes=K)
        )
    return pd.concat(tables, ignore_index=True)


def simulate_table(
    spec: dict,
    workers: int = 1,
    scheduler: str | None = None,
    *,
    processes: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Generate the whole table of ``spec`` serially or on Dask, in chunks of whole blocks.

    Parameters
    ----------
    spec : dict
        ``kind`` ("model" with ``model``, ``params``, ``steps``, ``dt`` (s), ``subframes``; or
        "andi" with ``length``, ``task``, ``include_bm``, ``noise``, ``mix``; or "measured" with
        ``length`` and ``task``, :func:`sptmotion.datasets.measured.measured_andi`) plus ``n``, ``dim``
        and ``seed``; see :func:`model_spec`.
    workers : int
        Local Dask workers when > 1 (serial otherwise).
    scheduler : str, optional
        Address of a running Dask scheduler.
    processes : bool
        Local workers as processes or threads.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame
        The long-form track table; identical for one seed whatever the workers and chunking.
    """
    n_blocks = -(-spec["n"] // BLOCK_SIZE)
    distributed = scheduler is not None or workers > 1
    per_chunk = (
        _SERIAL_CHUNK_BLOCKS if not distributed else max(1, -(-n_blocks // (4 * max(workers, 1))))
    )
    chunks = [(b, min(b + per_chunk, n_blocks)) for b in range(0, n_blocks, per_chunk)]
    bar = None
    if progress and len(chunks) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=spec["n"], desc="simulate", unit="track", leave=False)
    parts: list[pd.DataFrame | None] = [None] * len(chunks)

    def tick(i: int) -> None:
        if bar is not None:
            b0, b1 = chunks[i]
            bar.update(min(b1 * BLOCK_SIZE, spec["n"]) - b0 * BLOCK_SIZE)

    try:
        if not distributed:
            for i, (b0, b1) in enumerate(chunks):
                parts[i] = chunk_table(spec, b0, b1)
                tick(i)
        else:
            from dask.distributed import as_completed

            from .._parallel import dask_client

            with dask_client(workers, scheduler, processes=processes) as client:
                futures = [
                    client.submit(chunk_table, spec, b0, b1, pure=False) for b0, b1 in chunks
                ]
                index = {f.key: i for i, f in enumerate(futures)}
                for fut in as_completed(futures):
                    i = index[fut.key]
                    parts[i] = fut.result()
                    tick(i)
    finally:
        if bar is not None:
            bar.close()
    return pd.concat(parts, ignore_index=True)
