"""What the bad-input suites share (``tests/test_bad_inputs*.py``): a command-line case, files written the way a user
would have them (concept lists, corpora, WebDataset shards, a study profile) and the one-line check of stderr."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml


@dataclass
class Case:
    """One bad command line: expected status, words of the message, where output must not appear."""

    argv: list[str]
    code: int
    words: tuple[str, ...]
    out: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress bars (the error line must be alone on stderr), a private cache, no debug tracebacks."""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("WAG_DEBUG", raising=False)


def write(p: Path, content: str | bytes) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return p


def mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def error_line(err: str) -> str:
    """The one ``error: ...`` line of stderr (asserted to be alone)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"stderr is not one line: {err!r}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def warning_lines(err: str) -> list[str]:
    """The ``warning: ...`` lines of stderr (every line of stderr must be one)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert all(ln.startswith("warning: ") for ln in lines), err
    return lines


def concepts_file(tmp: Path, text: str = "dog\ncat\n", name: str = "concepts.txt") -> Path:
    return write(tmp / name, text)


def corpus(tmp: Path) -> Path:
    d = mkdir(tmp / "corpus")
    pd.DataFrame({"sample_id": ["a", "b"], "caption": ["a dog", "a cat"]}).to_parquet(d / "part-0.parquet")
    return d


def count_argv(tmp: Path, *extra: str, corpus_path: Path | None = None, concepts: Path | None = None) -> list[str]:
    """``wag count`` of ``corpus_path`` (default: :func:`corpus`) and ``concepts`` into ``tmp/out``."""
    return [
        "count",
        "--corpus",
        str(corpus_path or corpus(tmp)),
        "--concepts",
        str(concepts or concepts_file(tmp)),
        "--out",
        str(tmp / "out"),
        "--quiet",
        *extra,
    ]


def counts_of(out: Path) -> dict[str, int]:
    """concept -> count of a ``wag count`` output folder."""
    return pd.read_parquet(out / "counts.parquet").set_index("concept")["count"].to_dict()


def png(seed: int, size: int = 32) -> bytes:
    """A PNG of random colours (distinct per ``seed``)."""
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def wds_shard(
    path: Path,
    samples: Sequence[tuple[str, bytes | str, bytes | None]],
    *,
    order: str = "adjacent",
    gz: bool = False,
) -> Path:
    """A WebDataset tar of ``(key, caption, png or None)`` samples: members adjacent, or every ``.txt`` first and the
    images after (``order="txt-first"``, as ``tar cf s.tar *.txt *.png`` makes); gzipped with ``gz``."""
    members: list[tuple[str, bytes]] = []
    for key, cap, img in samples:
        txt = (f"{key}.txt", cap.encode("utf-8") if isinstance(cap, str) else cap)
        pic = [(f"{key}.png", img)] if img is not None else []
        members += [txt, *pic] if order == "adjacent" else [txt]
    if order == "txt-first":
        members += [(f"{key}.png", img) for key, _, img in samples if img is not None]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    return write(path, gzip.compress(data, mtime=0) if gz else data)


def captions(n: int, start: int = 0, images: bool = False) -> list[tuple[str, str, bytes | None]]:
    """``n`` samples ``a dog <i>`` / ``a cat <i>`` (dogs at even i), with images when asked."""
    return [
        (f"{i:05d}", f"a {'dog' if i % 2 == 0 else 'cat'} number {i}", png(i) if images else None)
        for i in range(start, start + n)
    ]


def study_profile(tmp: Path, shards: str = "corpus/*.tar", name: str = "study.yaml", **study: object) -> Path:
    """A profile whose study (root ``tmp``) counts ``shards`` against ``concepts.txt``; ``study`` keys merged in."""
    if not (tmp / "concepts.txt").exists():
        concepts_file(tmp)
    spec: dict[str, object] = {
        "name": "bad",
        "root": str(tmp),
        "output": "study",
        "corpus": {"name": "web", "shards": [shards]},
        "concepts": [{"dataset": "animals", "file": "concepts.txt"}],
        "stages": {"count": {"variants": ["phrase"]}},
    }
    for key, value in study.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}  # type: ignore[dict-item]
        else:
            spec[key] = value
    return write(tmp / name, yaml.safe_dump({"description": "a bad-input study", "study": spec}))
