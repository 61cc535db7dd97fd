"""Piecewise-linear tables, flat beyond the ends (Vensim's rule), written out by hand."""

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd


def table(x: float, points: list) -> float:
    if x <= points[0][0]:
        return points[0][1]
    if x >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    raise AssertionError(x)


effect = [(1, 0.5), (3, 1), (6, 1.8), (8, 2)]
inline = [(1, 4), (2, 1), (4, 3)]
t = np.arange(0, 10.125, 0.25)  # FINAL 10, saved every step
frame = pd.DataFrame({"effect": [table(x, effect) for x in t],
                      "mirrored_effect": [table(5 - x, effect) for x in t],
                      "inline_effect": [table(x / 2, inline) for x in t]},
                     index=pd.Index(t, name="time"))
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
