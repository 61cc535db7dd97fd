"""The ``jinan-sd`` command line: thin wrappers that call the library and print or write results."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import simulator as api
from faces.cli import analysis as cli_analysis
from faces.cli import decision as cli_decision
from faces.cli import ensemble as cli_ensemble
from faces.cli import validate as cli_validate
from faces.cli.calibrate import add_calibrate_parser, run_calibrate
from simulator.engines.fast.kernel import BACKEND_VARIABLE
from simulator.errors import UserError
from simulator.text import catalogue

TEXT = catalogue("cli.main")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="jinan-sd",
        description="Jinan 14th Five-Year Plan scenario simulator / 济南“十四五”规划情景模拟器",
    )
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="output language (default zh)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one scenario and write the results")
    run.add_argument("scenario", nargs="?", help="scenario name under scenarios/ or a path to a .toml file")
    run.add_argument("--model", help="run any Vensim .mdl file on its own defaults instead of a scenario")
    run.add_argument("--out", help="output file: .csv, .xlsx or .parquet (default: print key rows)")
    run.add_argument("--engine", choices=api.ENGINES, default=api.DEFAULT_ENGINE)
    run.add_argument("--method", choices=("euler", "rk4"), default="euler")
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a lever; VALUE is a number or [[year, value], ...]",
    )
    run.add_argument("--all", action="store_true", help="print every indicator (default: the key ones)")

    info = sub.add_parser("info", help="list the levers with units, ranges and zh/en names")
    info.add_argument("--all", action="store_true", help="also list calibration parameters")
    info.add_argument("--model", help="list the constants of any Vensim .mdl file")

    sub.add_parser("units", help="check the model's dimensional consistency")
    cli_analysis.add_parsers(sub, api.ENGINES)
    cli_ensemble.add_parsers(sub)
    cli_decision.add_parsers(sub)
    add_calibrate_parser(sub)
    cli_validate.add_parser(sub)
    for name, command in sub.choices.items():  # every command that runs the model takes --backend
        if name not in ("info", "units"):
            command.add_argument("--backend", choices=api.BACKENDS, default=None,
                                 help="fast engine backend (default compiled, numpy when no C compiler)")
    return parser


#: Library parameters whose flag is not ``--`` + the parameter's name.
FLAG_NAMES = {"overrides": "--set", "n_boxes": "--boxes", "max_depth": "--depth", "min_support": "--min-support"}


def flag_words(exc: UserError) -> str:
    """The library's message with the parameter at fault named by its flag (``levers`` -> ``--levers``)."""
    return exc.worded(FLAG_NAMES, default=lambda param: "--" + param.replace("_", "-"))


def _terminated(signum, frame):
    # SIGTERM as an exception, so half-written results are removed on the way out (see simulator.atomic)
    raise SystemExit(128 + signum)


