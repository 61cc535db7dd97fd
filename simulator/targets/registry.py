"""The plan's target registry: load and validate ``models/targets.toml`` into :class:`Target` objects."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from simulator.errors import UserError
from simulator.project import Project

_SUBSCRIPT_2 = re.compile(r"\bCO2\b")

LEVEL_TESTS = frozenset({"level_ge", "level_gt", "level_le"})
ALL_YEARS_TESTS = frozenset({"level_le_all_years", "level_ge_all_years"})
CHANGE_TESTS = frozenset({"change_ge", "change_le"})
BASE_YEAR_TESTS = CHANGE_TESTS | {"avg_growth_ge", "cumulative_ge"}
TESTS = LEVEL_TESTS | ALL_YEARS_TESTS | BASE_YEAR_TESTS | {"peak_by"}
KINDS = frozenset({"binding", "expected"})
MODELLED = frozenset({"yes", "optional", "no"})
STATUSES = ("met", "missed", "not assessed")

#: Peak year given by :func:`peak_years` to a run whose maximum is at the last simulated year.
NOT_YET_PEAKED = 9999
#: Peak year given by :func:`peak_years` to a run with NaN in its series.
NO_PEAK = -1

_ON_TARGET_RTOL = 1e-9
_ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_STRING_KEYS = ("id", "name_zh", "name_en", "indicator", "unit", "test", "kind", "modelled")
_STRING_KEYS += ("source", "quote")
_KNOWN_KEYS = frozenset(_STRING_KEYS) | {"year", "base_year", "value", "paragraph"}
_YEAR_RANGE = (1900, 2200)
_META_COLUMNS = ("id", "name", "indicator", "unit", "year", "base_year", "test", "kind", "target")
#: Columns of :func:`evaluate`'s table.
EVALUATE_COLUMNS = ("run", *_META_COLUMNS, "simulated", "status", "margin", "margin_pct")
EVALUATE_COLUMNS += ("first_year_met", "peak_level", "note", "reason")
#: Columns of :func:`probabilities`'s table.
PROBABILITY_COLUMNS = (*_META_COLUMNS, "probability", "ci_low", "ci_high", "n_runs", "n_valid")
PROBABILITY_COLUMNS += ("n_failed", "n_nan", "n_met", "share_not_yet_peaked", "peak_year_counts")
PROBABILITY_COLUMNS += ("reason",)

# Reasons and notes, in both output languages: (zh, en).
_TEXT = MappingProxyType(
    {
        "no_value": ("规划未给出数值", "the plan gives no number for this target"),
        "not_modelled": (
            "模型不包含该指标(规划中的非模拟目标)",
            "not in the model (a target the model does not simulate)",
        ),
        "not_computed": (
            "模型暂未计算该指标",
            "indicator {indicator!r} not computed by the model",
        ),
        "missing": (
            "结果中缺少指标 {indicator}",
            "indicator {indicator!r} missing from the results",
        ),
        "year_outside": (
            "目标年份 {year} 不在模拟年份 {first}–{last} 内",
            "target year {year} outside the simulated years {first}–{last}",
        ),
        "base_outside": (
            "基准年 {year} 不在模拟年份 {first}–{last} 内",
            "base year {year} outside the simulated years {first}–{last}",
        ),
        "gap": (
            "模拟年份未覆盖 {first}–{last} 的每一年",
            "simulated years miss some of {first}–{last}",
        ),
        "failed": ("该次运行失败", "run failed"),
        "nan": ("模拟值含 NaN", "NaN in the simulated values"),
        "not_finite": (
            "无法计算（基准年数值为零或负）",
            "not computable (zero or negative base-year value)",
        ),
        "no_valid_runs": ("没有有效运行", "no valid runs"),
        "not_yet_peaked": ("截至 {year} 年尚未达峰", "not yet peaked by {year}"),
        "above_cap": ("{year} 年首次超过上限", "first above the cap in {year}"),
        "below_floor": ("{year} 年首次低于下限", "first below the floor in {year}"),
    }
)


def _text(key: str, lang: str, **fields) -> str:
    zh, en = _TEXT[key]
    return (en if lang == "en" else zh).format(**fields)


class TargetError(UserError, ValueError):
    """A malformed targets file; the message is one line naming the file, target and key."""


@dataclass(frozen=True)
class Target:
    """One plan target (a ``[[target]]`` table); ``value`` in ``unit`` (a year for peak_by)."""

    id: str
    name_zh: str
    name_en: str
    indicator: str
    unit: str
    test: str
    year: int
    kind: str
    modelled: str
    source: str
    quote: str
    base_year: int | None = None
    value: float | None = None
    paragraph: str | None = None

    def name(self, lang: str = "zh") -> str:
        """Display name in ``lang`` ("zh" or "en"). The English names are the data file's words, in ASCII
        (targets.csv writes "CO2"); shown as "CO₂", as the rest of the page writes it."""
        return _SUBSCRIPT_2.sub("CO₂", self.name_en) if lang == "en" else self.name_zh

    @property
    def relation(self) -> str:
        """How the simulated value must compare with ``value``: "le" (at most; a peak year by), "ge" or "gt"."""
        if self.test == "peak_by":
            return "le"
        return next(part for part in self.test.split("_") if part in ("ge", "gt", "le"))

    def margin(self, simulated):
        """Margin in the target's unit, positive = met with room: the one sign rule of every tool.

        ``simulated`` is a number or an array in the target's unit (a year for peak_by).
        """
        return self.value - simulated if self.relation == "le" else simulated - self.value

    @property
    def is_ratio(self) -> bool:
        """True if a change test reports ``x[year] / x[base]`` rather than a % change."""
        return self.unit.strip().lower().startswith("ratio to")


# --------------------------------------------------------------------------- loading


def default_targets_path() -> Path:
    """Path of the project's ``models/targets.toml``."""
    return Project.default().targets_path


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read and validate a targets file.

    Parameters
    ----------
    path : str or Path, optional
        The TOML file; default :func:`default_targets_path`.

    Returns
    -------
    list of Target
        In file order.

    Raises
    ------
    TargetError
        With a one-line message naming the file, the target id and the key at fault.
    """
    path = Path(path) if path is not None else default_targets_path()
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise TargetError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise TargetError(f"{path}: invalid TOML: {error}") from None
    extra = sorted(set(document) - {"target"})
    if extra:
        raise TargetError(
            f"{path}: unknown top-level key {extra[0]!r} (expected [[target]] tables)"
        )
    tables = document.get("target")
    if not isinstance(tables, list) or not tables:
        raise TargetError(f"{path}: no [[target]] tables")
    targets: list[Target] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        target = _parse_target(table, number, path)
        if target.id in seen:
            raise TargetError(f"{path}: target {target.id!r}: key 'id': duplicate id")
        seen.add(target.id)
        targets.append(target)
    return targets


def _parse_target(table: dict, number: int, path: Path) -> Target:
    identifier = table.get("id")
    where = f"target {identifier!r}" if isinstance(identifier, str) else f"target #{number}"

    def fail(key: str, message: str) -> TargetError:
        return TargetError(f"{path}: {where}: key {key!r}: {message}")

    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown key")
    fields: dict = {}
    for key in _STRING_KEYS:
        if key not in table:
            raise fail(key, "missing")
        if not isinstance(table[key], str) or not table[key].strip():
            raise fail(key, f"expected a non-empty string, got {table[key]!r}")
        fields[key] = table[key]
    if not _ID_PATTERN.match(fields["id"]):
        raise fail("id", "use lowercase letters, digits and hyphens (e.g. 'gdp-growth-2025')")
    for key, allowed in (("test", TESTS), ("kind", KINDS), ("modelled", MODELLED)):
        if fields[key] not in allowed:
            raise fail(key, f"{fields[key]!r} is not one of {', '.join(sorted(allowed))}")
    if "year" not in table:
        raise fail("year", "missing")
    for key in ("year", "base_year"):
        year = table.get(key)
        if year is None:
            continue
        if isinstance(year, bool) or not isinstance(year, int):
            raise fail(key, f"expected an integer year, got {year!r}")
        if not _YEAR_RANGE[0] <= year <= _YEAR_RANGE[1]:
            raise fail(key, f"year {year} outside {_YEAR_RANGE[0]}-{_YEAR_RANGE[1]}")
        fields[key] = year
    test = fields["test"]
    if test in BASE_YEAR_TESTS:
        if "base_year" not in fields:
            raise fail("base_year", f"missing (test {test!r} compares with a base year)")
        if fields["base_year"] >= fields["year"]:
            raise fail("base_year", f"{fields['base_year']} is not before year {fields['year']}")
    elif "base_year" in fields:
        raise fail("base_year", f"not used by test {test!r}")
    if "value" in table:
        value = table["value"]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise fail("value", f"expected a finite number, got {value!r}")
        if test == "peak_by" and value != int(value):
            raise fail("value", f"a peak_by value is a year, got {value!r}")
        fields["value"] = float(value)
    ratio = re.fullmatch(r"ratio to (\d{4})", fields["unit"].strip().lower())
    if ratio and fields.get("base_year") != int(ratio.group(1)):
        raise fail("unit", f"{fields['unit']!r} does not match base_year {fields.get('base_year')}")
    if ratio and test not in CHANGE_TESTS:
        raise fail("unit", f"a ratio unit needs a change test, not {test!r}")
    if "paragraph" in table:
        if not isinstance(table["paragraph"], str) or not table["paragraph"].startswith("§"):
            raise fail("paragraph", f"expected a string such as '§6', got {table['paragraph']!r}")
        fields["paragraph"] = table["paragraph"]
    return Target(**fields)


def check_indicator_mapping(
    targets: Sequence[Target],
    indicator_to_variable: Mapping[str, str],
    model_variables: Collection[str],
) -> list[str]:
    """List the problems in the indicator -> model variable mapping.

    Parameters
    ----------
    targets : sequence of Target
    indicator_to_variable : mapping
        Indicator name -> model variable name (from ``models/labels.toml``).
    model_variables : collection of str
        Names of the model's variables.

    Returns
    -------
    list of str
        One line per problem, empty if consistent: every ``modelled = yes`` indicator must be
        mapped, and every mapped indicator of a target must name an existing variable.
    """
    problems: list[str] = []
    for target in targets:
        variable = indicator_to_variable.get(target.indicator)
        if variable is None:
            if target.modelled == "yes":
                problems.append(
                    f"target {target.id!r}: indicator {target.indicator!r} is "
                    "modelled = yes but maps to no model variable"
                )
        elif variable not in model_variables:
            problems.append(
                f"target {target.id!r}: indicator {target.indicator!r} maps to "
                f"{variable!r}, which is not a model variable"
            )
    return problems

