"""A tidy, self-describing result of one run: annual rows x variables, units and provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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

    def to_file(self, path: str | Path, labels=None) -> Path:
        """Write by suffix: .csv (+ .provenance.json beside it), .xlsx (sheets: results,
        variables, provenance) or .parquet (provenance in the file's metadata).

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
            writers = {path: lambda temp: self._write_xlsx(temp, labels)}
        else:
            writers = {path: self._write_parquet}
        try:
            write_files(writers)
        except (ValueError, TypeError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"out {path}: cannot write: {first} (the previous file, if any, is unchanged)",
                            param="out") from None
        return path

    def _write_xlsx(self, temp: Path, labels) -> None:
        from openpyxl.utils.exceptions import IllegalCharacterError

        try:
            self._fill_xlsx(temp, labels)
        except IllegalCharacterError as exc:
            raise ValueError(f"a text holds a character Excel cannot store ({exc})") from None

    def _fill_xlsx(self, temp: Path, labels) -> None:
        with pd.ExcelWriter(temp, engine="openpyxl") as writer:
            self.frame.to_excel(writer, sheet_name="results")
            self.variable_table(labels).to_excel(writer, sheet_name="variables", index=False)
            prov = pd.DataFrame(
                {"key": list(self.provenance), "value": [str(v) for v in self.provenance.values()]}
            )
            prov.to_excel(writer, sheet_name="provenance", index=False)

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
