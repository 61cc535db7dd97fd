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

from simulator.plots import charts, feasibility, fonts
from simulator.targets import Target, evaluate

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
    figure = charts.trajectories(results, list(LABELS), LABELS, history, TARGETS, lang=lang,
                                 note=charts.caption(lang, "abc123"))
    assert len([a for a in figure.axes if a.get_visible()]) == len(LABELS)
    strings = assert_all_text_in_cjk_font(figure)
    for axes in figure.axes:
        if axes.get_visible():
            assert axes.get_xlabel() == ("年份" if lang == "zh" else "Year")
            assert "[" in axes.get_ylabel() or "（" in axes.get_ylabel()  # a unit on every axis
            assert axes.get_title()  # a panel title: the indicator's name
    titles = [a.get_title() for a in figure.axes]
    assert ("常住人口" if lang == "zh" else "Resident population") in titles
    assert figure.get_suptitle()  # a figure title
    assert any("jinan-sd" in s and "abc123" in s for s in strings)  # source and model version caption
    # every scenario its own dash and marker, so coinciding lines stay apart
    lines = [line for line in figure.axes[0].get_lines() if line.get_label() in results]
    assert len({(line.get_linestyle(), line.get_marker()) for line in lines}) == len(results)
    # Level targets drawn with their value; the growth target is not a level.
    assert {"≥1000", "≤21.9", ">10000"} <= set(strings)
    assert any(s.endswith(" 24") for s in strings)  # the all-years cap
    written = charts.save(figure, tmp_path / f"trajectories_{lang}", dpi=50)
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert written[0].read_bytes().startswith(b"\x89PNG") and written[0].stat().st_size > 1000
    assert written[1].read_bytes().startswith(b"%PDF") and written[1].stat().st_size > 1000


def test_identical_scenarios_are_named_in_the_panel(results):
    same = {**results, "copy": next(iter(results.values()))}
    figure = charts.trajectories(same, list(LABELS), LABELS, lang="en")
    notes = [t.get_text() for a in figure.axes for t in a.texts]
    assert any("coincide" in n and "copy" in n for n in notes)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_feasibility_shows_assessed_targets_and_peaks_in_years(results, tmp_path, lang):
    figure = feasibility.feasibility(tables(results, lang), lang=lang)
    strings = assert_all_text_in_cjk_font(figure)
    levels, peaks = figure.axes
    names = [t.name(lang) for t in TARGETS]
    ticks = [tick.get_text() for tick in levels.get_yticklabels()]
    assert TARGETS[0].name(lang) in ticks
    # not-assessed targets are not rows: they are listed below the figure
    for target in TARGETS[-2:]:
        assert target.name(lang) not in ticks
        assert any(target.name(lang) in s for s in strings if s.startswith(("未评估", "Targets not")))
    # the peak target on its own panel, at its margin in years (not at 0), one row per scenario
    assert peaks.get_xlabel().endswith(("为提前达峰)", "peaks earlier)"))
    assert len(peaks.get_yticklabels()) == len(results)
    labels = [t for t in peaks.texts]
    ys = [t.xy[1] for t in labels]
    assert len(set(ys)) == len(ys)  # labels on separate lines: they cannot overlap
    table = next(iter(tables(results, lang).values()))
    peak_row = table[table["test"] == "peak_by"].iloc[0]
    if np.isfinite(peak_row["margin"]):
        assert labels[0].xy[0] == pytest.approx(peak_row["margin"])
    (legend,) = [one for part in (figure, *figure.subfigs) for one in part.legends]
    legend = [t.get_text() for t in legend.get_texts()]
    assert legend[:2] == (["达标", "未达标"] if lang == "zh" else ["met", "missed"])
    assert legend[2:] == ["基准情景", "高增长"]
    assert figure.get_suptitle()
    colours = {line.get_color() for line in levels.get_lines()}
    assert {charts.STATUS_COLOURS["met"], charts.STATUS_COLOURS["missed"]} & colours
    assert len(names) > len(ticks)
    written = charts.save(figure, tmp_path / "feasibility.png", formats=("png", "pdf"), dpi=50)
    assert [p.name for p in written] == ["feasibility.png", "feasibility.pdf"]
    assert all(p.stat().st_size > 1000 for p in written)


def test_feasibility_rejects_an_ensemble_table(results):
    table = tables(results, "zh")["基准情景"]
    several = pd.concat([table, table.assign(run=1)])
    with pytest.raises(ValueError, match="probabilities"):
        feasibility.feasibility({"a": several})


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
