"""The user's settings: language, scenario, lever edits and view, kept in session state and in the URL.

The canonical settings live under plain session-state keys (``lang``, ``scenario``, ``edits``, ``tab``,
``compare``, ``indicators``); widgets are views of them (keys starting with ``w:``), written before each
widget is drawn and read back in its callback. So a setting survives while its widget is not drawn
(another tab), and the URL, an upload and the reset button only have to change the canonical keys.

URL (``st.query_params``): ``lang``, ``s`` (scenario), ``tab``, ``cmp`` and ``ind`` (comma lists), and
one parameter per edited lever: ``investment_rate=0.65`` or, for a time path,
``coal_share_target=2015:0.7,2025:0.55,2035:0.3``. Defaults are left out, so a plain URL is the default view.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import simulator
from faces.app import data
from faces.app.text import LANGS, TABS
from simulator.scenarios import validate_overrides


def path_years() -> tuple:
    """The years a time-path lever's sliders set: the plan year and the vision year (labels.toml [years])."""
    lab = data.labels()
    return lab.year("plan"), lab.year("vision")

DEFAULT_SCENARIO = "baseline"
DEFAULT_TAB = "targets"
CURRENT = "_current"
DEFAULT_COMPARE = ("baseline", "plan", "green")
UPLOAD_PREFIX = "upload:"
_RESERVED = ("lang", "s", "tab", "cmp", "ind")


# ----------------------------------------------------------------------------- values


def default_indicators() -> list[str]:
    """The indicators charted by default: the labels' ``chart_indicators`` view."""
    lab = data.labels()
    chosen = [i for i in lab.views.get("chart_indicators", []) if i in lab.indicators]
    return chosen or list(lab.indicators)[:6]


def fmt(x: float) -> str:
    """A number as short text that reads back to the same float for slider values."""
    return f"{float(x):.10g}"


def clean(x: float) -> float:
    """Drop the float noise a slider adds (0.6050000000000001 -> 0.605)."""
    return float(fmt(x))


def close(a, b) -> bool:
    """Same lever value: numbers within 1e-9 relative, time paths point by point."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))) or len(a) != len(b):
            return False
        return all(close(p[0], q[0]) and close(p[1], q[1]) for p, q in zip(a, b, strict=True))
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


def path_value(path, year: float) -> float:
    """Value of a time path at ``year`` (linear between points, held beyond the ends)."""
    years, values = zip(*path, strict=True)
    return float(np.interp(year, years, values))


def with_point(path, year: float, value: float) -> list:
    """The path with its point at ``year`` set to ``value`` (added if missing)."""
    points = [[float(y), float(v)] for y, v in path if not close(y, year)]
    return sorted([*points, [float(year), float(value)]])


def as_path(value) -> list:
    return [[float(y), float(v)] for y, v in value]


# ----------------------------------------------------------------------------- session


def init() -> None:
    """Once per session: the defaults, then whatever the URL says."""
    s = st.session_state
    if s.get("_init"):
        return
    s["_init"] = True
    s["lang"] = "zh"
    s["scenario"] = DEFAULT_SCENARIO
    s["edits"] = {}
    s["uploads"] = {}
    s["tab"] = DEFAULT_TAB
    s["compare"] = list(DEFAULT_COMPARE)
    s["indicators"] = default_indicators()
    s["exact"] = False  # number boxes beside the sliders, on demand
    s["url_warnings"] = apply_query(st.query_params.to_dict())


def current_scenario():
    """The chosen scenario (a file under scenarios/ or an uploaded one)."""
    key = st.session_state["scenario"]
    if key.startswith(UPLOAD_PREFIX):
        return st.session_state["uploads"][key]
    return data.scenario(key)


def scenario_options() -> list[str]:
    return [*data.scenario_names(), *st.session_state["uploads"]]


def edits() -> dict:
    """Lever id -> value the user set (only those that differ from the scenario)."""
    return st.session_state["edits"]


def effective(lever: str):
    """The value a lever runs with: the user's edit, else the scenario's."""
    return edits().get(lever, data.base_values(current_scenario())[lever])


def set_edit(lever: str, value) -> None:
    """Record an edit, or drop it when it equals the scenario's value."""
    new = dict(edits())
    if close(value, data.base_values(current_scenario())[lever]):
        new.pop(lever, None)
    else:
        new[lever] = as_path(value) if isinstance(value, (list, tuple)) else clean(value)
    st.session_state["edits"] = new


def fingerprint() -> str:
    """Identity of the current parameter set (scenario + edits), e.g. to match an ensemble to it."""
    return f"{data.scenario_key(current_scenario())}|{data.edits_json(edits())}"


