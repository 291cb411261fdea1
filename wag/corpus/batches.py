"""What every reader shares: the ``(sample_id, caption)`` record batch, row-number ids and column choice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wag.corpus.shards import CorpusError, Shard


def record_batch(ids: pa.Array, caps: pa.Array) -> pa.RecordBatch:
    """A ``(sample_id, caption)`` batch of strings; null captions become the empty string."""
    caps = caps.cast(pa.string()) if caps.type != pa.string() else caps
    ids = ids.cast(pa.string()) if ids.type != pa.string() else ids
    return pa.RecordBatch.from_arrays([ids, pc.fill_null(caps, "")], names=["sample_id", "caption"])


def row_ids(shard: Shard, start: int, n: int) -> pa.Array:
    """Ids ``<shard file name>:<row>`` of rows ``start .. start + n - 1`` (a shard without an id column)."""
    return pa.array([f"{shard.name}:{i}" for i in range(start, start + n)], pa.string())


def pick_column(
    columns: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str, shard: Shard
) -> str | None:
    """``wanted`` (an error when the shard lacks it), else the first of ``candidates`` present, else None."""
    if wanted is not None:
        if wanted not in columns:
            raise CorpusError(f"{shard.path}: unknown {what} column {wanted!r}; columns are: {', '.join(columns)}")
        return wanted
    for c in candidates:
        if c in columns:
            return c
    return None


def not_utf8(shard: Shard, where: str, data: bytes, exc: UnicodeDecodeError) -> CorpusError:
    """The error of text that is not UTF-8, naming the shard, ``where`` in it (a line, a member) and the first bad byte."""
    line = data.count(b"\n", 0, exc.start) + 1
    col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    at = f"line {line}, column {col}" if line > 1 else f"column {col}"
    return CorpusError(
        f"{shard.path}: {where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at {at}); "
        "re-encode the captions as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
    )


def chunks(it: Iterator[dict], n: int) -> Iterator[list[dict]]:
    """Lists of up to ``n`` items of ``it``."""
    buf: list[dict] = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def iter_lines(raw: Any, block: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a binary stream (without the newline), read in blocks."""
    rest = b""
    while chunk := raw.read(block):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest
