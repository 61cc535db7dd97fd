"""Errors a user can cause, each carrying a one-line message that says what and where."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a user: the CLI and the app print ``str(error)`` and exit non-zero.

    The message is one line and names the file, key or variable at fault.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ModelError(UserError):
    """The model file is missing, malformed or inconsistent."""


class ScenarioError(UserError):
    """A scenario file or an override is missing, malformed or out of range."""
