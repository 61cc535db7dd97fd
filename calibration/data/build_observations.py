"""Build ``calibration/data/observations.csv`` from ``../shared/data/jinan_history.csv``.

Run from the project root (``python calibration/data/build_observations.py [HISTORY] [OUT]``); the
calibration test rebuilds the file and checks it is unchanged.

Every observation names the history row it comes from (``source_indicator``, ``source_year``,
``source_value``); rows combined with it are cited in ``conversion`` as ``[H: indicator @ year]``. The
uncertainty is the confidence's standard deviation (:data:`calibration.observations.CONFIDENCE_RELATIVE`,
:data:`~calibration.observations.CONFIDENCE_GROWTH_PP`) combined in quadrature with one term per known
break (old boundary converted, pre-census level, registered-population basis), each stated in ``BREAKS``.

Left out on purpose (no model counterpart, no way to convert to the current boundary, or redundant):
old-boundary sector value added 2013-2018 (Laiwu's sector split is not in the data); natural growth and
birth rates (the birth-rate path is itself made of them, so they would test the data against itself);
registered (hukou) population (not modelled); fixed-asset investment and its growth (the model has
capital formation, not FAI); R&D expenditure growth 2020 (= the 2019 and 2020 levels); employment 2020
(467.3 is GDP / labour productivity, a different definition from 580.1 in 2015); Carbon Monitor CO2
(another method: never spliced with CEADs); everything before 2015 (the model starts in 2015).
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pandas as pd

from calibration.observations import COLUMNS, CONFIDENCE_GROWTH_PP, CONFIDENCE_RELATIVE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HISTORY = ROOT.parent / "shared" / "data" / "jinan_history.csv"
OUT = HERE / "observations.csv"
_RANK = {"low": 0, "medium": 1, "high": 2}

# Laiwu's share of the merged city's GDP in 2018: 1005.65 / 8862.21 [H: GDP (Laiwu only, derived ...) @ 2018].
LAIWU_GDP_SHARE_2018 = 1005.65 / 8862.21
# Jinan (old) + Laiwu resident population 2015 and 2018, to interpolate Laiwu in 2016 and 2017.
LAIWU_POP = {2015: 135.16, 2018: 137.9}

#: Extra standard deviations for known breaks, relative (levels, changes) or in points (growth).
BREAKS = {
    # README: "Treat 2015-2018 levels as uncertain by about +/-5 %": pre-census, not revised by the 2019
    # economic census.
    "pre-census GDP": 0.05,
    # Laiwu (11 % of 2018 GDP) grew at an unknown rate; +/-5 points there move the merged rate 0.6 point.
    "old-boundary growth": 0.6,
    # Bulletin birth/death rates are per registered resident; migrants are younger than hukou holders.
    "hukou basis": 0.10,
    # A rate of old Jinan used for the merged city: Laiwu assumed at the same rate.
    "old-boundary rate": 0.05,
    # Old-boundary total water use scaled by population: Laiwu assumed to use as much per resident.
    "water scaled by population": 0.10,
    # Laiwu's reclaimed water in 2015 unknown (assumed small); the 2015 figure is a forecast ("expected").
    "reclaimed water 2015": 0.15,
}


def ref(indicator: str, year, value) -> tuple:
    """A reference to a row of jinan_history.csv (indicator, year, value as printed there)."""
    return (indicator, str(year), float(value))


#: Display names of the series (zh, en).
SERIES = {
    "population": ("常住人口", "Resident population"),
    "death_rate": ("死亡率", "Crude death rate"),
    "gdp_nominal": ("名义GDP", "Nominal GDP"),
    "gdp_deflator": ("GDP平减指数(2020年=1)", "GDP deflator (2020 = 1)"),
    "gdp_growth": ("GDP实际增速", "Real GDP growth"),
    "primary_va": ("第一产业增加值", "Primary industry VA"),
    "secondary_va": ("第二产业增加值", "Secondary industry VA"),
    "tertiary_va": ("第三产业增加值", "Tertiary industry VA"),
    "primary_growth": ("第一产业实际增速", "Primary industry real growth"),
    "secondary_growth": ("第二产业实际增速", "Secondary industry real growth"),
    "tertiary_growth": ("第三产业实际增速", "Tertiary industry real growth"),
    "industrial_growth": ("工业增加值实际增速", "Industrial VA real growth"),
    "industrial_revenue": ("规上工业营业收入", "Industrial revenue (above size)"),
    "rd_intensity": ("研发投入强度", "R&D intensity"),
    "rd_spending": ("研发经费支出", "R&D expenditure"),
    "high_tech": ("高新技术企业数", "High-tech enterprises"),
    "four_new": ("四新经济占比", "Four-new economy share"),
    "water_per_gdp": ("万元GDP用水量变化", "Water per 10k yuan GDP, change"),
    "industrial_water": ("万元工业增加值用水量变化", "Water per 10k yuan industrial VA, change"),
    "water_use": ("用水总量", "Total water use"),
    "irrigation": ("农田灌溉水有效利用系数", "Irrigation efficiency"),
    "reclaimed_water": ("再生水利用量", "Reclaimed water use"),
    "carbon_intensity": ("单位GDP二氧化碳排放变化", "CO2 per unit GDP, change"),
    "industrial_energy": ("单位工业增加值能耗变化", "Energy per unit industrial VA, change"),
    "co2": ("二氧化碳排放(CEADs)", "CO2 emissions (CEADs)"),
    "gdp_per_capita": ("人均GDP", "GDP per capita"),
}


def observations() -> list[dict]:
    """The specification of every observation: kind, variable, sources, conversion and breaks."""
    obs = []

    def add(oid, series, kind, variable, year, sources, value=None, *, indicator="", base_year="", low="",
            high="", unit="", rebase=0, use="fit", conversion="", breaks=(), confidence=None, edge=None,
            sigma_rel=None):
        obs.append(dict(
            id=oid, series=series, series_zh=SERIES[series][0], series_en=SERIES[series][1], kind=kind,
            indicator=indicator, variable=variable, year=year, base_year=base_year,
            value=sources[0][2] if value is None else value, low=low, high=high, unit=unit, rebase=rebase,
            use=use, sources=sources, conversion=conversion, breaks=breaks, confidence=confidence, edge=edge,
            sigma_rel=sigma_rel,
        ))

    pre = "pre-2020-census basis: compared with model / k (k = census re-basing factor, fitted)"
    laiwu = ("[H: Resident population (Laiwu only) @ 2015] and "
             "[H: Resident population year-end (Laiwu only) @ 2018]")
    pop = dict(indicator="population", unit="万人")
    add("population-2015", "population", "level", "total_population", 2015,
        [ref("Resident population year-end (derived 723.31/1.0142)", 2015, 713.2),
         ref("Resident population (Laiwu only)", 2015, 135.16)], 713.2 + 135.16, rebase=-1,
        conversion=f"old Jinan 713.2 + Laiwu 135.16; {pre}", **pop)
    for year, source, old in ((2016, "Resident population year-end", 723.31),
                              (2017, "Resident population year-end (derived 746.04-13.92)", 732.12)):
        lw = LAIWU_POP[2015] + (LAIWU_POP[2018] - LAIWU_POP[2015]) * (year - 2015) / 3
        add(f"population-{year}", "population", "level", "total_population", year,
            [ref(source, year, old), ref("Resident population (Laiwu only)", 2015, 135.16),
             ref("Resident population year-end (Laiwu only)", 2018, 137.9)], round(old + lw, 2), rebase=-1,
            conversion=f"old Jinan {old} + Laiwu {lw:.2f} interpolated linearly between {laiwu}; {pre}",
            **pop)
    add("population-2018", "population", "level", "total_population", 2018,
        [ref("Resident population year-end", 2018, 883.94)], rebase=-1,
        conversion=f"current boundary as published; {pre}", **pop)
    add("population-2019", "population", "level", "total_population", 2019,
        [ref("Resident population year-end (pre-2020-census basis)", 2019, 890.87)], rebase=-1,
        conversion=f"current boundary as published; {pre}", **pop)
    add("population-2020", "population", "level", "total_population", 2020,
        [ref("Resident population (2020 census, 1 Nov 2020)", 2020, 920.2)],
        conversion="census basis (the model's basis); 1 November taken as year-end (2 months of growth, "
        "about 0.15 %, far inside sigma)", **pop)

    deaths = ((2016, "Death rate", 6.27, "old"), (2018, "Death rate", 6.98, "old"),
              (2019, "Death rate", 6.62, "current"), (2020, "Death rate (hukou basis)", 7.31, "current"))
    for year, source, value, boundary in deaths:
        old = boundary == "old"
        add(f"death-rate-{year}", "death_rate", "level", "crude_death_rate", year, [ref(source, year, value)],
            unit="‰", breaks=("hukou basis", "old-boundary rate") if old else ("hukou basis",),
            conversion="registered-population rate used for residents"
            + ("; old-boundary rate used for the merged city" if old else ""))

    gdp = dict(indicator="gdp_nominal", unit="亿元")
    for year, value in ((2015, 6766.06), (2016, 7238.9), (2017, 8097.98), (2018, 8862.21)):
        add(f"gdp-nominal-{year}", "gdp_nominal", "level", "nominal_gdp", year,
            [ref("GDP (Jinan+Laiwu, original pre-census values)", year, value)], breaks=("pre-census GDP",),
            conversion="Jinan + Laiwu sum of original values, before the 2019 economic-census revision",
            **gdp)
    for year, value in ((2019, 9443.37), (2020, 10140.9)):
        add(f"gdp-nominal-{year}", "gdp_nominal", "level", "nominal_gdp", year, [ref("GDP", year, value)],
            conversion="current boundary as published", **gdp)
    add("gdp-deflator-2020", "gdp_deflator", "level", "gdp_deflator", 2020, [ref("GDP", 2020, 10140.9)], 1.0,
        sigma_rel=0.005, conversion="real GDP in constant 2020 prices equals nominal GDP 10140.9 in 2020, so "
        "the deflator is 1 (a definition, not a measurement: sigma 0.5 %)")

    for year, value in ((2016, 7.8), (2017, 8.0), (2018, 7.4), (2019, 7.0), (2020, 4.9)):
        old = year < 2019
        add(f"gdp-growth-{year}", "gdp_growth", "growth", "gdp_real", year,
            [ref("GDP real growth", year, value)], indicator="gdp_real", unit="%",
            breaks=("old-boundary growth",) if old else (),
            conversion="old-boundary growth used for the merged city (Laiwu not known)" if old
            else "current boundary as published")

    sectors = (("primary", 343.1, 361.7, "gdp_primary_real", 2.2),
               ("secondary", 3265.2, 3530.7, "gdp_secondary_nominal/gdp_deflator", 7.0),
               ("tertiary", 5835.09, 6248.6, "gdp_tertiary_nominal/gdp_deflator", 3.7))
    for key, va_2019, va_2020, real, growth in sectors:
        source = f"{key.capitalize()} industry VA"
        for year, value in ((2019, va_2019), (2020, va_2020)):
            add(f"{key}-va-{year}", f"{key}_va", "level", f"gdp_{key}_nominal", year,
                [ref(source, year, value)], indicator=f"gdp_{key}", unit="亿元", use="check",
                conversion="current boundary, current prices, as published; check only: the model's 2019 and "
                "2020 sector shares are these rows / GDP, so in the objective they would count GDP again")
        add(f"{key}-va-growth-2020", f"{key}_growth", "growth", real, 2020,
            [ref(f"{source} real growth", 2020, growth)], unit="%", use="check",
            conversion="check only: the model's sector shares are exogenous nominal paths, so real sector "
            "growth is GDP growth times the change of a nominal share")
    add("industrial-va-growth-2017", "industrial_growth", "growth", "industrial_value_added", 2017,
        [ref("Industrial VA growth", 2017, 8.9)], unit="%", use="check", breaks=("old-boundary growth",),
        conversion="check only (old boundary): industrial VA is GDP times the exogenous secondary-share path")

    revenue_low = 6037.5 * 8097.98 / 7202
    revenue_high = 6037.5 + 2.5 * (6037.5 / 7202) * (8097.98 - 7202)
    add("industrial-revenue-2017", "industrial_revenue", "range", "industrial_revenue", 2017,
        [ref("Industrial main business revenue above designated size (主营业务收入)", 2017, 6037.5)],
        math.nan, low=round(revenue_low, 1), high=round(revenue_high, 1), indicator="industrial_revenue",
        unit="亿元", conversion="old boundary 6037.5; Laiwu's revenue per unit of GDP between 1 and 2.5 "
        "times old Jinan's 6037.5/7202 (steel is revenue-heavy), Laiwu GDP = 8097.98 - 7202 "
        "[H: GDP (Jinan+Laiwu, original pre-census values) @ 2017; GDP (pre-census, original) @ 2017]")

    for year, value in ((2019, 2.39), (2020, 2.62)):
        add(f"rd-intensity-{year}", "rd_intensity", "level", "r_and_d_intensity", year,
            [ref("R&D intensity (R&D/GDP)", year, value)], indicator="rd_intensity", unit="%",
            conversion="current boundary as published")
    add("rd-spending-2020", "rd_spending", "level", "r_and_d_spending", 2020,
        [ref("R&D expenditure", 2020, 265.46)], unit="亿元", use="check",
        conversion="current boundary, current prices; check only: it is R&D intensity x GDP "
        "(2.62 % x 10140.9 = 265.7), both fitted already")

    add("high-tech-2018", "high_tech", "range", "high_tech_enterprises", 2018,
        [ref("High-tech enterprises (count)", 2018, 1547)], math.nan, low=1547, high=round(1547 * 1.15),
        indicator="hightech_enterprises", unit="家", conversion="old boundary 1547 is a floor; Laiwu assumed "
        "to add 0-15 % (it had 11 % of GDP, high-tech firms cluster in Jinan proper)")
    share = 26.5 * (1 - 0.5 * LAIWU_GDP_SHARE_2018)
    add("four-new-2018", "four_new", "range", "four_new_economy_share", 2018,
        [ref("New economy VA share of GDP", 2018, 26.5)], math.nan, low=round(share, 2), high=26.5,
        indicator="four_new_share", unit="%", conversion="old boundary 26.5 %; Laiwu (11.3 % of 2018 GDP "
        "[H: GDP (Laiwu only, derived = Jinan+Laiwu 8862.21 minus old Jinan 7856.56) @ 2018]) assumed to "
        "have between half of and the same share as old Jinan")

    add("water-per-gdp-change-2019", "water_per_gdp", "change", "water_per_10k_gdp", 2019,
        [ref("Water use per 10,000 yuan GDP change vs 2015", 2019, -28.1)], base_year=2015,
        indicator="water_per_gdp", unit="%", conversion="current boundary, change 2015-2019")
    add("industrial-water-change-2019", "industrial_water", "change", "industrial_water_intensity", 2019,
        [ref("Water use per 10,000 yuan industrial VA change vs 2015", 2019, -14.85)], base_year=2015,
        unit="%", conversion="current boundary, change 2015-2019")
    add("water-use-2015", "water_use", "level", "water_use_total", 2015,
        [ref("Total water withdrawal/use (取用水总量)", 2015, 15.22)], round(15.22 * 848.36 / 713.2, 3),
        indicator="water_use_total", unit="亿m³", breaks=("water scaled by population",),
        conversion="old boundary 15.22 x 848.36/713.2 (current/old resident population 2015)")
    add("irrigation-efficiency-2019", "irrigation", "level", "irrigation_efficiency", 2019,
        [ref("Farmland irrigation water effective use coefficient", 2019, 0.6541)],
        conversion="current boundary as published")
    add("reclaimed-water-2015", "reclaimed_water", "level", "reclaimed_water_capacity", 2015,
        [ref("Reclaimed water reuse (urban) - expected", 2015, 12.3)], round(12.3 * 365 / 10000, 4),
        unit="亿m³", breaks=("reclaimed water 2015",),
        conversion="12.3 10k m3/day x 365 / 10000; old boundary, a forecast for 2015")
    add("reclaimed-water-2019", "reclaimed_water", "level", "reclaimed_water_capacity", 2019,
        [ref("Reclaimed water use (total)", 2019, 45)], round(45 * 365 / 10000, 4), unit="亿m³",
        conversion="45 10k m3/day x 365 / 10000; current boundary")

    add("carbon-intensity-change-2020", "carbon_intensity", "change", "carbon_intensity", 2020,
        [ref("CO2 per unit GDP, cumulative change 2016-2020 (13th FYP)", 2020, -32)], base_year=2015,
        indicator="carbon_intensity", unit="%", use="check",
        conversion="13th FYP cumulative change = 2020 vs 2015; check only: the model's 2015-2020 fuel mix is "
        "held flat (ASSUMPTION) and no mix or services-efficiency constant is CALIBRATED, so fitting it "
        "pushes industrial efficiency past the -20..-25 % reported and slows migration to cut household "
        "energy (see calibration/README.md)")
    add("industrial-energy-change-2020", "industrial_energy", "range",
        "industrial_energy_demand/industrial_value_added", 2020,
        [ref("Energy per unit industrial VA, cumulative change 2016-2020 (13th FYP)", 2020, -20)], math.nan,
        base_year=2015, low=-25, high=-20, unit="%", conversion="'20 % or more' (降低20%以上) = change "
        "2015-2020 of -20 % or beyond; ASSUMPTION: not beyond -25 %, as an official summary rounds the "
        "achieved value down to a round figure and would have quoted 25 % had it been reached; energy of "
        "industry / industrial VA")
    ceads = dict(indicator="co2_emissions", unit="Mt", confidence="low", edge=0.05)
    for year, value in ((2015, 130.11), (2016, 137.11), (2017, 131.97)):
        add(f"co2-ceads-{year}", "co2", "range", "co2_emissions", year,
            [ref("CO2 emissions (CEADs), Jinan+Laiwu sum (derived)", year, value)], math.nan,
            low=round(value * 0.85, 2), high=round(value * 1.15, 2),
            conversion="CEADs Jinan + Laiwu, used as a range +/-15 % (data README: low confidence, ranges "
            "not truth); edges soft with sigma 5 %", **ceads)
    add("co2-ceads-2019", "co2", "range", "co2_emissions", 2019,
        [ref("CO2 emissions (CEADs apparent-energy inventory)", 2019, 103.72)], math.nan,
        low=round(103.72 * 0.85, 2), high=round(103.72 * 1.15, 2), use="check",
        conversion="check only: CEADs breaks in 2019 (new boundary mapping), not spliced with 2015-2017",
        **ceads)

    add("gdp-per-capita-2020", "gdp_per_capita", "level", "gdp_per_capita_nominal", 2020,
        [ref("GDP per capita", 2020, 11.36)], 113600.0, unit="元", rebase=1, use="check",
        conversion="11.36 10k yuan; the bulletin divides by the pre-census population (10140.9/11.36 = 893), "
        "so compared with model x k; check only, it repeats GDP and population")
    return obs


def sigma_of(spec: dict, confidence: str) -> tuple[float, str]:
    """One standard deviation in the units of the observation, and how it was made."""
    kind, breaks = spec["kind"], spec["breaks"]
    if spec["sigma_rel"] is not None:
        return spec["sigma_rel"] * abs(spec["value"]), f"stated {spec['sigma_rel']:.1%} of the value"
    if kind == "growth":
        terms = [CONFIDENCE_GROWTH_PP[confidence]] + [BREAKS[b] for b in breaks]
        note = " (+) ".join([f"{confidence} {terms[0]:g} pt"] + [f"{b} {BREAKS[b]:g} pt" for b in breaks])
        return math.hypot(*terms), note
    rel = spec["edge"] if spec["edge"] is not None else CONFIDENCE_RELATIVE[confidence]
    terms = [rel] + [BREAKS[b] for b in breaks]
    total = math.hypot(*terms)
    note = " (+) ".join([f"{confidence} {rel:.0%}"] + [f"{b} {BREAKS[b]:.0%}" for b in breaks])
    if kind == "change" or (kind == "range" and spec["base_year"] != ""):
        # Relative uncertainty of the ratio x[year]/x[base], in percentage points of change.
        edge = spec["high"] if spec["high"] != "" else spec["low"]
        ratio = 1 + (spec["value"] if kind == "change" else edge) / 100
        return 100 * total * ratio, f"{note} of the ratio {ratio:.3f}"
    if kind == "range":
        finite = [v for v in (spec["low"], spec["high"]) if v != ""]
        scale = sum(finite) / len(finite)
        return total * scale, f"edges: {note} of {scale:g}"
    return total * abs(spec["value"]), f"{note} of the value"


def build(history_path: Path = HISTORY) -> pd.DataFrame:
    """The observations table; raises ValueError if a cited history row is missing."""
    history = pd.read_csv(history_path, dtype=str, keep_default_na=False)
    # Some values are not numbers (e.g. "5.0:37.8:57.2"); they never match a cited value.
    numbers = pd.to_numeric(history["value"], errors="coerce")
    rows = []
    for spec in observations():
        found = []
        for indicator, year, value in spec["sources"]:
            match = history[(history["indicator"] == indicator) & (history["year"] == year)
                            & (numbers == value)]
            if match.empty:
                raise ValueError(f"{spec['id']}: no history row {indicator!r} @ {year} = {value:g}")
            # Duplicated rows (two sources, same number): the most confident one stands for both.
            found.append(match.loc[match["confidence"].map(_RANK).idxmax()])
        first = found[0]
        confidence = spec["confidence"] or min((r["confidence"] for r in found), key=_RANK.get)
        sigma, note = sigma_of(spec, confidence)
        row = {k: spec[k] for k in COLUMNS if k in spec}
        row.update(sigma=float(f"{sigma:.4g}"), sigma_note=note, confidence=confidence,
                   boundary=first["boundary"], source_indicator=first["indicator"], source_year=first["year"],
                   source_value=first["value"])
        if spec["kind"] == "range":
            row["value"] = ""
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def main(argv: list[str] | None = None) -> int:
    """Write the observations file: ``build_observations.py [HISTORY] [OUT]``."""
    argv = sys.argv[1:] if argv is None else argv
    history = Path(argv[0]) if argv else HISTORY
    out = Path(argv[1]) if len(argv) > 1 else OUT
    build(history).to_csv(out, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
