"""The app's first page: scenario picker, levers by sector, key trajectories of the five sectors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

KEY_INDICATORS = ["gdp_real", "population", "water_use_total", "co2_emissions", "industrial_value_added"]

TEXT = {
    "zh": {
        "title": "济南市“十四五”规划与2035远景 情景模拟",
        "scenario": "情景",
        "levers": "政策杠杆",
        "reset": "恢复情景默认值",
        "trajectories": "关键指标轨迹",
        "table": "数据表",
        "download": "下载CSV",
    },
    "en": {
        "title": "Jinan 14th Five-Year Plan and 2035 vision — scenario simulator",
        "scenario": "Scenario",
        "levers": "Policy levers",
        "reset": "Reset to the scenario's values",
        "trajectories": "Key trajectories",
        "table": "Data table",
        "download": "Download CSV",
    },
}


def render(st, simulator) -> None:
    """Draw the page with Streamlit module ``st`` using library ``simulator``."""
    lang = st.sidebar.radio("语言 / Language", ["zh", "en"], format_func={"zh": "中文", "en": "English"}.get)
    text = TEXT[lang]
    st.title(text["title"])
    model = simulator.load()
    labels = simulator.labels()
    names = simulator.list_scenarios()
    chosen = st.sidebar.selectbox(text["scenario"], names, index=names.index("baseline"))
    scen = simulator.scenario(chosen, model)
    st.sidebar.caption(scen.descriptions.get(lang, ""))
    overrides = {}
    st.sidebar.header(text["levers"])
    for key, sector in labels.sectors.items():
        with st.sidebar.expander(sector[lang]):
            for lever in sector["levers"]:
                element = model.elements[lever]
                if element.kind != "constant":
                    continue
                low, high, step = element.limits
                default = float(scen.overrides.get(lever, element.default))
                value = st.slider(
                    f"{labels.name(lever, lang)} ({labels.unit(lever, lang)})",
                    min_value=low,
                    max_value=high,
                    value=default,
                    step=step or (high - low) / 100,
                    key=f"{chosen}:{key}:{lever}",
                    help=element.doc,
                )
                if value != default:
                    overrides[lever] = value
    result = simulator.run(scen, overrides=overrides)
    table = result.indicators(labels.indicators)
    st.subheader(text["trajectories"])
    columns = st.columns(len(KEY_INDICATORS))
    for column, indicator in zip(columns, KEY_INDICATORS, strict=True):
        variable = labels.indicators[indicator]
        with column:
            st.markdown(f"**{labels.label(variable, lang)}**")
            st.line_chart(table[indicator], height=220)
    with st.expander(text["table"]):
        shown = table.copy()
        shown.columns = [labels.label(labels.indicators[c], lang) for c in shown.columns]
        st.dataframe(shown.round(2))
        st.download_button(text["download"], shown.to_csv().encode("utf-8-sig"), file_name=f"{chosen}.csv")
