"""Vensim subscripts for the fast engine: ranges, the cells an equation defines, references.

A subscripted variable is compiled cell by cell: ``x[a1,b2]`` becomes one scalar element of
the plan (an ``(N,)`` array per cell), so every stateful, lookup and dependency rule works
unchanged. This module expands an equation's left-hand side into the cells it defines
(subranges, ``:EXCEPT:``) and resolves each subscript of a reference for one cell: the same
range, a mapped range (``->``), an element of a subrange or parent range, or an iterated
``dim!`` of an aggregation. Anything else is refused by name (:class:`SubscriptError`).
"""

from __future__ import annotations

import itertools

__all__ = ["Ranges", "SubscriptError", "cell_key"]


class SubscriptError(ValueError):
    """A subscript construct the engine cannot resolve exactly as Vensim and PySD do."""


def norm(name: str) -> str:
    """Vensim names are case- and space-insensitive."""
    return " ".join(str(name).replace("_", " ").split()).lower()


def cell_key(python_name: str, cell: tuple) -> str:
    """Result column of one cell: ``id[element,element]`` (Vensim's element names)."""
    return f"{python_name}[{','.join(cell)}]" if cell else python_name


class Ranges:
    """The model's subscript ranges: elements in order, subranges and mappings.

    Parameters
    ----------
    subscripts : dict
        Range name -> element names, as pysd's ``SubscriptManager.subscripts`` resolves them
        (ranges listing ranges, copies, GET XLS/DIRECT SUBSCRIPT).
    mapping : dict, optional
        Range name -> ranges it maps to (``SubscriptManager.mapping``).
    main : dict, optional
        Main range -> its subranges (``SubscriptManager.subranges``).
    """

    def __init__(self, subscripts: dict, mapping: dict | None = None, main: dict | None = None):
        self.elements: dict[str, list[str]] = {}  # normalised range -> element names
        self.names: dict[str, str] = {}  # normalised range -> name as written
        self.maps: dict[str, set] = {}  # normalised range -> ranges it maps to
        for name, values in subscripts.items():
            self._add(name, list(values), (mapping or {}).get(name, ()))
        self.element_names = {norm(e): e for values in self.elements.values() for e in values}
        # pysd's "main" ranges (SubscriptManager.subranges): a subscript's numeric value is its
        # position in the main range of its family.
        self.main_of, self.number = {}, {}
        for rng, subranges in (main or {}).items():
            for sub in [rng, *subranges]:
                self.main_of[norm(sub)] = norm(rng)
            for i, element in enumerate(self.elements[norm(rng)], start=1):
                self.number[norm(element)] = float(i)

    def value(self, name: str, binding: list, bang: dict) -> float:
        """Numeric value of a subscript used in an expression (1-based position, as pysd)."""
        key = norm(name)
        if key not in self.elements:
            if key not in self.number:
                raise SubscriptError(f"subscript {name!r} has no numeric value")
            return self.number[key]
        (element,) = self.resolve(name, binding, bang)
        main = self.main_of.get(key)
        if main is None or element not in self.elements[main]:
            raise SubscriptError(f"subscript range {name!r} used as a number outside its main range")
        return float(self.elements[main].index(element) + 1)

    def _add(self, name, values, mapping):
        self.elements[norm(name)] = values
        self.names[norm(name)] = name
        for target in mapping or ():
            if not isinstance(target, str):
                raise SubscriptError(f"subscript range {name!r}: explicit element mapping "
                                     f"{target!r}")
            self.maps.setdefault(norm(name), set()).add(norm(target))

    def knows(self, name: str) -> bool:
        """True for a range or an element name."""
        return norm(name) in self.elements or norm(name) in self.element_names

    def is_range(self, name: str) -> bool:
        return norm(name) in self.elements

    def of(self, name: str) -> list[str]:
        """Elements of a range, or ``[element]`` for an element name."""
        key = norm(name)
        if key in self.elements:
            return self.elements[key]
        if key in self.element_names:
            return [self.element_names[key]]
        raise SubscriptError(f"unknown subscript {name!r}")

    def cells(self, subscripts: list, excepts: list) -> list[tuple]:
        """The cells (tuples of element names) an equation's left-hand side defines."""
        axes = [self.of(s) for s in subscripts]
        removed = set()
        for exclusion in excepts:
            if len(exclusion) != len(subscripts):
                raise SubscriptError(f":EXCEPT: {exclusion} does not match {subscripts}")
            removed.update(itertools.product(*(self.of(s) for s in exclusion)))
        return [cell for cell in itertools.product(*axes) if cell not in removed]

    def binding(self, subscripts: list, cell: tuple) -> list:
        """(normalised left-hand-side subscript, element) pairs of one cell."""
        return [(norm(s), e) for s, e in zip(subscripts, cell, strict=True)]

    def resolve(self, subscript: str, binding: list, bang: dict) -> list[str]:
        """Element(s) a reference's subscript stands for in one cell.

        Returns one element, or every element of the range for ``dim!`` (when ``bang`` holds
        no element for it yet: the caller then iterates).
        """
        if subscript.endswith("!"):
            key = norm(subscript[:-1])
            if key in bang:
                return [bang[key]]
            return list(self.of(subscript[:-1]))
        key = norm(subscript)
        if key not in self.elements:
            return self.of(subscript)  # an element name
        same = [element for lhs, element in binding if lhs == key]  # the same range as the LHS
        if len(same) > 1:
            raise SubscriptError(f"subscript {subscript!r} repeated on the left-hand side")
        if same:
            return same
        mapped = [(lhs, e) for lhs, e in binding
                  if lhs in self.elements and (lhs in self.maps.get(key, ()) or
                                               key in self.maps.get(lhs, ()))]
        if len(mapped) == 1:  # a mapping: same position in the other range
            lhs, element = mapped[0]
            position = self.elements[lhs].index(element)
            if position < len(self.elements[key]):
                return [self.elements[key][position]]
            raise SubscriptError(f"mapping of {subscript!r} has no element for {element!r}")
        own = set(self.elements[key])
        members = [e for lhs, e in binding if e in own and (
            lhs not in self.elements or set(self.elements[lhs]) <= own or
            own <= set(self.elements[lhs]))]
        if len(set(members)) == 1 and not mapped:  # an element of a subrange or parent range
            return [members[0]]
        raise SubscriptError(f"subscript {subscript!r} is not on the left-hand side "
                             f"({', '.join(e for _, e in binding) or 'no subscripts'})")
