"""Euler's exact step responses of DELAY1 and DELAY3 (n stages of gain a = n*dt/D).

Same algebra as the smooth case: a zero-state unit step applied at step k1 reaches the
output with P(Binomial(k - k1, a) >= n). The input is 5 plus 10 from step k1 = 8.
DELAY3 with D = 0.5 < 3*dt runs with order 2 (PySD lowers it while order*dt > D), so
a = 1 and the output is the input two steps late.
"""

from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

dt, k1 = 0.25, 8
k = np.arange(0, 49)  # FINAL 12


def step_response(m: int, n: int, a: float) -> float:
    if m <= 0:
        return 0.0
    return 1.0 - sum(comb(m, j) * a**j * (1 - a) ** (m - j) for j in range(n))


def delay(n: int, delay_time: float, initial: float) -> np.ndarray:
    a = n * dt / delay_time
    return np.array([initial * (1 - step_response(i, n, a)) + 5 * step_response(i, n, a)
                     + 10 * step_response(i - k1, n, a) for i in k])


frame = pd.DataFrame({"driver": np.where(k >= k1, 15.0, 5.0),
                      "delay1": delay(1, 2, 5), "delay1i": delay(1, 2, 0),
                      "delay3": delay(3, 3, 5), "delay3i": delay(3, 3, 0),
                      "delay3_short": delay(2, 0.5, 5)},
                     index=pd.Index(k * dt, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
