"""WebDataset tar shards: members grouped by sample key (``.txt`` / ``.json`` captions, images)."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable, Iterator

import pyarrow as pa

from wag.corpus.batches import chunks, record_batch
from wag.corpus.shards import CAPTION_COLUMNS, Shard

_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")


def _wds_key(name: str) -> tuple[str, str]:
    """WebDataset convention: key = path up to the first dot of the base name; the rest is the extension."""
    d, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{d}/{stem}" if d else stem), ext.lower()


def iter_wds_groups(
    path: str | os.PathLike[str], keep: Callable[[str], bool]
) -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    """Stream a WebDataset tar as ``(key, {ext: (member name, bytes)})``, reading only members whose ext ``keep`` accepts.

    Members of one sample are adjacent (the WebDataset convention); the key is the path up to the first
    dot of the base name and the extension is lower-cased.
    """
    with tarfile.open(path, mode="r|*") as tar:
        cur_key: str | None = None
        cur: dict[str, tuple[str, bytes]] = {}
        for member in tar:
            if not member.isfile():
                continue
            key, ext = _wds_key(member.name)
            if cur_key is not None and key != cur_key:
                yield cur_key, cur
                cur = {}
            cur_key = key
            if keep(ext):
                fh = tar.extractfile(member)
                cur[ext] = (member.name, fh.read() if fh is not None else b"")
        if cur_key is not None:
            yield cur_key, cur


def wds_samples(shard: Shard, caption_column: str | None, *, with_images: bool) -> Iterator[dict]:
    """Plain-dict samples ``{sample_id, caption[, image, image_ext, meta]}`` of a WebDataset shard."""

    def keep(ext: str) -> bool:
        return ext in ("txt", "json") or (with_images and "." + ext in _IMAGE_EXT)

    for key, parts in iter_wds_groups(shard.path, keep):
        yield _wds_sample(key, {ext: blob for ext, (_, blob) in parts.items()}, caption_column)


def _wds_sample(key: str, parts: dict, caption_column: str | None) -> dict:
    meta = {}
    if "json" in parts:
        try:
            meta = json.loads(parts["json"].decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = {}
    if caption_column is not None:
        cap = meta.get(caption_column, "")
    elif "txt" in parts:
        cap = parts["txt"].decode("utf-8", errors="replace")
    else:
        cap = next((meta[c] for c in CAPTION_COLUMNS if isinstance(meta.get(c), str)), "")
    out = {"sample_id": key, "caption": cap if isinstance(cap, str) else ""}
    for ext in ("jpg", "jpeg", "png", "webp"):
        if ext in parts:
            out["image"] = parts[ext]
            out["image_ext"] = ext
            break
    if meta:
        out["meta"] = meta
    return out


def read_wds(shard: Shard, batch_size: int, caption_column: str | None) -> Iterator[pa.RecordBatch]:
    """``(sample_id, caption)`` batches of a WebDataset shard (images are not read)."""
    for chunk in chunks(wds_samples(shard, caption_column, with_images=False), batch_size):
        yield record_batch(
            pa.array([s["sample_id"] for s in chunk], pa.string()),
            pa.array([s["caption"] for s in chunk], pa.string()),
        )
