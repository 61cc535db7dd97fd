"""Tables as the page shows them: an em dash where a cell has no value (never "None" or "nan"), and the
numbers of a plain table to six significant digits with thousands separators.

Every ``st.dataframe`` of the app goes through :func:`styled`; the data stay full precision (a Styler
changes what is shown, not the values behind it).
"""

from __future__ import annotations

import math

import pandas as pd

#: What an empty cell shows.
EMPTY = "—"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _number(value) -> str:
    if _missing(value):
        return EMPTY
    if isinstance(value, float) and not math.isfinite(value):
        return EMPTY  # an open end of a range
    return f"{value:,.6g}" if isinstance(value, float) else str(value)


def _years(column: pd.Series) -> bool:
    """A float column of years (whole numbers 1900-2100 with gaps, e.g. "first year met"): shown
    without a thousands separator."""
    values = column.dropna()
    return bool(len(values)) and bool(((values % 1 == 0) & values.between(1900, 2100)).all())


def styled(table):
    """``table`` (a DataFrame or a Styler of one) with :data:`EMPTY` in every cell without a value."""
    if isinstance(table, pd.DataFrame):
        frame = table
        styler = frame.style
        floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
        years = [c for c in floats if _years(frame[c])]
        if years:
            styler = styler.format(lambda v: EMPTY if _missing(v) else f"{v:.0f}", subset=years)
        if rest := [c for c in floats if c not in years]:
            styler = styler.format(_number, subset=rest)
    else:
        frame, styler = table.data, table
    others = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if others:
        # text columns: only the empty cells change
        styler = styler.format(lambda v: EMPTY if _missing(v) else v, subset=others)
    return styler


def show(table, container=None, **kwargs) -> None:
    """``st.dataframe`` of :func:`styled` ``table`` (into ``container`` if given); ``kwargs`` as there."""
    import streamlit as st

    (container or st).dataframe(styled(table), **kwargs)
