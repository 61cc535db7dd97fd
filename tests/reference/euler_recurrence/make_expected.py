"""Euler's exact discrete solution: x(k) = x0 * (1 + rate * dt)^k, with dt = 0.5."""

from pathlib import Path

import numpy as np
import pandas as pd

dt = 0.5
k = np.arange(0, 21)  # FINAL 10, saved every step
frame = pd.DataFrame({"grower": (1 + 0.3 * dt) ** k,
                      "decayer": 1000 * (1 - dt / 2.5) ** k},
                     index=pd.Index(k * dt, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
