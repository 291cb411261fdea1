"""WebDataset tar shards: members grouped by sample key (``.txt`` / ``.json`` captions, images).

A shard is read whole or not at all: a tar cut short (an interrupted download or copy, plain or compressed) has no
end-of-archive block where its last member ends, and is a :class:`CorpusError` naming the shard, never a silent
prefix of its samples. Members of one sample need not be adjacent in an uncompressed tar (``tar cf s.tar *.txt
*.png`` is read with each sample once: its headers are indexed first); a compressed tar is read in one pass, so there
they must be (the WebDataset convention), else the shard is an error saying how to repack it. Captions are UTF-8: a
caption member in another encoding is an error naming the member, as the same bytes in a TSV or JSONL shard are.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import io
import json
import lzma
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from wag.corpus.batches import chunks, not_utf8, record_batch
from wag.corpus.shards import CAPTION_COLUMNS, CorpusError, Shard

_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")
_BLOCK = tarfile.BLOCKSIZE
#: Magic bytes of the compressions tarfile reads, and their readers (each raises EOFError on a truncated stream).
_COMPRESSED: dict[bytes, Callable[[Any], IO[bytes]]] = {
    b"\x1f\x8b": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    b"BZh": lambda f: bz2.BZ2File(f, "rb"),
    b"\xfd7zXZ\x00": lambda f: lzma.LZMAFile(f, "rb"),
}
_REPACK = "repack it with the members of each sample together, e.g. tar --sort=name -czf new.tar.gz -C unpacked ."
Groups = Iterator[tuple[str, dict[str, tuple[str, bytes]]]]


def _wds_key(name: str) -> tuple[str, str]:
    """WebDataset convention: key = path up to the first dot of the base name; the rest is the extension."""
    d, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{d}/{stem}" if d else stem), ext.lower()


def _cut_short(path: Path, where: str) -> CorpusError:
    return CorpusError(
        f"{path}: the tar shard is cut short ({where}: an interrupted download or copy?); download or copy it again"
    )


def iter_wds_groups(path: str | os.PathLike[str], keep: Callable[[str], bool]) -> Groups:
    """Stream a WebDataset tar as ``(key, {ext: (member name, bytes)})``, reading only members whose ext ``keep`` accepts.

    The key is the path up to the first dot of the base name and the extension is lower-cased. Each sample is yielded
    once, when its last member has been read (see the module docstring for truncated and non-adjacent shards).
    """
    p = Path(path)
    with p.open("rb") as fh:
        magic = fh.read(6)
    opener = next((open_ for m, open_ in _COMPRESSED.items() if magic.startswith(m)), None)
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        raise CorpusError(f"{p}: a zstd-compressed tar cannot be read; decompress it (zstd -d) or recompress with gzip")
    try:
        if opener is None:
            yield from _indexed_groups(p, keep)
        else:
            yield from _streamed_groups(p, keep, opener)
    except (tarfile.ReadError, EOFError) as exc:
        if "empty file" in str(exc):
            raise CorpusError(f"{p}: the tar shard is empty; remove it or download it again") from None
        if isinstance(exc, EOFError) or "unexpected end of data" in str(exc):
            raise _cut_short(p, str(exc)) from None
        raise CorpusError(f"{p}: not a readable tar file ({exc}); check that it is a WebDataset shard") from None


def whole_tar_members(tar: tarfile.TarFile, path: str | os.PathLike[str]) -> list[tarfile.TarInfo]:
    """The file members of an uncompressed tar opened for random access, after checking that it is whole: the block
    where its last member ends is the end-of-archive block (tarfile stops at a cut without a word)."""
    p = Path(path)
    try:
        members = [m for m in tar.getmembers() if m.isfile()]
    except tarfile.ReadError as exc:
        raise _cut_short(p, str(exc)) from None
    raw = tar.fileobj  # the (decompressed) archive
    assert raw is not None
    raw.seek(tar.offset)
    _check_end(p, tar.offset, raw.read(_BLOCK))
    return members


def _indexed_groups(p: Path, keep: Callable[[str], bool]) -> Groups:
    """An uncompressed tar: headers first (cheap seeks), then each sample once, after its last member."""
    with tarfile.open(p, mode="r:") as tar:
        members = [(_wds_key(m.name), m) for m in whole_tar_members(tar, p)]
        last = {key: i for i, ((key, _), _) in enumerate(members)}
        open_groups: dict[str, dict[str, tuple[str, bytes]]] = {}
        for i, ((key, ext), m) in enumerate(members):
            parts = open_groups.setdefault(key, {})
            if keep(ext):
                fh = tar.extractfile(m)
                parts[ext] = (m.name, fh.read() if fh is not None else b"")
            if last[key] == i:
                yield key, open_groups.pop(key)


def _streamed_groups(p: Path, keep: Callable[[str], bool], opener: Callable[[Any], IO[bytes]]) -> Groups:
    """A compressed tar, in one pass: members of a sample must be adjacent; the end-of-archive block is checked."""
    with p.open("rb") as raw, opener(raw) as plain:
        window = _Window(plain)
        with tarfile.open(fileobj=window, mode="r|") as tar:  # type: ignore[call-overload]
            done: set[str] = set()
            cur_key: str | None = None
            cur: dict[str, tuple[str, bytes]] = {}
            for member in tar:
                if not member.isfile():
                    continue
                key, ext = _wds_key(member.name)
                if key != cur_key:
                    if cur_key is not None:
                        done.add(cur_key)
                        yield cur_key, cur
                    if key in done:
                        raise CorpusError(
                            f"{p}: the members of sample {key!r} are not together (a compressed shard is read in one "
                            f"pass, so each sample's members must be adjacent); {_REPACK}"
                        )
                    cur_key, cur = key, {}
                if keep(ext):
                    fh = tar.extractfile(member)
                    cur[ext] = (member.name, fh.read() if fh is not None else b"")
            _check_end(p, tar.offset, window.bytes_at(tar.offset, _BLOCK))
            if cur_key is not None:
                yield cur_key, cur


def _check_end(p: Path, offset: int, block: bytes) -> None:
    """The block where the last member ends must be the end-of-archive block (zeros); anything else is a cut or
    damaged shard (tarfile stops there without a word)."""
    if len(block) < _BLOCK:
        raise _cut_short(p, f"it ends at byte {offset + len(block):,} without the end-of-archive block")
    if block.count(0) != _BLOCK:
        raise CorpusError(
            f"{p}: the tar shard is damaged (an unreadable member header at byte {offset:,}); download or copy it again"
        )


class _Window(io.RawIOBase):
    """A read-only stream over ``raw`` that remembers its last few reads with their offsets (for the end check)."""

    def __init__(self, raw: IO[bytes], keep: int = 4) -> None:
        self.raw, self.pos = raw, 0
        self.recent: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=keep)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        if data:
            self.recent.append((self.pos, data))
            self.pos += len(data)
        return data

    def bytes_at(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` among the recent reads, after reading on to have them if needed."""
        while self.pos < offset + n and self.read(n):
            pass
        out = b"".join(d for _, d in self.recent)
        start = self.recent[0][0] if self.recent else self.pos
        return out[offset - start : offset - start + n] if offset >= start else b""


