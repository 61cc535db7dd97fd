"""Time builtins with PySD's edge rules, evaluated by hand at each saved time.

STEP switches when t + dt/2 > start; RAMP starts when t + 1e-6 > start; PULSE is on for
start - 1e-6 <= t < start + width; PULSE TRAIN repeats while t < end, on when
(t - start + 1e-6) mod interval < width.
"""

from pathlib import Path

import pandas as pd

dt, small = 0.25, 1e-6
rows = {}
for k in range(41):  # FINAL 10
    t = k * dt
    train = 1 <= t < 8 and (t - 1 + small) % 2 < 0.5
    rows[t] = {
        "step_value": 5.0 * (t + dt / 2 > 2.5), "step_between_steps": 1.0 * (t + dt / 2 > 2.6),
        "ramp_value": 2.0 * (min(4, t) - 1) if t + small > 1 else 0.0,
        "pulse_value": float(3 - small <= t < 4), "zero_width_pulse": 0.0,
        "pulse_train_value": float(train), "time_value": t, "time_step_value": dt,
        "initial_time_value": 0.0, "final_time_value": 10.0,
    }
frame = pd.DataFrame.from_dict(rows, orient="index")
frame.index.name = "time"
frame.to_csv(Path(__file__).with_name("output.csv"), float_format="%.17g")
