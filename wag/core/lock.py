"""One writer per output folder: an exclusive lock file that a killed process cannot leave held.

:func:`folder_lock` takes ``<folder>/.wag.lock`` with ``flock`` (released by the kernel when the holder exits, however
it exits) and records who holds it (process id, host, start time, command). A second process finds it held and stops
with one :class:`LockError` line naming the holder. A clean release removes the lock file (and the folder, when the
lock created it and nothing was written), so a lock file found on arrival was left by a process that was killed
(``kill -9``): it is taken over, and reported. Where ``flock`` does not exist the record itself is the lock (created
exclusively; taken over when its process is gone from this host). Re-entrant within one thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wag.core.errors import WagError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: The lock file inside a locked folder (hidden: input fingerprints leave hidden files out).
LOCK_NAME = ".wag.lock"


class LockError(WagError, RuntimeError):
    """Another process is writing the same folder; the message names it and what to do."""


@dataclass
class Lock:
    """A held lock: its file and, when the previous holder was killed without releasing it, that holder's record."""

    path: Path
    stale: dict[str, Any] | None = None

    def describe_stale(self) -> str | None:
        """One line about the taken-over lock (None when the previous holder released it)."""
        if not self.stale:
            return None
        return f"took over the lock {self.path} left by {_holder(self.stale)}, which ended without releasing it"


_HELD: dict[str, tuple[int, int]] = {}  # resolved lock path -> (thread id, depth)
_HELD_GUARD = threading.Lock()


def _record() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:300],
    }


def _holder(rec: dict[str, Any] | None) -> str:
    if not rec:
        return "another process"
    return f"process {rec.get('pid')} on {rec.get('host')} (started {rec.get('started')}: {rec.get('command') or '?'})"


def _read_record(fd: int) -> dict[str, Any] | None:
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 4096)
    try:
        rec = json.loads(data.decode("utf-8")) if data.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _write_record(fd: int, rec: dict[str, Any] | None) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    if rec is not None:
        os.write(fd, json.dumps(rec).encode("utf-8"))
    os.fsync(fd)


def _alive(rec: dict[str, Any]) -> bool:
    """Whether the recorded process runs (always True for another host: it cannot be checked from here)."""
    if rec.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(rec.get("pid", -1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], what: str, *, wait: bool = False) -> Iterator[Lock]:
    """Hold the exclusive lock of ``folder`` (created if missing) while the block runs.

    ``what`` names the writer in the error (e.g. ``study 'x'``). Raises :class:`LockError` when another process holds
    it, or with ``wait`` waits until that process releases it (for a cache that two processes may fill at once: the
    second waits, then finds the first one's result). Yields a :class:`Lock` whose ``stale`` is the record of a killed
    previous holder (or None).
    """
    root = Path(folder)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    key = str(path.resolve())
    me = threading.get_ident()
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            if held[0] != me:
                raise LockError(
                    f"{what} in {root} is already being written by another thread of this process; run one at a time"
                )
            _HELD[key] = (me, held[1] + 1)
    if held is not None:  # re-entered by the thread that holds it
        try:
            yield Lock(path)
        finally:
            with _HELD_GUARD:
                _HELD[key] = (me, _HELD[key][1] - 1)
        return
    try:
        fd, stale = _acquire(path, what, root, wait)
    except BaseException:
        if created:
            _remove_if_empty(root)
        raise
    with _HELD_GUARD:
        _HELD[key] = (me, 1)
    try:
        yield Lock(path, stale)
    finally:
        with _HELD_GUARD:
            _HELD.pop(key, None)
        _release(path, fd)
        if created:
            _remove_if_empty(root)


def _remove_if_empty(root: Path) -> None:
    try:
        root.rmdir()
    except OSError:  # something was written: keep it
        pass


def _acquire(path: Path, what: str, root: Path, wait: bool = False) -> tuple[int, dict[str, Any] | None]:
    busy = f"{what} in {root} is being written by {{holder}}; wait until it finishes, or stop it and run again"
    if fcntl is not None:
        while True:
            path.parent.mkdir(parents=True, exist_ok=True)  # the holder we waited for may have removed it (empty)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                rec = _read_record(fd)
                os.close(fd)
                raise LockError(busy.format(holder=_holder(rec))) from None
            except OSError:
                os.close(fd)
                raise
            try:  # the holder we waited for may have removed the file: lock the one that is there now
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        stale = _read_record(fd)
        _write_record(fd, _record())
        return fd, stale
    stale = None  # pragma: no cover - the record is the lock
    attempts = 0
    while wait or attempts < 2:
        attempts += 1
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            fd = os.open(path, os.O_RDWR)
            rec = _read_record(fd)
            os.close(fd)
            if rec is not None and _alive(rec):
                if wait:
                    time.sleep(0.2)
                    continue
                raise LockError(busy.format(holder=_holder(rec))) from None
            stale = rec
            path.unlink(missing_ok=True)
            continue
        _write_record(fd, _record())
        return fd, stale
    raise LockError(busy.format(holder="another process"))


def _release(path: Path, fd: int) -> None:
    try:
        if fcntl is not None:
            path.unlink(missing_ok=True)  # released cleanly: the next holder finds no file (removed while still held)
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:  # pragma: no cover
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)
