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

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.targets.registry import (
    _ON_TARGET_RTOL,
    ALL_YEARS_TESTS,
    EVALUATE_COLUMNS,
    LEVEL_TESTS,
    NO_PEAK,
    NOT_YET_PEAKED,
    Target,
    _text,
)

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
            target.margin(simulated),
            nan,
            nan_input,
            np.zeros_like(nan_input),
            level,
            "not_yet_peaked",
            np.where(not_yet, float(years[-1]), np.nan),
        )
    test = target.test
    relation = target.relation
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
    return _Outcome(simulated, met, target.margin(simulated), first, nan_input, not_finite, nan, note_key, note_year)


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
