"""Closed forms for DELAY FIXED, TREND and INITIAL under Euler with dt = 0.25.

DELAY FIXED holds round(max(D/dt, 1)) steps: 6 steps for D = 1.5, 1 step for D = 0.1.
TREND's average AV(k+1) = AV(k) + dt*(x(k) - AV(k))/T with x(k) = x0 q^k, q = e^(g dt),
solves to AV(k) = A q^k + (AV0 - A)(1 - dt/T)^k, A = (dt/T) x0 / (q - 1 + dt/T), from
AV0 = x0 / (1 + trend0 * T); TREND = (x - AV) / (T |AV|).
"""

import math
from pathlib import Path

import pandas as pd

dt, g, x0, average_time, trend0 = 0.25, 0.1, 10.0, 2.0, 0.05
q = math.exp(g * dt)
av0 = x0 / (1 + trend0 * average_time)
a = (dt / average_time) * x0 / (q - 1 + dt / average_time)
rows = {}
for k in range(33):  # FINAL 8
    t = k * dt
    x = x0 * math.exp(g * t)
    av = a * q**k + (av0 - a) * (1 - dt / average_time) ** k
    rows[t] = {
        "driver": x, "fixed_delay": (k - 6) * dt if k >= 6 else -1.0,
        "short_fixed_delay": (k - 1) * dt if k >= 1 else 7.0,
        "trend_value": (x - av) / (average_time * abs(av)),
        "initial_driver": x0, "initial_clock": 0.0,
    }
frame = pd.DataFrame.from_dict(rows, orient="index")
frame.index.name = "time"
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
