"""Display names (zh/en), the indicator vocabulary and lever groups from ``models/labels.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from simulator.errors import ModelError
from simulator.project import Project, file_stamp


@dataclass(frozen=True)
class Labels:
    """Chinese and English names of variables, the indicator map, and the levers by sector.

    Attributes
    ----------
    names : dict
        id -> {"zh": str, "en": str, "unit_zh": str, "unit_en": str}.
    indicators : dict
        Indicator (the stable vocabulary of ``targets.csv``) -> model variable id.
    sectors : dict
        Sector key -> {"zh": str, "en": str, "levers": [id, ...]}.
    views : dict
        Default selections: ``key_indicators``, ``chart_indicators``, ``first_page_indicators``
        (lists of indicators) and ``peak_target`` (a target id).
    policy : dict
        ``start_year`` and ``levers``: constants whose scenario value applies from that year; ``paths``:
        time paths that are policies (the only levers goal seeking moves by default).
    years : dict
        ``last_history``, ``plan``, ``vision`` [Year] and ``key`` (years of the summary tables).
    """

    names: dict
    indicators: dict
    sectors: dict
    views: dict
    policy: dict
    years: dict = None

    def year(self, name: str) -> int:
        """A named year of the model's calendar (``last_history``, ``plan``, ``vision``) [Year]."""
        try:
            return int((self.years or {})[name])
        except KeyError:
            raise ModelError(f"labels.toml: [years] has no '{name}'") from None

    @property
    def key_years(self) -> tuple:
        """Years of the summary tables [Year]."""
        return tuple(int(y) for y in (self.years or {}).get("key", ()))

    def name(self, ident: str, lang: str = "zh") -> str:
        """Display name of a variable in ``lang`` ("zh" or "en"), the id if it has none."""
        entry = self.names.get(ident)
        return entry.get(lang, ident) if entry else ident

    def unit(self, ident: str, lang: str = "zh") -> str:
        """Display unit of a variable in ``lang``, empty if it has none."""
        entry = self.names.get(ident, {})
        return entry.get(f"unit_{lang}", entry.get("unit_en", ""))

    def label(self, ident: str, lang: str = "zh") -> str:
        """``name (unit)`` for axes and table headers."""
        unit = self.unit(ident, lang)
        return f"{self.name(ident, lang)} ({unit})" if unit else self.name(ident, lang)


def load_labels(path: str | Path) -> Labels:
    """Read labels.toml; a missing or malformed file raises a one-line ModelError."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"labels file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: malformed TOML: {exc}") from None
    return Labels(
        names=data.get("variables", {}),
        indicators=data.get("indicators", {}),
        sectors=data.get("sectors", {}),
        views=data.get("views", {}),
        policy=data.get("policy", {}),
        years=data.get("years", {}),
    )


@lru_cache(maxsize=4)
def _labels_cached(stamp: tuple) -> Labels:
    return load_labels(stamp[0])


def labels(project: Project | None = None) -> Labels:
    """The project's labels (read once per change of the file)."""
    path = (project or Project.default()).labels_path
    if not path.is_file():
        return load_labels(path)  # raises the one-line error
    return _labels_cached(file_stamp(path))
