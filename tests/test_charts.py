"""Charts: files written, both languages, and every text drawn with a CJK-capable font."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from simulator.plots import charts, fonts
from simulator.targets import STATUSES, Target, evaluate

YEARS = np.arange(2015, 2036)
CJK = re.compile(r"[\u4e00-\u9fff]")

LABELS = {
    "population": {
        "zh": "常住人口",
        "en": "Resident population",
        "unit_zh": "万人",
        "unit_en": "10k persons",
    },
    "water_use_total": {"zh": "用水总量", "en": "Total water use", "unit": "亿m³"},
    "co2_emissions": {"zh": "二氧化碳排放量", "en": "CO₂ emissions", "unit": "Mt"},
    "industrial_revenue": {
        "zh": "规模以上工业主营业务收入",
        "en": "Above-size industrial revenue",
        "unit": "亿元",
    },
}


def target(
    ident: str,
    indicator: str,
    test: str,
    value: float | None,
    unit: str,
    year: int = 2025,
    base_year: int | None = None,
) -> Target:
    return Target(
        id=ident,
        name_zh=f"目标{ident}",
        name_en=f"Target {ident}",
        indicator=indicator,
        unit=unit,
        test=test,
        year=year,
        kind="expected",
        modelled="yes",
        source="test",
        quote="test",
        base_year=base_year,
        value=value,
    )


TARGETS = [
    target("pop", "population", "level_ge", 1000, "万人"),
    target("water", "water_use_total", "level_le", 21.9, "亿m³"),
    target("revenue", "industrial_revenue", "level_gt", 10000, "亿元 (current prices)"),
    target("cap", "water_use_total", "level_le_all_years", 24, "亿m³"),
    target("peak", "co2_emissions", "peak_by", 2030, "year", year=2030),
    target("growth", "industrial_revenue", "avg_growth_ge", 7, "%/yr", base_year=2020),
    target("parks", "parks", "level_ge", 1000, "个"),
    target("springs", "spring_level", "level_ge_all_years", None, "m"),
]


@pytest.fixture(scope="module")
def results() -> dict[str, pd.DataFrame]:
    base = {
        "population": np.linspace(850, 1010, 21),
        "water_use_total": np.linspace(20, 23, 21),
        "co2_emissions": 130 - np.abs(YEARS - 2026.0) * 2,
        "industrial_revenue": np.linspace(5000, 13000, 21),
    }
    high = {name: values * np.linspace(1.0, 1.3, 21) for name, values in base.items()}
    high["co2_emissions"] = np.linspace(100, 140, 21)
    return {"基准情景": pd.DataFrame(base, index=YEARS), "高增长": pd.DataFrame(high, index=YEARS)}


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": ["population", "population", "population", "water_use_total"],
            "year": [2015, 2018, 2020, 2015],
            "value": [870.0, 890.0, 920.2, 20.5],
            "low": [850.0, np.nan, 915.0, 19.0],
            "high": [890.0, np.nan, 925.0, 22.0],
        }
    )


def tables(results, lang: str) -> dict[str, pd.DataFrame]:
    return {
        name: evaluate(TARGETS, {c: frame[c].to_numpy() for c in frame}, YEARS, lang=lang)
        for name, frame in results.items()
    }


def assert_all_text_in_cjk_font(figure: Figure) -> list[str]:
    """Draw ``figure`` with warnings as errors; every visible text must use a CJK font file."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "Glyph ... missing" is a UserWarning
        figure.canvas.draw()
    texts = [t for t in figure.findobj(Text) if t.get_text() and t.get_visible()]
    assert texts
    for text in texts:
        path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        assert fonts.is_cjk_font(path), (text.get_text(), path)
    return [t.get_text() for t in texts]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_trajectories_render_in_a_cjk_font_and_save(results, history, tmp_path, lang):
    figure = charts.trajectories(results, list(LABELS), LABELS, history, TARGETS, lang=lang)
    assert len([a for a in figure.axes if a.get_visible()]) == len(LABELS)
    strings = assert_all_text_in_cjk_font(figure)
    for axes in figure.axes:
        if axes.get_visible():
            assert axes.get_xlabel() == ("年份" if lang == "zh" else "Year")
            assert "[" in axes.get_ylabel() or "（" in axes.get_ylabel()  # a unit on every axis
    if lang == "zh":
        assert any("常住人口（万人）" in s for s in strings)
    else:
        assert any("Resident population [10k persons]" in s for s in strings)
    # Level targets drawn with their value; the growth target is not a level.
    assert {"≥1000", "≤21.9", ">10000"} <= set(strings)
    assert any(s.endswith(" 24") for s in strings)  # the all-years cap
    written = charts.save(figure, tmp_path / f"trajectories_{lang}", dpi=50)
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert written[0].read_bytes().startswith(b"\x89PNG") and written[0].stat().st_size > 1000
    assert written[1].read_bytes().startswith(b"%PDF") and written[1].stat().st_size > 1000


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_feasibility_colours_statuses_and_greys_out_not_assessed(results, tmp_path, lang):
    figure = charts.feasibility(tables(results, lang), lang=lang)
    strings = assert_all_text_in_cjk_font(figure)
    (axes,) = figure.axes
    names = [t.name(lang) for t in TARGETS]
    ticks = {tick.get_text(): tick.get_color() for tick in axes.get_yticklabels()}
    assert list(ticks) == names
    grey = charts.STATUS_COLOURS["not assessed"]
    assert ticks[TARGETS[-1].name(lang)] == grey and ticks[TARGETS[-2].name(lang)] == grey
    assert ticks[TARGETS[0].name(lang)] != grey
    not_assessed = "未评估" if lang == "zh" else "not assessed"
    assert sum(s.startswith(not_assessed + ":") for s in strings) == 2
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend[:3] == (["达标", "未达标", "未评估"] if lang == "zh" else list(STATUSES))
    assert legend[3:] == ["基准情景", "高增长"]
    peak_note = "截至 2035 年尚未达峰" if lang == "zh" else "not yet peaked by 2035"
    assert peak_note in strings
    colours = {line.get_color() for line in axes.get_lines()}
    assert {charts.STATUS_COLOURS["met"], charts.STATUS_COLOURS["missed"]} <= colours
    written = charts.save(figure, tmp_path / "feasibility.png", formats=("png", "pdf"), dpi=50)
    assert [p.name for p in written] == ["feasibility.png", "feasibility.pdf"]
    assert all(p.stat().st_size > 1000 for p in written)


