"""Fit report: every observation's residual, statistics per series (MAPE, RMSPE, Theil's U^M, U^S, U^C after
Sterman 1984), the issue's goals, and history-vs-simulation plots with Chinese and English labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from calibration.fit import FitResult
from calibration.observations import Predictor, compared_quantity, split_variable

#: The issue's goals on high-confidence 2015-2020 observations: (name, series, MAPE limit [%]).
GOALS = (
    ("nominal GDP", ("gdp_nominal",), 2.0),
    ("resident population (re-based)", ("population",), 1.0),
    ("primary industry VA", ("primary_va",), 3.0),
    ("secondary industry VA", ("secondary_va",), 3.0),
    ("tertiary industry VA", ("tertiary_va",), 3.0),
    ("sector VA, pooled", ("primary_va", "secondary_va", "tertiary_va"), 3.0),
)
FIRST_YEAR, LAST_YEAR = 2015, 2020
_FIT_COLOUR, _CHECK_COLOUR, _MODEL_COLOUR = "#2166ac", "#b2182b", "#333333"


def evaluate(result: FitResult) -> pd.DataFrame:
    """Every observation (fit and check) against the model at the fitted values.

    Returns
    -------
    pandas.DataFrame
        The observation columns plus ``model`` (the compared quantity, re-based where the row says),
        ``error`` (model - observed, 0 inside a range), ``error_pct`` (error / |observed| x 100, NaN for
        ranges), ``z`` (error / sigma) and ``inside`` (ranges only: within 0.01 sigma of the range, as a
        range that binds holds the fit on its edge).
    """
    problem = result.problem
    table = problem.observations.table.copy()
    predictor = Predictor(table, problem.model.years)
    model = problem.simulate(result.theta[None, :], table)[0]
    z = predictor.residuals(model[None, :])[0]
    table["model"] = model
    table["z"] = z
    table["error"] = z * table["sigma"]
    is_range = table["kind"] == "range"
    table["error_pct"] = np.where(is_range, np.nan, 100 * table["error"] / table["value"].abs())
    table["inside"] = np.where(is_range, np.abs(z) < 0.01, np.nan)
    return table


def theil(simulated, actual) -> dict:
    """MAPE, RMSPE [%] and Theil's inequality proportions U^M, U^S, U^C of one series.

    Population moments (divide by n), so that U^M + U^S + U^C = 1 when the mean squared error is positive:
    ``MSE = (mean S - mean A)^2 + (sd S - sd A)^2 + 2 (sd S sd A - cov(S, A))`` (Sterman 1984).
    """
    s, a = np.asarray(simulated, float), np.asarray(actual, float)
    err = s - a
    mse = float(np.mean(err**2))
    out = {"n": int(s.size), "mape": float(np.mean(np.abs(err / a))) * 100,
           "rmspe": float(np.sqrt(np.mean((err / a) ** 2))) * 100, "um": np.nan, "us": np.nan, "uc": np.nan}
    if mse > 0:
        sd_s, sd_a = s.std(), a.std()
        cov = float(np.mean((s - s.mean()) * (a - a.mean())))
        out.update(um=(s.mean() - a.mean()) ** 2 / mse, us=(sd_s - sd_a) ** 2 / mse,
                   uc=2 * (sd_s * sd_a - cov) / mse)
    return out


def _point_rows(table: pd.DataFrame) -> pd.DataFrame:
    keep = (table["kind"] != "range") & table["year"].between(FIRST_YEAR, LAST_YEAR)
    return table[keep]


def series_statistics(table: pd.DataFrame) -> pd.DataFrame:
    """Per series: n, MAPE, RMSPE, U^M, U^S, U^C on point observations of 2015-2020, ranges held."""
    rows = []
    for series, group in table.groupby("series", sort=False):
        points = _point_rows(group)
        ranges = group[group["kind"] == "range"]
        stats = theil(points["model"], points["value"]) if len(points) else {"n": 0}
        rows.append({"series": series, "series_zh": group["series_zh"].iloc[0],
                     "series_en": group["series_en"].iloc[0], "kind": "/".join(sorted(set(group["kind"]))),
                     "use": "/".join(sorted(set(group["use"]))), **stats,
                     "ranges_held": f"{int(ranges['inside'].sum())}/{len(ranges)}" if len(ranges) else ""})
    return pd.DataFrame(rows)


def goals(table: pd.DataFrame) -> pd.DataFrame:
    """The issue's goals: MAPE on the high-confidence 2015-2020 observations of each series."""
    rows = []
    for name, series, limit in GOALS:
        points = _point_rows(table)
        points = points[points["series"].isin(series) & (points["confidence"] == "high")]
        mape = theil(points["model"], points["value"])["mape"] if len(points) else np.nan
        rows.append({"goal": name, "observations": ", ".join(points["id"]), "mape": mape, "limit": limit,
                     "met": bool(mape <= limit)})
    return pd.DataFrame(rows)


