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
from faces.app import data, decision_discovery, decision_wedges, settings
from faces.app.format import num
from faces.app.text import tr

TEXT = {
    "zh": {
        "coming": "决策支持功能即将推出:所需的库模块 {modules} 尚未提供。",
        "parts": {"seek": "目标反推", "wedges": "杠杆贡献(楔形图)", "discover": "情景发现"},
        "part": "分析",
        "seek_intro": "从当前设置出发,寻找使所选目标达标的最小杠杆调整(按各杠杆取值范围归一化的距离)。",
        "targets": "要达到的目标",
        "levers": "可调整的杠杆(留空 = 全部政策杠杆)",
        "all_levers": "全部政策杠杆",
        "use_p": "按概率要求(对不确定输入抽样)",
        "p": "达标概率至少",
        "n": "样本数",
        "norm": "距离",
        "norms": {"l2": "平方和(多个杠杆小幅调整)", "l1": "绝对值和(调整尽量少的杠杆)"},
        "run": "开始反推",
        "running": "正在反推……",
        "stale": "以下结果对应之前的设置。",
        "already": "当前设置已达到所选全部目标,无需调整。",
        "feasible": "调整 {k} 个杠杆即可达到所选目标(用时 {s:.1f} 秒,{runs} 次模拟):",
        "unreachable": "在杠杆取值范围内无法达到全部所选目标;下面是最接近的可达点。达不到的目标:{ids}",
        "apply": "把调整应用到滑块",
        "applied": "已应用:左侧滑块和各页结果已按反推结果更新。",
        "download": "下载反推结果(情景TOML)",
        "cols": {
            "lever": "杠杆",
            "from": "起点",
            "to": "调整后",
            "unit": "单位",
            "change": "变化(占取值范围%)",
            "history": "也改变2015–2020年模拟",
            "target": "目标",
            "before": "余量(起点)",
            "after": "余量(调整后)",
            "p_before": "达标概率(起点)",
            "p_after": "达标概率(调整后)",
            "binds": "约束为紧",
        },
        "path_note": "时间路径杠杆以2025年的值表示:2020年起线性过渡到新值,此后保持路径形状。",
    },
    "en": {
        "coming": "Decision support is coming: the library modules {modules} are not there yet.",
        "parts": {
            "seek": "Goal seeking",
            "wedges": "Lever contributions (wedges)",
            "discover": "Scenario discovery",
        },
        "part": "Analysis",
        "seek_intro": "From the current settings, the smallest change to the levers (distance in each "
        "lever's range) that meets the chosen targets.",
        "targets": "Targets to meet",
        "levers": "Levers that may move (empty = every policy lever)",
        "all_levers": "every policy lever",
        "use_p": "With a probability (sampling the uncertain inputs)",
        "p": "Probability at least",
        "n": "Samples",
        "norm": "Distance",
        "norms": {"l2": "sum of squares (many small moves)", "l1": "sum of absolute values (fewest levers)"},
        "run": "Seek",
        "running": "Seeking…",
        "stale": "These results are for earlier settings.",
        "already": "The current settings already meet every chosen target: nothing to change.",
        "feasible": "Met by moving {k} levers ({s:.1f} s, {runs} runs):",
        "unreachable": "No setting within the levers' ranges meets every chosen target; below is the closest "
        "reachable point. Out of reach: {ids}",
        "apply": "Apply these changes to the sliders",
        "applied": "Applied: the sliders and every tab now show the goal-seeking answer.",
        "download": "Download the answer (scenario TOML)",
        "cols": {
            "lever": "lever",
            "from": "from",
            "to": "to",
            "unit": "unit",
            "change": "change (% of range)",
            "history": "also changes 2015–2020",
            "target": "target",
            "before": "margin before",
            "after": "margin after",
            "p_before": "probability before",
            "p_after": "probability after",
            "binds": "binds",
        },
        "path_note": "A time-path lever is shown by its 2025 value: the change ramps in linearly from 2020.",
    },
}
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
        use_p = a.toggle(words["use_p"], key="w:gs_use_p")
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
    st.dataframe(
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
    st.dataframe(
        pd.DataFrame(
            {
                cols["target"]: targets[name],
                cols["before"]: targets["margin_before"].round(4),
                cols["after"]: targets["margin_after"].round(4),
                cols["p_before"]: (100 * targets["probability_before"]).round(1),
                cols["p_after"]: (100 * targets["probability_after"]).round(1),
                cols["binds"]: targets["binds"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="gs:targets",
    )
