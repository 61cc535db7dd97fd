"""The ``jinan-sd validate`` subcommand: rolling-origin backtests with forecast fans, coverage, scores and
skill against a naive trend (:mod:`calibration.validate`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from faces.cli.ensemble import seed
from simulator.errors import UserError

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "out" / "validate"


def _origins(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"origins must be years separated by commas, got '{text}'") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one origin year")
    return values


def add_parser(sub) -> argparse.ArgumentParser:
    # the package's constants only: calibration.validate (scipy.stats) is imported by the command
    from calibration import DEFAULT_RUNS, DEFAULT_SEED, DEFAULT_STEPS, DEFAULT_WALKERS, ORIGINS

    parser = sub.add_parser(
        "validate", help="rolling-origin backtests inside 2015-2020: fans, coverage, CRPS, skill vs a naive trend",
        description="Calibrate on the data up to each origin (posterior of the truncated data, short chain), "
        "forecast to 2020 with the forward uncertainty, score the held-back observations.")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="report folder (default out/validate)")
    parser.add_argument("--origins", type=_origins, default=list(ORIGINS),
                        help="last fitted years, comma-separated (default 2017,2018)")
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--walkers", type=int, default=DEFAULT_WALKERS,
                        help=f"emcee walkers (default {DEFAULT_WALKERS})")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"emcee steps per origin (default {DEFAULT_STEPS}: a short chain)")
    parser.add_argument("--n", dest="runs", type=int, default=DEFAULT_RUNS,
                        help=f"forecast runs per origin (default {DEFAULT_RUNS})")
    parser.add_argument("--starts", type=int, default=2, help="least-squares starts for the mode (default 2)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    return parser


def cmd_validate(args) -> int:
    from calibration.validate import format_report, run_validation, write_validation
    from simulator.plots.fonts import FontNotFoundError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: '{out}' exists and is not a folder")
    if not out.parent.exists():
        raise UserError(f"--out: folder '{out.parent}' does not exist")
    for name in ("walkers", "steps", "runs", "starts"):
        if getattr(args, name) < 1:
            raise UserError(f"--{'n' if name == 'runs' else name} must be at least 1, got {getattr(args, name)}")
    results, table, pooled, settings = run_validation(args.origins, args.seed, args.walkers, args.steps, args.runs,
                                                      args.starts, args.progress)
    print(format_report(results, table, pooled, settings))
    try:
        written = write_validation(out, results, table, pooled, settings)
    except FontNotFoundError as exc:
        raise UserError(f"report: {exc}") from None
    print(f"\nwrote {len(written)} files to {out}")
    return 0


COMMANDS = {"validate": cmd_validate}
