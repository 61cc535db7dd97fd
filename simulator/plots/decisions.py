"""Charts of the decision-support answers: the wedge chart of an attribution and PRIM's peeling trajectory.

Same conventions as :mod:`simulator.charts`: plain ``Figure`` objects on the Agg canvas, every text
artist set to the CJK font, names and units on the axes; write them with :func:`simulator.charts.save`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simulator.analysis.attribution import Attribution
from simulator.model.labels import Labels
from simulator.plots.charts import _axis_label, _new_figure, _plain, apply_font
from simulator.text import catalogue

TEXT = catalogue("lib.decisions")


def _t(key: str, lang: str, **fields) -> str:
    zh, en = TEXT[key]
    return (en if lang == "en" else zh).format(**fields)


def player_name(player: str, attribution: Attribution, labels: Labels, lang: str) -> str:
    """Display name of a player: the lever's name, or the sector's when levers are grouped."""
    if attribution.grouped:
        if player in labels.sectors:
            return labels.sectors[player].get(lang, player)
        return _t("other", lang)
    return labels.name(player, lang)


def wedge_chart(attribution: Attribution, labels: Labels, lang: str = "zh") -> Figure:
    """Stacked wedges from the ``against`` trajectory to the ``scenario`` one, one per lever (or sector).

    Each wedge is a lever's Shapley part of the difference, so the wedges fill exactly the gap between
    the two lines every year. The levers that move the indicator the way the total does come first,
    largest (in the last year) first; those that pull the other way come last, hatched, and lie across
    the others, on the far side of the scenario's line.
    """
    parts, levels = attribution.parts, attribution.levels
    years = parts.index.to_numpy()
    last = parts.iloc[-1]
    sign = np.sign(attribution.total.iloc[-1]) or 1.0
    effective = [p for p in parts.columns if np.abs(parts[p]).max() > 0]  # no wedge for a lever without effect
    along = sorted((p for p in effective if last[p] * sign >= 0), key=lambda p: -abs(last[p]))
    against = sorted((p for p in effective if last[p] * sign < 0), key=lambda p: -abs(last[p]))
    order = along + against
    figure = _new_figure(9.5, 5.2)
    ax = figure.subplots()
    colours = [f"C{i % 10}" for i in range(len(order))]
    lower = levels["against"].to_numpy(float).copy()
    for player, colour in zip(order, colours, strict=True):
        upper = lower + parts[player].to_numpy(float)
        opposite = player in against
        name = player_name(player, attribution, labels, lang) + (_t("opposite", lang) if opposite else "")
        ax.fill_between(years, lower, upper, color=colour, alpha=0.75, linewidth=0, hatch="//" if opposite else None,
                        label=_plain(name))
        lower = upper
    ax.plot(years, levels["against"], color="k", lw=1.6, ls="--",
            label=_plain(_t("against", lang, name=attribution.against.title(lang))))
    ax.plot(years, levels["scenario"], color="k", lw=1.6,
            label=_plain(_t("scenario", lang, name=attribution.scenario.title(lang))))
    name, unit = labels.name(attribution.variable, lang), labels.unit(attribution.variable, lang)
    ax.set_xlabel(_t("year", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(_axis_label(name, unit or attribution.unit, lang))
    title = _t("title", lang, indicator=name) + (_t("grouped", lang) if attribution.grouped else "")
    ax.set_title(_plain(title), fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(alpha=0.3)
    return apply_font(figure)


def peeling_chart(trajectory: pd.DataFrame, chosen: int | None, target_name: str, outcome: str,
                  lang: str = "zh", final: tuple | None = None) -> Figure:
    """PRIM's trade-off between coverage and density along the peeling, coloured by restricted inputs.

    ``chosen`` is the step the box was taken from; ``final`` its (coverage, density) after pasting and
    simplification.
    """
    figure = _new_figure(6.8, 4.6)
    ax = figure.subplots()
    points = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["n_restricted"],
                        cmap="viridis", s=18, zorder=3)
    ax.plot(trajectory["coverage"], trajectory["density"], color="0.6", lw=0.8, zorder=2)
    if chosen is not None and chosen in trajectory.index:
        row = trajectory.loc[chosen]
        ax.scatter([row["coverage"]], [row["density"]], s=120, facecolors="none", edgecolors="#d62728", lw=1.8,
                   zorder=4, label=_t("chosen", lang))
    if final is not None:
        ax.scatter([final[0]], [final[1]], marker="*", s=160, color="#d62728", zorder=5, label=_t("final", lang))
    if chosen is not None or final is not None:
        ax.legend(fontsize=8, loc="lower left")
    colourbar = figure.colorbar(points, ax=ax)
    colourbar.set_label(_t("restricted", lang))
    ax.set_xlabel(_t("coverage", lang))
    ax.set_ylabel(_t("density", lang))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(_plain(_t("peeling", lang, target=target_name, outcome=_t(outcome, lang))), fontsize=10)
    ax.grid(alpha=0.3)
    return apply_font(figure)
