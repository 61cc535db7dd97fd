"""Target registry (models/targets.toml) and target evaluation on hand-made series."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.targets import (
    EVALUATE_COLUMNS,
    NO_PEAK,
    NOT_YET_PEAKED,
    PROBABILITY_COLUMNS,
    TESTS,
    Target,
    TargetError,
    check_indicator_mapping,
    evaluate,
    load_targets,
    peak_years,
    probabilities,
    wilson_interval,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
TARGETS_CSV = SHARED / "data" / "targets.csv"
SEED = SHARED / "seed" / "000_c0687540c043e1c8.txt"
YEARS = np.arange(2015, 2036)


def make(
    test: str,
    value: float | None,
    year: int = 2025,
    base_year: int | None = None,
    unit: str = "u",
    indicator: str = "x",
    modelled: str = "yes",
) -> Target:
    """A hand-made target on indicator ``x``."""
    return Target(
        id=f"t-{test.replace('_', '-')}",
        name_zh="目标",
        name_en="target",
        indicator=indicator,
        unit=unit,
        test=test,
        year=year,
        kind="expected",
        modelled=modelled,
        source="test",
        quote="test",
        base_year=base_year,
        value=value,
    )


def one(target: Target, x, years=YEARS, **kwargs) -> pd.Series:
    """Evaluate one target on one run and return its row."""
    table = evaluate([target], {"x": np.asarray(x, dtype=float)}, years, **kwargs)
    assert len(table) == 1
    return table.iloc[0]


def ramp(first: float, last: float) -> np.ndarray:
    return np.linspace(first, last, YEARS.size)


# --------------------------------------------------------------------------- registry


def test_registry_loads_and_ids_are_unique():
    targets = load_targets()
    assert len(targets) == 33
    assert len({t.id for t in targets}) == len(targets)
    assert {t.test for t in targets} <= TESTS


@pytest.mark.skipif(not TARGETS_CSV.exists(), reason=f"{TARGETS_CSV} not found (shared/ absent)")
def test_every_csv_row_is_in_the_registry_with_the_same_values():
    with TARGETS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    targets = load_targets()
    assert [t.id for t in targets] == [row["id"] for row in rows]
    for row, target in zip(rows, targets, strict=True):
        for key in (
            "name_zh",
            "name_en",
            "indicator",
            "unit",
            "test",
            "kind",
            "modelled",
            "source",
            "quote",
        ):
            assert getattr(target, key) == row[key], (target.id, key)
        assert target.year == int(row["year"])
        assert target.base_year == (int(row["base_year"]) if row["base_year"] else None)
        assert target.value == (float(row["value"]) if row["value"] else None), target.id
        cited = re.search(r"seed 000_c0687540c043e1c8\.txt (§\d+(?:, §\d+)*)", row["source"])
        assert target.paragraph == (cited.group(1) if cited else None), target.id


@pytest.mark.skipif(not SEED.exists(), reason=f"{SEED} not found (shared/ absent)")
def test_quotes_of_targets_sourced_from_the_seed_appear_in_it():
    # The seed wraps lines and bolds phrases; compare without whitespace and markup.
    text = re.sub(r"\s+|\*", "", SEED.read_text(encoding="utf-8"))
    for target in load_targets():
        if target.source.startswith("seed "):
            assert re.sub(r"\s+", "", target.quote) in text, target.id


GOOD = """
[[target]]
id = "a-2025"
name_zh = "甲"
name_en = "A"
indicator = "x"
unit = "%"
test = "change_le"
base_year = 2020
year = 2025
value = -14.8
kind = "binding"
modelled = "yes"
source = "somewhere"
quote = "原文"
"""


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda s: s.replace('quote = "原文"\n', ""), "quote"),
        (lambda s: s.replace('"change_le"', '"change_lt"'), "test"),
        (lambda s: s.replace("-14.8", '"-14.8"'), "value"),
        (lambda s: s.replace("base_year = 2020\n", ""), "base_year"),
        (lambda s: s.replace("base_year = 2020", "base_year = 2025"), "base_year"),
        (lambda s: s.replace('"change_le"', '"level_le"'), "base_year"),
        (lambda s: s.replace('"binding"', '"hard"'), "kind"),
        (lambda s: s.replace('"yes"', "true"), "modelled"),
        (lambda s: s.replace("year = 2025", "year = 2025.0"), "year"),
        (lambda s: s.replace('unit = "%"', 'unit = "ratio to 2015"'), "unit"),
        (lambda s: s + 'colour = "red"\n', "colour"),
        (lambda s: s + GOOD, "id"),
    ],
)
def test_malformed_targets_give_one_line_errors_naming_file_target_and_key(tmp_path, edit, key):
    path = tmp_path / "targets.toml"
    path.write_text(edit(GOOD), encoding="utf-8")
    with pytest.raises(TargetError) as error:
        load_targets(path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message and "'a-2025'" in message and f"'{key}'" in message


def test_good_file_loads_and_file_level_errors_are_one_line(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(GOOD, encoding="utf-8")
    (target,) = load_targets(path)
    assert target.value == -14.8 and target.base_year == 2020 and target.paragraph is None
    for text in ("[[target]\n", 'title = "x"\n'):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(TargetError, match=re.escape(str(path))) as error:
            load_targets(path)
        assert "\n" not in str(error.value)
    with pytest.raises(TargetError, match="file not found"):
        load_targets(tmp_path / "absent.toml")


# --------------------------------------------------------------------------- single tests


def test_level_tests_exactly_on_target():
    x = ramp(0, 20)  # 2025 -> 10
    assert one(make("level_ge", 10), x).status == "met"
    assert one(make("level_le", 10), x).status == "met"
    row = one(make("level_gt", 10), x)
    assert row.status == "missed" and row.margin == 0 and row.simulated == 10


def test_level_margin_and_first_year_met():
    x = ramp(0, 20)  # +1 per year from 2015
    row = one(make("level_ge", 8), x)
    assert row.status == "met" and row.margin == pytest.approx(2)
    assert row.margin_pct == pytest.approx(25) and row.first_year_met == 2023
    row = one(make("level_gt", 12), x)
    assert row.status == "missed" and row.margin == pytest.approx(-2)
    assert row.first_year_met == 2028  # first year above 12, after the target year
    row = one(make("level_le", 5), x)
    assert row.status == "missed" and row.margin == pytest.approx(-5) and row.first_year_met == 2015
    assert np.isnan(one(make("level_ge", 50), x).first_year_met)


def test_change_as_percent_and_as_ratio():
    x = np.full(YEARS.size, 100.0)
    x[YEARS >= 2021] = 85.2  # -14.8 % from 2021 on
    row = one(make("change_le", -14.8, base_year=2020, unit="%"), x)
    assert row.status == "met" and row.simulated == pytest.approx(-14.8)
    assert row.first_year_met == 2021
    x[YEARS == 2025] = 85.3
    row = one(make("change_le", -14.8, base_year=2020, unit="%"), x)
    assert row.status == "missed" and row.margin == pytest.approx(-0.1)
    assert row.margin_pct == pytest.approx(-100 * 0.1 / 14.8)

    y = np.where(YEARS <= 2020, 3.0, 3.0 + 0.2 * (YEARS - 2020))  # 6 in 2035
    row = one(make("change_ge", 2.0, year=2035, base_year=2020, unit="ratio to 2020"), y)
    assert row.status == "met" and row.simulated == pytest.approx(2.0) and row.margin == 0
    assert row.first_year_met == 2035
    row = one(make("change_ge", 2.5, year=2035, base_year=2020, unit="ratio to 2020"), y)
    assert row.status == "missed" and row.margin == pytest.approx(-0.5)


def test_average_growth():
    x = 100.0 * 1.07 ** (YEARS - 2020.0)
    row = one(make("avg_growth_ge", 7.0, base_year=2020, unit="%/yr"), x)
    assert row.status == "met" and row.simulated == pytest.approx(7.0)
    assert row.first_year_met == 2025  # the level 7 %/yr gives in 2025 is reached in 2025
    slow = 100.0 * 1.069 ** (YEARS - 2020.0)
    row = one(make("avg_growth_ge", 7.0, base_year=2020, unit="%/yr"), slow)
    assert row.status == "missed" and row.margin == pytest.approx(-0.1)
    assert row.first_year_met == 2026


def test_cumulative_sum_from_the_year_after_the_base():
    x = np.where(YEARS > 2020, 15.0, 1000.0)  # the base year itself does not count
    row = one(make("cumulative_ge", 75, base_year=2020), x)
    assert row.status == "met" and row.simulated == 75 and row.first_year_met == 2025
    row = one(make("cumulative_ge", 75, base_year=2020), np.where(YEARS > 2020, 14.9, 0.0))
    assert row.status == "missed" and row.simulated == pytest.approx(74.5)
    assert row.first_year_met == 2026
    gap = np.delete(YEARS, 8)  # no 2023
    row = one(make("cumulative_ge", 75, base_year=2020), np.ones(gap.size), years=gap)
    assert row.status == "not assessed" and "2021–2025" in row.reason


def test_peak_by():
    peak_2024 = -np.abs(YEARS - 2024.0)
    row = one(make("peak_by", 2025, unit="year"), peak_2024)
    assert row.status == "met" and row.simulated == 2024 and row.margin == 1
    assert row.peak_level == 0 and np.isnan(row.margin_pct) and np.isnan(row.first_year_met)
    row = one(make("peak_by", 2025, unit="year"), -np.abs(YEARS - 2026.0))
    assert row.status == "missed" and row.margin == -1
    rising = one(make("peak_by", 2030, year=2030, unit="year"), ramp(1, 2), lang="en")
    assert rising.status == "missed" and np.isnan(rising.simulated)
    assert rising.note == "not yet peaked by 2035" and rising.peak_level == 2
    plateau = np.minimum(YEARS, 2027.0)  # flat from 2027: the earliest maximum counts
    assert one(make("peak_by", 2030, year=2030, unit="year"), plateau).simulated == 2027


def test_peak_years_sentinels():
    series = np.vstack([-np.abs(YEARS - 2024.0), ramp(0, 1), ramp(0, 1)])
    series[2, 3] = np.nan
    assert peak_years(series, YEARS).tolist() == [2024, NOT_YET_PEAKED, NO_PEAK]
    assert peak_years(ramp(1, 0), YEARS).tolist() == [2015]


def test_all_years_cap_and_floor():
    x = np.full(YEARS.size, 20.0)
    x[YEARS == 2019] = 22.0
    row = one(make("level_le_all_years", 21.9), x, lang="en")
    assert row.status == "missed" and row.simulated == 22 and row.margin == pytest.approx(-0.1)
    assert row.note == "first above the cap in 2019"
    x[YEARS == 2019] = 21.9  # exactly at the cap
    assert one(make("level_le_all_years", 21.9), x).status == "met"
    x[YEARS == 2026] = 30.0  # after the target year: does not count
    assert one(make("level_le_all_years", 21.9), x).status == "met"
    row = one(make("level_ge_all_years", 19.0), np.where(YEARS == 2017, 18.0, 20.0))
    assert row.status == "missed" and row.simulated == 18 and "2017" in row.note
    assert one(make("level_ge_all_years", 18.0), np.where(YEARS == 2017, 18.0, 20.0)).margin == 0


# --------------------------------------------------------------------------- not assessed


def test_not_assessed_with_reasons():
    x = ramp(0, 20)
    row = one(make("level_ge_all_years", None), x, lang="en")
    assert row.status == "not assessed" and "no number" in row.reason
    late = np.arange(2021, 2036)
    row = one(make("change_le", -10, base_year=2020), np.ones(late.size), years=late, lang="en")
    assert row.status == "not assessed" and row.reason.startswith("base year 2020 outside")
    row = one(make("level_ge", 1, year=2040), x, lang="en")
    assert row.status == "not assessed" and "target year 2040" in row.reason
    row = one(make("level_ge", 1), np.where(YEARS == 2025, np.nan, 1.0), lang="en")
    assert row.status == "not assessed" and "NaN" in row.reason and np.isnan(row.simulated)
    zero_base = np.where(YEARS == 2020, 0.0, 1.0)
    row = one(make("change_le", -10, base_year=2020), zero_base, lang="en")
    assert row.status == "not assessed" and "zero" in row.reason


def test_indicators_absent_from_results_are_reported_not_dropped():
    targets = [
        make("level_ge", 1, indicator=name, modelled=modelled)
        for name, modelled in (("parks", "no"), ("gdp", "yes"), ("tourism", "optional"))
    ]
    targets = [replace(t, id=f"t-{t.indicator}") for t in targets]
    table = evaluate(targets, {"x": ramp(0, 1)}, YEARS, lang="en")
    assert table["id"].tolist() == ["t-parks", "t-gdp", "t-tourism"]
    assert (table["status"] == "not assessed").all()
    assert table["reason"].tolist() == [
        "not in the model (a target the model does not simulate)",
        "indicator 'gdp' missing from the results",
        "indicator 'tourism' not computed by the model",
    ]
    table = evaluate(targets, {}, YEARS, assessable={"tourism"}, lang="en")
    assert table["reason"].iloc[1] == "indicator 'gdp' not computed by the model"
    assert table["reason"].iloc[2] == "indicator 'tourism' missing from the results"


def test_real_registry_on_partial_results_lists_every_target():
    targets = load_targets()
    table = evaluate(targets, {"population": ramp(850, 1010)}, YEARS)
    assert list(table.columns) == list(EVALUATE_COLUMNS)
    assert table["id"].tolist() == [t.id for t in targets]
    assert table.set_index("id").loc["population-2025", "status"] == "missed"
    assert table.set_index("id").loc["population-2025", "name"] == "常住人口规模"
    assert (table.loc[table["id"] != "population-2025", "reason"] != "").all()


# --------------------------------------------------------------------------- ensembles


def _all_kinds() -> list[Target]:
    tests = [
        make("level_ge", 10),
        make("level_gt", 10),
        make("level_le", 10),
        make("change_le", -5, base_year=2020, unit="%"),
        make("change_ge", 1.5, year=2035, base_year=2020, unit="ratio to 2020"),
        make("avg_growth_ge", 3, base_year=2020, unit="%/yr"),
        make("cumulative_ge", 40, base_year=2020),
        make("peak_by", 2030, unit="year"),
        make("level_le_all_years", 12),
        make("level_ge_all_years", 1),
    ]
    return [replace(t, id=f"{t.id}-{i}") for i, t in enumerate(tests)]


def _ensemble(n_runs: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    growth = rng.uniform(-0.05, 0.08, size=(n_runs, 1))
    turn = rng.integers(2018, 2040, size=(n_runs, 1))
    level = 10.0 * (1 + growth) ** (YEARS - 2020.0)
    return np.where(turn >= YEARS, level, level * 0.97 ** (YEARS - turn)) + rng.normal(
        0, 0.3, size=(n_runs, YEARS.size)
    )


def test_r_runs_at_once_equal_r_single_evaluations():
    targets, series = _all_kinds(), _ensemble(9)
    series[4, 7] = np.nan
    failed = np.zeros(9, dtype=bool)
    failed[6] = True
    together = evaluate(targets, {"x": series}, YEARS, failed=failed)
    assert len(together) == 9 * len(targets)
    assert set(together["status"]) == {"met", "missed", "not assessed"}
    for run in range(9):
        alone = evaluate(targets, {"x": series[run]}, YEARS, failed=failed[run : run + 1])
        mine = together[together["run"] == run].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.drop(columns="run"))


def test_probabilities_exclude_and_count_failed_and_nan_runs():
    targets, series = _all_kinds(), _ensemble(50)
    series[3, :] = np.nan
    series[5, 2] = np.nan
    failed = np.zeros(50, dtype=bool)
    failed[[0, 1]] = True
    table = probabilities(targets, {"x": series}, YEARS, failed=failed)
    assert list(table.columns) == list(PROBABILITY_COLUMNS)
    per_run = evaluate(targets, {"x": series}, YEARS, failed=failed)
    for row in table.itertuples():
        runs = per_run[per_run["id"] == row.id]
        assert row.n_runs == 50 and row.n_failed == 2
        assert row.n_valid == (runs["status"] != "not assessed").sum()
        assert row.n_met == (runs["status"] == "met").sum()
        assert row.n_valid + row.n_failed + row.n_nan == 50
        assert row.ci_low <= row.probability <= row.ci_high
    level = table.set_index("test").loc["level_ge"]
    assert level.n_nan == 1  # run 5's NaN is in 2017, which a 2025 level does not read
    peak = table.set_index("test").loc["peak_by"]
    assert (
        peak.n_nan == 2
        and peak.n_valid == 46
        and sum(peak.peak_year_counts.values()) == peak.n_valid
    )
    assert peak.share_not_yet_peaked == peak.peak_year_counts.get(NOT_YET_PEAKED, 0) / 46


def test_probabilities_on_unassessable_targets_and_all_runs_failed():
    targets = [make("level_ge", 1, indicator="absent"), make("level_ge", 1)]
    targets = [replace(targets[0], id="absent"), targets[1]]
    table = probabilities(
        targets, {"x": np.ones((4, YEARS.size))}, YEARS, failed=np.ones(4, dtype=bool), lang="en"
    )
    assert table["n_valid"].tolist() == [0, 0]
    assert table["probability"].isna().all() and table["ci_low"].isna().all()
    assert table["reason"].tolist() == [
        "indicator 'absent' missing from the results",
        "no valid runs",
    ]


def test_wilson_interval_known_case():
    low, high = wilson_interval(30, 100)
    # Reference values of the Wilson score interval for 30/100 at 95 %.
    assert float(low) == pytest.approx(0.21895, abs=1e-5)
    assert float(high) == pytest.approx(0.39585, abs=1e-5)
    # The bounds solve |p_hat - p| = z sqrt(p (1 - p) / n).
    for bound in (float(low), float(high)):
        assert abs(0.3 - bound) == pytest.approx(1.959964 * math.sqrt(bound * (1 - bound) / 100))
    low, high = wilson_interval(np.array([0, 10, 0]), np.array([10, 10, 0]))
    assert low[0] == 0 and high[1] == 1 and np.isnan(low[2]) and np.isnan(high[2])


def test_uniform_toy_probability_inside_the_interval():
    rng = np.random.default_rng(20240501)
    x = rng.uniform(0.0, 1.0, size=(20_000, 1)) * np.ones(YEARS.size)
    (row,) = probabilities([make("level_ge", 0.7)], {"x": x}, YEARS).itertuples()
    assert row.n_valid == 20_000
    assert row.ci_low <= 0.3 <= row.ci_high
    assert row.ci_high - row.ci_low < 0.03


def test_single_run_series_broadcast_and_shape_errors():
    targets = [make("level_ge", 10), replace(make("level_ge", 1, indicator="y"), id="y")]
    table = probabilities(targets, {"x": _ensemble(6), "y": ramp(0, 2)}, YEARS)
    assert table["n_valid"].tolist() == [6, 6] and table["probability"].iloc[1] == 1
    with pytest.raises(ValueError, match="'x'"):
        evaluate(targets, {"x": np.ones(5)}, YEARS)
    with pytest.raises(ValueError, match="runs"):
        evaluate(targets, {"x": np.ones((3, 21)), "y": np.ones((4, 21))}, YEARS)
    with pytest.raises(ValueError, match="years"):
        evaluate(targets, {"x": np.ones(21)}, YEARS[::-1])
    with pytest.raises(ValueError, match="failed"):
        evaluate(targets, {"x": np.ones(21)}, YEARS, failed=np.zeros(2, dtype=bool))


# --------------------------------------------------------------------------- mapping


def test_check_indicator_mapping():
    targets = [
        replace(make("level_ge", 1, indicator=name, modelled=modelled), id=name)
        for name, modelled in (
            ("gdp", "yes"),
            ("pop", "yes"),
            ("tour", "optional"),
            ("parks", "no"),
        )
    ]
    assert (
        check_indicator_mapping(
            targets, {"gdp": "gdp_real", "pop": "population"}, {"gdp_real", "population"}
        )
        == []
    )
    problems = check_indicator_mapping(
        targets, {"gdp": "gdp_real", "tour": "tourism"}, {"gdp_real"}
    )
    assert len(problems) == 2
    assert "'pop'" in problems[0] and "modelled = yes" in problems[0]
    assert "'tourism'" in problems[1] and "not a model variable" in problems[1]
