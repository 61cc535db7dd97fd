"""决策支持 / What it takes: goal seeking for chosen targets (the smallest lever change that meets them,
applied to the sliders with one click), each lever's contribution (wedges), and scenario-discovery boxes in
plain sentences. Drawn from the library's simulator.goalseek, simulator.attribution, simulator.discovery."""

from __future__ import annotations

import dataclasses
import importlib.util
import time

import pandas as pd
import streamlit as st

import simulator
from faces.app import charting, data, decision_discovery, decision_wedges, settings, tables
from faces.app.format import num, readable
from faces.app.text import tr
from simulator.text import catalogue

TEXT = catalogue("app.tab_decision")
MODULES = ("simulator.analysis.goalseek", "simulator.analysis.attribution", "simulator.analysis.discovery")


def render(lang: str) -> None:
    words = TEXT[lang]
    missing = [m for m in MODULES if importlib.util.find_spec(m) is None]
    if missing:
        st.info(words["coming"].format(modules=", ".join(missing)))
        return
    part = st.radio(
        words["part"], list(words["parts"]), format_func=words["parts"].get, horizontal=True, key="w:decision"
    )
    if part == "seek":
        goal_seeking(lang)
    elif part == "wedges":
        decision_wedges.wedges(lang)
    else:
        decision_discovery.discovery(lang)


def apply(overrides: dict) -> None:
    """Callback: put the goal-seeking answer on the sliders (as edits of the current scenario)."""
    for lever, value in overrides.items():
        settings.set_edit(lever, value)
    st.session_state["goalseek_applied"] = True
    settings.rerun_lever_parts()  # the button sits in the tab's fragment: the sidebar and headline follow too


def goal_seeking(lang: str) -> None:
    from simulator.analysis.goalseek import goal_seek

    words = TEXT[lang]
    st.caption(words["seek_intro"])
    assessed = data.assessed_targets(settings.current_scenario(), settings.edits(), lang)
    names = {i: name for i, (name, _, _) in assessed.items()}
    missed = [i for i, (_, _, met) in assessed.items() if not met]
    lab, model = data.labels(), data.model()
    policy = [lv for s in lab.sectors.values() for lv in s["levers"] if lv in model.levers]
    with st.form("w:goalseek_form"):
        chosen = st.multiselect(
            words["targets"],
            list(names),
            default=missed[:1],
            format_func=names.get,
            key="w:gs_targets",
            placeholder=tr(lang, "choose"),
        )
        levers = st.multiselect(
            words["levers"],
            policy,
            format_func=lambda k: lab.name(k, lang),
            key="w:gs_levers",
            placeholder=words["all_levers"],
        )
        a, b, c = st.columns(3)
        use_p = a.toggle(words["use_p"], key="w:gs_use_p", help=words["use_p_help"])
        p = b.slider(words["p"], 0.5, 0.95, 0.8, 0.05, key="w:gs_p")
        n = c.select_slider(words["n"], [50, 100, 200, 500], value=100, key="w:gs_n")
        norm = st.radio(
            words["norm"], ["l2", "l1"], format_func=words["norms"].get, horizontal=True, key="w:gs_norm"
        )
        go = st.form_submit_button(words["run"], type="primary")
    if go and chosen:
        start = time.perf_counter()
        try:
            with st.spinner(words["running"]):
                result = goal_seek(
                    settings.runnable_scenario(),
                    chosen,
                    levers=levers or None,
                    p=p if use_p else None,
                    n=int(n),
                    norm=norm,
                    model=model,
                    targets=data.targets(),
                )
        except simulator.UserError as exc:
            st.error(str(exc))
            return
        # A start with slider edits (or an uploaded file) has no file of its own to extend.
        standalone = bool(settings.edits()) or st.session_state["scenario"].startswith(settings.UPLOAD_PREFIX)
        st.session_state["goalseek"] = {
            "standalone": standalone,
            "fingerprint": settings.fingerprint(),
            "result": result,
            "seconds": time.perf_counter() - start,
        }
        st.session_state["goalseek_applied"] = False
    last = st.session_state.get("goalseek")
    if not last:
        return
    if st.session_state.get("goalseek_applied"):
        st.success(words["applied"])
    elif last["fingerprint"] != settings.fingerprint():
        st.warning(words["stale"])
    show(last["result"], last["seconds"], lang)
    result = last["result"]
    if result.overrides and not st.session_state.get("goalseek_applied"):
        st.button(words["apply"], on_click=apply, args=(result.overrides,), type="primary", key="w:gs_apply")
    # The answer then copies the start's levers in whole instead of extending a file.
    start = dataclasses.replace(result.start, path=None) if last["standalone"] else result.start
    answer = dataclasses.replace(result, start=start)
    st.download_button(
        words["download"],
        lambda: answer_toml(answer).encode("utf-8"),
        "goalseek.toml",
        "application/toml",
        on_click="ignore",
        key="w:gs_download",
    )


def answer_toml(result) -> str:
    """The goal-seeking answer as a scenario file (the library's one scenario writer)."""
    from simulator.analysis.answer import scenario_text

    return scenario_text(result)


def show(result, seconds: float, lang: str) -> None:
    words, cols, lab, model = TEXT[lang], TEXT[lang]["cols"], data.labels(), data.model()
    moved = result.levers[result.levers["change_pct"].abs() > 1e-9]
    if result.already_met:
        st.info(words["already"])
        return
    if result.feasible:
        st.markdown(words["feasible"].format(k=len(moved), s=seconds, runs=result.settings.get("runs", "?")))
    else:
        out = result.targets.loc[result.targets["out_of_reach"], "id"]
        st.warning(words["unreachable"].format(ids=", ".join(out)))
    tables.show(
        pd.DataFrame(
            {
                cols["lever"]: [lab.name(k, lang) for k in moved["lever"]],
                cols["from"]: [num(v) for v in moved["from"]],
                cols["to"]: [num(v) for v in moved["to"]],
                cols["unit"]: [lab.unit(k, lang) or model.elements[k].units for k in moved["lever"]],
                cols["change"]: moved["change_pct"].round(2),
                cols["history"]: moved["changes_history"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="gs:levers",
    )
    if (moved["kind"] == "time_path").any():
        st.caption(words["path_note"])
    name = "name_en" if lang == "en" else "name_zh"
    targets = result.targets
    table = pd.DataFrame(
        {
            cols["target"]: targets[name],
            cols["before"]: targets["margin_before"].astype(float),
            cols["after"]: targets["margin_after"].astype(float),
            # a solution on the boundary (margin 0.001) meets the target: said so, with its margin
            cols["status_after"]: [tr(lang, "met") if m >= 0 else tr(lang, "missed")
                                   for m in targets["margin_after"].astype(float)],
            cols["unit"]: [charting.target_unit(u, "", lang) for u in targets.get("unit", [""] * len(targets))],
        }
    )
    # probabilities only when they were asked for (the probability switch)
    if targets["probability_after"].notna().any():
        table[cols["p_before"]] = (100 * targets["probability_before"]).round(1)
        table[cols["p_after"]] = (100 * targets["probability_after"]).round(1)
    table[cols["binds"]] = targets["binds"].map(lambda b: TEXT[lang]["yes" if b else "no"])
    tables.show(
        readable(table, row_units=table[cols["unit"]]),
        hide_index=True,
        width="stretch",
        key="gs:targets",
    )
