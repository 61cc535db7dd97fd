"""CLI commands that assess scenarios: ``targets``, ``compare`` and ``report``."""

from __future__ import annotations

import json
from pathlib import Path

import simulator as api
from simulator.errors import UserError
from simulator.targets.assess import (
    export_indicators,
    export_targets,
    key_indicators,
    target_table,
    write_tables,
)
from simulator.text import catalogue

TEXT = catalogue("cli.analysis")


def add_parsers(sub, engines) -> None:
    """Add the ``targets``, ``compare`` and ``report`` subcommands."""
    targets = sub.add_parser("targets", help="feasibility of every plan target in one scenario")
    targets.add_argument("scenario")
    targets.add_argument("--json", action="store_true", help="print JSON instead of a table")
    targets.add_argument("--engine", choices=engines, default=api.DEFAULT_ENGINE)
    targets.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                         help="override a lever; VALUE is a number or [[year, value], ...]")
    targets.add_argument("--probability", type=int, metavar="N",
                         help="also run an N-run Monte Carlo ensemble (posterior draws + forward uncertainty, "
                         "the scenario's levers fixed) and add the probability of meeting each target")
    targets.add_argument("--seed", type=int, default=0, help="--probability: random seed (default 0)")
    targets.add_argument("--posterior", help="--probability: posterior sample (.parquet; default "
                         "calibration/posterior.parquet)")

    compare = sub.add_parser("compare", help="key indicators and targets of several scenarios side by side")
    compare.add_argument("scenarios", nargs="+")
    compare.add_argument("--out", help="write the tables: .xlsx (a sheet each) or .csv (a file each)")
    compare.add_argument("--engine", choices=engines, default=api.DEFAULT_ENGINE)

    report = sub.add_parser("report", help="figures (PNG, PDF) and tables for a report")
    report.add_argument("scenarios", nargs="+")
    report.add_argument("--out", required=True, help="output folder to create (refused if it exists)")
    report.add_argument("--force", action="store_true",
                        help="replace an existing --out folder (once the new one is complete)")
    report.add_argument("--engine", choices=engines, default=api.DEFAULT_ENGINE)


def _run_all(names, engine):
    model = api.load()
    return {name: api.run(name, engine=engine, model=model) for name in names}


def cmd_targets(args) -> int:
    labels = api.labels()
    from simulator.scenarios import parse_set

    n = getattr(args, "probability", None)
    if n is not None and n < 2:
        raise UserError(f"--probability must be at least 2 runs, got {n}")
    if n is not None and getattr(args, "seed", 0) < 0:
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    overrides = parse_set(args.sets)
    result = api.run(args.scenario, overrides=overrides, engine=args.engine)
    table = target_table(result, labels, args.lang)
    ensemble = _probability(args, overrides, n) if n is not None else None
    if ensemble is not None:
        table = _with_probability(table, ensemble.probabilities, args.lang)
    if args.json:
        records = table.drop(columns=["run"]).to_dict(orient="records")
        payload = {"scenario": args.scenario, "provenance": result.provenance, "targets": records}
        if ensemble is not None:
            payload["ensemble"] = ensemble.manifest
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=_json_default))
        return 0
    assessed = table[table["status"] != "not assessed"]
    print(targets_text(table, args.lang, probability=ensemble is not None))
    if ensemble is not None:
        from faces.cli.ensemble import TEXT as MC_TEXT

        if table["no_uncertainty"].fillna(False).astype(bool).any():
            from faces.cli.table import note

            print(note(MC_TEXT[args.lang]["flat_note"]))
        m, words = ensemble.manifest, MC_TEXT[args.lang]
        print(f"({m['n']} {words['runs']}, {words['seed']} {m['seed']}, {m['sampler']}; "
              f"{words['calibrated'][m['calibrated']]}; {words['failed']} {m['failed_runs']})")
    n_met = int((assessed["status"] == "met").sum())
    print("\n" + TEXT[args.lang]["met"].format(n=n_met, m=len(assessed)))
    return 0


