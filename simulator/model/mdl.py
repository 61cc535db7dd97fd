"""Load a Vensim model file: its elements, units, ranges and documentation, and its hash.

The .mdl file is the single source of truth. This module reads it with pysd's translator
(``VensimFile -> AbstractModel``) and describes every element; the engines run it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import pickle
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from simulator.errors import ModelError
from simulator.model.naming import canonical_id
from simulator.project import Project

CONTROL_NAMES = ("initial_time", "final_time", "time_step", "saveper")


@dataclass(frozen=True)
class Element:
    """One model element as the user sees it.

    Attributes
    ----------
    id : str
        Canonical id (``canonical_id(name)``), used in scenarios, results and labels.
    name : str
        Display name in the .mdl file.
    kind : str
        ``"stock"``, ``"constant"``, ``"time_path"`` (a ``WITH LOOKUP(Time, ...)`` lever),
        ``"auxiliary"`` or ``"control"``.
    units : str
        Vensim units string, e.g. ``"CNY100m/Year"``.
    limits : tuple
        ``(min, max, step)`` from the Vensim range; ``None`` where not given.
    doc : str
        One-line documentation comment.
    default : float or list of (float, float) or None
        Constant value, or the time path's points for a time-path lever.
    ast : object
        pysd's abstract syntax tree of the (first) equation (a property: a model read from the parse
        cache unpickles its trees, and imports pysd, only when one is first asked for).
    subscripts : tuple of str
        The subscript ranges of the first equation (empty for a scalar element).
    """

    id: str
    name: str
    kind: str
    units: str
    limits: tuple
    doc: str
    default: object
    tree: object = field(repr=False, compare=False)
    subscripts: tuple = ()
    equation: str = ""
    group: str = ""

    @property
    def ast(self):
        """pysd's abstract syntax tree of the (first) equation."""
        tree = self.tree
        if isinstance(tree, _Deferred):
            tree = tree.value()["asts"][self.id]
            object.__setattr__(self, "tree", tree)
        return tree

    @property
    def is_lever(self) -> bool:
        """True for a constant or time path a scenario may set (it has a Vensim range)."""
        return self.kind in ("constant", "time_path") and self.limits[0] is not None


class _Deferred:
    """pysd's objects of a cached model, pickled apart and unpickled once, when first needed."""

    def __init__(self, blob: bytes) -> None:
        self.blob, self._value, self._lock = blob, None, threading.Lock()

    def value(self) -> dict:
        with self._lock:
            if self._value is None:
                self._value = pickle.loads(self.blob)
            return self._value

    def __getstate__(self) -> dict:
        return {"blob": self.blob}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["blob"])


def _element_kind(ast, name_id: str) -> tuple[str, object]:
    """Classify an equation and return (kind, default value)."""
    from pysd.translators.structures import abstract_expressions as ae

    if name_id in CONTROL_NAMES:
        return "control", None  # evaluated once all elements are read (see _control_values)
    if isinstance(ast, (int, float)) and not isinstance(ast, bool):
        return "constant", float(ast)
    if isinstance(ast, ae.IntegStructure):
        return "stock", None
    if (
        isinstance(ast, ae.InlineLookupsStructure)
        and isinstance(ast.argument, ae.ReferenceStructure)
        and ast.argument.reference == "time"
    ):
        xs = [float(x) for x in ast.lookups.x]
        ys = [float(y) for y in ast.lookups.y]
        return "time_path", list(zip(xs, ys, strict=True))
    return "auxiliary", None


def _subscripted_kind(asts: list) -> tuple[str, object]:
    """Kind of a subscripted element (its default per cell is the engines' business)."""
    import numpy as np
    from pysd.translators.structures import abstract_expressions as ae

    if all(isinstance(a, (int, float, np.ndarray)) and not isinstance(a, bool) for a in asts):
        return "constant", None
    if all(isinstance(a, ae.IntegStructure) for a in asts):
        return "stock", None
    return "auxiliary", None


