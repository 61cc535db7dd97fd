"""Graphviz DOT text of the model's structure: the named loops, stocks and flows, a variable's neighbours."""

from __future__ import annotations

from faces.app import structure

LOOP_COLOURS = (
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
)
GREY = "#b0b0b0"


def header(rankdir: str = "TB") -> str:
    return (
        "digraph G {\n  graph [rankdir=" + rankdir + ', bgcolor="transparent", nodesep=0.3, ranksep=0.4, '
        'fontname="Noto Sans CJK SC"];\n'
        '  node [fontname="Noto Sans CJK SC", fontsize=14, margin="0.1,0.05"];\n'
        '  edge [fontname="Noto Sans CJK SC", fontsize=12, arrowsize=0.8];\n'
    )


def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node(model, labels, eid: str, lang: str, bold: bool = False) -> str:
    kind = model.elements[eid].kind
    style = {
        "stock": 'shape=box, style="filled,rounded", fillcolor="#dbe9f6"',
        "constant": 'shape=plaintext, fontcolor="#555555"',
        "time_path": 'shape=plaintext, fontcolor="#555555"',
    }.get(kind, 'shape=ellipse, style=filled, fillcolor="#f7f7f7"')
    name = structure.display_name(model, labels, eid, lang)
    tooltip = f"{eid} [{model.elements[eid].units}]"
    width = ", penwidth=2.2" if bold else ""
    return f"  {_q(eid)} [label={_q(name)}, tooltip={_q(tooltip)}, {style}{width}];\n"


def loop_colour(index: int) -> str:
    return LOOP_COLOURS[index % len(LOOP_COLOURS)]


def loops_dot(model, labels, lang: str, chosen: list[str], only_chosen: bool = False) -> str:
    """Every named loop's variables (or only the chosen loops'); the chosen loops' links coloured and
    labelled with the loop id."""
    loops = structure.loops()
    colour = {loop["id"]: loop_colour(i) for i, loop in enumerate(loops)}
    edges: dict[tuple[str, str], list[str]] = {}
    for loop in loops:
        for edge in structure.loop_edges(loop):
            edges.setdefault(edge, []).append(loop["id"])
    in_chosen = {v for loop in loops if loop["id"] in chosen for v in loop["variables"]}
    shown = [loop for loop in loops if loop["id"] in chosen] if only_chosen else loops
    nodes = dict.fromkeys(v for loop in shown for v in loop["variables"] if v in model.elements)
    text = header() + "".join(_node(model, labels, v, lang, v in in_chosen) for v in nodes)
    labelled: set[str] = set()
    for (a, b), ids in edges.items():
        if a not in nodes or b not in nodes:
            continue
        hot = [i for i in ids if i in chosen]
        if hot:
            label = ""
            if hot[0] not in labelled:
                labelled.add(hot[0])
                label = f", label={_q(hot[0])}, fontcolor={_q(colour[hot[0]])}"
            text += (
                f"  {_q(a)} -> {_q(b)} [color={_q(':'.join(colour[i] for i in hot))}, penwidth=2.2"
                f"{label}, tooltip={_q(' '.join(ids))}];\n"
            )
        else:
            text += f"  {_q(a)} -> {_q(b)} [color={_q(GREY)}, tooltip={_q(' '.join(ids))}];\n"
    return text + "}\n"


def stock_flow_dot(model, labels, lang: str, groups: set[str], chosen: list[str]) -> str:
    """Stocks (boxes), their in- and outflows, and the stocks and flows each flow depends on (dashed)."""
    sector = {k: g for k, (_, g) in structure.equations(model).items()}
    flows = structure.flows(model)
    stocks = [s for s in flows if sector.get(s) in groups]
    flow_ids = {f for s in stocks for f, _ in flows[s]}
    every_flow = {f for fl in flows.values() for f, _ in fl}
    stop = set(flows) | every_flow
    hot_edges = {}
    for i, loop in enumerate(structure.loops()):
        if loop["id"] in chosen:
            members = set(loop["variables"])
            hot_edges[loop["id"]] = (members, loop_colour(i))

    def edge_colour(a: str, b: str) -> str | None:
        for members, colour in hot_edges.values():
            if a in members and b in members:
                return colour
        return None

    nodes: dict[str, None] = dict.fromkeys([*stocks, *flow_ids])
    lines = []
    for stock in stocks:
        for flow, sign in flows[stock]:
            a, b = (flow, stock) if sign == "+" else (stock, flow)
            colour = edge_colour(a, b) or ("#1f77b4" if sign == "+" else "#d62728")
            lines.append(f"  {_q(a)} -> {_q(b)} [color={_q(colour)}, penwidth=2.6, arrowhead=normal];\n")
    for target in [*flow_ids, *(s for s in stocks if not flows[s])]:
        for cause in sorted(structure.influences(model, target, stop)):
            if cause in flow_ids and any(f == target for f, _ in flows.get(cause, [])):
                continue
            nodes.setdefault(cause, None)
            colour = edge_colour(cause, target)
            style = f"color={_q(colour)}, penwidth=1.8" if colour else f"color={_q(GREY)}"
            lines.append(f"  {_q(cause)} -> {_q(target)} [style=dashed, {style}];\n")
    body = "".join(_node(model, labels, n, lang) for n in nodes)
    return header() + body + "".join(dict.fromkeys(lines)) + "}\n"


def neighbourhood_dot(model, labels, lang: str, centre: str, depth: int) -> str:
    """What ``centre`` depends on (left) and what depends on it (right), ``depth`` links each way."""
    graph = structure.deps(model)
    users: dict[str, set[str]] = {}
    for node, causes in graph.items():
        for cause in causes:
            users.setdefault(cause, set()).add(node)
    edges: set[tuple[str, str]] = set()
    nodes = {centre}
    for links, forward in ((graph, False), (users, True)):
        frontier = {centre}
        for _ in range(depth):
            nxt = set()
            for node in frontier:
                for other in links.get(node, ()):
                    if (
                        other == node
                        or other not in model.elements
                        or model.elements[other].kind == "control"
                    ):
                        continue
                    edges.add((node, other) if forward else (other, node))
                    if other not in nodes:
                        nxt.add(other)
                    nodes.add(other)
            frontier = nxt
    text = header("LR") + "".join(_node(model, labels, n, lang, n == centre) for n in sorted(nodes))
    text += "".join(f"  {_q(a)} -> {_q(b)};\n" for a, b in sorted(edges))
    return text + "}\n"
