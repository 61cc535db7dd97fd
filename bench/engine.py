"""Benchmark the fast engine against PySD on the project model (not a test: prints figures).

Usage (from the repository root)::

    .venv/bin/python bench/engine.py [--model models/jinan.mdl] [--pysd-runs 20]
                                     [--sizes 1,100,10000,100000] [--seed 1]

Prints the machine, PySD's seconds per run (mean over ``--pysd-runs`` runs, each with a
fresh random parameter set drawn inside the levers' Vensim ranges), and for each batch
size N the fast engine's wall time, runs per second and speed-up over PySD, once for all
variables and once for the stocks only; then the peak memory of the largest batch. The
output is Markdown, ready for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.engines.fast.translate import compile_model  # noqa: E402
from simulator.engines.pysd import load_pysd, run_raw  # noqa: E402

ALL_VARIABLES_LIMIT = 2e9  # bytes of saved output above which "all variables" is skipped


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import pysd

    return (f"{os.cpu_count()} cores ({os.sched_getaffinity(0).__len__()} usable), {cpu}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, pysd {pysd.__version__}")


def levers(plan) -> dict:
    """Scalar constants with a Vensim range (a subscripted cell is not a pysd parameter name)."""
    return {name: bounds[:2] for name, bounds in plan.ranges.items()
            if name in plan.constants and bounds and None not in bounds[:2] and "[" not in name}


SUBSCRIPTED = """{{UTF-8}}
region: (r1-r{size}) ~~|
growth rate[region] = 0.02 ~ 1/Year [0, 0.1] ~|
initial[region] = 100 ~ people ~|
population[region] = INTEG(births[region] - deaths[region] + migration[region], initial[region])
    ~ people ~|
