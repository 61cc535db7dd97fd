"""Report figures: scenario trajectories and target feasibility, in Chinese or English.

Figures are plain ``matplotlib.figure.Figure`` objects on the Agg canvas: no pyplot, no change to
global rcParams. Every text artist is set to the CJK font found by :mod:`simulator.fonts`, so
Chinese labels never render as empty boxes; the font is applied to the artists themselves, so
it holds whatever rcParams say when the figure is drawn.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from simulator.plots import fonts
from simulator.targets import ALL_YEARS_TESTS, LEVEL_TESTS, Target

#: File formats :func:`save` writes.
FORMATS = ("png", "pdf", "svg")
#: Colour of each target status.
STATUS_COLOURS = MappingProxyType(
    {"met": "#1a9850", "missed": "#d73027", "not assessed": "#9e9e9e"}
)
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
_TARGET_COLOUR = "#7b3294"
_TEXT = MappingProxyType(
    {
        "year": ("年份", "Year"),
        "history": ("历史数据", "History"),
        "target": ("规划目标", "Plan target"),
        "cap": ("上限", "cap"),
        "floor": ("下限", "floor"),
        "no_data": ("无数据", "no data"),
        "met": ("达标", "met"),
        "missed": ("未达标", "missed"),
        "not assessed": ("未评估", "not assessed"),
        "margin": (
            "与目标的差距（占目标值的 %，> 0 为达标）",
            "Margin vs target (% of target value, > 0 = met)",
        ),
        "feasibility": ("规划目标可达性", "Feasibility of the plan targets"),
        "peak": ("峰值年份 {year}", "peak in {year}"),
    }
)


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return en if lang == "en" else zh


def _plain(text: object) -> str:
    """Text shown as typed: a '$' in a unit must not start mathtext."""
    return str(text).replace("$", r"\$")


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def apply_font(figure: Figure) -> Figure:
    """Set every text artist of ``figure`` to the CJK font (and a Latin fallback)."""
    families = fonts.find_cjk_font().families()
    for axes in figure.axes:
        # Materialise tick labels now; ticks added at draw time copy the first tick's font.
        for axis in (axes.xaxis, axes.yaxis):
            axis.get_major_ticks()
            axis.get_minor_ticks()
    for artist in figure.findobj(Text):
        artist.set_fontfamily(families)
    return figure


def _axis_label(name: str, unit: str, lang: str) -> str:
    """ "name (unit)", the unit on a line of its own when the whole does not fit a panel."""
    width = 16 if lang == "zh" else 32
    unit = f"（{unit}）" if lang == "zh" else f"[{unit}]"
    if len(name) + len(unit) <= width:
        return _plain(name + unit if lang == "zh" else f"{name} {unit}")
    return _plain(f"{textwrap.fill(name, width)}\n{unit}")


def _label(labels: Mapping[str, Mapping[str, str]], indicator: str, lang: str) -> tuple[str, str]:
    entry = labels.get(indicator)
    if entry is None or lang not in entry or ("unit" not in entry and f"unit_{lang}" not in entry):
        raise ValueError(f"labels: indicator {indicator!r} needs a {lang!r} name and a 'unit'")
    return entry[lang], entry.get(f"unit_{lang}", entry.get("unit"))


def _same_unit(a: str, b: str) -> bool:
    # "亿元 (current prices)" and "亿元" are the same unit for drawing a target on an axis.
    def core(unit: str) -> str:
        return re.sub(r"\s+|\(.*?\)|（.*?）", "", unit).lower()

    return core(a) == core(b)


def trajectories(
    results: Mapping[str, pd.DataFrame],
    indicators: Sequence[str],
    labels: Mapping[str, Mapping[str, str]],
    history: pd.DataFrame | None = None,
    targets: Sequence[Target] | None = None,
    lang: str = "zh",
    ncols: int = 3,
) -> Figure:
    """Small multiples: one panel per indicator, one line per scenario.

    Parameters
    ----------
    results : mapping
        Scenario label -> DataFrame indexed by year [year], one column per indicator, in the
        unit of ``labels``.
    indicators : sequence of str
        Indicators to draw, in panel order.
    labels : mapping
        Indicator -> {"zh": name, "en": name, "unit": unit} (``"unit_zh"`` / ``"unit_en"``
        override ``"unit"`` for one language).
    history : DataFrame, optional
        Observations with columns ``indicator``, ``year``, ``value`` and optionally ``low``,
        ``high`` (an uncertainty range, drawn as error bars).
    targets : sequence of Target, optional
        Level targets (``level_*``) are drawn as a marker at (year, value) with its value;
        all-years caps and floors as a dashed line up to their year. Targets of change,
        average growth, cumulative sum and peak year are not levels and are not drawn (they
        would need each scenario's base-year value): :func:`feasibility` shows them. A target
        whose unit matches none of the indicator's units ("unit", "unit_zh", "unit_en",
        ignoring text in brackets) is skipped rather than drawn on a wrong scale.
    lang : {"zh", "en"}
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_lang(lang)
    if not indicators:
        raise ValueError("trajectories: no indicators to draw")
    ncols = max(1, min(ncols, len(indicators)))
    nrows = math.ceil(len(indicators) / ncols)
    figure = _new_figure(4.0 * ncols, 3.0 * nrows + 0.6)
    grid = figure.subplots(nrows, ncols, squeeze=False)
    colours = mpl.colormaps["tab10"]
    handles: dict[str, object] = {}
    for number, indicator in enumerate(indicators):
        axes = grid.flat[number]
        name, unit = _label(labels, indicator, lang)
        drawn = False
        for index, (scenario, frame) in enumerate(results.items()):
            if indicator in frame.columns:
                (line,) = axes.plot(
                    frame.index,
                    frame[indicator],
                    color=colours(index % 10),
                    linewidth=1.6,
                    label=_plain(scenario),
                )
                handles.setdefault(_plain(scenario), line)
                drawn = True
        if history is not None:
            drawn |= _draw_history(axes, history, indicator, lang, handles)
        units = [labels[indicator].get(k) for k in ("unit", "unit_zh", "unit_en")]
        for target in targets or ():
            if target.indicator == indicator and any(
                _same_unit(target.unit, u) for u in units if u
            ):
                _draw_target(axes, target, results, handles, lang)
        if not drawn:
            axes.text(
                0.5, 0.5, _t("no_data", lang), transform=axes.transAxes, ha="center", color="grey"
            )
        axes.set_xlabel(_t("year", lang))
        axes.set_ylabel(_axis_label(name, unit, lang), fontsize=9)
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    for axes in grid.flat[len(indicators) :]:
        axes.set_visible(False)
    if handles:
        figure.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncols=min(len(handles), 5),
            frameon=False,
        )
    return apply_font(figure)


