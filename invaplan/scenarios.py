"""One runner for independent scenario solves (budget curves, fleet sizing) on dask.distributed.

Each scenario is a call ``function(scenario)`` that shares nothing with the
others, so they run as separate tasks: on a ``LocalCluster`` of this machine by
default (one single-threaded worker process per core, so the solvers inside do
not compete for threads), or on an existing Dask cluster when ``scheduler`` gives
its address (``tcp://host:8786``), for a city team that outgrows one machine.
Results come back in the order of ``scenarios``; progress is reported as each
one finishes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TypeVar

S = TypeVar("S")
R = TypeVar("R")
Progress = Callable[[int, int], None]


def run_scenarios(
    function: Callable[[S], R],
    scenarios: Sequence[S],
    scheduler: str | None = None,
    workers: int | None = None,
    on_done: Progress | None = None,
) -> list[R]:
    """Run ``function`` on every scenario, in parallel, and return the results in input order.

    Parameters
    ----------
    function
        A picklable top-level function; one call per scenario.
    scenarios
        The scenarios (picklable).
    scheduler
        Address of an existing Dask scheduler; None starts a ``LocalCluster`` on
        this machine (closed on return).
    workers
        Worker processes of the local cluster (default: one per core, at most one
        per scenario).
    on_done
        Called with (finished, total) after each scenario completes.

    Raises
    ------
    ValueError
        If ``scenarios`` is empty.
    """
    from distributed import Client, LocalCluster, as_completed

    if not scenarios:
        raise ValueError("no scenarios to run")
    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        n = workers or max(1, min(os.cpu_count() or 1, len(scenarios)))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        futures = client.map(function, list(scenarios), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        results: list = [None] * len(futures)
        for done, future in enumerate(as_completed(futures), start=1):
            results[index[future.key]] = future.result()
            if on_done is not None:
                on_done(done, len(futures))
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