def _control_values(model) -> None:
    """Evaluate INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER once (they may be expressions
    of each other and of constants); anything that varies in time is refused by name."""
    import operator

    from pysd.translators.structures import abstract_expressions as ae

    ops = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "^": operator.pow}

    def value(ast, name, seen):
        if isinstance(ast, (int, float)) and not isinstance(ast, bool):
            return float(ast)
        if isinstance(ast, ae.ReferenceStructure) and ast.subscripts is None:
            target = model.elements.get(canonical_id(ast.reference))
            if target is not None and target.id not in seen and (
                    target.kind in ("constant", "control") and not target.subscripts):
                return value(target.ast, name, seen | {target.id})
        if isinstance(ast, ae.ArithmeticStructure):
            args = [value(a, name, seen) for a in ast.arguments]
            if list(ast.operators) == ["negative"]:
                return -args[0]
            result = args[0]
            for op, arg in zip(ast.operators, args[1:], strict=True):
                if op not in ops:
                    break
                result = ops[op](result, arg)
            else:
                return result
        raise ModelError(f"{model.path.name}: '{name}' must be a constant expression evaluated once at the "
                         "start (a time setting that changes during the run is not supported)")

    for key in CONTROL_NAMES:
        element = model.elements.get(key)
        if element is None:
            raise ModelError(f"{model.path.name}: the model lacks the time setting {key.upper()}")
        try:
            default = value(element.ast, element.name, {key})
        except (ZeroDivisionError, OverflowError):
            raise ModelError(f"{model.path.name}: '{element.name}' does not evaluate to a number") from None
        object.__setattr__(element, "default", default)