def current_run():
    return data.run(current_scenario(), edits())


def runnable_scenario():
    """The current settings as one Scenario object (the edits validated on top)."""
    scen = current_scenario()
    return scen.with_overrides(data.model(), edits(), "app") if edits() else scen


# ----------------------------------------------------------------------------- widget callbacks

#: The page's fragments that depend on the levers (faces.app.page, faces.app.sidebar): the headline and
#: the open tab always; the sidebar's list of moved levers when it changes; its sliders only when a
#: slider other than the one moved must follow (a number box, a time path's later point, a reset).
LEVER_FRAGMENTS = ("headline", "tab")
STATUS_FRAGMENT = "lever_status"
#: The fragment, nested in the tab's, of a tab whose controls do not follow the levers (its charts do):
#: a lever move reruns it instead of the whole tab. The tabs that have one: LEVER_PART_TABS.
TAB_LEVER_PART = "tab_levers"
LEVER_PART_TABS = ("trajectories",)
SIDEBAR_FRAGMENT = "levers"
#: Tabs that show nothing of the current settings (the calibration, the model's structure).
STATIC_TABS = ("calibration", "model")


def tab_follows_levers() -> bool:
    """Whether the open tab shows anything of the current settings (the compare tab only when the
    current settings are among the scenarios compared)."""
    tab = st.session_state.get("tab")
    if tab in STATIC_TABS:
        return False
    return tab != "compare" or CURRENT in st.session_state.get("compare", ())


def rerun_lever_parts(sidebar: bool = True, status: bool = True) -> None:
    """From a widget callback after a lever edit: rerun only the fragments that depend on the levers (a
    keyed rerun, which replaces the widget's own full or fragment rerun); ``status``: the sidebar's list
    of moved levers too; ``sidebar``: its sliders too (and the list).

    Redrawing the sidebar's sliders is most of the browser's work on a lever move (measured: ~300 of
    ~500 ms of its main thread), so a move that changes nothing there but the moved slider skips it."""
    tab = TAB_LEVER_PART if st.session_state.get("tab") in LEVER_PART_TABS else "tab"
    parts = [tab if f == "tab" else f for f in LEVER_FRAGMENTS if f != "tab" or tab_follows_levers()]
    st.rerun([*parts, *([STATUS_FRAGMENT] if status or sidebar else []), *([SIDEBAR_FRAGMENT] if sidebar else [])])


def _sliders_follow(typed: bool) -> bool:
    """Whether the sidebar's sliders must be redrawn after a lever moved: a number box shows the value,
    or the value was typed (the slider follows the box)."""
    return typed or bool(st.session_state.get("exact"))


def _status_changes(lever: str, before: dict) -> bool:
    """Whether the list of moved levers changes: ``lever`` became edited or went back to its value."""
    return (lever in before) != (lever in edits())


def on_lever(lever: str, widget: str | None = None) -> None:
    """A lever's slider (or, with ``widget``, its number box) moved."""
    before = edits()
    set_edit(lever, st.session_state[widget or f"w:lv:{lever}"])
    rerun_lever_parts(_sliders_follow(widget is not None), _status_changes(lever, before))


def on_path_point(lever: str, year: int, widget: str | None = None) -> None:
    """Move one point of a time path; a path flat after that point stays flat (the later point follows)."""
    before = edits()
    value = clean(st.session_state[widget or f"w:tp:{lever}:{year}"])
    path = effective(lever)
    new = with_point(path, year, value)
    followed = False
    for later in (y for y in path_years() if y > year):
        if close(path_value(path, later), path_value(path, year)):
            new = with_point(new, later, value)
            followed = True  # the later point's slider moves with this one
    set_edit(lever, new)
    rerun_lever_parts(followed or _sliders_follow(widget is not None), _status_changes(lever, before))


def on_scenario() -> None:
    st.session_state["scenario"] = st.session_state["w:scenario"]
    st.session_state["edits"] = {}


def on_reset() -> None:
    st.session_state["edits"] = {}
    rerun_lever_parts(sidebar=True)


def copy_back(widget: str, key: str) -> None:
    """Callback: store a widget's value under its canonical key."""
    st.session_state[key] = st.session_state[widget]


def bind(widget: str, key: str) -> dict:
    """Set the widget's value from the canonical key; return the kwargs that copy it back."""
    st.session_state[widget] = st.session_state[key]
    return {"key": widget, "on_change": copy_back, "args": (widget, key)}


