"""The floor of the compiled kernel: a fused microkernel with the model's operation mix per step.

It counts, in the generated kernel of a plan, the operations of one evaluation of the rates
(divisions, other arithmetic, calls of numpy's pow/exp loops on a block, scalar lookups) and
runs a synthetic kernel that does exactly as many per step and run, on 16 accumulators that stay
in registers or L1, in the same blocks of runs and with the same compiler flags: no memory
traffic, no dependency stalls the model does not have. The compiled backend's time over this
floor is its overhead.
"""

from __future__ import annotations

import re

from simulator.engines.fast.kernel.codegen_c import BLOCK, PRELUDE, generate_c


def operation_mix(plan, variables, kinds: dict | None = None) -> dict:
    """Operations per step and run in one Euler evaluation of the rates (the non-saving branch).

    ``kinds``: the override kinds of the benchmarked batch (name -> "value"/"array"/...), as the compiled
    backend compiles them: a lever that is one number per run is an operand read from memory, and an
    ``exp``/``pow`` of it is a call on every lane, where a lever left at its value is a literal (and an
    ``exp`` of time alone is computed once per step for all runs).
    """
    source = generate_c(plan, dict(sorted((kinds or {}).items())), list(variables), "euler",
                        fuse=False)  # one statement a line
    body = source[source.index("} else {"):source.index("if (k == ")]
    loops = [line for line in body.splitlines() if "for (int j = 0; j < B; j++)" in line]
    text = "\n".join(line.split("] = ", 1)[-1] for line in loops)
    return {"division": text.count(" / "), "arithmetic": len(re.findall(r" [-+*] ", text)),
            "pow": body.count("k_v2(0,"), "unary": [int(i) for i in re.findall(r"k_v1\((\d+),", body)],
            "lookup": body.count("k_interp(") + body.count("k_extrapolate(")}


def floor_source(mix: dict, steps: int) -> str:
    """C source of a ``jsd_kernel`` doing ``mix`` per step and run (same signature as the real one)."""
    lines = [f"#define B {BLOCK}", PRELUDE,
             "static const double XS[] = {0.0, 1.0, 2.0, 3.0}, YS[] = {1.0, 0.5, 0.25, 0.125};",
             "void jsd_kernel(long n, long lo, long hi, const double *P, const double *const *paths,",
             "                const long *path_len, const long *path_rows, double *out) {",
             "    (void)P; (void)paths; (void)path_len; (void)path_rows;",
             "    for (long b0 = lo; b0 < hi; b0 += B) {",
             "        double a[16][B], u[B];",
             "        for (int i = 0; i < 16; i++) for (int j = 0; j < B; j++) a[i][j] = 1.0 + 1e-3 * (i + j);",
             f"        for (long k = 0; k < {steps}; k++) {{",
             "            const double t = 0.01 * k;"]
    arithmetic = max(0, mix["arithmetic"] - mix["pow"] - len(mix["unary"]))
    for i in range(arithmetic // 2):  # a multiply-add pair: two operations, no FMA (contraction off)
        x, y = i % 16, (i + 5) % 16
        lines.append(f"            for (int j = 0; j < B; j++) a[{x}][j] = a[{x}][j] * 0.5 + a[{y}][j] * 0.5;")
    for i in range(mix["division"]):
        x, y = i % 16, (i + 3) % 16
        lines.append(f"            for (int j = 0; j < B; j++) a[{x}][j] = a[{y}][j] / (a[{x}][j] + 1.0);")
    for i in range(mix["pow"]):
        x, y = i % 16, (i + 7) % 16
        lines.append(f"            k_v2(0, a[{x}], a[{y}], u, 8L, 8L);")
        lines.append(f"            for (int j = 0; j < B; j++) a[{x}][j] = u[j] * 0.5 + 0.5;")
    for i, index in enumerate(mix["unary"]):  # the same numpy loops (exp, log, ...) as the model's
        lines.append(f"            k_v1({index}, a[{i % 16}], u);")
        lines.append(f"            for (int j = 0; j < B; j++) a[{i % 16}][j] = u[j] * 0.25;")
    for i in range(mix["lookup"]):
        lines.append(f"            a[{i % 16}][0] += k_interp(t, XS, YS, 4);")
    lines += ["        }",
              "        for (long j = 0; j < B && b0 + j < hi; j++) out[b0 + j] = a[0][j] + a[15][j];",
              "    }", "}", ""]
    return "\n".join(lines)