def parameter_table(result: FitResult) -> pd.DataFrame:
    """Fitted value, standard error, prior, identification and bound flag of every parameter."""
    problem = result.problem
    return pd.DataFrame({
        "parameter": [p.id for p in problem.parameters],
        "default": [p.default for p in problem.parameters],
        "value": result.theta,
        "std_error": result.std_error,
        "min": problem.low,
        "max": problem.low + problem.span,
        "posterior_over_prior_sd": result.ratio_to_prior,
        "identification": result.identification(),
        "at_bound": result.at_bound(),
    })


def format_text(result: FitResult, table: pd.DataFrame, lang: str = "en") -> str:
    """The printed report: goals, statistics per series, parameters and every observation's residual."""
    name = "series_zh" if lang == "zh" else "series_en"
    lines = [
        f"calibration: {result.method}, seed {result.seed}, {result.starts} start(s), {result.runs} runs, "
        f"{result.seconds:.1f} s; objective {result.objective:.3f} (data chi2 {result.chi2_data:.3f} on "
        f"{len(result.problem.predictor)} observations, prior {result.chi2_prior:.3f})",
        "",
        "Goals (MAPE on high-confidence 2015-2020 observations):",
    ]
    for row in goals(table).itertuples():
        status = "met   " if row.met else "MISSED"
        lines.append(f"  {status} {row.goal:32s} {row.mape:6.2f} % (<= {row.limit:g} %)  "
                     f"[{row.observations}]")
    header = f"{'n':>2s} {'MAPE%':>7s} {'RMSPE%':>7s} {'U^M':>5s} {'U^S':>5s} {'U^C':>5s} ranges"
    lines += ["", "Per series (point observations 2015-2020; Theil proportions of the MSE):",
              f"  {'series':44s} {header}"]
    for row in series_statistics(table).itertuples():
        check = (" (核对)" if lang == "zh" else " (check)") if row.use == "check" else ""
        label = _pad(f"{getattr(row, name)}{check}", 44)
        if row.n:
            theil_u = f"{_f(row.um)} {_f(row.us)} {_f(row.uc)}"
            errors = f"{row.mape:7.2f} {row.rmspe:7.2f}"
            lines.append(f"  {label} {row.n:2d} {errors} {theil_u} {row.ranges_held}")
        else:
            lines.append(f"  {label} {0:2d} {'':7s} {'':7s} {'':5s} {'':5s} {'':5s} {row.ranges_held}")
    lines += ["", "Parameters (posterior sd / prior sd < 0.5: identified, < 0.9: weak, else: prior):"]
    for row in parameter_table(result).itertuples():
        flag = " AT BOUND" if row.at_bound else ""
        fitted = f"{row.default:10.4g} -> {row.value:10.5g} +/- {row.std_error:9.3g}"
        lines.append(f"  {row.parameter:38s} {fitted}  {row.identification}{flag}")
    lines += ["", "Every observation (z = (model - observed) / sigma; ranges: 0 inside):",
              f"  {'id':32s} {'use':5s} {'observed':>18s} {'model':>11s} {'error%':>7s} {'z':>6s}"]
    for row in table.itertuples():
        observed = (f"[{_g(row.low)}, {_g(row.high)}]" if row.kind == "range" else _g(row.value))
        pct = "" if np.isnan(row.error_pct) else f"{row.error_pct:7.2f}"
        lines.append(f"  {row.id:32s} {row.use:5s} {observed:>18s} {row.model:11.5g} {pct:>7s} {row.z:6.2f}")
    return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    """Left-justify to ``width`` terminal columns; Chinese characters take two."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _f(x: float) -> str:
    return "   - " if np.isnan(x) else f"{x:5.2f}"


def _g(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.6g}"


def write_report(result: FitResult, folder: str | Path, lang: str = "en", table=None) -> list[Path]:
    """Write report.txt, residuals.csv, series_statistics.csv, goals.csv, parameters.csv and PNG plots.

    ``table`` is :func:`evaluate` of ``result`` if already computed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = evaluate(result) if table is None else table
    written = []
    for name, frame in (("residuals", table), ("series_statistics", series_statistics(table)),
                        ("goals", goals(table)), ("parameters", parameter_table(result))):
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")
        written.append(path)
    text = folder / "report.txt"
    text.write_text(format_text(result, table, lang) + "\n", encoding="utf-8")
    written.append(text)
    written += plot_all(result, table, folder)
    return written


# --- plots ---------------------------------------------------------------------------------------


