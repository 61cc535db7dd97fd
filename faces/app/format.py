"""Numbers and target tests as short text in Chinese or English."""

from __future__ import annotations

import math

from simulator.text import catalogue

_TESTS = catalogue("app.format.tests")


def num(x) -> str:
    """A value with as many digits as an analyst reads: 16,189 / 982.5 / 9.95 / 0.0421."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(x):
        return "—"
    size = abs(x)
    if size >= 1000:
        return f"{x:,.0f}"
    if size >= 100:
        return f"{x:.1f}"
    if size >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def signed(x) -> str:
    text = num(x)
    return text if text == "—" or text.startswith("-") else f"+{text}"


def percent(p) -> str:
    try:
        return f"{100 * float(p):.0f}%"
    except (TypeError, ValueError):
        return "—"


def target_test(row, lang: str) -> str:
    """The condition of one target row (``simulator.targets.evaluate`` columns) as words."""
    base = row.get("base_year")
    base = int(base) if base is not None and base == base else None
    template = _TESTS[lang].get(row["test"], "{v} {u}")
    value = row["target"]
    return " ".join(
        template.format(
            v="—" if value != value else f"{value:g}" if row["test"] != "peak_by" else f"{value:.0f}",
            u=row.get("unit", "") or "",
            b=base,
            b1=(base or 0) + 1,
            y=int(row["year"]),
        ).split()
    )


def readable(frame, row_units=None, col_units=None, years=()):
    """``frame`` styled for reading (the data stay full precision): thousands separators, decimals by
    unit (:func:`simulator.text.number`), whole years, "—" for no value (:data:`faces.app.tables.EMPTY`).

    ``row_units``: one unit per row (a target table's unit column, an indicator table's units);
    ``col_units``: column -> unit; ``years``: columns shown as whole years.
    """
    import pandas as pd

    from faces.app.tables import EMPTY
    from simulator import text

    def formatter(unit):
        def fmt(v):
            if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                return EMPTY if v is None else v
            return text.number(float(v), unit) if math.isfinite(v) else EMPTY

        return fmt

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c not in years]
    styler = frame.style
    for column in years:
        if column in frame:
            styler = styler.format(lambda v: EMPTY if v != v or v is None else f"{int(v)}", subset=[column],
                                   na_rep=EMPTY)
    if row_units is not None:
        for position, unit in enumerate(list(row_units)):
            styler = styler.format(formatter(unit or ""), na_rep=EMPTY,
                                   subset=pd.IndexSlice[frame.index[position : position + 1], numeric])
    else:
        for column in numeric:
            styler = styler.format(formatter((col_units or {}).get(column, "")), subset=[column], na_rep=EMPTY)
    return styler
