"""Reading TOML files that may be hostile: a size cap, a leading BOM accepted, nesting capped.

``tomllib`` recurses once per level of nested arrays or inline tables, so a file of 100 000 ``[``
would end in a ``RecursionError``; the text is scanned first and refused beyond :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from simulator.errors import UserError

#: Deepest nesting of arrays and inline tables accepted (scenario files need 3).
MAX_DEPTH = 32
#: Largest TOML file read [bytes].
MAX_BYTES = 4 * 1024 * 1024
_BOM = "\ufeff"


def nesting_depth(text: str, stop: int = MAX_DEPTH) -> int:
    """Deepest nesting of ``[``/``{`` in values (strings and comments skipped); stops counting past ``stop``."""
    depth = deepest = 0
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            at_line_start = True
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'":
            triple = text.startswith(c * 3, i)
            quote = c * 3 if triple else c
            j = i + len(quote)
            while j < n:
                if c == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if not triple and text[j] == "\n":
                    break
                j += 1
            i = j + len(quote)
            at_line_start = False
            continue
        if at_line_start and depth == 0 and c == "[":
            # a [table] or [[array of tables]] header, not a value
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        at_line_start = False
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop:
                return deepest
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def loads(raw: bytes, where: str, max_bytes: int = MAX_BYTES) -> dict:
    """Parse TOML bytes; every problem (size, encoding, nesting, syntax) is a one-line UserError naming ``where``."""
    if len(raw) > max_bytes:
        raise UserError(f"{where}: file too large ({len(raw):,} bytes; at most {max_bytes:,})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if text.startswith(_BOM):
        text = text[len(_BOM):]  # editors on Windows write one
    if nesting_depth(text) > MAX_DEPTH:
        raise UserError(f"{where}: arrays or tables nested deeper than {MAX_DEPTH} levels")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: malformed TOML: {exc}") from None
    except RecursionError:  # pragma: no cover - the scan above stops this first
        raise UserError(f"{where}: arrays or tables nested too deeply") from None


def load(path: str | Path, where: str | None = None, max_bytes: int = MAX_BYTES) -> tuple[dict, bytes]:
    """Read and parse a TOML file; returns (data, raw bytes). The size is checked before reading."""
    path = Path(path)
    where = where or path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise UserError(f"{where}: file too large ({size:,} bytes; at most {max_bytes:,})")
    raw = path.read_bytes()
    return loads(raw, where, max_bytes), raw
