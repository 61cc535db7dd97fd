"""The ``jinan-sd calibrate`` subcommand: fit, write ``calibrated.toml``, print and write the fit report."""

from __future__ import annotations

import argparse
from pathlib import Path

from calibration import CALIBRATED_PATH, OBSERVATIONS_PATH
from calibration.fit import DEFAULT_SEED, DEFAULT_STARTS, METHODS
from faces.cli.ensemble import seed
from simulator.errors import UserError

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
    parser.add_argument("--steps", type=int, default=None, help="--posterior: steps per walker (default 12000)")
    return parser


def run_calibrate(args) -> int:
    """Run the calibration for parsed ``args``; returns the exit code. Bad input raises UserError."""
    import simulator
    from calibration.fit import Problem, fit, write_calibrated
    from calibration.observations import load_observations
    from calibration.report import evaluate, format_text, write_report

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

        return run_posterior(args, problem, out, report)
    result = fit(problem, seed=args.seed, starts=args.starts, method=args.method,
                 progress=getattr(args, "progress", True))
    write_calibrated(result, out)
    lang = getattr(args, "lang", "en")
    table = evaluate(result)
    print(format_text(result, table, lang))
    print(f"\nwrote {out}")
    if report is not None:
        from simulator.plots.fonts import FontNotFoundError

        try:
            written = write_report(result, report, lang, table)
        except FontNotFoundError as exc:
            raise UserError(f"report: {exc}") from None
        print(f"wrote {len(written)} report files to {report}")
    return 0
