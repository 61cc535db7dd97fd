"""Generate the compiled kernel of a Plan: one C function; per block of runs, a loop over steps, inside it the lanes.

The same Plan as the numpy backend (:mod:`simulator.engines.fast.codegen`): the same schedule (what
the requested outputs need, what moves, what is a run constant), the same expression source and
the same per-kind templates of :data:`~simulator.engines.fast.statefuls.KINDS` (one
:class:`~simulator.engines.fast.schedule.Schedule` serves both generators), read by
:mod:`.to_c` and written as C. Runs are processed in blocks of :data:`BLOCK` lanes (four AVX-512
registers of doubles): each equation is a statement over the lanes, numpy's pow/exp loops are called
once per block, and :mod:`.fuse` merges the statements between those calls into few loops that the
compiler vectorises, whose values stay in registers (a block array only for a value read outside its
loop); only the saved points of the requested variables are written. Values that depend on time
alone (lookups of time) are computed once per step.
"""

from __future__ import annotations

import re
from pathlib import Path

from simulator.engines.fast.kernel.fuse import Call, Lane, Out
from simulator.engines.fast.kernel.fuse import fuse as fuse_lines
from simulator.engines.fast.kernel.to_c import ARRAY, SCALAR, Unsupported, c_literal, shape, statement, to_c
from simulator.engines.fast.schedule import PATHS, Schedule

__all__ = ["BLOCK", "generate_c"]

# runs per block: four 512-bit vectors of doubles (amortises the calls of numpy's pow/exp loops). Measured,
# one process, interleaved (bench/RESULTS.md, issue 17 second session): N = 10^5 stocks 1.29-1.43 s at 32
# against 1.56-1.60 s at 16 and 1.42 s at 64; one run 206 us against 180 us. Results do not depend on it.
# Again with the fused kernel (third session, CPU time, loaded machine): 16/32/64/128 within the noise.
BLOCK = 32
# override kinds: "value" (one number for all runs), "array" (one per run), "path" (one time path for
# all runs), "rows" (one time path per run; PATHS); numpy computes differently on scalars and arrays
PRELUDE = (Path(__file__).with_name("prelude.c")).read_text(encoding="utf-8")
_PIPE = re.compile(r"^_Pipe\((.*), _dt, (.*), n, _nsteps\)$")
_HELD = re.compile(r"^_Held\((.*), n\)$")


