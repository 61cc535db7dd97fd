"""Plan targets: load and validate ``models/targets.toml``; test them on one run or an ensemble.

Every test works on arrays with a runs axis: a series is an array of shape ``(R, T)`` (R runs,
T saved years) or ``(T,)`` for one run, and is computed for all runs at once, so the same code
serves one scenario and a Monte Carlo ensemble of 10^5 runs.

Tests (the ``test`` key; ``x`` is the indicator's series, ``v`` the target value):

``level_ge`` / ``level_gt`` / ``level_le``
    ``x[year] >= v`` / ``> v`` / ``<= v``.
``change_ge`` / ``change_le``
    change vs ``base_year``: the ratio ``x[year] / x[base]`` if the unit reads "ratio to <base>",
    otherwise the percent change ``100 * (x[year] / x[base] - 1)`` [%].
``avg_growth_ge``
    average annual growth ``100 * ((x[year] / x[base]) ** (1 / (year - base)) - 1)`` [%/yr].
``cumulative_ge``
    ``sum(x[base + 1 .. year]) >= v`` (e.g. new jobs over the plan period).
``peak_by``
    the peak (argmax over the whole simulated horizon, earliest year on ties) is in a year
    ``<= v``. A maximum at the last simulated year is "not yet peaked": missed, not an error.
``level_le_all_years`` / ``level_ge_all_years``
    ``x <= v`` (a cap) / ``x >= v`` (a floor) in every simulated year up to ``year``.

Values within a relative 1e-9 of the target count as exactly on target (``>=`` met, ``>``
missed): a percent change computed in floating point rarely lands on -14.8 exactly.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from types import MappingProxyType

import numpy as np
import pandas as pd

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
        "not_modelled": ("模型不计算该指标（modelled = no）", "not modelled (modelled = no)"),
        "not_computed": (
            "模型未计算指标 {indicator}",
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


class TargetError(ValueError):
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
        """Display name in ``lang`` ("zh" or "en")."""
        return self.name_en if lang == "en" else self.name_zh

    @property
    def is_ratio(self) -> bool:
        """True if a change test reports ``x[year] / x[base]`` rather than a % change."""
        return self.unit.strip().lower().startswith("ratio to")


# --------------------------------------------------------------------------- loading


def default_targets_path() -> Path:
    """Path of the repository's ``models/targets.toml``."""
    return Path(__file__).resolve().parents[1] / "models" / "targets.toml"


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


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class _Outcome:
    """One target on R runs; every array has shape (R,)."""

    simulated: np.ndarray  # in the target's unit; NaN where unknown
    met: np.ndarray  # bool
    margin: np.ndarray  # in the target's unit, positive = met with room
    first_year_met: np.ndarray  # float, NaN if never or not meaningful
    nan_input: np.ndarray  # bool: NaN among the values the test reads
    not_finite: np.ndarray  # bool: finite inputs but no finite result (e.g. zero base)
    peak_level: np.ndarray  # level at the peak (peak_by only), NaN otherwise
    note_key: str | None = None  # note for runs where note_year is not NaN
    note_year: np.ndarray | None = None


def _runs_2d(values: object, n_years: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] != n_years:
        raise ValueError(
            f"series {name!r}: shape {np.shape(values)} does not match "
            f"{n_years} years (expected (T,) or (R, T))"
        )
    return array