def plot_all(result: FitResult, table: pd.DataFrame, folder: Path) -> list[Path]:
    """One PNG per series (``fit_<series>.png``) and an overview grid (``fit_overview.png``)."""
    curves = _curves(result, table)
    written = []
    groups = list(table.groupby("series", sort=False))
    for series, group in groups:
        figure = _figure(5.2, 3.6)
        figure.subplots_adjust(left=0.14, right=0.97, bottom=0.13, top=0.86)
        _draw(figure.add_subplot(), group, curves, result)
        written.append(_save(figure, folder / f"fit_{series}.png"))
    cols = 4
    rows = -(-len(groups) // cols)
    figure = _figure(4.2 * cols, 3.0 * rows)
    # Fixed margins: constrained layout would lay out the CJK text of every panel twice, for minutes.
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.3 / rows, top=1 - 0.25 / rows, wspace=0.28,
                           hspace=0.55)
    for i, (_, group) in enumerate(groups):
        _draw(figure.add_subplot(rows, cols, i + 1), group, curves, result, legend=i == 0)
    written.append(_save(figure, folder / "fit_overview.png"))
    return written


def _curves(result: FitResult, table: pd.DataFrame) -> dict:
    """Model curve of every (variable, kind, base year, rebase) in the table: (years, values)."""
    problem = result.problem
    variables = sorted({v for expr in table["variable"] for v in split_variable(expr)})
    values = problem.run(result.theta[None, :], variables)
    years = np.array([int(round(y)) for y in problem.model.years])
    k = float(np.atleast_1d(problem.rebasing(result.theta[None, :]))[0])
    last = int(np.searchsorted(years, LAST_YEAR))
    curves = {}
    for row in table.itertuples():
        key = (row.variable, _measure(row), row.base_year)
        if key in curves:
            continue
        parts = split_variable(row.variable)
        series = values[parts[0]] if len(parts) == 1 else values[parts[0]] / values[parts[1]]
        kind = _measure(row)
        start = 1 if kind == "growth" else max(0, int(np.searchsorted(years, row.base_year)))
        ys = [compared_quantity(kind, series, i, int(np.searchsorted(years, row.base_year)))[0]
              for i in range(start, last + 1)]
        curves[key] = (years[start:last + 1], np.array(ys))
    curves["k"] = k
    return curves


def _measure(row) -> str:
    if row.kind == "range":
        return "change" if row.base_year >= 0 else "level"
    return row.kind


def _draw(axes, group: pd.DataFrame, curves: dict, result: FitResult, legend: bool = True) -> None:
    k = curves["k"]
    for key in dict.fromkeys((r.variable, _measure(r), r.base_year) for r in group.itertuples()):
        years, ys = curves[key]
        axes.plot(years, ys, color=_MODEL_COLOUR, lw=1.6, label="模拟 / simulated")
    for row in group.itertuples():
        colour = _FIT_COLOUR if row.use == "fit" else _CHECK_COLOUR
        # Observations are drawn on the model's basis: a pre-census count times k (census / pre-census).
        scale = k ** (-row.rebase)
        if row.kind == "range":
            low = row.low * scale if np.isfinite(row.low) else None
            high = row.high * scale if np.isfinite(row.high) else None
            bottom = low if low is not None else high - 3 * row.sigma
            top = high if high is not None else low + 3 * row.sigma
            axes.bar(row.year, top - bottom, bottom=bottom, width=0.35, color=colour, alpha=0.25,
                     label="观测区间 / observed range" if row.use == "fit"
                     else "核对区间(未拟合) / check range (not fitted)")
            continue
        axes.errorbar(row.year, row.value * scale, yerr=row.sigma * scale, fmt="o", ms=4, color=colour,
                      capsize=3, label="观测 ±1σ / observed ±1σ" if row.use == "fit"
                      else "核对(未拟合) / check (not fitted)")
        if row.rebase:
            axes.plot(row.year, row.value, "o", mfc="none", color="#999999", ms=4,
                      label="普查前口径原值 / pre-census as published")
    first = group.iloc[0]
    axes.set_title(f"{first.series_zh}\n{first.series_en}", fontsize=9)
    unit = first.unit if first.kind in ("level", "range") and first.base_year < 0 else "%"
    axes.set_ylabel(unit, fontsize=8)
    axes.set_xlabel("年份 / Year", fontsize=8)
    axes.set_xlim(FIRST_YEAR - 0.5, LAST_YEAR + 0.5)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    if legend:
        handles, labels = axes.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        axes.legend(unique.values(), unique.keys(), fontsize=6, loc="best")


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    from simulator.plots.charts import apply_font

    apply_font(figure)
    figure.savefig(path, format="png", dpi=130, metadata={"Software": None})
    return path
