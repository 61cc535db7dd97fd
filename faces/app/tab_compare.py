"""情景对比 / Compare: two to five scenarios (the current settings among them if wanted) overlaid, with
key values and every target side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from faces.app import charting, data, export, settings
from faces.app.format import readable
from faces.app.tables import show as show_table
from faces.app.text import tr
from faces.app.widgets import indicator_picker
from simulator.targets.assess import compare_targets, key_indicators
from simulator.text import catalogue

TEXT = catalogue("app.tab_compare")


def _label(name: str, lang: str) -> str:
    if name == settings.CURRENT:
        return TEXT[lang]["current"].format(title=settings.current_scenario().title(lang))
    return data.scenario(name).title(lang)


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out.columns = [f"{scenario} · {year}" for scenario, year in out.columns]
    return out


def render(lang: str) -> None:
    words = TEXT[lang]
    options = [settings.CURRENT, *data.scenario_names()]
    st.session_state["compare"] = [n for n in st.session_state["compare"] if n in options][:5]
    st.multiselect(
        words["pick"],
        options,
        format_func=lambda n: _label(n, lang),
        max_selections=5,
        placeholder=tr(lang, "choose"),
        **settings.bind("w:compare", "compare"),
    )
    chosen = st.session_state["compare"]
    if settings.CURRENT not in chosen:
        st.info(words["saved_only"].format(current=_label(settings.CURRENT, lang)))
    if len(chosen) < 2:
        st.info(words["need_two"])
        return
    results = {}
    for name in chosen:
        if name == settings.CURRENT:
            results[_label(name, lang)] = settings.current_run()
        else:
            results[_label(name, lang)] = data.run(data.scenario(name), {})
    frames = {label: data.indicators(result) for label, result in results.items()}
    indicators = indicator_picker(words["indicators"], next(iter(frames.values())), lang, "w:indicators_compare")
    if indicators:
        charting.line_grid(frames, indicators, lang, key="compare")
    lab = data.labels()
    values = _flat(key_indicators(results, lab, lang))
    tables = {}
    for label, name in zip(results, chosen, strict=True):
        scen = settings.current_scenario() if name == settings.CURRENT else data.scenario(name)
        tables[label] = data.target_table(scen, settings.edits() if name == settings.CURRENT else {}, lang)
    side_by_side = compare_targets(tables, lang)
    st.markdown(f"**{words['values']}**")
    units = [lab.unit(lab.indicators[i], lang) for i in lab.views.get("key_indicators", list(lab.indicators))
             if lab.indicators.get(i) in results[next(iter(results))].frame]
    show_table(readable(values, row_units=units if len(units) == len(values) else None), width="stretch",
                 key="compare:values")
    st.markdown(f"**{words['targets']}**")
    unit_col = side_by_side.columns[4]
    side_by_side[unit_col] = [charting.target_unit(u, "", lang) for u in side_by_side[unit_col]]
    show_table(readable(side_by_side, row_units=side_by_side[unit_col], years=[side_by_side.columns[2]]),
                 hide_index=True, width="stretch", key="compare:targets")
    stem = "_".join(n.strip("_") for n in chosen)
    a, b, c, d = st.columns(4)
    a.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(side_by_side, index=False),
        f"compare_{stem}.csv",
        "text/csv",
        on_click="ignore",
        key="compare:csv",
    )
    b.download_button(
        words["download_tables"],
        lambda: export.xlsx_bytes({"indicators": values, "targets": side_by_side}),
        f"compare_{stem}.xlsx",
        on_click="ignore",
        key="compare:xlsx",
    )
    c.download_button(
        words["download_png"],
        lambda: export.trajectories_png(frames, indicators or options[:6], lang),
        f"compare_{stem}.png",
        "image/png",
        on_click="ignore",
        key="compare:png",
    )
    d.download_button(
        words["download_feasibility"],
        lambda: export.feasibility_png(tables, lang),
        f"compare_targets_{stem}.png",
        "image/png",
        on_click="ignore",
        key="compare:feasibility",
    )