class Model:
    """A parsed Vensim model with metadata; the engines (``simulator.engines``) run it.

    Parameters
    ----------
    path : str or Path
        The .mdl file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        raw = self.path.read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        self._abstract_model, expressions = _parse(self.path)
        groups = _groups(raw.decode("utf-8", errors="replace"))
        self.elements: dict[str, Element] = {}
        for section in self.abstract_model.sections[:1]:  # macros' insides are not model elements
            for el in section.elements:
                ast = el.components[0].ast
                eid = canonical_id(el.name)
                subscripts = tuple(el.components[0].subscripts[0])
                if len(el.components) > 1 or subscripts:
                    kind, default = _subscripted_kind([c.ast for c in el.components])
                else:
                    kind, default = _element_kind(ast, eid)
                limits = tuple(el.limits) + (None,) * (3 - len(el.limits))
                limits = tuple(None if v is None else float(v) for v in limits)
                if eid in self.elements:
                    raise ModelError(f"{self.path.name}: '{el.name}' and another element share the id '{eid}'")
                self.elements[eid] = Element(
                    id=eid,
                    name=el.name.strip(),
                    kind=kind,
                    units=(el.units or "").strip(),
                    limits=limits,
                    doc=" ".join((el.documentation or "").split()),
                    default=default,
                    tree=ast,
                    subscripts=subscripts,
                    equation=expressions.get(el.name, ""),
                    group=groups.get(eid, ""),
                )
        _control_values(self)
        _check_time_axis(self)

    @property
    def abstract_model(self):
        """pysd's AbstractModel of the file (parsed once; unpickled on first use for a cached model)."""
        if isinstance(self._abstract_model, _Deferred):
            self._abstract_model = self._abstract_model.value()["abstract_model"]
        return self._abstract_model

    def __getstate__(self) -> dict:
        """Pickled for the parse cache with pysd's objects in one nested pickle, so that reading the cache
        does not import pysd (~0.5 s) unless a syntax tree is asked for."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("levers", "subscript_elements")}
        trees = {eid: e.tree for eid, e in self.elements.items()}
        deferred = next((t for t in [self._abstract_model, *trees.values()] if isinstance(t, _Deferred)), None)
        if deferred is None or deferred.blob is None:
            deferred = _Deferred(pickle.dumps({"abstract_model": self.abstract_model,
                                               "asts": {eid: e.ast for eid, e in self.elements.items()}},
                                              protocol=pickle.HIGHEST_PROTOCOL))
        state["_abstract_model"] = deferred
        state["elements"] = {eid: dataclasses.replace(e, tree=deferred) for eid, e in self.elements.items()}
        return state

    @cached_property
    def levers(self) -> dict[str, Element]:
        """Constants and time paths that carry a Vensim range, keyed by id."""
        return {k: e for k, e in self.elements.items() if e.is_lever}

    @property
    def time(self) -> dict[str, float]:
        """Control values: initial_time, final_time, time_step, saveper [Year]."""
        return {k: self.elements[k].default for k in CONTROL_NAMES}

    @property
    def years(self) -> list[float]:
        """Saved times [Year]: initial + k * saveper up to final time, in decimal arithmetic
        (0.1 * 3 is 0.3), as the engines label them."""
        from decimal import Decimal

        t = self.time
        t0, dt = Decimal(repr(t["initial_time"])), Decimal(repr(t["time_step"]))
        steps = max(0, math.ceil((t["final_time"] - t["initial_time"]) / t["time_step"] - 1e-5))
        every = max(1, round(t["saveper"] / t["time_step"]))
        return [float(t0 + k * dt) for k in range(0, steps + 1, every)]

    @cached_property
    def subscript_elements(self) -> set:
        """Every element name of the model's subscript ranges (as written)."""
        names = set()
        for rng in self.abstract_model.sections[0].subscripts:
            if isinstance(rng.subscripts, list):
                names.update(rng.subscripts)
        return names

    def constant_overrides(self, overrides: dict, where: str = "overrides") -> dict:
        """Validate overrides of any constant of this model (its own defaults, no lever ranges).

        ``name = 3.0`` sets a constant (every cell of a subscripted one), ``name[a,b] = 3.0``
        one cell, ``name = {a = 3.0, b = 4.0}`` the named cells. Unknown names and elements
        raise ModelError with the closest matches; values must be finite numbers.
        """
        out = {}
        for key, value in overrides.items():
            base, bracket, rest = str(key).partition("[")
            element = self.element(base)
            if element.kind != "constant":
                raise ModelError(f"{where}: '{key}' is a {element.kind}, not a constant")
            cells = [rest.rstrip("]")] if bracket else list(value) if isinstance(value, dict) else []
            if cells and not element.subscripts:
                raise ModelError(f"{where}: '{base}' has no subscripts")
            for cell in cells:
                for name in (part.strip() for part in str(cell).split(",")):
                    if name not in self.subscript_elements:
                        raise ModelError(f"{where}: '{key}': unknown subscript element '{name}'"
                                         f"{suggest(name, self.subscript_elements)}")
            for number in (value.values() if isinstance(value, dict) else [value]):
                if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                    raise ModelError(f"{where}: '{key}' must be a finite number, got {number!r}")
            cell = ",".join(part.strip() for part in rest.rstrip("]").split(","))
            ident = f"{element.id}[{cell}]" if bracket else element.id
            out[ident] = ({str(k): float(v) for k, v in value.items()} if isinstance(value, dict) else float(value))
        return out

    def element(self, ident: str) -> Element:
        """Return the element with this id or display name, or raise with the closest names."""
        eid = canonical_id(ident)
        if eid in self.elements:
            return self.elements[eid]
        raise ModelError(f"unknown variable '{ident}'{suggest(ident, self.elements)}")


def suggest(word: str, choices) -> str:
    """A ' (did you mean: a, b?)' suffix with the closest ids, or an empty string."""
    import difflib

    close = difflib.get_close_matches(canonical_id(word), list(choices), n=3, cutoff=0.5) or \
        difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


#: Most time steps one run may take (the Jinan model takes 84; a runaway FINAL TIME would take forever).
MAX_STEPS = 1_000_000


