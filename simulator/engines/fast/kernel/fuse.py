"""Fuse the kernel's statements over the lanes of a block into few loops whose values stay in registers.

:mod:`.codegen_c` writes every per-run value as a statement over the block's lanes
(:class:`Lane`: ``target[j] = expr`` for j < B) and every call of numpy's pow/exp loops as a
:class:`Call` on whole block arrays. Written one loop per statement, each value is a round trip
through its block array (~300 arrays of B doubles: more than L1). This pass, per *region* (the
statements between two plain C lines, e.g. one evaluation of the rates):

- schedules: every call as early as its operands allow (so independent calls share one boundary
  between loops) and every statement as late as its readers allow (so it lands in the loop that
  reads it);
- aliases plain copies (``e0 = w0 = S[0]``): readers read the source;
- hoists what is the same in every lane out of the loops: a call of the C library's pow or of a
  scalar numpy loop on run-independent operands, and a call's scalar operand (numpy reads element 0
  of an operand with stride 0, so one double does);
- writes each run of statements between calls as one loop over the lanes in which every value is a
  ``const double`` local; only a value read outside its loop (by a call, a later loop or region, a
  later step, the saved outputs) is also stored to its block array.

Every lane still computes the same operations on the same operands in the same order (statements
are only moved past statements they do not read or write), so not a bit changes; the equality
tests check that. A statement with a call gcc does not vectorise (a table lookup's search, the C
library's pow on per-run values, ...) gets a loop of its own, so it does not keep a whole fused
loop scalar.
"""

from __future__ import annotations

import re

__all__ = ["Call", "Lane", "Out", "fuse"]

_NAME = re.compile(r"[A-Za-z_]\w*")
# a read of a block array in lane j: ``e15[j]`` or ``S[3][j]`` (the name is ``e15`` or ``S[3]``)
_READ = re.compile(r"(?<![\w\]])([A-Za-z_]\w*(?:\[\d+\])?)\[j\]")
_COPY = re.compile(r"([A-Za-z_]\w*(?:\[\d+\])?)\[j\]")
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
# calls gcc inlines and vectorises across lanes (prelude.c and <math.h>)
_VECTOR_CALLS = {"k_min", "k_max", "k_zidz", "k_xidz", "k_quantum", "k_modulo", "k_step", "k_ramp", "k_pulse",
                 "k_nanadd", "k_nanmul", "fabs", "sqrt", "trunc", "isnan"}
LOCAL = "L_"  # prefix of a fused loop's scalar copy of a value (its block array keeps the plain name)
HOISTED = "H"  # names of run-independent values hoisted out of the lane loops: H0, H1, ...


class Lane:
    """``target[j] = expr`` for every lane j of the block (``target`` a C name, or ``S[i]``-like)."""

    __slots__ = ("target", "expr", "level")

    def __init__(self, target: str, expr: str, level: int = 0):
        self.target, self.expr, self.level = target, expr, level

    def reads(self) -> list:
        return _READ.findall(self.expr)

    def vectorisable(self) -> bool:
        return all(name in _VECTOR_CALLS for name in _CALL.findall(self.expr))

    def __str__(self) -> str:  # its own loop (the unfused form)
        return "    " * self.level + f"for (int j = 0; j < B; j++) {self.target}[j] = {self.expr};"


class Out(Lane):
    """A saved point: ``target = expr`` for the block's lanes that are runs (j < nb); ``target`` reads j."""

    __slots__ = ()

    def vectorisable(self) -> bool:
        return False  # its own loop: it stops at nb, and its target is not a block array

    def __str__(self) -> str:
        return "    " * self.level + f"for (int j = 0; j < nb; j++) {self.target} = {self.expr};"


class Call:
    """numpy's loop ``index`` on whole block arrays: ``result = f(args)`` with numpy's strides."""

    __slots__ = ("index", "args", "result", "strides", "level")

    def __init__(self, index: int, args: list, result: str, strides: list, level: int = 0):
        self.index, self.args, self.result, self.strides, self.level = index, list(args), result, strides, level

    def reads(self) -> list:
        return [a for a in self.args if not a.startswith("&")]

    def __str__(self) -> str:
        if len(self.args) == 1:
            text = f"k_v1({self.index}, {self.args[0]}, {self.result});"
        else:
            text = (f"k_v2({self.index}, {self.args[0]}, {self.args[1]}, {self.result}, {self.strides[0]}, "
                    f"{self.strides[1]});")
        return "    " * self.level + text