def _prepare(
    targets: Sequence[Target], series: Mapping[str, object], years: object
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    years = np.asarray(years)
    if years.ndim != 1 or years.size == 0 or np.any(years != np.round(years)):
        raise ValueError("years must be a non-empty 1-D array of whole years")
    years = years.astype(np.int64)
    if np.any(np.diff(years) <= 0):
        raise ValueError("years must be strictly increasing")
    used = {t.indicator for t in targets}
    arrays = {k: _runs_2d(v, years.size, k) for k, v in series.items() if k in used}
    n_runs = max((a.shape[0] for a in arrays.values()), default=1)
    for name, array in arrays.items():
        if array.shape[0] not in (1, n_runs):
            raise ValueError(f"series {name!r}: {array.shape[0]} runs, others have {n_runs}")
        # A single-run series (an exogenous path) applies to every run of the ensemble.
        arrays[name] = np.broadcast_to(array, (n_runs, years.size))
    return arrays, years, n_runs


def _failed_mask(failed: object, n_runs: int) -> np.ndarray:
    if failed is None:
        return np.zeros(n_runs, dtype=bool)
    mask = np.asarray(failed, dtype=bool).reshape(-1)
    if mask.shape != (n_runs,):
        raise ValueError(f"failed: shape {np.shape(failed)}, expected ({n_runs},)")
    return mask


def _why_not(
    target: Target,
    arrays: Mapping[str, np.ndarray],
    years: np.ndarray,
    assessable: Collection[str] | None,
    lang: str,
) -> str | None:
    """Reason the target cannot be assessed on these results at all, or None."""
    span = {"first": int(years[0]), "last": int(years[-1])}
    if target.value is None:
        return _text("no_value", lang)
    if target.indicator not in arrays:
        if target.modelled == "no":
            return _text("not_modelled", lang)
        computed = (
            target.modelled == "yes" if assessable is None else (target.indicator in assessable)
        )
        return _text("missing" if computed else "not_computed", lang, indicator=target.indicator)
    if target.year not in years:
        return _text("year_outside", lang, year=target.year, **span)
    if target.base_year is not None and target.base_year not in years:
        return _text("base_outside", lang, year=target.base_year, **span)
    if target.test == "cumulative_ge":
        needed = np.arange(target.base_year + 1, target.year + 1)
        if not np.isin(needed, years).all():
            return _text("gap", lang, first=int(needed[0]), last=int(needed[-1]))
    return None


def _first_year(condition: np.ndarray, years: np.ndarray) -> np.ndarray:
    """First year (float) where ``condition`` (R, K) holds, NaN if never."""
    if condition.shape[1] == 0:
        return np.full(condition.shape[0], np.nan)
    found = condition.any(axis=1)
    return np.where(found, years[condition.argmax(axis=1)].astype(float), np.nan)


def _compare(values: np.ndarray, value: float, relation: str) -> np.ndarray:
    tolerance = _ON_TARGET_RTOL * max(abs(value), 1.0)
    with np.errstate(invalid="ignore"):
        if relation == "ge":
            return values >= value - tolerance
        if relation == "gt":
            return values > value + tolerance
        return values <= value + tolerance


def peak_years(series: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Year of the peak of each run (argmax over the whole horizon, earliest on ties).

    Parameters
    ----------
    series : ndarray, shape (R, T) or (T,)
    years : ndarray, shape (T,)
        Whole years.

    Returns
    -------
    ndarray of int64, shape (R,)
        The peak year; :data:`NOT_YET_PEAKED` where the maximum is at the last year;
        :data:`NO_PEAK` for runs with NaN in the series.
    """
    years = np.asarray(years).astype(np.int64)
    x = _runs_2d(series, years.size, "series")
    finite = np.isfinite(x).all(axis=1)
    index = np.where(np.isnan(x), -np.inf, x).argmax(axis=1)
    peak = np.where(index == years.size - 1, NOT_YET_PEAKED, years[index])
    return np.where(finite, peak, NO_PEAK).astype(np.int64)


def _assess(target: Target, x: np.ndarray, years: np.ndarray) -> _Outcome:
    """Apply ``target``'s test to ``x`` (R, T); the target must be assessable (see _why_not)."""
    value = float(target.value)
    nan = np.full(x.shape[0], np.nan)
    if target.test == "peak_by":
        peak = peak_years(x, years)
        not_yet, nan_input = peak == NOT_YET_PEAKED, peak == NO_PEAK
        simulated = np.where(not_yet | nan_input, np.nan, peak.astype(float))
        level = np.where(nan_input, np.nan, np.where(np.isnan(x), -np.inf, x).max(axis=1))
        return _Outcome(
            simulated,
            ~not_yet & ~nan_input & (simulated <= value),
            value - simulated,
            nan,
            nan_input,
            np.zeros_like(nan_input),
            level,
            "not_yet_peaked",
            np.where(not_yet, float(years[-1]), np.nan),
        )
    test = target.test
    relation = next(part for part in test.split("_") if part in ("ge", "gt", "le"))
    index = int(np.searchsorted(years, target.year))
    note_key, note_year = None, None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if test in LEVEL_TESTS:
            read = x[:, index : index + 1]
            simulated = x[:, index]
            first = _first_year(_compare(x, value, relation), years)
        elif test in ALL_YEARS_TESTS:
            read = x[:, : index + 1]
            # The worst year decides: the highest level under a cap, the lowest over a floor.
            simulated = read.max(axis=1) if relation == "le" else read.min(axis=1)
            first = nan
            note_key = "above_cap" if relation == "le" else "below_floor"
            note_year = _first_year(~_compare(read, value, relation), years[: index + 1])
        else:
            base = int(np.searchsorted(years, target.base_year))
            after, k = slice(base + 1, None), index - base - 1
            ratio = x[:, after] / x[:, base, np.newaxis]
            read = x[:, [base, index]]
            if test == "cumulative_ge":
                read = x[:, base + 1 : index + 1]
                path = np.cumsum(x[:, after], axis=1)
                goal = value
            elif test == "avg_growth_ge":
                span = target.year - target.base_year
                # "First year met" = first year the level implied for `year` is reached.
                path, goal = ratio, (1.0 + value / 100.0) ** span
            else:
                path = ratio if target.is_ratio else 100.0 * (ratio - 1.0)
                goal = value
            simulated = path[:, k]
            if test == "avg_growth_ge":
                simulated = 100.0 * (simulated ** (1.0 / span) - 1.0)  # NaN if ratio < 0
            first = _first_year(_compare(path, goal, relation), years[after])
    nan_input = np.isnan(read).any(axis=1)
    not_finite = ~nan_input & ~np.isfinite(simulated)
    met = _compare(simulated, value, relation) & ~nan_input & ~not_finite
    margin = value - simulated if relation == "le" else simulated - value
    return _Outcome(simulated, met, margin, first, nan_input, not_finite, nan, note_key, note_year)


def _margin_pct(target: Target, margin: np.ndarray) -> np.ndarray:
    # A margin in years as a percent of a calendar year means nothing: NaN for peak_by.
    if target.test == "peak_by" or not target.value:
        return np.full(margin.shape, np.nan)
    return 100.0 * margin / abs(target.value)


def _notes(outcome: _Outcome, lang: str) -> np.ndarray:
    n_runs = outcome.met.shape[0]
    if outcome.note_key is None:
        return np.full(n_runs, "", dtype=object)
    prefix, _, suffix = _text(outcome.note_key, lang, year="\0").partition("\0")
    years = pd.Series(outcome.note_year).astype("Int64").astype(str)
    return np.where(np.isnan(outcome.note_year), "", prefix + years + suffix).astype(object)


def evaluate(
    targets: Sequence[Target],
    series: Mapping[str, np.ndarray],
    years: np.ndarray,
    assessable: Collection[str] | None = None,
    *,
    failed: np.ndarray | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """Test every target on every run.

    Parameters
    ----------
    targets : sequence of Target
    series : mapping
        Indicator name -> ndarray of shape (R, T) or (T,) (one run), in the indicator's unit.
    years : ndarray, shape (T,)
        The saved years [year].
    assessable : collection of str, optional
        Indicators the model computes (e.g. the keys of the indicator -> variable mapping). Only
        used to word the reason for an indicator absent from ``series``: "missing from the
        results" if it is in ``assessable``, "not computed by the model" if not. Default: judge
        by the target's ``modelled`` key.
    failed : ndarray of bool, shape (R,), optional
        Runs that failed; their rows are "not assessed".
    lang : {"zh", "en"}
        Language of ``name``, ``reason`` and ``note``.

    Returns
    -------
    pandas.DataFrame
        One row per target and run (targets in order, then runs), columns: ``run``, ``id``,
        ``name``, ``indicator``, ``unit``, ``year``, ``base_year``, ``test``, ``kind``,
        ``target`` (value), ``simulated`` (in the target's unit: level, % change, ratio,
        average growth [%/yr], sum, peak year...), ``status`` ("met", "missed",
        "not assessed"), ``margin`` (target's unit, positive = met with room),
        ``margin_pct`` (margin in % of abs(target value); NaN for peak_by), ``first_year_met``
        (first simulated year the condition holds -- for change, growth and cumulative tests
        the first year the target-year level or sum is reached; NaN if never or for peak_by
        and all-years tests), ``peak_level`` (peak_by only), ``note`` (e.g. "not yet peaked
        by 2035") and ``reason`` (why not assessed).
    """
    arrays, years, n_runs = _prepare(targets, series, years)
    failed = _failed_mask(failed, n_runs)
    frames = [_target_frame(t, arrays, years, n_runs, failed, assessable, lang) for t in targets]
    return pd.concat(frames, ignore_index=True)


def _target_frame(
    target: Target,
    arrays: Mapping[str, np.ndarray],
    years: np.ndarray,
    n_runs: int,
    failed: np.ndarray,
    assessable: Collection[str] | None,
    lang: str,
) -> pd.DataFrame:
    nan = np.full(n_runs, np.nan)
    reason = _why_not(target, arrays, years, assessable, lang)
    if reason is not None:
        values = {
            "simulated": nan,
            "status": "not assessed",
            "margin": nan,
            "margin_pct": nan,
            "first_year_met": nan,
            "peak_level": nan,
            "note": "",
            "reason": reason,
        }
    else:
        outcome = _assess(target, arrays[target.indicator], years)
        dropped = failed | outcome.nan_input | outcome.not_finite
        reasons = np.select(
            [failed, outcome.nan_input, outcome.not_finite],
            [_text("failed", lang), _text("nan", lang), _text("not_finite", lang)],
            "",
        )
        blank = np.where(dropped, np.nan, 1.0)  # NaN out the numbers of dropped runs
        values = {
            "simulated": outcome.simulated * blank,
            "status": np.where(dropped, "not assessed", np.where(outcome.met, "met", "missed")),
            "margin": outcome.margin * blank,
            "margin_pct": _margin_pct(target, outcome.margin) * blank,
            "first_year_met": outcome.first_year_met * blank,
            "peak_level": outcome.peak_level * blank,
            "note": np.where(dropped, "", _notes(outcome, lang)),
            "reason": reasons,
        }
    frame = pd.DataFrame({"run": np.arange(n_runs), **_meta(target, lang), **values})
    return frame[list(EVALUATE_COLUMNS)]


def _meta(target: Target, lang: str) -> dict:
    """The descriptive columns of a target's rows."""
    return {
        "id": target.id,
        "name": target.name(lang),
        "indicator": target.indicator,
        "unit": target.unit,
        "year": target.year,
        "base_year": np.nan if target.base_year is None else float(target.base_year),
        "test": target.test,
        "kind": target.kind,
        "target": np.nan if target.value is None else target.value,
    }


def probabilities(
    targets: Sequence[Target],
    series: Mapping[str, np.ndarray],
    years: np.ndarray,
    failed: np.ndarray | None = None,
    confidence: float = 0.95,
    *,
    assessable: Collection[str] | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """Probability that each target is met over an ensemble, with a Wilson score interval.

    Parameters
    ----------
    targets, series, years, assessable, lang
        As for :func:`evaluate`.
    failed : ndarray of bool, shape (R,), optional
        Runs that failed: excluded and counted in ``n_failed``.
    confidence : float
        Two-sided confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``id``, ``name``, ``indicator``, ``year``, ``test``, ``kind``,
        ``target``, ``probability`` (share of valid runs that meet it), ``ci_low``,
        ``ci_high``, ``n_runs``, ``n_valid``, ``n_failed``, ``n_nan`` (runs excluded for NaN or
        non-finite values), ``n_met``, for peak_by ``share_not_yet_peaked`` and
        ``peak_year_counts`` (dict peak year -> number of valid runs, with
        :data:`NOT_YET_PEAKED` as the key for runs not yet peaked), and ``reason``.
    """
    arrays, years, n_runs = _prepare(targets, series, years)
    failed = _failed_mask(failed, n_runs)
    rows = []
    for target in targets:
        row = {
            **_meta(target, lang),
            "n_runs": n_runs,
            "n_failed": int(failed.sum()),
            "share_not_yet_peaked": np.nan,
            "peak_year_counts": None,
        }
        reason = _why_not(target, arrays, years, assessable, lang)
        if reason is not None:
            rows.append({**row, "n_valid": 0, "n_nan": 0, "n_met": 0, "reason": reason})
            continue
        x = arrays[target.indicator]
        outcome = _assess(target, x, years)
        valid = ~failed & ~outcome.nan_input & ~outcome.not_finite
        n_valid = int(valid.sum())
        row.update(
            n_valid=n_valid,
            n_nan=int((~failed & ~valid).sum()),
            n_met=int((outcome.met & valid).sum()),
            reason="" if n_valid else _text("no_valid_runs", lang),
        )
        if target.test == "peak_by" and n_valid:
            peaks, counts = np.unique(peak_years(x, years)[valid], return_counts=True)
            row["peak_year_counts"] = dict(zip(peaks.tolist(), counts.tolist(), strict=True))
            row["share_not_yet_peaked"] = row["peak_year_counts"].get(NOT_YET_PEAKED, 0) / n_valid
        rows.append(row)
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["probability"] = np.where(
            table["n_valid"] > 0, table["n_met"] / table["n_valid"], np.nan
        )
    table["ci_low"], table["ci_high"] = wilson_interval(
        table["n_met"], table["n_valid"], confidence
    )
    return table[list(PROBABILITY_COLUMNS)]


def wilson_interval(
    successes: np.ndarray | int, trials: np.ndarray | int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes : int or array_like
        Number of runs that meet the target.
    trials : int or array_like
        Number of valid runs; both bounds are NaN where it is 0.
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    (low, high) : tuple of ndarray
        Bounds of the proportion, in [0, 1].
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1.0 + z**2 / n
        centre = (p + z**2 / (2.0 * n)) / denominator
        half = z * np.sqrt(p * (1.0 - p) / n + z**2 / (4.0 * n**2)) / denominator
    # At k = 0 and k = n the bounds are exactly 0 and 1; rounding must not move them off.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
