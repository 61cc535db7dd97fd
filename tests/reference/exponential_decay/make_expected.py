"""Closed form for exponential decay: Inventory(t) = 50 * exp(-t / 4)."""

from pathlib import Path

import numpy as np
import pandas as pd

t = np.arange(0, 10.25, 0.5)  # INITIAL 0, FINAL 10, SAVEPER 0.5
inventory = 50 * np.exp(-t / 4)
frame = pd.DataFrame({"inventory": inventory, "outflow": inventory / 4},
                     index=pd.Index(t, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
