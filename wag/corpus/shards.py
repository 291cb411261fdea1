"""Corpus shards: the formats wag reads, format detection from file names, and shard discovery."""

from __future__ import annotations

import glob as globmod
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wag.core.errors import WagError

FORMATS = ("parquet", "tsv", "tsv-cc3m", "tsv-cc12m", "tsv-yfcc15m", "jsonl", "wds")
CAPTION_COLUMNS = ("caption", "TEXT", "text", "txt", "Text", "caption_text")
ID_COLUMNS = ("key", "sample_id", "id", "SAMPLE_ID", "__key__")
TSV_LAYOUTS = {"tsv-cc3m": ("caption", "url"), "tsv-cc12m": ("url", "caption"), "tsv-yfcc15m": ("url", "caption")}
_EXT = {".parquet": "parquet", ".pq": "parquet", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".tar": "wds"}
BATCH_SIZE = 65_536


class CorpusError(WagError, ValueError):
    """A corpus path, format, column or shard cannot be read; the message names the path and the reason."""


@dataclass(frozen=True)
class Shard:
    """One file of a corpus and its format."""

    path: Path
    fmt: str

    @property
    def name(self) -> str:
        return self.path.name


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a shard from its file name (``.gz``/``.zst`` compression allowed for tsv and jsonl)."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst", ".bz2"):
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _EXT:
        return _EXT[suffixes[-1]]
    raise CorpusError(
        f"cannot tell the format of {p} from its name; pass fmt= one of {', '.join(FORMATS)} (CLI: --format)"
    )


def iter_shards(
    path_or_glob: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], fmt: str | None = None
) -> list[Shard]:
    """The shards of a corpus: a file, a folder (its known shard files, recursively), a glob or a list of those, sorted."""
    if fmt is not None and fmt not in FORMATS:
        raise CorpusError(f"unknown corpus format {fmt!r}; use one of {', '.join(FORMATS)}")
    items = [path_or_glob] if isinstance(path_or_glob, (str, os.PathLike)) else list(path_or_glob)
    files: list[Path] = []
    for item in items:
        s = str(item)
        p = Path(s)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".") and _known(f, fmt))
            if not found:
                raise CorpusError(
                    f"folder {p} holds no shard files ({', '.join(sorted(_EXT))}); check the path or pass fmt="
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise CorpusError(f"corpus path {p} is not a regular file (a FIFO or device); give shard files or a folder")
        elif any(c in s for c in "*?["):
            found = sorted(Path(f) for f in globmod.glob(s, recursive=True) if Path(f).is_file())
            if not found:
                raise CorpusError(f"no files match {s}; check the pattern")
            files.extend(found)
        else:
            raise CorpusError(f"corpus path {p} does not exist; give a shard file, a folder of shards or a glob")
    seen: set[Path] = set()
    shards = []
    for f in files:
        if f in seen:
            continue
        seen.add(f)
        shards.append(Shard(f, fmt or detect_format(f)))
    return shards


def _known(f: Path, fmt: str | None) -> bool:
    try:
        found = detect_format(f)
    except CorpusError:
        return False
    return fmt is None or found == fmt or (found == "tsv" and fmt.startswith("tsv"))
