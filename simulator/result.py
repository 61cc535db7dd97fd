"""A tidy, self-describing result of one run: annual rows x variables, units and provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from simulator import text
from simulator.atomic import write_files
from simulator.errors import UserError

FORMATS = (".csv", ".xlsx", ".parquet")


def check_output_path(path: str | Path) -> Path:
    """Fail early, before any simulation, on an output path we could not write."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise UserError(f"out {path}: unknown format '{path.suffix}' (use {', '.join(FORMATS)})", param="out")
    if not path.name or path.name.startswith("."):
        raise UserError(f"out '{path}': give a file name", param="out")
    if not path.parent.is_dir():
        raise UserError(f"out {path}: folder {path.parent} does not exist", param="out")
    if path.is_dir():
        raise UserError(f"out {path}: is a folder", param="out")
    return path


def headers(ids: list[str], shown) -> list[str]:
    """Display headers of ``ids`` (``shown(id)``), made unique: a repeated header gets its id appended."""
    out = [str(shown(i)) for i in ids]
    repeated = {h for h in out if out.count(h) > 1}
    return [f"{h} [{i}]" if h in repeated else h for h, i in zip(out, ids, strict=True)]


def _label(labels, ident: str, lang: str, units: str) -> str:
    """``name (unit)`` of a variable from the labels, else its id with the model's units."""
    base = ident.partition("[")[0]
    if labels.name(base, lang) != base:
        return labels.label(base, lang) + ident[len(base):]
    return f"{ident} ({units})" if units else ident


#: Excel number formats by quantity (the rules of :func:`simulator.text.number`): whole numbers for counts
#: and years, one decimal for 亿元 / 万人 / shares and percentages; other quantities as Excel shows them.
WHOLE_FORMAT, ONE_DECIMAL_FORMAT = "#,##0", "#,##0.0"


def excel_format(unit: str) -> str | None:
    """The Excel number format of a column in ``unit`` (None: Excel's General, full precision shown)."""
    unit = (unit or "").strip()
    if unit in ("家", "个", "firms", "firm", "units", "人", "persons", "Person"):
        return WHOLE_FORMAT
    if unit in ("年", "year", "Year", "年份"):
        return "0"
    if "/" not in unit and any(u in unit for u in ("亿", "万", "%", "100m", "10k", "‰")):
        return ONE_DECIMAL_FORMAT
    return None


def write_xlsx(temp: Path, sheets: dict, formats: dict | None = None, index: dict | None = None) -> None:
    """Write ``sheets`` (name -> DataFrame) into one workbook: headers bold and frozen, columns as wide as
    their header, ``formats`` (name -> one Excel number format or None per data column) applied to the
    values (which keep full precision); ``index`` (name -> bool) writes a sheet's index as its first column."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import IllegalCharacterError

    formats, index = formats or {}, index or {}
    try:
        with pd.ExcelWriter(temp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                with_index = index.get(name, False)
                frame.to_excel(writer, sheet_name=str(name)[:31], index=with_index)
                sheet = writer.sheets[str(name)[:31]]
                sheet.freeze_panes = "B2" if with_index else "A2"
                offset = 2 if with_index else 1
                for k, header in enumerate([frame.index.name or "", *frame.columns] if with_index
                                           else list(frame.columns)):
                    letter = get_column_letter(k + 1)
                    sheet[f"{letter}1"].font = Font(bold=True)
                    size = sum(2 if ord(c) > 0x2e7f else 1 for c in str(header))
                    sheet.column_dimensions[letter].width = min(60, max(10, size + 2))
                for k, number_format in enumerate(formats.get(name, [])):
                    if number_format:
                        for (cell,) in sheet.iter_rows(min_row=2, min_col=k + offset, max_col=k + offset):
                            cell.number_format = number_format
    except IllegalCharacterError as exc:
        raise ValueError(f"a text holds a character Excel cannot store ({exc})") from None


@dataclass
class Result:
    """One simulation run.

    Attributes
    ----------
    frame : pandas.DataFrame
        Index ``year`` (int); one column per variable id, in the variable's model units.
    units : dict
        id -> Vensim units string.
    provenance : dict
        model sha256, scenario, scenario sha256, calibration sha256, engine, method,
        package version, overrides.
    """

    frame: pd.DataFrame
    units: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def __getitem__(self, ident: str) -> pd.Series:
        return self.frame[ident]

    def indicators(self, mapping: dict) -> pd.DataFrame:
        """Columns renamed to the indicator vocabulary (indicator -> variable id mapping)."""
        present = {ind: var for ind, var in mapping.items() if var in self.frame}
        return pd.DataFrame({ind: self.frame[var] for ind, var in present.items()})

    def to_file(self, path: str | Path, labels=None, lang: str | None = None) -> Path:
        """Write by suffix: .csv (+ .provenance.json beside it), .xlsx (sheets: results,
        variables, provenance) or .parquet (provenance in the file's metadata).

        CSV and Parquet keep one header row of ids and full precision. With ``labels`` and ``lang``, the
        XLSX results sheet is headed by display names with units in ``lang`` ("name (unit)"), the
        variables sheet listing each header's id in the same order (without ``lang``: ids).

        Every file goes to a temporary sibling first and is renamed into place when complete, so a
        failed write leaves the previous file (and its provenance) as they were.
        """
        path = check_output_path(path)
        if path.suffix == ".csv":
            provenance = json.dumps(self.provenance, indent=2, ensure_ascii=False, default=str)
            writers = {path: lambda temp: self.frame.to_csv(temp),
                       path.with_suffix(".provenance.json"): lambda temp: temp.write_text(provenance,
                                                                                          encoding="utf-8")}
        elif path.suffix == ".xlsx":
            writers = {path: lambda temp: self._write_xlsx(temp, labels, lang)}
        else:
            writers = {path: self._write_parquet}
        try:
            write_files(writers)
        except (ValueError, TypeError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"out {path}: cannot write: {first} (the previous file, if any, is unchanged)",
                            param="out") from None
        return path

    def _write_xlsx(self, temp: Path, labels, lang: str | None = None) -> None:
        variables = self.variable_table(labels)
        frame = self.frame
        if labels is not None and lang is not None:
            shown = headers(list(frame.columns), lambda c: _label(labels, c, lang, self.units.get(c, "")))
            variables.insert(1, "header", shown)
            frame = frame.set_axis(shown, axis=1)
            frame.index = frame.index.rename(text.text(lang, "lib.result.year"))
        prov = pd.DataFrame({"key": list(self.provenance), "value": [str(v) for v in self.provenance.values()]})
        formats = {"results": [excel_format(self.units.get(c, "")) for c in self.frame.columns]}
        write_xlsx(temp, {"results": frame, "variables": variables, "provenance": prov}, formats,
                   index={"results": True})

    def _write_parquet(self, temp: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = self.frame.copy()
        table.attrs = {}
        arrow = pa.Table.from_pandas(table)
        meta = dict(arrow.schema.metadata or {})
        meta[b"jinan_sd_provenance"] = json.dumps(self.provenance, ensure_ascii=False, default=str).encode()
        pq.write_table(arrow.replace_schema_metadata(meta), temp)

    def variable_table(self, labels=None) -> pd.DataFrame:
        """One row per variable: id, units, and zh/en names when labels are given."""
        rows = []
        for ident in self.frame.columns:
            row = {"id": ident, "units": self.units.get(ident, "")}
            if labels is not None:
                row.update(name_zh=labels.name(ident, "zh"), name_en=labels.name(ident, "en"))
            rows.append(row)
        return pd.DataFrame(rows)
