"""Build ``calibration/data/observations.csv`` from ``../shared/data/jinan_history.csv``.

Run from the project root (``python calibration/data/build_observations.py [HISTORY] [OUT]``); the
calibration test rebuilds the file and checks it is unchanged.

Every observation names the history row it comes from (``source_indicator``, ``source_year``,
``source_value``); rows combined with it are cited in ``conversion`` as ``[H: indicator @ year]``. The
uncertainty is the confidence's standard deviation (:data:`calibration.observations.CONFIDENCE_RELATIVE`,
:data:`~calibration.observations.CONFIDENCE_GROWTH_PP`) combined in quadrature with one term per known
break (old boundary converted, pre-census level, registered-population basis), each stated in ``BREAKS``.

Model v2 adds (see ``add_v2``) urbanisation 2015, 2016 and 2019 (pre-census, break sigma) and the 2020
census (the anchor), the 2020 census age shares, the crude birth rates, high-tech enterprises 2019 (floor)
and 2020, the four-new and digital shares 2019, R&D intensity 2016-2017 (old boundary, low), urban income
2015-2017, new urban jobs 2016, 2018 (old boundary, as ranges) and 2020, and as checks FAI growth, R&D
spending 2019, the EIU income row and the census urban population.

Left out on purpose (no model counterpart, no way to convert to the current boundary, or redundant):
old-boundary sector value added 2013-2018 (Laiwu's sector split is not in the data); natural growth rates
(= birth rate - death rate, both used); registered (hukou) population and the hukou-basis 60+/65+/80+ counts
of the ageing office (not modelled); urbanisation 2018 (72.1 %, low confidence, boundary unknown: 538.9 /
746.04 makes it old Jinan) and Laiwu's 2016-2017 rates alone (no old-Jinan 2017 rate to add them to); the
urban-population counts (= rate x population; the 2020 census count is a check); the 2010 census (before
the model starts); fixed-asset investment levels (FAI growth rates are checks: the model has no investment
cycle); R&D expenditure growth 2020 (= the 2019 and 2020 levels); employment 2020
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
    # The 2020 census re-based the resident count up by about 2 % (census_rebasing_factor); if the
    # re-based residents were mostly urban migrants, a pre-census urban share is about 0.5-1 point low.
    "pre-census urban share": 0.012,
    # Laiwu's 2015 urban share comes from a low-confidence infobox; Laiwu is 16 % of the merged city, so
    # its 15 % uncertainty moves the merged share by about 15 % x 0.16 x 58.84/66.5 = 2 %.
    "Laiwu 2015 urban share": 0.02,
    # R&D rows reported in Feb 2019 "as 2018" are probably 2017 data (one-year publication lag): the data
    # year may be off by one, worth about a tenth of the level at 2016-2017 growth.
    "R&D data year": 0.10,
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
    "birth_rate": ("出生率", "Crude birth rate"),
    "urbanization": ("常住人口城镇化率", "Urbanisation rate"),
    "urban_population": ("城镇人口", "Urban population"),
    "age_share": ("年龄结构(2020年普查)", "Age shares (2020 census)"),
    "fai_growth": ("固定资产投资增速", "Fixed-asset investment growth"),
    "urban_income": ("城镇居民人均可支配收入", "Urban disposable income per capita"),
    "income": ("居民人均可支配收入", "Disposable income per capita"),
    "new_jobs": ("新增城镇就业", "New urban jobs"),
    "digital": ("数字经济占比", "Digital economy share"),
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

    add_v2(add)
    add("gdp-per-capita-2020", "gdp_per_capita", "level", "gdp_per_capita_nominal", 2020,
        [ref("GDP per capita", 2020, 11.36)], 113600.0, unit="元", rebase=1, use="check",
        conversion="11.36 10k yuan; the bulletin divides by the pre-census population (10140.9/11.36 = 893), "
        "so compared with model x k; check only, it repeats GDP and population")
    return obs


CENSUS_TOTAL = ref("Resident population (2020 census, 1 Nov 2020)", 2020, 920.2)
CENSUS_PERSONS = 9202432


def add_v2(add) -> None:
    """Observations from the rows added for model v2 (urbanisation, census ages, births, high-tech, R&D,
    investment, income, jobs, digital economy)."""
    pre = "pre-2020-census basis (break sigma); the 2020 census is the anchor"
    urb = dict(indicator="urbanization_rate", unit="%")
    jinan15, laiwu15 = 713.2, 135.16
    add("urbanization-2015", "urbanization", "level", "urbanization_rate", 2015,
        [ref("Urbanization rate", 2015, 67.96),
         ref("Resident population year-end (derived 723.31/1.0142)", 2015, jinan15),
         ref("Urban resident population (Laiwu only)", 2015, 79.53),
         ref("Resident population (Laiwu only)", 2015, laiwu15)],
        round((67.96 * jinan15 + 100 * 79.53) / (jinan15 + laiwu15), 2), confidence="medium",
        breaks=("pre-census urban share", "Laiwu 2015 urban share"),
        conversion=f"(old Jinan 67.96 % x 713.2 + Laiwu urban 79.53) / (713.2 + 135.16); {pre}; Laiwu's "
        "urban count is from a low-confidence infobox (its own break term; the merged rate rests on old "
        "Jinan's medium row for 84 % of its weight)", **urb)
    lw16 = LAIWU_POP[2015] + (LAIWU_POP[2018] - LAIWU_POP[2015]) / 3
    add("urbanization-2016", "urbanization", "level", "urbanization_rate", 2016,
        [ref("Urban resident population", 2016, 502.41), ref("Resident population year-end", 2016, 723.31),
         ref("Urban resident population (Laiwu only, derived: 86.11 - 2.02)", 2016, 84.09),
         ref("Resident population (Laiwu only)", 2015, 135.16),
         ref("Resident population year-end (Laiwu only)", 2018, 137.9)],
        round(100 * (502.41 + 84.09) / (723.31 + lw16), 2), breaks=("pre-census urban share",),
        conversion=f"(old Jinan urban 502.41 + Laiwu urban 84.09) / (723.31 + Laiwu {lw16:.2f}, interpolated "
        f"2015-2018); {pre}", **urb)
    add("urbanization-2019", "urbanization", "level", "urbanization_rate", 2019,
        [ref("Urbanization rate", 2019, 71.21)], breaks=("pre-census urban share",),
        conversion=f"merged city as published (634.38 / 890.87); {pre}", **urb)
    add("urbanization-2020", "urbanization", "level", "urbanization_rate", 2020,
        [ref("Urbanization rate (2020 census)", 2020, 73.46)],
        conversion="2020 census, current boundary (the anchor of the urbanisation fit)", **urb)
    add("urban-population-2020", "urban_population", "level", "urban_population", 2020,
        [ref("Urban resident population (2020 census)", 2020, 6760007)], 676.0007, unit="万人", use="check",
        indicator="urban_population", conversion="6760007 persons = 676.0 万; check only: it is the census "
        "rate x the census population, both fitted")

    ages = (("0-9", "share_aged_0_to_9", "Population aged 0-9 (2020 census)", 1092005, "fit"),
            ("10-19", "share_aged_10_to_19", "Population aged 10-19 (2020 census)", 950510, "fit"),
            ("60-64", "share_aged_60_to_64", "Population aged 60-64 (2020 census, derived 1837112-1294977)",
             542135, "fit"),
            ("65plus", "share_aged_65_plus", "Population aged 65+ (2020 census)", 1294977, "fit"),
            ("15-64", "share_aged_15_to_64", "Population aged 15-64 (2020 census)", 6394812, "check"))
    for label, variable, source, persons, use in ages:
        add(f"age-share-{label}-2020", "age_share", "level", variable, 2020, [ref(source, 2020, persons),
            CENSUS_TOTAL], round(100 * persons / CENSUS_PERSONS, 3), unit="%", use=use,
            conversion=f"{persons} / {CENSUS_PERSONS} persons (2020 census, 1 November)"
            + ("; check only: 100 minus the fitted groups" if use == "check" else ""))
    add("age-share-0-14-2020", "age_share", "level", "share_aged_0_to_14", 2020,
        [ref("Population share aged 0-14 (2020 census)", 2020, 16.44)], unit="%",
        conversion="2020 census as published (with the 0-9 group it fixes 10-14 and 15-19)")

    births = ((2016, "Birth rate", 14.61, True), (2018, "Birth rate", 14.57, True),
              (2019, "Birth rate", 12.86, False), (2020, "Birth rate (hukou basis)", 10.45, False))
    for year, source, value, old in births:
        add(f"birth-rate-{year}", "birth_rate", "level", "crude_birth_rate", year, [ref(source, year, value)],
            unit="‰", breaks=("hukou basis", "old-boundary rate") if old else ("hukou basis",),
            conversion="registered-population rate used for residents"
            + ("; old-boundary rate used for the merged city" if old else "")
            + "; the fertility index path has these rates' shape, so they mostly fix its level (with the "
            "census 0-9 group, the births of 2011-2020 on the resident basis)")

    add("high-tech-2019", "high_tech", "range", "high_tech_enterprises", 2019,
        [ref("High-tech enterprises (count, lower bound)", 2019, 2200)], math.nan, low=2200,
        indicator="hightech_enterprises", unit="家", conversion="'突破2200家' = more than 2200 (a floor), "
        "current boundary")
    add("high-tech-2020", "high_tech", "level", "high_tech_enterprises", 2020,
        [ref("High-tech enterprises (count)", 2020, 3029)], indicator="hightech_enterprises", unit="家",
        conversion="current boundary as published")
    add("four-new-2019", "four_new", "level", "four_new_economy_share", 2019,
        [ref('"Four new" (四新) economy VA share of GDP', 2019, 28)], indicator="four_new_share", unit="%",
        conversion="current boundary as published")
    add("digital-2019", "digital", "level", "digital_economy_share", 2019,
        [ref("Digital economy share of GDP", 2019, 39)], indicator="digital_economy_share", unit="%",
        conversion="current boundary as published (the only year in the data)")

    rd = (("R&D intensity (derived 2.59 - 0.21; probably 2016 data, old boundary)", 2016, 2.38),
          ("R&D intensity (reported Feb 2019 as '2018'; probably 2017 data, old boundary)", 2017, 2.59))
    for source, year, value in rd:
        add(f"rd-intensity-{year}", "rd_intensity", "level", "r_and_d_intensity", year,
            [ref(source, year, value)], indicator="rd_intensity", unit="%",
            breaks=("old-boundary rate", "R&D data year"),
            conversion="old-boundary intensity used for the merged city (Laiwu's R&D not in the data); data "
            "year probably one before the report")
    add("rd-spending-2019", "rd_spending", "level", "r_and_d_spending", 2019,
        [ref("R&D expenditure", 2019, 225.53)], unit="亿元", use="check",
        conversion="current boundary, current prices; check only: it is R&D intensity x GDP (2.39 % x "
        "9443.37 = 225.7), both fitted already")

    for year, value, old in ((2017, 13.5, True), (2019, 12.6, False), (2020, 4.0, False)):
        add(f"fai-growth-{year}", "fai_growth", "growth", "fixed_asset_investment", year,
            [ref("Fixed-asset investment growth", year, value)], unit="%", use="check",
            breaks=("old-boundary growth",) if old else (),
            conversion="nominal growth; check only: the model's investment is a rate of GDP with a return "
            "effect and has no investment cycle, so it cannot follow 13.5/12.6/4.0 %"
            + (" (old boundary)" if old else ""))

    for year, value in ((2015, 39888.7), (2016, 43052.2), (2017, 46642)):
        add(f"urban-income-{year}", "urban_income", "level", "urban_disposable_income_per_capita", year,
            [ref("Per-capita disposable income urban", year, value)], unit="元", breaks=("old-boundary rate",),
            conversion="old boundary, current prices; Laiwu assumed at the same income per urban resident")
    add("income-eiu-2020", "income", "level", "urban_disposable_income_per_capita", 2020,
        [ref("Disposable income per head (EIU; definition not stated, probably urban residents)", 2020, 53329)],
        unit="元", use="check", conversion="check only: low confidence and the definition is not stated "
        "(probably urban residents, so compared with the model's urban income)")

    share16 = 84.09 / (502.41 + 84.09)
    for year, value in ((2016, 18.9), (2018, 18.95)):
        add(f"new-jobs-{year}", "new_jobs", "range", "new_urban_jobs", year,
            [ref("New urban jobs (新增城镇就业)", year, value),
             ref("Urban resident population (Laiwu only, derived: 86.11 - 2.02)", 2016, 84.09),
             ref("Urban resident population", 2016, 502.41)], math.nan,
            low=value, high=round(value / (1 - share16), 2), indicator="new_urban_jobs", unit="万人",
            conversion=f"old boundary {value}; Laiwu adds between none and its share of urban residents "
            f"({share16:.1%} in 2016: 84.09 / (502.41 + 84.09))")
    add("new-jobs-2020", "new_jobs", "level", "new_urban_jobs", 2020,
        [ref("New urban jobs (新增城镇就业)", 2020, 16.3)], indicator="new_urban_jobs", unit="万人",
        conversion="current boundary as published")


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
