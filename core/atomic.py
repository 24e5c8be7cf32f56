"""Atomic outputs: a result is written under a hidden ``.NAME.partial-PID`` name, then renamed into place.

A write that fails or is interrupted (an exception, Ctrl-C, or SIGTERM once the CLI has turned it into
an exception) removes its partial file or folder. One left behind by a process that was killed outright
(SIGKILL, a crash, power loss) is removed by the next write to the same target, once that process is
gone. Readers therefore never see half a file, and no hidden debris accumulates.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PARTIAL_TAG = ".partial"

__all__ = ["PARTIAL_TAG", "partial_path", "partial_target", "remove_stale_partials"]


_OWNER = re.compile(r"-(\d+)(?:-\d+)?")


def partial_path(target: str | Path) -> Path:
    """The hidden name this process writes ``target`` under: ``.NAME.partial-PID`` beside it.

    Threads other than the main one add their id (``-PID-TID``), so concurrent writers never collide.
    """
    target = Path(target)
    owner = f"-{os.getpid()}"
    if threading.current_thread() is not threading.main_thread():
        owner += f"-{threading.get_native_id()}"
    return target.with_name(f".{target.name}{PARTIAL_TAG}{owner}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_partials(target: str | Path) -> list[Path]:
    """Remove ``.NAME.partial`` / ``.NAME.partial-PID`` entries beside ``target`` whose process is gone.

    Returns what was removed. A partial of a process that still runs (another write in progress) is kept.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    prefix = f".{target.name}{PARTIAL_TAG}"
    removed = []
    try:
        entries = [e for e in parent.iterdir() if e.name.startswith(prefix)]
    except OSError:
        return []
    for entry in entries:
        rest = entry.name[len(prefix) :]
        owner = _OWNER.fullmatch(rest)
        if rest and owner is None:
            continue
        pid = int(owner.group(1)) if owner else None
        if pid is not None and (pid == os.getpid() or _pid_alive(pid)):
            continue
        _remove(entry)
        removed.append(entry)
        log.warning("removed %s, left behind by an interrupted earlier run", entry)
    return removed


@contextmanager
def partial_target(target: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield the partial path to write ``target`` through; the caller renames it onto ``target`` when done.

    Stale partials of ``target`` are removed first. If the block raises anything (including
    ``KeyboardInterrupt``), or ends without renaming, the partial file (or folder, with
    ``directory=True``, created empty) is removed.
    """
    target = Path(target)
    remove_stale_partials(target)
    tmp = partial_path(target)
    if tmp.exists() or tmp.is_symlink():
        _remove(tmp)
    if directory:
        tmp.mkdir(parents=True)
    else:
        tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)
