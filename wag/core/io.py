"""Small, safe file I/O: atomic writes (temp file + rename), JSON/Parquet with clear errors."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.errors import WagError


class InputFileError(WagError, ValueError):
    """An input file is missing or cannot be parsed; the message names the file and the fix."""


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
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~process_umask())
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
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
