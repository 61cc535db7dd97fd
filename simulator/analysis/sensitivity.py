"""Which uncertain inputs matter for each target: a one-at-a-time tornado and Sobol indices.

The output analysed for a target is its simulated value in the target's unit (the level, % change,
average growth...; for a peak-year target the peak year, with "not yet peaked by 2035" counted as
2036 so the output stays finite). Sobol indices assume independent inputs: the copula correlations
of the uncertainty file are not used here (Saltelli's estimator needs independence).

The calibrated parameters are ONE group input (``calibrated_parameters_posterior``): a uniform u picks
the whole posterior row ``floor(u D)``. Their correlations are what the data imposed, so splitting them
into separate, independent inputs would break the estimator's assumption and sample parameter
combinations the posterior rules out; the group's indices say how much the calibration's uncertainty as a
whole matters. The group is independent of the forward inputs by construction. In the tornado the group's
swing is the 5 %-95 % range of the output over all posterior rows with the forward inputs at their medians
(it has no single "low" and "high" value).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from simulator import runner as api
from simulator.analysis.uncertainty import POSTERIOR_GROUP, load_uncertainty, timed_columns
from simulator.errors import UserError
from simulator.limits import COPIES, FLOAT, check_memory, check_runs
from simulator.project import Project
from simulator.scenarios import Scenario
from simulator.targets import NOT_YET_PEAKED, load_targets, peak_years, run_outcomes


@dataclass(frozen=True)
class _Marginal:
    """An object with the ``ppf`` scipy's ``sobol_indices`` asks of each input distribution."""

    ppf: object


def sobol_from_function(func, ppfs, n: int, seed: int = 0, n_resamples: int = 200) -> pd.DataFrame:
    """First-order and total Sobol indices of ``func`` with bootstrap 95 % intervals.

    Parameters
    ----------
    func : callable
        (d, m) array of input values -> (s, m) array of outputs.
    ppfs : list of callable
        Inverse CDF of each of the d independent inputs.
    n : int
        Base sample size (rounded up to a power of 2); the design costs n * (d + 2) evaluations.

    Returns
    -------
    DataFrame
        Rows output x input: output, input (index), S1, S1_low, S1_high, ST, ST_low, ST_high.
    """
    n = 1 << max(3, int(np.ceil(np.log2(max(n, 8)))))
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    result = stats.sobol_indices(func=func, n=n, dists=[_Marginal(p) for p in ppfs], rng=rng)
    low, high = _bootstrap_intervals(result, n_resamples, rng)
    s1, st = np.atleast_2d(result.first_order), np.atleast_2d(result.total_order)
    rows = []
    for out in range(s1.shape[0]):
        for k in range(s1.shape[1]):
            rows.append({
                "output": out, "input": k,
                "S1": s1[out, k], "S1_low": low[0][out, k], "S1_high": high[0][out, k],
                "ST": st[out, k], "ST_low": low[1][out, k], "ST_high": high[1][out, k],
            })
    return pd.DataFrame(rows)


