"""The target feasibility figure: each assessed target's margin per scenario, the peak-year targets in
years on a panel of their own, the targets the model cannot assess listed under the figure."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simulator.plots.charts import (
    _MARKERS,
    STATUS_COLOURS,
    _check_lang,
    _finish,
    _framed,
    _plain,
    _t,
    apply_font,
)


def feasibility(
    tables: Mapping[str, pd.DataFrame], lang: str = "zh", clip: float = 100.0, title: str | None = None,
    note: str | None = None,
) -> Figure:
    """One row per assessed target: the margin to the target per scenario.

    Parameters
    ----------
    tables : mapping
        Scenario label -> table of :func:`simulator.targets.evaluate` on one run (best made with the
        same ``lang``, whose names label the rows).
    lang : {"zh", "en"}
    clip : float
        Margins beyond +-``clip`` [%] are drawn at the edge with their value written.
    title, note : str, optional
        Figure title (default: the catalogue's) and caption (source and model version).

    Returns
    -------
    matplotlib.figure.Figure
        Markers coloured by status, one marker shape per scenario. Targets with a % margin on the top
        panel [% of the target value]; peak-year targets on a lower panel at their margin [years] with
        the simulated peak year written beside each marker (one line per scenario, so labels never
        overlap). Targets no scenario can assess are listed, with the reason, below the figure.
    """
    _check_lang(lang)
    if not tables:
        raise ValueError("feasibility: no tables")
    for scenario, table in tables.items():
        if "run" in table and table["run"].nunique() > 1:
            raise ValueError(
                f"feasibility: table {scenario!r} holds several runs; "
                "use simulator.targets.probabilities for ensembles"
            )
    every = pd.concat([t[["id", "name", "test", "status", "reason"]] for t in tables.values()])
    assessed_ids = set(every.loc[every["status"] != "not assessed", "id"])
    rows = every.drop_duplicates("id")
    shown = rows[rows["id"].isin(assessed_ids)]
    peaks = shown[shown["test"] == "peak_by"]
    levels = shown[shown["test"] != "peak_by"]
    missing = rows[~rows["id"].isin(assessed_ids)]
    height = 0.36 * len(levels) + 0.3 * len(tables) * len(peaks) + 2.8 + 0.12 * len(missing)
    lines = []
    if len(missing):
        listed = "; ".join(f"{n}({r})" if lang == "zh" else f"{n} ({r})"
                           for n, r in zip(missing["name"], missing["reason"].fillna(""), strict=True))
        lines.append(f"{_t('not_assessed_list', lang)} {listed}")
    if note:
        lines.append(note)
    figure, body = _framed(10.0, height, "\n".join(lines) or None)
    ratios = [max(len(levels), 1) * 0.36, max(len(peaks), 0) * 0.3 * len(tables) + 0.6]
    if len(peaks):
        top, bottom = body.subplots(2, 1, height_ratios=ratios)
    else:
        top, bottom = body.subplots(), None
    step = 0.7 / max(len(tables), 1)
    _level_panel(top, tables, levels, step, clip, lang)
    if bottom is not None:
        _peak_panel(bottom, tables, peaks, lang)
    handles = [Patch(color=STATUS_COLOURS[s], label=_t(s, lang)) for s in ("met", "missed")]
    handles += [
        Line2D([], [], marker=_MARKERS[i % len(_MARKERS)], color="black", linestyle="none", label=_plain(s))
        for i, s in enumerate(tables)
    ]
    body.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
    _finish(figure, title if title is not None else _t("feasibility", lang))
    return apply_font(figure)


def _level_panel(axes, tables, levels: pd.DataFrame, step: float, clip: float, lang: str) -> None:
    position = {identifier: i for i, identifier in enumerate(levels["id"])}
    for number, table in enumerate(tables.values()):
        offset = (number - (len(tables) - 1) / 2) * step
        marker = _MARKERS[number % len(_MARKERS)]
        for row in table.itertuples(index=False):
            if row.id in position and row.status != "not assessed" and np.isfinite(row.margin_pct):
                _margin_marker(axes, row, position[row.id] + offset, marker, clip)
    axes.axvline(0.0, color="black", linewidth=0.8, zorder=1)
    axes.set_xlim(-clip * 1.1, clip * 1.1)
    axes.set_ylim(len(levels) - 0.5, -0.5)
    wrap = 22 if lang == "zh" else 44
    axes.set_yticks(range(len(levels)), [_plain(textwrap.fill(n, wrap)) for n in levels["name"]], fontsize=8)
    axes.set_xlabel(_t("margin", lang))
    axes.grid(axis="x", alpha=0.3)


def _margin_marker(axes, row, y: float, marker: str, clip: float) -> None:
    colour = STATUS_COLOURS[row.status]
    x = float(np.clip(row.margin_pct, -clip, clip))
    axes.plot([x], [y], marker=marker, color=colour, linestyle="none", markersize=6)
    if x != row.margin_pct:
        axes.annotate(f"{row.margin_pct:+.0f}%", (x, y), xytext=(-4 if x > 0 else 4, 0),
                      textcoords="offset points", fontsize=7, va="center", ha="right" if x > 0 else "left",
                      color=colour)


def _peak_panel(axes, tables, peaks: pd.DataFrame, lang: str) -> None:
    """Peak-year targets at their margin in years (target year - simulated peak year); one line per
    scenario and target, the peak year written beside its marker."""
    labels, y = [], 0
    spread = []
    for _, target in peaks.iterrows():
        for number, (scenario, table) in enumerate(tables.items()):
            row = table[table["id"] == target["id"]]
            if row.empty or row["status"].iloc[0] == "not assessed":
                continue
            row = row.iloc[0]
            colour = STATUS_COLOURS[row["status"]]
            margin = float(row["margin"]) if np.isfinite(row["margin"]) else np.nan
            x = margin if np.isfinite(margin) else 0.0
            spread.append(x)
            face = colour if np.isfinite(margin) else "white"
            axes.plot([x], [y], marker=_MARKERS[number % len(_MARKERS)], markerfacecolor=face,
                      markeredgecolor=colour, linestyle="none", markersize=7)
            said = (_t("peak", lang, year=int(row["simulated"])) if np.isfinite(row["simulated"])
                    else _t("not_peaked", lang))
            axes.annotate(_plain(said), (x, y), xytext=(7, 0), textcoords="offset points", fontsize=7,
                          va="center", color=colour)
            labels.append(f"{target['name']} · {scenario}")
            y += 1
    axes.axvline(0.0, color="black", linewidth=0.8, zorder=1)
    reach = max([abs(v) for v in spread] + [3.0]) + 2.0
    axes.set_xlim(-reach, reach)
    axes.set_ylim(len(labels) - 0.5, -0.5)
    axes.set_yticks(range(len(labels)), [_plain(t) for t in labels], fontsize=8)
    axes.set_xlabel(_t("margin_years", lang))
    axes.set_title(_t("peak_panel", lang), fontsize=9, loc="left")
    axes.grid(axis="x", alpha=0.3)
