"""Run ensemble chunks as tasks on a Dask distributed cluster (local processes or a remote scheduler).

A lost worker's tasks are re-run elsewhere by Dask; since each chunk is a pure function of its inputs,
the gathered results are identical whatever the number of workers or failures.
"""

from __future__ import annotations

from simulator.errors import UserError


def map_chunks(function, args, chunks, tail, workers, scheduler, progress, total):
    """Submit ``function(*args, size, chunk, *tail)`` per chunk; return results in chunk order.

    Parameters
    ----------
    chunks : list of (int, dict)
        Run count and inputs of each chunk.
    workers : int or None
        Start a local cluster of this many worker processes (one thread each).
    scheduler : str or None
        Address of an existing scheduler, e.g. ``tcp://10.0.0.5:8786``.
    progress : callable(done, total) or None
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UserError("dask[distributed] is not installed") from None
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise UserError(f"scheduler {scheduler}: cannot connect ({exc})", param="scheduler") from None
        else:
            if workers < 1:
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
                results[k] = future.result()
                done += chunks[k][0]
                if progress:
                    progress(done, total)
            return results
    finally:
        if cluster is not None:
            cluster.close()
