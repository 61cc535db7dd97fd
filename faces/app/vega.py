"""Vega-Lite specs for the page: drawn by the browser, so a redraw costs the server almost nothing.

Every chart names its axes with the quantity and its unit. The PNG downloads use the library's
matplotlib figures (:mod:`simulator.charts`, :mod:`simulator.ensemble_charts`) instead.
"""

from __future__ import annotations

import math

import pandas as pd

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#17becf", "#8c564b", "#e377c2", "#bcbd22")
HISTORY_COLOUR = "#000000"
TARGET_COLOUR = "#7b3294"
STATUS_COLOURS = {"met": "#1a9850", "missed": "#d73027", "not assessed": "#9e9e9e"}
CHART_HEIGHT = 440
YEAR_AXIS = {"format": "d", "tickMinStep": 5, "labelAngle": 0}


#: Per series (in order): a dash pattern and a point shape, so lines that coincide stay distinguishable.
SERIES_DASHES = ([1, 0], [7, 4], [2, 3], [10, 3, 2, 3], [4, 2])
SERIES_SHAPES = ("circle", "square", "diamond", "triangle-up", "cross")
#: The config every chart shares: nothing truncated (labels, legends, titles), SVG text (checkable).
CONFIG = {
    # symbolOpacity: a legend takes its symbols from the first layer of a colour, the half-transparent
    # bands under the lines, which drew the current settings' line in the pale blue of a band
    "legend": {"labelLimit": 0, "titleLimit": 0, "orient": "bottom", "symbolOpacity": 1},
    "axis": {"labelLimit": 0, "titleLimit": 0},
    "title": {"limit": 0, "anchor": "start", "fontSize": 13, "subtitleFontSize": 11, "subtitleColor": "#555"},
}