def _check_common(args) -> None:
    """Checks every command shares: an empty --out writes nothing, so it is refused."""
    out = getattr(args, "out", None)
    if out is not None and not str(out).strip():
        raise UserError("--out: empty; give a file or folder name")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input)."""
    import signal

    parser = build_parser()
    args = parser.parse_args(argv)
    previous_signal = signal.getsignal(signal.SIGTERM)
    if previous_signal is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)
    previous = os.environ.get(BACKEND_VARIABLE)
    if getattr(args, "backend", None):  # the library's default backend, for every analysis and worker
        os.environ[BACKEND_VARIABLE] = args.backend
    try:
        _check_common(args)
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"jinan-sd: error: {flag_words(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): nothing is lost, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"jinan-sd: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jinan-sd: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("jinan-sd: error: out of memory (try fewer runs)", file=sys.stderr)
        return 2
    finally:
        if previous_signal is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous_signal)
        if previous is None:
            os.environ.pop(BACKEND_VARIABLE, None)
        else:
            os.environ[BACKEND_VARIABLE] = previous


def cmd_run(args) -> int:
    from simulator.result import check_output_path
    from simulator.scenarios import parse_set

    if args.out is not None:
        check_output_path(args.out)
    if args.model:
        if args.scenario:
            raise UserError("run: give a SCENARIO or --model PATH, not both")
        model = api.load(args.model, check=args.engine == "fast")
        result = api.run(api.defaults(model), overrides=parse_set(args.sets), engine=args.engine,
                         method=args.method, model=model, backend=args.backend)
        if args.out:
            print(f"{TEXT[args.lang]['wrote']} {result.to_file(Path(args.out))}")
        else:
            from faces.cli.table import frame_table

            table = result.frame.T
            table.columns = [f"{t:g}" for t in table.columns]
            units = [result.units.get(c, "") for c in table.index]
            print(frame_table(table, units, head=TEXT[args.lang]["variable"]))
        return 0
    result = api.run(args.scenario or "baseline", overrides=parse_set(args.sets), engine=args.engine,
                     method=args.method, backend=args.backend)
    labels = api.labels()
    if args.out is not None:
        path = result.to_file(Path(args.out), labels=labels, lang=args.lang)
        print(f"{TEXT[args.lang]['wrote']} {path}")
    else:
        from faces.cli.table import indicator_table

        frame = result.indicators(labels.indicators)
        key = [i for i in labels.views.get("key_indicators", []) if i in frame]
        chosen = list(frame.columns) if args.all or not key else key
        print(indicator_table(frame, labels, args.lang, chosen))
        if len(chosen) < len(frame.columns):
            print(TEXT[args.lang]["key_only"].format(n=len(frame.columns)))
    return 0


def cmd_info(args) -> int:
    if args.model:
        model = api.load(args.model, check=False)
        print(f"# {model.path.name}: {model.time}")
        for element in model.elements.values():
            if element.kind == "constant":
                shown = "" if element.default is None else f" = {element.default:g}"
                subs = f"[{','.join(element.subscripts)}]" if element.subscripts else ""
                print(f"  {element.id}{subs}{shown} | {element.units} | {element.doc}")
        return 0
    model = api.load()
    labels = api.labels()
    grouped = {lever for sector in labels.sectors.values() for lever in sector["levers"]}
    print(f"# {TEXT[args.lang]['levers']} ({model.path.name})")
    for key, sector in labels.sectors.items():
        print(f"\n[{sector[args.lang]} / {key}]")
        for lever in sector["levers"]:
            _print_lever(model.elements[lever], labels, args.lang)
    if args.all:
        print("\n[parameters]")
        for lever in model.levers.values():
            if lever.id not in grouped:
                _print_lever(lever, labels, args.lang)
    return 0


def _print_lever(element, labels, lang: str) -> None:
    low, high, step = element.limits
    if element.kind == "time_path":
        shown = " ".join(f"{x:g}:{y:g}" for x, y in element.default)
    else:
        shown = f"{element.default:g}"
    rng = f"[{low:g}, {high:g}]" + (f" step {step:g}" if step else "")
    other = "en" if lang == "zh" else "zh"
    print(
        f"  {element.id:40s} {labels.name(element.id, lang)} / {labels.name(element.id, other)} "
        f"| {labels.unit(element.id, lang) or element.units} {rng} | {element.kind} | default {shown}"
    )


def cmd_units(args) -> int:
    from simulator.model.units import check_units

    problems = check_units(api.load())
    if not problems:
        print(TEXT[args.lang]["units_ok"])
        return 0
    print(f"{TEXT[args.lang]['units_bad']}:")
    for problem in problems:
        print(f"  {problem}")
    return 1


COMMANDS = {"run": cmd_run, "info": cmd_info, "units": cmd_units, **cli_analysis.COMMANDS, **cli_ensemble.COMMANDS,
            **cli_decision.COMMANDS, **cli_validate.COMMANDS,
            "calibrate": run_calibrate}