def _regions(lines: list) -> list:
    """Plain lines as they are; maximal runs of Lane/Call statements of one level as lists."""
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
        elif out and isinstance(out[-1], list) and out[-1][-1].level == line.level:
            out[-1].append(line)
        else:
            out.append([line])
    return out


def _hoist(expr: str, consts: list, count: list) -> str:
    """``expr`` with each outermost non-vectorised call that reads no per-run value replaced by a name."""
    out, i = [], 0
    while True:
        match = _CALL.search(expr, i)
        if match is None:
            return "".join(out) + expr[i:]
        start, depth, k = match.start(), 0, match.end() - 1
        for k in range(match.end() - 1, len(expr)):
            depth += {"(": 1, ")": -1}.get(expr[k], 0)
            if depth == 0:
                break
        call = expr[start:k + 1]
        if match.group(1) in _VECTOR_CALLS or "[j]" in call:
            out.append(expr[i:match.end()])
            i = match.end()
            continue
        name = f"{HOISTED}{count[0]}"
        count[0] += 1
        consts.append(f"const double {name} = {call};")
        out.append(expr[i:start] + name)
        i = k + 1


def _reorderable(ops: list) -> bool:
    """True when each target is written once and never read before it is written (moving is then safe)."""
    written = set()
    targets = [op.target if isinstance(op, Lane) else op.result for op in ops]
    if len(set(targets)) != len(targets):
        return False
    for op, target in zip(ops, targets, strict=True):
        if any(name in set(targets) - written for name in op.reads()):
            return False
        written.add(target)
    return True


def _schedule(ops: list, consts: list, temps: set, count: list) -> list:
    """The region's statements in fusing order: a list of segments (lists of Lane) and Calls/barriers."""
    # aliases of plain copies: a reader of ``e0`` reads what ``e0`` copies, when that does not change
    # (only reads after the copy are redirected; the source is not written in the region, or before the copy)
    targets = {op.target if isinstance(op, Lane) else op.result: op for op in ops}
    alias, seen = {}, set()
    for op in ops:
        if isinstance(op, Lane):
            op.expr = _READ.sub(lambda m: f"{alias.get(m.group(1), m.group(1))}[j]", op.expr)
            copy = _COPY.fullmatch(op.expr)
            if copy and _NAME.fullmatch(op.target) and (copy.group(1) not in targets or copy.group(1) in seen):
                alias[op.target] = copy.group(1)
            seen.add(op.target)
        else:
            op.args = [alias.get(a, a) for a in op.args]
            seen.add(op.result)
    # a call's scalar operand (stride 0: numpy reads element 0) of a temporary that reads no lane: one double
    scalar = {}
    for op in ops:
        if isinstance(op, Call):
            for i, (arg, stride) in enumerate(zip(op.args, op.strides, strict=False)):
                source = targets.get(arg)
                if stride == "0L" and arg in temps and isinstance(source, Lane) and "[j]" not in source.expr:
                    scalar[arg] = source
                    op.args[i] = f"&{arg}"
    for name, source in scalar.items():
        consts.append(f"const double {name} = {source.expr};")
    ops = [op for op in ops if not (isinstance(op, Lane) and op.target in scalar)]
    for op in ops:
        if isinstance(op, Lane) and not isinstance(op, Out):
            op.expr = _hoist(op.expr, consts, count)
    if not _reorderable(ops):
        return _in_order(ops)
    barrier = [isinstance(op, Call) or not op.vectorisable() for op in ops]
    producer = {op.target if isinstance(op, Lane) else op.result: i for i, op in enumerate(ops)}
    # earliest place: a barrier at boundary k runs before segment k; a statement in segment s
    early = []
    for i, op in enumerate(ops):
        need = 0
        for name in op.reads():
            p = producer.get(name)
            if p is not None:
                need = max(need, early[p] + (0 if barrier[p] or not barrier[i] else 1))
        early.append(need)
    # latest place of a statement: the segment of its first reader (the one before a barrier reader)
    last = max(early, default=0)
    place = list(early)
    readers = {i: [] for i in range(len(ops))}
    for i, op in enumerate(ops):
        for name in op.reads():
            if name in producer:
                readers[producer[name]].append(i)
    for i in reversed(range(len(ops))):
        if barrier[i]:
            continue
        place[i] = min((place[r] - (1 if barrier[r] else 0) for r in readers[i]), default=last)
    out = []
    for k in range(max(place, default=0) + 1):
        out += [op for i, op in enumerate(ops) if barrier[i] and place[i] == k]
        segment = [op for i, op in enumerate(ops) if not barrier[i] and place[i] == k]
        if segment:
            out.append(segment)
    return out


