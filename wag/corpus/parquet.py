"""Parquet shards: the caption column (and an id column when there is one), streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from wag.corpus.batches import pick_column, record_batch, row_ids
from wag.corpus.shards import CAPTION_COLUMNS, ID_COLUMNS, CorpusError, Shard


def read_parquet(
    shard: Shard, batch_size: int, caption_column: str | None, id_column: str | None
) -> Iterator[pa.RecordBatch]:
    """``(sample_id, caption)`` batches of a Parquet shard."""
    pf = pq.ParquetFile(shard.path)
    cols = pf.schema_arrow.names
    cap = pick_column(cols, caption_column, CAPTION_COLUMNS, "caption", shard)
    if cap is None:
        raise CorpusError(
            f"{shard.path}: no caption column (looked for {', '.join(CAPTION_COLUMNS)}); columns are: {', '.join(cols)}; pass caption_column="
        )
    idc = pick_column(cols, id_column, ID_COLUMNS, "id", shard)
    row = 0
    for b in pf.iter_batches(batch_size=batch_size, columns=[cap] + ([idc] if idc else [])):
        ids = b.column(idc) if idc else row_ids(shard, row, b.num_rows)
        row += b.num_rows
        yield record_batch(ids, b.column(cap))
