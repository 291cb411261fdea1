"""What every reader shares: the ``(sample_id, caption)`` record batch, row-number ids and column choice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