class _TargetOutputs:
    """Runs batches of input sets around a scenario and returns each target's simulated value."""

    def __init__(self, scenario, target_ids=None, posterior_path=None):
        self.model = api.load()
        scen = scenario if isinstance(scenario, Scenario) else api.scenario(scenario, self.model)
        self.fixed, _ = api.resolve_overrides(self.model, scen)
        unc = load_uncertainty(Project.default().uncertainty_path, self.model, Project.default().root,
                               posterior_path=posterior_path)
        self.uncertainty = unc.without(scen.overrides)
        self.posterior = self.uncertainty.posterior
        self.labels = api.labels()
        assessable = [t for t in load_targets() if t.modelled != "no" and t.indicator in self.labels.indicators
                      and t.value is not None]
        if target_ids:
            known = {t.id for t in assessable}
            unknown = [t for t in target_ids if t not in known]
            if unknown:
                raise UserError(f"target: unknown or not assessable target '{unknown[0]}' "
                                f"(assessable: {', '.join(sorted(known))})", param="target")
            assessable = [t for t in assessable if t.id in target_ids]
        self.targets = assessable
        self.years = np.asarray(self.model.years, dtype=int)

    @property
    def input_names(self) -> list[str]:
        """The inputs of the analysis: the forward inputs, then the posterior as one group."""
        return self.uncertainty.forward_names + ([POSTERIOR_GROUP] if self.posterior is not None else [])

    @property
    def ppfs(self) -> list:
        out = [inp.ppf for inp in self.uncertainty.inputs]
        if self.posterior is not None:
            out.append(self.posterior.row_index)
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(d, m) input values (the group input as posterior row numbers) -> (targets, m) outputs."""
        from simulator.runner import run_overrides

        names = self.uncertainty.names
        forward = self.uncertainty.forward_names
        m = x.shape[1]
        overrides = {**{k: v for k, v in self.fixed.items() if k not in names},
                     **timed_columns({name: x[k] for k, name in enumerate(forward)}, self.uncertainty.timing,
                                     self.fixed, self.model)}
        if self.posterior is not None:
            overrides.update(self.posterior.rows(x[len(forward)].astype(np.int64)))
        needed = sorted({self.labels.indicators[t.indicator] for t in self.targets})
        _, values = run_overrides(self.model, overrides, m, variables=needed)
        series = {t.indicator: values[self.labels.indicators[t.indicator]] for t in self.targets}
        wide = run_outcomes(self.targets, series, self.years)
        out = np.empty((len(self.targets), m))
        for i, target in enumerate(self.targets):
            if target.test == "peak_by":
                peaks = peak_years(series[target.indicator], self.years).astype(float)
                out[i] = np.where(peaks == NOT_YET_PEAKED, self.years[-1] + 1, peaks)
            else:
                out[i] = wide[f"{target.id}:value"].to_numpy(float)
        return out



def _bootstrap_intervals(result, n_resamples: int, rng: np.random.Generator):
    """BCa 95 % intervals of the first- and total-order indices, drawn with ``rng``.

    Why not ``result.bootstrap()``: scipy's ``SobolResult.bootstrap`` takes no random generator, so its
    intervals changed from run to run for the same seed. This is the same computation (scipy's own
    statistic over resampled sample indices, BCa, 95 %) with the seeded generator that drew the
    samples. Returns ``(low, high)``, each ``[first_order, total_order]`` as (outputs, inputs) arrays.
    """
    f_a, f_b, f_ab, indices = result._f_A, result._f_B, result._f_AB, result._indices_method

    def statistic(idx):
        return indices(f_a[:, idx], f_b[:, idx], f_ab[..., idx])

    with warnings.catch_warnings():
        # an input with no effect gives a degenerate bootstrap; its interval is then NaN, as it should be
        warnings.simplefilter("ignore")
        boot = stats.bootstrap([np.arange(f_a.shape[1])], statistic=statistic, method="BCa",
                               n_resamples=n_resamples, confidence_level=0.95, rng=rng)
    low, high = boot.confidence_interval.low, boot.confidence_interval.high
    return ([np.atleast_2d(low[0]), np.atleast_2d(low[1])],
            [np.atleast_2d(high[0]), np.atleast_2d(high[1])])

def sobol(scenario, n: int, target_ids=None, seed: int = 0, posterior_path=None) -> pd.DataFrame:
    """Sobol indices of every uncertain input for each chosen target (all assessable by default); the
    calibrated parameters are one group input (module docstring)."""
    check_runs(n)
    outputs = _TargetOutputs(scenario, target_ids, posterior_path)
    d = len(outputs.ppfs)
    base = 1 << max(3, (max(n, 8) - 1).bit_length())
    runs = base * (d + 2)
    # the Saltelli design runs in one batch: every model variable of every run is held at once
    per_run = FLOAT * (len(outputs.model.elements) * 2 + d * 3 + len(outputs.targets) * 4)
    check_memory(runs * per_run * COPIES, f"n: {n} (x {d + 2} = {runs:,} runs)", param="n",
                 hint="; use a smaller --n")
    table = sobol_from_function(outputs, outputs.ppfs, n, seed)
    table["target"] = [outputs.targets[k].id for k in table["output"]]
    table["input"] = [outputs.input_names[k] for k in table["input"]]
    return table.drop(columns="output")[["target", "input", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]]


def tornado(scenario, target_id: str, posterior_path=None) -> pd.DataFrame:
    """One input at a time at its 5th and 95th percentile, the others at their medians (the posterior
    group: the output's 5 %-95 % range over every posterior row; the calibrated parameters are at the
    row of the median output for the forward inputs' swings).

    Returns
    -------
    DataFrame
        input, low_value, high_value, output_low, output_high, swing (= high - low output),
        base (output with every input at its median), sorted by |swing|, largest first.
    """
    outputs = _TargetOutputs(scenario, [target_id], posterior_path)
    inputs = outputs.uncertainty.inputs
    d = len(inputs)
    median = np.array([inp.ppf(np.array([0.5]))[0] for inp in inputs])
    group = outputs.posterior
    extra = []
    if group is not None:
        rows = np.arange(len(group.frame))
        over_rows = outputs(np.vstack([np.repeat(median[:, None], len(rows), axis=1), rows[None, :]]))[0]
        finite = np.where(np.isfinite(over_rows), over_rows, np.nanmedian(over_rows))
        central = int(np.argsort(finite, kind="stable")[len(rows) // 2])  # the row of the median output
        lo, hi = np.nanquantile(over_rows, [0.05, 0.95])
        extra = [{"input": POSTERIOR_GROUP, "low_value": np.nan, "high_value": np.nan,
                  "output_low": lo, "output_high": hi}]
        median = np.append(median, central)
    x = np.repeat(median[:, None], 2 * d + 1, axis=1)
    for k, inp in enumerate(inputs):
        x[k, 2 * k + 1] = inp.ppf(np.array([0.05]))[0]
        x[k, 2 * k + 2] = inp.ppf(np.array([0.95]))[0]
    y = outputs(x)[0]
    table = pd.DataFrame({
        "input": [inp.name for inp in inputs],
        "low_value": x[np.arange(d), 2 * np.arange(d) + 1],
        "high_value": x[np.arange(d), 2 * np.arange(d) + 2],
        "output_low": y[1::2],
        "output_high": y[2::2],
    })
    if extra:
        table = pd.concat([table, pd.DataFrame(extra)], ignore_index=True)
    table["swing"] = table["output_high"] - table["output_low"]
    table["base"] = y[0]
    order = table["swing"].abs().sort_values(ascending=False).index
    return table.loc[order].reset_index(drop=True)
