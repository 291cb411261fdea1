"""JSON Lines shards: one object per line; the caption (and id) field is chosen from the first line."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa

from wag.corpus.batches import iter_lines, not_utf8, pick_column, record_batch
from wag.corpus.shards import CAPTION_COLUMNS, ID_COLUMNS, CorpusError, Shard


def read_jsonl(
    shard: Shard, batch_size: int, caption_column: str | None, id_column: str | None
) -> Iterator[pa.RecordBatch]:
    """``(sample_id, caption)`` batches of a JSONL shard; a line that is not UTF-8 or not a JSON object is named (a
    byte-order mark before the first line is dropped)."""
    row = 0
    ids: list[str] = []
    caps: list[str] = []
    cap_col, id_col = caption_column, id_column
    with pa.input_stream(str(shard.path), compression="detect") as raw:
        for lineno, data in enumerate(iter_lines(raw), 1):
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise not_utf8(shard, f"line {lineno}", data, exc) from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{shard.path}: line {lineno} is not JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise CorpusError(f"{shard.path}: line {lineno} is not a JSON object")
            if cap_col is None or (row == 0 and caption_column is None):
                cap_col = pick_column(list(obj), caption_column, CAPTION_COLUMNS, "caption", shard)
                if cap_col is None:
                    raise CorpusError(
                        f"{shard.path}: no caption field (looked for {', '.join(CAPTION_COLUMNS)}); fields are: {', '.join(obj)}; pass caption_column="
                    )
                id_col = pick_column(list(obj), id_column, ID_COLUMNS, "id", shard)
            elif caption_column is not None and caption_column not in obj:
                raise CorpusError(f"{shard.path}: line {lineno} has no field {caption_column!r}")
            c = obj.get(cap_col)
            caps.append(c if isinstance(c, str) else "")
            ids.append(str(obj[id_col]) if id_col and obj.get(id_col) is not None else f"{shard.name}:{row}")
            row += 1
            if len(caps) >= batch_size:
                yield record_batch(pa.array(ids, pa.string()), pa.array(caps, pa.string()))
                ids, caps = [], []
    if caps:
        yield record_batch(pa.array(ids, pa.string()), pa.array(caps, pa.string()))