def test_feasibility_rejects_an_ensemble_table(results):
    table = tables(results, "zh")["基准情景"]
    several = pd.concat([table, table.assign(run=1)])
    with pytest.raises(ValueError, match="probabilities"):
        charts.feasibility({"a": several})


def test_bad_inputs_give_clear_errors(results, tmp_path):
    with pytest.raises(ValueError, match="'population'"):
        charts.trajectories(results, ["population"], {}, lang="zh")
    with pytest.raises(ValueError, match="lang"):
        charts.trajectories(results, ["population"], LABELS, lang="fr")
    figure = charts.trajectories(results, ["population"], LABELS)
    with pytest.raises(ValueError, match="'jpg'"):
        charts.save(figure, tmp_path / "x", formats=("jpg",))


def test_missing_glyph_warning_is_caught_by_these_tests():
    # The check above is only meaningful if a Chinese text in a Latin font fails it.
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, "中文", fontfamily="DejaVu Sans")
    with pytest.warns(UserWarning, match="Glyph"):
        figure.canvas.draw()


# --------------------------------------------------------------------------- fonts


def manager_without_cjk() -> font_manager.FontManager:
    """A copy of matplotlib's font manager that knows no CJK font (a fresh install)."""
    manager = copy.copy(font_manager.fontManager)
    manager.ttflist = [e for e in manager.ttflist if not fonts.is_cjk_font(e.fname)]
    return manager


def test_preferred_cjk_font_is_found():
    font = fonts.find_cjk_font()
    assert fonts.is_cjk_font(font.path)
    assert font.families()[0] == font.family
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    if "Noto Sans CJK SC" in installed:
        assert font.family == "Noto Sans CJK SC"


def test_font_installed_after_matplotlib_cache_is_registered():
    path = fonts.find_cjk_font().path
    manager = manager_without_cjk()
    found = fonts.find_cjk_font(manager=manager, system_fonts=[path], persist=False)
    assert fonts.is_cjk_font(found.path)
    assert found.family in {entry.name for entry in manager.ttflist}
    assert found.family in {entry.name for entry in font_manager.fontManager.ttflist}


def test_no_cjk_font_gives_a_one_line_install_hint():
    with pytest.raises(fonts.FontNotFoundError) as error:
        fonts.find_cjk_font(manager=manager_without_cjk(), system_fonts=[], persist=False)
    assert "\n" not in str(error.value) and "fonts-noto-cjk" in str(error.value)
