"""Aging chain steady state: each cohort holds births * residence time, every flow = births.

Chain A starts there and must stay; chain B starts empty and must have converged by
t = 1000 (slowest mode (1 - 0.5/30)^2000 ~ 2e-15).
"""

from pathlib import Path

import numpy as np
import pandas as pd

births, years = 3.3, {"children": 7, "adults": 30, "elders": 13}
t = np.array([0.0, 1000.0, 2000.0])
columns = {}
for cohort, residence in years.items():
    columns[cohort] = np.full(3, births * residence)
    columns[f"empty_{cohort}"] = np.array([0.0, births * residence, births * residence])
for flow in ("maturing", "aging", "deaths"):
    columns[flow] = np.full(3, births)
    columns[f"empty_{flow}"] = np.array([0.0, births, births])
frame = pd.DataFrame(columns, index=pd.Index(t, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
