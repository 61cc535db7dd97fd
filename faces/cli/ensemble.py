"""CLI commands for uncertainty: ``mc`` (Monte Carlo ensembles) and ``sensitivity``."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

import simulator as api
from simulator.errors import UserError
from simulator.text import catalogue

TEXT = catalogue("cli.ensemble")


def probability_words(row, lang: str) -> str:
    """A probability as printed: a percentage, or the no-uncertainty flag with the deterministic verdict."""
    words = TEXT[lang]
    if row.get("no_uncertainty", False):
        verdict = words["met"] if row["probability"] >= 0.5 else words["missed"]
        return f"{verdict}*"
    return f"{100 * row['probability']:.1f}%"


def quiet_fallback(function, *args, **kwargs):
    """Call ``function`` turning the posterior-fallback warning into one ``jinan-sd: warning:`` line."""
    import warnings

    from simulator.analysis.uncertainty import PosteriorFallback

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PosteriorFallback)
        result = function(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, PosteriorFallback):
            print(f"jinan-sd: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return result


def probability_table(probabilities, lang: str) -> tuple[str, bool]:
    """The printed table of an ensemble's probabilities (assessable targets only), aligned for Chinese
    text and fitted to the terminal width, and whether a target carries no sampled uncertainty."""
    from faces.cli.table import cell, records

    table = probabilities[probabilities["n_valid"] > 0].copy()
    words = TEXT[lang]
    flat = table["no_uncertainty"].to_numpy(bool)
    table["shown"] = [probability_words(r, lang) for r in table.to_dict("records")]
    table["interval"] = ["" if f else f"{100 * lo:.1f}–{100 * hi:.1f}%"
                         for f, lo, hi in zip(flat, table["ci_low"], table["ci_high"], strict=True)]
    table["range"] = [f"{cell(lo, 'value', u)}–{cell(hi, 'value', u)}" if lo != hi else cell(lo, "value", u)
                      for lo, hi, u in zip(table["value_q05"], table["value_q95"], table["unit"], strict=True)]
    table["unit"] = [units_text(u, lang) for u in table["unit"]]
    columns = {"year": "year", "shown": "text", "interval": "text", "range": "text", "unit": "text",
               "n_valid": "count", "id": "text"}
    if (table["n_valid"] == table["n_runs"]).all():
        del columns["n_valid"]  # every run valid for every target: the footer's failed count says it
    headers = {key: words[f"col_{key}"] for key in (*columns, "name")}
    return records(table.reset_index(drop=True), "name", columns, headers), bool(flat.any())


def units_text(unit, lang: str) -> str:
    """A target's unit as shown in ``lang`` (the targets file writes some in English, some in Chinese)."""
    from simulator.targets.assess import UNITS_ZH

    unit = "" if unit is None or unit != unit else str(unit)
    return UNITS_ZH.get(unit, unit) if lang == "zh" else catalogue("cli.units_en").get(unit, unit)


