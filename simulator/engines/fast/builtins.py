"""Vectorised Vensim builtins with PySD's exact semantics, called by generated engine code.

Every function accepts floats or ``(N,)`` float64 arrays and returns the same kind, so
one generated statement serves a batch of N runs. The comments give the line of
``pysd.py_backend.functions`` / ``statefuls`` each one reproduces; edge rules (time
tolerances, the 1e-6 "Vensim zero") are copied, not re-derived, because the fast
engine must agree with PySD to 1e-9.
"""

from __future__ import annotations

import contextlib

import numpy as np

SMALL_VENSIM = 1e-6  # PySD's "zero" for XIDZ/ZIDZ/QUANTUM and its PULSE/RAMP time tolerance


def full(n: int, value) -> np.ndarray:
    """Return ``value`` broadcast to a fresh, writable float64 array of shape ``(n,)``."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)))


def xidz(numerator, denominator, value_if_zero):
    """XIDZ: ``numerator / denominator`` unless ``|denominator| < 1e-6``, then the fallback."""
    # np.divide, not "/": two Python floats would raise ZeroDivisionError instead of inf.
    ratio = np.divide(numerator, denominator)
    return np.where(np.abs(denominator) < SMALL_VENSIM, value_if_zero, ratio)


def zidz(numerator, denominator):
    """ZIDZ: ``numerator / denominator`` unless ``|denominator| < 1e-6``, then 0."""
    return np.where(np.abs(denominator) < SMALL_VENSIM, 0.0, np.divide(numerator, denominator))


def quantum(a, b):
    """QUANTUM: ``b * trunc(a / b)``, or ``a`` when ``b < 1e-6`` (PySD's ``quantum``)."""
    return np.where(b < SMALL_VENSIM, a, b * np.trunc(np.divide(a, b)))


def modulo(x, m):
    """MODULO as PySD defines it: ``x - quantum(x, m)`` (result in (-m, 0] for negative x)."""
    return x - quantum(x, m)


def step(t, dt, height, start):
    """STEP: ``height`` once ``t + dt/2 > start``; half a step of slack as in PySD."""
    return height * (t + dt / 2 > start)


def ramp(t, slope, start, finish=None):
    """RAMP: ``slope * (min(t, finish) - start)`` once ``t + 1e-6 > start``."""
    final = t if finish is None else np.minimum(finish, t)
    return (t + SMALL_VENSIM > start) * slope * (final - start)


def pulse(t, start, width):
    """PULSE(start, width): 1 on ``[start - 1e-6, start + width)``, else 0 (PySD's rule)."""
    return np.where((start - SMALL_VENSIM <= t) & (t < start + width), 1.0, 0.0)


def pulse_train(t, start, repeat, width, end):
    """PULSE TRAIN(start, width, repeat, end) with PySD's branch for ``repeat == 0``."""
    single = (start - SMALL_VENSIM <= t) & (t < start + width)
    # np.mod matches Python's float % (sign of the divisor), which PySD uses.
    train = (start <= t) & (t < end) & (np.mod(t - start + SMALL_VENSIM, repeat) < width)
    return np.where(repeat == 0, single, train) * 1.0


def lookup(x, xs, ys, extrapolate=False):
    """Linear table lookup; flat beyond the ends unless the table is an extrapolating one.

    Parameters
    ----------
    x : float or numpy.ndarray
        Lookup argument [units of the table's x axis].
    xs, ys : numpy.ndarray
        Sorted, strictly increasing x points and their y values, shape ``(K,)``.
    extrapolate : bool
        PySD's ``"extrapolate"`` interpolation type: continue the end segments' slopes.
    """
    y = np.interp(x, xs, ys)
    if not extrapolate:
        return y
    lo = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    hi = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return np.where(x < xs[0], lo, np.where(x > xs[-1], hi, y))


def delay_order(order: int, delay_time, dt: float):
    """Effective order of a DELAYn per run, as PySD fixes it at initialisation.

    PySD lowers the order while ``order * dt > delay_time`` (so the stages stay stable);
    an order of 0 (delay shorter than one step) makes PySD crash, here it yields NaN.

    Returns
    -------
    float or numpy.ndarray
        The nominal order as a float when every run keeps it, else the per-run orders.
    """
    delay_time = np.asarray(delay_time, dtype=np.float64)
    orders = np.full(delay_time.shape, order, dtype=np.int64)
    for k in range(order, 0, -1):
        orders[(orders == k) & (k * dt > delay_time)] = k - 1
    if np.all(orders == order):
        return float(order)
    return orders.astype(np.float64)


def last_stage(orders, stages):
    """Value of stage ``orders - 1`` per run (NaN where the order collapsed to 0)."""
    if np.ndim(orders) == 0:
        return stages[int(orders) - 1]
    conditions = [orders == k + 1 for k in range(len(stages))]
    return np.select(conditions, [np.broadcast_to(s, orders.shape) for s in stages], np.nan)


class Pipe:
    """DELAY FIXED's ring buffer for a batch: output at step k is the input at step k - order.

    Mirrors ``pysd.py_backend.statefuls.DelayFixed``: ``order = round(max(delay/dt, 1) +
    1e-6)`` steps, fixed at initialisation, one order per run.

    Parameters
    ----------
    delay_time : float or numpy.ndarray
        Delay [time units], evaluated at the initial time.
    dt : float
        Time step [time units].
    initial : float or numpy.ndarray
        Output until the first input comes through.
    n : int
        Number of runs in the batch.
    max_steps : int
        Steps in the simulation; longer pipes behave identically and are capped to save memory.
    """

    def __init__(self, delay_time, dt: float, initial, n: int, max_steps: int):
        ratio = np.maximum(np.asarray(delay_time, dtype=np.float64) / dt, 1.0)
        bad = ~np.isfinite(ratio)
        orders = np.rint(np.where(bad, 1.0, np.minimum(ratio, max_steps + 1)) + SMALL_VENSIM)
        self.orders = full(n, orders).astype(np.int64)
        self.pipe = np.empty((int(self.orders.max()), n))
        self.pipe[:] = full(n, initial)
        # A non-finite delay poisons its own run only, for the whole simulation.
        self.poisoned = full(n, bad).astype(bool) if np.any(bad) else None
        self.order = int(self.orders.max())
        self.uniform = bool(np.all(self.orders == self.order))
        self.pointer = 0 if self.uniform else np.zeros(n, dtype=np.int64)
        self.columns = np.arange(n)
        self.state = self._mask(self.pipe[0].copy())

    def _mask(self, state: np.ndarray) -> np.ndarray:
        if self.poisoned is not None:
            state[self.poisoned] = np.nan
        return state

    def push(self, value) -> np.ndarray:
        """Store this step's input and return the output for the next step."""
        if self.uniform:  # one order for all runs: plain row slicing, no fancy indexing
            self.pipe[self.pointer] = value
            self.pointer = (self.pointer + 1) % self.order
            self.state = self._mask(self.pipe[self.pointer].copy())
            return self.state
        self.pipe[self.pointer, self.columns] = value
        self.pointer = (self.pointer + 1) % self.orders
        self.state = self._mask(self.pipe[self.pointer, self.columns])
        return self.state


class Held:
    """SAMPLE IF TRUE's held value for a batch (``pysd.py_backend.statefuls.SampleIfTrue``).

    ``state`` is the value held since the condition was last true (the initial value before);
    :meth:`push` stores the step's output, ``where(condition, input, state)``.
    """

    def __init__(self, initial, n: int):
        self.n = n
        self.state = full(n, initial)

    def push(self, value) -> np.ndarray:
        """Hold this step's output for the next step."""
        self.state = full(self.n, value)
        return self.state


class PathInterpolator:
    """Linear interpolation of a time path, flat beyond the ends, for one chunk of runs.

    Matches PySD's ``float(np.interp(time, series.index, series.values))`` for a pandas
    Series parameter; ``values`` may hold one path for all runs ``(K,)`` or one per run
    ``(n, K)``.
    """

    def __init__(self, years: np.ndarray, values: np.ndarray):
        self.years = np.asarray(years, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)

    def __call__(self, t):
        if self.values.ndim == 1:
            return np.interp(t, self.years, self.values)
        years, values = self.years, self.values
        if t <= years[0]:
            return values[:, 0]
        if t >= years[-1]:
            return values[:, -1]
        j = int(np.searchsorted(years, t, side="right")) - 1
        # np.interp's own formula, so the per-run path equals the one-path result bitwise.
        slope = (values[:, j + 1] - values[:, j]) / (years[j + 1] - years[j])
        return slope * (t - years[j]) + values[:, j]
def _stack(values) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values)))


