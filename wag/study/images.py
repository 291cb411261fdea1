"""The images of a study's corpus, shard by shard, as the tag stage reads them.

Each image is decoded here (:func:`wag.evaluate.images.open_image`), so an image that cannot be decoded (a truncated
PNG inside a shard) is skipped like a bad image of a test set: it is named (shard and member or sample id, and why)
in the caller's ``bad`` list, which the stage counts in its record and reports in one warning, and is never tagged.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from wag.core.errors import excerpt
from wag.corpus import iter_batches, iter_samples, iter_shards
from wag.evaluate.images import CorruptImageError, open_image
from wag.study.spec import StudyError


def shard_images(
    path: Path | str, c: Any, skip: Container[str] = frozenset(), bad: list[str] | None = None
) -> Iterator[tuple[str, Any]]:
    """(sample_id, decoded RGB image) of the samples with an image in one corpus shard (``c``: the study's
    ``CorpusSpec``), except the sample ids in ``skip`` (``study.corpus.exclude``: never decoded, so never tagged).

    An image that cannot be decoded is left out and named in ``bad`` (``<shard>:<member> (<reason>)``).
    """
    bad = [] if bad is None else bad
    for shard in iter_shards([str(path)], c.format):
        if shard.fmt == "wds":
            for s in iter_samples(shard, with_images=True):
                if "image" in s and str(s["sample_id"]) not in skip:
                    ref = f"{shard.path}:{s.get('image_member') or s['sample_id']}"
                    if (img := _decode(s["image"], ref, bad)) is not None:
                        yield s["sample_id"], img
            continue
        if shard.fmt != "parquet" or not c.image_column:
            raise StudyError(
                f"cannot read images of {shard.path}: tagging needs WebDataset shards or Parquet with study.corpus.image_column"
            )
        yield from _parquet_images(shard, c, skip, bad)


def _parquet_images(shard: Any, c: Any, skip: Container[str], bad: list[str]) -> Iterator[tuple[str, Any]]:
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
            if isinstance(blob, str) or (isinstance(v, dict) and not blob and v.get("path")):
                shown = blob if isinstance(blob, str) else v.get("path")
                raise StudyError(
                    f"{shard.path}: study.corpus.image_column '{c.image_column}' holds text (row {i - 1}: "
                    f"{excerpt(shown)}), not encoded images; store each image file's bytes in the column (binary, "
                    "or Hugging Face {bytes, path} structs with the bytes filled in)"
                )
            if not blob or str(sid) in skip:
                continue
            if (img := _decode(blob, f"{shard.path}:{sid}", bad)) is not None:
                yield sid, img


def _decode(blob: bytes, ref: str, bad: list[str]) -> Any:
    """The decoded image, or None with ``ref`` and the reason added to ``bad``."""
    try:
        return open_image(blob, ref)
    except CorruptImageError as exc:
        reason = str(exc).removeprefix(f"cannot decode image {ref}: ")
        bad.append(f"{ref} ({re.sub(r'<_io.BytesIO object at 0x[0-9a-f]+>', 'the bytes', reason)})")
        return None


class Counted:
    """An iterator that counts what passed through it (``n``: the images a tagger read)."""

    def __init__(self, it: Iterator[Any]) -> None:
        self.it, self.n = it, 0

    def __iter__(self) -> Iterator[Any]:
        for x in self.it:
            self.n += 1
            yield x
