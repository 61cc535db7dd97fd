"""Terminal tables that align with Chinese characters (display width, not len) and fit a line width."""

from __future__ import annotations

import unicodedata

import numpy as np

from simulator import text

WIDTH = 120


def width(cell: str) -> int:
    """Columns ``cell`` takes in a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(cell))


def pad(cell: str, size: int, right: bool = False) -> str:
    """``cell`` padded with spaces to ``size`` display columns (on the left when ``right``)."""
    space = " " * max(0, size - width(cell))
    return space + str(cell) if right else str(cell) + space


def blocks(row_labels: list[str], columns: list[str], cells: list[list[str]], head: str = "",
           line_width: int = WIDTH) -> str:
    """A table of ``cells`` (rows x columns) with row labels, split into blocks of columns so that no
    line is longer than ``line_width`` display columns; every block repeats the row labels."""
    label_w = max([width(head), *map(width, row_labels)])
    col_w = [max(width(c), *(width(r[j]) for r in cells)) for j, c in enumerate(columns)]
    out, start = [], 0
    while start < len(columns):
        used, stop = label_w, start
        while stop < len(columns) and (stop == start or used + 2 + col_w[stop] <= line_width):
            used += 2 + col_w[stop]
            stop += 1
        span = range(start, stop)
        lines = [pad(head, label_w) + "".join("  " + pad(columns[j], col_w[j], right=True) for j in span)]
        for label, row in zip(row_labels, cells, strict=True):
            lines.append(pad(label, label_w) + "".join("  " + pad(row[j], col_w[j], right=True) for j in span))
        out.append("\n".join(lines))
        start = stop
    return "\n\n".join(out)


def number(value: float, unit: str = "") -> str:
    """A value as it reads in a report (see :func:`simulator.text.number`)."""
    return text.number(value, unit)


def indicator_table(frame, labels, lang: str, indicators: list[str], line_width: int = WIDTH) -> str:
    """Indicators (rows, "name (unit)") by year (columns) of one run, in blocks that fit ``line_width``."""
    rows, cells = [], []
    for indicator in indicators:
        variable = labels.indicators[indicator]
        unit = labels.unit(variable, lang)
        rows.append(labels.label(variable, lang))
        cells.append([number(v, unit) if np.isfinite(v) else "–" for v in frame[indicator].to_numpy(float)])
    years = [str(int(y)) for y in frame.index]
    return blocks(rows, years, cells, head=text.text(lang, "cli.main.indicator"), line_width=line_width)


def frame_table(frame, row_units=None, label_column: str | None = None, head: str = "",
                line_width: int = WIDTH) -> str:
    """A DataFrame as aligned blocks: rows labelled by the index (or ``label_column``), numbers formatted
    by the row's unit (``row_units``), columns flattened ("scenario · 2025" for a two-level header)."""
    import pandas as pd

    table = frame.reset_index(drop=True) if label_column else frame
    labels = [str(v) for v in (table[label_column] if label_column else table.index)]
    data = table.drop(columns=[label_column]) if label_column else table
    columns = [" · ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in data.columns]
    units = list(row_units) if row_units is not None else [""] * len(data)
    cells = []
    for (_, row), unit in zip(data.iterrows(), units, strict=True):
        line = []
        for value in row:
            if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
                line.append(number(float(value), unit or ""))
            else:
                line.append("–" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))
        cells.append(line)
    return blocks(labels, columns, cells, head=head, line_width=line_width)
