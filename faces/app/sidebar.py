"""The sidebar: language, scenario, levers by sector (with the scenario's value and the data behind
each), reset, and the scenario file download and upload."""

from __future__ import annotations

import math

import streamlit as st

from faces.app import data, scenario_files, settings
from faces.app.text import LANG_NAMES, LANGS, tr, with_note
from simulator import text

#: The sector open when the page first loads (with no edits), so there are sliders to move at once.
OPEN_FIRST = "economy"


def _format(step: float | None) -> str:
    if not step:
        return "%.3f"
    return f"%.{max(0, -math.floor(math.log10(step)))}f"


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(f"{y:g}: {v:g}" for y, v in value)
    return f"{value:g}"


def _help(lever: str, lang: str) -> str:
    """Scenario value, model default, calibrated value, range, and the sources of a lever."""
    scen = settings.current_scenario()
    return _help_text(lever, lang, data.scenario_key(scen), scen)


@st.cache_resource(show_spinner=False, max_entries=2048)
def _help_text(lever: str, lang: str, key: str, _scen) -> str:
    scen, element = _scen, data.model().elements[lever]
    base = data.base_values(scen)[lever]
    unit = data.labels().unit(lever, lang) or text.unit(element.units, lang)
    low, high, step = element.limits
    lines = [
        f"**{tr(lang, 'scenario_value')}**: {_show(base)} {unit}",
        f"**{tr(lang, 'model_default')}**: {_show(element.default)}",
    ]
    calibrated = data.calibrated_values().get(lever)
    if calibrated is not None:
        lines.append(f"**{tr(lang, 'calibrated')}**: {_show(calibrated)}")
    lines.append(f"**{tr(lang, 'range')}**: {low:g} – {high:g} {unit}")
    if lever in scen.sources:
        lines.append(f"**{tr(lang, 'scenario_source')}**: {text.readable_note(scen.sources[lever], lang)}")
    lines.append(f"**{tr(lang, 'source')}**: {text.readable_note(element.doc, lang)}")
    return "  \n".join(lines)


def _label(lever: str, lang: str, suffix: str = "") -> str:
    lab = data.labels()
    unit = lab.unit(lever, lang)
    name = lab.name(lever, lang) + (f" {suffix}" if suffix else "")
    # no mark on a moved lever: the list above the sectors names them (a mark in the label would redraw
    # every slider of the sidebar on the first move of a lever: lever_status)
    return with_note(name, unit, lang)


def lever_widget(lever: str, lang: str, container) -> None:
    """A slider for a constant, or one slider per year of ``settings.path_years()`` for a time path."""
    element = data.model().elements[lever]
    low, high, step = element.limits
    common = {
        "min_value": float(low),
        "max_value": float(high),
        "step": float(step) if step else None,
        "format": _format(step),
        "help": _help(lever, lang),
    }
    value = settings.effective(lever)
    if element.kind == "time_path":
        for year in settings.path_years():
            key = f"w:tp:{lever}:{year}"
            point = min(max(settings.path_value(value, year), low), high)
            st.session_state[key] = st.session_state[f"w:tn:{lever}:{year}"] = point
            container.slider(
                _label(lever, lang, tr(lang, "path_year", year=year)),
                key=key,
                on_change=settings.on_path_point,
                args=(lever, year),
                **common,
            )
            _typed(container, common, lang, f"w:tn:{lever}:{year}", settings.on_path_point,
                   (lever, year, f"w:tn:{lever}:{year}"))
        return
    key = f"w:lv:{lever}"
    st.session_state[key] = st.session_state[f"w:ln:{lever}"] = float(value)
    container.slider(_label(lever, lang), key=key, on_change=settings.on_lever, args=(lever,), **common)
    _typed(container, common, lang, f"w:ln:{lever}", settings.on_lever, (lever, f"w:ln:{lever}"))


def _typed(container, common: dict, lang: str, key: str, callback, args: tuple) -> None:
    """A number box under a slider, for an exact value: same range, step and format (so the same
    validation), written through the same callback. Drawn only while the "type exact values" switch is
    on: two widgets per lever would double the sidebar's length."""
    if not st.session_state.get("exact"):
        return
    container.number_input(
        tr(lang, "exact"),
        key=key,
        on_change=callback,
        args=args,
        label_visibility="collapsed",
        **{k: v for k, v in common.items() if k != "help"},
    )


def _scenario_name(key: str, lang: str) -> str:
    if key.startswith(settings.UPLOAD_PREFIX):
        scen = st.session_state["uploads"][key]
        return f"{scen.title(lang)} ({tr(lang, 'uploaded')}: {scen.name})"
    return f"{data.scenario(key).title(lang)} ({key})"


