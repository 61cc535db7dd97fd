"""Run ensemble chunks as tasks on a Dask distributed cluster (local processes or a remote scheduler).

A lost worker's tasks are re-run elsewhere by Dask; since each chunk is a pure function of its inputs,
the gathered results are identical whatever the number of workers or failures.
"""

from __future__ import annotations

import re

from simulator.errors import UserError

_ADDRESS = re.compile(r"^(?:(?:tcp|tls)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")


def check_scheduler(address) -> str:
    """A Dask scheduler address ``tcp://host:port`` (or ``tls://``, or ``host:port``); refuse anything else.

    Only the protocols Dask speaks over a network are accepted; nothing is contacted here.
    """
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise UserError(f"scheduler '{address}': not a scheduler address (use tcp://host:port)", param="scheduler")
    port = int(address.rsplit(":", 1)[1])
    if not 0 < port < 65536:
        raise UserError(f"scheduler '{address}': port {port} is not a TCP port", param="scheduler")
    return address.strip()


def map_chunks(function, args, chunks, tail, workers, scheduler, progress, total, consume=None):
    """Submit ``function(*args, size, chunk, *tail)`` per chunk; return results in chunk order, or, with
    ``consume``, hand each to ``consume(k, result)`` as it completes and keep none (the client's memory then
    holds one chunk's result at a time, not all of them).

    Parameters
    ----------
    chunks : list of (int, dict)
        Run count and inputs of each chunk.
    workers : int or None
        Start a local cluster of this many worker processes (one thread each).
    scheduler : str or None
        Address of an existing scheduler, e.g. ``tcp://10.0.0.5:8786``.
    progress : callable(done, total) or None
    consume : callable(k, result) or None

    A task that raises (e.g. a worker refusing the client's engine backend) is retried up to 3 times, perhaps
    on another worker; if it still fails, its one-line error is raised here.
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UserError("dask[distributed] is not installed") from None
    cluster = None
    try:
        if scheduler:
            scheduler = check_scheduler(scheduler)
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, ValueError, TypeError) as exc:
                raise UserError(f"scheduler {scheduler}: cannot connect ({exc})", param="scheduler") from None
        else:
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
                raise UserError(f"workers must be at least 1, got {workers}", param="workers")
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
        with client:
            futures = [
                client.submit(function, *args, size, chunk, *tail, pure=False, retries=3)
                for size, chunk in chunks
            ]
            order = {future.key: k for k, future in enumerate(futures)}
            results = [None] * len(futures)
            done = 0
            for future in as_completed(futures):
                k = order[future.key]
                if consume is None:
                    results[k] = future.result()
                else:
                    consume(k, future.result())
                future.release()  # the worker may drop it now
                done += chunks[k][0]
                if progress:
                    progress(done, total)
            return results if consume is None else None
    finally:
        if cluster is not None:
            cluster.close()
