"""The one zh/en catalogue of user-visible words (``simulator/catalogue.toml``) and its lookup helpers.

Every table, figure, page and command-line message takes its words from here, so one status has one
translation ("met" is 达标 everywhere) and a wrong-script string can be found in one file.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

CATALOGUE = Path(__file__).with_name("catalogue.toml")
LANGS = ("zh", "en")


@functools.cache
def _all() -> dict:
    with open(CATALOGUE, "rb") as f:
        return tomllib.load(f)


def catalogue(section: str):
    """The table of a dotted ``section`` (e.g. ``"app.tab_compare"``): usually ``{"zh": {...}, "en": {...}}``."""
    node = _all()
    for part in section.split("."):
        node = node[part]
    return node


def text(lang: str, key: str, **fields) -> str:
    """The words of a dotted ``key`` whose last-but-one part is the language-free section.

    ``text("en", "lib.assess.status_text.met")`` looks up ``lib.assess.status_text`` -> ``en`` -> ``met``
    and formats it with ``fields``.
    """
    section, _, name = key.rpartition(".")
    words = catalogue(section)[lang][name]
    return words.format(**fields) if fields else words
