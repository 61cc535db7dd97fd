"""Validation you can run: rolling-origin backtests inside 2015-2020 (``jinan-sd validate``).

For each origin (default 2017 and 2018) a modeller at the end of that year is simulated, knowing nothing later:

- **Training data**: the ``fit`` observations up to the origin (a change also needs its base year by then);
  every time path of the model is cut after the origin and held at its value there (their later points are
  data); the census re-basing factor is not fitted (no census before 2019), as in
  :mod:`calibration.backtest`.
- **The 2020 shock enters as the known event it was**: ``first_shock_size`` is fixed at its value in
  ``calibration/calibrated.toml`` (its size is not something 2015-2018 could tell; its timing is the event).
- **Posterior of the truncated data**: the least-squares mode, then emcee as in
  :func:`calibration.posterior.sample_posterior`, with a shorter chain than the full posterior's (default 80
  walkers x 50 000 steps: about a minute per origin with the compiled backend; the report gives its R-hat
  and its length in autocorrelation times, and says when it is not converged by the 50-tau / 1.01 rule; the
  full-data posterior of ``jinan-sd calibrate --posterior`` is the long one).
- **Forecast**: ``n`` runs, each a whole posterior row (resampled with the seed) with the forward inputs of
  ``scenarios/uncertainty.toml`` drawn by Latin hypercube (inputs with ``from_year`` act after 2020 only, so
  they do not move 2018-2020). The predictive draw of a held-back observation is the model's counterpart plus
  Gaussian noise with the observation's sigma (what a data point is: the truth plus measurement error).

Scored on every held-back ``fit`` point observation (year after the origin; ranges and the 2020 deflator
normalisation, which is 1 by definition, are left out): whether it lies in the central 50 % and 90 %
predictive intervals, the interval score of the 90 % interval (Gneiting and Raftery 2007:
``(u - l) + 20 (l - y)+ + 20 (y - u)+``) and the CRPS of the predictive sample, both in percent of the
observed value so that series pool. The naive trend continues the compound growth of the series' observed
values between its first and last fitted year (a growth rate: the mean of the fitted rates; one fitted point:
held flat); its CRPS is its absolute error. Skill = 1 - CRPS(model) / CRPS(naive) per series (> 0: the model's
forecast distribution beats the trend).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from simulator.errors import UserError

# ORIGINS, the seed, and the walkers, steps and forecast runs are defined in the package's light module,
# which the CLI's parser reads without importing this one. 50 000 steps: with the compiled backend (~1.2 ms
# per step of 80 walkers) a minute per origin; the old 400 steps (numpy backend) were a fraction of one
# autocorrelation time, i.e. barely left the start.
from . import CALIBRATED_PATH, DEFAULT_RUNS, DEFAULT_SEED, DEFAULT_STEPS, DEFAULT_WALKERS, OBSERVATIONS_PATH, ORIGINS
from .fit import Problem, calibrated_parameters, fit

LAST_YEAR = 2020

#: Series scored only for coverage, not for skill or at all, with the reason.
EXCLUDED = {"gdp_deflator": "2020 = 1 by definition (a normalisation, not a forecast)"}
RATE_KINDS = ("growth",)
ALPHA = 0.1  # the 90 % interval's miss rate, for the interval score


@dataclass
class OriginResult:
    """The backtest from one origin: the held-back points with their scores and the posterior summary."""

    origin: int
    points: pd.DataFrame
    draws: int
    diagnostics: dict
    seconds: float
    training: pd.DataFrame = field(repr=False, default=None)


def training_observations(observations, last: int):
    """The observations with every ``fit`` row after ``last`` (or based after it) turned into a ``check``."""
    table = observations.table.copy()
    late = (table["year"] > last) | (table["base_year"] > last)
    table.loc[late & (table["use"] == "fit"), "use"] = "check"
    return dataclasses.replace(observations, table=table)


def held_paths(model, last: int) -> dict:
    """Every time path of the model cut after ``last`` and held at its value there."""
    out = {}
    for element in model.elements.values():
        if element.kind != "time_path":
            continue
        xs, ys = zip(*element.default, strict=True)
        held = float(np.interp(last, xs, ys))
        out[element.id] = [p for p in element.default if p[0] < last] + [(float(last), held)]
    return out


def held_back(table: pd.DataFrame, origin: int) -> pd.DataFrame:
    """The scored points: ``fit`` point observations after ``origin`` up to 2020, less :data:`EXCLUDED`."""
    mask = ((table["use"] == "fit") & (table["kind"] != "range") & (table["year"] > origin)
            & (table["year"] <= LAST_YEAR) & ~table["series"].isin(list(EXCLUDED)))
    return table[mask].reset_index(drop=True)


def naive_trend(table: pd.DataFrame, row, origin: int) -> float:
    """Compound growth of the same series (variable and kind) between its first and last fitted year up to
    ``origin``, continued to the row's year; rates: the mean of the fitted rates; one point: held flat;
    none: NaN."""
    same = table[(table["variable"] == row["variable"]) & (table["kind"] == row["kind"])
                 & (table["base_year"] == row["base_year"]) & (table["use"] == "fit")
                 & (table["year"] <= origin)].sort_values("year")
    if same.empty:
        return math.nan
    if row["kind"] in RATE_KINDS:
        return float(same["value"].mean())
    y1, v1 = int(same["year"].iloc[0]), float(same["value"].iloc[0])
    y2, v2 = int(same["year"].iloc[-1]), float(same["value"].iloc[-1])
    if y2 == y1 or v1 <= 0 or v2 <= 0:
        return v2
    return v2 * (v2 / v1) ** ((int(row["year"]) - y2) / (y2 - y1))


def crps_sample(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of an ensemble per column: ``E|X - y| - E|X - X'| / 2`` (sorted-sample formula), samples (n, M)."""
    x = np.sort(samples, axis=0)
    n = x.shape[0]
    first = np.mean(np.abs(x - y[None, :]), axis=0)
    weights = (2 * np.arange(1, n + 1) - n - 1)[:, None]
    spread = np.sum(weights * x, axis=0) / (n * n)
    return first - spread