def vsum(*values):
    """SUM over a subscript: xarray's ``sum`` (skips NaN, as PySD's ``sum`` does)."""
    return np.nansum(_stack(values), axis=0)


def vprod(*values):
    """PROD over a subscript: xarray's ``prod`` (skips NaN)."""
    return np.nanprod(_stack(values), axis=0)


def vmin(*values):
    """VMIN over a subscript: xarray's ``min`` (skips NaN; NaN only when all are)."""
    return np.fmin.reduce(_stack(values), axis=0)


def vmax(*values):
    """VMAX over a subscript: xarray's ``max`` (skips NaN; NaN only when all are)."""
    return np.fmax.reduce(_stack(values), axis=0)


def data_value(t, times, values, method: str):
    """A data variable at time t, as ``pysd.py_backend.data.Data.__call__``.

    A time listed in the data gives its value; otherwise ``raw`` gives NaN, times beyond the
    ends the end values, ``interpolate`` linear interpolation, ``look_forward`` the next value
    and ``hold_backward`` the previous one.
    """
    i = int(np.searchsorted(times, t))
    if i < times.size and times[i] == t:
        return values[i]
    if method == "raw":
        return np.nan
    if t > times[-1]:
        return values[-1]
    if t < times[0]:
        return values[0]
    if method == "interpolate":
        return np.interp(t, times, values)
    return values[i] if method == "look_forward" else values[i - 1]


