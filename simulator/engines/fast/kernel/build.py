"""Compile a generated C kernel with the system compiler, cached on disk by the source's hash.

Cache: ``<cache_dir>/kernels/<sha256>.so`` (``cache_dir`` is the pysd cache's folder,
``$JINAN_SD_CACHE`` or ``~/.cache/jinan-sd``). The key hashes the full C source, the compiler's
version, the flags and the CPU (the code is built for this CPU, ``-march=native``), so a hit is
the same machine code; a second process pays only the ``dlopen``. Written atomically (compiled
into a temporary file in the same folder, then renamed). Trust rules, as for the pysd cache and
stricter because this is native code: a cached library is loaded only when it and its folder
belong to the current user and are writable by nobody else; otherwise it is rebuilt in a private
temporary folder and not cached.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path

from simulator.model.cache import trusted as _trusted

__all__ = ["FLAGS", "BuildError", "NotReady", "compiler", "in_background", "load"]

# No -ffast-math: every operation is rounded as numpy rounds it; no fused multiply-adds either.
FLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared"]


class BuildError(RuntimeError):
    """The system compiler is missing or rejected the generated kernel."""


@lru_cache(maxsize=1)
def compiler() -> tuple[str, str] | None:
    """(path, version line) of the C compiler (``$CC`` or cc/gcc/clang), or None when there is none."""
    for name in filter(None, [os.environ.get("CC"), "cc", "gcc", "clang"]):
        path = shutil.which(name)
        if path:
            try:
                version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                                         check=True).stdout.splitlines()[0]
            except (OSError, subprocess.SubprocessError, IndexError):
                continue
            return path, version
    return None


@lru_cache(maxsize=1)
def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            lines = [line for line in info if line.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        import platform

        return platform.processor() or platform.machine()


def _compile(cc: str, source: str, target: Path) -> None:
    c_file = target.with_suffix(".c")
    c_file.write_text(source, encoding="utf-8")
    try:
        result = subprocess.run([cc, *FLAGS, "-o", str(target), str(c_file), "-lm"], capture_output=True,
                                text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        raise BuildError(f"compiler failed to run: {error}") from None
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["no message"])[0]
        raise BuildError(f"compiler rejected the kernel: {first}")


class NotReady(Exception):
    """The kernel is not built yet and the caller chose not to wait: it is compiling in the background."""


_BUILDING_LOCK = threading.Lock()


def in_background(store: dict, key, make):
    """Start (once per ``key`` of ``store``) or look up a background build: ``make()``'s result when done,
    else :class:`NotReady`.

    A daemon thread, so a process that ends while gcc runs does not wait for it (the build is
    atomic: an unfinished one leaves no library, only a staging folder that the next build ignores).
    A failed build stays on record in ``store``: later calls see its error (and fall back to the numpy
    backend) without compiling again.
    """
    with _BUILDING_LOCK:
        future = store.get(key)
        if future is None:
            future = store[key] = Future()

            def build():
                try:
                    future.set_result(make())
                except BaseException as error:  # the next caller sees it (BuildError -> numpy fallback)
                    future.set_exception(error)

            threading.Thread(target=build, name="jinan-sd-kernel-build", daemon=True).start()
    if not future.done():
        raise NotReady("the compiled kernel is being built")
    if future.exception() is None:
        with _BUILDING_LOCK:
            store.pop(key, None)
    return future.result()


def load(source: str, cache: Path | None = None):
    """The ``jsd_kernel`` function of ``source``, compiled once per source, compiler and CPU.

    Compiling the Jinan model's all-variable kernel in blocks of 32 runs takes 16-20 s (gcc -O3); a caller
    that should not wait builds through :func:`in_background` (see ``run.kernel_for``).

    Raises
    ------
    BuildError
        No compiler, or compilation failed (the caller then runs the numpy backend).
    """
    found = compiler()
    if found is None:
        raise BuildError("no C compiler found (set CC or install gcc)")
    cc, version = found
    key = hashlib.sha256("\0".join([source, version, " ".join(FLAGS), _cpu()]).encode()).hexdigest()
    if cache is None:
        from simulator.engines.pysd import cache_dir

        cache = cache_dir()
    folder = Path(cache) / "kernels"
    library = folder / f"{key[:32]}.so"
    if not (library.is_file() and _trusted(library)):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            usable = _trusted(folder / ".")
        except OSError:
            usable = False
        if usable:
            staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
            try:
                _compile(cc, source, staging / "kernel.so")
                os.chmod(staging / "kernel.so", 0o755)
                os.replace(staging / "kernel.so", library)  # atomic: readers see all of it or none
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        else:  # an untrusted cache: build privately, load, forget
            private = Path(tempfile.mkdtemp(prefix="jinan-sd-kernel-"))
            library = private / "kernel.so"
            _compile(cc, source, library)
    handle = ctypes.CDLL(str(library))
    function = handle.jsd_kernel
    pointer = ctypes.POINTER
    function.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_long, pointer(ctypes.c_double),
                         pointer(pointer(ctypes.c_double)), pointer(ctypes.c_long), pointer(ctypes.c_long),
                         pointer(ctypes.c_double)]
    function.restype = None
    function.keep_alive = handle
    return function
