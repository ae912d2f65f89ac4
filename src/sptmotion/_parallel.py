"""Dask clients for the parallel paths (simulation chunks, batch analysis)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["dask_client"]


@contextlib.contextmanager
def dask_client(
    workers: int, scheduler: str | None = None, *, processes: bool = True
) -> Iterator[object]:
    """Yield a ``dask.distributed.Client``: to ``scheduler`` if given, else a local cluster.

    Parameters
    ----------
    workers : int
        Workers of the local cluster (one thread each); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler.
    processes : bool
        Local workers as processes (default) or threads.

    The client and the local cluster are closed on exit, also on error or interrupt.
    """
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is not None:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
