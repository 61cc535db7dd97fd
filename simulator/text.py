"""The one zh/en catalogue of user-visible words (``simulator/catalogue.toml``) and its lookup helpers.

Every table, figure, page and command-line message takes its words from here, so one status has one
translation ("met" is 达标 everywhere) and a wrong-script string can be found in one file.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

import numpy as np

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


# ----------------------------------------------------------------------------- units

_UNIT_ATOM = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def unit(units: str, lang: str) -> str:
    """A Vensim unit string (``"CNY100m/Year"``, ``"Dmnl"``) in ``lang`` (亿元/年, 100m yuan/year)."""
    atoms = catalogue("lib.units")[lang]
    if not units:
        return ""
    if units in atoms:
        return atoms[units]
    return _UNIT_ATOM.sub(lambda m: atoms.get(m.group(0), m.group(0)), units)


# ----------------------------------------------------------------------------- model notes

_HISTORY = re.compile(r"\[H:\s*([^@\]]+?)\s*@\s*(\d{4}(?:\s*,\s*\d{4})*)\s*\]")
_SEED = re.compile(r"seed §\s*([0-9N]+)")
_TARGET = re.compile(r"targets\.csv\s+([a-z0-9-]+)")
_CJK_BRACKETS = re.compile(r"\s*[（(][^()（）]*[\u3400-\u9fff][^()（）]*[)）]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff][\u3400-\u9fff0-9%‰.、，“”]*[\u3400-\u9fff%‰0-9”]|[\u3400-\u9fff]")


def note_basis(doc: str, lang: str) -> str:
    """What a value stands on (data, plan, assumption, calibration), as words in ``lang``."""
    words = catalogue("lib.notes")[lang]
    tags = []
    if _HISTORY.search(doc) or "Derived" in doc or "derived" in doc:
        tags.append(words["data"])
    if _SEED.search(doc) or _TARGET.search(doc):
        tags.append(words["plan"])
    if "ASSUMPTION" in doc:
        tags.append(words["assumption"])
    if "CALIBRATED" in doc:
        tags.append(words["calibrated"])
    return words["sep"].join(tags) or words["setting"]


def citations(doc: str, lang: str) -> list[str]:
    """The sources a model note cites, as readable citations in ``lang`` (no ``[H: … @ year]`` markup)."""
    words = catalogue("lib.notes")[lang]
    names = catalogue("lib.notes.history_zh") if lang == "zh" else {}
    years: dict[str, list[str]] = {}
    for name, found in _HISTORY.findall(doc):
        years.setdefault(names.get(name, _CJK_BRACKETS.sub("", name)), []).extend(re.split(r"\s*,\s*", found))
    out = [words["history"].format(name=k, years=words["year_sep"].join(dict.fromkeys(v)))
           for k, v in years.items()]
    out += [words["seed"].format(n=n) for n in dict.fromkeys(_SEED.findall(doc)) if n != "N"]
    out += [words["target"].format(id=t) for t in dict.fromkeys(_TARGET.findall(doc))]
    return out


def readable_note(doc: str, lang: str) -> str:
    """A model note for users: in English the prose with citations written out; in Chinese its basis
    and citations (the prose is English only, so it is not shown there)."""
    words = catalogue("lib.notes")[lang]
    cited = citations(doc, lang)
    if lang == "zh":
        parts = [f"{words['basis']}:{note_basis(doc, lang)}"]
        if cited:
            parts.append(f"{words['sources']}:" + ";".join(cited))
        quotes = _CJK_RUN.findall(doc)
        if quotes:
            parts.append(f"{words['quote']}:" + ";".join(f"“{q}”" for q in dict.fromkeys(quotes)))
        return "  \n".join(parts)
    text = _HISTORY.sub(lambda m: "(" + words["history_short"].format(
        name=_CJK_BRACKETS.sub("", m.group(1)), years=m.group(2)) + ")", doc)
    text = _SEED.sub(lambda m: words["seed"].format(n=m.group(1)), text)
    text = _TARGET.sub(lambda m: words["target"].format(id=m.group(1)), text)
    text = text.replace("ASSUMPTION:", "Assumption:").replace("ASSUMPTION", "assumption")
    text = text.replace("CALIBRATED", "calibrated")
    text = _CJK_BRACKETS.sub("", text)
    text = _CJK_RUN.sub("", text)  # quotes of the Chinese plan: shown on the Chinese page
    text = re.sub(r"[:：]\s*(?=[—(;]|$)", " ", text)
    text = re.sub(r"\(\s*\d{4}\s*\)", "", text)
    text = re.sub(r"\s+;", ";", re.sub(r"\s{2,}", " ", text)).strip()
    return f"{words['basis']}: {note_basis(doc, lang)}  \n{text}"


# ----------------------------------------------------------------------------- numbers

_WHOLE = ("家", "个", "firms", "firm", "units", "年", "year", "人", "persons")


def number(value: float, unit: str = "") -> str:
    """A number for a report: thousands separators; whole numbers for counts and years, one decimal for
    亿元/万人/shares and percentages, otherwise by magnitude (3 significant digits below 10)."""
    if value is None or not np.isfinite(value):
        return "–"
    unit = unit or ""
    if unit.strip() in _WHOLE:
        return f"{value:,.0f}"
    if "/" not in unit and any(u in unit for u in ("亿", "万", "%", "100m", "10k", "‰")):
        return f"{value:,.1f}"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:,.1f}"
    if size >= 10:
        return f"{value:.2f}"
    return f"{value:#.3g}" if size >= 0.001 or value == 0 else f"{value:.2e}"
