"""Numbers and target tests as short text in Chinese or English."""

from __future__ import annotations

import math

_TESTS = {
    "zh": {
        "level_ge": "≥ {v} {u}",
        "level_gt": "> {v} {u}",
        "level_le": "≤ {v} {u}",
        "change_ge": "较{b}年 ≥ {v} {u}",
        "change_le": "较{b}年 ≤ {v} {u}",
        "avg_growth_ge": "{b}–{y}年年均 ≥ {v} {u}",
        "cumulative_ge": "{b1}–{y}年累计 ≥ {v} {u}",
        "peak_by": "峰值年份 ≤ {v}",
        "level_le_all_years": "{y}年前每年 ≤ {v} {u}",
        "level_ge_all_years": "{y}年前每年 ≥ {v} {u}",
    },
    "en": {
        "level_ge": "≥ {v} {u}",
        "level_gt": "> {v} {u}",
        "level_le": "≤ {v} {u}",
        "change_ge": "≥ {v} {u} vs {b}",
        "change_le": "≤ {v} {u} vs {b}",
        "avg_growth_ge": "≥ {v} {u} a year {b}–{y}",
        "cumulative_ge": "≥ {v} {u} in total {b1}–{y}",
        "peak_by": "peak in or before {v}",
        "level_le_all_years": "≤ {v} {u} every year to {y}",
        "level_ge_all_years": "≥ {v} {u} every year to {y}",
    },
}


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
