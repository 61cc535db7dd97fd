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
from matplotlib.text import Text

from simulator.plots import fonts
from simulator.plots.series import coinciding
from simulator.targets import ALL_YEARS_TESTS, LEVEL_TESTS, Target
from simulator.text import text

#: File formats :func:`save` writes.
FORMATS = ("png", "pdf", "svg")
#: Colour of each target status.
STATUS_COLOURS = MappingProxyType(
    {"met": "#1a9850", "missed": "#d73027", "not assessed": "#9e9e9e"}
)
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
_TARGET_COLOUR = "#7b3294"
_LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)))


def _t(key: str, lang: str, **fields) -> str:
    return text(lang, f"lib.charts.{key}", **fields)


def caption(lang: str, model_sha256: str = "") -> str:
    """The data source and model version line of a report figure."""
    from simulator._version import __version__

    return _t("caption", lang, version=__version__, sha=(model_sha256 or "?")[:12])


def _framed(width: float, height: float, note: str | None):
    """(figure, body): the body holds the panels and the legend; below it, a strip of its own for the
    caption (source, model version), so the layout never lets the two overlap."""
    figure = _new_figure(width, height)
    if not note:
        return figure, figure
    width_chars = int(width * (9 if any(ord(c) > 0x2E80 for c in note) else 15))
    lines = "\n".join(textwrap.fill(line, width_chars) for line in note.split("\n"))
    strip = 0.14 * (lines.count("\n") + 1) + 0.1
    body, foot = figure.subfigures(2, 1, height_ratios=[height - strip, strip])
    foot.text(0.01, 0.5, _plain(lines), fontsize=7, color="#555", ha="left", va="center")
    return figure, body


def _finish(figure: Figure, title: str | None) -> None:
    """The figure's title above everything."""
    if title:
        figure.suptitle(_plain(title), fontsize=13, fontweight="bold")


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
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Small multiples: one titled panel per indicator, one line per scenario (colour, dash and marker
    each its own, and a note in a panel where two scenarios coincide).

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
    title, note : str, optional
        Figure title (default: the catalogue's) and caption (data source and model version, e.g.
        :func:`caption`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_lang(lang)
    if not indicators:
        raise ValueError("trajectories: no indicators to draw")
    ncols = max(1, min(ncols, len(indicators)))
    nrows = math.ceil(len(indicators) / ncols)
    figure, body = _framed(4.0 * ncols, 3.2 * nrows + 1.2, note)
    grid = body.subplots(nrows, ncols, squeeze=False)
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
                    linestyle=_LINESTYLES[index % len(_LINESTYLES)],
                    marker=_MARKERS[index % len(_MARKERS)],
                    markevery=5,
                    markersize=4,
                    label=_plain(scenario),
                )
                handles.setdefault(_plain(scenario), line)
                drawn = True
        notes = [_t("identical", lang, names=_t("and", lang).join(group))
                 for group in coinciding(results, indicator)]
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
        if history is not None:
            notes += _history_notes(history, indicator, lang)
        if notes:
            axes.text(0.02, 0.98, _plain(textwrap.fill(" · ".join(notes), 30 if lang == "zh" else 50)),
                      transform=axes.transAxes, va="top", fontsize=7, color="#444")
        axes.set_title(_plain(textwrap.fill(name, 18 if lang == "zh" else 36)), fontsize=10)
        axes.set_xlabel(_t("year", lang))
        axes.set_ylabel(_plain(f"（{unit}）" if lang == "zh" else f"[{unit}]"), fontsize=9)
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    for axes in grid.flat[len(indicators) :]:
        axes.set_visible(False)
    if handles:
        body.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncols=min(len(handles), 5),
            frameon=False,
        )
    _finish(figure, title if title is not None else _t("trajectories", lang))
    return apply_font(figure)


def _history_notes(history: pd.DataFrame, indicator: str, lang: str) -> list[str]:
    rows = history[history["indicator"] == indicator]
    notes = []
    if "rebase" in rows and (rows["rebase"].fillna(0) != 0).any():
        notes.append(_t("rebased", lang))
    if len(rows) and rows["value"].isna().any():
        notes.append(_t("range", lang))
    return notes


def _draw_history(axes, history: pd.DataFrame, indicator: str, lang: str, handles: dict) -> bool:
    rows = history[history["indicator"] == indicator].sort_values("year")
    if rows.empty:
        return False
    value = rows["value"].to_numpy(dtype=float)
    low = rows["low"].to_numpy(dtype=float) if "low" in rows else np.full_like(value, np.nan)
    high = rows["high"].to_numpy(dtype=float) if "high" in rows else np.full_like(value, np.nan)
    ranged = np.isnan(value) & np.isfinite(low) & np.isfinite(high)
    if ranged.any():  # an inventory range with no single value: a bar from low to high
        bars = axes.vlines(rows["year"].to_numpy()[ranged], low[ranged], high[ranged], color="black",
                           linewidth=2.5, alpha=0.6, zorder=3)
        handles.setdefault(_t("history", lang), bars)
        if ranged.all():
            return True
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
