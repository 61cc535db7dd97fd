"""Each builtin recomputed with Python's math module at every saved time."""

import math
from pathlib import Path

import pandas as pd

rows = {}
for k in range(17):  # FINAL 4, dt 0.25
    t = k * 0.25
    x = t - 2
    rows[t] = {
        "x": x, "min_value": min(x, 0.5), "max_value": max(x, -0.5), "abs_value": abs(x),
        "exp_value": math.exp(x), "ln_value": math.log(t + 1),
        "log_value": math.log(t + 1) / math.log(10), "sqrt_value": math.sqrt(t),
        "power_value": t**1.5, "caret_value": 2**x, "negated_square": -(x**2),
        "integer_value": float(math.trunc(x * 1.3)),
        "modulo_value": math.fmod(x * 3, 2),  # sign of the dividend, as PySD
        "xidz_value": 99.0 if abs(x) < 1e-6 else 1 / x,
        "zidz_value": 0.0 if abs(x) < 1e-6 else 1 / x,
        "arithmetic": 1 - 2 - 3 * x / 4 / 5 + (x - 1) * (x + 1),
        "and_value": float(0 < x <= 1.5), "or_value": float(x < -1 or x == 0),
        "not_value": float(not x >= 0), "not_equal_value": float(x != 1),
    }
frame = pd.DataFrame.from_dict(rows, orient="index")
frame.index.name = "time"
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
