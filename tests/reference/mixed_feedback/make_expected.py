"""Expected values from PySD itself: no closed form exists for this feedback model.

Run from the repository root: ``python tests/reference/mixed_feedback/make_expected.py``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/, for support.run_pysd

from support import run_pysd  # noqa: E402

frame = run_pysd(HERE / "model.mdl")
frame = frame[[c for c in frame.columns if c not in
               ("final_time", "initial_time", "saveper", "time_step")]]
frame.index.name = "time"
frame.to_csv(HERE / "output.csv", float_format="%.17g")
