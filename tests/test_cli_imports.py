"""The CLI's start: building the parser imports no scipy.stats or scipy.optimize (0.9 s together). (The
defaults it shows are defined once, in the light ``calibration`` package, and imported by calibration.fit
and calibration.validate.)"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules_after(code: str) -> set[str]:
    """Top-two-level names of the scipy modules loaded after running ``code`` in a fresh interpreter."""
    code += "\nimport sys\nprint(sorted({'.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith('scipy')}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_building_the_parser_imports_no_scipy():
    loaded = _modules_after("from faces.cli.main import build_parser\nbuild_parser()")
    assert not {m for m in loaded if m.startswith("scipy.")}, loaded


def test_the_calibrate_command_still_imports_its_optimizer():
    """The check above sees scipy when it is there: the calibrate handler's own import brings scipy.optimize."""
    assert "scipy.optimize" in _modules_after("import faces.cli.calibrate\nimport calibration.fit")
