"""The Streamlit app renders in both languages and responds to a slider (AppTest, no browser)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import simulator

APP = str(simulator.api.PROJECT_ROOT / "app.py")


@pytest.fixture
def app():
    return AppTest.from_file(APP, default_timeout=120).run()


def test_first_page_renders_in_both_languages(app):
    assert not app.exception
    assert "济南" in app.title[0].value
    app.sidebar.radio[0].set_value("en").run()
    assert not app.exception
    assert "Jinan" in app.title[0].value


def test_a_slider_changes_the_results(app):
    before = app.dataframe[0].value.copy()
    slider = next(s for s in app.sidebar.slider if s.key.endswith(":investment_rate"))
    slider.set_value(0.8).run()
    assert not app.exception
    after = app.dataframe[0].value
    assert not before.equals(after)
