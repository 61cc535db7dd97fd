"""Charts of ensembles and sensitivity: fan charts, probability bars, peak-year histogram, tornado."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simulator.model.labels import Labels
from simulator.plots.charts import _axis_label, _new_figure, apply_font
from simulator.text import catalogue

TEXT = catalogue("lib.ensembles")


def _t(key: str, lang: str) -> str:
    return TEXT[key][1] if lang == "en" else TEXT[key][0]


def fan_chart(bands: pd.DataFrame, indicators: Sequence[str], labels: Labels, history=None,
              lang: str = "zh", ncols: int = 3) -> Figure:
    """Median and 50 % / 90 % bands per indicator over time, with history points when given."""
    indicators = [i for i in indicators if i in set(bands["indicator"])]
    nrows = max(1, int(np.ceil(len(indicators) / ncols)))
    figure = _new_figure(4.2 * ncols, 3.2 * nrows)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, indicator in zip(axes, indicators, strict=False):
        band = bands[bands["indicator"] == indicator].sort_values("year")
        years = band["year"].to_numpy()
        ax.fill_between(years, band["q05"], band["q95"], alpha=0.2, color="C0", label=_t("band90", lang))
        ax.fill_between(years, band["q25"], band["q75"], alpha=0.4, color="C0", label=_t("band50", lang))
        ax.plot(years, band["q50"], color="C0", label=_t("median", lang))
        if history is not None:
            points = history[history["indicator"] == indicator]
            if len(points):
                ax.errorbar(points["year"], points["value"],
                            yerr=[points["value"] - points["low"], points["high"] - points["value"]],
                            fmt="o", color="k", ms=3, capsize=2)
        variable = labels.indicators[indicator]
        ax.set_title(_axis_label(labels.name(variable, lang), labels.unit(variable, lang), lang), fontsize=9)
        ax.set_xlabel(_t("year", lang))
        ax.set_ylabel(labels.unit(variable, lang))
    for ax in axes[len(indicators):]:
        ax.set_visible(False)
    if indicators:
        axes[0].legend(fontsize=7)
    return apply_font(figure)


def probability_bars(probabilities: pd.DataFrame, lang: str = "zh") -> Figure:
    """Probability of each assessed target with its 95 % Wilson interval; a target flagged
    ``no_uncertainty`` (the same simulated value in every run) is a grey bar labelled "met*"/"missed*",
    without an interval, and a footnote says why."""
    table = probabilities[probabilities["n_valid"] > 0].reset_index(drop=True)
    flat = table["no_uncertainty"].fillna(False).to_numpy(bool) if "no_uncertainty" in table else np.zeros(
        len(table), bool)
    figure = _new_figure(8, 0.35 * len(table) + (1.6 if flat.any() else 1.2))
    ax = figure.subplots()
    y = np.arange(len(table))[::-1]
    p = table["probability"].to_numpy(float)
    colours = np.where(p >= 0.8, "#2a9d8f", np.where(p >= 0.2, "#e9c46a", "#e76f51"))
    colours = np.where(flat, "#9e9e9e", colours)
    ax.barh(y, p, color=colours)
    low = np.where(flat, p, table["ci_low"].to_numpy(float))
    high = np.where(flat, p, table["ci_high"].to_numpy(float))
    ax.errorbar(p[~flat], y[~flat], xerr=[(p - low)[~flat], (high - p)[~flat]], fmt="none", color="k", capsize=2)
    ax.set_yticks(y, [str(n) for n in table["name"]], fontsize=8)
    for value, hi, row, none in zip(p, high, y, flat, strict=True):
        # every bar says its value: an empty bar reads "0 %", a full one "100 %"; a flagged one its verdict
        text = _t("flat_met" if value >= 0.5 else "flat_missed", lang) if none else f"{100 * value:.0f} %"
        ax.text(min(max(value, hi if hi == hi else value), 0.86) + 0.01, row, text, va="center", fontsize=7)
    ax.set_xlim(0, 1)
    label = _t("probability", lang) + " (0–1)"
    if flat.any():  # the footnote under the axis title, where the constrained layout makes room for it
        label += "\n" + textwrap.fill(_t("flat_note", lang), 60 if lang == "zh" else 110)
    ax.set_xlabel(label)
    return apply_font(figure)


def peak_histogram(peak_years: np.ndarray, last_year: int, lang: str = "zh") -> Figure:
    """Distribution of the CO2 peak year; runs not yet peaked by ``last_year`` in their own bar."""
    values = np.asarray(peak_years, float)
    figure = _new_figure(6, 3.2)
    ax = figure.subplots()
    peaked = values[np.isfinite(values)]
    if len(peaked):
        bins = np.arange(peaked.min() - 0.5, last_year + 1.5)
        ax.hist(peaked, bins=bins, color="C1")
    not_yet = int(np.isnan(values).sum())
    if not_yet:
        ax.bar([last_year + 1], [not_yet], color="grey", label=_t("not_yet", lang))
        ax.legend(fontsize=8)
    ax.set_xlabel(_t("peak_year", lang))
    ax.set_ylabel(_t("runs", lang))
    return apply_font(figure)


def tornado_chart(table: pd.DataFrame, labels: Labels, target_name: str, lang: str = "zh",
                  higher_is_better: bool | None = None, unit: str = "") -> Figure:
    """Bars of the change in a target's simulated value when each input moves to its 5th/95th pct.

    ``higher_is_better``: whether a larger simulated value helps the target (a floor) or hurts it (a cap,
    a peak year): the value axis then says which way is better. ``unit``: the target's unit, on the axis."""
    table = table.iloc[::-1].reset_index(drop=True)
    figure = _new_figure(8, 0.35 * len(table) + 1.7)
    ax = figure.subplots()
    y = np.arange(len(table))
    base = float(table["base"].iloc[0]) if len(table) else 0.0
    ax.barh(y, table["output_low"] - base, color="#457b9d", label=_t("low", lang))
    ax.barh(y, table["output_high"] - base, color="#e63946", alpha=0.8, label=_t("high", lang))
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [labels.name(i, lang) for i in table["input"]], fontsize=8)
    # with the target's own unit the generic "(target's unit)" gives way to it
    label = _axis_label(re.split(r"[(（]", _t("swing", lang))[0].strip(), unit, lang) if unit else _t("swing", lang)
    if higher_is_better is not None:
        label += "\n" + _t("better_right" if higher_is_better else "better_left", lang)
    ax.set_xlabel(label)
    ax.set_title(f"{_t('target', lang)}: {target_name}", fontsize=10)
    ax.legend(fontsize=8)
    return apply_font(figure)
