"""Bytes for downloads: CSV (UTF-8 with BOM, so Excel reads Chinese), XLSX, PNG and zip."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from simulator import text


def csv_bytes(frame: pd.DataFrame, index: bool = True) -> bytes:
    return frame.to_csv(index=index).encode("utf-8-sig")


def xlsx_bytes(sheets: dict[str, pd.DataFrame], index: bool = True) -> bytes:
    """One sheet per table (names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=str(name)[:31], index=index)
    return buffer.getvalue()


def png_bytes(figure, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def result_xlsx(result, labels, lang: str = "zh") -> bytes:
    """A run as the library writes it (results, variables with ids, zh/en names and units, provenance),
    with the results sheet headed by display names with units in ``lang`` (the ids stay in the
    variables sheet, in the same order)."""
    from openpyxl import load_workbook

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.xlsx"
        result.to_file(path, labels=labels)
        book = load_workbook(path)
        sheet = book["results"]
        for cell in sheet[1][1:]:
            if isinstance(cell.value, str) and cell.value in result.frame.columns:
                cell.value = labels.label(cell.value, lang) if labels.name(cell.value, lang) != cell.value \
                    else cell.value
        sheet["A1"] = text.text(lang, "app.text.year")
        book.save(path)
        return path.read_bytes()


def folder_zip(write) -> bytes:
    """Zip of the folder that ``write(path)`` creates (e.g. ``EnsembleResult.save``)."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "results"
        write(target)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(target.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(target.parent))
        return buffer.getvalue()


def trajectories_png(frames: dict, indicators: list[str], lang: str) -> bytes:
    """The report figure of ``indicators`` over the runs in ``frames`` (label -> indicator frame), with
    the history, the targets and the caption (data source, model version), as PNG bytes."""
    from faces.app import data
    from simulator.plots import charts  # matplotlib (~1 s to import): when a PNG is asked for, not on the first page

    return png_bytes(charts.trajectories(frames, indicators, data.chart_labels(), history=data.history(),
                                         targets=data.targets(), lang=lang,
                                         note=charts.caption(lang, data.model().sha256)))


def feasibility_png(tables: dict, lang: str) -> bytes:
    """The target-feasibility figure of ``tables`` (title -> target table), as PNG bytes."""
    from faces.app import data
    from simulator.plots import charts, feasibility  # matplotlib: imported when asked for (see above)

    return png_bytes(feasibility.feasibility(tables, lang=lang, note=charts.caption(lang, data.model().sha256)))
