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
