"""Comparisons of trajectories that figures and the app share (no matplotlib imported here)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["coinciding"]


def coinciding(results: Mapping[str, pd.DataFrame], indicator: str) -> list[list[str]]:
    """Groups of two or more scenarios whose ``indicator`` paths are identical (relative 1e-9)."""
    groups: list[list[str]] = []
    for label, frame in results.items():
        if indicator not in frame.columns:
            continue
        values = frame[indicator].to_numpy(float)
        for group in groups:
            ref = results[group[0]][indicator].to_numpy(float)
            if ref.shape == values.shape and np.allclose(ref, values, rtol=1e-9, atol=0, equal_nan=True):
                group.append(label)
                break
        else:
            groups.append([label])
    return [g for g in groups if len(g) > 1]
