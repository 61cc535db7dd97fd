"""Report of the Bayesian calibration: posterior summary, posterior-predictive check (table and zh/en figures),
and the ``jinan-sd calibrate --posterior`` command body.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulator.errors import UserError

from .observations import Predictor, compared_quantity, split_variable
from .posterior import Posterior

FIRST_YEAR, LAST_YEAR = 2015, 2020
#: Central predictive intervals drawn and checked [%].
LEVELS = (50, 90)
_BAND_COLOUR, _FIT_COLOUR, _CHECK_COLOUR = "#4393c3", "#2166ac", "#b2182b"
_TEXT = {
    "band90": ("后验预测 90% 区间", "posterior 90 % band"),
    "band50": ("后验预测 50% 区间", "posterior 50 % band"),
    "median": ("后验中位数", "posterior median"),
    "fit": ("观测 ±1σ(拟合)", "observed ±1σ (fitted)"),
    "check": ("观测 ±1σ(仅核对)", "observed ±1σ (check only)"),
    "range": ("观测区间", "observed range"),
    "predictive": ("含观测误差的 90% 预测区间", "90 % predictive interval incl. observation error"),
    "year": ("年份", "Year"),
    "title": ("后验预测检验:2015–2020 年模拟区间与全部观测",
              "Posterior-predictive check: 2015–2020 bands and every observation"),
}


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return en if lang == "en" else zh


def predictive_table(post: Posterior, seed: int) -> pd.DataFrame:
    """Every observation (fit and check) against the posterior predictive distribution.

    The predictive draw of a point observation is the model's counterpart at a posterior draw plus
    Gaussian noise with the observation's sigma (``default_rng([seed, 3])``). Columns: the observation
    columns, ``q05 q25 q50 q75 q95`` (predictive quantiles, in the observation's units and basis),
    ``inside50`` / ``inside90`` (the observed value lies in the central interval; for ranges the share of
    noiseless draws inside the range, as a fraction), ``z_median`` (residual at the median).
    """
    problem = post.problem
    table = problem.observations.table.copy()
    q = problem.simulate(post.theta, table)  # (D, M)
    rng = np.random.default_rng([seed, 3])
    noisy = q + rng.standard_normal(q.shape) * table["sigma"].to_numpy()[None, :]
    quantiles = np.percentile(noisy, [5, 25, 50, 75, 95], axis=0)
    for name, row in zip(("q05", "q25", "q50", "q75", "q95"), quantiles, strict=True):
        table[name] = row
    value = table["value"].to_numpy()
    is_range = (table["kind"] == "range").to_numpy()
    lo, hi = table["low"].to_numpy(), table["high"].to_numpy()
    share_in_range = np.mean((q >= lo) & (q <= hi), axis=0)
    table["inside50"] = np.where(is_range, share_in_range, (value >= quantiles[1]) & (value <= quantiles[3]))
    table["inside90"] = np.where(is_range, share_in_range, (value >= quantiles[0]) & (value <= quantiles[4]))
    table["z_median"] = Predictor(table, problem.model.years).residuals(np.median(q, axis=0)[None, :])[0]
    return table


def coverage(table: pd.DataFrame) -> dict:
    """Share of point observations inside their 50 % and 90 % predictive intervals, by use and pooled."""
    points = table[table["kind"] != "range"]
    out = {}
    for use in ("fit", "check", "all"):
        part = points if use == "all" else points[points["use"] == use]
        out[use] = {"n": int(len(part)), "inside50": float(part["inside50"].mean()) if len(part) else np.nan,
                    "inside90": float(part["inside90"].mean()) if len(part) else np.nan}
    return out


def parameter_summary(post: Posterior) -> pd.DataFrame:
    """Per parameter: default, MAP, posterior mean, sd, 5 / 50 / 95 % quantiles, tau, R-hat, bulk ESS."""
    d = post.diagnostics
    q = np.percentile(post.theta, [5, 50, 95], axis=0)
    return pd.DataFrame({
        "parameter": post.names,
        "default": [p.default for p in post.problem.parameters],
        "map": post.map_theta,
        "mean": post.theta.mean(axis=0),
        "sd": post.theta.std(axis=0, ddof=1),
        "q05": q[0], "q50": q[1], "q95": q[2],
        "tau": [d["tau"][n] for n in post.names],
        "rhat": [d["rhat"][n] for n in post.names],
        "ess_bulk": [d["ess_bulk"][n] for n in post.names],
    })


def format_summary(post: Posterior, table: pd.DataFrame) -> str:
    """Printed summary: sampler, diagnostics, coverage, parameters."""
    d, s = post.diagnostics, post.settings
    cover = coverage(table)
    lines = [
        f"posterior: emcee {s['moves']}, {s['walkers']} walkers x {s['steps']} steps (vectorised: one fast-engine "
        f"batch per half-step), seed {post.seed}, {post.runs} runs, {post.seconds:.1f} s",
        f"  burn-in {d['burn']} steps, thin {d['thin']}, {d['draws']} draws kept; acceptance "
        f"{d['acceptance_mean']:.3f} (min {d['acceptance_min']:.3f}); tau max {d['tau_max']:.1f} steps "
        f"(chain = {d['chain_over_tau_max']:.1f} tau); R-hat max {d['rhat_max']:.4f}; ESS bulk min "
        f"{d['ess_bulk_min']:.0f}, tail min {d['ess_tail_min']:.0f}; "
        + ("converged" if d["converged"] else "NOT CONVERGED (chain < 50 tau or R-hat >= 1.01: run more --steps)"),
        f"  most probable position visited (burn-in included): log-posterior {post.visited_log_posterior:.4f}; "
        f"least-squares optimum {-0.5 * post.mode.objective:.4f}",
        "  posterior-predictive coverage of point observations (50 % / 90 % intervals): "
        + "; ".join(f"{use} {c['inside50']:.0%} / {c['inside90']:.0%} of {c['n']}" for use, c in cover.items()),
        "",
        f"  {'parameter':38s} {'default':>10s} {'MAP':>10s} {'mean':>10s} {'sd':>9s} {'5%':>10s} {'95%':>10s} "
        f"{'tau':>6s} {'R-hat':>6s}",
    ]
    for row in parameter_summary(post).itertuples():
        lines.append(f"  {row.parameter:38s} {row.default:10.4g} {row.map:10.5g} {row.mean:10.5g} {row.sd:9.3g} "
                     f"{row.q05:10.5g} {row.q95:10.5g} {row.tau:6.1f} {row.rhat:6.3f}")
    return "\n".join(lines)


# --- figure --------------------------------------------------------------------------------------


def _measure(row) -> str:
    if row.kind == "range":
        return "change" if row.base_year >= 0 else "level"
    return row.kind


def band_curves(post: Posterior, table: pd.DataFrame) -> dict:
    """Posterior quantiles (5, 25, 50, 75, 95 %) of each plotted curve over 2015-2020, model basis.

    Keys ``(variable, measure, base_year)``; values ``(years, quantiles (5, len(years)))``; key ``"k"``
    holds the posterior median of the census re-basing factor.
    """
    problem = post.problem
    variables = sorted({v for expr in table["variable"] for v in split_variable(expr)})
    values = problem.run(post.theta, variables)
    years = np.array([int(round(y)) for y in problem.model.years])
    last = int(np.searchsorted(years, LAST_YEAR))
    curves = {"k": float(np.median(np.atleast_1d(problem.rebasing(post.theta))))}
    for row in table.itertuples():
        key = (row.variable, _measure(row), row.base_year)
        if key in curves:
            continue
        parts = split_variable(row.variable)
        series = values[parts[0]] if len(parts) == 1 else values[parts[0]] / values[parts[1]]
        base = int(np.searchsorted(years, row.base_year))
        start = 1 if key[1] == "growth" else max(0, base if row.base_year >= 0 else 0)
        ys = np.stack([compared_quantity(key[1], series, i, base) for i in range(start, last + 1)], axis=1)
        curves[key] = (years[start:last + 1], np.percentile(ys, [5, 25, 50, 75, 95], axis=0))
    return curves


def plot_ppc(post: Posterior, table: pd.DataFrame, path: str | Path, lang: str) -> Path:
    """One panel per series: posterior 50 / 90 % bands, median, every observation (±1 sigma, ranges as bars)
    and its 90 % predictive interval; ``lang`` "zh" or "en". Returns the PNG path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simulator.plots.charts import apply_font

    if lang not in ("zh", "en"):
        raise UserError(f"figure language must be zh or en, got {lang!r}")
    curves = band_curves(post, table)
    k = curves["k"]
    groups = list(table.groupby("series", sort=False))
    cols = 4
    rows = -(-len(groups) // cols)
    figure = Figure(figsize=(4.2 * cols, 2.9 * rows + 0.8))
    FigureCanvasAgg(figure)
    top = 1 - 1.1 / (2.9 * rows + 0.8)
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.3 / rows, top=top, wspace=0.3, hspace=0.6)
    unique: dict = {}
    for i, (_, group) in enumerate(groups):
        axes = figure.add_subplot(rows, cols, i + 1)
        _panel(axes, group, curves, k, lang)
        handles, labels = axes.get_legend_handles_labels()
        for label, handle in zip(labels, handles, strict=True):
            unique.setdefault(label, handle)
    figure.legend(unique.values(), unique.keys(), loc="upper center", ncol=min(len(unique), 4), fontsize=8,
                  frameon=False, bbox_to_anchor=(0.5, 1 - 0.3 / (2.9 * rows + 0.8)))
    figure.suptitle(_t("title", lang), fontsize=11, y=1 - 0.05 / (2.9 * rows + 0.8), va="top")
    apply_font(figure)
    path = Path(path)
    figure.savefig(path, format="png", dpi=110, metadata={"Software": None})
    return path


def _panel(axes, group: pd.DataFrame, curves: dict, k: float, lang: str) -> None:
    for key in dict.fromkeys((r.variable, _measure(r), r.base_year) for r in group.itertuples()):
        years, q = curves[key]
        axes.fill_between(years, q[0], q[4], color=_BAND_COLOUR, alpha=0.2, lw=0, label=_t("band90", lang))
        axes.fill_between(years, q[1], q[3], color=_BAND_COLOUR, alpha=0.4, lw=0, label=_t("band50", lang))
        axes.plot(years, q[2], color="#333333", lw=1.2, label=_t("median", lang))
    for row in group.itertuples():
        colour = _FIT_COLOUR if row.use == "fit" else _CHECK_COLOUR
        scale = k ** (-row.rebase)  # observations drawn on the model's basis (pre-census counts times k)
        if row.kind == "range":
            low = row.low if np.isfinite(row.low) else row.high - 3 * row.sigma
            high = row.high if np.isfinite(row.high) else row.low + 3 * row.sigma
            axes.bar(row.year, (high - low) * scale, bottom=low * scale, width=0.3, color=colour, alpha=0.3,
                     label=_t("range", lang))
            continue
        axes.vlines(row.year + 0.12, row.q05 * scale, row.q95 * scale, color="#777777", lw=1.0,
                    label=_t("predictive", lang))
        axes.errorbar(row.year, row.value * scale, yerr=row.sigma * scale, fmt="o", ms=3.5, color=colour,
                      capsize=2.5, label=_t(row.use, lang))
    first = group.iloc[0]
    axes.set_title(first.series_en if lang == "en" else first.series_zh, fontsize=9)
    unit = first.unit if first.kind in ("level", "range") and first.base_year < 0 else "%"
    axes.set_ylabel(str(unit).replace("$", r"\$"), fontsize=8)
    axes.set_xlabel(_t("year", lang), fontsize=8)
    axes.set_xlim(FIRST_YEAR - 0.5, LAST_YEAR + 0.5)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)


