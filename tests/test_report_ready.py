"""Report-ready output: the catalogue (one translation per status, no wrong script), readable notes and
units, number formats, the exports' headers, the CLI's aligned table and --set for ensembles."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

import simulator
from faces.cli.main import main
from faces.cli.table import blocks, width
from simulator import text
from simulator.text import catalogue
from tests.browser_checks import wrong_script


def _strings(node, lang=None):
    """(lang, string) of every leaf of the catalogue, the language taken from the nearest zh/en key."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, key if key in ("zh", "en") else lang)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, lang)
    elif isinstance(node, str) and lang:
        yield lang, node


def test_the_catalogue_speaks_one_language_per_side():
    placeholders = re.compile(r"\{[^}]*\}")
    bad = []
    for lang, words in _strings({k: v for k, v in catalogue("app").items() if k != "tab_model"}):
        found = wrong_script(placeholders.sub("", words), lang)
        if found:
            bad.append((lang, words, found))
    for section in ("lib.charts", "lib.assess.headers", "lib.assess.status_text", "lib.notes", "lib.units"):
        for lang, words in _strings(catalogue(section)):
            if found := wrong_script(placeholders.sub("", words), lang):
                bad.append((lang, words, found))
    assert bad == []


def test_one_status_has_one_translation():
    for section in ("lib.assess.status_text", "app.text", "lib.charts"):
        table = catalogue(section)["zh"]
        assert table["met"] == "达标" and table["missed"] == "未达标"


def test_model_notes_read_as_citations_in_both_languages():
    doc = ("Time path lever (per mille): 2016 14.61 [H: Birth rate @ 2016], 2020 10.45 [H: Birth rate @ 2020]; "
           "held after 2020 (ASSUMPTION: no change). CALIBRATED.")
    zh, en = text.readable_note(doc, "zh"), text.readable_note(doc, "en")
    for note in (zh, en):
        assert "[H:" not in note and "ASSUMPTION" not in note and "CALIBRATED" not in note
    assert "出生率" in zh and "2016、2020" in zh and "假设" in zh and "校准" in zh
    assert "(Jinan statistics: Birth rate, 2016)" in en and "Assumption:" in en
    assert text.unit("Dmnl", "zh") == "无量纲" and text.unit("CNY100m/Year", "en") == "100m yuan/year"
    assert text.unit("Person10k", "zh") == "万人"


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (14270.95, "亿元", "14,271.0"), (2618.4, "家", "2,618"), (61.53, "%", "61.5"), (2024.0, "年", "2,024"),
    (0.5634, "吨标准煤/万元", "0.563"), (123456.7, "元", "123,457"), (float("nan"), "", "–"),
])
def test_numbers_read_as_in_a_report(value, unit, shown):
    assert text.number(value, unit) == shown