def _draw_history(axes, history: pd.DataFrame, indicator: str, lang: str, handles: dict) -> bool:
    rows = history[history["indicator"] == indicator].sort_values("year")
    if rows.empty:
        return False
    value = rows["value"].to_numpy(dtype=float)
    low = rows["low"].to_numpy(dtype=float) if "low" in rows else np.full_like(value, np.nan)
    high = rows["high"].to_numpy(dtype=float) if "high" in rows else np.full_like(value, np.nan)
    # A missing bound draws no bar on that side.
    error = np.clip(np.nan_to_num(np.vstack([value - low, high - value])), 0.0, None)
    container = axes.errorbar(
        rows["year"],
        value,
        yerr=error,
        fmt="o",
        color="black",
        markersize=3.5,
        capsize=2,
        elinewidth=0.8,
        zorder=3,
    )
    handles.setdefault(_t("history", lang), container)
    return True


def _draw_target(
    axes, target: Target, results: Mapping[str, pd.DataFrame], handles: dict, lang: str
) -> None:
    if target.value is None:
        return
    if target.test in LEVEL_TESTS:
        symbol = {"level_ge": "≥", "level_gt": ">", "level_le": "≤"}[target.test]
        marker = "v" if target.test == "level_le" else "^"
        (point,) = axes.plot(
            [target.year],
            [target.value],
            marker=marker,
            markersize=8,
            linestyle="none",
            color=_TARGET_COLOUR,
            zorder=4,
        )
        axes.annotate(
            f"{symbol}{target.value:g}",
            (target.year, target.value),
            xytext=(5, 4),
            textcoords="offset points",
            fontsize=8,
            color=_TARGET_COLOUR,
        )
        handles.setdefault(_t("target", lang), point)
    elif target.test in ALL_YEARS_TESTS:
        first = min((frame.index.min() for frame in results.values()), default=target.year)
        word = _t("cap" if target.test == "level_le_all_years" else "floor", lang)
        (line,) = axes.plot(
            [first, target.year],
            [target.value] * 2,
            linestyle="--",
            color=_TARGET_COLOUR,
            linewidth=1.0,
        )
        axes.annotate(
            f"{word} {target.value:g}",
            (target.year, target.value),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=8,
            color=_TARGET_COLOUR,
        )
        handles.setdefault(_t("target", lang), line)


