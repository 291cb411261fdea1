"""Where the project lives on disk: repository root, figures, runs and caches."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The repository root: ``$WAG_ROOT``, else the nearest parent of the cwd or of this package holding ``pyproject.toml`` with a ``wag`` project."""
    env = os.environ.get("WAG_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for cand in (start, *start.parents):
            pp = cand / "pyproject.toml"
            if pp.is_file() and 'name = "wag"' in pp.read_text(encoding="utf-8", errors="ignore"):
                return cand
    return Path.cwd().resolve()


def resolve(path: str | os.PathLike[str]) -> Path:
    """Resolve a path from params: absolute paths stay, relative ones are relative to the project root."""
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else (project_root() / p)


def cache_dir() -> Path:
    """The cache folder (``$WAG_CACHE`` or ``<root>/.cache/wag``); created on demand."""
    p = Path(os.environ["WAG_CACHE"]) if os.environ.get("WAG_CACHE") else project_root() / ".cache" / "wag"
    p.mkdir(parents=True, exist_ok=True)
    return p