def interval_score(low, high, y, alpha: float = ALPHA):
    """Interval score of a central (1 - alpha) interval (lower is better)."""
    return (high - low) + 2 / alpha * np.maximum(low - y, 0) + 2 / alpha * np.maximum(y - high, 0)


def forward_columns(model, n: int, seed: int, exclude, posterior_path=None) -> dict:
    """The forward inputs of the uncertainty file for ``n`` runs (LHS), timed, without the ``exclude`` names."""
    import simulator
    from simulator.analysis.uncertainty import load_uncertainty, timed_columns

    project = simulator.Project.default()
    unc = load_uncertainty(project.uncertainty_path, model, project.root, quiet=True,
                           posterior_path=posterior_path or Path("/nonexistent/posterior.parquet"))
    forward = unc.without(set(exclude))
    forward = dataclasses.replace(forward, posterior=None) if forward.posterior is not None else forward
    keep = [i for i in forward.inputs if not i.reason.startswith("calibrated (")]
    index = [forward.inputs.index(i) for i in keep]
    forward = dataclasses.replace(forward, inputs=keep, correlation=forward.correlation[np.ix_(index, index)])
    frame = forward.sample(n, seed, "lhs")
    columns = {c: frame[c].to_numpy(float) for c in frame.columns}
    return timed_columns(columns, forward.timing, {}, model)


