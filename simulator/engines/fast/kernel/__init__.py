"""The compiled backend of the fast engine: the same Plan, fused into one C loop per batch of runs.

:mod:`.to_c` reads the plan's expression source, :mod:`.codegen_c` writes the kernel, :mod:`.build`
compiles and caches it, :mod:`.run` runs it on every core. :func:`run_with_backend` is the one
entry: ``backend="compiled"`` falls back to the numpy backend, with one warning line, for a
construct it cannot take or a failed compilation — never a different number.
"""

from __future__ import annotations

import os
import warnings

from simulator.errors import UserError

__all__ = ["BACKEND_VARIABLE", "BACKENDS", "DEFAULT_BACKEND", "BackendFallbackWarning", "available", "check_backend",
           "compile_in_background", "run_with_backend"]

BACKENDS = ("numpy", "compiled")
DEFAULT_BACKEND = "compiled"
#: Environment variable naming the default backend (the CLI's ``--backend`` sets it for every analysis).
BACKEND_VARIABLE = "JINAN_SD_BACKEND"


_BACKGROUND = {"on": False}  # see compile_in_background


def compile_in_background(on: bool = True) -> None:
    """Interactive use (the app): a small batch (under ``run.NO_WAIT_BELOW`` runs) whose compiled kernel
    is not built yet runs on the numpy backend — the same numbers, ~10 ms a run — while the kernel
    compiles on a background thread (~2 s for the one-lane kernel of every variable of the Jinan model,
    built once per set of outputs and time paths: see :func:`.run.run_compiled`), instead of holding up
    the answer. Off by default: a command-line run waits for the compiler, then the kernel is cached on
    disk."""
    _BACKGROUND["on"] = bool(on)


class BackendFallbackWarning(RuntimeWarning):
    """The compiled backend could not run this plan; the numpy backend ran it instead."""


def available() -> bool:
    """True when a C compiler is present (the compiled backend can be built)."""
    from simulator.engines.fast.kernel.build import compiler

    return compiler() is not None


def check_backend(backend: str | None) -> str:
    """The backend name, validated (None -> the default)."""
    if backend is None:
        backend = os.environ.get(BACKEND_VARIABLE) or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r} (use {' or '.join(BACKENDS)})")
    return backend


def run_with_backend(plan, params=None, n=None, variables=None, method="euler", chunk_size=None,
                     backend=None, strict=False, out=None):
    """Run ``plan`` on the chosen backend; returns ``(times, values, backend actually used)``.

    ``strict=True`` raises instead of falling back (a remote worker must run what the client chose).
    ``out``: the compiled backend's output block to reuse (see :func:`.run.run_compiled`); the numpy
    backend ignores it.
    """
    backend = check_backend(backend)
    if backend == "compiled":
        from simulator.engines.fast.kernel.build import BuildError, NotReady
        from simulator.engines.fast.kernel.run import run_compiled
        from simulator.engines.fast.kernel.to_c import Unsupported

        wait = True if strict or not _BACKGROUND["on"] else None
        try:
            times, values = run_compiled(plan, params, n, variables, method, out=out, wait=wait)
            return times, values, "compiled"
        except NotReady:
            pass  # compiling in the background: this call on the numpy backend (same numbers)
        except (Unsupported, BuildError) as error:
            if strict:
                raise UserError(f"compiled backend unavailable here: {error}") from None
            seen = plan.__dict__.setdefault("_fallback_reasons", set())
            if str(error) not in seen:
                seen.add(str(error))
                warnings.warn(f"compiled backend unavailable ({error}); running the numpy backend",
                              BackendFallbackWarning, stacklevel=3)
    times, values = plan.run(params, n=n, variables=variables, method=method, chunk_size=chunk_size)
    return times, values, "numpy"
