"""One function from a Vensim display name to the canonical id used everywhere else."""

from __future__ import annotations

import re

_KEYWORDS = {"time": "time"}


def canonical_id(name: str) -> str:
    """Return the canonical id of a Vensim element name.

    The id is what pysd calls the element's Python name for the names this project uses:
    lower case, runs of spaces and other non-word characters turned into one underscore.
    ``"R and D Intensity"`` -> ``"r_and_d_intensity"``.

    Parameters
    ----------
    name : str
        Display name as written in the .mdl file (or an id, which maps to itself).
    """
    ident = re.sub(r"[^0-9a-zA-Z_]+", "_", name.strip()).strip("_").lower()
    if ident and ident[0].isdigit():
        ident = "_" + ident
    return _KEYWORDS.get(ident, ident)
