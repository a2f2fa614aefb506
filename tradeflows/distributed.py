"""One place that hands fan-out work (per-sector fits, GE draws) to Dask.

Where the work runs, in order of precedence:

1. ``serial=True``: a plain loop in this process (no Dask at all);
2. ``client=``: an open ``dask.distributed.Client``;
3. ``scheduler=`` or the environment variable ``TRADEFLOWS_SCHEDULER``: the address of a
   running scheduler (``tcp://host:8786``), whose workers must have tradeflows installed;
4. otherwise an in-process ``LocalCluster`` with ``workers`` workers of one thread each
   (threads in this process for one worker, separate processes for more).

Every task is a pure function of its inputs and results come back in the order of the
inputs, so serial, local and remote runs give the same numbers (up to floating-point
reordering inside BLAS, which the project pins to one thread).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

ENV_SCHEDULER = "TRADEFLOWS_SCHEDULER"


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: ``scheduler`` if given, else ``$TRADEFLOWS_SCHEDULER``, else
    None (a local cluster)."""
    return scheduler or os.environ.get(ENV_SCHEDULER) or None


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 1,
                processes: bool | None = None, dashboard: str | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client``: connected to ``scheduler`` (or
    ``$TRADEFLOWS_SCHEDULER``), else to a new LocalCluster of ``workers`` one-thread workers
    (``processes`` default: True when ``workers > 1``), closed on exit. The local cluster
    serves its dashboard only when asked (``dashboard=":8787"``); otherwise its scheduler's
    HTTP endpoint takes a free port, so a second cluster never warns of port 8787 in use."""
    from dask.distributed import Client, LocalCluster

    address = scheduler_address(scheduler)
    if address:
        with Client(address, timeout="30s") as client:
            yield client
        return
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    use_processes = workers > 1 if processes is None else processes
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=use_processes,
                      dashboard_address=dashboard or ":0",
                      scheduler_kwargs={"dashboard": dashboard is not None},
                      silence_logs=40) as cluster, \
            Client(cluster) as client:
        yield client


def fan_out(func: Callable[..., Any], items: Sequence[Any], *,
            shared: Mapping[str, Any] | None = None, serial: bool = False,
            client: Any = None, scheduler: str | None = None, workers: int = 1,
            processes: bool | None = None, dashboard: str | None = None,
            progress: bool = False, desc: str = "tasks") -> list[Any]:
    """``[func(item, **shared) for item in items]``, run where the module docstring says.

    ``shared``: keyword arguments common to every call (a model, a data set); on Dask they
    are sent to the workers once. ``dashboard``: address of a local cluster's dashboard
    (default none). Exceptions raised by ``func`` propagate; return failures
    as values to keep the other results.
    """
    shared = dict(shared or {})
    if not items:
        return []
    if serial:
        return [func(item, **shared) for item in tqdm(items, desc=desc, disable=not progress)]
    if client is not None:
        return _run(client, func, items, shared, progress, desc)
    with dask_client(scheduler, workers, processes, dashboard) as c:
        return _run(c, func, items, shared, progress, desc)


def _run(client: Any, func: Callable[..., Any], items: Sequence[Any],
         shared: dict[str, Any], progress: bool, desc: str) -> list[Any]:
    from dask.distributed import as_completed

    # wrapped in a list: scatter would otherwise split a list or dict argument
    scattered = {k: client.scatter([v], broadcast=True)[0] for k, v in shared.items()}
    inputs = client.scatter(list(items))  # data first, so the task graph stays small
    futures = client.map(func, inputs, pure=False, **scattered)
    if progress:
        for _ in tqdm(as_completed(futures), total=len(futures), desc=desc):
            pass
    return client.gather(futures)
