"""Benchmark: N = 100 000 full-model runs with every target evaluated, next to pysd's per-run cost.

Prints wall time, runs/s, peak memory (RSS high-water mark) and the ratio against pysd (extrapolated
from 20 runs), then the same ensemble on a local Dask cluster of 2 workers. Run: ``make bench`` or
``.venv/bin/python bench/ensemble.py [--n N]``. Record the figures in bench/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np

import simulator
from simulator.analysis.ensemble import run_ensemble


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pysd_seconds_per_run(runs: int = 20) -> float:
    """Mean wall time of one pysd run of the plan scenario [s]."""
    simulator.run("plan", engine="pysd")  # translation and load, not timed
    start = time.perf_counter()
    for _ in range(runs):
        simulator.run("plan", engine="pysd")
    return (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), "?")
    print(f"machine: {platform.node()} | {os.cpu_count()} cores | {cpu} | numpy {np.__version__}")
    run_ensemble("plan", n=100, seed=1)  # compile the plan once, not timed
    per_run = pysd_seconds_per_run()
    print(f"pysd: {per_run * 1000:.1f} ms per run (mean of 20) -> {args.n} runs ~ {per_run * args.n:.0f} s")
    start = time.perf_counter()
    result = run_ensemble("plan", n=args.n, seed=1)
    wall = time.perf_counter() - start
    print(f"fast, 1 process: N = {args.n}: {wall:.2f} s, {args.n / wall:,.0f} runs/s, "
          f"{per_run * args.n / wall:,.0f}x pysd, peak RSS {peak_rss_mb():,.0f} MB, "
          f"failed runs {result.manifest['failed_runs']}")
    if not args.skip_dask:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as client:
            run_ensemble("plan", n=2000, seed=1, scheduler=lc.scheduler_address)  # warm the workers
            start = time.perf_counter()
            remote = run_ensemble("plan", n=args.n, seed=1, scheduler=lc.scheduler_address, chunk_size=5000)
            wall2 = time.perf_counter() - start
            workers_mb = sum(client.run(peak_rss_mb).values())
        same = remote.outcomes.equals(result.outcomes)
        print(f"fast, Dask 2 workers: N = {args.n}: {wall2:.2f} s, {args.n / wall2:,.0f} runs/s, "
              f"speed-up {wall / wall2:.2f}x, workers' peak RSS {workers_mb:,.0f} MB, identical outcomes: {same}")


if __name__ == "__main__":
    main()