def _order(direction, values) -> np.ndarray:
    order = np.argsort(_stack(values), axis=0)  # pysd: vector.argsort() on the last axis
    return np.flip(order, axis=0) if direction <= 0 else order


def sort_order(position: int, direction, *values):
    """VECTOR SORT ORDER at one position: the index (0-based) of the element sorted there."""
    return _order(direction, values)[position].astype(np.float64)


def rank(position: int, direction, *values):
    """VECTOR RANK at one position: pysd's ``sort_order.argsort() + 1``."""
    return (np.argsort(_order(direction, values), axis=0)[position] + 1).astype(np.float64)


def reorder(position: int, index, *values):
    """VECTOR REORDER at one position: ``vector[svector[position]]`` along the last axis."""
    stacked = _stack(values)
    picks = np.broadcast_to(np.asarray(index).astype(np.int64), stacked.shape[1:])
    return np.take_along_axis(stacked, picks[None, ...], axis=0)[0]


def invert(i: int, j: int, size: int, *values):
    """Element (i, j) of the inverse of each run's ``size x size`` matrix (``np.linalg.inv``)."""
    matrices = np.moveaxis(_stack(values).reshape((size, size, -1)), -1, 0)
    try:
        return np.linalg.inv(matrices)[:, i, j]
    except np.linalg.LinAlgError:  # a singular matrix: NaN in its own run only (pysd would stop)
        out = np.full(matrices.shape[0], np.nan)
        for run, matrix in enumerate(matrices):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[run] = np.linalg.inv(matrix)[i, j]
        return out


#: further builtins exposed to generated code, by their kernel name
EXTRA = {"_invert": invert, "_sort_order": sort_order, "_rank": rank, "_reorder": reorder, "_data": data_value,
         "_vsum": vsum, "_vprod": vprod, "_vmin": vmin, "_vmax": vmax}
