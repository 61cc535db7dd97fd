"""Vega-Lite specs of bar and dot charts: target margins, probabilities, counts, tornado and Sobol bars.

The nominal axis grows with the number of rows (a step per row), so every label fits.
"""

from __future__ import annotations

import pandas as pd

from faces.app.vega import STATUS_COLOURS, records


def dots(frame: pd.DataFrame, x_title: str, y_title: str, status_words: dict) -> dict:
    """Margin to each target in % (``name``, ``margin_pct`` clipped to +-100, ``status``, ``tip``)."""
    domain = [status_words[s] for s in STATUS_COLOURS]
    return {
        "height": {"step": 24},
        "data": {"values": records(frame.assign(status=frame["status"].map(status_words)))},
        "layer": [
            {"mark": {"type": "rule", "color": "#888"}, "encoding": {"x": {"datum": 0}}},
            {
                "mark": {"type": "point", "filled": True, "size": 90},
                "encoding": {
                    "y": {
                        "field": "name",
                        "type": "nominal",
                        "sort": None,
                        "title": y_title,
                        "axis": {"labelLimit": 0},
                    },
                    "x": {
                        "field": "margin_pct",
                        "type": "quantitative",
                        "title": x_title,
                        "scale": {"domain": [-100, 100]},
                    },
                    "color": {
                        "field": "status",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": domain, "range": list(STATUS_COLOURS.values())},
                        "legend": {"orient": "bottom"},
                    },
                    "tooltip": [{"field": "name"}, {"field": "tip"}],
                },
            },
        ],
    }


def probability_bars(frame: pd.DataFrame, x_title: str, y_title: str, flat_labels: dict | None = None) -> dict:
    """Probability of each target (``name``, ``probability``, ``ci_low``, ``ci_high``) with its interval.

    With a ``no_uncertainty`` column, a flagged target (no sampled input moves it) is drawn grey, without an
    interval, labelled ``flat_labels[met]`` ("met*" / "missed*") instead of "100 %" / "0 %"."""
    y = {"field": "name", "type": "nominal", "sort": None, "title": y_title, "axis": {"labelLimit": 0}}
    x = {"type": "quantitative", "title": x_title, "scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    frame = frame.copy()
    flat = frame["no_uncertainty"].to_numpy(bool) if "no_uncertainty" in frame else [False] * len(frame)
    labels = flat_labels or {True: "*", False: "*"}
    # every bar says its value, so an empty bar reads "0 %" and a full one "100 %" (not a missing bar)
    frame["label"] = [labels[bool(p >= 0.5)] if f else f"{100 * p:.0f} %" if p == p else "—"
                      for p, f in zip(frame["probability"], flat, strict=True)]
    frame["flat"] = list(flat)
    frame.loc[frame["flat"], ["ci_low", "ci_high"]] = float("nan")
    frame["at"] = [min(max(hi if hi == hi else p, p), 0.86) for p, hi in zip(frame["probability"],
                                                                              frame["ci_high"], strict=True)]
    return {
        "height": {"step": 24},
        "data": {"values": records(frame)},
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "y": y,
                    "x": {"field": "probability", **x},
                    "color": {
                        "condition": {"test": "datum.flat", "value": STATUS_COLOURS["not assessed"]},
                        "field": "probability",
                        "type": "quantitative",
                        "legend": None,
                        "scale": {"domain": [0, 0.5, 1], "range": ["#d73027", "#fee08b", "#1a9850"]},
                    },
                    "tooltip": [
                        {"field": "name"},
                        {"field": "probability", "format": ".1%"},
                        {"field": "ci_low", "format": ".1%"},
                        {"field": "ci_high", "format": ".1%"},
                        {"field": "n_valid"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "color": "black"},
                "encoding": {"y": y, "x": {"field": "ci_low", **x}, "x2": {"field": "ci_high"}},
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 5, "fontSize": 11},
                "encoding": {"y": y, "x": {"field": "at", **x}, "text": {"field": "label"}},
            },
        ],
    }


def counts(frame: pd.DataFrame, x_title: str, y_title: str) -> dict:
    """Bars of ``count`` per ``label`` (ordered as given), e.g. the peak-year histogram."""
    return {
        "height": "container",
        "data": {"values": records(frame)},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "label",
                "type": "ordinal",
                "sort": None,
                "title": x_title,
                "axis": {"labelAngle": 0},
            },
            "y": {"field": "count", "type": "quantitative", "title": y_title},
            "color": {
                "field": "peaked",
                "type": "nominal",
                "legend": None,
                "scale": {"domain": [True, False], "range": ["#ff7f0e", "#9e9e9e"]},
            },
            "tooltip": [
                {"field": "label", "title": x_title},
                {"field": "count", "title": y_title},
                {"field": "share", "format": ".1%"},
            ],
        },
    }


def signed_bars(frame: pd.DataFrame, x_title: str, y_title: str, legend_title: str | None = None) -> dict:
    """Horizontal bars of ``delta`` per ``name``, coloured by ``which`` (a tornado chart)."""
    groups = list(dict.fromkeys(frame["which"]))
    return {
        "height": {"step": 26},
        "data": {"values": records(frame)},
        "layer": [
            {
                "mark": {"type": "bar", "opacity": 0.85},
                "encoding": {
                    "y": {
                        "field": "name",
                        "type": "nominal",
                        "sort": None,
                        "title": y_title,
                        "axis": {"labelLimit": 0},
                    },
                    "x": {"field": "delta", "type": "quantitative", "title": x_title},
                    "color": {
                        "field": "which",
                        "type": "nominal",
                        "title": legend_title,
                        "sort": None,
                        "scale": {
                            "domain": groups,
                            "range": ["#457b9d", "#e63946", "#2a9d8f"][: len(groups)],
                        },
                        "legend": {"orient": "bottom", "labelLimit": 0},
                    },
                    "tooltip": [
                        {"field": "name"},
                        {"field": "which"},
                        {"field": "delta", "format": ",.4~g"},
                        {"field": "input_value", "format": ",.4~g"},
                    ],
                },
            },
            {"mark": {"type": "rule", "color": "black"}, "encoding": {"x": {"datum": 0}}},
        ],
    }


def grouped_bars(frame: pd.DataFrame, x_title: str, y_title: str) -> dict:
    """Sobol indices: ``name``, ``index`` (S1/ST), ``value``, ``low``, ``high``."""
    y = {"field": "name", "type": "nominal", "sort": None, "title": y_title, "axis": {"labelLimit": 0}}
    return {
        "height": {"step": 16},
        "data": {"values": records(frame)},
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "y": y,
                    "yOffset": {"field": "index"},
                    "x": {"field": "value", "type": "quantitative", "title": x_title},
                    "color": {
                        "field": "index",
                        "type": "nominal",
                        "title": None,
                        "legend": {"orient": "bottom"},
                    },
                    "tooltip": [
                        {"field": "name"},
                        {"field": "index"},
                        {"field": "value", "format": ".3f"},
                        {"field": "low", "format": ".3f"},
                        {"field": "high", "format": ".3f"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "color": "black"},
                "encoding": {
                    "y": y,
                    "yOffset": {"field": "index"},
                    "x": {"field": "low", "type": "quantitative"},
                    "x2": {"field": "high"},
                },
            },
        ],
    }
