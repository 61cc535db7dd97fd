"""The ``jinan-sd calibrate`` subcommand: fit, write ``calibrated.toml``, print and write the fit report."""

from __future__ import annotations

import argparse
from pathlib import Path

# the package's constants only: calibration.fit (scipy.optimize) is imported by the command, not the parser
from calibration import CALIBRATED_PATH, DEFAULT_SEED, DEFAULT_STARTS, METHODS, OBSERVATIONS_PATH
from faces.cli.ensemble import seed
from simulator.errors import UserError
from simulator.text import catalogue

#: Default report folder: under the project root's ``out/``, which .gitignore keeps out of the repository.
DEFAULT_REPORT = CALIBRATED_PATH.parent.parent / "out" / "calibration"


def add_calibrate_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``calibrate`` to the ``jinan-sd`` subcommands; returns its parser."""
    parser = subparsers.add_parser(
        "calibrate",
        help="fit the model to 2015-2020 history and write calibrated.toml and a fit report",
        description="Weighted least squares of the CALIBRATED constants of models/jinan.mdl on "
        "calibration/data/observations.csv, with a weak prior toward the model's values.",
    )
    parser.add_argument("--out", default=str(CALIBRATED_PATH),
                        help="calibrated values (.toml; default calibration/calibrated.toml)")
    parser.add_argument("--report", default=str(DEFAULT_REPORT),
                        help="folder for the report, tables and PNG plots (default out/calibration, which "
                        "git ignores)")
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--method", choices=METHODS, default="multistart",
                        help="multistart least_squares (default) or global differential evolution + polish")
    parser.add_argument("--starts", type=int, default=DEFAULT_STARTS,
                        help=f"multistart: number of starts, the defaults included "
                        f"(default {DEFAULT_STARTS})")
    parser.add_argument("--no-report", dest="write_report", action="store_false",
                        help="print the report but write no report files")
    parser.add_argument("--observations", default=str(OBSERVATIONS_PATH), help="observations CSV")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--posterior", action="store_true",
                        help="MCMC posterior (emcee): write calibration/posterior.parquet and put the maximum a "
                        "posteriori draw in calibrated.toml")
    parser.add_argument("--posterior-out", default=None, help="posterior sample (.parquet; default "
                        "calibration/posterior.parquet)")
    parser.add_argument("--walkers", type=int, default=None, help="--posterior: ensemble size (default 128)")
    parser.add_argument("--steps", type=int, default=None, help="--posterior: steps per walker (default 30000)")
    return parser


def run_calibrate(args) -> int:
    """Run the calibration for parsed ``args``; returns the exit code. Bad input raises UserError."""
    import simulator
    from calibration.fit import Problem, fit, write_calibrated
    from calibration.observations import load_observations
    from calibration.report import evaluate, write_report
    from faces.cli.fit_tables import fit_text

    out = Path(args.out)
    if out.suffix.lower() != ".toml":
        raise UserError(f"--out must be a .toml file, got '{out}'")
    if not out.parent.is_dir():
        raise UserError(f"--out: folder '{out.parent}' does not exist")
    report = Path(args.report) if args.report and getattr(args, "write_report", True) else None
    if report is not None and report.exists() and not report.is_dir():
        raise UserError(f"--report: '{report}' exists and is not a folder")
    if args.seed < 0:
        raise UserError(f"--seed must be a non-negative integer, got {args.seed}")
    model = simulator.load()
    observations = load_observations(args.observations, model=model, labels=simulator.labels())
    # The history the fit explains is the model as written: no scenario levers, no previous calibration.
    base = simulator.scenario("baseline", model).overrides
    problem = Problem(model, observations, base_overrides=base)
    if getattr(args, "posterior", False):
        from calibration.posterior_report import run_posterior

        before = _fitted(out)
        code = run_posterior(args, problem, out, report)  # says where it wrote the sample and the MAP draw
        print(changes(before, _fitted(out), getattr(args, "lang", "en")))
        return code
    result = fit(problem, seed=args.seed, starts=args.starts, method=args.method,
                 progress=getattr(args, "progress", True))
    before = _fitted(out)
    write_calibrated(result, out)
    lang = getattr(args, "lang", "en")
    words = catalogue("cli.calibrate")[lang]
    table = evaluate(result)
    print(fit_text(result, table, lang, simulator.labels()))
    print(f"\n{words['wrote']} {out}")
    print(changes(before, _fitted(out), lang))
    if report is not None:
        from simulator.plots.fonts import FontNotFoundError

        try:
            written = write_report(result, report, lang, table)
        except FontNotFoundError as exc:
            raise UserError(f"report: {exc}") from None
        print(words["report"].format(n=len(written), folder=report))
    return 0


def _fitted(path: Path) -> dict:
    """Parameter id -> {value, std_error, ...} of a calibrated.toml ({} if there is none)."""
    import tomllib

    if not path.is_file():
        return {}
    with open(path, "rb") as f:
        return tomllib.load(f).get("parameters", {})


def changes(before: dict, after: dict, lang: str) -> str:
    """Which parameters moved by more than their standard error since the previous calibrated.toml."""
    words = catalogue("cli.calibrate")[lang]
    if not before:
        return words["first"]
    moved = []
    for pid, entry in after.items():
        old = before.get(pid, {}).get("value")
        new, error = entry.get("value"), entry.get("std_error")
        if old is None or new is None:
            continue
        if abs(new - old) > (error if error and error == error else 0.0):
            moved.append(words["moved"].format(id=pid, old=f"{old:.4g}", new=f"{new:.4g}",
                                               se=f"{error:.2g}" if error else "–"))
    if not moved:
        return words["none"]
    return words["changed"].format(n=len(moved)) + "\n" + "\n".join(f"  {m}" for m in moved)