def seed(text: str) -> int:
    """argparse type of a random seed: a non-negative integer (numpy's SeedSequence needs one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be 0 or more, got {value}")
    return value


def _add_set(parser) -> None:
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="override a lever as in `run` (a what-if ensemble without writing a file)")


@contextlib.contextmanager
def with_sets(scenario: str, sets: list[str]):
    """The scenario to analyse: ``scenario`` itself, or (with ``--set``) a temporary scenario file that
    extends it with the overrides (validated by the scenario loader like any file)."""
    if not sets:
        yield scenario
        return
    from simulator.scenarios import parse_set, scenario_toml

    overrides = parse_set(sets)
    api.scenario(scenario).with_overrides(api.load(), overrides)  # refused here, as --set, not as a temporary file
    path = Path(scenario)
    base = str(path.resolve()) if path.suffix == ".toml" or path.parent != Path(".") else scenario
    head = {"title_zh": f"{scenario}(--set)", "title_en": f"{scenario} (--set)", "extends": base}
    with tempfile.TemporaryDirectory() as folder:
        written = Path(folder) / f"{path.stem}_set.toml"
        written.write_text(scenario_toml(head, overrides), encoding="utf-8")
        yield str(written)


def add_parsers(sub) -> None:
    """Add the ``mc`` and ``sensitivity`` subcommands."""
    mc = sub.add_parser("mc", help="Monte Carlo ensemble: probability of meeting each target")
    mc.add_argument("scenario")
    mc.add_argument("--n", type=int, default=1000, help="number of runs (default 1000)")
    mc.add_argument("--seed", type=seed, default=0, help="random seed, recorded in the manifest (default 0)")
    mc.add_argument("--sampler", choices=("lhs", "sobol", "random"), default="lhs")
    mc.add_argument("--out", help="results folder to create (manifest, samples, outcomes, bands)")
    mc.add_argument("--chunk-size", type=int, default=4096, help="runs per task (does not change results)")
    mc.add_argument("--posterior", help="posterior sample of the calibrated parameters (.parquet; default "
                    "calibration/posterior.parquet; missing: Gaussian approximation, with a warning)")
    where = mc.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="start a local Dask cluster with K worker processes")
    where.add_argument("--scheduler", help="use an existing Dask scheduler, e.g. tcp://host:8786")
    _add_set(mc)

    sens = sub.add_parser("sensitivity", help="Sobol indices of the uncertain inputs for each target")
    sens.add_argument("scenario")
    sens.add_argument("--n", type=int, default=512, help="base sample size (power of 2; cost n*(d+2) runs)")
    sens.add_argument("--target", action="append", help="target id (repeatable; default all assessable)")
    sens.add_argument("--seed", type=seed, default=0)
    sens.add_argument("--out", help="write the indices table (.csv or .xlsx)")
    _add_set(sens)


class _Bar:
    """A tqdm progress bar on stderr, fed with (done, total)."""

    def __init__(self, total: int, unit: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit=unit, file=sys.stderr, disable=None)

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def cmd_mc(args) -> int:
    """Run an ensemble; with --out the folder is claimed before any run, so a second ``mc`` to the same
    folder fails at once instead of mixing or deleting results."""
    from contextlib import nullcontext

    from faces.cli.table import note
    from simulator.analysis.distributed import check_scheduler
    from simulator.analysis.ensemble import run_ensemble
    from simulator.atomic import new_folder
    from simulator.limits import check_runs

    check_runs(args.n)
    check_runs(args.chunk_size, param="chunk_size")
    if args.workers is not None:
        check_runs(args.workers, param="workers", limit=1024)
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    posterior = getattr(args, "posterior", None)
    if posterior and not Path(posterior).is_file():
        raise UserError(f"--posterior {posterior}: file not found")
    with new_folder(args.out) if args.out is not None else nullcontext() as staging:
        bar = _Bar(args.n, TEXT[args.lang]["runs"])
        try:
            with with_sets(args.scenario, args.sets) as scenario:
                result = quiet_fallback(run_ensemble, scenario, n=args.n, seed=args.seed, sampler=args.sampler,
                                        chunk_size=args.chunk_size, workers=args.workers, scheduler=args.scheduler,
                                        progress=bar, lang=args.lang, posterior_path=posterior)
        finally:
            bar.close()
        if staging is not None:
            result.write_into(staging)
    shown, flagged = probability_table(result.probabilities, args.lang)
    print(shown)
    if flagged:
        print(note(TEXT[args.lang]["flat_note"]))
    print(f"\n{TEXT[args.lang]['failed']}: {result.manifest['failed_runs']} / {args.n}  "
          f"({TEXT[args.lang]['seed']} {args.seed}, {TEXT[args.lang]['sampler']} {args.sampler}; "
          f"{TEXT[args.lang]['calibrated'][result.manifest['calibrated']]})")
    if args.out is not None:
        print(f"{TEXT[args.lang]['wrote']} {args.out}")
    return 0


def cmd_sensitivity(args) -> int:
    from simulator.analysis.sensitivity import sobol

    if args.out is not None and Path(args.out).suffix not in (".csv", ".xlsx"):
        raise UserError(f"--out {args.out}: use .csv or .xlsx")
    if args.out is not None and not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: folder {Path(args.out).resolve().parent} does not exist")
    if args.n < 8:
        raise UserError(f"--n must be at least 8 (a power of 2), got {args.n}")
    if args.n & (args.n - 1):
        rounded = 1 << args.n.bit_length()
        print(f"--n {args.n} rounded up to {rounded}, a power of 2 (Saltelli's design needs one)", file=sys.stderr)
        args.n = rounded
    with with_sets(args.scenario, args.sets) as scenario:
        table = sobol(scenario, args.n, args.target, args.seed)
    print(f"# {TEXT[args.lang]['top']}")
    print(sensitivity_text(table, args.lang))
    if args.out is not None:
        from simulator.targets.assess import write_tables

        ids = table.reset_index(drop=True)
        write_tables(Path(args.out), {"indices": ids}, {"indices": _sensitivity_shown(ids, args.lang)})
        if args.out.endswith(".csv"):  # write_tables names a CSV per table: keep the file name asked for
            Path(args.out).with_name(f"{Path(args.out).stem}_indices.csv").replace(args.out)
        print(f"{TEXT[args.lang]['wrote']} {args.out}")
    return 0


def input_name(ident: str, lang: str) -> str:
    """An uncertain input's display name (the posterior stands for every calibrated parameter at once)."""
    from simulator.analysis.uncertainty import POSTERIOR_GROUP

    if ident == POSTERIOR_GROUP:
        return TEXT[lang]["posterior_group"]
    return api.labels().name(ident, lang)


