"""CLI commands for decision support: ``goalseek``, ``attribute`` (wedges) and ``discover`` (PRIM, CART)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import simulator as api
from faces.cli.ensemble import seed
from simulator.atomic import write_file, write_text
from simulator.errors import UserError
from simulator.text import catalogue

TEXT = catalogue("cli.decision")


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def add_parsers(sub) -> None:
    """Add the ``goalseek``, ``attribute`` and ``discover`` subcommands."""
    seek = sub.add_parser("goalseek", help="smallest change to levers that meets chosen targets")
    seek.add_argument("scenario", help="starting scenario (name under scenarios/ or a .toml path)")
    seek.add_argument("--targets", required=True, help="target ids, comma-separated (see models/targets.toml)")
    seek.add_argument("--levers", help="lever ids to move, comma-separated (default: the policy levers)")
    seek.add_argument("--p", type=float, help="meet each target with at least this probability (default: certain)")
    seek.add_argument("--n", type=int, default=200, help="samples of the uncertain inputs with --p (default 200)")
    seek.add_argument("--seed", type=seed, default=0, help="random seed of the samples (default 0)")
    seek.add_argument("--sampler", choices=("lhs", "sobol", "random"), default="lhs")
    seek.add_argument("--joint", action="store_true", help="with --p: all targets together, not each")
    seek.add_argument("--norm", choices=("l2", "l1"), default="l2", help="l1 moves fewer levers (default l2)")
    seek.add_argument("--weights", help="cost weights NAME=W,... on the levers' changes (default 1)")
    seek.add_argument("--out", help="write the answer as a scenario file (.toml); default: print it")

    attr = sub.add_parser("attribute", help="each lever's part of the difference between two scenarios")
    attr.add_argument("scenario")
    attr.add_argument("--against", default="baseline", help="scenario compared with (default baseline)")
    attr.add_argument("--target", required=True, help="target id whose indicator is decomposed")
    attr.add_argument("--year", type=int, help="year of the table (default the target's year)")
    attr.add_argument("--out", help="folder for the table (CSV) and the wedge chart (PNG, PDF)")

    disc = sub.add_parser("discover", help="conditions under which a target is missed (PRIM boxes, CART)")
    disc.add_argument("ensemble", help="results folder of jinan-sd mc ... --out DIR")
    disc.add_argument("--target", required=True, help="target id")
    which = disc.add_mutually_exclusive_group()
    which.add_argument("--miss", dest="outcome", action="store_const", const="miss", help="runs that miss (default)")
    which.add_argument("--meet", dest="outcome", action="store_const", const="meet", help="runs that meet it")
    disc.add_argument("--alpha", type=float, default=0.05, help="PRIM peeling share (default 0.05)")
    disc.add_argument("--min-support", type=float, default=0.05, help="smallest box, share of runs (default 0.05)")
    disc.add_argument("--no-paste", action="store_true", help="do not paste the chosen box")
    disc.add_argument("--boxes", type=int, default=1, help="number of PRIM boxes (covering; default 1)")
    disc.add_argument("--step", type=int, help="take the first box from this step of the peeling trajectory "
                      "(default: the largest coverage x density)")
    disc.add_argument("--depth", type=int, default=3, help="depth of the CART tree (default 3)")
    disc.add_argument("--out", help="folder for the trajectory, boxes, tree and chart")


def _weights(text: str | None) -> dict:
    out = {}
    for item in _csv(text):
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UserError(f"--weights: expected NAME=NUMBER, got '{item}'") from None
    return out


def _out_folder(text: str | None) -> Path | None:
    """The --out folder, checked before any work (created only when there is something to write)."""
    if not text:
        return None
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder}: exists and is not a folder")
    if not folder.resolve().parent.is_dir():
        raise UserError(f"--out {folder}: folder {folder.resolve().parent} does not exist")
    return folder


def _fmt(value: float, sign: str = "") -> str:
    if value != value:
        return "—"
    return "0" if abs(value) < 1e-12 else f"{value:{sign}.4g}"


def cmd_goalseek(args) -> int:
    from tqdm import tqdm

    from simulator.analysis.answer import scenario_text, write_scenario
    from simulator.analysis.goalseek import goal_seek

    words, lang = TEXT[args.lang], args.lang
    if args.out and not args.out.endswith(".toml"):
        raise UserError(f"--out {args.out}: a scenario file must end in .toml")
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: folder {Path(args.out).resolve().parent} does not exist")
    started = time.perf_counter()
    bar = tqdm(unit=words["runs"], file=sys.stderr, disable=None, leave=False)
    try:
        result = goal_seek(args.scenario, _csv(args.targets), levers=_csv(args.levers) or None, p=args.p, n=args.n,
                           seed=args.seed, sampler=args.sampler, weights=_weights(args.weights), norm=args.norm,
                           joint=args.joint, progress=lambda runs: bar.update(runs - bar.n))
    finally:
        bar.close()
    labels, model = api.labels(), api.load()
    settings = result.settings
    how = words["det"] if args.p is None else words["prob"].format(
        p=args.p, n=settings["n"], seed=args.seed, joint=words["joint"] if args.joint else "")
    print(words["seek"].format(scenario=result.start.title(lang), targets=", ".join(settings["targets"]), how=how,
                               norm=args.norm))
    moved = result.levers[result.levers["change_pct"] != 0]
    if result.already_met:
        print(words["already"])
    elif result.feasible:
        print(words["met"].format(k=len(moved), rest=len(result.levers) - len(moved)))
    else:
        print(words["unreachable"].format(ids=", ".join(result.targets.loc[result.targets["out_of_reach"], "id"])))
    tiny = moved[moved["change_pct"].abs() < 0.005]  # would print as +0.00: summed up in one line instead
    moved = moved[moved["change_pct"].abs() >= 0.005]
    if len(moved):
        rows = [[labels.name(r.lever, lang) + (words["history"] if r.changes_history else ""), _fmt(r["from"]),
                 _fmt(r.to), labels.unit(r.lever, lang) or model.elements[r.lever].units, f"{r.change_pct:+.2f}"]
                for _, r in moved.iterrows()]
        _print_table([words[k] for k in ("lever", "from", "to", "unit", "change")], rows)
    if len(tiny):
        print(words["tiny"].format(k=len(tiny)))
    rows = []
    for _, r in result.targets.iterrows():
        row = [r[f"name_{lang}"], f"{_fmt(r.margin_before)} → {_fmt(r.margin_after)} {r.unit}"]
        if args.p is not None:
            flag = "*" if r.get("no_uncertainty", False) else ""
            row.append(f"{r.probability_before:.0%} → {r.probability_after:.0%}{flag}")
        rows.append([*row, words["yes"] if r.binds else words["no"]])
    heads = ["target", "margin", *(["probability"] if args.p is not None else []), "binds"]
    print()
    _print_table([words[k] for k in heads], rows)
    if moved["changes_history"].any():
        print(words["note_history"])
    if (moved["kind"] == "time_path").any():
        calendar = api.labels()
        print(words["note_path"].format(year=calendar.year("plan"), start=calendar.year("last_history")))
    if args.p is not None:
        print(words["note_margin"].format(p=args.p))
        if "no_uncertainty" in result.targets and result.targets["no_uncertainty"].any():
            from faces.cli.ensemble import TEXT as MC_TEXT

            print(MC_TEXT[lang]["flat_note"])
    if settings["dropped"]:
        print(words["note_dropped"].format(ids=", ".join(settings["dropped"])))
    if args.norm == "l2" and len(moved) + len(tiny) > 3:
        print(words["note_l1"])
    print(words["time"].format(s=time.perf_counter() - started, runs=settings["runs"]))
    if args.out:
        print(f"{words['wrote']} {write_scenario(result, args.out)}")
    elif result.overrides:
        print("\n" + scenario_text(result))
    return 0 if result.feasible else 1


def _print_table(heads: list[str], rows: list[list[str]]) -> None:
    """Rows of already formatted cells as an aligned table (display-width aware, within 120 columns):
    the first cell of a row labels it; columns of numbers right-aligned, columns of words left-aligned."""
    import re

    from faces.cli.table import blocks

    numeric = re.compile(r"^[\s\d,.+\-–—%→*]*$")
    cells = [[str(c) for c in row[1:]] for row in rows]
    left = {j for j in range(len(heads) - 1) if not all(numeric.match(r[j]) for r in cells)}
    print(blocks([str(r[0]) for r in rows], heads[1:], cells, head=heads[0], left=left))


def cmd_attribute(args) -> int:
    from simulator.analysis.attribution import MAX_PLAYERS, attribute
    from simulator.plots import charts
    from simulator.plots.decisions import player_name, wedge_chart

    words, lang = TEXT[args.lang], args.lang
    folder = _out_folder(args.out)
    result = attribute(args.scenario, args.target, against=args.against)
    labels = api.labels()
    year = int(result.target.year if args.year is None else args.year)
    last = int(result.parts.index[-1])
    unit = labels.unit(result.variable, lang) or result.unit
    print(words["attr"].format(a=result.scenario.title(lang), b=result.against.title(lang), unit=unit,
                               indicator=labels.name(result.variable, lang), target=result.target.id)
          + (words["grouped"].format(k=MAX_PLAYERS) if result.grouped else ""))
    table, later = result.table(year), result.table(last).set_index("player")
    rows = [[player_name(r.player, result, labels, lang), _fmt(r.contribution, "+"),
             "—" if r.share_pct != r.share_pct else ("0" if abs(r.contribution) < 1e-12 else f"{r.share_pct:.1f}"),
             _fmt(later.loc[r.player, "contribution"], "+")] for r in table.itertuples()]
    rows.append([words["total"], _fmt(result.total.loc[year], "+"), "100.0", _fmt(result.total.loc[last], "+")])
    heads = [words["lever"], words["contribution"].format(year=year), words["share"].format(year=year),
             words["contribution"].format(year=last)]
    _print_table(heads, rows)
    top = table.iloc[0]
    print("\n" + words["most"].format(year=year, name=player_name(top.player, result, labels, lang), unit=unit,
                                      value=f"{top.contribution:+.4g}", share=f"{top.share_pct:.0f} %"))
    if folder is not None:
        folder.mkdir(exist_ok=True)
        # one header row of ids, as every CSV the tool writes (display names are on the screen and the chart)
        frame = result.parts.copy()
        frame["total_difference"] = result.total
        frame = frame.join(result.levels)
        csv = folder / f"attribution-{result.target.id}.csv"
        write_file(csv, lambda temp: frame.to_csv(temp, encoding="utf-8-sig"))
        written = [csv, *charts.save(wedge_chart(result, labels, lang), folder / f"wedges-{result.target.id}")]
        print(f"{words['wrote']} " + ", ".join(str(p) for p in written))
    return 0


def cmd_discover(args) -> int:
    import json

    from simulator.analysis.discovery import box_sentence, discover, number, tree_lines
    from simulator.plots import charts
    from simulator.plots.decisions import peeling_chart

    words, lang = TEXT[args.lang], args.lang
    outcome = args.outcome or "miss"
    folder = _out_folder(args.out)
    result = discover(args.ensemble, args.target, outcome, alpha=args.alpha, min_support=args.min_support,
                      paste=not args.no_paste, n_boxes=args.boxes, max_depth=args.depth, step=args.step)
    labels = api.labels()
    name = result.target.name(lang) if result.target else result.target_id
    verb = catalogue("lib.discovery.sentence")[lang][2][outcome][0]

    def name_of(ident: str) -> str:
        return labels.name(ident, lang)

    rate = f"{100 * result.n_cases / result.n_valid:.1f} %" if result.n_valid else "—"
    print(words["disc"].format(folder=args.ensemble, n=result.n_valid, target=name, verb=verb, k=result.n_cases,
                               rate=rate))
    if result.prim is None:
        print(words["none" if result.n_cases == 0 else "all"].format(verb=verb))
        return 0
    print(words["prim"].format(alpha=args.alpha, support=args.min_support, paste="" if args.no_paste
                               else words["paste"]))
    for k, box in enumerate(result.prim.boxes, 1):
        print(f"  {k}. {box_sentence(box, name, outcome, name_of, lang)}")
    root = result.tree[0] if result.tree else {}
    split = f"{name_of(root['input'])} < {number(root['threshold'])}" if "input" in root else "—"
    print("\n" + words["cart"].format(depth=args.depth, split=split))
    for line in tree_lines(result.tree, outcome, name_of, lang):
        print(f"  {line}")
    if folder is not None:
        folder.mkdir(exist_ok=True)
        trajectory = result.prim.trajectory.assign(limits=lambda t: t["limits"].map(json.dumps))
        write_file(folder / f"prim-trajectory-{result.target_id}.csv",
                   lambda temp: trajectory.to_csv(temp, index=False, encoding="utf-8-sig"))
        boxes = [{"box": k, "input": ident, "name": name_of(ident), "low": low, "high": high,
                  "coverage": b.coverage, "density": b.density, "mass": b.mass}
                 for k, b in enumerate(result.prim.boxes, 1) for ident, (low, high) in b.limits.items()]
        import pandas as pd

        write_file(folder / f"prim-boxes-{result.target_id}.csv",
                   lambda temp: pd.DataFrame(boxes).to_csv(temp, index=False, encoding="utf-8-sig"))
        write_text(folder / f"cart-{result.target_id}.txt", "\n".join(tree_lines(result.tree, outcome, name_of, lang))
                   + "\n")
        first = result.prim.boxes[0]
        figure = peeling_chart(result.prim.trajectory, result.prim.chosen[0], name, outcome, lang,
                               final=(first.coverage, first.density))
        written = charts.save(figure, folder / f"prim-trajectory-{result.target_id}")
        print(f"\n{words['wrote']} {folder} ({', '.join(p.name for p in written)}, CSV, TXT)")
    return 0


COMMANDS = {"goalseek": cmd_goalseek, "attribute": cmd_attribute, "discover": cmd_discover}