def render() -> None:
    """Draw the sidebar; every widget writes the canonical settings through its callback."""
    sb = st.sidebar
    sb.radio(
        tr(st.session_state["lang"], "language"),
        LANGS,
        format_func=LANG_NAMES.get,
        horizontal=True,
        **settings.bind("w:lang", "lang"),
    )
    lang = st.session_state["lang"]
    st.session_state["w:scenario"] = st.session_state["scenario"]
    sb.selectbox(
        tr(lang, "scenario"),
        settings.scenario_options(),
        key="w:scenario",
        format_func=lambda k: _scenario_name(k, lang),
        on_change=settings.on_scenario,
        help=tr(lang, "scenario_help"),
    )
    scen = settings.current_scenario()
    sb.caption(scen.descriptions.get(lang, "").replace("[sources]", tr(lang, "sources_ref")))
    lever_status()
    levers()
    nonce = st.session_state.get("upload_nonce", 0)
    sb.file_uploader(
        tr(lang, "upload"),
        type=["toml"],
        key=f"w:upload:{nonce}",
        on_change=scenario_files.on_upload,
        help=tr(lang, "upload_help"),
    )
    if tr(lang, "upload_note"):  # Streamlit writes its uploader's own words in English
        sb.caption(tr(lang, "upload_note"))
    message = st.session_state.get("upload_message")
    if message and message[0] == "error":
        sb.error(tr(lang, "upload_error", error=message[1]))
    elif message:
        sb.success(tr(lang, "upload_ok", name=message[1]))
    sb.caption(tr(lang, "link"))


@st.fragment(key="lever_status")
def lever_status() -> None:
    """Which levers are moved away from the scenario (by name) and the reset button: a fragment of its
    own, rerun when that list changes, so the sliders below are not redrawn for it."""
    sb, lang = st.sidebar, st.session_state["lang"]
    edits = settings.edits()
    if edits:
        lab = data.labels()
        names = tr(lang, "list_sep").join(lab.name(k, lang) for k in edits)
        sb.markdown(tr(lang, "changed_list", n=len(edits), names=names))
    else:
        sb.markdown(tr(lang, "unchanged"))
    sb.button(
        tr(lang, "reset"),
        on_click=settings.on_reset,
        help=tr(lang, "reset_help"),
        disabled=not edits,
        key="w:reset",
        width="stretch",
    )


@st.fragment(key="levers")
def levers() -> None:
    """The levers by sector and the settings download: a fragment (written into the sidebar), rerun when
    its sliders must follow a change or a section is opened, without redrawing the rest of the page."""
    sb, lang = st.sidebar, st.session_state["lang"]
    edits = settings.edits()
    sb.subheader(tr(lang, "levers"))
    sb.caption(tr(lang, "levers_caption"))
    sb.toggle(tr(lang, "exact_switch"), help=tr(lang, "exact_switch_help"), **settings.bind("w:exact", "exact"))
    sectors = data.labels().sectors
    in_sectors = set()
    for key, sector in sectors.items():
        levers = [lv for lv in sector["levers"] if lv in data.model().levers]
        in_sectors.update(levers)
        changed = sum(lv in edits for lv in levers)
        title = sector[lang]  # no count of moved levers: lever_status lists them
        # Only an open sector draws its sliders: fewer widgets, a faster rerun. A section stays as the
        # user left it (its state is remembered): editing it, or undoing the edit, never closes it.
        opened = _remembered(key, bool(changed) or (not edits and key == OPEN_FIRST))
        box = sb.expander(title, expanded=opened, key=f"w:sector:{key}", on_change="rerun")
        st.session_state["sector_open"][key] = bool(box.open)
        if not box.open:
            continue
        if any(data.model().elements[lv].kind == "time_path" for lv in levers):
            box.caption(tr(lang, "path_caption", y1=settings.path_years()[0], y2=settings.path_years()[1]))
        for lever in levers:
            lever_widget(lever, lang, box)
    _other_levers(sb, lang, in_sectors)
    sb.divider()
    sb.download_button(
        tr(lang, "download_toml"),
        lambda: scenario_files.settings_toml().encode("utf-8"),  # made when clicked, not on every move
        file_name=scenario_files.settings_file_name(),
        mime="application/toml",
        on_click="ignore",
        key="w:download_toml",
    )


def _remembered(sector: str, default: bool) -> bool:
    """Whether a sidebar section is open: as the user last left it, else ``default``."""
    return st.session_state.setdefault("sector_open", {}).setdefault(sector, default)


def _other_levers(sb, lang: str, in_sectors: set) -> None:
    """Any other parameter with a range (assumptions, calibrated values) behind one picker."""
    lab = data.labels()
    others = sorted((k for k in data.model().levers if k not in in_sectors), key=lambda k: lab.name(k, lang))
    changed = [k for k in others if k in settings.edits()]
    box = sb.expander(tr(lang, "other_levers"), expanded=_remembered("other", False), key="w:sector:other",
                      on_change="rerun")
    st.session_state["sector_open"]["other"] = bool(box.open)
    if not box.open:
        return
    pick = box.selectbox(
        tr(lang, "other_pick"), others, format_func=lambda k: f"{lab.name(k, lang)} ({k})", key="w:other"
    )
    shown = [pick, *[k for k in changed if k != pick]]
    for lever in shown:
        lever_widget(lever, lang, box)