def backtest_origin(origin: int, seed: int = DEFAULT_SEED, walkers: int = DEFAULT_WALKERS,
                    steps: int = DEFAULT_STEPS, runs: int = DEFAULT_RUNS, starts: int = 2,
                    progress: bool = False, observations=None, model=None) -> OriginResult:
    """Calibrate on the fit observations up to ``origin``, sample the posterior, forecast and score."""
    import simulator

    from .observations import load_observations
    from .posterior import sample_posterior

    clock = time.perf_counter()
    model = model or simulator.load()
    observations = observations or load_observations(OBSERVATIONS_PATH, model=model, labels=simulator.labels())
    if origin < 2016 or origin >= LAST_YEAR:
        raise UserError(f"origin must be in 2016-{LAST_YEAR - 1}, got {origin}", param="origins")
    train = training_observations(observations, origin)
    calibrated = tomllib.loads(CALIBRATED_PATH.read_text(encoding="utf-8"))["parameters"]
    shock = {"first_shock_size": float(calibrated["first_shock_size"]["value"])}
    base = {**simulator.scenario("baseline", model).overrides, **held_paths(model, origin), **shock}
    parameters = [p for p in calibrated_parameters(model) if p.id not in shock and p.id != "census_rebasing_factor"]
    problem = Problem(model, train, parameters=parameters, base_overrides=base)
    # Every run of the backtest stops at 2020 (the last scored year; the same numbers as a full run, a
    # third of the cost). It also keeps the compiled backend safe here: a full-horizon run followed, in
    # the same process, by runs of Plan.until copies corrupts memory (the copy shares the full plan's
    # compiled-kernel cache, simulator/engines/fast/plan.py; reported, not fixed in calibration/).
    problem.final_year = float(LAST_YEAR)
    mode = fit(problem, seed=seed, starts=starts, progress=progress)
    post = sample_posterior(problem, seed=seed, walkers=max(walkers, 2 * len(parameters) + 2 * (len(parameters) % 2)),
                            steps=steps, progress=progress, mode=mode, min_draws=min(2000, runs))
    table = observations.table
    points = held_back(table, origin)
    rng = np.random.default_rng([seed, origin, 4])
    rows = rng.integers(0, len(post.theta), size=runs)
    forecaster = copy.copy(problem)
    forward = forward_columns(model, runs, seed + origin, set(base) | {p.id for p in parameters})
    forecaster.base_overrides = {**base, **forward}
    q = forecaster.simulate(post.theta[rows], points)  # (runs, M), noiseless model counterparts
    sigma = points["sigma"].to_numpy(float)
    predictive = q + rng.standard_normal(q.shape) * sigma[None, :]
    y = points["value"].to_numpy(float)
    quantiles = np.percentile(predictive, [5, 25, 50, 75, 95], axis=0)
    out = points[["id", "series", "series_zh", "series_en", "kind", "variable", "base_year", "year", "value",
                  "sigma", "unit"]].copy()
    out.insert(0, "origin", origin)
    for name, row in zip(("q05", "q25", "q50", "q75", "q95"), quantiles, strict=True):
        out[name] = row
    out["inside50"] = (y >= quantiles[1]) & (y <= quantiles[3])
    out["inside90"] = (y >= quantiles[0]) & (y <= quantiles[4])
    scale = np.maximum(np.abs(y), 1e-9) / 100
    out["interval_score_pct"] = interval_score(quantiles[0], quantiles[4], y) / scale
    out["crps_pct"] = crps_sample(predictive, y) / scale
    out["naive"] = [naive_trend(table, r, origin) for r in points.to_dict("records")]
    out["naive_abs_error_pct"] = np.abs(out["naive"].to_numpy(float) - y) / scale
    out["median_abs_error_pct"] = np.abs(quantiles[2] - y) / scale
    training = table[(table["use"] == "fit") & (table["kind"] != "range") & (table["year"] <= origin)
                     & table["series"].isin(out["series"].unique())]
    return OriginResult(origin, out, len(post.theta), post.diagnostics, time.perf_counter() - clock, training)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a proportion k / n."""
    if n == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return low, high


def summarise(points: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per series (pooled over origins) and pooled: coverage, interval score, CRPS, skill against the trend."""
    rows = []
    for series, part in points.groupby("series", sort=True):
        has_naive = part["naive"].notna()
        crps_model = float(part.loc[has_naive, "crps_pct"].mean()) if has_naive.any() else math.nan
        crps_naive = float(part.loc[has_naive, "naive_abs_error_pct"].mean()) if has_naive.any() else math.nan
        rows.append({
            "series": series, "series_en": part["series_en"].iloc[0], "series_zh": part["series_zh"].iloc[0],
            "points": len(part), "inside50": float(part["inside50"].mean()), "inside90": float(part["inside90"].mean()),
            "interval_score_pct": float(part["interval_score_pct"].mean()),
            "crps_pct": float(part["crps_pct"].mean()),
            "median_abs_error_pct": float(part["median_abs_error_pct"].mean()),
            "naive_points": int(has_naive.sum()),
            "crps_model_vs_naive_points": crps_model, "naive_abs_error_pct": crps_naive,
            "skill_vs_naive": 1 - crps_model / crps_naive if has_naive.any() and crps_naive > 0 else math.nan,
        })
    table = pd.DataFrame(rows)
    n = len(points)
    k90, k50 = int(points["inside90"].sum()), int(points["inside50"].sum())
    pooled = {"points": n, "inside90": k90 / n if n else math.nan, "inside90_ci95": clopper_pearson(k90, n),
              "inside50": k50 / n if n else math.nan, "inside50_ci95": clopper_pearson(k50, n),
              "crps_pct": float(points["crps_pct"].mean()),
              "interval_score_pct": float(points["interval_score_pct"].mean())}
    with_naive = points[points["naive"].notna()]
    pooled["skill_vs_naive"] = (1 - with_naive["crps_pct"].mean() / with_naive["naive_abs_error_pct"].mean()
                                if len(with_naive) else math.nan)
    return table, pooled