def sensitivity_text(table, lang: str, top: int = 3) -> str:
    """The ``top`` inputs of each target by total-order index, as an aligned table: target, input, ST with
    its 95 % interval, S1."""
    import pandas as pd

    from faces.cli.table import records
    from simulator.targets import load_targets

    renamed = catalogue("lib.target_names_en") if lang == "en" else {}
    names = {t.id: renamed.get(t.id, t.name(lang)) for t in load_targets()}
    rows = []
    for target, group in table.groupby("target", sort=False):
        for k, r in enumerate(group.sort_values("ST", ascending=False).head(top).itertuples()):
            rows.append({"name": names.get(target, target) if k == 0 else "", "input": input_name(r.input, lang),
                         "ST": r.ST, "ST_ci": _interval(r.ST_low, r.ST_high),
                         "S1": r.S1, "target": target if k == 0 else ""})
    words = TEXT[lang]
    headers = {"name": words["col_target"], "input": words["col_input"], "ST": "ST", "ST_ci": words["col_interval"],
               "S1": "S1", "target": words["col_id"]}
    columns = {"input": "text", "ST": "index", "ST_ci": "text", "S1": "index", "target": "text"}
    return records(pd.DataFrame(rows), "name", columns, headers)


def _interval(low, high) -> str:
    """A bootstrap interval as printed ("–" when the bootstrap gave none: an input without effect)."""
    from faces.cli.table import cell

    return "–" if low != low and high != high else f"{cell(low, 'index')}–{cell(high, 'index')}"


def _sensitivity_shown(table, lang: str):
    """The indices table as a reader sees it in a workbook: input names and headers in ``lang``."""
    shown = table.copy()
    shown["input"] = [input_name(i, lang) for i in table["input"]]
    words = TEXT[lang]
    return shown.rename(columns={"target": words["col_id"], "input": words["col_input"]})


COMMANDS = {"mc": cmd_mc, "sensitivity": cmd_sensitivity}
