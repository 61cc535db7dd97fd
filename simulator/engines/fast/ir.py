"""The fast engine's intermediate representation: plain data, no code generation, no stepping.

:mod:`translate` fills these types from pysd's AST; :mod:`codegen` turns them into a kernel;
:mod:`integrate` steps the kernel. A second back end (a compiled kernel) reads the same types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from simulator.engines.fast.statefuls import KINDS
from simulator.errors import ModelError, UserError

__all__ = ["TIME", "CompileError", "Element", "Expr", "ParameterError", "Stateful", "TimePath", "TimeSettings"]

TIME = "time"  # the dependency that marks an expression as time-varying


class CompileError(ModelError, ValueError):
    """A model construct the fast engine cannot compute exactly; raised at load time.

    A :class:`~simulator.errors.UserError`: one line naming the element, the construct and
    (once :func:`~simulator.engines.fast.translate.compile_model` adds it) the file. Defined here, with
    the plan's data, so catching it does not import the translator (and pysd).
    """

class ParameterError(UserError, ValueError):
    """A parameter that names no overridable element, or has an unusable shape (one line)."""


def _decimal(x: float) -> Decimal:
    """The shortest decimal that prints as ``x`` (0.1 -> Decimal('0.1'), not its binary value)."""
    return Decimal(repr(float(x)))


@dataclass(frozen=True)
class TimeSettings:
    """Simulation clock [model time units]; time is ``initial + k * dt`` for integer k."""

    initial: float
    final: float
    dt: float
    saveper: float

    @property
    def n_steps(self) -> int:
        """Number of integration steps; PySD steps while ``t + dt*1e-5 < final``."""
        return max(0, math.ceil((self.final - self.initial) / self.dt - 1e-5))

    @property
    def save_every(self) -> int:
        """Steps between saved points (``saveper / dt``)."""
        return max(1, round(self.saveper / self.dt))

    def saved_steps(self) -> np.ndarray:
        """Integer step numbers k of the saved points, shape ``(T,)``."""
        return np.arange(0, self.n_steps + 1, self.save_every)

    def saved_times(self) -> np.ndarray:
        """Saved times ``initial + k * dt`` computed in decimal, then rounded once [time units].

        Labels are the true decimal values (0.1 * 3 is 0.3, not 0.30000000000000004).
        """
        t0, dt = _decimal(self.initial), _decimal(self.dt)
        return np.array([float(t0 + int(k) * dt) for k in self.saved_steps()], dtype=np.float64)


@dataclass(frozen=True)
class Expr:
    """One compiled expression.

    ``src`` is numpy source over ``v_<element>`` / ``w<k>`` (stateful outputs) and ``t``;
    ``deps`` are the element names and stateful keys it reads, plus ``"time"``.
    """

    src: str
    deps: frozenset = frozenset()
    is_bool: bool = False
    literal: float | None = None  # set when the expression is a number, for folding
    bare: bool = False  # a number as written in the model, which PySD emits as bare text


@dataclass
class Stateful:
    """A state-holding builtin, pulled out of the equation that contains it.

    ``kind`` names an entry of :data:`simulator.engines.fast.statefuls.KINDS`; ``args``
    holds the compiled arguments (input, delay_time, initial, ...); ``owner`` the element
    whose equation contains it.
    """

    key: str
    kind: str
    owner: str
    args: dict
    order: int = 1
    non_negative: bool = False

    @property
    def index(self) -> int:
        return int(self.key[3:])

    @property
    def spec(self):
        """This stateful's kind: how it initialises, moves and outputs."""
        return KINDS[self.kind]

    def _deps(self, names) -> frozenset:
        return frozenset().union(*(self.args[n].deps for n in names))

    def output_deps(self) -> frozenset:
        """What the stateful's output reads besides its own state, at every step."""
        return self._deps(self.spec.output_args)

    def init_deps(self) -> frozenset:
        """What initialising the state (and its first output) reads."""
        return self._deps(self.spec.init_args)

    def rate_deps(self) -> frozenset:
        """What the state's derivative (or a discrete state's next value) reads."""
        return self._deps(self.spec.rate_args)


@dataclass
class Element:
    """One model element: kind is constant, aux, stock or control."""

    name: str
    original: str
    kind: str
    expr: Expr


@dataclass(frozen=True)
class TimePath:
    """A time series that replaces an element's equation during a run.

    Linear interpolation in time, flat beyond the ends, as PySD does for a pandas Series
    parameter.

    Parameters
    ----------
    years : numpy.ndarray
        Strictly increasing times, shape ``(K,)`` [model time units].
    values : numpy.ndarray
        One path for all runs, shape ``(K,)``, or one per run, shape ``(N, K)``
        [units of the replaced element].
    """

    years: np.ndarray
    values: np.ndarray

    def __post_init__(self):
        years = np.asarray(self.years, dtype=np.float64)
        values = np.asarray(self.values, dtype=np.float64)
        if years.ndim != 1 or years.size == 0 or np.any(np.diff(years) <= 0):
            raise ParameterError("TimePath years must be a non-empty increasing 1-D array")
        if values.ndim not in (1, 2) or values.shape[-1] != years.size:
            raise ParameterError(
                f"TimePath values must have shape ({years.size},) or (N, {years.size})")
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "values", values)
