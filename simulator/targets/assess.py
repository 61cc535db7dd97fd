"""Targets and key indicators on scenario results: the tables behind ``targets``, ``compare``, ``report``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.model.labels import Labels
from simulator.result import Result
from simulator.targets.evaluation import evaluate
from simulator.targets.registry import load_targets
from simulator.text import catalogue

HEADERS = catalogue("lib.assess.headers")
#: Target units that models/targets.toml writes in English, in Chinese (the CSV's own words are kept there).
UNITS_ZH = catalogue("lib.assess.units_zh")
KIND_TEXT = catalogue("lib.assess.kind_text")

STATUS_TEXT = catalogue("lib.assess.status_text")


def indicator_series(result: Result, labels: Labels) -> dict[str, np.ndarray]:
    """Indicator -> (T,) array of the result, for every indicator the model computes."""
    return {k: v.to_numpy(float) for k, v in result.indicators(labels.indicators).items()}


def target_table(result: Result, labels: Labels, lang: str = "zh", targets=None) -> pd.DataFrame:
    """Every target evaluated on one result (``simulator.targets.evaluate`` columns)."""
    targets = targets if targets is not None else load_targets()
    years = np.asarray(result.frame.index, dtype=int)
    table = evaluate(targets, indicator_series(result, labels), years, set(labels.indicators), lang=lang)
    if lang == "en":  # names targets.toml (equal to the shared targets.csv) writes with Chinese units
        renamed = catalogue("lib.target_names_en")
        table["name"] = [renamed.get(i, n) for i, n in zip(table["id"], table["name"], strict=True)]
    return table


def readable_targets(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The columns an analyst reads, with headers and status words in ``lang``."""
    columns = ["id", "name", "year", "target", "simulated", "unit", "status", "margin", "margin_pct",
               "first_year_met", "kind", "note"]
    out = table[columns].copy()
    out["status"] = out["status"].map(STATUS_TEXT[lang])
    out["kind"] = out["kind"].map(KIND_TEXT[lang]).fillna(out["kind"])
    if lang == "zh":
        out["unit"] = out["unit"].map(lambda u: UNITS_ZH.get(u, u))
    out["note"] = out["note"].fillna("").astype(str) + table["reason"].fillna("").astype(str)
    for column in ("simulated", "margin", "margin_pct"):
        out[column] = out[column].astype(float).round(3)
    return out.rename(columns=HEADERS[lang])


def key_indicators(
    results: Mapping[str, Result],
    labels: Labels,
    lang: str = "zh",
    years: Sequence[int] | None = None,
    indicators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows: indicator (name and unit); columns: (scenario, year). Values in the indicator's units.

    ``indicators`` defaults to ``labels.views["key_indicators"]``, ``years`` to the labels' key years.
    """
    years = labels.key_years if years is None else years
    indicators = labels.views.get("key_indicators", list(labels.indicators)) if indicators is None else indicators
    blocks = {}
    for name, result in results.items():
        frame = result.indicators(labels.indicators)
        present = [i for i in indicators if i in frame]
        block = frame.loc[list(years), present].T
        block.index = [labels.label(labels.indicators[i], lang) for i in present]
        blocks[name] = block
    return pd.concat(blocks, axis=1).round(3)


def compare_targets(tables: Mapping[str, pd.DataFrame], lang: str = "zh") -> pd.DataFrame:
    """Targets side by side: simulated value and status per scenario."""
    first = next(iter(tables.values()))
    out = first[["id", "name", "year", "target", "unit"]].copy().reset_index(drop=True)
    for name, table in tables.items():
        table = table.reset_index(drop=True)
        out[f"{name}: {HEADERS[lang]['simulated']}"] = table["simulated"].astype(float).round(3)
        out[f"{name}: {HEADERS[lang]['status']}"] = table["status"].map(STATUS_TEXT[lang])
    return out.rename(columns=HEADERS[lang])


def write_tables(path: Path, tables: Mapping[str, pd.DataFrame]) -> Path:
    """Write tables to one XLSX (a sheet each) or, for .csv, one CSV per table beside ``path``
    (each file atomically; see :mod:`simulator.atomic`)."""
    from simulator.atomic import write_file, write_files

    path = Path(path)
    if path.suffix == ".xlsx":
        def xlsx(temp: Path) -> None:
            with pd.ExcelWriter(temp, engine="openpyxl") as writer:
                for sheet, table in tables.items():
                    table.to_excel(writer, sheet_name=sheet[:31])

        write_file(path, xlsx)
    else:
        write_files({path.with_name(f"{path.stem}_{sheet}.csv"):
                     (lambda temp, table=table: table.to_csv(temp, encoding="utf-8-sig"))
                     for sheet, table in tables.items()})
    return path
