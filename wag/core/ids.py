"""Names and fingerprints: the one slug, the one content hash, the one file hash.

* :func:`slug`: a name made safe for a file or folder name (letters, digits, ``._-``; the rest ``_``).
* :func:`content_key`: a stable hex key of JSON-serialisable inputs (cache keys, stage input digests).
* :func:`text_hash`: a short hex hash of a string.
* :func:`file_sha256`: the SHA-256 of a file's bytes, streamed (checksums of inputs and downloads).
* :func:`stat_fingerprint` / :func:`tree_fingerprint`: cheap fingerprints (path, size, mtime) of a file or of
  every file under a folder, for keys that must change when a file changes without reading it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: Any, max_len: int = 100) -> str:
    """``text`` as a file-name-safe slug of at most ``max_len`` characters (``x`` when nothing is left)."""
    return _UNSAFE.sub("_", str(text)).strip("_")[:max_len] or "x"


def content_key(obj: Any, length: int = 16) -> str:
    """A stable ``length``-hex key of a JSON-serialisable object (keys sorted; paths and objects stringified)."""
    blob = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def text_hash(text: str, length: int = 12) -> str:
    """A ``length``-hex SHA-256 of a string."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in ``chunk``-byte blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def stat_fingerprint(path: str | Path) -> list[Any]:
    """``[resolved path, size, mtime_ns]`` of a file."""
    p = Path(path)
    st = p.stat()
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


def tree_fingerprint(path: str | Path) -> list[list[Any]]:
    """:func:`stat_fingerprint` of a file, or of every file under a folder (sorted; hidden files left out)."""
    p = Path(path)
    if p.is_file():
        return [stat_fingerprint(p)]
    return [stat_fingerprint(f) for f in sorted(p.rglob("*")) if f.is_file() and not f.name.startswith(".")]
