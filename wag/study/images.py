"""The images of a study's corpus, shard by shard, as the tag stage reads them."""

from __future__ import annotations

import io
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError

from wag.corpus import iter_batches, iter_shards
from wag.frequency.tagging import iter_shard_images
from wag.study.spec import StudyError


def shard_images(path: Path | str, c: Any, skip: Container[str] = frozenset()) -> Iterator[tuple[str, Any]]:
    """(sample_id, PIL image) of the samples with an image in one corpus shard (``c``: the study's ``CorpusSpec``),
    except the sample ids in ``skip`` (``study.corpus.exclude``: never opened, so never decoded or tagged)."""
    for shard in iter_shards([str(path)], c.format):
        if shard.fmt == "wds":
            yield from iter_shard_images([shard], skip)
            continue
        if shard.fmt != "parquet" or not c.image_column:
            raise StudyError(
                f"cannot read images of {shard.path}: tagging needs WebDataset shards or Parquet with study.corpus.image_column"
            )
        ids = [
            x
            for b in iter_batches(shard, caption_column=c.caption_column, id_column=c.id_column)
            for x in b.column(0).to_pylist()
        ]
        pf = pq.ParquetFile(shard.path)
        if c.image_column not in pf.schema_arrow.names:
            raise StudyError(
                f"{shard.path}: no image column '{c.image_column}' (columns: {', '.join(pf.schema_arrow.names)}); fix study.corpus.image_column"
            )
        i = 0
        for b in pf.iter_batches(columns=[c.image_column]):
            for v in b.column(0).to_pylist():
                sid = ids[i]
                i += 1
                blob = v.get("bytes") if isinstance(v, dict) else v
                if not blob or str(sid) in skip:
                    continue
                try:
                    yield sid, Image.open(io.BytesIO(blob))
                except UnidentifiedImageError:
                    continue


class Counted:
    """An iterator that counts what passed through it (``n``: the images a tagger read)."""

    def __init__(self, it: Iterator[Any]) -> None:
        self.it, self.n = it, 0

    def __iter__(self) -> Iterator[Any]:
        for x in self.it:
            self.n += 1
            yield x
