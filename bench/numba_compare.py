"""numba against the compiled backend's generated C: the floor microkernel, compile time, cache, bits.

Usage (from the repository root; an optional benchmark, numba is no dependency of the project)::

    .venv/bin/python bench/numba_compare.py [--model models/jinan.mdl] [--runs 100000]
                                            [--repeats 3] [--samples 1000000] [--seed 17]

Issue 17 asked to choose the compiled backend's tool by measurement. This prints, in one process:

1. the floor of bench/floor.py (the model's operation mix per step and run, fused, in blocks of
   runs, on accumulators that stay in L1) as the project's C, and the same operations written for
   numba (``@njit(parallel=True)``, ``prange`` over the blocks, fastmath off), timed against each
   other at N runs, best of ``--repeats``, the variants interleaved (the machine is shared);
   numba's compile time (first call) and whether its on-disk cache (``cache=True``) is hit by a
   second process;
2. exactness: on ``--samples`` seeded random arguments in the model's ranges, how many results of
   numba's ``**``, ``math.pow``, ``np.exp`` (scalar, inside an njit loop) and ``np.power`` (array,
   inside njit) differ from numpy's own array result, and by how many ulp at most; the same for
   the C library's pow/exp through ctypes, and for numpy's own loop called on blocks of 32 through
   its pointer (what the C kernel does);
3. whether numba can use SVML here (icc-rt) and, if so, the floor with fastmath on.

Without numba it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE: Path | None = None  # this run's own folder, made by main() before numba is imported

_LOOP_ARGS = "ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64"  # (char **, long *, long *, void *)


def numba_floor_source(mix: dict, steps: int, pow_exp: str, fastmath: bool) -> str:
    """A numba module with ``floor(n, out, B)``: bench/floor.py's ``floor_source``, operation for operation.

    ``pow_exp`` is ``"numba"`` (``**`` and ``np.exp``, compiled by numba: the C library's code) or
    ``"numpy"`` (numpy's own float64 loops, called through their pointers, as the C kernel does).
    """
    head = ["import ctypes", "import numpy as np", "from numba import njit, prange", "",
            "XS = np.array([0.0, 1.0, 2.0, 3.0])", "YS = np.array([1.0, 0.5, 0.25, 0.125])"]
    if pow_exp == "numpy":
        head += ["from simulator.engines.fast.kernel.ufuncs import loops",
                 f"_LOOP = ctypes.CFUNCTYPE(None, {_LOOP_ARGS})",
                 "POWER, EXP = _LOOP(loops()[0]), _LOOP(loops()[1])"]
    head += ["", "", "@njit(cache=True)", "def interp(x, xp, fp):",
             "    # k_interp of the C prelude (np.interp) for a table of more than one point",
             "    n = xp.size",
             "    if np.isnan(x):", "        return x",
             "    if x < xp[0]:", "        return fp[0]",
             "    if x >= xp[n - 1]:", "        return fp[n - 1]",
             "    lo, hi = 0, n - 1",
             "    while hi - lo > 1:",
             "        mid = (lo + hi) // 2",
             "        if xp[mid] <= x:", "            lo = mid", "        else:", "            hi = mid",
             "    if xp[lo] == x:", "        return fp[lo]",
             "    slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo])",
             "    return slope * (x - xp[lo]) + fp[lo]", "", "",
             # B, the block of runs, is an argument: a constant trip count makes LLVM unroll every
             # 32-lane loop fully and then leave it scalar (vdivsd); a variable one is vectorised
             f"@njit(parallel=True, cache=True, fastmath={fastmath}, error_model='numpy')",
             "def floor(n, out, B):",
             "    for b in prange((n + B - 1) // B):",
             "        b0 = b * B",
             "        a = np.empty((16, B))",
             "        u = np.empty(B)"]
    if pow_exp == "numpy":
        head += ["        call = np.empty(3, np.int64)",
                 "        dims = np.full(1, B, np.int64)",
                 "        strides = np.full(3, 8, np.int64)",
                 "        base, ub = a.ctypes.data, u.ctypes.data"]
    body = ["        for i in range(16):", "            for j in range(B):",
            "                a[i, j] = 1.0 + 1e-3 * (i + j)",
            f"        for k in range({steps}):", "            t = 0.01 * k"]

    def loop(target: str, expression: str) -> None:
        body.extend(["            for j in range(B):", f"                {target} = {expression}"])

    arithmetic = max(0, mix["arithmetic"] - mix["pow"] - mix["unary"])
    for i in range(arithmetic // 2):  # the same pairs as floor_source: a multiply-add, no FMA
        x, y = i % 16, (i + 5) % 16
        loop(f"a[{x}, j]", f"a[{x}, j] * 0.5 + a[{y}, j] * 0.5")
    for i in range(mix["division"]):
        x, y = i % 16, (i + 3) % 16
        loop(f"a[{x}, j]", f"a[{y}, j] / (a[{x}, j] + 1.0)")
    for i in range(mix["pow"]):
        x, y = i % 16, (i + 7) % 16
        if pow_exp == "numpy":  # numpy's loop on the block: power(a[x], a[y]) -> u, strides 8
            body.extend([f"            call[0] = base + {8 * x} * B", f"            call[1] = base + {8 * y} * B",
                         "            call[2] = ub",
                         "            POWER(call.ctypes.data, dims.ctypes.data, strides.ctypes.data, 0)"])
        else:
            loop("u[j]", f"a[{x}, j] ** a[{y}, j]")
        loop(f"a[{x}, j]", "u[j] * 0.5 + 0.5")
    for i in range(mix["unary"]):
        if pow_exp == "numpy":
            body.extend([f"            call[0] = base + {8 * (i % 16)} * B", "            call[1] = ub",
                         "            EXP(call.ctypes.data, dims.ctypes.data, strides.ctypes.data, 0)"])
        else:
            loop("u[j]", f"np.exp(a[{i % 16}, j])")
        loop(f"a[{i % 16}, j]", "u[j] * 0.25")
    for i in range(mix["lookup"]):
        body.append(f"            a[{i % 16}, 0] += interp(t, XS, YS)")
    body += ["        for j in range(B):", "            if b0 + j < n:",
             "                out[b0 + j] = a[0, j] + a[15, j]", ""]
    return "\n".join(head + body)


def c_library_floor(source: str) -> str:
    """bench/floor.py's C floor with the C library's pow/exp in place of numpy's loops (not numpy's bits)."""
    source = re.sub(r"k_v2\(0, a\[(\d+)\], a\[(\d+)\], u, 8L, 8L\);",
                    r"for (int j = 0; j < B; j++) u[j] = pow(a[\1][j], a[\2][j]);", source)
    return re.sub(r"k_v1\(1, a\[(\d+)\], u\);", r"for (int j = 0; j < B; j++) u[j] = exp(a[\1][j]);", source)


def import_file(path: Path):
    """Import ``path`` as a module of its folder (numba's cache needs a module it can find again by name)."""
    sys.path.insert(0, str(path.parent))
    return importlib.import_module(path.stem)


SECOND_PROCESS = """
import json, sys, time
start = time.perf_counter()
import numpy as np
import numba
imported = time.perf_counter() - start
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import importlib
module = importlib.import_module(sys.argv[3])
out = np.empty(64)
start = time.perf_counter()
module.floor(64, out, int(sys.argv[4]))
first = time.perf_counter() - start
stats = module.floor.stats
print(json.dumps({"import": imported, "first": first, "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}))
"""


def second_process(path: Path, block: int) -> dict:
    """A fresh interpreter loads ``path``'s ``floor`` and calls it once: is numba's disk cache hit?"""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(CACHE), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SECOND_PROCESS, str(ROOT), str(path.parent), path.stem,
                           str(block)], env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        text = ""
    found = re.search(r"^Model name:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown CPU"


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def ulp_table(name: str, reference: np.ndarray, results: dict) -> None:
    """Print, for each result array, how many elements differ from ``reference`` and the max ulp."""
    def ordered(x):
        bits = x.view(np.int64)
        return np.where(bits < 0, np.int64(-(2**63)) - bits, bits)  # monotonic in the float's value

    print(f"\n{name}: against numpy's array result, {reference.size:,} arguments\n")
    print("| computed by | results differing | share | max ulp |\n|---|---:|---:|---:|")
    for label, values in results.items():
        same = (values == reference) | (np.isnan(values) & np.isnan(reference))
        ulps = np.abs(ordered(values) - ordered(reference))
        print(f"| {label} | {int((~same).sum()):,} | {(~same).mean():.2%} | {int(ulps.max()) if ulps.size else 0} |")


def exactness(samples: int, seed: int) -> None:
    import numba
    from numba import njit

    from simulator.engines.fast.kernel.ufuncs import loops

    def power_op(a, b, out):
        for i in range(a.size):
            out[i] = a[i] ** b[i]

    def power_math(a, b, out):
        for i in range(a.size):
            out[i] = math.pow(a[i], b[i])

    def power_scalar(a, b, out):  # one exponent for all, as `x ^ 4` in a model
        for i in range(a.size):
            out[i] = a[i] ** b

    def exp_np(x, out):
        for i in range(x.size):
            out[i] = np.exp(x[i])

    def exp_math(x, out):
        for i in range(x.size):
            out[i] = math.exp(x[i])

    def power_array(a, b):
        return np.power(a, b)

    def exp_array(x):
        return np.exp(x)

    fast = njit(fastmath=True)
    power_fast, scalar_fast, exp_fast = fast(power_op), fast(power_scalar), fast(exp_np)
    power_op, power_math, power_scalar, exp_np, exp_math, power_array, exp_array = (
        njit(f) for f in (power_op, power_math, power_scalar, exp_np, exp_math, power_array, exp_array))

    rng = np.random.default_rng(seed)
    base, exponent, x = rng.uniform(0.01, 10.0, samples), rng.uniform(-3.0, 3.0, samples), rng.uniform(-5, 5, samples)
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    for function in (libm.pow, libm.exp):
        function.restype = ctypes.c_double
        function.argtypes = [ctypes.c_double] * (2 if function is libm.pow else 1)
    prototype = {2: ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)}
    power_loop, exp_loop = (prototype[2](address) for address in list(loops())[:2])

    def by_blocks(loop, arrays, strides, width=32):  # numpy's loop, 32 elements a call, as the C kernel calls it
        out = np.empty(samples)
        args = (ctypes.c_void_p * (len(arrays) + 1))()
        dims, steps = (ctypes.c_long * 1)(), (ctypes.c_long * (len(arrays) + 1))(*strides, 8)
        for lo in range(0, samples, width):
            dims[0] = min(width, samples - lo)
            for i, array in enumerate(arrays):
                args[i] = array.ctypes.data + (8 * lo if strides[i] else 0)
            args[len(arrays)] = out.ctypes.data + 8 * lo
            loop(args, dims, steps, None)
        return out

    def run(kernel, *args):
        out = np.empty(samples)
        kernel(*args, out)
        return out

    four = np.array([4.0])
    ulp_table("pow, base in (0.01, 10), exponent in (-3, 3)", np.power(base, exponent), {
        "numba `a[i] ** b[i]` (njit loop)": run(power_op, base, exponent),
        "numba `math.pow` (njit loop)": run(power_math, base, exponent),
        "numba `np.power(a, b)` on arrays (njit)": power_array(base, exponent),
        "numba `a[i] ** b[i]`, fastmath=True": run(power_fast, base, exponent),
        "C library `pow` (ctypes on libm)": np.array([libm.pow(p, q) for p, q in zip(base.tolist(), exponent.tolist(),
                                                                                      strict=True)]),
        "numpy's loop, blocks of 32, through its pointer (the C kernel's way)": by_blocks(power_loop,
                                                                                         (base, exponent), (8, 8)),
    })
    ulp_table("pow, base in (0.01, 10), scalar exponent 4.0", np.power(base, 4.0), {
        "numba `a[i] ** 4.0` (njit loop)": run(power_scalar, base, 4.0),
        "numba `a[i] ** 4.0`, fastmath=True": run(scalar_fast, base, 4.0),
        "C library `pow`": np.array([libm.pow(p, 4.0) for p in base.tolist()]),
        "numpy's loop, blocks of 32, exponent stride 0": by_blocks(power_loop, (base, four), (8, 0)),
    })
    ulp_table("exp on (-5, 5)", np.exp(x), {
        "numba `np.exp(x[i])` (njit loop)": run(exp_np, x),
        "numba `math.exp` (njit loop)": run(exp_math, x),
        "numba `np.exp(x)` on an array (njit)": exp_array(x),
        "numba `np.exp(x[i])`, fastmath=True": run(exp_fast, x),
        "C library `exp` (ctypes on libm)": np.array([libm.exp(v) for v in x.tolist()]),
        "numpy's loop, blocks of 32, through its pointer": by_blocks(exp_loop, (x,), (8,)),
    })
    same = all(np.array_equal(run(f, *operands), run(g, *operands)) for f, g, operands in (
        (power_op, power_fast, (base, exponent)), (power_scalar, scalar_fast, (base, 4.0)), (exp_np, exp_fast, (x,))))
    libm_same = np.array_equal(run(power_op, base, exponent), np.array(
        [libm.pow(p, q) for p, q in zip(base.tolist(), exponent.tolist(), strict=True)]))
    print(f"\n(numba {numba.__version__}: `**`, `math.pow` and `np.exp` lower to LLVM's pow/exp intrinsics, i.e. "
          f"the process's C library; numba's pow bitwise equal to libm's: {libm_same}; fastmath=True gives the "
          f"same bits as fastmath off on these three: {same}.)")


def svml_state() -> tuple[bool, str]:
    import llvmlite.binding.config as llvm_config
    import numba

    patched = bool(llvm_config.has_svml)
    library = importlib.util.find_spec("icc_rt") is not None or any(
        (Path(sys.prefix) / "lib").glob("libsvml*"))
    text = (f"SVML: icc-rt's libsvml {'present' if library else 'absent'} in the environment; llvmlite built "
            f"with SVML support: {patched}; numba.config.USING_SVML = {numba.config.USING_SVML}")
    return bool(numba.config.USING_SVML), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "jinan.mdl")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--fastmath", action="store_true",
                        help="also time the floor with fastmath on when SVML is not available (another compile)")
    args = parser.parse_args()
    if importlib.util.find_spec("numba") is None:
        print("numba is not installed: nothing to compare (pip install numba to run bench/numba_compare.py)")
        return
    if not args.model.is_file():
        sys.exit(f"bench/numba_compare.py: model file not found: {args.model}")
    global CACHE
    # numba reads its cache folder when it is imported: a fresh one, so the first compile is cold
    CACHE = Path(tempfile.mkdtemp(prefix="jinan-sd-numba-"))
    os.environ["NUMBA_CACHE_DIR"] = str(CACHE)
    try:
        measure(args)
    finally:
        shutil.rmtree(CACHE, ignore_errors=True)


