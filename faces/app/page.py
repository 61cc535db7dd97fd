"""The page: settings from the URL, the sidebar, headline numbers, and the tabs (only the open one runs)."""

from __future__ import annotations

import gc
import importlib
import time

import numpy as np
import streamlit as st

import simulator
from faces.app import data, settings, sidebar
from faces.app.format import num
from faces.app.messages import url_problem
from faces.app.text import TABS, tab_label, tr, with_note
from simulator.targets import NO_PEAK, NOT_YET_PEAKED, peak_years

# (no matplotlib here: the PNG downloads draw on the Agg canvas of simulator.plots, without pyplot, and
# importing it would put ~0.3 s on the cold first page before the headline numbers)


def _peak(frame) -> str | None:
    indicator = data.labels().views["peak_indicator"]
    peak = peak_years(frame[indicator].to_numpy(float), np.asarray(frame.index, int))[0]
    return None if peak in (NOT_YET_PEAKED, NO_PEAK) else str(int(peak))


def _shown(delta: str | None) -> str | None:
    """No arrow for a change that rounds to nothing."""
    return None if delta is None or not delta.strip("+-0.%") else delta


def headline(lang: str) -> None:
    """Six numbers that move with every slider, with the change from the scenario's own values."""
    scen, edits = settings.current_scenario(), settings.edits()
    lab = data.labels()
    now = data.indicators(settings.current_run())
    was = data.indicators(data.run(scen, {})) if edits else None
    table = data.outcomes(scen, edits)
    old = data.outcomes(scen, {}) if edits else None

    def unit(indicator: str) -> str:
        return lab.unit(lab.indicators[indicator], lang)

    def level(column, indicator: str, key: str) -> None:
        value = now.loc[2025, indicator]
        delta = None if was is None else f"{100 * (value / was.loc[2025, indicator] - 1):+.2f}%"
        column.metric(
            with_note(tr(lang, key), unit(indicator), lang),
            num(value),
            _shown(delta),
            delta_color="off",
            help=tr(lang, key.replace("metric", "help")),
        )

    # two rows of three: the longest label with its unit ("2025年用水(亿立方米)") fits from 1280 px up
    cols = [*st.columns(3), *st.columns(3)]
    # which indicators the headline shows is set in models/labels.toml ([views])
    for column, indicator, key in zip(cols[:3], lab.views["headline_indicators"],
                                      ("metric_gdp", "metric_pop", "metric_water"), strict=True):
        level(column, indicator, key)
    peak, old_peak = _peak(now), None if was is None else _peak(was)
    cols[3].metric(
        tr(lang, "metric_peak"),
        peak or tr(lang, "not_peaked"),
        *_peak_delta(peak, old_peak, was is not None, lang),
        help=tr(lang, "help_peak"),
    )
    key = f"{lab.views['headline_target']}:value"
    energy = table.get(key, np.nan)
    delta = None if old is None or key not in old else f"{energy - old[key]:+.2f}"
    cols[4].metric(
        f"{tr(lang, 'metric_energy')}(%)",
        num(energy),
        _shown(delta),
        delta_color="inverse",
        help=tr(lang, "help_energy"),
    )
    met, assessed = _count(table)
    delta = None
    if old is not None and _count(old)[0] != met:
        delta = f"{met - _count(old)[0]:+d}"
    cols[5].metric(tr(lang, "metric_targets"), f"{met} / {assessed}", delta, help=tr(lang, "help_targets"))


def _peak_delta(peak: str | None, old: str | None, edited: bool, lang: str) -> tuple[str | None, str]:
    """The peak year's change as words and a colour: an earlier peak is an improvement (green), a later
    one or none any more a worsening (red)."""
    if not edited or peak == old:
        return None, "off"
    if peak and old:
        years = int(peak) - int(old)
        key = "peak_earlier" if years < 0 else "peak_later"
        return f"{years:+d} {tr(lang, key, n=abs(years))}", "inverse"
    # peaking now where it did not (an improvement), or no longer peaking (a worsening)
    return (f"-{tr(lang, 'peak_now')}", "inverse") if peak else (f"+{tr(lang, 'peak_lost')}", "inverse")


