"""The Streamlit app, driven by Streamlit's AppTest (no browser): every tab in every scenario and both
languages, sliders that move results, scenario upload and download, and the URL round trip."""

from __future__ import annotations

import tomllib

import pytest
from streamlit.testing.v1 import AppTest

import simulator
from faces.app.text import TABS, tab_label
from simulator.targets.assess import HEADERS, STATUS_TEXT

APP = str(simulator.Project.default().root / "app.py")
TIMEOUT = 180


def start(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def problems(at: AppTest) -> list[str]:
    """Exceptions and error boxes on the page (an error box is how the app reports bad input)."""
    return [e.message for e in at.exception] + [e.value for e in at.error]


def open_tab(at: AppTest, tab: str) -> AppTest:
    """Select a tab. AppTest cannot click a tab: set the app's own setting and let st.tabs take it as its
    default, as it does after a language switch."""
    lang = at.session_state["lang"]
    at.session_state["tab"] = tab
    del at.session_state[f"w:tabs:{lang}"]
    at.run()
    assert at.session_state[f"w:tabs:{lang}"] == tab_label(tab, lang)
    return at


def slider(at: AppTest, key: str):
    """The slider of a lever (``w:lv:ID`` or ``w:tp:ID:YEAR``), opening its sector of the sidebar first."""
    lever = key.split(":")[2]
    for name, sector in simulator.labels().sectors.items():
        if lever in sector["levers"] and not at.session_state[f"w:sector:{name}"]:
            at.session_state[f"w:sector:{name}"] = True
            at.run()
    if not any(s.key == key for s in at.slider):  # the last run was of fragments without the sliders
        whole_page(at)
    return next(s for s in at.slider if s.key == key)


def whole_page(at: AppTest) -> AppTest:
    """The whole page again: a lever move reruns only the fragments that depend on the levers (headline,
    sidebar levers, open tab), and AppTest keeps the elements of the last run only."""
    return at.run()


def table_with(at: AppTest, column: str):
    """The first table on the page with this column header."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def status(at: AppTest, target_id: str) -> str:
    """Status word of one target in the full target table (its expander opened if needed)."""
    if not at.session_state["w:targets_table"]:
        at.session_state["w:targets_table"] = True
        at.run()
    headers = HEADERS[at.session_state["lang"]]
    table = table_with(at, headers["status"])
    return table.set_index(headers["id"]).loc[target_id, headers["status"]]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def ensemble_ready():
    """The ensemble module is optional while the library grows; skip what needs it if it is absent."""
    pytest.importorskip("simulator.analysis.ensemble")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("scenario", simulator.list_scenarios())
def test_every_tab_renders(scenario, lang):
    at = start(s=scenario, lang=lang)
    assert not problems(at), problems(at)
    assert at.session_state["scenario"] == scenario
    assert at.title[0].value.startswith("济南" if lang == "zh" else "Jinan")
    for tab in TABS:
        open_tab(at, tab)
        assert not problems(at), (tab, problems(at))
        assert at.session_state["tab"] == tab
    # The target lights (from the fast per-run outcomes) agree with the full evaluation in the table.
    open_tab(at, "targets")
    at.session_state["w:targets_table"] = True
    at.run()
    column = table_with(at, HEADERS[lang]["status"])[HEADERS[lang]["status"]]
    for status, badge in (("met", ":green-badge["), ("missed", ":red-badge[")):
        lights = sum(m.value.startswith(badge) for m in at.markdown)
        assert lights == (column == STATUS_TEXT[lang][status]).sum(), status


def test_a_slider_changes_trajectories_targets_and_headline():
    at = start()
    at.session_state["w:traj_table"] = True  # the table of values, drawn while its expander is open
    open_tab(at, "trajectories")
    before_table = at.dataframe[0].value.copy()
    # the downloads sit in the same box (sent only while it is open)
    assert {"trajectories:csv", "trajectories:xlsx", "trajectories:png"} <= {b.key for b in at.get("download_button")}
    before_metrics = metrics(at)
    open_tab(at, "targets")
    assert status(at, "energy-intensity-2025") == "达标"
    slider(at, "w:lv:industrial_energy_efficiency_rate").set_value(0.0).run()
    assert not problems(at)
    assert at.session_state["edits"] == {"industrial_energy_efficiency_rate": 0.0}
    assert status(at, "energy-intensity-2025") == "未达标"
    assert metrics(at) != before_metrics
    open_tab(at, "trajectories")
    assert not at.dataframe[0].value.equals(before_table)
    # The reset button returns to the scenario's values.
    next(b for b in at.button if b.key == "w:reset").click().run()
    assert at.session_state["edits"] == {}
    assert at.dataframe[0].value.equals(before_table)


def test_a_lever_move_reruns_only_what_depends_on_the_levers():
    at = open_tab(start(), "trajectories")
    before = metrics(at)
    slider(at, "w:lv:investment_rate").set_value(0.7).run()
    # the first edit: the headline, the open tab and the sidebar's list of moved levers are redrawn, not
    # the sliders (redrawing them was most of the browser's work on a first move) ...
    assert metrics(at) != before and len(at.metric) == 6
    assert not at.slider
    assert any("投资率" in m.value and "1" in m.value for m in at.sidebar.markdown), "the moved lever is not listed"
    assert at.get("vega_lite_chart"), "the trajectories were not redrawn"
    # ... and nothing else: the title, the language switch and the tab bar stay as the browser has them
    assert not at.title and not at.sidebar.radio
    edited = metrics(at)
    whole_page(at)
    next(s for s in at.slider if s.key == "w:lv:investment_rate").set_value(0.72).run()
    # a further move of an edited lever changes nothing in the sidebar but the slider the user moved
    assert metrics(at) != edited and at.get("vega_lite_chart") and not at.slider
    assert at.session_state["edits"] == {"investment_rate": 0.72}
    whole_page(at)
    assert at.title and at.sidebar.radio
    assert next(s for s in at.slider if s.key == "w:lv:investment_rate").value == pytest.approx(0.72)


def test_a_time_path_slider_moves_the_path():
    at = start()
    slider(at, "w:tp:r_and_d_intensity_target:2025").set_value(3.2).run()
    assert not problems(at)
    path = dict((int(y), v) for y, v in at.session_state["edits"]["r_and_d_intensity_target"])
    assert path[2025] == pytest.approx(3.2)
    assert path[2035] == pytest.approx(3.2)  # flat after 2025 in the baseline, so 2035 follows
    assert path[2020] == pytest.approx(2.62)  # history kept
    assert slider(at, "w:tp:r_and_d_intensity_target:2035").value == pytest.approx(3.2)
    slider(at, "w:tp:r_and_d_intensity_target:2035").set_value(4.0).run()
    path = dict((int(y), v) for y, v in at.session_state["edits"]["r_and_d_intensity_target"])
    assert (path[2025], path[2035]) == (pytest.approx(3.2), pytest.approx(4.0))


def test_switching_scenario_clears_edits_and_language_keeps_them():
    at = start()
    slider(at, "w:lv:investment_rate").set_value(0.7).run()
    whole_page(at)
    at.sidebar.radio[0].set_value("en").run()
    assert at.session_state["edits"] == {"investment_rate": 0.7}
    assert at.title[0].value.startswith("Jinan")
    at.sidebar.selectbox[0].set_value("plan").run()
    assert at.session_state["scenario"] == "plan"
    assert at.session_state["edits"] == {}
    assert not problems(at)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    uploader = next(u for u in at.sidebar.get("file_uploader"))
    uploader.set_value((name, content, "application/toml"))
    return at.run()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[levers]\nnot_a_lever = 1\n", "unknown variable 'not_a_lever'"),
        (b"[levers]\ninvestment_rate = 5.0\n", "outside its range"),
        (b"[levers\ninvestment_rate = ", "malformed TOML"),
        (b'extends = "no_such_scenario"\n', "'extends' may name only a bundled scenario"),
    ],
)
def test_a_bad_uploaded_scenario_shows_one_line_and_changes_nothing(content, expected):
    at = start()
    slider(at, "w:lv:investment_rate").set_value(0.7).run()
    whole_page(at)
    before = (at.session_state["scenario"], dict(at.session_state["edits"]), metrics(at))
    upload(at, "bad.toml", content)
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and expected in errors[0] and "bad.toml" in errors[0]
    assert "\n" not in errors[0]
    assert (at.session_state["scenario"], at.session_state["edits"], metrics(at)) == before


def test_downloaded_settings_upload_back_to_the_same_results():
    at = start(s="plan")
    slider(at, "w:lv:investment_rate").set_value(0.7).run()
    slider(at, "w:tp:coal_share_target:2035").set_value(0.3).run()
    edited = metrics(at)
    text = settings_toml_of(at)
    data = tomllib.loads(text)
    assert data["extends"] == "plan"
    assert data["levers"]["investment_rate"] == 0.7
    assert "coal_share_target" in data["levers"] and "coal_share_target" in data["sources"]
    fresh = start()
    upload(fresh, "mine.toml", text.encode())
    assert not problems(fresh)
    assert fresh.session_state["scenario"] == "upload:mine"
    assert fresh.session_state["edits"] == {}
    assert metrics(fresh) == edited
    assert slider(fresh, "w:lv:investment_rate").value == pytest.approx(0.7)
    assert [s.value for s in fresh.sidebar.success]  # "loaded" message


def settings_toml_of(at: AppTest) -> str:
    """The text the sidebar's download button holds, made by the same function in a tiny script."""

    def script() -> None:
        import streamlit as st

        from faces.app import scenario_files, settings

        settings.init()  # reads the settings from the URL, as the app does
        st.code(scenario_files.settings_toml())

    probe = AppTest.from_function(script, default_timeout=TIMEOUT)
    for key, value in at.query_params.items():
        probe.query_params[key] = value
    probe.run()
    assert not probe.exception, probe.exception
    return probe.code[0].value


def test_the_url_round_trips_the_settings():
    at = start()
    at.sidebar.radio[0].set_value("en").run()
    at.sidebar.selectbox[0].set_value("green").run()
    slider(at, "w:lv:investment_rate").set_value(0.65).run()
    slider(at, "w:tp:r_and_d_intensity_target:2035").set_value(4.1).run()
    open_tab(at, "compare")
    query = dict(at.query_params)
    assert query["lang"] == "en" and query["s"] == "green" and query["tab"] == "compare"
    assert query["investment_rate"] == "0.65" and "2035:4.1" in query["r_and_d_intensity_target"]
    again = start(**query)
    assert not problems(again)
    for key in ("lang", "scenario", "tab", "edits", "compare", "indicators"):
        assert again.session_state[key] == at.session_state[key], key
    assert metrics(again) == metrics(at)
    assert dict(again.query_params) == query


def test_a_bad_url_parameter_is_reported_and_ignored():
    at = start(investment_rate="9", not_a_lever="1", s="nope", industrial_energy_efficiency_rate="0.05")
    warnings = " ".join(w.value for w in at.warning)
    assert "investment_rate" in warnings and "not_a_lever" in warnings and "nope" in warnings
    assert at.session_state["edits"] == {"industrial_energy_efficiency_rate": 0.05}
    assert at.session_state["scenario"] == "baseline"
    assert not at.exception


def test_an_ensemble_gives_probabilities_on_the_targets_tab(ensemble_ready):
    at = open_tab(start(lang="en"), "montecarlo")
    at.number_input(key="w:mc_n").set_value(200)
    next(b for b in at.button if b.label == "Run the ensemble").click().run()
    assert not problems(at)
    assert any("200 runs" in s.value for s in at.success)
    probabilities = table_with(at, "probability (%)")
    assert probabilities.shape[0] > 5
    flat = at.session_state["ensemble"]["result"].probabilities.query("no_uncertainty & n_valid > 0")
    # on the Monte Carlo tab too: no probability, the verdict with its flag, and the footnote
    assert probabilities["probability (%)"].isna().sum() == len(flat)
    assert sum("*" in str(v) for v in probabilities.iloc[:, 3]) == len(flat)
    assert not len(flat) or any("met or missed depends on the levers" in c.value for c in at.caption)
    open_tab(at, "targets")
    at.session_state["w:targets_table"] = True
    at.run()
    assert "probability met" in table_with(at, "status").columns
    assert any("probability met" in m.value for m in at.markdown)  # on the target lights too
    # A target no sampled input moves is flagged with its verdict and the footnote, not a bare 0 % / 100 %.
    flagged = at.session_state["ensemble"]["result"].probabilities.query("no_uncertainty")
    if len(flagged):  # (today non-fossil-2025: no sampled input moves the non-fossil share)
        lights = [m.value for m in at.markdown if m.value.startswith(":")]
        flat = [v for v in lights if "no sampled uncertainty*" in v]
        assert len(flat) == len(flagged) and not any("probability met" in v for v in flat), flat
        assert any("met or missed depends on the levers" in c.value for c in at.caption)
        table = table_with(at, "status").set_index("id")
        assert table.loc[flagged["id"], "probability met"].isna().all()
    # Moving a lever makes the probabilities stale: they are no longer shown as the current ones.
    slider(at, "w:lv:investment_rate").set_value(0.7).run()
    assert "probability met" not in table_with(at, "status").columns
    open_tab(at, "montecarlo")
    assert at.warning and not problems(at)


def test_what_it_takes_seeks_applies_splits_and_discovers(ensemble_ready):
    pytest.importorskip("simulator.analysis.goalseek")
    at = open_tab(start(lang="en"), "decision")
    next(b for b in at.button if b.label == "Seek").click().run()
    assert not problems(at)
    apply = [b for b in at.button if b.key == "w:gs_apply"]
    if apply:  # the chosen target was missed: the answer moves levers, and one click puts them on the sliders
        apply[0].click().run()
        assert at.session_state["edits"] and not problems(at)
    at.radio(key="w:decision").set_value("wedges").run()
    assert not problems(at)
    at.radio(key="w:decision").set_value("discover").run()
    assert at.info and not problems(at)  # asks for an ensemble first
    open_tab(at, "montecarlo")
    at.number_input(key="w:mc_n").set_value(200)
    next(b for b in at.button if b.label == "Run the ensemble").click().run()
    open_tab(at, "decision")
    at.radio(key="w:decision").set_value("discover").run()
    assert not problems(at)
    assert any("valid runs" in m.value for m in at.markdown)


def test_the_png_downloads_draw_without_matplotlib_on_the_page():
    """The PNG downloads' figures (report-ready, drawn by the library) are made when asked for; the page
    itself imports no matplotlib (~1 s on a cold first page)."""
    import subprocess
    import sys

    from faces.app import data, export

    scen = data.scenario("baseline")
    frames = {scen.title("en"): data.indicators(data.run(scen, {}))}
    png = export.trajectories_png(frames, list(next(iter(frames.values())).columns[:3]), "en")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    png = export.feasibility_png({scen.title("zh"): data.target_table(scen, {}, "zh")}, "zh")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    code = ("import sys, faces.app.page, faces.app.tab_targets, faces.app.tab_trajectories, "
            "faces.app.tab_compare; print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr[-2000:]