class _Writer:
    """Builds the C source; ``names`` maps the plan's identifiers to short C ones."""

    def __init__(self, plan, sched: Schedule, overrides: dict, variables: list, method: str):
        self.plan, self.sched, self.method = plan, sched, method
        self.variables = variables
        code = plan.code_names
        self.cname = {}  # numpy-source value name -> C identifier
        for i, name in enumerate(plan.elements):
            self.cname[f"v_{code[name]}"] = f"e{i}"
        self.node_name = {name: f"v_{code[name]}" for name in plan.elements}
        for s in sched.statefuls.values():
            self.node_name[s.key] = f"w{s.index}"
            self.cname[f"w{s.index}"] = f"w{s.index}"
        self.values = [n for n, k in overrides.items() if k not in PATHS]
        self.paths = [n for n, k in overrides.items() if k in PATHS]
        self.shapes = {f"P_{code[n]}": SCALAR if k == "value" else ARRAY for n, k in overrides.items()}
        self.shapes.update({f"_path_{code[n]}()": SCALAR if k == "path" else ARRAY
                            for n, k in overrides.items()})
        self.shapes.update({"t": SCALAR, "_dt": SCALAR, "_t0": SCALAR, "_tfinal": SCALAR, "_nsteps": SCALAR})
        self.sources = {f"v_{code[n]}": e.src for n, e in sched.exprs.items()}
        for st in sched.statefuls.values():
            output = st.spec.output(st)
            self.sources[f"w{st.index}"] = output if st.spec.storage != "continuous" else None
        self.param = {f"P_{code[n]}": i for i, n in enumerate(self.values)}
        self.path = {f"_path_{code[n]}()": i for i, n in enumerate(self.paths)}
        self.continuous = [s for s in sched.states if s.spec.storage == "continuous"]
        self.pipes = [s for s in sched.states if s.spec.storage == "discrete"]
        self.held: set = set()  # discrete states that hold a value (SAMPLE IF TRUE), not a ring buffer
        for s in sched.states:
            if s.spec.storage not in ("continuous", "discrete", "none"):
                raise Unsupported(f"stateful storage {s.spec.storage!r}")
        self.stage = {}
        for s in self.continuous:
            for i in range(s.spec.stages(s)):
                self.stage[f"s{s.index}_{i}"] = len(self.stage)
        self.pipe_index = {f"p{s.index}.state": i for i, s in enumerate(self.pipes)}
        self.pipe_output = {f"z{s.index}": i for i, s in enumerate(self.pipes)}
        self.arrays: set = set()  # C names of per-run values: one double per lane of the block
        self.scalars: set = set()  # C names of values equal in every run (time alone), in scope
        self.tables, self.lines, self.pending, self.temps = [], [], [], set()
        self.tvar, self.stage_array, self.counter = "t", "S", 0

    # -- names -------------------------------------------------------------------------------
    def ref(self, name: str) -> str:
        if name == "t":
            return self.tvar
        if name in ("_dt", "_t0", "_tfinal"):
            return {"_dt": "dt", "_t0": "t0", "_tfinal": "tfinal"}[name]
        if name == "_nsteps":
            return f"{self.plan.time.n_steps}.0"
        if name in self.param:
            return f"P[{self.param[name]}L * n + R[j]]"
        if name in self.path:
            i = self.path[name]
            return (f"(path_rows[{i}] == 1 ? k_interp({self.tvar}, paths[{2 * i}], paths[{2 * i + 1}], "
                    f"path_len[{i}]) : k_path_row({self.tvar}, paths[{2 * i}], paths[{2 * i + 1}] + "
                    f"R[j] * path_len[{i}], path_len[{i}]))")
        if name in self.pipe_index:
            return f"D[{self.pipe_index[name]}][j]"
        if name in self.pipe_output:
            return f"D[{self.pipe_output[name]}][j]"
        if name in self.stage:
            return f"{self.stage_array}[{self.stage[name]}][j]"
        c = self.cname.get(name, name)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c):
            raise Unsupported(f"name {name!r}")
        if c in self.scalars or c in self.const_names:
            return c
        if c in self.arrays:
            return f"{c}[j]"
        raise Unsupported(f"{name!r} read before it is computed")

    def shape_of(self, name: str) -> int:
        """What numpy holds under ``name`` (SCALAR, ZERO_D or ARRAY), which decides how ``**`` rounds."""
        if name not in self.shapes:
            src = self.sources.get(name)
            self.shapes[name] = ARRAY  # states, pipes, stateful outputs; also guards recursion
            if src is not None:
                self.shapes[name] = shape(src, self.shape_of)
        return self.shapes[name]

    def table(self, key: str, x: str, extrapolate: bool) -> str:
        if key not in self.plan.tables:
            raise Unsupported(f"table {key!r}")
        if key not in self.tables:
            self.tables.append(key)
        i = self.tables.index(key)
        fn = "k_extrapolate" if extrapolate else "k_interp"
        return f"{fn}({x}, X{i}, Y{i}, {len(self.plan.tables[key][0])})"

    def block_ufunc(self, index: int, args: list, strides: list) -> str:
        """numpy's loop on the whole block: operands gathered into arrays, one call for B runs."""
        pointers = []
        for arg in args:
            simple = re.fullmatch(r"([A-Za-z_]\w*(?:\[\d+\])?)\[j\]", arg)
            if simple:
                pointers.append(simple.group(1))
                continue
            tmp = self.temp()
            self.pending.append(Lane(tmp, arg))
            self.temps.add(tmp)
            pointers.append(tmp)
        result = self.temp()
        self.pending.append(Call(index, pointers, result, strides))
        return f"{result}[j]"

    def temp(self) -> str:
        name = f"u{self.counter}"
        self.counter += 1
        self.arrays.add(name)
        return name

    def vector(self, src: str, level: int) -> str:
        """C expression of ``src`` over lane j, after emitting the block calls it needs."""
        self.pending = []
        expr = to_c(src, self.ref, self.table, self.shape_of, self.block_ufunc)
        for line in self.pending:
            line.level = level
            self.lines.append(line)
        return expr

    def out(self, line: str, level: int):
        self.lines.append("    " * level + line)

    def lane(self, target: str, expr: str, level: int):
        """``target[j] = expr`` for every lane; :func:`.fuse.fuse` later merges them into few loops."""
        self.lines.append(Lane(target, expr, level))

    def assign(self, target: str, src: str, level: int):
        """``target[j] = src`` for every lane (``target`` a C array or ``S[i]``)."""
        self.lane(target, self.vector(src, level), level)

    def define(self, pyname: str, src: str, level: int, scalar: bool = False):
        """A value: one per lane (an array of the block), or one per step when ``scalar``."""
        c = self.cname.get(pyname, pyname)
        if pyname not in self.sources:  # a template's temporary: its shape is its source's
            self.shapes[pyname] = shape(src, self.shape_of)
        if pyname in self.stage:
            return self.assign(f"S[{self.stage[pyname]}]", src, level)
        if scalar:
            self.out(f"const double {c} = {to_c(src, self.ref, self.table, self.shape_of)};", level)
            self.scalars.add(c)
            return None
        expr = self.vector(src, level)
        self.arrays.add(c)
        self.lane(c, expr, level)
        return None

    # -- phases ------------------------------------------------------------------------------
    def init_phase(self, level: int):
        """The initial time for every lane: what the states need, then the run constants."""
        sched, done = self.sched, set()
        self.tvar, self.scalars, self.stage_array = "t0", set(), "S"
        for node in self.plan.init_order:
            if node in sched.init_needed:
                self.init_node(node, level)
                done.add(node)
        for node in self.plan.dyn_order:
            if node in sched.needed and node not in sched.dynamic and node not in done:
                self.value(node, level)

    def value(self, node, level: int, scalar: bool = False):
        sched = self.sched
        if node in sched.exprs:
            if node in sched.literal:
                return
            self.define(self.node_name[node], sched.exprs[node].src, level, scalar)
            return
        s = sched.statefuls[node]
        output = s.spec.output(s)
        if output is not None:
            self.define(self.node_name[node], output, level, scalar)

    def init_node(self, node, level: int):
        sched = self.sched
        if node in sched.exprs:
            return self.value(node, level)
        s = sched.statefuls[node]
        if s.spec.storage == "discrete":
            self.init_pipe(s, level)
            return self.value(node, level)
        for line in s.spec.init(s):
            name, src = statement(line)
            self.define(name, src, level)
        if s.spec.storage == "continuous":
            first = self.stage[f"s{s.index}_0"]
            for i in range(1, s.spec.stages(s)):
                self.lane(f"S[{self.stage[f's{s.index}_{i}']}]", f"S[{first}][j]", level)
        return self.value(node, level)

    def init_pipe(self, s, level: int):
        lines = s.spec.init(s)
        name, src = statement(lines[0])
        match = _PIPE.match(src)
        p = self.pipe_index[f"p{s.index}.state"]
        held = _HELD.match(src)
        if len(lines) != 2 or lines[1].strip() != f"z{s.index} = p{s.index}.state" or not (match or held):
            raise Unsupported(f"discrete state template {lines[0]!r}")
        if held:
            self.held.add(p)
            self.assign(f"D[{p}]", held.group(1), level)
            return
        self.define(f"pd{p}", match.group(1), level)
        self.define(f"pi{p}", match.group(2), level)
        cap = self.plan.time.n_steps + 1
        self.out("for (int j = 0; j < B; j++) {", level)
        self.out(f"double ini = pi{p}[j], ratio = k_max(pd{p}[j] / dt, 1.0);", level + 1)
        self.out("int bad = !isfinite(ratio);", level + 1)
        self.out(f"ORD[{p}][j] = (long)rint((bad ? 1.0 : k_min(ratio, {cap}.0)) + K_SMALL);", level + 1)
        self.out(f"PTR[{p}][j] = 0; BAD[{p}][j] = bad;", level + 1)
        self.out(f"for (long m = 0; m < {cap}; m++) RING({p}, m, j) = ini;", level + 1)
        self.out(f"D[{p}][j] = bad ? NAN : ini;", level + 1)
        self.out("}", level)

    def evaluate(self, level: int, time: str, stage_from, slot: int, first: bool, want: bool):
        """One evaluation of the rates at ``time`` from the stages ``stage_from`` (None: S), into K<slot>."""
        sched, order = self.sched, self.plan.dyn_order
        self.out("{", level)
        level += 1
        self.out(f"const double tt = {time};", level)
        self.tvar, self.scalars = "tt", set()
        extra = [n for n in order if n in sched.needed and n in sched.dynamic and n not in sched.core]
        core = [n for n in order if n in sched.core and n in sched.dynamic]
        for node in core + (extra if want else []):
            if node in sched.uniform:
                self.value(node, level, scalar=True)
        self.stage_array = "S"
        if stage_from is not None and self.stage:
            scale, prev = stage_from
            self.out(f"for (int i = 0; i < {len(self.stage)}; i++) for (int j = 0; j < B; j++) "
                     f"ST[i][j] = S[i][j] + {scale} * K{prev}[i][j];", level)
            self.stage_array = "ST"
        for node in core:
            if node not in sched.uniform:
                self.value(node, level)
        for s in self.continuous:
            temps, derivatives = s.spec.slopes(s)
            for line in temps:
                name, src = statement(line)
                self.define(name, src, level)
            for i, derivative in enumerate(derivatives):
                self.assign(f"K{slot}[{self.stage[f's{s.index}_{i}']}]", derivative, level)
        if first:
            for p, s in enumerate(self.pipes):
                self.assign(f"DIN[{p}]", s.spec.next(s), level)
        if want:
            for node in extra:
                if node not in sched.uniform:
                    self.value(node, level)
            for v, name in enumerate(self.variables):
                expr = self.vector(self.node_name[name], level)
                self.lines.append(Out(f"out[({v}L * NT + js) * n + b0 + j]", expr, level))
        self.out("}", level - 1)
        self.scalars, self.stage_array = set(), "S"

    def step(self, level: int):
        """Advance the block's states by one step (Euler or RK4), clamp, push the pipes."""
        ns = len(self.stage)
        if self.method == "rk4":
            for slot, (time, scale, prev) in enumerate(
                    [("t + half", "half", 1), ("t + half", "half", 2), ("t + dt", "dt", 3)], start=2):
                self.evaluate(level, time, (scale, prev), slot, False, False)
            update = "S[i][j] + dt6 * (((K1[i][j] + 2.0 * K2[i][j]) + 2.0 * K3[i][j]) + K4[i][j])"
        else:
            update = "S[i][j] + K1[i][j] * dt"
        if ns:
            self.out(f"for (int i = 0; i < {ns}; i++) for (int j = 0; j < B; j++) S[i][j] = {update};", level)
        for s in self.continuous:
            if s.non_negative:
                i = self.stage[f"s{s.index}_0"]
                self.out(f"for (int j = 0; j < B; j++) S[{i}][j] = k_max(S[{i}][j], 0.0);", level)
        for p in range(len(self.pipes)):
            if p in self.held:
                self.out(f"for (int j = 0; j < B; j++) D[{p}][j] = DIN[{p}][j];", level)
                continue
            self.out("for (int j = 0; j < B; j++) {", level)
            self.out(f"RING({p}, PTR[{p}][j], j) = DIN[{p}][j];", level + 1)
            self.out(f"PTR[{p}][j] = (PTR[{p}][j] + 1) % ORD[{p}][j];", level + 1)
            self.out(f"D[{p}][j] = BAD[{p}][j] ? NAN : RING({p}, PTR[{p}][j], j);", level + 1)
            self.out("}", level)


