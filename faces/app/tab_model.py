"""模型 / Model: the structure as a graph (named loops, stocks and flows, a variable's neighbours) and
every equation with its units, documentation, Chinese and English names and source."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from faces.app import data, export, graph_view, structure, tables
from faces.app.text import tr
from simulator import text
from simulator.text import catalogue

TEXT = catalogue("app.tab_model")
SECTOR_NAMES = {
    "Population": "population",
    "Economy": "economy",
    "Industry": "industry",
    "Water": "water",
    "Energy and carbon": "energy",
}


def _note(element, lang: str) -> str:
    """A model element's note for the table: readable citations; in Chinese its basis and sources only
    (the model's own notes are in English)."""
    if element.kind in ("constant", "time_path"):
        return text.readable_note(element.doc, lang).replace("  \n", " · ")
    if lang == "en":
        return text.readable_note(element.doc, lang).split("  \n", 1)[-1]
    return ";".join(text.citations(element.doc, lang))


def equation_table(lang: str) -> pd.DataFrame:
    """One row per model element: names, kind, units, equation, documentation, basis, range, sector."""
    words, model, lab = TEXT[lang], data.model(), data.labels()
    cols, eqs = words["cols"], structure.equations(model)
    sectors = lab.sectors
    rows = []
    for eid, element in model.elements.items():
        equation, group = eqs.get(eid, ("", ""))
        key = SECTOR_NAMES.get(group)
        low, high, step = element.limits
        rows.append(
            {
                cols["id"]: eid,
                cols["zh"]: words["controls"].get(eid) or structure.display_name(model, lab, eid, "zh"),
                cols["en"]: structure.display_name(model, lab, eid, "en"),
                cols["kind"]: words["kinds"].get(element.kind, element.kind),
                cols["units"]: lab.unit(eid, lang) or text.unit(element.units, lang),
                cols["equation"]: equation,
                cols["doc"]: _note(element, lang),
                cols["basis"]: text.note_basis(element.doc, lang) if element.kind in ("constant", "time_path")
                else "",
                cols["range"]: f"[{low:g}, {high:g}]" if low is not None and high is not None else "",
                cols["sector"]: sectors[key][lang] if key in sectors else words["groups"].get(group, group),
            }
        )
    return pd.DataFrame(rows)


def loop_table(lang: str) -> pd.DataFrame:
    words, lab, model = TEXT[lang], data.labels(), data.model()
    cols = words["cols"]
    return pd.DataFrame(
        [
            {
                cols["loop"]: loop["id"],
                cols["name"]: loop.get(f"name_{lang}", loop["id"]),
                cols["polarity"]: words.get(loop.get("polarity", ""), loop.get("polarity", "")),
                cols["chain"]: " → ".join(
                    structure.display_name(model, lab, v, lang)
                    for v in [*loop["variables"], loop["variables"][0]]
                ),
            }
            for loop in structure.loops()
        ]
    )


def render(lang: str) -> None:
    words, model, lab = TEXT[lang], data.model(), data.labels()
    view = st.radio(
        words["view"],
        list(words["views"]),
        format_func=words["views"].get,
        horizontal=True,
        key="w:model_view",
    )
    loop_ids = [loop["id"] for loop in structure.loops()]
    names = {loop["id"]: f"{loop['id']} {loop.get(f'name_{lang}', '')}" for loop in structure.loops()}
    if view == "near":
        a, b = st.columns([3, 1])
        variables = [k for k, e in model.elements.items() if e.kind != "control"]
        centre = a.selectbox(
            words["centre"],
            variables,
            index=variables.index(lab.views["model_view_centre"]),
            format_func=lambda k: f"{lab.name(k, lang)} ({k})",
            key="w:model_centre",
        )
        depth = b.slider(words["depth"], 1, 3, 1, key="w:model_depth")
        st.caption(words["near_caption"])
        st.graphviz_chart(graph_view.neighbourhood_dot(model, lab, lang, centre, depth), width="stretch")
    else:
        chosen = st.multiselect(
            words["loops"],
            loop_ids,
            default=loop_ids[:2],
            format_func=names.get,
            key="w:model_loops",
            placeholder=tr(lang, "choose"),
        )
        if view == "loops":
            only = st.toggle(words["only"], value=True, key="w:model_only")
            st.caption(words["loops_caption"])
            st.graphviz_chart(graph_view.loops_dot(model, lab, lang, chosen, only), width="stretch")
        else:
            groups = [g for g in SECTOR_NAMES if g in {grp for _, grp in structure.equations(model).values()}]
            picked = st.multiselect(
                words["sectors"],
                groups,
                default=groups[1:2],
                format_func=lambda g: lab.sectors[SECTOR_NAMES[g]][lang],
                key="w:model_sectors",
                placeholder=tr(lang, "choose"),
            )
            st.caption(words["stocks_caption"])
            st.graphviz_chart(
                graph_view.stock_flow_dot(model, lab, lang, set(picked), chosen), width="stretch"
            )
    st.markdown(f"**{words['loop_table']}**")
    tables.show(loop_table(lang), hide_index=True, width="stretch", key="model:loops")
    table = equation_table(lang)
    st.markdown(f"**{words['equations'].format(n=len(table))}**")
    query = st.text_input(words["search"], key="w:model_search")
    shown = table
    if query:
        mask = table.apply(lambda col: col.astype(str).str.contains(query, case=False, regex=False)).any(
            axis=1
        )
        shown = table[mask]
    cols = words["cols"]
    tables.show(
        shown,
        hide_index=True,
        width="stretch",
        height=420,
        key="model:equations",
        column_config={
            cols["equation"]: st.column_config.TextColumn(width="large"),
            cols["doc"]: st.column_config.TextColumn(width="large"),
        },
    )
    a, b = st.columns(2)
    a.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(table, index=False),
        "equations.csv",
        "text/csv",
        on_click="ignore",
        key="model:csv",
    )
    b.download_button(
        words["download_equations"],
        lambda: export.xlsx_bytes({"equations": table, "loops": loop_table(lang)}, index=False),
        "equations.xlsx",
        on_click="ignore",
        key="model:xlsx",
    )
