"""The wedge chart of the What-it-takes tab: each lever's part of the difference between the current
settings and another scenario in a target's indicator (``simulator.attribution``, Shapley values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import simulator
from faces.app import data, export, settings, tables, vega
from faces.app.format import num
from faces.app.text import tr, with_note
from faces.app.widgets import target_picker
from simulator.text import catalogue

TEXT = catalogue("app.decision_wedges")


@st.cache_data(show_spinner=False, max_entries=64)
def _attribute(key: str, target_id: str, against: str, _scen):
    from simulator.analysis.attribution import attribute

    return attribute(
        _scen, target_id, against=data.scenario(against), model=data.model(), targets=data.targets()
    )


def _player(player: str, result, lang: str) -> str:
    from simulator.plots.decisions import player_name

    return player_name(player, result, data.labels(), lang)


def wedges(lang: str) -> None:
    words = TEXT[lang]
    st.caption(words["wedge_intro"])
    lab = data.labels()
    targets = [t for t in data.targets() if t.indicator in lab.indicators]
    names = {t.id: with_note(t.name(lang), t.year, lang) for t in targets}
    a, b = st.columns(2)
    target_id = target_picker(a, words["target"], names, "w:wedge_target")
    against = b.selectbox(
        words["against"],
        data.scenario_names(),
        format_func=lambda n: data.scenario(n).title(lang),
        key="w:wedge_against",
    )
    try:
        result = _attribute(settings.fingerprint(), target_id, against, settings.runnable_scenario())
    except simulator.UserError:
        st.info(words["same"])
        return
    if result.grouped:
        st.caption(words["grouped"])
    spec, order = _wedge_spec(result, lang)
    vega.show(spec, words["chart"].format(target=result.target.name(lang)), "decision:wedges", height=420, width=90)
    year = st.select_slider(
        words["year"], list(result.parts.index), value=int(result.target.year), key="w:wedge_year"
    )
    table = result.table(year)
    unit = lab.unit(result.variable, lang) or result.unit
    if len(table):
        top = table.iloc[0]
        share = f"{top['share_pct']:.0f}%" if np.isfinite(top["share_pct"]) else "—"
        st.markdown(
            words["most"].format(
                year=year,
                name=_player(top["player"], result, lang),
                value=num(top["contribution"]),
                unit=unit,
                share=share,
            )
        )
    shown = pd.DataFrame(
        {
            words["player"]: [_player(p, result, lang) for p in table["player"]],
            f"{words['contribution']} ({unit})": table["contribution"].round(4),
            words["share"]: table["share_pct"].round(1),
        }
    )
    tables.show(shown, hide_index=True, width="stretch", key="decision:wedge_table")
    c, d = st.columns(2)
    c.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(result.parts),
        f"wedges_{target_id}.csv",
        "text/csv",
        on_click="ignore",
        key="decision:wedge_csv",
    )
    d.download_button(
        words["png"],
        lambda: _wedge_png(result, lang),
        f"wedges_{target_id}.png",
        "image/png",
        on_click="ignore",
        key="decision:wedge_png",
    )


def _wedge_png(result, lang: str) -> bytes:
    from simulator.plots.decisions import wedge_chart

    return export.png_bytes(wedge_chart(result, data.labels(), lang=lang))


def _wedge_spec(result, lang: str) -> tuple[dict, list[str]]:
    """Stacked wedges from the compared scenario's line to the current one, and the two lines."""
    words, lab = TEXT[lang], data.labels()
    parts, levels = result.parts, result.levels
    order = [p for p in parts.iloc[-1].abs().sort_values(ascending=False).index if np.abs(parts[p]).max() > 0]
    lower = levels["against"].to_numpy(float).copy()
    rows = []
    for player in order:
        upper = lower + parts[player].to_numpy(float)
        name = _player(player, result, lang)
        rows += [
            {"year": int(y), "low": lo, "high": hi, "series": name}
            for y, lo, hi in zip(parts.index, lower, upper, strict=True)
        ]
        lower = upper
    against = result.against.title(lang)
    lines = [
        {"year": int(y), "value": float(v), "series": against, "dash": "dashed"}
        for y, v in levels["against"].items()
    ]
    lines += [
        {"year": int(y), "value": float(v), "series": words["current"], "dash": "solid"}
        for y, v in levels["scenario"].items()
    ]
    title = [lab.name(result.variable, lang), f"({lab.unit(result.variable, lang) or result.unit})"]
    names = [_player(p, result, lang) for p in order]
    domain = [*names, against, words["current"]]
    colours = [vega.PALETTE[i % len(vega.PALETTE)] for i in range(len(names))] + ["#000000", "#000000"]
    colour = {
        "type": "nominal",
        "title": None,
        "sort": None,
        "scale": {"domain": domain, "range": colours},
        "legend": {"orient": "right", "labelLimit": 260},
    }
    spec = {
        "height": "container",
        "layer": [
            {
                "data": {"values": vega.records(pd.DataFrame(rows))},
                "mark": {"type": "area", "opacity": 0.75},
                "encoding": {
                    "x": {
                        "field": "year",
                        "type": "quantitative",
                        "title": tr(lang, "year"),
                        "axis": vega.YEAR_AXIS,
                    },
                    "y": {"field": "low", "type": "quantitative", "title": title, "scale": {"zero": False}},
                    "y2": {"field": "high"},
                    "color": {"field": "series", **colour},
                    "tooltip": [{"field": "series"}, {"field": "year"}],
                },
            },
            {
                "data": {"values": lines},
                "mark": {"type": "line", "strokeWidth": 2},
                "encoding": {
                    "x": {"field": "year", "type": "quantitative"},
                    "y": {"field": "value", "type": "quantitative"},
                    "color": {"field": "series"},
                    "strokeDash": {
                        "field": "dash",
                        "type": "nominal",
                        "legend": None,
                        "scale": {"domain": ["solid", "dashed"], "range": [[1, 0], [6, 4]]},
                    },
                },
            },
        ],
    }
    return spec, order