# --- the command ---------------------------------------------------------------------------------


def run_posterior(args, problem, out: Path, report: Path | None) -> int:
    """``jinan-sd calibrate --posterior``: sample, write posterior.parquet and calibrated.toml atomically,
    print the posterior summary and the fit report at calibrated.toml's point, write the report folder.

    calibrated.toml holds the least-squares optimum the walkers started around (the same 8-start fit as
    ``jinan-sd calibrate``, which therefore writes the same bytes), checked against the new sample as the
    maximum a posteriori point (:mod:`calibration.map_point`); if a visited position polishes to a lower
    objective, that polished point is written instead (and the header says so).
    """
    import dataclasses

    from .fit import to_toml
    from .map_point import check_against_posterior
    from .posterior import (
        DEFAULT_STEPS,
        DEFAULT_WALKERS,
        POSTERIOR_PATH,
        STORE_EVERY,
        polish_from,
        sample_posterior,
        to_parquet_bytes,
    )
    from .report import evaluate, format_text, write_report

    target = Path(getattr(args, "posterior_out", None) or POSTERIOR_PATH)
    if target.suffix.lower() != ".parquet":
        raise UserError(f"posterior_out must be a .parquet file, got '{target}'", param="posterior_out")
    if not target.parent.is_dir():
        raise UserError(f"posterior_out: folder '{target.parent}' does not exist", param="posterior_out")
    walkers = DEFAULT_WALKERS if getattr(args, "walkers", None) is None else args.walkers
    steps = DEFAULT_STEPS if getattr(args, "steps", None) is None else args.steps
    if walkers % 2 or walkers < 2 * problem.n_parameters:
        raise UserError(f"walkers must be even and at least 2 x {problem.n_parameters} parameters, got {walkers}",
                        param="walkers")
    if steps < STORE_EVERY or steps % STORE_EVERY:
        raise UserError(f"steps must be a positive multiple of {STORE_EVERY}, got {steps}", param="steps")
    progress = getattr(args, "progress", True)
    post = sample_posterior(problem, seed=args.seed, walkers=walkers, steps=steps, progress=progress)
    # Both files are made in memory first, then each is renamed into place whole.
    parquet = to_parquet_bytes(post)
    result = dataclasses.replace(post.mode, problem=problem)
    better = post.visited_log_posterior > -0.5 * result.objective  # a visited point beats the optimum
    polished = polish_from(result, post.visited_theta) if better else None
    result = polished or result
    result = dataclasses.replace(result, map_check=check_against_posterior(result, target, parquet))
    check = result.map_check
    toml = to_toml(result).encode("utf-8")
    from simulator.atomic import write_bytes as write_atomic

    write_atomic(target, parquet)
    write_atomic(out, toml)
    lang = getattr(args, "lang", "en")
    predictive = predictive_table(post, args.seed)
    table = evaluate(result)
    print(format_summary(post, predictive))
    print()
    print(format_text(result, table, lang))
    entries = check["entries"]
    verdict = ("the maximum a posteriori point" if entries["map_point"] is True
               else f"map check: {entries['map_point']}")
    print(f"\nwrote {target} ({len(parquet) / 1024:.0f} KiB) and {out} ({verdict}"
          + (", polished from the most probable draw" if polished is not None else "") + ")")
    if report is not None:
        from simulator.plots.fonts import FontNotFoundError

        try:
            written = write_report(result, report, lang, table)
            predictive.to_csv(report / "posterior_predictive.csv", index=False, lineterminator="\n",
                              float_format="%.6g")
            parameter_summary(post).to_csv(report / "posterior_parameters.csv", index=False, lineterminator="\n",
                                           float_format="%.6g")
            (report / "posterior.txt").write_text(format_summary(post, predictive) + "\n", encoding="utf-8")
            written += [plot_ppc(post, predictive, report / f"ppc_{code}.png", code) for code in ("zh", "en")]
        except FontNotFoundError as exc:
            raise UserError(f"report: {exc}") from None
        print(f"wrote {len(written) + 3} report files to {report}")
    return 0
