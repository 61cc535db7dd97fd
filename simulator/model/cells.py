"""The cells of subscripted constants, and overrides of them checked cell by cell.

A subscripted constant ``growth[region]`` has one cell per element of its ranges (``growth[north]``,
...; two-dimensional ones ``weight[north,k1]``); result columns name cells the same way, with Vensim's
element names as written. An override may set

- every cell: ``growth = 3.0``;
- one cell: ``growth[north] = 3.0`` (a subrange in a position sets each of its elements);
- named cells: ``growth = {north = 3.0, south = 4.0}`` (two dimensions: ``{"north,k1" = 3.0}``).

:func:`expand` turns any of these into ``{"growth[north]": 3.0, ...}``, the form both engines take.
Element names are matched as written, else by their canonical id (``entry_1`` for ``Entry 1``, easier to
type in a shell); anything else is a one-line :class:`ScenarioError` naming the place (``where``), the
variable and the element, with the closest names (difflib).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

from simulator.errors import ScenarioError
from simulator.model.naming import canonical_id

#: Library parameters an override can come through (a message about them carries ``param``, so a face can
#: name its own input instead, e.g. the CLI's ``--set``); any other ``where`` is a file name.
PARAMETERS = ("overrides", "samples", "variables")


def fail(where: str, text: str) -> ScenarioError:
    """The one-line error ``where: text``, carrying ``param`` when ``where`` is a library parameter."""
    return ScenarioError(f"{where}: {text}", param=where if where in PARAMETERS else None)


@lru_cache(maxsize=8)
def _ranges(model) -> dict[str, list[str]]:
    """Range (and subrange) name -> its elements, in order; a range defined by or copied from another range
    expanded (ranges read from data files, which pysd resolves itself, are not listed)."""
    raw = {}
    for rng in model.abstract_model.sections[0].subscripts:
        if isinstance(rng.subscripts, list):
            raw[rng.name] = list(rng.subscripts)
        elif isinstance(rng.subscripts, str):  # a copy of another range (``B <-> A``): the same elements
            raw[rng.name] = [rng.subscripts]

    def elements(name, seen):
        out = []
        for item in raw[name]:
            out += elements(item, seen | {item}) if item in raw and item not in seen else [item]
        return out

    return {name: elements(name, {name}) for name in raw}


@lru_cache(maxsize=8)
def _cells(model) -> dict[str, tuple]:
    """Element id -> its cells (tuples of element names, in dimension order) for every subscripted element."""
    if not any(element.subscripts for element in model.elements.values()):
        # none: pysd's syntax trees are not needed (a cached model unpickles them, and imports pysd, on first
        # use: 0.4-0.6 s of every `mc` start, measured in bench/RESULTS.md, "End to end, third session")
        return {}
    ranges = _ranges(model)
    out = {}
    for element in model.abstract_model.sections[0].elements:
        found = []
        for component in element.components:
            positions, exceptions = component.subscripts
            if not positions:
                continue
            excluded = set()
            for exception in exceptions or []:
                excluded.update(itertools.product(*(ranges.get(p, [p]) for p in exception)))
            for cell in itertools.product(*(ranges.get(p, [p]) for p in positions)):
                if cell not in excluded and cell not in found:
                    found.append(cell)
        if found:
            out[canonical_id(element.name)] = tuple(found)
    return out


def cells(model, ident: str) -> tuple:
    """The cells of the element ``ident`` (empty for a scalar one)."""
    return _cells(model).get(ident, ())


def cell_key(ident: str, cell) -> str:
    """The result id of one cell: ``growth[north]``, ``weight[north,k1]``."""
    return f"{ident}[{','.join(cell)}]"


def _suggest(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.4)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def _position(model, ident: str, name: str, k: int, known: tuple, where: str, key: str) -> list[str]:
    """The elements meant by ``name`` in position ``k`` of ``ident``'s cells (a subrange gives several)."""
    allowed = list(dict.fromkeys(cell[k] for cell in known))
    if name in allowed:
        return [name]
    ranges = _ranges(model)
    if name in ranges and set(ranges[name]) <= set(allowed):
        return list(ranges[name])
    by_id = {canonical_id(a): a for a in allowed}
    if canonical_id(name) in by_id:
        return [by_id[canonical_id(name)]]
    dims = len(known[0])
    place = f"an element of subscript {k + 1} of '{ident}'" if dims > 1 else f"an element of '{ident}'"
    elsewhere = " (an element of another range)" if name in model.subscript_elements else ""
    hint = _suggest(name, allowed) or f" (its elements: {', '.join(allowed[:8])}{', ...' if len(allowed) > 8 else ''})"
    raise fail(where, f"'{key}': '{name}' is not {place}{elsewhere}{hint}")


