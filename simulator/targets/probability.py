"""Targets over an ensemble: the per-run outcome table and the probability of each target being met.

An ensemble wants both tables from the same runs; :func:`outcomes_and_probabilities` tests each target
once for both (the tests are the work: at 10^5 runs testing every target took 0.26-0.40 s a pass, and the
two tables each made their own pass). :func:`run_outcomes` and :func:`probabilities` give one table each,
from the same code, so the tables are the same whichever function made them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist

import numpy as np
import pandas as pd

from simulator.targets.evaluation import _assess, _failed_mask, _meta, _prepare, _text, _why_not, peak_years
from simulator.targets.registry import NOT_YET_PEAKED, PROBABILITY_COLUMNS, Target


def outcomes_and_probabilities(
    targets: Sequence[Target],
    series: Mapping[str, np.ndarray],
    years: np.ndarray,
    failed: np.ndarray | None = None,
    confidence: float = 0.95,
    *,
    assessable: Collection[str] | None = None,
    lang: str = "zh",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(run_outcomes(...), probabilities(...))`` of the same arguments, each target tested once."""
    return _tables(targets, series, years, failed, confidence, assessable, lang, outcomes=True, counts=True)


def probabilities(
    targets: Sequence[Target],
    series: Mapping[str, np.ndarray],
    years: np.ndarray,
    failed: np.ndarray | None = None,
    confidence: float = 0.95,
    *,
    assessable: Collection[str] | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """Probability that each target is met over an ensemble, with a Wilson score interval.

    Parameters
    ----------
    targets, series, years, assessable, lang
        As for :func:`simulator.targets.evaluate`.
    failed : ndarray of bool, shape (R,), optional
        Runs that failed: excluded and counted in ``n_failed``.
    confidence : float
        Two-sided confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``id``, ``name``, ``indicator``, ``year``, ``test``, ``kind``,
        ``target``, ``probability`` (share of valid runs that meet it), ``ci_low``,
        ``ci_high``, ``n_runs``, ``n_valid``, ``n_failed``, ``n_nan`` (runs excluded for NaN or
        non-finite values), ``n_met``, for peak_by ``share_not_yet_peaked`` and
        ``peak_year_counts`` (dict peak year -> number of valid runs, with
        :data:`NOT_YET_PEAKED` as the key for runs not yet peaked), and ``reason``.
    """
    return _tables(targets, series, years, failed, confidence, assessable, lang, outcomes=False, counts=True)[1]


def run_outcomes(
    targets: Sequence[Target],
    series: Mapping[str, np.ndarray],
    years: np.ndarray,
    failed: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-run outcome of every assessable target, wide and compact (for ensemble files).

    Returns
    -------
    pandas.DataFrame
        One row per run; for each assessable target ``<id>`` (int8: 1 met, 0 missed, -1 not
        valid for this run — failed, NaN or non-finite) and ``<id>:value`` (float64, the simulated
        value in the target's unit, as in :func:`simulator.targets.evaluate`).
    """
    return _tables(targets, series, years, failed, 0.95, None, "en", outcomes=True, counts=False)[0]


def _tables(targets, series, years, failed, confidence, assessable, lang, *, outcomes: bool, counts: bool):
    """The outcome table and/or the probability table (None for the one not asked for).

    Whether a target can be tested does not depend on ``assessable`` or ``lang`` (they only word the reason
    it cannot), so both tables test the same targets. Over many runs the targets are tested on two threads
    (numpy's loops on (R, T) arrays release the GIL; each target is a pure function of the arrays, put back
    in the targets' order, so the tables do not depend on it).
    """
    arrays, years, n_runs = _prepare(targets, series, years)
    failed = _failed_mask(failed, n_runs)

    def one(target):
        return _target(target, arrays, years, failed, assessable, lang, outcomes, counts)

    if n_runs >= THREADED_RUNS and len(targets) > 1:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="jinan-sd-targets") as pool:
            done = list(pool.map(one, targets))
    else:
        done = [one(target) for target in targets]
    columns = {k: v for part, _ in done for k, v in part.items()}
    return (pd.DataFrame(columns) if outcomes else None,
            _probability_table([row for _, row in done], confidence) if counts else None)


#: Runs from which the targets are tested on two threads (below, a pool costs more than it saves).
THREADED_RUNS = 8192


def _target(target, arrays, years, failed, assessable, lang, outcomes: bool, counts: bool) -> tuple[dict, dict]:
    """One target's outcome columns (``<id>``, ``<id>:value``; none if it cannot be tested) and its row of
    the probability table."""
    n_runs = failed.shape[0]
    reason = _why_not(target, arrays, years, assessable, lang)
    row = {**_meta(target, lang), "n_runs": n_runs, "n_failed": int(failed.sum()),
           "share_not_yet_peaked": np.nan, "peak_year_counts": None}
    if reason is not None:
        return {}, {**row, "n_valid": 0, "n_nan": 0, "n_met": 0, "reason": reason}
    x = arrays[target.indicator]
    outcome = _assess(target, x, years)
    valid = ~failed & ~outcome.nan_input & ~outcome.not_finite
    columns = {}
    if outcomes:
        columns[target.id] = np.where(valid, outcome.met.astype(np.int8), np.int8(-1)).astype(np.int8)
        columns[f"{target.id}:value"] = np.where(valid, outcome.simulated, np.nan)
    if not counts:
        return columns, row
    n_valid = int(valid.sum())
    row.update(n_valid=n_valid, n_nan=int((~failed & ~valid).sum()), n_met=int((outcome.met & valid).sum()),
               reason="" if n_valid else _text("no_valid_runs", lang))
    if target.test == "peak_by" and n_valid:
        peaks, tally = np.unique(peak_years(x, years)[valid], return_counts=True)
        row["peak_year_counts"] = dict(zip(peaks.tolist(), tally.tolist(), strict=True))
        row["share_not_yet_peaked"] = row["peak_year_counts"].get(NOT_YET_PEAKED, 0) / n_valid
    return columns, row


def _probability_table(rows: list[dict], confidence: float) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["probability"] = np.where(
            table["n_valid"] > 0, table["n_met"] / table["n_valid"], np.nan
        )
    table["ci_low"], table["ci_high"] = wilson_interval(
        table["n_met"], table["n_valid"], confidence
    )
    return table[list(PROBABILITY_COLUMNS)]


def wilson_interval(
    successes: np.ndarray | int, trials: np.ndarray | int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes : int or array_like
        Number of runs that meet the target.
    trials : int or array_like
        Number of valid runs; both bounds are NaN where it is 0.
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    (low, high) : tuple of ndarray
        Bounds of the proportion, in [0, 1].
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1.0 + z**2 / n
        centre = (p + z**2 / (2.0 * n)) / denominator
        half = z * np.sqrt(p * (1.0 - p) / n + z**2 / (4.0 * n**2)) / denominator
    # At k = 0 and k = n the bounds are exactly 0 and 1; rounding must not move them off.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