def generate_c(plan, overrides: dict, variables: list, method: str, block: int = BLOCK, fuse: bool = True) -> str:
    """C source of ``jsd_kernel`` for these overrides (name -> a kind of :data:`PATHS` or "value"/"array"),
    outputs and method, in blocks of ``block`` runs (1 for a kernel of single runs: no lane computes a
    copy of another's run, and it compiles in a tenth of the time).

    ``fuse=False``: every statement its own loop over the lanes, every value in a block array (the same
    numbers; bench/floor.py counts the operation mix in this form).

    Raises :class:`~simulator.engines.fast.kernel.to_c.Unsupported` for anything it cannot write.
    """
    if method not in ("euler", "rk4"):
        raise Unsupported(f"method {method!r}")
    sched = Schedule(plan, overrides, variables)
    w = _Writer(plan, sched, overrides, variables, method)
    w.const_names = set()
    consts = []
    for name in plan.dyn_order:
        if name in sched.literal and (name in sched.needed or name in sched.init_needed):
            c = w.cname[w.node_name[name]]
            consts.append(f"    const double {c} = {c_literal(sched.exprs[name].literal)};")
            w.const_names.add(c)
    time = plan.time
    body_start = len(w.lines)
    w.out("for (int j = 0; j < B; j++) R[j] = b0 + (j < nb ? j : nb - 1);", 2)
    w.init_phase(2)
    w.out("long js = 0;", 2)
    w.out("for (long k = 0; ; k++) {", 2)
    w.out("const double t = t0 + (double)k * dt;", 3)
    w.out(f"if (k % {time.save_every} == 0) {{", 3)
    w.evaluate(4, "t", None, 1, True, True)
    w.out("js++;", 4)
    w.out("} else {", 3)
    w.evaluate(4, "t", None, 1, True, False)
    w.out("}", 3)
    w.out(f"if (k == {time.n_steps}) break;", 3)
    w.step(3)
    w.out("}", 2)
    if fuse:
        body, stored = fuse_lines(w.lines[body_start:], w.temps)
    else:
        body, stored = [str(line) for line in w.lines[body_start:]], w.arrays
    ns, npipe = max(1, len(w.stage)), max(1, len(w.pipes))
    cap = time.n_steps + 1
    head = [f"#define B {int(block)}", PRELUDE, f"#define NT {time.saved_steps().size}L",
            f"#define RING(p, m, j) ring[(((long)(p)) * {cap}L + (m)) * B + (j)]"]
    for i, key in enumerate(w.tables):
        xs, ys = plan.tables[key][0], plan.tables[key][1]
        head.append(f"static const double X{i}[] = {{{', '.join(c_literal(x) for x in xs)}}};")
        head.append(f"static const double Y{i}[] = {{{', '.join(c_literal(y) for y in ys)}}};")
    slots = 4 if method == "rk4" else 1
    head += [
        "void jsd_kernel(long n, long lo, long hi, const double *P, const double *const *paths,",
        "                const long *path_len, const long *path_rows, double *out) {",
        f"    const double t0 = {c_literal(time.initial)}, dt = {c_literal(time.dt)};",
        f"    const double tfinal = {c_literal(time.final)};",
        "    const double half = dt / 2.0, dt6 = dt / 6.0; (void)half; (void)dt6; (void)tfinal;",
        "    (void)P; (void)paths; (void)path_len; (void)path_rows;",
        *consts,
        f"    double *ring = malloc(sizeof(double) * {npipe}L * {cap}L * B);",
        "    for (long b0 = lo; b0 < hi; b0 += B) {",
        "        const long nb = hi - b0 < B ? hi - b0 : B;",
        f"        double S[{ns}][B], ST[{ns}][B], D[{npipe}][B], DIN[{npipe}][B]; long R[B];",
        f"        long PTR[{npipe}][B], ORD[{npipe}][B]; int BAD[{npipe}][B];",
        "        (void)D; (void)DIN; (void)PTR; (void)ORD; (void)BAD; (void)ST;",
        *[f"        double K{k}[{ns}][B];" for k in range(1, slots + 1)],
        *[f"        double {name}[B];" for name in sorted(w.arrays & stored)],
    ]
    tail = ["    }", "    free(ring);", "}", ""]
    return "\n".join(head + body + tail)
