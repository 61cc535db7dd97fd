"""An on-disk cache of parsed models and compiled plans, so a second process does not re-parse the .mdl.

Files: ``<cache_dir>/<kind>/<key>.pickle`` (``cache_dir``: ``$JINAN_SD_CACHE`` or ``~/.cache/jinan-sd``, the
folder of the pysd and kernel caches). The key hashes the model file's content and resolved path, the package,
Python, numpy and pysd versions and the source of the parser and the fast engine's translator, so an edited
parser, an upgraded pysd or a changed model never meets a stale entry.

A pickle runs code when it is read, so the trust rules of the kernel cache apply: an entry is read only when it
and its folder belong to the current user and are writable by nobody else; it is written atomically (a private
temporary file in the same folder, then one rename), readable by its owner only. An unreadable, untrusted or
damaged entry is ignored (the model is parsed again); a cache that cannot be written is skipped silently.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

__all__ = ["cache_dir", "key", "read", "trusted", "write"]

#: Set JINAN_SD_PARSE_CACHE=0 to parse every time (e.g. to time the parser).
SWITCH = "JINAN_SD_PARSE_CACHE"


def cache_dir() -> Path:
    """Folder for generated files [``$JINAN_SD_CACHE`` or ``~/.cache/jinan-sd``]."""
    return Path(os.environ.get("JINAN_SD_CACHE") or Path.home() / ".cache" / "jinan-sd")


def enabled() -> bool:
    """False when ``$JINAN_SD_PARSE_CACHE`` is ``0``."""
    return os.environ.get(SWITCH, "1") != "0"


def trusted(path: Path) -> bool:
    """Owned by this user and writable by nobody else (the path and its folder)."""
    try:
        for p in (path, path.parent):
            info = p.stat()
            if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
    except OSError:
        return False
    return True


@lru_cache(maxsize=1)
def _versions() -> str:
    """Package, Python, numpy and pysd versions and a hash of the parser's and translator's source."""
    from importlib import metadata

    import numpy as np

    from simulator._version import __version__

    try:
        pysd_version = metadata.version("pysd")
    except metadata.PackageNotFoundError:  # pragma: no cover - pysd is a dependency
        pysd_version = "none"
    root = Path(__file__).resolve().parent.parent  # the simulator package
    source = hashlib.sha256()
    for folder in (root / "model", root / "engines" / "fast"):
        for file in sorted(folder.rglob("*.py")):
            source.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return "\0".join([__version__, sys.version, np.__version__, pysd_version, source.hexdigest()])


def key(*parts: str) -> str:
    """The cache key of these parts (e.g. model sha256, resolved path) and of every version above."""
    return hashlib.sha256("\0".join([*map(str, parts), _versions()]).encode()).hexdigest()[:40]


def read(kind: str, name: str):
    """The object stored under ``kind/name``, or None (missing, untrusted, damaged or the cache disabled)."""
    if not enabled():
        return None
    path = cache_dir() / kind / f"{name}.pickle"
    if not (path.is_file() and trusted(path)):
        return None
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except Exception:  # noqa: BLE001 - a damaged or outdated entry is a miss, never an error
        return None


def write(kind: str, name: str, value) -> None:
    """Store ``value`` under ``kind/name`` atomically; skipped when the cache folder is not ours or not writable."""
    if not enabled():
        return
    folder = cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not trusted(folder / "."):
            return
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".staging-", suffix=".pickle")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, folder / f"{name}.pickle")  # readers see all of it or none
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return  # a cache we cannot write costs a parse, nothing else
