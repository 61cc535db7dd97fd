"""Run a Plan on the compiled kernel: marshal the parameters, split the runs over the cores, collect.

Each run is independent and computed by the same instructions whatever block or thread it lands
in (no fast-math, no fused multiply-adds, no reductions across runs), so the result does not
depend on the number of threads.
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from simulator.engines.fast.integrate import _normalise
from simulator.engines.fast.ir import ParameterError
from simulator.engines.fast.kernel.build import in_background, load
from simulator.engines.fast.kernel.codegen_c import BLOCK, generate_c
from simulator.engines.fast.kernel.ufuncs import set_loops

__all__ = ["kernel_for", "run_compiled", "small_pages_empty", "threads"]

_PER_THREAD = 256  # fewer runs than this per thread: the thread start costs more than it saves


def threads() -> int:
    """Threads the kernel uses: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@lru_cache(maxsize=1)
def _pool(size: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="jinan-sd-kernel")


def kernel_for(plan, kinds: dict, variables: list, method: str, wait: bool = True, block: int = BLOCK):
    """The compiled kernel for these override kinds, outputs, method and block of runs (memory, then disk
    cache).

    Raises Unsupported or BuildError when it cannot be had (the caller falls back), NotReady when
    ``wait`` is false and it is still being compiled in the background.
    """
    cache = plan.__dict__.setdefault("_compiled_kernels", {})
    # the clock is in the key too: a kernel's step count and saved times are compiled in
    key = (tuple(sorted(kinds.items())), tuple(variables), method, plan.time, block)
    if key not in cache:
        if len(cache) >= 64:
            cache.clear()

        def make():
            return load(generate_c(plan, dict(sorted(kinds.items())), list(variables), method, block))

        # not waiting: the source's generation (~45 ms for the Jinan model) is off the caller's path too,
        # with the compiler (or the dlopen of a kernel already on disk) on a background thread
        function = make() if wait else in_background(plan.__dict__.setdefault("_kernels_building", {}), key, make)
        set_loops(function)
        cache[key] = function
    return cache[key]


_PAGES = threading.Lock()


