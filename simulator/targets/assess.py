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


def write_tables(path: Path, tables: Mapping[str, pd.DataFrame],
                 shown: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write tables to one XLSX (a sheet each) or, for .csv, one CSV per table beside ``path``
    (each file atomically; see :mod:`simulator.atomic`).

    ``tables`` hold ids (column names, codes) and full precision: what the CSVs get, one header row each.
    ``shown`` (optional, same sheets, rows and columns) is what a reader sees: the XLSX gets it, plus a
    "variables" sheet giving the id behind every header (see :func:`export_indicators`,
    :func:`export_targets`). Without ``shown`` the XLSX gets ``tables`` as they are.
    """
    from simulator.atomic import write_file, write_files
    from simulator.result import write_xlsx

    path = Path(path)
    if path.suffix == ".xlsx":
        sheets = dict(shown) if shown is not None else dict(tables)
        index = {name: shown is None for name in sheets}
        if shown is not None:
            rows = [(name, i, h) for name in tables for i, h in zip(tables[name].columns, shown[name].columns,
                                                                    strict=True)]
            sheets["variables"] = pd.DataFrame(rows, columns=["sheet", "id", "header"])
        write_file(path, lambda temp: write_xlsx(temp, sheets, index=index))
    else:
        write_files({path.with_name(f"{path.stem}_{sheet}.csv"):
                     (lambda temp, table=table: table.to_csv(temp, encoding="utf-8-sig", index=shown is None))
                     for sheet, table in tables.items()})
    return path


def export_indicators(results: Mapping[str, Result], labels: Labels, lang: str = "zh",
                      titles: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every indicator of several runs, for files: (ids, shown).

    ids: one row per scenario and year, columns ``scenario`` (its name), ``year`` and one per indicator id,
    full precision. shown: the same with the scenario's title (``titles``) and headers "name (unit)" in
    ``lang``.
    """
    from simulator.result import headers
    from simulator.text import text

    parts = []
    for name, result in results.items():
        frame = result.indicators(labels.indicators)
        frame.insert(0, "year", np.asarray(frame.index))
        frame.insert(0, "scenario", name)
        parts.append(frame.reset_index(drop=True))
    ids = pd.concat(parts, ignore_index=True)
    shown = ids.copy()
    shown["scenario"] = shown["scenario"].map(lambda n: (titles or {}).get(n, n))
    names = [text(lang, "lib.result.scenario"), text(lang, "lib.result.year")]
    indicators = list(ids.columns[2:])
    shown.columns = names + headers(indicators, lambda i: labels.label(labels.indicators[i], lang))
    return ids, shown


def export_targets(tables: Mapping[str, pd.DataFrame], lang: str = "zh",
                   titles: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Targets of several scenarios side by side, for files: (ids, shown), one row per target.

    ids: the target's id, name, year, target value and unit, then per scenario ``<scenario>:simulated``,
    ``<scenario>:status`` (met / missed / not assessed), ``<scenario>:margin``, ``<scenario>:margin_pct`` and
    ``<scenario>:first_year_met`` (the scenario by its name), kind and note; full precision.
    shown: the same with headers in ``lang`` ("<title>: simulated"), status and kind in words.
    """
    first = next(iter(tables.values())).reset_index(drop=True)
    ids = first[["id", "name", "year", "target", "unit"]].copy()
    shown = ids.copy()
    if lang == "zh":
        shown["unit"] = shown["unit"].map(lambda u: UNITS_ZH.get(u, u))
    headers = [HEADERS[lang][c] for c in ids.columns]
    for name, table in tables.items():
        table = table.reset_index(drop=True)
        title = (titles or {}).get(name, name)
        for field in ("simulated", "status", "margin", "margin_pct", "first_year_met"):
            ids[f"{name}:{field}"] = table[field].to_numpy()
            shown[f"{name}:{field}"] = (table[field].map(STATUS_TEXT[lang]).fillna(table[field]).to_numpy()
                                        if field == "status" else table[field].to_numpy())
            headers.append(f"{title}: {HEADERS[lang][field]}")
    ids["kind"] = first["kind"].to_numpy()
    ids["note"] = (first["note"].fillna("").astype(str) + first["reason"].fillna("").astype(str)).to_numpy()
    shown["kind"] = first["kind"].map(KIND_TEXT[lang]).fillna(first["kind"]).to_numpy()
    shown["note"] = ids["note"].to_numpy()
    shown.columns = [*headers, HEADERS[lang]["kind"], HEADERS[lang]["note"]]
    return ids, shown
