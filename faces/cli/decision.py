"""CLI commands for decision support: ``goalseek``, ``attribute`` (wedges) and ``discover`` (PRIM, CART)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import simulator as api
from faces.cli.ensemble import seed
from simulator.errors import UserError

TEXT = {
    "zh": {
        "seek": "目标反推:从情景“{scenario}”出发,目标 {targets}({how};{norm} 距离)",
        "det": "确定性运行", "prob": "概率 ≥ {p:g}{joint},{n} 个不确定输入样本,种子 {seed}", "joint": "(全部目标同时)",
        "already": "起点已达到全部目标:无需调整任何杠杆。",
        "met": "调整 {k} 个杠杆即可达到全部目标(其余 {rest} 个杠杆不变):",
        "unreachable": "在杠杆取值范围内无法达到全部目标。最接近的可达点(最小余量最大)如下;达不到的目标:{ids}",
        "lever": "杠杆", "from": "起点", "to": "调整后", "unit": "单位", "change": "变化(占取值范围 %)",
        "history": "*", "target": "目标", "margin": "余量 起点 → 调整后", "probability": "达标概率 起点 → 调整后",
        "binds": "约束是否紧", "yes": "是", "no": "",
        "note_history": "* 该杠杆是常数,调整它也会改变 2015–2020 年的模拟历史。",
        "note_path": "时间路径杠杆以其 {year:g} 年值表示:{start:g} 年起线性过渡,路径形状不变。",
        "note_dropped": "对这些目标无影响、未调整的杠杆:{ids}",
        "note_l1": "l2 距离把调整分摊到所有相关杠杆;用 --norm l1 可得到只调整少数杠杆的答案。",
        "tiny": "另有 {k} 个杠杆的调整小于取值范围的 0.005 %(见情景文件)。",
        "note_margin": "余量为达标概率 {p:g} 对应的余量(即 {p:.0%} 的样本余量不低于该值)。",
        "wrote": "已写出", "runs": "次模拟", "time": "用时 {s:.1f} 秒,共 {runs} 次模拟",
        "attr": "情景差异分解:“{a}” − “{b}” 的{indicator}({unit}),目标 {target}",
        "total": "差异合计", "contribution": "贡献 {year}", "share": "占比 {year}(%)",
        "grouped": "(杠杆超过 {k} 个,按部门分组)",
        "most": "{year} 年贡献最大的是“{name}”:{value} {unit}(占差异 {share})。",
        "disc": "情景发现:{folder} 中 {n} 次有效模拟,“{target}”目标{verb}的有 {k} 次({rate})。",
        "none": "没有模拟{verb}该目标:无需寻找条件。", "all": "全部模拟都{verb}该目标:没有可区分的条件。",
        "prim": "PRIM(剥离比例 {alpha:g},最小支撑 {support:.0%}{paste}):", "paste": ",含粘贴",
        "cart": "CART 分类树(深度 {depth}):首个分裂 {split}",
    },
    "en": {
        "seek": "Goal seeking from scenario '{scenario}' for {targets} ({how}; {norm} distance)",
        "det": "deterministic run", "prob": "probability >= {p:g}{joint} over {n} samples of the uncertain inputs, "
                                           "seed {seed}", "joint": " for all targets together",
        "already": "Every target is already met at the start: no lever needs to change.",
        "met": "Met by moving {k} lever(s) ({rest} other lever(s) unchanged):",
        "unreachable": "No setting within the levers' ranges meets every target. Closest reachable point "
                       "(largest smallest margin) below; out of reach: {ids}",
        "lever": "lever", "from": "from", "to": "to", "unit": "unit", "change": "change (% of range)",
        "history": "*", "target": "target", "margin": "margin from → to", "probability": "probability from → to",
        "binds": "binds", "yes": "yes", "no": "",
        "note_history": "* a constant: moving it also changes the simulated 2015-2020 history.",
        "note_path": "A time-path lever is shown by its {year:g} value: the change ramps in linearly from "
                     "{start:g}, the path keeps its shape.",
        "note_dropped": "Levers left alone because they do not move these targets: {ids}",
        "note_l1": "The l2 distance spreads the change over every lever that helps; --norm l1 moves only a few.",
        "tiny": "{k} more lever(s) move by less than 0.005 % of their range (see the scenario file).",
        "note_margin": "Margins are those reached by a share {p:g} of the samples.",
        "wrote": "wrote", "runs": "runs", "time": "{s:.1f} s, {runs} runs",
        "attr": "Attribution of '{a}' - '{b}' in {indicator} ({unit}), target {target}",
        "total": "total difference", "contribution": "contribution {year}", "share": "share {year} (%)",
        "grouped": " (more than {k} levers differ: grouped by sector)",
        "most": "In {year}, '{name}' delivers the most: {value} {unit} ({share} of the difference).",
        "disc": "Scenario discovery on {folder}: {n} valid runs; the target '{target}' is {verb} in {k} runs ({rate}).",
        "none": "No run has the target {verb}: nothing to discover.",
        "all": "Every run has the target {verb}: no condition separates the runs.",
        "prim": "PRIM (peeling alpha {alpha:g}, min support {support:.0%}{paste}):", "paste": ", pasted",
        "cart": "CART tree (depth {depth}): first split {split}",
    },
}


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
    import pandas as pd

    print(pd.DataFrame(rows, columns=heads).to_string(index=False))


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
        frame = result.parts.copy()
        frame.columns = [player_name(p, result, labels, lang) for p in frame.columns]
        frame[words["total"]] = result.total
        frame = frame.join(result.levels)
        csv = folder / f"attribution-{result.target.id}.csv"
        frame.to_csv(csv, encoding="utf-8-sig")
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
    verb = {"zh": {"miss": "未达到", "meet": "达到"}, "en": {"miss": "missed", "meet": "met"}}[lang][outcome]

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
        trajectory.to_csv(folder / f"prim-trajectory-{result.target_id}.csv", index=False, encoding="utf-8-sig")
        boxes = [{"box": k, "input": ident, "name": name_of(ident), "low": low, "high": high,
                  "coverage": b.coverage, "density": b.density, "mass": b.mass}
                 for k, b in enumerate(result.prim.boxes, 1) for ident, (low, high) in b.limits.items()]
        import pandas as pd

        pd.DataFrame(boxes).to_csv(folder / f"prim-boxes-{result.target_id}.csv", index=False, encoding="utf-8-sig")
        (folder / f"cart-{result.target_id}.txt").write_text(
            "\n".join(tree_lines(result.tree, outcome, name_of, lang)) + "\n", encoding="utf-8")
        first = result.prim.boxes[0]
        figure = peeling_chart(result.prim.trajectory, result.prim.chosen[0], name, outcome, lang,
                               final=(first.coverage, first.density))
        written = charts.save(figure, folder / f"prim-trajectory-{result.target_id}")
        print(f"\n{words['wrote']} {folder} ({', '.join(p.name for p in written)}, CSV, TXT)")
    return 0


COMMANDS = {"goalseek": cmd_goalseek, "attribute": cmd_attribute, "discover": cmd_discover}
