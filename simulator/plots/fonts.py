"""Find a font that draws Chinese for matplotlib, registering it if matplotlib lacks it."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

#: CJK families in order of preference; Simplified Chinese first.
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Sarasa Gothic SC",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "SimHei",
    "Noto Sans CJK TC",
    "Noto Sans CJK HK",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Droid Sans Fallback",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "SimSun",
)
#: Message of :class:`FontNotFoundError`.
INSTALL_HINT = (
    "no font with Chinese glyphs found for the charts: install fonts-noto-cjk "
    "(Debian/Ubuntu: sudo apt-get install fonts-noto-cjk)"
)
# Latin fallback for the rare glyph a CJK font lacks; matplotlib ships it.
_LATIN_FALLBACK = "DejaVu Sans"
# File names of CJK font files, to find fonts installed after matplotlib built its cache.
_CJK_FILE = re.compile(
    r"cjk|sourcehan|notosanssc|notoserifsc|wqy|wenquanyi|droidsansfallback|sarasa|simhei|simsun"
    r"|msyh|yahei|pingfang|hiragino|stheiti|uming|ukai",
    re.IGNORECASE,
)
# Characters every chart font must have: the common ones of our labels.
_PROBE = "中国济南年份目标人口"


class FontNotFoundError(RuntimeError):
    """No CJK-capable font is installed; the message says how to install one."""


@dataclass(frozen=True)
class CJKFont:
    """A font family matplotlib can find by name, and one file of it."""

    family: str
    path: str

    def families(self) -> list[str]:
        """Family list for ``Text.set_fontfamily``: the CJK font, then a Latin fallback."""
        return [self.family, _LATIN_FALLBACK]


def is_cjk_font(path: str | Path) -> bool:
    """True if the font file at ``path`` has glyphs for common Chinese characters."""
    try:
        font = font_manager.get_font(str(path))
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(char)) for char in _PROBE)


def find_cjk_font(
    manager: font_manager.FontManager | None = None,
    system_fonts: Iterable[str] | None = None,
    persist: bool = True,
) -> CJKFont:
    """Return the preferred CJK-capable font known to matplotlib.

    If matplotlib's font list holds none (fonts installed after its cache was built), CJK font
    files among the system fonts are added to it and, for matplotlib's own font manager, the
    cache file is rewritten so that the next process finds them at once.

    Parameters
    ----------
    manager : matplotlib.font_manager.FontManager, optional
        Default: matplotlib's ``fontManager``.
    system_fonts : iterable of str, optional
        Font files to consider; default ``matplotlib.font_manager.findSystemFonts()``.
    persist : bool
        Rewrite matplotlib's font cache after adding fonts to its own font manager.

    Returns
    -------
    CJKFont

    Raises
    ------
    FontNotFoundError
        With a one-line message telling the user to install fonts-noto-cjk.
    """
    manager = font_manager.fontManager if manager is None else manager
    found = _preferred(manager)
    if found is not None:
        return found
    known = {entry.fname for entry in manager.ttflist}
    paths = font_manager.findSystemFonts() if system_fonts is None else system_fonts
    added = False
    for path in paths:
        if _CJK_FILE.search(Path(path).name) and path not in known:
            try:
                manager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # an unreadable file is simply not a candidate
            added = True
    found = _preferred(manager)
    if found is None:
        raise FontNotFoundError(INSTALL_HINT)
    if added and persist and manager is font_manager.fontManager:
        _save_cache(manager)
    return found


def _preferred(manager: font_manager.FontManager) -> CJKFont | None:
    by_family: dict[str, list] = {}
    for entry in manager.ttflist:
        by_family.setdefault(entry.name, []).append(entry)
    others = sorted(name for name in by_family if "CJK" in name and name not in PREFERRED_FAMILIES)
    for family in (*PREFERRED_FAMILIES, *others):
        # Regular weight first: its path is the one worth reporting.
        entries = sorted(by_family.get(family, []), key=lambda entry: _weight_distance(entry))
        for entry in entries:
            if is_cjk_font(entry.fname):
                return CJKFont(family, entry.fname)
    return None


def _weight_distance(entry: font_manager.FontEntry) -> int:
    weight = entry.weight if isinstance(entry.weight, int) else 400
    return abs(weight - 400)


def _save_cache(manager: font_manager.FontManager) -> None:
    # Same file name matplotlib itself reads at import (matplotlib.font_manager._load_fontmanager).
    cache = Path(mpl.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
    with contextlib.suppress(OSError):  # a read-only cache only costs a rescan next time
        font_manager.json_dump(manager, cache)
