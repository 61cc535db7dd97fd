"""Attribution (wedges): how much of the difference between two scenarios in a target's indicator each
lever accounts for, year by year.

The decomposition is the Shapley value over the levers that differ between the scenarios. With k such
levers ("players"), every one of the 2^k combinations -- the first scenario's values for the levers in
the combination, the second's for the rest -- is run in one batch on the fast engine, and lever i gets

    phi_i(t) = sum over S not containing i of |S|! (k - |S| - 1)! / k! * (y(S + i, t) - y(S, t)),

so the parts add up exactly to y(all, t) - y(none, t), the difference between the two scenarios, in
every year, and do not depend on the order the levers are listed in. Interactions (e.g. a cleaner fuel
mix is worth more when energy use is higher) are shared out evenly between the levers involved. Above
``MAX_PLAYERS`` levers (2^12 = 4096 runs) the levers are grouped by the sectors of ``labels.sectors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import runner as api
from simulator.analysis.goalseek import lookup_targets
from simulator.engines.fast import TimePath
from simulator.errors import UserError
from simulator.model.mdl import Model
from simulator.runner import run_overrides
from simulator.scenarios import Scenario
from simulator.targets import Target, load_targets

MAX_PLAYERS = 12
OTHER = "other"  # the group of differing levers no sector lists (e.g. calibrated parameters)


@dataclass
class Attribution:
    """Each player's share of the difference ``scenario - against`` in the target's indicator.

    Attributes
    ----------
    scenario, against : Scenario
        The two scenarios compared.
    target : Target
        The target whose indicator is decomposed.
    variable : str
        The model variable behind the indicator; ``unit`` its Vensim units.
    parts : DataFrame
        Index year, one column per player [indicator's unit]; rows sum to ``total``.
    levels : DataFrame
        Index year, columns ``against`` and ``scenario``: the indicator in each scenario.
    members : dict
        Player -> the lever ids it stands for (one lever, or a sector's levers when ``grouped``).
    grouped : bool
        True when more than ``MAX_PLAYERS`` levers differ and the players are sectors.
    """

    scenario: Scenario
    against: Scenario
    target: Target
    variable: str
    unit: str
    parts: pd.DataFrame
    levels: pd.DataFrame
    members: dict
    grouped: bool

    @property
    def total(self) -> pd.Series:
        """``scenario - against`` per year [indicator's unit]."""
        return self.levels["scenario"] - self.levels["against"]

    def table(self, year: int | None = None) -> pd.DataFrame:
        """Players at ``year`` (default the target's year), largest contribution first.

        Columns: ``player``, ``members``, ``contribution`` [indicator's unit], ``share_pct`` (% of the
        total difference; can exceed 100 or be negative when parts pull in opposite directions).
        """
        year = int(self.target.year if year is None else year)
        if year not in self.parts.index:
            first, last = self.parts.index[0], self.parts.index[-1]
            raise UserError(f"year: {year} is not a simulated year ({first}-{last})", param="year")
        row, total = self.parts.loc[year], self.total.loc[year]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = 100.0 * row / total if total != 0 else row * np.nan
        table = pd.DataFrame({"player": row.index, "members": [", ".join(self.members[p]) for p in row.index],
                              "contribution": row.to_numpy(), "share_pct": np.asarray(share, float)})
        return table.reindex(table["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def _value(model: Model, overrides: dict, key: str):
    return overrides.get(key, model.elements[key].default)


def differing_levers(model: Model, first: dict, second: dict) -> list[str]:
    """Ids whose value (number or time path) differs between two sets of resolved overrides, sorted."""
    keys = sorted(set(first) | set(second))
    return [k for k in keys if _as_path(_value(model, first, k)) != _as_path(_value(model, second, k))]


def _as_path(value):
    return [tuple(map(float, p)) for p in value] if isinstance(value, list | tuple) else float(value)


def _coalition_value(model, key, first, second, chosen: np.ndarray):
    """Per-run parameter: ``first``'s value where ``chosen`` (R,) is True, ``second``'s elsewhere."""
    a, b = _value(model, first, key), _value(model, second, key)
    if not isinstance(a, list | tuple) and not isinstance(b, list | tuple):
        return np.where(chosen, float(a), float(b))
    # a timed policy constant (see simulator.policy) meets a plain one: both as paths
    a, b = ([(0.0, float(v))] if not isinstance(v, list | tuple) else v for v in (a, b))
    # both paths are piecewise linear: on the union of their years each is represented exactly
    (ya, va), (yb, vb) = (np.asarray(list(zip(*p, strict=True)), float) for p in (a, b))
    years = np.union1d(ya, yb)
    values = np.where(chosen[:, None], np.interp(years, ya, va), np.interp(years, yb, vb))
    return TimePath(years, values)


def shapley(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values from the worth of every coalition.

    Parameters
    ----------
    values : ndarray, shape (2**k, T)
        Row s is the worth of the coalition whose members are the set bits of s.

    Returns
    -------
    ndarray, shape (k, T)
        Player i's Shapley value; the rows sum to ``values[-1] - values[0]``.
    """
    size = values.shape[0]
    k = size.bit_length() - 1
    if size != 1 << k:
        raise ValueError(f"shapley: {size} coalitions is not a power of 2")
    index = np.arange(size)
    members = np.array([bin(s).count("1") for s in index])
    weight = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)] + [0.0])
    out = np.empty((k, values.shape[1]))
    for i in range(k):
        without = index[(index >> i) & 1 == 0]
        out[i] = (weight[members[without]][:, None] * (values[without | (1 << i)] - values[without])).sum(axis=0)
    return out


def _players(keys: list[str], sectors: dict, order: Sequence[str] | None) -> tuple[dict, bool]:
    """Player -> lever ids: one lever each, or sectors (plus ``OTHER``) above MAX_PLAYERS levers."""
    if order is not None:
        if sorted(order) != sorted(keys):
            missing = sorted(set(keys) - set(order)) or sorted(set(order) - set(keys))
            raise UserError(f"levers: must list exactly the levers that differ ({', '.join(keys)}); "
                            f"check {missing[0]}", param="levers")
        keys = list(order)
    if len(keys) <= MAX_PLAYERS:
        return {k: [k] for k in keys}, False
    groups: dict = {sector: [] for sector in [*sectors, OTHER]}  # in the sectors' order, the rest last
    for key in keys:
        sector = next((s for s, entry in sectors.items() if key in entry.get("levers", [])), OTHER)
        groups[sector].append(key)
    groups = {sector: members for sector, members in groups.items() if members}
    if len(groups) > MAX_PLAYERS:
        raise UserError(f"{len(keys)} levers differ in {len(groups)} sectors: more than {MAX_PLAYERS} players")
    return groups, True


def attribute(
    scenario: str | Path | Scenario,
    target_id: str,
    against: str | Path | Scenario = "baseline",
    levers: Sequence[str] | None = None,
    model: Model | None = None,
    targets: Sequence[Target] | None = None,
    indicators: dict | None = None,
    sectors: dict | None = None,
) -> Attribution:
    """Shapley decomposition of ``scenario - against`` in the indicator of target ``target_id``.

    Parameters
    ----------
    scenario, against : str, Path or Scenario
        The scenario explained and the one it is compared with (names, paths or loaded scenarios).
    target_id : str
        Target id; its indicator (e.g. ``co2_emissions`` for ``carbon-peak-2030``) is decomposed.
    levers : sequence of str, optional
        The differing levers in the order to list them (the values do not depend on it); default sorted.
    model, targets, indicators, sectors : optional
        Another model, target list, indicator -> variable map or lever sectors (defaults: the Jinan
        model, ``models/targets.toml`` and labels).
    """
    model = model or api.load()
    first, second = (s if isinstance(s, Scenario) else api.scenario(s, model) for s in (scenario, against))
    labels = api.labels() if indicators is None or sectors is None else None
    indicators = labels.indicators if indicators is None else indicators
    sectors = labels.sectors if sectors is None else sectors
    target = lookup_targets([target_id], load_targets() if targets is None else targets, indicators, "target")[0]
    variable = indicators[target.indicator]
    a, _ = api.resolve_overrides(model, first)
    b, _ = api.resolve_overrides(model, second)
    keys = differing_levers(model, a, b)
    if not keys:
        raise UserError(f"scenarios '{first.name}' and '{second.name}' set every lever alike: nothing to attribute")
    members, grouped = _players(keys, sectors, levers)
    k = len(members)
    bits = (np.arange(1 << k)[:, None] >> np.arange(k)) & 1
    overrides = dict(b)
    for i, keys_i in enumerate(members.values()):
        for key in keys_i:
            overrides[key] = _coalition_value(model, key, a, b, bits[:, i].astype(bool))
    times, values = run_overrides(model, overrides, 1 << k, variables=[variable])
    y = values[variable]
    if not np.isfinite(y).all():
        raise UserError(f"some combinations of the levers of '{first.name}' and '{second.name}' fail to run")
    years = pd.Index(np.round(times).astype(int), name="year")
    parts = pd.DataFrame(shapley(y).T, index=years, columns=list(members))
    levels = pd.DataFrame({"against": y[0], "scenario": y[-1]}, index=years)
    return Attribution(first, second, target, variable, model.elements[variable].units, parts, levels,
                       members, grouped)
