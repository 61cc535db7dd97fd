"""Errors a user can cause, each carrying a one-line message that says what and where.

The library names the *parameter* at fault, never a command-line flag or a widget: an error about
the argument ``levers`` reads ``levers: unknown lever 'x'`` and carries ``param="levers"``; each face
words it for its users (the CLI as ``--levers: ...``, see :func:`UserError.worded`).
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a user: the CLI and the app print the message and exit non-zero.

    Parameters
    ----------
    message : str
        One line naming the file, key, variable or parameter at fault.
    param : str, optional
        The library parameter the message starts with (``"levers"``, ``"n"``, ``"out"``), so a face can
        replace it with its own name for that input.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(" ".join(str(message).split()))
        self.param = param

    def worded(self, names: dict | None = None, default=None) -> str:
        """The message with its leading parameter name replaced by a face's name for it.

        ``names`` maps parameter -> face name; ``default(param)`` names parameters not in it.
        """
        text = str(self)
        if not self.param or not text.startswith(self.param):
            return text
        rest = text[len(self.param):]
        if rest[:1] not in (":", " ", ""):
            return text
        name = (names or {}).get(self.param) or (default(self.param) if default else self.param)
        return name + rest


class ModelError(UserError):
    """The model file is missing, malformed or inconsistent."""


class ScenarioError(UserError):
    """A scenario file or an override is missing, malformed or out of range."""