# ----------------------------------------------------------------------------- URL


def encode(value) -> str:
    """A lever value as URL text: a number, or ``year:value,year:value`` for a time path."""
    if isinstance(value, (list, tuple)):
        return ",".join(f"{fmt(y)}:{fmt(v)}" for y, v in value)
    return fmt(value)


def _decode(text: str):
    if ":" in text:
        points = [point.split(":") for point in text.split(",")]
        if any(len(point) != 2 for point in points):
            raise ValueError(text)
        return [[float(y), float(v)] for y, v in points]
    return float(text)


#: Longest lever value read from a URL (a time path of a few dozen points).
MAX_URL_VALUE = 2000


def decode_lever(key: str, text: str):
    """One URL lever parameter through the same validation as a slider: (problem, lever id, value).

    Any spelling of a lever (``Investment_Rate``, ``investment-rate``) names it; a bad name or value
    gives a one-line problem (shown in the warning box) and no value.
    """
    shown = f"{key[:60]}={str(text)[:60]}"
    if not isinstance(text, str) or len(text) > MAX_URL_VALUE:
        return f"{shown}: value too long", None, None
    try:
        decoded = _decode(text)
    except ValueError:
        return f"{shown}: not a number or a list of year:value", None, None
    try:
        validated = validate_overrides(data.model(), {key: decoded}, "URL")
    except simulator.UserError as exc:
        return str(exc), None, None
    (lever, value), = validated.items()
    return None, lever, value


def query() -> dict[str, str]:
    """The URL parameters of the current settings (defaults left out)."""
    s = st.session_state
    out: dict[str, str] = {}
    if s["lang"] != "zh":
        out["lang"] = s["lang"]
    name, levers = s["scenario"], dict(edits())
    if name.startswith(UPLOAD_PREFIX):
        # An uploaded file cannot travel in a link: its values go as edits of the baseline.
        base = data.base_values(data.scenario(DEFAULT_SCENARIO))
        merged = {**current_scenario().overrides, **levers}
        name, levers = DEFAULT_SCENARIO, {k: v for k, v in merged.items() if not close(v, base[k])}
    if name != DEFAULT_SCENARIO:
        out["s"] = name
    if s["tab"] != DEFAULT_TAB:
        out["tab"] = s["tab"]
    if list(s["compare"]) != list(DEFAULT_COMPARE):
        out["cmp"] = ",".join(s["compare"])
    if list(s["indicators"]) != default_indicators():
        out["ind"] = ",".join(s["indicators"])
    for lever in sorted(levers):
        out[lever] = encode(levers[lever])
    return out


def sync_url() -> None:
    """Write the settings to the URL when they changed."""
    wanted = query()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def apply_query(params: dict) -> list[str]:
    """Set the canonical settings from URL parameters; return one line per parameter ignored."""
    s = st.session_state
    problems = []
    if params.get("lang") in LANGS:
        s["lang"] = params["lang"]
    elif "lang" in params:
        problems.append(f"lang={params['lang']} (use zh or en)")
    if "s" in params:
        if params["s"] in data.scenario_names():
            s["scenario"] = params["s"]
        else:
            problems.append(f"s={params['s']}: unknown scenario (known: {', '.join(data.scenario_names())})")
    if params.get("tab") in TABS:
        s["tab"] = params["tab"]
    elif "tab" in params:
        problems.append(f"tab={params['tab'][:60]}: unknown tab (use {', '.join(TABS)})")
    known_scenarios = {*data.scenario_names(), CURRENT}
    if "cmp" in params:
        names = params["cmp"].split(",")
        s["compare"] = [n for n in names if n in known_scenarios][:5]
        problems += [f"cmp={n[:60]}: unknown scenario" for n in names if n not in known_scenarios][:5]
    if "ind" in params:
        names, known = params["ind"].split(","), data.labels().indicators
        s["indicators"] = [i for i in names if i in known] or list(default_indicators())
        problems += [f"ind={i[:60]}: unknown indicator" for i in names if i not in known][:5]
    base = data.base_values(current_scenario())
    new, spelt = {}, {}
    for key, text in params.items():
        if key in _RESERVED:
            continue
        problem, lever, value = decode_lever(key, text)
        if problem is None and lever in spelt:
            problem = f"{key}={text}: the same lever as {spelt[lever]} (give it once)"
        if problem is not None:
            problems.append(problem)
            continue
        spelt[lever] = key
        if not close(value, base[lever]):
            new[lever] = as_path(value) if isinstance(value, (list, tuple)) else clean(value)
    s["edits"] = new
    return problems
