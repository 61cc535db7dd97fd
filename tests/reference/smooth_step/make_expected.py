"""Euler's exact step responses of first- and third-order smooths.

n identical first-order stages, each updated y += a * (input - y) with a = n*dt/T, answer
a unit step applied at step k1 (from a zero state) with P(Binomial(k - k1, a) >= n): the
probability that n stages have each passed the signal on within k - k1 steps. The input
is 5 from the start plus 10 from step k1 = 8 (STEP switches when t + dt/2 > 2).
"""

from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

dt, k1 = 0.25, 8
k = np.arange(0, 49)  # FINAL 12


def step_response(m: int, n: int, a: float) -> float:
    """Zero-state response at m steps after a unit step, n stages of gain a."""
    if m <= 0:
        return 0.0
    return 1.0 - sum(comb(m, j) * a**j * (1 - a) ** (m - j) for j in range(n))


def smooth(n: int, smooth_time: float, initial: float) -> np.ndarray:
    a = n * dt / smooth_time
    # Linear system: decay of the initial state + response to 5 from k=0 + 10 from k1.
    # A state starting at `initial` in every stage equals initial * (1 - response to 1).
    return np.array([initial * (1 - step_response(i, n, a)) + 5 * step_response(i, n, a)
                     + 10 * step_response(i - k1, n, a) for i in k])


frame = pd.DataFrame({"driver": np.where(k >= k1, 15.0, 5.0),
                      "smooth1": smooth(1, 3, 5), "smooth1i": smooth(1, 3, 0),
                      "smooth3": smooth(3, 3, 5), "smooth3i": smooth(3, 3, 0)},
                     index=pd.Index(k * dt, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