def _count(outcomes: dict) -> tuple[int, int]:
    """(targets met, targets assessed) from :func:`data.outcomes`."""
    flags = [v for k, v in outcomes.items() if ":" not in k and v >= 0]
    return int(sum(v == 1 for v in flags)), len(flags)


_FROZEN: list = []  # whether gc.freeze() ran in this process
#: Seconds the first run of a session waits after drawing the headline (see :func:`render`).
HEADLINE_PAUSE = 0.25


def main() -> None:
    """The app's entry point (``app.py``): page setup, then :func:`render`."""
    st.set_page_config(
        page_title="济南“十四五”情景模拟 / Jinan 14th-FYP simulator", page_icon="📈", layout="wide"
    )
    # a lever never seen before is a new compiled kernel (seconds of gcc): answer on the numpy backend
    # (same numbers) while it compiles, rather than hold up the slider
    simulator.compile_in_background()
    render()
    if not _FROZEN:
        # what the first page loaded (the parsed model, its plans, pandas, pysd) lives as long as the
        # server: moved out of the collector's generations once, so that a full collection, which Python
        # starts by itself now and then, does not walk it during a slider move (~150 ms with this heap;
        # see .streamlit/config.toml). Once only: a later freeze would also keep any cyclic garbage.
        gc.freeze()
        _FROZEN.append(True)


def render() -> None:
    """Draw the whole page; the script's own run time is kept in ``st.session_state["run_seconds"]``.

    The headline comes first (the numbers a first visit waits for), then the sidebar and the open tab.
    The parts that depend on the levers are fragments (:data:`settings.LEVER_FRAGMENTS`): a lever move
    reruns those alone, so the browser redraws neither the title, the tab bar nor the rest of the sidebar.
    """
    start = time.perf_counter()
    settings.init()
    lang = st.session_state["lang"]
    st.title(tr(lang, "title"))
    for problem in st.session_state.pop("url_warnings", []):
        st.warning(tr(lang, "url_ignored", error=url_problem(problem, lang, lambda n: data.scenario(n).title(lang))))
    _headline()
    if not st.session_state.get("headline_shown"):
        # A first visit: a pause lets the browser draw the headline now. Streamlit's frontend draws a new
        # page only once its messages stop coming for a moment, so without it the numbers appeared with the
        # whole page, ~1.4 s later (measured: 2.7-3.9 s -> 1.75-2.0 s from navigation to the six numbers on a fresh
        # server; bench/RESULTS.md, "App").
        st.session_state["headline_shown"] = True
        time.sleep(HEADLINE_PAUSE)
    sidebar.render()
    containers = st.tabs(
        [tab_label(t, lang) for t in TABS],
        key=f"w:tabs:{lang}",
        default=tab_label(st.session_state["tab"], lang),
        on_change="rerun",
    )
    for tab, container in zip(TABS, containers, strict=True):
        if container.open:
            st.session_state["tab"] = tab
            with container:
                _tab(tab)
    settings.sync_url()
    st.session_state["run_seconds"] = time.perf_counter() - start


@st.fragment(key="headline")
def _headline() -> None:
    """What the settings are and the six headline numbers (a fragment: rerun on every lever move)."""
    lang = st.session_state["lang"]
    scen, changed = settings.current_scenario(), settings.edits()
    st.caption(
        f"**{scen.title(lang)}** · "
        + (
            f"{tr(lang, 'changed', n=len(changed))} · {tr(lang, 'delta_vs')}"
            if changed
            else tr(lang, "unchanged")
        )
    )
    headline(lang)
    settings.sync_url()


@st.fragment(key="tab")
def _tab(tab: str) -> None:
    """The open tab (a fragment: its own widgets and a lever move rerun it alone)."""
    start = time.perf_counter()
    importlib.import_module(f"faces.app.tab_{tab}").render(st.session_state["lang"])
    settings.sync_url()
    st.session_state["tab_seconds"] = time.perf_counter() - start
