"""Every tab in both languages through Streamlit's AppTest: every string the page shows (labels, help
texts behind ⓘ, captions, table headers and cells, chart specs) is in the page's language; levers can be
typed; a sidebar section stays open."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

import simulator
from faces.app.text import TABS, TEXT
from tests.browser_checks import wrong_script

APP = str(simulator.Project.default().root / "app.py")
#: model ids and file names shown as such ("(investment_rate)", "baseline"): code, not words
CODE = re.compile(r"\(?\b[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+\b\)?|\([a-z][a-z0-9_]*\)")
#: table columns that are code or the other language on purpose (equations; the glossary's other name)
CODE_COLUMNS = {"zh": {"方程", "英文名", "编号"}, "en": {"equation", "Chinese name", "id"}}


def start(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _spec_strings(spec) -> list[str]:
    """Titles, axis and legend titles and text of a Vega-Lite spec (not its data)."""
    out = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("data", "values", "usermeta", "config", "field", "type", "scale", "format", "shape",
                       "datum", "mark", "transform", "orient", "sort", "stack", "domain", "range"):
                if key == "datum" and isinstance(value, str):
                    out.append(value)
                continue
            if key in ("title", "text", "subtitle") and isinstance(value, (str, list)):
                out += value if isinstance(value, list) else [value]
            else:
                out += _spec_strings(value)
    elif isinstance(spec, list):
        for value in spec:
            out += _spec_strings(value)
    return [s for s in out if isinstance(s, str)]


def page_strings(at: AppTest) -> list[str]:
    """Every user-visible string AppTest can see on the page, help texts included."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        out += [e.value for e in getattr(at, kind)]
    out += [f"{m.label} {m.value} {m.help or ''}" for m in at.metric]
    for kind in ("slider", "number_input", "selectbox", "multiselect", "button", "toggle", "radio",
                 "select_slider", "checkbox", "text_input"):
        for widget in getattr(at, kind):
            out += [str(getattr(widget, "label", "")), str(getattr(widget, "help", "") or "")]
            if kind in ("selectbox", "multiselect", "radio"):
                out += [str(o) for o in getattr(widget, "options", [])]
    for frame in at.dataframe:
        value = frame.value
        value = value.drop(columns=[c for c in value.columns if c in CODE_COLUMNS["zh"] | CODE_COLUMNS["en"]])
        out += [str(c) for c in value.columns] + [str(i) for i in value.index if isinstance(i, str)]
        out += [v for v in value.to_numpy().ravel() if isinstance(v, str)]
    for chart in at.get("vega_lite_chart"):
        out += _spec_strings(json.loads(chart.proto.spec))
    return out


def found(at: AppTest, lang: str) -> list[str]:
    text = "\n".join(CODE.sub("", s) for s in page_strings(at))
    return wrong_script(text, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_tab_speaks_one_language(lang):
    at = start(lang=lang)
    for sector in simulator.labels().sectors:
        at.session_state[f"w:sector:{sector}"] = True  # every lever's label and help text on the page
    # the parts drawn on demand: number boxes, tables and charts in expanders that draw when opened
    for key in ("w:exact", "w:traj_table", "w:traj_any", "w:targets_table", "w:targets_missing",
                "w:cal_residuals"):
        at.session_state[key] = True
    at.session_state["exact"] = True
    at.run()
    problems = {}
    for tab in TABS:
        at.session_state["tab"] = tab
        del at.session_state[f"w:tabs:{lang}"]
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        if wrong := found(at, lang):
            problems[tab] = wrong
    assert problems == {}


def test_a_lever_is_typed_exactly():
    at = start()
    assert not any(n.key.startswith("w:ln:") for n in at.number_input), "number boxes only on demand"
    next(t for t in at.toggle if t.key == "w:exact").set_value(True).run()
    box = next(n for n in at.number_input if n.key == "w:ln:investment_rate")
    box.set_value(0.65).run()
    assert at.session_state["edits"]["investment_rate"] == pytest.approx(0.65)
    assert next(s for s in at.slider if s.key == "w:lv:investment_rate").value == pytest.approx(0.65)
    path = next(n for n in at.number_input if n.key == "w:tn:r_and_d_intensity_target:2025")
    path.set_value(3.2).run()
    points = dict((int(y), v) for y, v in at.session_state["edits"]["r_and_d_intensity_target"])
    assert points[2025] == pytest.approx(3.2)


def test_a_section_stays_open_when_its_edit_is_undone():
    at = start()
    at.session_state["w:sector:energy"] = True
    at.run()
    key = "w:lv:industrial_energy_efficiency_rate"
    slider = next(s for s in at.slider if s.key == key)
    original = slider.value
    slider.set_value(slider.min).run()
    assert "industrial_energy_efficiency_rate" in at.session_state["edits"]
    at.run()  # the whole page (a lever move reruns only the parts that depend on the levers)
    assert any(s.key == key for s in at.slider), "the energy section closed by itself"
    next(s for s in at.slider if s.key == key).set_value(original).run()
    assert "industrial_energy_efficiency_rate" not in at.session_state["edits"]
    at.run()
    assert any(s.key == key for s in at.slider), "the energy section closed by itself"


def _banded(at: AppTest) -> list[dict]:
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    return [s for s in specs if any(isinstance(layer.get("mark"), dict) and layer["mark"]["type"] == "area"
                                    for layer in s["layer"])]


def test_trajectories_draw_uncertainty_bands_after_the_lines():
    from faces.app import bands

    at = start(tab="trajectories")
    plain = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert plain and not _banded(at)
    next(t for t in at.toggle if t.key == "w:traj_bands").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    # the lines come at once, without waiting for the ensemble (it runs off the script thread) ...
    fingerprint, job = at.session_state["band_job"]
    assert len(at.get("vega_lite_chart")) == len(plain)
    if not _banded(at):
        assert any(c.value == TEXT["zh"]["bands_wait"] for c in at.caption)
    job.result(timeout=120)
    assert bands.ready(fingerprint) is not None
    at.run()  # (in the browser the polling fragment reruns the page)
    assert not at.exception, [e.message for e in at.exception]
    # ... and the bands over every indicator chart (not the any-variable one) once they are there
    assert len(_banded(at)) >= len(plain) - 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_url_warnings_speak_the_page_language(lang):
    at = start(lang=lang, investment_rate="9", not_a_lever="1", s="nope", tab="targets")
    warnings = [w.value for w in at.warning]
    assert len(warnings) >= 3
    joined = " ".join(warnings)
    assert wrong_script(CODE.sub("", joined.replace("nope", "")), lang) == [], warnings  # the user's typo
    assert "investment_rate" in joined and "not_a_lever" in joined and "nope" in joined