def measure(args) -> None:
    import llvmlite
    import llvmlite.binding
    import numba

    from bench.floor import floor_source, operation_mix
    from simulator.engines.fast.kernel import run as kernel_run
    from simulator.engines.fast.kernel.build import FLAGS, compiler
    from simulator.engines.fast.kernel.build import load as load_c
    from simulator.engines.fast.kernel.codegen_c import BLOCK
    from simulator.engines.fast.kernel.ufuncs import set_loops
    from simulator.engines.fast.translate import compile_model

    cc = compiler()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable); at start: "
          f"{load()}. Python {sys.version.split()[0]}, numpy {np.__version__}, numba {numba.__version__}, "
          f"llvmlite {llvmlite.__version__} (LLVM {'.'.join(map(str, llvmlite.binding.llvm_version_info))}), "
          f"C compiler: {cc[1] if cc else 'none'} {' '.join(FLAGS)}")
    svml, svml_text = svml_state()
    print(svml_text)
    plan = compile_model(args.model)
    mix, steps, n = operation_mix(plan, plan.stocks), plan.time.n_steps, args.runs
    print(f"\nFloor: bench/floor.py's operation mix of {args.model.name} (stocks) per step and run {mix}, "
          f"{steps} steps, blocks of {BLOCK} runs, N = {n:,}, best of {args.repeats}, variants interleaved.")
    folder = CACHE / "modules"
    folder.mkdir()
    variants = {"numba, fastmath off, its own pow/exp (C library)": ("numba", False),
                "numba, fastmath off, numpy's pow/exp loops through their pointers": ("numpy", False)}
    if svml or args.fastmath:  # without SVML fastmath changes no call (measured: same speed and bits)
        variants[f"numba, fastmath on ({'SVML' if svml else 'no SVML here'})"] = ("numba", True)
    kernels, compile_s, cache_note, paths = {}, {}, {}, {}
    probe = np.empty(64)
    for label, (pow_exp, fastmath) in variants.items():
        path = folder / f"floor_{len(paths)}.py"
        path.write_text(numba_floor_source(mix, steps, pow_exp, fastmath), encoding="utf-8")
        module = import_file(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            module.floor(64, probe, BLOCK)
            compile_s[label] = time.perf_counter() - start
        cache_note[label] = "; ".join(sorted({str(w.message).splitlines()[0][:160] for w in caught}))
        kernels[label], paths[label] = module.floor, path

    c_threads = kernel_run.threads()
    zero = np.zeros(1)
    pointer = zero.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    none_paths = (ctypes.POINTER(ctypes.c_double) * 2)()
    longs = np.zeros(1, dtype=np.int64).ctypes.data_as(ctypes.POINTER(ctypes.c_long))
    c_source = floor_source(mix, steps)
    start = time.perf_counter()
    c_floors = {"C floor (bench/floor.py: numpy's pow/exp loops)": load_c(c_source, cache=CACHE / "c")}
    c_compile = time.perf_counter() - start
    c_floors["C floor with the C library's pow/exp (not numpy's bits)"] = load_c(c_library_floor(c_source),
                                                                                 cache=CACHE / "c")
    for function in c_floors.values():
        set_loops(function)
    threads = min(c_threads, numba.config.NUMBA_NUM_THREADS)
    outputs = {(label, t): np.empty(n) for label in [*c_floors, *kernels] for t in (threads, 1)}

    def c_call(function, out, threads):
        target = out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        if threads == 1:
            return function(n, 0, n, pointer, none_paths, longs, longs, target)
        per = -(-n // threads)
        futures = [kernel_run._pool(threads).submit(function, n, lo, min(lo + per, n), pointer, none_paths,
                                                    longs, longs, target) for lo in range(0, n, per)]
        for future in futures:
            future.result()

    def numba_call(function, out, threads):
        numba.set_num_threads(threads)
        try:
            function(n, out, BLOCK)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    calls = {label: (lambda t, f=f, label=label: c_call(f, outputs[label, t], t)) for label, f in c_floors.items()}
    calls.update({label: (lambda t, f=f, label=label: numba_call(f, outputs[label, t], t))
                  for label, f in kernels.items()})
    best = {(label, t): math.inf for label in calls for t in (threads, 1)}
    for repeat in range(args.repeats):
        for label, call in calls.items():
            for t in ((threads, 1) if repeat < 2 else (threads,)):  # one thread: two repeats are enough
                start = time.perf_counter()
                call(t)
                best[label, t] = min(best[label, t], time.perf_counter() - start)
        print(f"  after repeat {repeat + 1}: {load()}")
    # compared on one thread: the floor's lookups land on lane 0 of each block, so its output depends on
    # where the blocks start, and the C floor's second thread starts at N/2, not at a multiple of the block
    reference = outputs["C floor (bench/floor.py: numpy's pow/exp loops)", 1]
    c_best = best["C floor (bench/floor.py: numpy's pow/exp loops)", threads]
    print(f"\nThreading: C floor {c_threads} threads (ctypes, the backend's pool); numba {threads} threads, "
          f"layer {numba.threading_layer()}.\n")
    print(f"| floor at N = {n:,} | {threads} threads | µs/run | / C floor | 1 thread | compile (first call) "
          "| output against the C floor, 1 thread each |\n|---|---:|---:|---:|---:|---:|---|")
    for label in calls:
        out = outputs[label, 1]
        differ = int((out != reference).sum())
        relative = float(np.max(np.abs(out - reference) / np.abs(reference)))
        compiled = f"{compile_s[label]:.2f} s" if label in compile_s else (
            f"{c_compile:.2f} s" if label == next(iter(c_floors)) else "")
        same = "bitwise equal" if differ == 0 else f"{differ:,} runs differ, max {relative:.1e} relative"
        print(f"| {label} | {best[label, threads]:.3f} s | {best[label, threads] / n * 1e6:.2f} "
              f"| {best[label, threads] / c_best:.2f}x | {best[label, 1]:.3f} s | {compiled} | {same} |")
    steady = all(np.array_equal(outputs[label, 1], outputs[label, threads]) for label in kernels)
    print(f"\nnumba's output on {threads} threads identical to its output on 1 thread: {steady}.")
    print("\nnumba's on-disk cache (cache=True; a second interpreter loads the module and calls floor once):\n")
    for label in kernels:
        if "Cannot cache" in cache_note[label]:  # a second process would compile it all again
            print(f"- {label}: first process compiled in {compile_s[label]:.2f} s; not cached: {cache_note[label]}")
            continue
        second = second_process(paths[label], BLOCK)
        detail = (f"error: {second['error']}" if "error" in second else
                  f"numba import {second['import']:.2f} s, first call {second['first']:.3f} s, "
                  f"cache hits {second['hits']}, misses {second['misses']}")
        print(f"- {label}: first process compiled in {compile_s[label]:.2f} s"
              f"{'; warned: ' + cache_note[label] if cache_note[label] else ''}; second process: {detail}")
    exactness(args.samples, args.seed)
    print(f"\nAt the end: {load()}.")


if __name__ == "__main__":
    main()
