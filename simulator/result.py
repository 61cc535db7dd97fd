"""A tidy, self-describing result of one run: annual rows x variables, units and provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from simulator.errors import UserError

FORMATS = (".csv", ".xlsx", ".parquet")


def check_output_path(path: str | Path) -> Path:
    """Fail early, before any simulation, on an output path we could not write."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise UserError(f"out {path}: unknown format '{path.suffix}' (use {', '.join(FORMATS)})", param="out")
    if not path.parent.exists():
        raise UserError(f"out {path}: folder {path.parent} does not exist", param="out")
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
        variables, provenance) or .parquet (provenance in the file's metadata)."""
        path = check_output_path(path)
        if path.suffix == ".csv":
            self.frame.to_csv(path)
            path.with_suffix(".provenance.json").write_text(
                json.dumps(self.provenance, indent=2, ensure_ascii=False), encoding="utf-8"
            )
        elif path.suffix == ".xlsx":
            with pd.ExcelWriter(path, engine="openpyxl") as writer:
                self.frame.to_excel(writer, sheet_name="results")
                self.variable_table(labels).to_excel(writer, sheet_name="variables", index=False)
                prov = pd.DataFrame(
                    {"key": list(self.provenance), "value": [str(v) for v in self.provenance.values()]}
                )
                prov.to_excel(writer, sheet_name="provenance", index=False)
        else:
            table = self.frame.copy()
            table.attrs = {}
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrow = pa.Table.from_pandas(table)
            meta = dict(arrow.schema.metadata or {})
            meta[b"jinan_sd_provenance"] = json.dumps(self.provenance, ensure_ascii=False).encode()
            pq.write_table(arrow.replace_schema_metadata(meta), path)
        return path

    def variable_table(self, labels=None) -> pd.DataFrame:
        """One row per variable: id, units, and zh/en names when labels are given."""
        rows = []
        for ident in self.frame.columns:
            row = {"id": ident, "units": self.units.get(ident, "")}
            if labels is not None:
                row.update(name_zh=labels.name(ident, "zh"), name_en=labels.name(ident, "en"))
            rows.append(row)
        return pd.DataFrame(rows)
