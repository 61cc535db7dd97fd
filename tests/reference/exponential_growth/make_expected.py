"""Closed form for exponential growth: Population(t) = 100 * exp(0.05 t)."""

from pathlib import Path

import numpy as np
import pandas as pd

t = np.arange(0, 21, 1.0)  # INITIAL 0, FINAL 20, SAVEPER 1
population = 100 * np.exp(0.05 * t)
frame = pd.DataFrame({"population": population, "growth": 0.05 * population,
                      "growth_rate": 0.05, "initial_population": 100.0},
                     index=pd.Index(t, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