def _check_time_axis(model: Model) -> None:
    """INITIAL/FINAL TIME, TIME STEP and SAVEPER give a time axis a run can hold in memory."""
    from simulator.limits import FLOAT, check_memory

    try:
        t = {k: float(model.elements[k].default) for k in CONTROL_NAMES if k in model.elements}
    except (TypeError, ValueError):
        return  # control values given by equations: the engines report them
    if len(t) < len(CONTROL_NAMES):
        return
    where = model.path.name
    if not all(math.isfinite(v) for v in t.values()) or t["time_step"] <= 0 or t["saveper"] <= 0:
        raise ModelError(f"{where}: control values must be finite with TIME STEP and SAVEPER > 0, got {t}")
    if t["final_time"] < t["initial_time"]:
        raise ModelError(f"{where}: FINAL TIME {t['final_time']:g} is before INITIAL TIME {t['initial_time']:g}")
    steps = (t["final_time"] - t["initial_time"]) / t["time_step"]
    if steps > MAX_STEPS:
        raise ModelError(f"{where}: FINAL TIME {t['final_time']:g} with TIME STEP {t['time_step']:g} makes "
                         f"{steps:.3g} time steps (at most {MAX_STEPS:,})")
    saves = (t["final_time"] - t["initial_time"]) / t["saveper"] + 1
    check_memory(saves * len(model.elements) * FLOAT * 4,
                 f"{where}: {saves:.3g} saved times x {len(model.elements)} variables")


#: a Vensim group header: a line of asterisks, ``.Name``, a line of asterisks
_GROUP = re.compile(r"\*{10,}\s*\n\s*\.([^\n]+)\n\s*\*{10,}")


def _groups(text: str) -> dict[str, str]:
    """Element id -> the Vensim group it is written under (pysd's parser drops groups)."""
    out, group = {}, ""
    for block in text.split("|"):
        header = _GROUP.search(block)
        if header:
            group = header.group(1).strip()
            continue
        body = re.sub(r"^\s*(\{UTF-8\})?\s*", "", block.split("~", 1)[0])
        name = re.split(r"[=(\[:]", body, maxsplit=1)[0].strip()
        if name:
            out.setdefault(canonical_id(name), group)
    return out


def _parse(path: Path):
    """Parse a .mdl file into pysd's AbstractModel and each element's equation text; a syntax error
    becomes a ModelError."""
    import warnings

    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        with warnings.catch_warnings():
            # pysd warns about what it ignores (e.g. reality checks' :CONSTRAINT:); not a parse error
            warnings.simplefilter("ignore")
            vf = VensimFile(path)
            vf.parse()
            # the equation text of each element as written (the first section: the model, not macros)
            expressions: dict[str, str] = {}
            for component in vf.sections[0].elements:
                text = " ".join(str(getattr(component, "expression", "") or "").split())
                expressions[component.name] = "; ".join(filter(None, (expressions.get(component.name), text)))
            return vf.get_abstract_model(), expressions
    except Exception as exc:  # parsimonious raises many kinds; all mean "malformed file"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path.name}: cannot parse: {first}") from exc


@lru_cache(maxsize=8)
def _load_cached(path: str, sha256: str) -> Model:
    """The parsed model: from this process's memory, the on-disk parse cache (:mod:`simulator.model.cache`,
    keyed by content, path and versions), or a parse (then stored there)."""
    from simulator.model import cache

    name = cache.key("model", sha256, path)
    model = cache.read("models", name)
    if isinstance(model, Model) and model.sha256 == sha256 and str(model.path) == path:
        _check_time_axis(model)  # the memory check is this machine's, not the cache's
        return model
    model = Model(path)
    if model.sha256 == sha256:  # the file did not change while it was parsed
        cache.write("models", name, model)
    return model


def load(path: str | Path | None = None) -> Model:
    """Load (and cache by content hash) a Vensim model; default: the project's ``models/jinan.mdl``."""
    path = Path(path) if path is not None else Project.default().model_path
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return _load_cached(str(path.resolve()), sha)
