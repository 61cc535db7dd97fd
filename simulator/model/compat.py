"""One-line messages for levers that earlier model versions had (``models/compat.toml``)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from simulator.model.naming import canonical_id
from simulator.project import Project


@cache
def _table(path: Path | None = None) -> dict:
    path = Project.default().compat_path if path is None else path
    if not path.exists():
        return {"renamed": {}, "removed": {}}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {"renamed": data.get("renamed", {}), "removed": data.get("removed", {})}


def renamed_to(name: str) -> str | None:
    """The current id of a renamed lever, or None."""
    return _table()["renamed"].get(canonical_id(name))


def message(name: str) -> str | None:
    """``"'x' was renamed to 'y'"`` / ``"'x' is no longer in the model: why"``, or None if not known."""
    ident = canonical_id(name)
    table = _table()
    if ident in table["renamed"]:
        return f"'{name}' was renamed to '{table['renamed'][ident]}'"
    if ident in table["removed"]:
        return f"'{name}' is no longer in the model: {table['removed'][ident]}"
    return None
