"""Benchmark: N = 100 000 full-model runs with every target evaluated, next to pysd's per-run cost.

The calibrated parameters are whole rows of the posterior sample (``--posterior``, default the packaged
``calibration/posterior.parquet``; the Gaussian fallback if it is absent) and the forward inputs are drawn by
LHS, as in ``jinan-sd mc``; the line ``calibrated:`` says which was used.

Prints wall time, runs/s, peak memory (RSS high-water mark) and the ratio against pysd (extrapolated
from 20 runs), then the same ensemble on a local Dask cluster of 2 workers. Run: ``make bench`` or
``.venv/bin/python bench/ensemble.py [--n N]``. Record the figures in bench/RESULTS.md with the machine.

``--end-to-end [--before DIR] [--repeat K]``: the whole command ``jinan-sd mc plan --n N --seed 1`` as a user
runs it (a fresh process: imports, model load, sampling, runs, targets, bands, printing), K times, alternating
with the same command in an older checkout DIR (e.g. ``git worktree add /tmp/before b6a293e``) so both see
the same machine load; prints each run's wall time, CPU time (user + sys) and peak RSS, the load average, the
minimum and median, and the ratio of the minima. With ``--out-check`` it also writes both results folders and
compares their files byte for byte (the manifest without its creation time and engine line).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
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


def lscpu_model() -> str:
    """The ``Model name`` line of ``lscpu`` (``/proc/cpuinfo`` if lscpu is missing)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if "model name" in line), "?")


def run_cli(folder: str, argv: list[str]) -> tuple[float, float, float, float]:
    """Run ``python -m faces.cli ARGV`` from ``folder`` (``simulator.cli`` in checkouts older than the faces
    package): (wall s, user + sys CPU s, peak RSS MB, load average before)."""
    import sys
    from pathlib import Path

    load = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": folder}
    start = time.perf_counter()
    cli = "faces.cli" if (Path(folder) / "faces" / "cli").is_dir() else "simulator.cli"
    child = subprocess.Popen([sys.executable, "-m", cli, *argv], cwd=folder, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{folder}: jinan-sd {' '.join(argv)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load


def same_folders(a: str, b: str) -> list[str]:
    """Files of two ensemble folders that differ (the manifest compared without 'created' and the engine)."""
    import json
    from pathlib import Path

    differ = [f for f in ("samples.parquet", "outcomes.parquet", "bands.parquet", "probabilities.csv")
              if (Path(a) / f).read_bytes() != (Path(b) / f).read_bytes()]
    manifests = [json.loads((Path(x) / "manifest.json").read_text(encoding="utf-8")) for x in (a, b)]
    for m in manifests:
        for key in ("created", "engine_backend"):
            m.pop(key, None)
    return differ + (["manifest.json"] if manifests[0] != manifests[1] else [])


def end_to_end(args) -> None:
    """The ``--end-to-end`` benchmark (see the module docstring)."""
    import statistics
    import tempfile
    from pathlib import Path

    here = str(Path(__file__).resolve().parent.parent)
    trees = {"after": here, **({"before": str(Path(args.before).resolve())} if args.before else {})}
    argv = ["mc", args.scenario, "--n", str(args.n), "--seed", "1"]
    for folder in trees.values():  # warm the caches (kernel, parse) of both trees; not timed
        run_cli(folder, ["mc", args.scenario, "--n", "200", "--seed", "1"])
    times: dict = {name: [] for name in trees}
    for k in range(args.repeat):
        for name, folder in (trees.items() if k % 2 == 0 else reversed(list(trees.items()))):
            wall, cpu, rss, load = run_cli(folder, argv)
            times[name].append(wall)
            print(f"{name:6s} run {k + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU (user+sys), peak RSS {rss:,.0f} MB, "
                  f"load average {load:.2f} before")
    for name, walls in times.items():
        print(f"{name:6s}: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s over {len(walls)} runs")
    if "before" in times:
        print(f"ratio before/after (minima): {min(times['before']) / min(times['after']):.2f}x")
    if args.out_check and "before" in trees:
        with tempfile.TemporaryDirectory() as tmp:
            outs = {}
            for name, folder in trees.items():
                outs[name] = str(Path(tmp) / name)
                run_cli(folder, [*argv, "--out", outs[name]])
            differ = same_folders(outs["before"], outs["after"])
            print("results folders: " + ("identical bytes (manifest: same but for created/engine)" if not differ
                                         else f"DIFFER in {', '.join(differ)}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--end-to-end", action="store_true", help="time the CLI command in fresh processes")
    parser.add_argument("--before", help="an older checkout to time against (with --end-to-end)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree (with --end-to-end)")
    parser.add_argument("--out-check", action="store_true", help="compare both trees' results folders")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-pysd", action="store_true")
    parser.add_argument("--posterior", help="posterior sample (.parquet)")
    parser.add_argument("--scenario", default="plan")
    args = parser.parse_args()
    print(f"machine: {platform.node()} | {os.cpu_count()} cores | lscpu model name: {lscpu_model()} | "
          f"numpy {np.__version__}")
    if args.end_to_end:
        end_to_end(args)
        return
    run_ensemble(args.scenario, n=100, seed=1, posterior_path=args.posterior)  # compile the plan once, not timed
    if not args.skip_pysd:
        per_run = pysd_seconds_per_run()
        print(f"pysd: {per_run * 1000:.1f} ms per run (mean of 20) -> {args.n} runs ~ {per_run * args.n:.0f} s")
    else:
        per_run = float("nan")
    start, cpu0 = time.perf_counter(), time.process_time()
    result = run_ensemble(args.scenario, n=args.n, seed=1, posterior_path=args.posterior)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    load = os.getloadavg()[0]
    m = result.manifest
    post = m.get("posterior") or {}
    print(f"calibrated: {m['calibrated']} (posterior sha256 {post.get('sha256', '-')[:12]}, {post.get('rows', 0)} "
          f"rows); {len(m['forward_inputs'])} forward inputs; {len(result.probabilities)} targets; "
          f"engine backend {m['engine_backend']}")
    print(f"fast, 1 process: N = {args.n}: {wall:.2f} s, {args.n / wall:,.0f} runs/s, "
          f"{per_run * args.n / wall:,.0f}x pysd, peak RSS {peak_rss_mb():,.0f} MB, "
          f"failed runs {result.manifest['failed_runs']}")
    print(f"  CPU time of this process {cpu:.2f} s (one thread: the wall time on an idle core); load average "
          f"{load:.1f} on {os.cpu_count()} cores while it ran")
    if not args.skip_dask:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as client:
            run_ensemble(args.scenario, n=2000, seed=1, scheduler=lc.scheduler_address,
                         posterior_path=args.posterior)  # warm the workers
            start = time.perf_counter()
            remote = run_ensemble(args.scenario, n=args.n, seed=1, scheduler=lc.scheduler_address, chunk_size=5000,
                                  posterior_path=args.posterior)
            wall2 = time.perf_counter() - start
            workers_mb = sum(client.run(peak_rss_mb).values())
        same = remote.outcomes.equals(result.outcomes)
        print(f"fast, Dask 2 workers: N = {args.n}: {wall2:.2f} s, {args.n / wall2:,.0f} runs/s, "
              f"speed-up {wall / wall2:.2f}x, workers' peak RSS {workers_mb:,.0f} MB, identical outcomes: {same}")


if __name__ == "__main__":
    main()
