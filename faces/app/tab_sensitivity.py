"""敏感性 / Sensitivity: for a chosen target, which policy levers and which uncertain inputs move it most
(tornado charts, fast), and Sobol indices of the uncertain inputs on request."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from faces.app import charting, data, export, scenario_files, settings, sweep, tables, vega, vega_bars
from faces.app.format import num
from faces.app.text import tr
from simulator.text import catalogue

TEXT = catalogue("app.tab_sensitivity")


@st.cache_data(show_spinner=False, max_entries=128)
def _levers(key: str, target_id: str, share: float | None, _scen, _base: dict) -> pd.DataFrame:
    from simulator.analysis.levers import default_levers

    lab, model = data.labels(), data.model()
    # policy levers only (labels' [policy]): shocks and assumptions are uncertainties, not levers
    levers = default_levers(model, lab.sectors, (), lab.policy)
    target = next(t for t in data.targets() if t.id == target_id)
    return sweep.lever_sweep(model, _scen, levers, target, lab, _base, share)


@st.cache_data(show_spinner=False, max_entries=128)
def _inputs(toml_text: str, target_id: str) -> pd.DataFrame:
    from simulator.analysis.sensitivity import tornado

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "app_settings.toml"
        path.write_text(toml_text, encoding="utf-8")
        return tornado(str(path), target_id)


def higher_is_better(target_id: str) -> bool:
    """Whether a larger simulated value helps the target (its margin grows with the value)."""
    target = next(t for t in data.targets() if t.id == target_id)
    return bool(target.margin(1.0) > target.margin(0.0))


def _x_title(target_id: str, unit: str, lang: str) -> str:
    """The tornado's value axis: the unit and which way is better for the target (its margin's sign)."""
    words = TEXT[lang]
    return f"{words['x'].format(unit=unit)} · {words['better_right' if higher_is_better(target_id) else 'better_left']}"


def _bars(table: pd.DataFrame, key: str, lang: str, unit: str) -> pd.DataFrame:
    words, lab = TEXT[lang], data.labels()
    rows = []
    for row in table.itertuples():
        name = lab.name(getattr(row, key), lang)
        rows.append(
            {
                "name": name,
                "which": words["low"],
                "delta": row.output_low - row.base,
                "input_value": row.low_value,
            }
        )
        rows.append(
            {
                "name": name,
                "which": words["high"],
                "delta": row.output_high - row.base,
                "input_value": row.high_value,
            }
        )
    return pd.DataFrame(rows)


def _readable(table: pd.DataFrame, key: str, lang: str) -> pd.DataFrame:
    cols, lab = TEXT[lang]["cols"], data.labels()
    return pd.DataFrame(
        {
            cols["name"]: [f"{lab.name(k, lang)} ({k})" for k in table[key]],
            cols["low"]: table["low_value"],
            cols["high"]: table["high_value"],
            cols["out_low"]: table["output_low"].round(4),
            cols["out_high"]: table["output_high"].round(4),
            cols["swing"]: table["swing"].round(4),
        }
    )


def render(lang: str) -> None:
    words = TEXT[lang]
    assessed = data.assessed_targets(settings.current_scenario(), settings.edits(), lang)
    if not assessed:
        st.info(words["none"])
        return
    ids = list(assessed)
    names = {i: name for i, (name, _, _) in assessed.items()}
    units = {
        i: charting.target_unit(unit, next(t.indicator for t in data.targets() if t.id == i), lang)
        for i, (_, unit, _) in assessed.items()
    }
    preferred = data.labels().views.get("sensitivity_target", data.labels().views.get("headline_target"))
    default = ids.index(preferred) if preferred in ids else 0
    target_id = st.selectbox(words["target"], ids, index=default, format_func=names.get, key="w:sens_target")
    unit = units[target_id]
    view = st.radio(
        words["view"],
        ["levers", "inputs"],
        format_func=words["views"].get,
        horizontal=True,
        key="w:sens_view",
    )
    if view == "inputs":
        _uncertain(target_id, names[target_id], unit, lang)
        return
    span = st.radio(
        words["span"],
        list(words["spans"]),
        format_func=words["spans"].get,
        horizontal=True,
        key="w:sens_span",
    )
    share = None if span == "full" else float(span)
    base = {**data.base_values(settings.current_scenario()), **settings.edits()}
    levers = _levers(settings.fingerprint(), target_id, share, settings.runnable_scenario(), base)
    st.caption(words["levers_caption"])
    ranked = levers[levers["swing"].abs() > 0]
    if len(ranked) >= 2:
        lab = data.labels()
        st.markdown(
            words["top_two"].format(
                target=names[target_id],
                a=lab.name(ranked["lever"].iloc[0], lang),
                b=lab.name(ranked["lever"].iloc[1], lang),
                base=num(levers["base"].iloc[0]),
                unit=unit,
            )
        )
    top = levers.head(15)
    vega.show(
        vega_bars.signed_bars(_bars(top, "lever", lang, unit), _x_title(target_id, unit, lang), words["y"]),
        words["tornado_levers"].format(target=names[target_id], span=words["spans"][span]), "sens:levers",
        height=None, width=90,
    )
    lever_table = _readable(levers, "lever", lang)
    with st.expander(words["swing_table"]):
        tables.show(lever_table, hide_index=True, width="stretch")
    _downloads(
        lever_table, top.rename(columns={"lever": "input"}), names[target_id], f"levers_{target_id}", lang,
        target_id, unit,
    )


def _uncertain(target_id: str, name: str, unit: str, lang: str) -> None:
    words = TEXT[lang]
    try:
        import simulator.analysis.sensitivity  # noqa: F401
    except ImportError:
        st.info(tr(lang, "unavailable", module="simulator.analysis.sensitivity"))
        return
    st.caption(words["inputs"])
    toml_text = scenario_files.settings_toml()
    inputs = _inputs(toml_text, target_id)
    vega.show(
        vega_bars.signed_bars(
            _bars(inputs.head(15), "input", lang, unit), _x_title(target_id, unit, lang), words["y"]
        ),
        words["tornado_inputs"].format(target=name), "sens:inputs", height=None, width=90,
    )
    input_table = _readable(inputs, "input", lang)
    with st.expander(words["swing_table"] + " "):
        tables.show(input_table, hide_index=True, width="stretch")
    _downloads(input_table, inputs.head(15), name, f"inputs_{target_id}", lang, target_id, unit)
    st.subheader(words["sobol"])
    st.caption(words["sobol_caption"])
    with st.form("w:sobol_form"):
        a, b = st.columns(2)
        n = a.select_slider(
            words["sobol_n"], [64, 128, 256, 512, 1024, 2048, 4096], value=256, key="w:sobol_n"
        )
        seed = b.number_input(words["sobol_seed"], min_value=0, value=0, step=1, key="w:sobol_seed")
        go = st.form_submit_button(words["sobol_run"])
    stamp = (toml_text, target_id)
    if go:
        from simulator.analysis.sensitivity import sobol

        with tempfile.TemporaryDirectory() as folder, st.spinner("…"):
            path = Path(folder) / "app_settings.toml"
            path.write_text(toml_text, encoding="utf-8")
            st.session_state["sobol"] = {
                "stamp": stamp,
                "table": sobol(str(path), int(n), [target_id], int(seed)),
            }
    last = st.session_state.get("sobol")
    if not last:
        return
    if last["stamp"] != stamp:
        st.warning(words["sobol_stale"])
    lab = data.labels()
    rows = []
    for row in last["table"].itertuples():
        for index in ("S1", "ST"):
            rows.append(
                {
                    "name": lab.name(row.input, lang),
                    "index": index,
                    "value": getattr(row, index),
                    "low": getattr(row, f"{index}_low"),
                    "high": getattr(row, f"{index}_high"),
                }
            )
    vega.show(vega_bars.grouped_bars(pd.DataFrame(rows), words["sobol_x"], ""), words["sobol"], "sens:sobol",
              height=None, width=90)
    st.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(last["table"], index=False),
        "sobol.csv",
        "text/csv",
        on_click="ignore",
        key="sens:sobol_csv",
    )


def _downloads(table: pd.DataFrame, raw: pd.DataFrame, name: str, stem: str, lang: str, target_id: str,
               unit: str) -> None:
    from simulator.plots.ensembles import tornado_chart

    a, b = st.columns(2)
    a.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(table, index=False),
        f"tornado_{stem}.csv",
        "text/csv",
        on_click="ignore",
        key=f"sens:{stem}:csv",
    )
    b.download_button(
        TEXT[lang]["download_png"],
        lambda: export.png_bytes(tornado_chart(raw, data.labels(), name, lang=lang,
                                               higher_is_better=higher_is_better(target_id), unit=unit)),
        f"tornado_{stem}.png",
        "image/png",
        on_click="ignore",
        key=f"sens:{stem}:png",
    )
