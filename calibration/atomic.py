"""Write a file so that readers see the old content or the whole new one, never a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Permissions of a newly created file (the temporary file mkstemp makes is private, 0600).
_NEW_FILE_MODE = 0o644


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    The bytes go to a temporary file in the same folder (so the rename cannot cross file systems), are
    flushed and fsynced, and the temporary file is renamed over ``path`` with :func:`os.replace`, which is
    atomic on POSIX and Windows. On any error, including KeyboardInterrupt, the temporary file is removed
    and ``path`` keeps its previous content (or stays absent). A process killed between write and rename
    leaves only a hidden ``.<name>.*.tmp`` file beside ``path``, never a partial ``path``.
    """
    path = Path(path)
    folder = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)
    return path


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
