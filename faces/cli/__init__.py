"""The ``jinan-sd`` command: one module per group of commands, each with ``add_parsers`` and runners.

``python -m faces.cli`` is the same command.
"""

from faces.cli.main import main

__all__ = ["main"]