def small_pages_empty(shape) -> np.ndarray:
    """``np.empty(shape)`` without numpy's transparent-hugepage advice (a large output block).

    numpy asks the kernel for huge pages on arrays of 4 MB and more; where the kernel's THP ``defrag``
    setting is ``madvise`` (this machine's), every such fault compacts memory synchronously: filling a fresh
    470 MB table took 1.74 s with the advice and 0.34 s without it (bench/RESULTS.md, issue 17 second
    session). The advice is switched off for this one allocation only; no number changes.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # pragma: no cover - numpy < 2 or a numpy without the switch
        return np.empty(shape)
    with _PAGES:  # the switch is process-wide: one allocation at a time flips it
        previous = _set_madvise_hugepage(False)
        try:
            return np.empty(shape)
        finally:
            _set_madvise_hugepage(previous)


def _pointer(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


#: With ``wait=None``, batches of fewer runs than this do not wait for a kernel to compile.
NO_WAIT_BELOW = 64
#: Batches of fewer runs than this run on the one-lane kernel with every constant a parameter
#: (:func:`run_compiled`).
SMALL_BATCH = 64


def _constants(plan) -> dict:
    """name -> value of every constant of ``plan`` that a small batch passes as a parameter (see
    :func:`run_compiled`): literal equations, not the time settings, not a constant that fixes a
    structure (a delay's number of stages is compiled in). Computed once per plan."""
    found = plan.__dict__.get("_literal_constants")
    if found is None:
        fixed = getattr(plan, "fixed", {})
        found = plan.__dict__["_literal_constants"] = {
            name: float(element.expr.literal) for name, element in plan.elements.items()
            if element.expr.literal is not None and element.kind != "control" and name not in fixed}
    return found


def run_compiled(plan, params=None, n=None, variables=None, method="euler", out=None, wait=True):
    """Simulate ``plan`` for N parameter sets on the compiled kernel; same contract as ``Plan.run``.

    A batch of fewer than :data:`SMALL_BATCH` runs runs on a one-lane kernel that takes every constant
    of the plan as a parameter (its own value where not overridden), so that one kernel serves every
    set of overridden constants. Why: each new set is otherwise a new kernel, and the all-variable
    kernel of the Jinan model in blocks of 32 runs takes 16-20 s of gcc -O3 (bench/RESULTS.md, compile
    latency), which an app user moving a new lever, or a CLI ``run --set`` of a new lever, waited for;
    the one-lane form compiles in ~2 s, once per set of outputs and time paths. No number changes: a
    constant read as a parameter is the same double in the same operations (tested bitwise against
    the numpy backend).

    ``wait=False``: a kernel not yet built is compiled in the background and :class:`NotReady` raised;
    ``wait=None``: so for batches under :data:`NO_WAIT_BELOW` runs (interactive single runs), while a
    larger batch waits for the compiler (it pays back, and the kernel is cached on disk).

    ``out``: a C-ordered float64 array of shape (len(variables), T, N) to write into instead of a fresh
    block (a caller that copies each batch out before the next saves the page faults of a new block; the
    returned arrays are views of it).
    """
    values, kinds, n_runs = _normalise(plan, params, n)
    if wait is None:
        wait = n_runs >= NO_WAIT_BELOW
    variables = list(plan.names if variables is None else variables)
    unknown = [v for v in variables if v not in plan.elements]
    if unknown:
        raise ParameterError(f"unknown variables requested: {unknown}")
    kinds = {name: _kind(kind, values[name]) for name, kind in kinds.items()}
    small = n_runs < SMALL_BATCH
    lanes = 1 if small else BLOCK
    constants = {name: v for name, v in _constants(plan).items() if name not in kinds} if small else {}
    every = {**kinds, **dict.fromkeys(constants, "value")}
    function = kernel_for(plan, every, variables, method, wait, lanes)
    names = sorted(every)
    scalars = [name for name in names if every[name] in ("value", "array")]
    P = np.empty((max(1, len(scalars)), n_runs))
    for i, name in enumerate(scalars):
        P[i] = constants[name] if name in constants else values[name]
    paths = [values[name] for name in names if every[name] in ("path", "rows")]
    keep, pointers = [], (ctypes.POINTER(ctypes.c_double) * max(2, 2 * len(paths)))()
    lengths = np.zeros(max(1, len(paths)), dtype=np.int64)
    rows = np.ones(max(1, len(paths)), dtype=np.int64)
    for i, path in enumerate(paths):
        years, table = (np.ascontiguousarray(path.years, dtype=np.float64),
                        np.ascontiguousarray(path.values, dtype=np.float64))
        keep += [years, table]
        pointers[2 * i], pointers[2 * i + 1] = _pointer(years), _pointer(table)
        lengths[i], rows[i] = years.size, (table.shape[0] if table.ndim == 2 else 1)
    times = plan.time.saved_times()
    shape = (len(variables), times.size, n_runs)
    if out is not None and (out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous):
        raise ValueError(f"out: expected a C-ordered float64 array of shape {shape}")
    result = small_pages_empty(shape) if out is None else out
    c_long_p = ctypes.POINTER(ctypes.c_long)
    args = (_pointer(P), pointers, lengths.ctypes.data_as(c_long_p), rows.ctypes.data_as(c_long_p),
            _pointer(result))
    workers = min(threads(), max(1, n_runs // _PER_THREAD))
    if workers <= 1:
        function(n_runs, 0, n_runs, *args)
    else:
        per = -(-n_runs // workers)
        per = -(-per // lanes) * lanes
        bounds = [(lo, min(lo + per, n_runs)) for lo in range(0, n_runs, per)]
        futures = [_pool(threads()).submit(function, n_runs, lo, hi, *args) for lo, hi in bounds]
        for future in futures:
            future.result()
    del keep
    return times, {v: result[i].T for i, v in enumerate(variables)}


def _kind(kind: str, value) -> str:
    """The kernel's override kind: numpy computes differently on one number and on one per run."""
    if kind == "path":
        return "rows" if np.ndim(value.values) == 2 else "path"
    return "array" if np.ndim(value) else "value"
