"""What the line charts share: long frames of indicators, target markers and history for one indicator."""

from __future__ import annotations

import functools
import re

import pandas as pd
import streamlit as st

import simulator
import simulator as api
from faces.app import data, vega
from faces.app.text import tr
from simulator.plots.series import coinciding
from simulator.targets import ALL_YEARS_TESTS, LEVEL_TESTS, default_targets_path
from simulator.targets.assess import UNITS_ZH
from simulator.text import catalogue


def _core_unit(unit: str) -> str:
    return re.sub(r"\s+|\(.*?\)|（.*?）", "", unit or "").lower()


def y_title(indicator: str, lang: str) -> str:
    """Axis title "name (unit)" of an indicator."""
    return vega.flat(axis_title(indicator, lang))


def axis_title(indicator: str, lang: str) -> list[str]:
    """Axis title of an indicator as two lines: the name, then the unit in brackets."""
    lab = data.labels()
    variable = lab.indicators[indicator]
    unit = lab.unit(variable, lang)
    return [lab.name(variable, lang), f"({unit})"]


def indicator_name(indicator: str, lang: str) -> str:
    lab = data.labels()
    return lab.name(lab.indicators[indicator], lang)


#: Units that models/targets.toml writes in Chinese and that match no indicator's unit, in English.
_UNITS_EN = catalogue("app.charting.units_en")


def target_unit(unit: str, indicator: str, lang: str) -> str:
    """A target's unit in ``lang`` (targets.toml writes some in Chinese, e.g. 万人, 亿元 (current prices))."""
    if not isinstance(unit, str) or not unit:
        return unit
    if lang == "zh":
        return UNITS_ZH.get(unit, unit)
    core = re.sub(r"\s*(\(.*?\)|（.*?）)", "", unit).strip()
    brackets = " ".join(re.findall(r"\(.*?\)|（.*?）", unit))
    lab = data.labels()
    variable = lab.indicators.get(indicator)
    english = None
    if variable and _core_unit(core) == _core_unit(lab.unit(variable, "zh")):
        english = lab.unit(variable, "en")
    english = english or _UNITS_EN.get(core)
    return f"{english} {brackets}".strip() if english else unit


def markers(indicator: str, lang: str) -> list[dict]:
    """Level targets (a marker) and all-years caps or floors (a dashed line) drawn on this indicator."""
    return _markers(indicator, data.file_stamp(default_targets_path(), api.Project.default().labels_path))


@functools.lru_cache(maxsize=256)
def _markers(indicator: str, stamp: str) -> list[dict]:
    lab = data.labels()
    variable = lab.indicators[indicator]
    units = {_core_unit(lab.unit(variable, "zh")), _core_unit(lab.unit(variable, "en"))}
    rows = []
    for target in data.targets():
        if target.indicator != indicator or target.value is None or _core_unit(target.unit) not in units:
            continue
        if target.test in LEVEL_TESTS:
            symbol = {"level_ge": "≥", "level_gt": ">", "level_le": "≤"}[target.test]
            shape = "triangle-down" if target.test == "level_le" else "triangle-up"
            rows.append(
                {
                    "year": target.year,
                    "value": target.value,
                    "text": f"{symbol}{target.value:g}",
                    "shape": shape,
                    "start": None,
                }
            )
        elif target.test in ALL_YEARS_TESTS:
            word = "≤" if target.test == "level_le_all_years" else "≥"
            rows.append(
                {
                    "year": target.year,
                    "value": target.value,
                    "text": f"{word}{target.value:g}",
                    "shape": "",
                    "start": 2015,
                }
            )
    return rows


def history_of(indicator: str) -> list[dict] | None:
    """The 2015-2020 observations of an indicator: year, value, low, high."""
    return _history_by_indicator(data.file_stamp(simulator.Project.default().observations_path)).get(indicator)


@functools.lru_cache(maxsize=4)
def _history_by_indicator(stamp: str) -> dict:
    frame = data.history()
    if frame is None:
        return {}
    return {
        key: vega.records(rows[["year", "value", "low", "high", "rebase"]]) for key, rows in frame.groupby("indicator")
    }


