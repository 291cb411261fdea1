"""Class names of the paper's classification sets, in label order, shipped with wag (``classnames.yaml``).

The file is generated once by ``scripts/make_classnames.py`` from CLIP_benchmark (clip-benchmark 1.6.1), a public
upstream, never from the paper's result files, so the harness names classes the same on every machine, with or
without the released files. Sets it does not list keep their own class names.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

CLASSNAMES_PATH = Path(__file__).with_name("classnames.yaml")


@functools.lru_cache(maxsize=1)
def _all() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(CLASSNAMES_PATH.read_text(encoding="utf-8"))
    return {name: tuple(str(c) for c in names) for name, names in data["datasets"].items()}


def classname_sets() -> list[str]:
    """The datasets whose class names wag ships."""
    return sorted(_all())


def package_classnames(dataset: str) -> list[str] | None:
    """The shipped class names of ``dataset`` in label order, or None when wag ships none for it."""
    names = _all().get(dataset)
    return list(names) if names is not None else None
