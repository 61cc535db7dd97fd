"""Figures of ``jinan-sd validate``: per origin, one panel per series with the forecast fan of the held-back
years (90 % and 50 % predictive intervals, median), the fitted points before the origin, the held-back data
points and the naive trend; labelled in Chinese or English."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.errors import UserError

_TEXT = {
    "band90": ("90% 预测区间", "90 % predictive interval"),
    "band50": ("50% 预测区间", "50 % predictive interval"),
    "median": ("预测中位数", "forecast median"),
    "train": ("用于校准的观测", "fitted observations"),
    "held": ("留出的观测(±1σ)", "held-back observations (±1σ)"),
    "naive": ("朴素趋势", "naive trend"),
    "year": ("年份", "Year"),
    "title": ("滚动起点回测:用 2015–{o} 年数据校准,预测 {a}–2020 年",
              "Rolling-origin backtest: calibrated on 2015–{o}, forecast {a}–2020"),
}


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return en if lang == "en" else zh


def plot_origin(result, path: str | Path, lang: str) -> Path:
    """The fan figure of one origin (a :class:`calibration.validate.OriginResult`); returns the PNG path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simulator.plots.charts import apply_font

    if lang not in ("zh", "en"):
        raise UserError(f"figure language must be zh or en, got {lang!r}")
    points = result.points
    groups = list(points.groupby(["series", "variable", "kind", "base_year"], sort=False))
    cols = 4
    rows = max(1, -(-len(groups) // cols))
    height = 2.8 * rows + 0.9
    figure = Figure(figsize=(4.2 * cols, height))
    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.3 / rows, top=1 - 1.1 / height, wspace=0.3, hspace=0.6)
    unique: dict = {}
    for i, ((_series, variable, kind, base_year), group) in enumerate(groups):
        axes = figure.add_subplot(rows, cols, i + 1)
        group = group.sort_values("year")
        years = group["year"].to_numpy(int)
        train = result.training
        train = train[(train["variable"] == variable) & (train["kind"] == kind) & (train["base_year"] == base_year)]
        if len(years) > 1:
            axes.fill_between(years, group["q05"], group["q95"], color="#4393c3", alpha=0.2, lw=0,
                              label=_t("band90", lang))
            axes.fill_between(years, group["q25"], group["q75"], color="#4393c3", alpha=0.4, lw=0,
                              label=_t("band50", lang))
            axes.plot(years, group["q50"], color="#333333", lw=1.2, label=_t("median", lang))
        else:
            axes.vlines(years, group["q05"], group["q95"], color="#4393c3", lw=6, alpha=0.35,
                        label=_t("band90", lang))
            axes.vlines(years, group["q25"], group["q75"], color="#4393c3", lw=6, alpha=0.7,
                        label=_t("band50", lang))
            axes.plot(years, group["q50"], "_", color="#333333", ms=14, label=_t("median", lang))
        if len(train):
            axes.plot(train["year"], train["value"], "o", color="#999999", ms=3.5, label=_t("train", lang))
        axes.errorbar(years, group["value"], yerr=group["sigma"], fmt="o", ms=4, color="#b2182b", capsize=2.5,
                      label=_t("held", lang))
        if group["naive"].notna().any():
            axes.plot(years, group["naive"], "x--", color="#1b7837", ms=5, lw=0.8, label=_t("naive", lang))
        first = group.iloc[0]
        name = first["series_en"] if lang == "en" else first["series_zh"]
        if (points["series"] == first["series"]).sum() > len(group):  # several quantities of one series
            name = f"{name}: {first['id'].rsplit('-', 1)[0]}"
        axes.set_title(name, fontsize=9)
        unit = first["unit"] if kind == "level" else "%"
        axes.set_ylabel(str(unit).replace("$", r"\$"), fontsize=8)
        axes.set_xlabel(_t("year", lang), fontsize=8)
        axes.set_xlim(2014.5, 2020.5)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
        handles, labels = axes.get_legend_handles_labels()
        for label, handle in zip(labels, handles, strict=True):
            unique.setdefault(label, handle)
    figure.legend(unique.values(), unique.keys(), loc="upper center", ncol=min(len(unique), 6), fontsize=8,
                  frameon=False, bbox_to_anchor=(0.5, 1 - 0.35 / height))
    title = _t("title", lang).format(o=result.origin, a=result.origin + 1)
    figure.suptitle(title, fontsize=11, y=1 - 0.05 / height, va="top")
    apply_font(figure)
    path = Path(path)
    figure.savefig(path, format="png", dpi=110, metadata={"Software": None})
    return path


__all__ = ["plot_origin", "np"]