def test_the_run_table_aligns_chinese_and_fits_120_columns(capsys):
    assert main(["run", "plan", "--all"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert max(width(line) for line in out) <= 120
    blocks_ = [b for b in "\n".join(out).split("\n\n") if b.strip()]
    for block in blocks_[:-1]:
        lines = block.splitlines()
        # every row of a block ends at the same display column (right-aligned numbers)
        assert len({width(line) for line in lines}) == 1, lines[:3]
    assert "2035" in "\n".join(out)
    assert main(["run", "plan"]) == 0
    key = capsys.readouterr().out
    assert "--all" in key  # says the rest is behind --all


def test_blocks_split_by_display_width():
    table = blocks(["常住人口(万人)"], [str(y) for y in range(2015, 2036)], [["1,000.0"] * 21], line_width=60)
    assert all(width(line) <= 60 for line in table.splitlines())
    assert table.count("常住人口") > 1


def test_mc_takes_set(capsys):
    assert main(["--lang", "en", "mc", "baseline", "--n", "64", "--set", "investment_rate=0.7"]) == 0
    out = capsys.readouterr().out
    assert "probability" in out or "energy" in out
    assert main(["mc", "baseline", "--n", "8", "--set", "no_such_lever=1"]) == 2


def test_exports_keep_ids_in_csv_and_names_in_xlsx():
    from openpyxl import load_workbook

    from faces.app import export

    result, labels = simulator.run("baseline"), simulator.labels()
    book = load_workbook(io.BytesIO(export.result_xlsx(result, labels, "en")))
    header = [c.value for c in book["results"][1]]
    variables = pd.read_excel(io.BytesIO(export.result_xlsx(result, labels, "en")), sheet_name="variables",
                              engine="openpyxl")
    name = labels.indicators["gdp_real"]
    assert labels.label(name, "en") in header and name not in header
    assert name in set(variables.iloc[:, 0])
    frame = result.indicators(labels.indicators)
    back = pd.read_csv(io.BytesIO(export.csv_bytes(frame.rename_axis("year"))), index_col="year",
                       encoding="utf-8-sig")
    assert list(back.columns) == list(frame.columns)
    assert back.iloc[5, 0] == pytest.approx(frame.iloc[5, 0], rel=1e-12)


def _figure_texts(figure) -> str:
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in figure.findobj(Text) if t.get_visible() and t.get_text())


@pytest.fixture(scope="module")
def small_ensemble():
    from simulator.analysis.ensemble import run_ensemble

    return run_ensemble("plan", n=32, seed=0)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_report_figure_speaks_its_language(lang, small_ensemble):
    """The library's figures (report, ensemble, sensitivity) carry no string in the other script."""
    from simulator.analysis.sensitivity import tornado
    from simulator.plots import charts, ensembles, feasibility
    from simulator.targets import load_targets
    from simulator.targets.assess import target_table
    from simulator.targets.history import history_frame

    labels, model = simulator.labels(), simulator.load()
    titles = {n: simulator.scenario(n, model).title(lang) for n in ("baseline", "plan")}
    results = {titles[n]: simulator.run(n, model=model) for n in titles}
    frames = {k: r.indicators(labels.indicators) for k, r in results.items()}
    chart_labels = {i: {"zh": labels.name(v, "zh"), "en": labels.name(v, "en"), "unit_zh": labels.unit(v, "zh"),
                        "unit_en": labels.unit(v, "en")} for i, v in labels.indicators.items()}
    shown = labels.views["chart_indicators"]
    note = charts.caption(lang, model.sha256)
    targets = load_targets()
    names = {t.id: t.name(lang) for t in targets}
    figures = {
        "trajectories": charts.trajectories(frames, shown, chart_labels, history=history_frame(labels),
                                            targets=targets, lang=lang, note=note),
        "feasibility": feasibility.feasibility({k: target_table(r, labels, lang) for k, r in results.items()},
                                          lang=lang, note=note),
        "fans": ensembles.fan_chart(small_ensemble.bands, shown[:3], labels, lang=lang),
        "probabilities": ensembles.probability_bars(
            small_ensemble.probabilities.assign(name=lambda f: f["id"].map(names)), lang=lang),
        "tornado": ensembles.tornado_chart(tornado("plan", "energy-intensity-2025"), labels,
                                           names["energy-intensity-2025"], lang=lang, higher_is_better=False,
                                           unit="%"),
    }
    # the tornado says which way is better for the target (an energy-intensity cut: a lower value, left)
    assert "←" in figures["tornado"].axes[0].get_xlabel()
    # ids, the program's name and the model file's hash are code
    code = re.compile(r"\b[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+\b|\b[0-9a-f]{12}\b")
    problems = {k: wrong_script(code.sub("", _figure_texts(f)), lang) for k, f in figures.items()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_empty_cells_show_a_dash_not_none():
    import numpy as np
    import pandas as pd

    from faces.app.format import readable
    from faces.app.tables import EMPTY, styled

    frame = pd.DataFrame({"name": ["a", None], "value": [1234.5, np.nan], "first year": [np.nan, 2023.0],
                          "open end": [np.inf, 3.0]})
    for table in (frame, readable(frame)):
        shown = styled(table).to_string()
        assert "None" not in shown and "nan" not in shown and "inf" not in shown, shown
        assert shown.count(EMPTY) == 4, shown
    assert "2023" in styled(frame).to_string() and "2,023" not in styled(frame).to_string()


def test_every_table_of_the_app_goes_through_tables_show():
    import re
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "faces" / "app"
    direct = [f"{p.name}:{i}" for p in folder.glob("*.py") if p.name != "tables.py"
              for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\.dataframe\(", line)]
    assert direct == [], "st.dataframe without faces.app.tables.show (it shows 'None' in empty cells)"