def _in_order(ops: list) -> list:
    """The statements as written: neighbouring vectorisable ones in one segment (a target once per segment)."""
    out, names = [], set()
    for op in ops:
        if isinstance(op, Call) or not op.vectorisable():
            out.append(op)
        elif out and isinstance(out[-1], list) and op.target not in names:
            out[-1].append(op)
            names.add(op.target)
        else:
            out.append([op])
            names = {op.target}
    return out


def fuse(lines: list, temps: set) -> tuple[list, set]:
    """C lines of the kernel body from plain lines, Lanes and Calls; and the names that need a block array.

    ``temps``: the names of the calls' gathered operands (read by their call only).
    """
    body, count = [], [0]
    for region in _regions(lines):
        if isinstance(region, str):
            body.append(region)
            continue
        consts = []
        items = _schedule(region, consts, temps, count)
        indent = "    " * region[0].level
        body += [indent + line for line in consts] + items
    while True:  # drop values nobody reads (copies whose readers now read the source), then look again
        stored, dropped = _stored(body), 0
        for k, item in enumerate(body):
            if isinstance(item, list):
                kept, later = [], set()
                for lane in reversed(item):
                    if not _NAME.fullmatch(lane.target) or lane.target in stored or lane.target in later:
                        kept.append(lane)
                        later.update(lane.reads())
                dropped += len(item) - len(kept)
                body[k] = kept[::-1]
        body = [item for item in body if item != []]
        if not dropped:
            break
    out = []
    for item in body:
        if isinstance(item, (str, Call, Lane)):
            out.append(str(item))
            continue
        out += _loop(item, stored)
    return out, stored


def _level(item) -> int:
    if isinstance(item, str):
        return (len(item) - len(item.lstrip(" "))) // 4
    return (item[0] if isinstance(item, list) else item).level


def _stored(body: list) -> set:
    """Names whose value is read outside the loop that computes it: they need their block array.

    A value computed at nesting level L is read only inside its scope, from the plain line of a lower
    level before it to the one after it: the generated code reads no value of one evaluation of the
    rates outside its braces (a step reads only the states, slopes and pipes, which are always arrays;
    a read earlier in the braces would be the previous step's value, and counts), and a run constant
    of the initial phase is read anywhere later in the block's loop.
    """
    reads, defs = {}, []  # name -> positions of reads from its block array; (name, position)
    for i, item in enumerate(body):
        if isinstance(item, str):
            found = _NAME.findall(item)
        elif isinstance(item, list):
            found, defined = [], set()
            for lane in item:
                found += [name for name in lane.reads() if name not in defined]
                defined.add(lane.target)
                defs.append((lane.target, i))
        else:
            found = item.reads()
            defs.append((item.target if isinstance(item, Lane) else item.result, i))
        for name in found:
            reads.setdefault(name, []).append(i)
    levels = [_level(item) for item in body]
    start, end, seen = [0] * len(body), [len(body)] * len(body), {}
    for i, item in enumerate(body):  # the plain line of a lower level before i, and after i
        start[i] = max((p + 1 for level, p in seen.items() if level < levels[i]), default=0)
        if isinstance(item, str):
            seen[levels[i]] = i
    seen = {}
    for i in reversed(range(len(body))):
        end[i] = min((p for level, p in seen.items() if level < levels[i]), default=len(body))
        if isinstance(body[i], str):
            seen[levels[i]] = i
    stored = {name for name, i in defs if not isinstance(body[i], list)}  # their own loop writes the array
    for name, i in defs:
        if name not in stored and any(start[i] <= r < end[i] for r in reads.get(name, ())):
            stored.add(name)
    return stored


def _loop(segment: list, stored: set) -> list:
    """One loop over the lanes computing ``segment``, its values as locals, stored only where needed."""
    indent = "    " * segment[0].level
    body, local = [], set()
    for lane in segment:
        expr = _READ.sub(lambda m: LOCAL + m.group(1) if m.group(1) in local else m.group(0), lane.expr)
        if not _NAME.fullmatch(lane.target):
            body.append(f"{lane.target}[j] = {expr};")
            continue
        body.append(f"const double {LOCAL}{lane.target} = {expr};")
        local.add(lane.target)
        if lane.target in stored:
            body.append(f"{lane.target}[j] = {LOCAL}{lane.target};")
    if not body:
        return []
    if len(body) == 1:
        return [f"{indent}for (int j = 0; j < B; j++) {body[0]}"]
    return [f"{indent}for (int j = 0; j < B; j++) {{", *[f"{indent}    {line}" for line in body], f"{indent}}}"]
