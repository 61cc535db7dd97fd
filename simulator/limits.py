"""Limits on what one request may ask of the machine: memory estimates before allocating, and the caps
a shared server (the app) puts on each session.

Estimates are deliberately rough (bytes of the arrays that are kept, times a safety factor for the
copies made while computing); they exist so that an impossible request fails in a second with the
numbers, instead of after minutes with a ``MemoryError``.
"""

from __future__ import annotations

import numbers
import os

from simulator.errors import UserError

#: Share of the machine's available memory one request may plan to use.
MEMORY_SHARE = 0.5
#: Bytes of one float64.
FLOAT = 8
#: Copies of the kept arrays made while computing (concatenation, quantiles, tables).
COPIES = 4

# --- caps of the app (a server shared by several people) ---------------------------------------
#: Largest ensemble one app session may run.
APP_MAX_ENSEMBLE = 20_000
#: Ensembles running at once in one app server (further requests wait for a free slot or are refused).
APP_MAX_CONCURRENT_ENSEMBLES = 2
#: Largest scenario file accepted by an upload (a scenario is a few kB; ``server.maxUploadSize`` in
#: ``.streamlit/config.toml`` caps every upload at 1 MB before this).
MAX_SCENARIO_BYTES = 256 * 1024


def available_memory() -> int:
    """Memory available to new allocations [bytes] (``MemAvailable``, else total physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


def gigabytes(n_bytes: float) -> str:
    """Bytes as ``"12.3 GB"`` (or MB below a gigabyte)."""
    if n_bytes >= 1024**3:
        return f"{n_bytes / 1024**3:.1f} GB"
    return f"{n_bytes / 1024**2:.0f} MB"


def check_memory(needed: float, what: str, param: str | None = None, hint: str = "") -> None:
    """Refuse, before allocating, a request whose estimate exceeds :data:`MEMORY_SHARE` of free memory.

    Parameters
    ----------
    needed : float
        Estimated peak memory [bytes].
    what : str
        The start of the message, naming the parameter (``"n: 10000000 runs"``).
    """
    have = available_memory()
    if needed > MEMORY_SHARE * have:
        raise UserError(f"{what} need about {gigabytes(needed)} of memory; this machine has "
                        f"{gigabytes(have)} available{hint}", param=param)


def ensemble_bytes(n: int, n_inputs: int, n_variables: int, n_years: int, n_targets: int) -> float:
    """Peak memory of an ensemble of ``n`` runs [bytes]: the kept series, inputs, outcomes and copies."""
    # the per-chunk series are concatenated (two copies at the peak); inputs, outcomes and their tables
    # are copied a few times more
    per_run = FLOAT * (2 * n_variables * n_years + n_years + COPIES * (n_inputs + 2 * n_targets + 1))
    return float(n) * per_run


def check_runs(n, param: str = "n", limit: int = 2**40) -> int:
    """A run count as an int in [1, limit] (refuses 0, negatives, booleans and absurd sizes)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise UserError(f"{param} must be a whole number, got {n!r}", param=param)
    n = int(n)
    if n < 1:
        raise UserError(f"{param} must be at least 1, got {n}", param=param)
    if n > limit:
        raise UserError(f"{param} = {n} is too large (at most {limit})", param=param)
    return n
