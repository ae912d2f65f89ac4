"""Dask clients for the parallel paths (simulation chunks, batch analysis); the cores this
process may use and torch's share of them."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

__all__ = ["dask_client", "available_cores", "torch_threads", "torch_thread_count"]


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


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` within the block, restored on exit (the setting is
    process-wide)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def torch_thread_count() -> int:
    """torch's intra-op threads now."""
    import torch

    return int(torch.get_num_threads())