def long_frame(frames: dict[str, pd.DataFrame], indicator: str, dashed: set[str] = frozenset()) -> list[dict]:
    """Rows year, value, series, dash for one indicator over several runs (label -> indicator frame)."""
    rows = []
    for label, frame in frames.items():
        if indicator in frame:
            dash = "dashed" if label in dashed else "solid"
            years, values = frame.index.to_numpy(int), frame[indicator].to_numpy(float)
            rows += [
                {"year": int(y), "value": float(v), "series": label, "dash": dash}
                for y, v in zip(years, values, strict=True)
            ]
    return rows


def identical_note(frames: dict[str, pd.DataFrame], indicator: str, lang: str) -> str:
    """The chart's note naming the series that lie on top of each other, "" if none do."""
    return " · ".join(
        tr(lang, "identical", names=tr(lang, "and").join(group)) for group in coinciding(frames, indicator)
    )


def unit_title(indicator: str, lang: str) -> str:
    """The value axis title of an indicator: its unit in brackets (the chart title names it)."""
    lab = data.labels()
    unit = lab.unit(lab.indicators[indicator], lang)
    return f"({unit})" if unit else ""


#: Extra height [px] of a chart with bands (two more legend rows).
BAND_LEGEND = 60


def line_grid(
    frames: dict[str, pd.DataFrame],
    indicators: list[str],
    lang: str,
    dashed: set[str] = frozenset(),
    ncols: int = 3,
    key: str = "lines",
    band: pd.DataFrame | None = None,
    identical_in_subtitle: bool = True,
) -> list[str]:
    """One titled chart per indicator in a grid, with history points, target markers and a note when two
    series coincide; with ``band`` (q05..q95 by indicator and year) the 50 and 90 % bands of the first
    series. Each chart goes straight into its column (no placeholder blocks: fewer elements for the
    browser to reconcile on every lever move).

    Returns the indicators in whose chart two series coincide. ``identical_in_subtitle=False``: the
    caller says so (under the grid) instead of each chart's subtitle, which keeps the charts' specs
    the same from one lever move to the next (the browser then swaps their data, and does not build
    the charts anew)."""
    same = []
    # one row of columns, chart k in column k % ncols: the grid reads row by row as before, with 1 + ncols
    # blocks for the browser to reconcile on every lever move instead of 1 + ncols per row
    columns = st.columns(ncols) if indicators else []
    for position, indicator in enumerate(indicators):
        spec = vega.lines(
            long_frame(frames, indicator, dashed),
            unit_title(indicator, lang),
            tr(lang, "year"),
            tr(lang, "series"),
            history=history_of(indicator),
            markers=markers(indicator, lang),
            history_label=tr(lang, "history"),
            target_label=tr(lang, "target"),
            band=None if band is None else vega.records(band[band["indicator"] == indicator]),
            band_labels=(tr(lang, "band90"), tr(lang, "band50")),
        )
        identical = identical_note(frames, indicator, lang)
        if identical:
            same.append(indicator)
        with columns[position % ncols]:
            # the two band entries lengthen the legend: the chart grows so the plot keeps its size
            vega.show(spec, indicator_name(indicator, lang),
                      f"{key}:{indicator}{':b' if band is not None else ''}",
                      height=vega.CHART_HEIGHT + (BAND_LEGEND if band is not None else 0),
                      subtitle=" · ".join(x for x in (identical if identical_in_subtitle else "",
                                                      history_note(indicator, lang)) if x), width=34)
    return same


def history_note(indicator: str, lang: str) -> str:
    """A note on the history points: census re-basing of the data, or an inventory range instead of a value."""
    rows = history_of(indicator) or []
    notes = []
    if any(r.get("rebase") for r in rows):
        notes.append(tr(lang, "note_rebased"))
    if any(r.get("value") is None for r in rows):
        notes.append(tr(lang, "note_range"))
    return " · ".join(notes)
