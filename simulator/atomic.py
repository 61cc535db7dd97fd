"""Atomic writes: a file or a folder appears whole or not at all, and never replaces what it should not.

Every file the project later reads (results, provenance, calibration, scenario files, reports,
ensemble folders) is written to a hidden ``.NAME.partial-PID`` sibling in the same folder, flushed and
fsynced, then renamed into place. A process killed half-way leaves only such a partial, which the next
write of the same name removes (:func:`clean_stale`) once its process is gone.

A new folder is claimed by an exclusive ``os.mkdir`` before any work: a second writer of the same folder
fails at once, and nothing ever deletes a folder the current process did not create.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from simulator.errors import UserError

_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)(?:\..*)?$")


def partial_name(path: Path, kind: str = "partial") -> Path:
    """The hidden sibling a write of ``path`` stages in (suffix kept, so writers that go by it still work)."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}{path.suffix}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale(path: Path) -> list[Path]:
    """Remove partials of ``path`` left by processes that no longer run; return what was removed."""
    path = Path(path)
    removed = []
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _PARTIAL.match(entry.name)
        if not match or match["name"] != path.name or _alive(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            _fsync_file(Path(root) / name)
        _fsync_dir(Path(root))


def write_files(writers: dict[Path, Callable[[Path], object]]) -> list[Path]:
    """Write several files each through a temporary sibling; rename them into place only when all are done.

    Parameters
    ----------
    writers : dict
        Final path -> ``write(temporary_path)``. If any writer fails, no final file is touched.
    """
    staged: dict[Path, Path] = {}
    try:
        for path, write in writers.items():
            path = Path(path)
            clean_stale(path)
            temp = partial_name(path)
            staged[path] = temp
            write(temp)
            _fsync_file(temp)
        for path, temp in staged.items():
            os.replace(temp, path)
    finally:
        for temp in staged.values():
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    for folder in {p.parent for p in staged}:
        _fsync_dir(folder)
    return list(staged)


def write_file(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write one file atomically: ``write(temporary_path)``, fsync, rename onto ``path``."""
    return write_files({Path(path): write})[0]


def write_bytes(path: str | Path, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically."""
    return write_file(path, lambda temp: temp.write_bytes(content))


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (LF line ends kept as given)."""
    return write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def new_folder(target: str | Path, *, replace: bool = False, param: str = "out") -> Iterator[Path]:
    """Yield a staging folder; when the block succeeds it becomes ``target`` in one rename.

    Without ``replace`` the target is claimed first by an exclusive ``os.mkdir``, so a second writer
    fails before doing any work, and an existing folder is refused. With ``replace`` an existing folder
    is swapped out only after the new one is complete. On failure the staging folder and the claim are
    removed; nothing else is.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise UserError(f"{param} {target}: folder {target.parent} does not exist", param=param)
    stale = clean_stale(target)
    if stale and target.is_dir() and not any(target.iterdir()):
        target.rmdir()  # the empty claim of a writer that was killed
    claimed = False
    if target.exists() and not replace:
        raise UserError(f"{param} {target}: already exists (choose another folder)", param=param)
    if target.exists() and not target.is_dir():
        raise UserError(f"{param} {target}: exists and is not a folder", param=param)
    if not replace:
        try:
            os.mkdir(target)
        except FileExistsError:
            raise UserError(f"{param} {target}: already exists (choose another folder)", param=param) from None
        claimed = True
    staging = partial_name(target)
    staging.mkdir()
    try:
        yield staging
        _fsync_tree(staging)
        if claimed:
            os.rename(staging, target)  # onto our own empty claim; fails if anyone put files in it
        elif target.exists():
            old = partial_name(target, "old")
            os.rename(target, old)
            try:
                os.rename(staging, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if claimed:
            with contextlib.suppress(OSError):
                target.rmdir()  # only if still empty: ours
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and claimed:  # someone wrote into our claim
            raise UserError(f"{param} {target}: another process wrote into it; nothing replaced",
                            param=param) from None
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if claimed:
            with contextlib.suppress(OSError):
                target.rmdir()
        raise