def _resolve_cells(model, ident: str, text: str, where: str, key: str) -> list[tuple]:
    """The cells ``text`` (``"north"``, ``"north, k1"``) names in ``ident``."""
    known = cells(model, ident)
    names = [part.strip() for part in str(text).split(",")]
    if len(names) != len(known[0]):
        raise fail(where, f"'{key}': '{ident}' has {len(known[0])} subscript(s), got {len(names)} "
                            f"('{text}'; e.g. {ident}[{','.join(known[0])}])")
    options = [_position(model, ident, name, k, known, where, key) for k, name in enumerate(names)]
    chosen = list(itertools.product(*options))
    missing = [c for c in chosen if c not in known]
    if missing and len(chosen) == 1:
        raise fail(where, f"'{key}': '{ident}' has no cell [{','.join(missing[0])}] "
                            "(excluded where it is defined)")
    return [c for c in chosen if c in known]


def _number(value, where: str, key: str, limits) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(where, f"'{key}' must be a finite number, got {value!r}")
    low, high = limits
    if (low is not None and value < low) or (high is not None and value > high):
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise fail(where, f"'{key}' = {value:g} is outside its range [{low_text}, {high_text}]")
    return float(value)


def split(key: str) -> tuple[str, str | None]:
    """``"growth[north]"`` -> ``("growth", "north")``; ``"growth"`` -> ``("growth", None)``."""
    base, bracket, rest = str(key).partition("[")
    if not bracket:
        return base.strip(), None
    if not rest.rstrip().endswith("]"):
        return base.strip(), rest  # the caller reports the missing bracket
    return base.strip(), rest.rstrip()[:-1]


def is_subscripted(model, key: str, value=None) -> bool:
    """True when ``key`` (or ``key = {...}``) addresses cells of a subscripted element."""
    base, inner = split(key)
    return inner is not None or isinstance(value, dict) or bool(cells(model, canonical_id(base)))


def expand(model, key: str, value, where: str, limits=(None, None)) -> dict[str, float]:
    """One override of a subscripted constant as ``{cell id: value}`` (see the module docstring).

    ``where`` names the file or parameter at fault; ``limits`` (low, high) the allowed values.
    The caller has checked that the element exists and may be set.
    """
    base, inner = split(key)
    ident = canonical_id(base)
    known = cells(model, ident)
    if not known:
        raise fail(where, f"'{key}': '{base}' has no subscripts; give it one number")
    if inner is not None and not str(key).rstrip().endswith("]"):
        raise fail(where, f"'{key}': missing ']'")
    if inner is not None:
        if isinstance(value, dict):
            raise fail(where, f"'{key}' names cells in brackets; give it one number")
        number = _number(value, where, key, limits)
        return {cell_key(ident, c): number for c in _resolve_cells(model, ident, inner, where, key)}
    if isinstance(value, dict):
        if not value:
            raise fail(where, f"'{key}' = {{}} names no element")
        out = {}
        for element, number in value.items():
            label = f"{key}[{element}]"
            number = _number(number, where, label, limits)
            for c in _resolve_cells(model, ident, element, where, label):
                out[cell_key(ident, c)] = number
        return out
    number = _number(value, where, key, limits)
    return {cell_key(ident, c): number for c in known}