def display_width(text: str) -> int:
    """Terminal/page width of ``text`` in half-width cells (a CJK character counts two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def wrap(text: str, width: int) -> list[str]:
    """``text`` broken into lines of at most ``width`` half-width cells (at spaces where there are any)."""
    lines, line = [], ""
    for word in text.split(" "):
        # a word wider than the line (Chinese has no spaces) is broken between characters
        pieces, piece = [], ""
        for char in word:
            if piece and display_width(piece + char) > width:
                pieces.append(piece)
                piece = ""
            piece += char
        pieces.append(piece)
        for i, token in enumerate(pieces):
            trial = f"{line} {token}" if line and i == 0 else line + token
            if line and display_width(trial) > width:
                lines.append(line)
                line = token
            else:
                line = trial
    return [*lines, line] if line else lines


def show(spec: dict, title: str, key: str, height: int | None = CHART_HEIGHT, subtitle: str = "",
         width: int = 44) -> None:
    """Draw a spec with its ``title`` (wrapped to ``width`` cells) and the shared :data:`CONFIG`;
    ``height=None``: as tall as the data (bar charts)."""
    import streamlit as st

    sized = {"height": height} if height else {}
    st.vega_lite_chart(titled(spec, title, subtitle, width), width="stretch", key=key, **sized)


def titled(spec: dict, title: str, subtitle: str = "", width: int = 44) -> dict:
    """The spec with a title, the shared config and the SVG renderer."""
    head = {"text": wrap(title, width)}
    if subtitle:
        head["subtitle"] = wrap(subtitle, int(width * 1.2))
    return {**spec, "title": head, "config": {**CONFIG, **spec.get("config", {})},
            "usermeta": {"embedOptions": {"renderer": "svg"}}}


def legend_columns(labels: list[str], width: int = 30) -> int:
    """As many legend columns as the longest label leaves room for in ``width`` cells (1 to 3): 30 cells is
    what a chart of a three-column grid holds at 1280 px (40 made the legends of Chinese charts run out of
    their box there: the browser walk measures it)."""
    longest = max((display_width(x) for x in labels), default=1) + 4
    return max(1, min(3, width // longest))


def records(frame, **extra) -> list[dict]:
    """Rows of a DataFrame (or a list of dicts) as JSON-safe dicts (NaN -> None), plus ``extra`` keys."""
    rows = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else frame
    out = []
    for row in rows:
        row = {**row, **extra} if extra else row
        out.append(
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        )
    return out


def flat(title) -> str:
    """A title that may be a list of lines (a multi-line axis title) as one line, for tooltips."""
    return " ".join(title) if isinstance(title, (list, tuple)) else str(title)


def _year(title: str, first: int = 2015, last: int = 2035) -> dict:
    return {
        "field": "year",
        "type": "quantitative",
        "title": title,
        "axis": YEAR_AXIS,
        "scale": {"domain": [first, last], "nice": False},
    }


def _colour(domain: list[str], range_: list[str], title: str | None) -> dict:
    return {
        "type": "nominal",
        "title": title,
        "sort": None,
        "scale": {"domain": domain, "range": range_},
        "legend": {"orient": "bottom", "labelLimit": 0, "columns": legend_columns(domain), "symbolLimit": 20},
    }


def _history_layers(history: pd.DataFrame | None, label: str, y_title: str) -> list[dict]:
    if history is None or len(history) == 0:
        return []
    values = records(history, kind=label)
    return [
        {
            "data": {"values": values},
            "mark": {"type": "rule", "color": HISTORY_COLOUR},
            "encoding": {
                "x": {"field": "year", "type": "quantitative"},
                "y": {"field": "low", "type": "quantitative"},
                "y2": {"field": "high"},
            },
        },
        {
            "data": {"values": values},
            "mark": {"type": "point", "filled": True, "size": 30},
            "encoding": {
                "x": {"field": "year", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative", "title": y_title},
                "color": {"field": "kind"},
                "tooltip": [{"field": "year"}, {"field": "value", "title": flat(y_title), "format": ",.4~g"}],
            },
        },
    ]


def _target_layers(markers: pd.DataFrame | None, label: str, y_title: str) -> list[dict]:
    """``markers``: year, value, text, shape ("triangle-up"/"triangle-down"), start (caps start here)."""
    if markers is None or len(markers) == 0:
        return []
    values = records(markers, kind=label)
    points = [v for v in values if v.get("start") is None]
    caps = [v for v in values if v.get("start") is not None]
    layers = []
    if points:
        layers += [
            {
                "data": {"values": points},
                "mark": {"type": "point", "filled": True, "size": 90},
                "encoding": {
                    "x": {"field": "year", "type": "quantitative"},
                    "y": {"field": "value", "type": "quantitative", "title": y_title},
                    "shape": {"field": "shape", "type": "nominal", "scale": None},
                    "color": {"field": "kind"},
                    "tooltip": [{"field": "text"}, {"field": "year"}],
                },
            },
            {
                "data": {"values": points},
                "mark": {
                    "type": "text",
                    "dx": 6,
                    "dy": -8,
                    "align": "left",
                    "color": TARGET_COLOUR,
                    "fontSize": 11,
                },
                "encoding": {
                    "x": {"field": "year", "type": "quantitative"},
                    "y": {"field": "value", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ]
    if caps:
        layers.append(
            {
                "data": {"values": caps},
                "mark": {"type": "rule", "strokeDash": [6, 3], "strokeWidth": 1.5},
                "encoding": {
                    "x": {"field": "start", "type": "quantitative"},
                    "x2": {"field": "year"},
                    "y": {"field": "value", "type": "quantitative"},
                    "color": {"field": "kind"},
                    "tooltip": [{"field": "text"}],
                },
            }
        )
    return layers


def lines(
    frame: pd.DataFrame,
    y_title: str,
    x_title: str,
    legend_title: str,
    history=None,
    markers=None,
    history_label: str = "history",
    target_label: str = "target",
    points: bool = False,
    first: int = 2015,
    last: int = 2035,
    band: list | None = None,
    band_labels: tuple[str, str] = ("90 %", "50 %"),
) -> dict:
    """Lines over the years: ``frame`` has year, value, series and dash ("solid"/"dashed"); ``band``:
    rows year, q05, q25, q75, q95 drawn as the 90 and 50 % bands under the lines."""
    series = list(dict.fromkeys(row["series"] for row in records(frame)))
    domain = list(series)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    for label, colour, extra in (
        (history_label, HISTORY_COLOUR, history),
        (target_label, TARGET_COLOUR, markers),
    ):
        if extra is not None and len(extra):
            domain.append(label)
            colours.append(colour)
    if band:
        domain += list(band_labels)
        colours += ["#c6dbef", "#6baed6"]
    line = {
        "data": {"name": "runs"},
        "mark": {"type": "line", "strokeWidth": 2, "point": points},
        "encoding": {
            "x": _year(x_title, first, last),
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": y_title,
                "scale": {"zero": False},
                "axis": {"titleLimit": 400},
            },
            "color": {"field": "series", **_colour(domain, colours, None)},
            "strokeDash": {
                "field": "series",
                "type": "nominal",
                "legend": None,
                "scale": {"domain": series, "range": [SERIES_DASHES[i % 5] for i in range(len(series))]},
            },
            "tooltip": [
                {"field": "series", "title": legend_title},
                {"field": "year", "title": x_title},
                {"field": "value", "title": flat(y_title), "format": ",.4~g"},
            ],
        },
    }
    marks = {
        "data": {"name": "runs"},
        "transform": [{"filter": "datum.year % 5 == 0"}],
        "mark": {"type": "point", "filled": True, "size": 36, "opacity": 0.9},
        "encoding": {
            "x": {"field": "year", "type": "quantitative"},
            "y": {"field": "value", "type": "quantitative"},
            "color": {"field": "series"},
            "shape": {"field": "series", "type": "nominal", "legend": None,
                      "scale": {"domain": series, "range": [SERIES_SHAPES[i % 5] for i in range(len(series))]}},
        },
    }
    shades = []
    for (low, high), label, opacity in ((("q05", "q95"), band_labels[0], 0.5), (("q25", "q75"), band_labels[1], 0.5)):
        if band:
            shades.append({
                "data": {"values": band},
                "mark": {"type": "area", "opacity": opacity},
                "encoding": {"x": {"field": "year", "type": "quantitative"},
                             "y": {"field": low, "type": "quantitative"}, "y2": {"field": high},
                             "color": {"datum": label}},
            })
    layers = [
        *shades,
        line,
        *([marks] if len(series) > 1 else []),
        *_history_layers(history, history_label, y_title),
        *_target_layers(markers, target_label, y_title),
    ]
    # the runs as a named dataset: a slider move changes only the data, and the browser updates the
    # drawn chart in place instead of building it again
    return {"height": "container", "layer": layers, "datasets": {"runs": records(frame)}}


def fan(
    bands: pd.DataFrame,
    y_title: str,
    x_title: str,
    words: dict,
    current: pd.DataFrame | None = None,
    history=None,
    markers=None,
) -> dict:
    """Median, 50 % and 90 % bands (columns year, q05..q95), the deterministic run and history."""
    domain = [
        words["band90"],
        words["band50"],
        words["median"],
        words["current"],
        words["history"],
        words["target"],
    ]
    colours = ["#9ecae1", "#4292c6", "#08519c", "#ff7f0e", HISTORY_COLOUR, TARGET_COLOUR]
    colour = _colour(domain, colours, None)
    values = records(bands)
    y = {"type": "quantitative", "title": y_title, "scale": {"zero": False}, "axis": {"titleLimit": 400}}
    layers = [
        {
            "data": {"name": "bands"},
            "mark": {"type": "area", "opacity": 0.5},
            "encoding": {
                "x": _year(x_title),
                "y": {"field": "q05", **y},
                "y2": {"field": "q95"},
                "color": {"datum": words["band90"], **colour},
            },
        },
        {
            "data": {"name": "bands"},
            "mark": {"type": "area", "opacity": 0.6},
            "encoding": {
                "x": _year(x_title),
                "y": {"field": "q25", **y},
                "y2": {"field": "q75"},
                "color": {"datum": words["band50"]},
            },
        },
        {
            "data": {"name": "bands"},
            "mark": {"type": "line", "strokeWidth": 2},
            "encoding": {
                "x": _year(x_title),
                "y": {"field": "q50", **y},
                "color": {"datum": words["median"]},
                "tooltip": [
                    {"field": "year", "title": x_title},
                    *({"field": q, "format": ",.4~g"} for q in ("q05", "q25", "q50", "q75", "q95")),
                ],
            },
        },
    ]
    if current is not None:
        layers.append(
            {
                "data": {"name": "current"},
                "mark": {"type": "line", "strokeDash": [6, 4], "strokeWidth": 1.5},
                "encoding": {
                    "x": _year(x_title),
                    "y": {"field": "value", **y},
                    "color": {"datum": words["current"]},
                },
            }
        )
    layers += _history_layers(history, words["history"], y_title)
    layers += _target_layers(markers, words["target"], y_title)
    datasets = {"bands": values, **({"current": records(current)} if current is not None else {})}
    return {"height": "container", "layer": layers, "datasets": datasets}