def format_report(results: list[OriginResult], table: pd.DataFrame, pooled: dict, settings: dict) -> str:
    lines = [
        f"validate: rolling-origin backtests, origins {', '.join(str(r.origin) for r in results)} -> 2020; "
        f"emcee {settings['walkers']} walkers x {settings['steps']} steps per origin, "
        f"{settings['runs']} forecast runs, seed {settings['seed']}",
    ]
    for r in results:
        d = r.diagnostics
        lines.append(f"  origin {r.origin}: {len(r.points)} held-back points, {r.draws} posterior draws, "
                     f"acceptance {d['acceptance_mean']:.2f}, tau max {d['tau_max']:.0f} (chain "
                     f"{d['chain_over_tau_max']:.0f} tau), R-hat max {d['rhat_max']:.3f} "
                     f"({'converged' if d['converged'] else 'not converged'}), {r.seconds:.0f} s")
    lo, hi = pooled["inside90_ci95"]
    lo50, hi50 = pooled["inside50_ci95"]
    lines += [
        "",
        f"pooled 90 % coverage: {pooled['inside90']:.1%} of {pooled['points']} held-back points "
        f"(95 % Clopper-Pearson interval {lo:.1%}-{hi:.1%}; goal 80-97 %)",
        f"pooled 50 % coverage: {pooled['inside50']:.1%} ({lo50:.1%}-{hi50:.1%})",
        f"mean CRPS {pooled['crps_pct']:.2f} % of the observed value; interval score (90 %) "
        f"{pooled['interval_score_pct']:.2f} %; CRPS skill vs the naive trend {pooled['skill_vs_naive']:+.2f}",
        "",
        f"{'series':34s} {'n':>3s} {'in50':>5s} {'in90':>5s} {'IS90%':>7s} {'CRPS%':>7s} {'|med|%':>7s} "
        f"{'naive%':>7s} {'skill':>6s}",
    ]
    for r in table.itertuples():
        lines.append(f"{r.series_en[:34]:34s} {r.points:3d} {r.inside50:5.0%} {r.inside90:5.0%} "
                     f"{r.interval_score_pct:7.2f} {r.crps_pct:7.2f} {r.median_abs_error_pct:7.2f} "
                     f"{r.naive_abs_error_pct:7.2f} {r.skill_vs_naive:+6.2f}")
    return "\n".join(lines)


def run_validation(origins=ORIGINS, seed: int = DEFAULT_SEED, walkers: int = DEFAULT_WALKERS,
                   steps: int = DEFAULT_STEPS, runs: int = DEFAULT_RUNS, starts: int = 2,
                   progress: bool = False):
    """Every origin's backtest; returns (results, per-series table, pooled dict, settings)."""
    import simulator

    from .observations import load_observations

    model = simulator.load()
    observations = load_observations(OBSERVATIONS_PATH, model=model, labels=simulator.labels())
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # autocorrelation estimates of very short chains
        warnings.filterwarnings("ignore", message="More chains", category=UserWarning)  # arviz, short chains
        for origin in origins:
            results.append(backtest_origin(int(origin), seed, walkers, steps, runs, starts, progress,
                                           observations, model))
    points = pd.concat([r.points for r in results], ignore_index=True)
    table, pooled = summarise(points)
    settings = {"origins": list(origins), "seed": seed, "walkers": walkers, "steps": steps, "runs": runs,
                "starts": starts}
    return results, table, pooled, settings


def write_validation(folder: Path, results, table, pooled, settings, langs=("zh", "en")) -> list[Path]:
    """The report folder: report.txt, heldout.csv, series.csv and one fan figure per origin and language."""
    from .validate_figures import plot_origin

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    text = format_report(results, table, pooled, settings)
    (folder / "report.txt").write_text(text + "\n", encoding="utf-8")
    written.append(folder / "report.txt")
    points = pd.concat([r.points for r in results], ignore_index=True)
    points.to_csv(folder / "heldout.csv", index=False, float_format="%.6g", lineterminator="\n")
    table.to_csv(folder / "series.csv", index=False, float_format="%.6g", lineterminator="\n")
    written += [folder / "heldout.csv", folder / "series.csv"]
    for r in results:
        for lang in langs:
            written.append(plot_origin(r, folder / f"backtest_{r.origin}_{lang}.png", lang))
    return written