def targets_text(table, lang: str, probability: bool = False) -> str:
    """The printed target table (aligned, fitted to 120 columns; numbers by quantity) and its notes."""
    from faces.cli.ensemble import units_text
    from faces.cli.table import footnotes, note, records
    from simulator.targets.assess import HEADERS, KIND_TEXT, STATUS_TEXT

    shown = table.reset_index(drop=True).copy()
    shown["status"] = shown["status"].map(STATUS_TEXT[lang])
    shown["kind"] = shown["kind"].map(KIND_TEXT[lang]).fillna(shown["kind"])
    shown["unit"] = [units_text(u, lang) for u in shown["unit"]]
    marks, notes = footnotes(shown["note"].fillna("").astype(str) + shown["reason"].fillna("").astype(str))
    shown["note"] = marks
    columns = {"year": "year", "target": "value", "simulated": "value", "unit": "text", "status": "text",
               "margin": "value", "margin_pct": "percent", "first_year_met": "year", "kind": "text"}
    headers = dict(HEADERS[lang])
    if probability:
        columns["probability_text"] = "text"
        headers["probability_text"] = PROBABILITY_HEADER[lang]
    columns.update({"note": "text", "id": "text"})
    text = records(shown, "name", columns, headers, unit_column="unit")
    return text + ("\n\n" + "\n".join(note(n) for n in notes) if notes else "")


PROBABILITY_HEADER = catalogue("cli.analysis.probability")


def _probability(args, overrides: dict, n: int):
    """The ensemble of ``targets --probability N``: the scenario (with its --set levers) held fixed."""
    from faces.cli.ensemble import quiet_fallback
    from simulator.analysis.ensemble import run_ensemble

    model = api.load()
    scen = api.scenario(args.scenario, model)
    if overrides:
        scen = scen.with_overrides(model, overrides)
    posterior = getattr(args, "posterior", None)
    if posterior and not Path(posterior).is_file():
        raise UserError(f"--posterior {posterior}: file not found")
    return quiet_fallback(run_ensemble, scen, n=n, seed=getattr(args, "seed", 0), model=model, lang=args.lang,
                          posterior_path=posterior)


def _with_probability(table, probabilities, lang: str):
    """The target table with the ensemble's probability, its 95 % interval and the no-uncertainty flag."""
    from faces.cli.ensemble import probability_words

    probs = probabilities.set_index("id")
    out = table.copy()
    out["probability"] = out["id"].map(probs["probability"].where(probs["n_valid"] > 0))
    out["probability_ci_low"] = out["id"].map(probs["ci_low"])
    out["probability_ci_high"] = out["id"].map(probs["ci_high"])
    out["no_uncertainty"] = out["id"].map(probs["no_uncertainty"])
    words = []
    for tid in out["id"]:
        row = probs.loc[tid] if tid in probs.index else None
        words.append("" if row is None or not row["n_valid"] else probability_words(row, lang))
    out["probability_text"] = words
    return out


def _json_default(value):
    try:
        return None if value != value else float(value)  # NaN -> null
    except (TypeError, ValueError):
        return str(value)


