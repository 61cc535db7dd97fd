"""Terminal tables that align with Chinese characters (display width, not len) and fit a line width."""

from __future__ import annotations

import unicodedata

import numpy as np

from simulator import text

WIDTH = 120
#: Narrowest a wrapped row label gets [display columns].
MIN_LABEL = 20
#: Widest a row label of a record table gets when its columns need several blocks anyway.
MAX_LABEL = 40
#: Units whose values are calendar years.
YEAR_UNITS = ("year", "年份", "Year")


def width(cell: str) -> int:
    """Columns ``cell`` takes in a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(cell))


def pad(cell: str, size: int, right: bool = False) -> str:
    """``cell`` padded with spaces to ``size`` display columns (on the left when ``right``)."""
    space = " " * max(0, size - width(cell))
    return space + str(cell) if right else str(cell) + space


def wrap(text: str, size: int) -> list[str]:
    """``text`` in lines of at most ``size`` display columns, broken between words (English) or between
    characters (Chinese); a word longer than a line is broken inside."""
    merged: list[str] = []  # words (latin letters with their trailing spaces) and single wide characters
    for ch in str(text):
        last = merged[-1] if merged else ""
        if ch.isspace() and last or width(ch) == 1 and last and not last[-1].isspace() and width(last[-1]) == 1:
            merged[-1] += ch
        else:
            merged.append(ch)
    lines, line = [], ""
    for atom in merged:
        while width(atom.rstrip()) > size:  # a word longer than a line: break it
            room = size - width(line)
            cut = next((k for k in range(len(atom), 0, -1) if width(atom[:k]) <= room), 0)
            if cut == 0:
                lines.append(line.rstrip())
                line = ""
                continue
            lines.append((line + atom[:cut]).rstrip())
            line, atom = "", atom[cut:]
        if width((line + atom).rstrip()) > size and line:
            lines.append(line.rstrip())
            line = ""
        line += atom
    lines.append(line.rstrip())
    return [x for x in lines if x] or [""]


def blocks(row_labels: list[str], columns: list[str], cells: list[list[str]], head: str = "",
           line_width: int = WIDTH, left=(), max_label: int | None = None) -> str:
    """A table of ``cells`` (rows x columns) with row labels, split into blocks of columns so that no
    line is longer than ``line_width`` display columns; every block repeats the row labels. When the
    columns fit on one line only if the labels are narrower, long labels are wrapped (to no less than
    :data:`MIN_LABEL` columns) instead. Columns are right-aligned (numbers), those whose index is in
    ``left`` left-aligned (words). Labels wider than ``max_label`` are wrapped to it in any case."""
    label_w = max([width(head), *map(width, row_labels)])
    col_w = [max(width(c), *(width(r[j]) for r in cells)) for j, c in enumerate(columns)]
    room = line_width - sum(2 + w for w in col_w)
    if label_w > room >= MIN_LABEL:
        label_w = room
    elif max_label is not None and label_w > max_label:
        label_w = max_label
    labels = [wrap(label, label_w) for label in row_labels]
    heads = wrap(head, label_w)
    out, start = [], 0
    while start < len(columns):
        used, stop = label_w, start
        while stop < len(columns) and (stop == start or used + 2 + col_w[stop] <= line_width):
            used += 2 + col_w[stop]
            stop += 1
        span = range(start, stop)
        lines = [pad(heads[0], label_w) + "".join("  " + pad(columns[j], col_w[j], right=j not in left)
                                                  for j in span)]
        lines += heads[1:]
        for label, row in zip(labels, cells, strict=True):
            lines.append(pad(label[0], label_w) + "".join("  " + pad(row[j], col_w[j], right=j not in left)
                                                          for j in span))
            lines += ["  " + more for more in label[1:]]  # the rest of a wrapped label, indented
        out.append("\n".join(line.rstrip() for line in lines))
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


def cell(value, kind: str = "value", unit: str = "") -> str:
    """One value as printed, by the kind of quantity of its column.

    ``kind``: "year" (an integer year), "share" (a probability or share 0..1, as a percentage with one
    decimal), "percent" (already in %, one decimal), "count" (a whole number with thousands separators),
    "value" (a quantity in ``unit``, see :func:`simulator.text.number`), "index" (a dimensionless index
    such as a Sobol index, two decimals) or "text". Missing values print as "–".
    """
    import pandas as pd

    if kind == "text":
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    if value is None or isinstance(value, (bool, str)):
        return "–" if value is None else str(value)
    value = float(value)
    if not np.isfinite(value):
        return "–"
    if kind == "year":
        return str(int(round(value)))
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "percent":
        return f"{value:,.1f}%"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "index":
        return f"{value:.2f}"
    if str(unit).strip() in YEAR_UNITS:  # a year (a peak year): no thousands separator
        return str(int(round(value)))
    return number(value, unit)


def records(frame, label: str, columns: dict, headers: dict | None = None, unit_column: str | None = None,
            head: str = "", line_width: int = WIDTH) -> str:
    """Rows of ``frame`` as aligned blocks that fit ``line_width``: each row labelled by its ``label``
    column, then ``columns`` (column -> kind, see :func:`cell`), headed by ``headers`` (column -> printed
    header; default the column name). A "value" column is formatted in the row's unit (``unit_column``)."""
    headers = headers or {}
    units = list(frame[unit_column]) if unit_column else [""] * len(frame)
    rows = [cell(v, "text") for v in frame[label]]
    cells = [[cell(row[c], kind, unit or "") for c, kind in columns.items()]
             for (_, row), unit in zip(frame.iterrows(), units, strict=True)]
    left = {j for j, kind in enumerate(columns.values()) if kind == "text"}
    return blocks(rows, [headers.get(c, c) for c in columns], cells, head=head or headers.get(label, label),
                  line_width=line_width, left=left, max_label=MAX_LABEL)


def note(text: str, line_width: int = WIDTH) -> str:
    """A note printed under a table, wrapped to ``line_width`` display columns."""
    return "\n".join(wrap(text, line_width))


def footnotes(texts) -> tuple[list[str], list[str]]:
    """Long notes out of a table: (a mark per row, "[k]" or "", the numbered notes to print below it);
    identical notes share one number."""
    marks, notes = [], []
    for words in texts:
        words = "" if words is None or words != words else str(words).strip()
        if not words:
            marks.append("")
            continue
        if words not in notes:
            notes.append(words)
        marks.append(f"[{notes.index(words) + 1}]")
    return marks, [f"[{k + 1}] {note}" for k, note in enumerate(notes)]
