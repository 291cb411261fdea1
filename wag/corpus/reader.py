"""One entry point for every format: ``(sample_id, caption)`` record batches or plain-dict samples of a shard."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator

import pyarrow as pa

from wag.corpus.jsonl import read_jsonl
from wag.corpus.parquet import read_parquet
from wag.corpus.shards import BATCH_SIZE, FORMATS, CorpusError, Shard
from wag.corpus.tsv import read_tsv
from wag.corpus.webdataset import read_wds, wds_samples


def iter_batches(
    shard: Shard,
    *,
    batch_size: int = BATCH_SIZE,
    caption_column: str | None = None,
    id_column: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream ``(sample_id, caption)`` record batches of one shard; read errors raise :class:`CorpusError` naming the shard."""
    try:
        if shard.fmt == "parquet":
            yield from read_parquet(shard, batch_size, caption_column, id_column)
        elif shard.fmt.startswith("tsv"):
            yield from read_tsv(shard, batch_size, caption_column, id_column)
        elif shard.fmt == "jsonl":
            yield from read_jsonl(shard, batch_size, caption_column, id_column)
        elif shard.fmt == "wds":
            yield from read_wds(shard, batch_size, caption_column)
        else:
            raise CorpusError(f"unknown corpus format {shard.fmt!r}; use one of {', '.join(FORMATS)}")
    except CorpusError:
        raise
    except (OSError, pa.ArrowException, tarfile.TarError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise CorpusError(f"{shard.path}: cannot read {shard.fmt} shard ({type(exc).__name__}: {exc})") from None


def iter_samples(
    shard: Shard, *, caption_column: str | None = None, id_column: str | None = None, with_images: bool = True
) -> Iterator[dict]:
    """Plain-dict samples ``{sample_id, caption[, image, image_ext, meta]}`` of one shard (images: WebDataset only)."""
    if shard.fmt == "wds":
        try:
            yield from wds_samples(shard, caption_column, with_images=with_images)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise CorpusError(f"{shard.path}: cannot read wds shard ({type(exc).__name__}: {exc})") from None
        return
    for b in iter_batches(shard, caption_column=caption_column, id_column=id_column):
        for sid, cap in zip(b.column(0).to_pylist(), b.column(1).to_pylist(), strict=True):
            yield {"sample_id": sid, "caption": cap}
