"""An ensemble's chunks as they arrive: series into the spool, target outcomes and probability counts
taken over groups of consecutive chunks and merged, so that 10^6 runs never hold every series at once.

Groups, merging and arrival order do not change a byte of the results (tests/test_ensemble.py: one chunk,
groups of chunks and per-chunk merging give the same files, failed runs and peak years included).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.analysis.spool import Spool, bands_of
from simulator.engines.fast.kernel.run import small_pages_empty
from simulator.targets import NOT_YET_PEAKED, outcomes_and_probabilities, wilson_interval

__all__ = ["TARGET_GROUP", "Collected", "merge_counts"]

#: Runs whose target outcomes are evaluated together (several chunks at a time: numpy's per-call cost on
#: 4 096-run arrays made per-chunk evaluation 5x slower than one evaluation of 10^5 runs). 32 768: the
#: group's tables (5.5 MB a target indicator) are reused by the next group, where one group of 10^5 runs
#: faulted in 320 MB of fresh tables: filling them took 0.35-0.44 s against 0.56-0.58 s (run_ensemble at
#: 10^5, the two sizes alternated, load ~3).
TARGET_GROUP = 32_768


class Collected:
    """What the ensemble keeps of each chunk as it arrives (in any order): the series into the spool, the
    failed mask, and the targets' series in groups of consecutive chunks (:data:`TARGET_GROUP` runs or more),
    whose outcomes and probability counts are taken when the whole group is in; merged at the end
    (:func:`merge_counts`)."""

    def __init__(self, targets, indicators: dict, variables: list, years: np.ndarray, sizes: list[int], lang: str,
                 in_memory: bool | None) -> None:
        n = int(sum(sizes))
        self.targets, self.indicators, self.years, self.n, self.lang = targets, indicators, years, n, lang
        self.used = [ind for ind in indicators if ind in {t.indicator for t in targets}]
        self.spool = Spool(variables, len(years), n, in_memory)
        self.failed = np.zeros(n, bool)
        # groups of consecutive chunks of at least TARGET_GROUP runs (the last one: what is left)
        self.starts = np.cumsum([0, *sizes]).tolist()
        self.group_of, first = [], 0
        for k in range(len(sizes)):
            self.group_of.append(first)
            if self.starts[k + 1] - self.starts[first] >= TARGET_GROUP:
                first = k + 1
        self.last = {g: max(k for k, f in enumerate(self.group_of) if f == g) for g in set(self.group_of)}
        self.buffers: dict[int, dict] = {}  # group -> indicator -> (runs of the group, T), filled chunk by chunk
        self.spare: dict[int, list] = {}  # runs -> tables of evaluated groups, for the next group of that size
        self.arrived: dict[int, int] = {}
        self.outcomes: dict[int, pd.DataFrame] = {}
        self.counts: dict[int, pd.DataFrame] = {}

    def add(self, k: int, start: int, part) -> None:
        values, failed = part[0], part[1]
        size = len(failed)
        self.spool.put(start, values)
        self.failed[start:start + size] = failed
        g = self.group_of[k]
        lo, hi = self.starts[g], self.starts[self.last[g] + 1]
        if g not in self.buffers:
            # C-ordered (runs, T) tables of what the targets read: their tests scan each run's years, and a
            # run-major array keeps them contiguous (a transposed kernel block makes them ~3x slower). Small
            # pages: with numpy's huge-page advice, filling fresh tables (15 x 17 MB) took 0.83 s on this VM
            # (THP defrag = madvise), 0.19 s without it (/tmp script, same process)
            spare = self.spare.get(hi - lo)  # every row is written again by the group's chunks
            self.buffers[g] = spare.pop() if spare else {
                ind: small_pages_empty((hi - lo, len(self.years))) for ind in self.used}
        for ind, table in self.buffers[g].items():
            table[start - lo:start - lo + size] = values[self.indicators[ind]]
        self.arrived[g] = self.arrived.get(g, 0) + 1
        if self.arrived[g] == self.last[g] - g + 1:  # the whole group is in
            series, mask = self.buffers.pop(g), self.failed[lo:hi]
            self.outcomes[g], self.counts[g] = outcomes_and_probabilities(
                self.targets, series, self.years, mask, assessable=set(self.indicators), lang=self.lang)
            self.spare.setdefault(hi - lo, []).append(series)  # the tables hold nothing the results keep

    def finish(self):
        if self.buffers:
            raise RuntimeError(f"ensemble chunks missing in the group from chunk {min(self.buffers)}")
        order = sorted(self.outcomes)
        outcomes = pd.concat([self.outcomes.pop(g) for g in order], ignore_index=True) if len(order) > 1 \
            else self.outcomes.pop(order[0])
        outcomes.insert(0, "failed", self.failed)
        outcomes.index = pd.RangeIndex(self.n, name="run")
        counts = [self.counts.pop(g) for g in order]
        return outcomes, counts[0] if len(counts) == 1 else merge_counts(counts), self.failed

    def bands(self, quantiles, columns) -> pd.DataFrame:
        """indicator, year and one column per quantile over the valid runs (NaN where none is valid)."""
        from simulator.engines.fast.kernel.run import threads

        series = dict(self.indicators)
        q = bands_of(self.spool, series, len(self.years), self.failed, quantiles, workers=threads())
        rows = [(indicator, int(year), *q[indicator][:, t]) for indicator in series
                for t, year in enumerate(self.years)]
        return pd.DataFrame(rows, columns=["indicator", "year", *columns])

    def close(self) -> None:
        self.spool.close()


def merge_counts(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One probability table from the chunks' (same targets, same order): counts summed, peak-year counts
    merged, then probability, Wilson interval, share not yet peaked and reason as
    :func:`simulator.targets.probabilities` computes them on the whole ensemble."""
    table = tables[0].copy()
    for column in ("n_runs", "n_failed", "n_valid", "n_nan", "n_met"):
        table[column] = sum(t[column].to_numpy() for t in tables)
    merged = []
    for i in range(len(table)):
        parts = [t["peak_year_counts"].iat[i] for t in tables if t["peak_year_counts"].iat[i] is not None]
        if not parts:
            merged.append(None)
            continue
        total: dict = {}
        for counts in parts:
            for year, count in counts.items():
                total[year] = total.get(year, 0) + count
        merged.append(dict(sorted(total.items())))
    table["peak_year_counts"] = merged
    valid = table["n_valid"].to_numpy()
    table["share_not_yet_peaked"] = [
        counts.get(NOT_YET_PEAKED, 0) / v if counts is not None and v else share
        for counts, v, share in zip(merged, valid, table["share_not_yet_peaked"], strict=True)]
    # a chunk with no valid run says so; the ensemble does only if none of its chunks had one
    with_valid = [next((t["reason"].iat[i] for t in tables if t["n_valid"].iat[i] > 0), None)
                  for i in range(len(table))]
    table["reason"] = [r if r is not None else first for r, first in zip(with_valid, table["reason"], strict=True)]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["probability"] = np.where(table["n_valid"] > 0, table["n_met"] / table["n_valid"], np.nan)
    table["ci_low"], table["ci_high"] = wilson_interval(table["n_met"], table["n_valid"])
    return table
