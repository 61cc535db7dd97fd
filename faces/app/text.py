"""Words of the page frame and sidebar in Chinese and English (each tab keeps its own words)."""

from __future__ import annotations

from simulator.text import catalogue

LANGS = ("zh", "en")
LANG_NAMES = catalogue("app.frame.lang_names")

#: Tab id -> (Chinese label, English label), in display order.
TABS = catalogue("app.frame.tabs")

TEXT = catalogue("app.text")


def tr(lang: str, key: str, **fields) -> str:
    """The text ``key`` in ``lang``, formatted with ``fields``."""
    text = TEXT[lang][key]
    return text.format(**fields) if fields else text


def tab_label(tab: str, lang: str) -> str:
    """Display label of a tab id."""
    zh, en = TABS[tab]
    return en if lang == "en" else zh


def flat_note(lang: str) -> str:
    """The footnote of a target without sampled uncertainty, for a markdown caption (its leading "*" would
    otherwise start a bullet list)."""
    return tr(lang, "flat_note").replace("*", "\\*", 1)


def with_note(name: str, note, lang: str) -> str:
    """``name`` with a unit or year in brackets: "2025年用水(亿立方米)" in Chinese, "Water 2025 (100m m³)"
    in English (a space before the bracket, as English writes it). No note, no brackets."""
    if note is None or note == "":
        return name
    return f"{name}({note})" if lang == "zh" else f"{name} ({note})"