def wds_samples(shard: Shard, caption_column: str | None, *, with_images: bool) -> Iterator[dict]:
    """Plain-dict samples ``{sample_id, caption[, image, image_ext, image_member, meta]}`` of a WebDataset shard."""

    def keep(ext: str) -> bool:
        return ext in ("txt", "json") or (with_images and "." + ext in _IMAGE_EXT)

    for key, parts in iter_wds_groups(shard.path, keep):
        yield _wds_sample(shard, key, parts, caption_column)


def _text(shard: Shard, member: str, blob: bytes) -> str:
    try:
        return blob.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise not_utf8(shard, f"member {member}", blob, exc) from None


def _wds_sample(shard: Shard, key: str, parts: dict[str, tuple[str, bytes]], caption_column: str | None) -> dict:
    meta: Any = {}
    from_json = caption_column is not None or "txt" not in parts
    if "json" in parts:
        member, blob = parts["json"]
        try:
            meta = json.loads(_text(shard, member, blob))
        except json.JSONDecodeError as exc:
            if from_json:  # the caption lives there: a broken member would silently lose it
                raise CorpusError(
                    f"{shard.path}: member {member} is not valid JSON ({exc}); fix or remove it"
                ) from None
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
    if caption_column is not None:
        cap = meta.get(caption_column, "")
    elif "txt" in parts:
        cap = _text(shard, *parts["txt"])
    else:
        cap = next((meta[c] for c in CAPTION_COLUMNS if isinstance(meta.get(c), str)), "")
    out = {"sample_id": key, "caption": cap if isinstance(cap, str) else ""}
    for ext in ("jpg", "jpeg", "png", "webp"):
        if ext in parts:
            out["image_member"], out["image"] = parts[ext]
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