births[region] = population[region] * growth rate[region] ~ people/Year ~|
deaths[region] = population[region] / lifetime ~ people/Year ~|
lifetime = 70 ~ Year [50, 90] ~|
total = SUM(population[region!]) ~ people ~|
migration[region] = (total / {size} - population[region]) * mobility ~ people/Year ~|
mobility = 0.01 ~ 1/Year [0, 0.05] ~|
perceived[region] = SMOOTH(population[region], perception time) ~ people ~|
perception time = 3 ~ Year [1, 5] ~|
largest = VMAX(perceived[region!]) ~ people ~|
INITIAL TIME = 0 ~ Year ~|
FINAL TIME = 50 ~ Year ~|
TIME STEP = 0.25 ~ Year ~|
SAVEPER = 1 ~ Year ~|
"""


def subscripted_model(folder: Path, size: int) -> Path:
    """A 1-D subscripted benchmark model: ``size`` regions with stocks, flows, SUM, SMOOTH, VMAX."""
    path = folder / f"regions_{size}.mdl"
    path.write_text(SUBSCRIPTED.format(size=size), encoding="utf-8")
    return path


def draw(bounds: dict, n: int, rng: np.random.Generator) -> dict:
    return {name: rng.uniform(lo, hi, n) for name, (lo, hi) in sorted(bounds.items())}


def time_pysd(model_path: Path, bounds: dict, runs: int, rng) -> tuple[float, float]:
    """(seconds to translate, mean seconds per run) for PySD with random lever values."""
    sets = draw(bounds, runs, rng)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        model = load_pysd(model_path, cache=Path(folder))  # the project's one pysd runner
        translate = time.perf_counter() - start
        run_raw(model)  # warm-up: first run pays lazy initialisation
        seconds = []
        for i in range(runs):
            params = {name: float(values[i]) for name, values in sets.items()}
            start = time.perf_counter()
            run_raw(model, params, reload=False)
            seconds.append(time.perf_counter() - start)
    return translate, statistics.mean(seconds)


def time_fast(plan, bounds, n, variables, rng, repeats) -> float:
    """Best wall time [s] of ``repeats`` batches of n runs (kernel compiled beforehand)."""
    params = draw(bounds, n, rng)
    plan.run(draw(bounds, 1, rng), variables=variables)  # compile the kernel once
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _, values = plan.run(params, variables=variables)
        best = min(best, time.perf_counter() - start)
        del values
    return best


def best_of(function, repeats: int) -> float:
    """Best wall time [s] of ``repeats`` calls (the machine is shared: the best is the least disturbed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def compare_backends(plan, bounds, rng, pysd_run: float, large: int) -> None:
    """The compiled backend against the numpy backend, PySD and the floor, all timed in this process."""
    import simulator
    from bench.floor import floor_source, operation_mix
    from simulator.engines.fast.kernel import run as kernel_run
    from simulator.engines.fast.kernel import run_with_backend
    from simulator.engines.fast.kernel.build import load

    def run(backend, params=None, n=None, variables=None):
        return lambda: run_with_backend(plan, params, n, variables, backend=backend)

    run("compiled", n=1)()
    one = {b: best_of(run(b, n=1), 30 if b == "numpy" else 300) for b in ("numpy", "compiled")}
    kernel = plan.__dict__["_compiled_kernels"]
    function = next(iter(kernel.values()))
    block = np.empty((len(plan.names), plan.time.saved_steps().size, 1))
    zero = np.zeros(1)
    pointer = zero.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    paths = (ctypes.POINTER(ctypes.c_double) * 2)()
    longs = np.zeros(1, dtype=np.int64).ctypes.data_as(ctypes.POINTER(ctypes.c_long))
    out = block.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    bare = best_of(lambda: function(1, 0, 1, pointer, paths, longs, longs, out), 300)
    simulator.run("baseline", backend="compiled")
    whole = {b: best_of(lambda b=b: simulator.run("baseline", backend=b), 30) for b in ("numpy", "compiled")}
    print("\n### Compiled backend against the numpy backend (same process, best of repeats)\n")
    print("| measure | numpy backend | compiled backend | ratio |\n|---|---:|---:|---:|")
    print(f"| one run, all variables (`Plan` level) | {one['numpy'] * 1e3:.2f} ms | {one['compiled'] * 1e6:.0f} µs "
          f"| {one['numpy'] / one['compiled']:,.0f}x |")
    print(f"| one run, the kernel call alone | | {bare * 1e6:.0f} µs | {one['numpy'] / bare:,.0f}x |")
    print(f"| `simulator.run(\"baseline\")` | {whole['numpy'] * 1e3:.2f} ms | {whole['compiled'] * 1e3:.2f} ms "
          f"| {whole['numpy'] / whole['compiled']:,.1f}x |")
    for n in (10_000, large):
        params = draw(bounds, n, rng)
        run("compiled", params, variables=plan.stocks)()
        compiled = best_of(run("compiled", params, variables=plan.stocks), 3)
        saved = kernel_run.threads
        kernel_run.threads = lambda: 1
        single = best_of(run("compiled", params, variables=plan.stocks), 2)
        kernel_run.threads = saved
        numpy_time = best_of(run("numpy", params, variables=plan.stocks), 1 if n > 10_000 else 2)
        print(f"| N = {n:,}, stocks, {kernel_run.threads()} threads | {numpy_time:.2f} s | {compiled:.3f} s "
              f"({compiled / n * 1e6:.2f} µs/run; 1 thread {single:.3f} s) | {numpy_time / compiled:,.1f}x |")
        if n == 10_000:
            print(f"| PySD at N = 10,000 ({pysd_run * 1e3:.0f} ms per run) | {pysd_run * n / numpy_time:,.0f}x "
                  f"| {pysd_run * n / compiled:,.0f}x | |")
    # the reused block: the kernel's own time, without the page faults of a fresh output block (every call
    # of run_with_backend allocates one: 29 stocks x 21 points x N doubles, 487 MB at N = 10^5)
    block = np.empty((len(plan.stocks), plan.time.saved_steps().size, large))
    run_with_backend(plan, params, variables=plan.stocks, backend="compiled", out=block)
    reused = best_of(lambda: run_with_backend(plan, params, variables=plan.stocks, backend="compiled", out=block), 3)
    shape = block.shape

    def fresh_block():  # what the fresh block costs alone: allocated as run_compiled does, written by 2 threads
        out = kernel_run.small_pages_empty(shape).reshape(-1)
        half = out.size // 2
        for future in [kernel_run._pool(kernel_run.threads()).submit(part.fill, 0.0)
                       for part in (out[:half], out[half:])]:
            future.result()

    writing = best_of(fresh_block, 3)
    # the operation mix of the kernel that ran: the levers are overridden, one value per run
    from simulator.engines.fast.integrate import _normalise

    kinds = {name: kernel_run._kind(kind, params[name]) for name, kind in _normalise(plan, params, None)[1].items()}
    mix = operation_mix(plan, plan.stocks, kinds)
    floor = load(floor_source(mix, plan.time.n_steps))
    from simulator.engines.fast.kernel.ufuncs import set_loops

    set_loops(floor)
    sink = np.empty(large)
    sink_pointer = sink.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    per = -(-large // kernel_run.threads())

    def floor_run():
        futures = [kernel_run._pool(kernel_run.threads()).submit(floor, large, lo, min(lo + per, large), pointer,
                                                                  paths, longs, longs, sink_pointer)
                   for lo in range(0, large, per)]
        for future in futures:
            future.result()

    floor_time = best_of(floor_run, 3)
    print(f"\nFloor (bench/floor.py: the operation mix per step and run of the kernel that ran, {mix}, fused, "
          f"{kernel_run.threads()} threads): {floor_time:.3f} s at N = {large:,} "
          f"({floor_time / large * 1e6:.2f} µs/run); the compiled backend is {compiled / floor_time:.2f}x the floor.")
    print(f"Into a reused output block (`out=`, no page faults) the compiled backend takes {reused:.3f} s: "
          f"{reused / floor_time:.2f}x the floor. A fresh block of the same {np.prod(shape) * 8 / 1e6:,.0f} MB, "
          f"allocated as the backend does and filled by {kernel_run.threads()} threads, takes {writing:.3f} s "
          f"alone; floor + that block: {floor_time + writing:.3f} s, the compiled backend "
          f"{compiled / (floor_time + writing):.2f}x that.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "jinan.mdl")
    parser.add_argument("--pysd-runs", type=int, default=20)
    parser.add_argument("--sizes", default="1,100,10000,100000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends-only", action="store_true",
                        help="only the compiled-vs-numpy section (skip the numpy table and memory)")
    parser.add_argument("--subscripted", type=int, default=0, metavar="SIZE",
                        help="benchmark a generated 1-D subscripted model of SIZE regions instead")
    args = parser.parse_args()
    if args.subscripted:
        args.model = subscripted_model(Path(tempfile.mkdtemp()), args.subscripted)
    rng = np.random.default_rng(args.seed)
    sizes = [int(s) for s in args.sizes.split(",")]

    start = time.perf_counter()
    plan = compile_model(args.model)
    compile_seconds = time.perf_counter() - start
    bounds = levers(plan)
    steps, saved = plan.time.n_steps, plan.time.n_steps // plan.time.save_every + 1
    print(f"Machine: {machine()}\n")
    print(f"Model: {args.model.name}: {len(plan.names)} variables (cells), {len(plan.stocks)} stocks, "
          f"{len(bounds)} levers sampled in their ranges; {plan.time.initial:g}-"
          f"{plan.time.final:g}, dt {plan.time.dt:g} ({steps} steps), {saved} saved points; "
          f"seed {args.seed}.\n")
    translate, pysd_run = time_pysd(args.model, bounds, args.pysd_runs, rng)
    print(f"PySD: translation {translate:.2f} s; {pysd_run * 1e3:.1f} ms per run "
          f"(mean of {args.pysd_runs} runs, {1 / pysd_run:.1f} runs/s).")
    print(f"Fast engine: parse + compile {compile_seconds:.2f} s (kernel generation is "
          f"cached per set of outputs).\n")
    if args.backends_only:
        compare_backends(plan, bounds, rng, pysd_run, max(sizes))
        return
    print("| N | outputs | wall time [s] | runs/s | speed-up vs PySD |")
    print("|---:|---|---:|---:|---:|")
    for n in sizes:
        for label, variables in (("all variables", None), ("stocks", plan.stocks)):
            count = len(plan.names) if variables is None else len(variables)
            if count * saved * n * 8 > ALL_VARIABLES_LIMIT:
                print(f"| {n:,} | {label} | skipped: {count * saved * n * 8 / 1e9:.1f} GB "
                      "of output | | |")
                continue
            wall = time_fast(plan, bounds, n, variables, rng, repeats=3 if n <= 10_000 else 1)
            print(f"| {n:,} | {label} ({count}) | {wall:.3f} | {n / wall:,.0f} | "
                  f"{n / wall * pysd_run:,.0f}x |")

    n = max(sizes)
    params = draw(bounds, n, rng)
    tracemalloc.start()
    plan.run(params, variables=plan.stocks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    compare_backends(plan, bounds, rng, pysd_run, max(sizes))
    print(f"\nPeak memory at N = {n:,} (stocks): {peak / 2**20:,.0f} MiB allocated during "
          f"the run (tracemalloc; output {len(plan.stocks) * saved * n * 8 / 2**20:,.0f} MiB); "
          f"process peak RSS over the whole benchmark {rss:,.0f} MiB.")


if __name__ == "__main__":
    main()
