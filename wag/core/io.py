"""Small, safe file I/O: atomic writes (temp file + rename), JSON/Parquet with clear errors.

Every temporary file or folder is created next to its target (so the final rename never crosses a filesystem), is
named ``.<target name>.<8 random characters>.tmp`` (:func:`clean_temp_files` finds the ones a killed process left
behind) and ends with the mode a plain ``open()`` / ``mkdir()`` gives under the process umask. A full disk is one
:class:`DiskFullError` naming the file that could not be written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.errors import WagError


class InputFileError(WagError, ValueError):
    """An input file is missing or cannot be parsed; the message names the file and the fix."""


class DiskFullError(WagError, OSError):
    """The disk (or quota) is full while writing a file; the message names the file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.message = f"no space left on the device writing {path}; free some space or write to another folder"
        super().__init__(errno.ENOSPC, self.message, str(path))

    def __str__(self) -> str:
        return self.message


#: Suffix of every temporary file or folder :func:`atomic_path` and :func:`atomic_dir` create.
TEMP_SUFFIX = ".tmp"
#: Names of those temporaries: ``.<target name>.<8 random characters of tempfile>.tmp``.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk or quota is full (OS errors, and Arrow's, which carry the errno in the text)."""
    if not isinstance(exc, OSError):
        return False
    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc)


def _disk_full(path: Path) -> DiskFullError:
    return DiskFullError(path)


def _temp_name(final: Path) -> tuple[str, str]:
    return f".{final.name}.", TEMP_SUFFIX


def clean_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of :func:`atomic_path` / :func:`atomic_dir` under ``folder`` (left by a killed process);
    returns what was removed. Call it only where no other process writes (e.g. under a :mod:`wag.core.lock`)."""
    root = Path(folder)
    if not root.is_dir():
        return []
    found = [p for p in root.rglob(f"*{TEMP_SUFFIX}") if _TEMP_NAME.match(p.name)]
    removed = []
    for p in sorted(found, key=lambda q: len(q.parts)):  # a temporary folder before what it holds
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink(missing_ok=True)
        else:
            continue  # inside a temporary folder removed above
        removed.append(p)
    return removed


def process_umask() -> int:
    """The process umask (read from ``/proc`` where possible: ``os.umask`` has to set it to read it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``, on error delete it.

    Nothing half-written is ever visible under the final name. The file gets the mode a plain ``open()``
    would give it (``0o666`` minus the process umask), not the ``0o600`` of :func:`tempfile.mkstemp`.
    """
    final = Path(path)
    prefix, suffix = _temp_name(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=final.parent)
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(final) from None
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~process_umask())
        os.replace(tmp_path, final)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        if is_disk_full(exc) and not isinstance(exc, DiskFullError):
            raise _disk_full(final) from None
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success it replaces ``path`` (an existing folder there is
    removed first), on error it is deleted. The folder gets the mode of a plain ``mkdir()`` (``0o777`` minus the
    umask, not the ``0o700`` of :func:`tempfile.mkdtemp`); being a sibling, its rename never crosses a filesystem."""
    final = Path(path)
    prefix, suffix = _temp_name(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=final.parent))
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(final) from None
        raise
    try:
        os.chmod(tmp, 0o777 & ~process_umask())
        yield tmp
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        elif final.exists() or final.is_symlink():
            final.unlink()
        os.replace(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(exc) and not isinstance(exc, DiskFullError):
            raise _disk_full(final) from None
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write bytes."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write JSON (indented, keys in insertion order)."""
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read JSON; a missing file or a parse error raises :class:`InputFileError` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"missing file {p}")
    try:
        with p.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"corrupt JSON in {p}: {exc}; fix or re-create the file") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p} is not UTF-8 text: {exc}") from None


def write_parquet(path: str | os.PathLike[str], df: pd.DataFrame) -> Path:
    """Atomically write a DataFrame as Parquet (no index)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


#: Significant digits of floats in written CSV tables: enough for every reported quantity, few enough that
#: last-digit noise of floating-point sums (thread count, summation order, CPU kernels) cannot change a file.
CSV_SIGNIFICANT_DIGITS = 10


def write_csv(path: str | os.PathLike[str], df: pd.DataFrame, *, digits: int = CSV_SIGNIFICANT_DIGITS) -> Path:
    """Atomically write a DataFrame as CSV (no index), floats with ``digits`` significant digits (``%.{digits}g``)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=f"%.{digits}g")
    return Path(path)