def feasibility(
    tables: Mapping[str, pd.DataFrame], lang: str = "zh", clip: float = 100.0
) -> Figure:
    """One row per target: the margin to the target in % of the target value, per scenario.

    Parameters
    ----------
    tables : mapping
        Scenario label -> table of :func:`simulator.targets.evaluate` on one run (best made
        with the same ``lang``, whose names label the rows).
    lang : {"zh", "en"}
    clip : float
        Margins beyond +-``clip`` [%] are drawn at the edge with their value written.

    Returns
    -------
    matplotlib.figure.Figure
        Markers coloured by status (met, missed), one marker shape per scenario. Targets with
        a margin but no % margin (peak year) sit on the zero line as hollow markers with the
        simulated value written. Not-assessed targets have a grey row name and a grey note
        with the reason.
    """
    _check_lang(lang)
    if not tables:
        raise ValueError("feasibility: no tables")
    for scenario, table in tables.items():
        if "run" in table and table["run"].nunique() > 1:
            raise ValueError(
                f"feasibility: table {scenario!r} holds several runs; "
                "use simulator.targets.probabilities for ensembles"
            )
    rows = pd.concat([t[["id", "name"]] for t in tables.values()]).drop_duplicates("id")
    position = {identifier: i for i, identifier in enumerate(rows["id"])}
    figure = _new_figure(10.0, 0.34 * len(rows) + 2.0)
    axes = figure.subplots()
    step = 0.7 / max(len(tables), 1)
    assessed: set[str] = set()
    for number, (_scenario, table) in enumerate(tables.items()):
        offset = (number - (len(tables) - 1) / 2) * step
        marker = _MARKERS[number % len(_MARKERS)]
        for row in table.itertuples(index=False):
            y = position[row.id] + offset
            if row.status == "not assessed":
                continue
            assessed.add(row.id)
            _draw_margin(axes, row, y, marker, clip, lang)
    for identifier, i in position.items():
        if identifier not in assessed:
            reason = next(
                str(t.loc[t["id"] == identifier, "reason"].iloc[0])
                for t in tables.values()
                if identifier in set(t["id"])
            )
            note = f"{_t('not assessed', lang)}: {reason}"
            axes.text(
                -clip * 1.05,
                i,
                textwrap.shorten(_plain(note), 70),
                va="center",
                fontsize=7,
                color=STATUS_COLOURS["not assessed"],
                style="italic",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0},
            )
    axes.axvline(0.0, color="black", linewidth=0.8, zorder=1)
    axes.set_xlim(-clip * 1.1, clip * 1.1)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_yticks(range(len(rows)), [_plain(name) for name in rows["name"]], fontsize=8)
    for tick, identifier in zip(axes.get_yticklabels(), rows["id"], strict=True):
        if identifier not in assessed:
            tick.set_color(STATUS_COLOURS["not assessed"])
    axes.set_xlabel(_t("margin", lang))
    axes.set_ylabel(_t("target", lang))
    axes.set_title(_t("feasibility", lang))
    axes.grid(axis="x", alpha=0.3)
    handles = [Patch(color=STATUS_COLOURS[s], label=_t(s, lang)) for s in STATUS_COLOURS]
    handles += [
        Line2D(
            [],
            [],
            marker=_MARKERS[i % len(_MARKERS)],
            color="black",
            linestyle="none",
            label=_plain(s),
        )
        for i, s in enumerate(tables)
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False
    )
    return apply_font(figure)


def _draw_margin(axes, row, y: float, marker: str, clip: float, lang: str) -> None:
    colour = STATUS_COLOURS[row.status]
    if np.isfinite(row.margin_pct):
        x = float(np.clip(row.margin_pct, -clip, clip))
        axes.plot([x], [y], marker=marker, color=colour, linestyle="none", markersize=6)
        if x != row.margin_pct:
            axes.annotate(
                f"{row.margin_pct:+.0f}%",
                (x, y),
                xytext=(-4 if x > 0 else 4, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
                ha="right" if x > 0 else "left",
                color=colour,
            )
        return
    # No % margin (a peak year): on the zero line, hollow, with the simulated value.
    axes.plot(
        [0.0],
        [y],
        marker=marker,
        markerfacecolor="white",
        markeredgecolor=colour,
        linestyle="none",
        markersize=6,
    )
    if getattr(row, "note", ""):
        text = row.note
    elif row.test == "peak_by" and np.isfinite(row.simulated):
        text = _t("peak", lang).format(year=int(row.simulated))
    else:
        text = f"{row.simulated:g} {row.unit}"
    axes.annotate(
        _plain(text),
        (0.0, y),
        xytext=(6, 0),
        textcoords="offset points",
        fontsize=7,
        va="center",
        color=colour,
    )


def save(
    figure: Figure, path: str | Path, formats: Sequence[str] = ("png", "pdf"), dpi: int = 200
) -> list[Path]:
    """Write ``figure`` once per format.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or Path
        Output path with or without a suffix: ``out/fig`` and ``out/fig.png`` both give
        ``out/fig.png`` and ``out/fig.pdf``. Missing folders are created.
    formats : sequence of str
        Among :data:`FORMATS`.
    dpi : int
        Resolution of raster formats [dots per inch].

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    if path.suffix.lower().lstrip(".") in FORMATS:
        path = path.with_suffix("")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"save: unknown format {unknown[0]!r} (choose from {', '.join(FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # No creation date in PDF/SVG, so the same figure gives the same bytes.
    metadata = {"png": None, "pdf": {"CreationDate": None}, "svg": {"Date": None}}
    for fmt in formats:
        out = path.with_name(f"{path.name}.{fmt}")
        figure.savefig(out, format=fmt, dpi=dpi, metadata=metadata[fmt])
        written.append(out)
    return written