def cmd_compare(args) -> int:
    if args.out is not None and Path(args.out).suffix not in (".xlsx", ".csv"):
        raise UserError(f"--out {args.out}: use .xlsx or .csv")
    if args.out is not None and not Path(args.out).parent.exists():
        raise UserError(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
    labels = api.labels()
    runs = _run_all(args.scenarios, args.engine)
    # scenarios by their titles in the chosen language (the names are file names)
    titles = {name: api.scenario(name).title(args.lang) for name in runs}
    results = {titles[name]: result for name, result in runs.items()}
    indicators = key_indicators(results, labels, args.lang)
    from faces.cli.table import frame_table

    units = [labels.unit(labels.indicators[i], args.lang) for i in labels.views.get("key_indicators", [])
             if i in results[next(iter(results))].indicators(labels.indicators)]
    print(frame_table(indicators, units if len(units) == len(indicators) else None,
                      head=TEXT[args.lang]["indicator"]))
    print()
    print(compare_text({n: target_table(r, labels, args.lang) for n, r in results.items()}, args.lang))
    if args.out:
        write_exports(Path(args.out), runs, labels, args.lang, titles)
        print(f"\n{TEXT[args.lang]['wrote']} {args.out}")
    return 0


def write_exports(path: Path, runs: dict, labels, lang: str, titles: dict) -> Path:
    """The indicators and targets of ``runs`` (scenario name -> Result) to ``path``: an XLSX with display
    headers and a variables sheet of ids, or one CSV per table (ids, full precision)."""
    tables = {name: target_table(result, labels, lang) for name, result in runs.items()}
    indicators = export_indicators(runs, labels, lang, titles)
    targets = export_targets(tables, lang, titles)
    return write_tables(path, {"indicators": indicators[0], "targets": targets[0]},
                        {"indicators": indicators[1], "targets": targets[1]})


def compare_text(tables: dict, lang: str) -> str:
    """Targets of several scenarios side by side, printed: the simulated value and status per scenario."""
    from faces.cli.ensemble import units_text
    from faces.cli.table import records
    from simulator.targets.assess import HEADERS, STATUS_TEXT

    first = next(iter(tables.values())).reset_index(drop=True)
    shown = first[["id", "name", "year", "target", "unit"]].copy()
    shown["unit"] = [units_text(u, lang) for u in shown["unit"]]
    columns = {"year": "year", "target": "value", "unit": "text"}
    headers = dict(HEADERS[lang])
    for k, (name, table) in enumerate(tables.items()):
        table = table.reset_index(drop=True)
        shown[f"simulated{k}"] = table["simulated"].to_numpy(float)
        shown[f"status{k}"] = table["status"].map(STATUS_TEXT[lang]).to_numpy()
        columns.update({f"simulated{k}": "value", f"status{k}": "text"})
        headers.update({f"simulated{k}": f"{name}: {HEADERS[lang]['simulated']}",
                        f"status{k}": f"{name}: {HEADERS[lang]['status']}"})
    return records(shown, "name", columns, headers, unit_column="unit")


def _file_stem(name: str, taken: set) -> str:
    """A scenario argument (name or path) as a safe, unique file-name stem: ``sc/x.toml`` -> ``x``."""
    import re

    stem = re.sub(r"[^\w-]", "_", Path(name).stem if name.endswith(".toml") else Path(name).name) or "scenario"
    unique, k = stem, 2
    while unique in taken:
        unique, k = f"{stem}_{k}", k + 1
    taken.add(unique)
    return unique


def cmd_report(args) -> int:
    """Figures and tables into a new folder, written whole (a staging folder renamed at the end): an
    existing folder is refused unless ``--force``, and then replaced only once the new one is complete."""
    from simulator.atomic import new_folder
    from simulator.plots import charts, feasibility
    from simulator.targets import load_targets
    from simulator.targets.history import history_frame

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.exists() and not args.force:
        raise UserError(f"--out {out}: already exists (choose another folder, or --force to replace it)")
    labels = api.labels()
    lang = args.lang
    results = _run_all(args.scenarios, args.engine)
    model = api.load()
    titles = {name: api.scenario(name, model).title(lang) for name in results}
    tables = {titles[n]: target_table(r, labels, lang) for n, r in results.items()}
    frames = {titles[n]: r.indicators(labels.indicators) for n, r in results.items()}
    chart_labels = {
        ind: {"zh": labels.name(var, "zh"), "en": labels.name(var, "en"),
              "unit_zh": labels.unit(var, "zh"), "unit_en": labels.unit(var, "en")}
        for ind, var in labels.indicators.items()
    }
    shown = [i for i in labels.views.get("chart_indicators", []) if i in next(iter(frames.values()))]
    written = []
    with new_folder(out, replace=args.force) as staging:
        note = charts.caption(lang, model.sha256)
        figure = charts.trajectories(frames, shown, chart_labels, history=history_frame(labels),
                                     targets=load_targets(), lang=lang, note=note)
        written += charts.save(figure, staging / "trajectories")
        written += charts.save(feasibility.feasibility(tables, lang=lang, note=note), staging / "feasibility")
        written.append(write_exports(staging / "tables.xlsx", results, labels, lang, titles))
        taken: set = set()
        for name, result in results.items():
            written.append(result.to_file(staging / f"run_{_file_stem(name, taken)}.csv", labels=labels))
    for path in written:
        print(f"{TEXT[lang]['wrote']} {out / Path(path).name}")
    return 0


COMMANDS = {"targets": cmd_targets, "compare": cmd_compare, "report": cmd_report}
