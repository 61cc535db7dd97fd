"""Hostile uploads and links in the app (issue 14), driven by Streamlit's AppTest: an upload reads no
server file and keeps the previous state on any error; a crafted URL ends in the warning box; caps."""

from __future__ import annotations

import logging
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

import simulator
from simulator.limits import MAX_SCENARIO_BYTES

APP = str(simulator.Project.default().root / "app.py")
TIMEOUT = 180


def start(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def upload(at: AppTest, name: str, content: bytes) -> list[str]:
    next(iter(at.sidebar.get("file_uploader"))).set_value((name, content, "application/toml"))
    at.run()
    assert not at.exception, at.exception
    return [e.value for e in at.sidebar.error]


def state(at: AppTest):
    return at.session_state["scenario"], dict(at.session_state["edits"]), dict(at.session_state["uploads"])


def test_hostile_uploads_read_no_server_file_and_change_nothing(monkeypatch, caplog):
    at = start(investment_rate="0.6")
    before = state(at)
    cases = {
        "abs.toml": (b'extends = "/etc/passwd"\n', "'extends' may name only a bundled scenario"),
        "probe.toml": (b'extends = "../../../../pyproject.toml"\n', "'extends' may name only a bundled scenario"),
        "sibling.toml": (b'extends = "../scenarios/plan.toml"\n', "'extends' may name only a bundled scenario"),
        "deep.toml": (b"x = " + b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        "inline.toml": (b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000, "nested deeper than 32 levels"),
        "sources.toml": (b'sources = "x"\n', "[sources] must be a table"),
        "cal.toml": (b'use_calibration = "false"\n', "'use_calibration' must be true or false"),
        "twice.toml": (b'[levers]\ninvestment_rate = 0.5\n"investment-rate" = 0.6\n', "are the same lever"),
        "big.toml": (b"#" * (MAX_SCENARIO_BYTES + 1), "big.toml: file too large"),
        "binary.toml": (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    }
    for name, (content, expected) in cases.items():
        errors = upload(at, name, content)
        assert len(errors) == 1 and expected in errors[0] and name in errors[0], (name, errors)
        assert "\n" not in errors[0]
        for leak in ("passwd", "pyproject", "build-system", "root:", "/etc", "/work", "Traceback"):
            assert leak not in errors[0], (name, errors[0])
        assert state(at) == before, name

    # anything unexpected is caught too: logged on the server, one line in the page, state kept
    from faces.app import scenario_files

    def crash(name, content):
        raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(scenario_files, "read_scenario", crash)
    with caplog.at_level(logging.ERROR, logger="faces.app.scenario_files"):
        errors = upload(at, "odd.toml", b"title_en = 'x'\n")
    assert errors == [errors[0]] and "odd.toml: could not be read as a scenario file" in errors[0]
    assert "/srv/secret" not in errors[0] and "exploded" in caplog.text
    assert state(at) == before


def test_an_upload_with_bom_and_a_bundled_extends_is_accepted():
    at = start()
    errors = upload(at, "win.toml", '\ufeffextends = "plan"\ntitle_en = "Windows"\n'.encode())
    assert errors == []
    assert at.session_state["scenario"] == "upload:win"


@pytest.mark.parametrize("query", [{"Investment_Rate": "0.5"}, {"investment-rate": "0.5"}])
def test_a_crafted_lever_spelling_goes_through_slider_validation(query):
    at = start(**query)
    assert not at.exception
    assert at.session_state["edits"] == {"investment_rate": 0.5}


def test_crafted_url_values_end_in_the_warning_box():
    at = start(lang="en", **{"Investment_Rate": "9", "investment_rate": "0.5", "investment-rate": "0.6",
                  "coal_share_target": "2015:0.7:1", "r_and_d_intensity_target": "1900:2.0,2025:3.0",
                  "x" * 5000: "1"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "outside its range" in warnings and "same lever" in warnings
    assert "not a number or a list of year:value" in warnings and "outside the model's years" in warnings
    assert at.session_state["edits"] == {"investment_rate": 0.5}


def test_streamlit_config_hides_error_details_and_caps_uploads():
    config = tomllib.loads((simulator.Project.default().root / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] is False
    assert config["server"]["maxUploadSize"] <= 10


def test_ensemble_caps_per_session_and_per_server():
    from faces.app import caps

    with pytest.raises(simulator.UserError, match="more than this server allows one person"), \
            caps.ensemble_slot(caps.MAX_ENSEMBLE + 1):
        pass
    slots = caps._ensemble_slots()
    held = 0
    while slots.acquire(blocking=False):
        held += 1
    try:
        assert held == simulator.limits.APP_MAX_CONCURRENT_ENSEMBLES
        with pytest.raises(simulator.UserError, match="already running"), caps.ensemble_slot(10):
            pass
    finally:
        for _ in range(held):
            slots.release()
    with caps.ensemble_slot(10):
        pass


def test_unknown_tab_comparison_and_indicator_in_a_link_are_reported():
    at = start(lang="en", tab="../../etc", cmp="baseline,nope", ind="gdp,zzz")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "tab=../../etc: unknown tab" in warnings and "cmp=nope" in warnings and "ind=zzz" in warnings
    assert at.session_state["compare"] == ["baseline"]
