"""Class descriptions for the ``descriptions`` prompt style (CuPL-style prompts), read only from a declared input:
a JSON file the user names, or the paper's released descriptions asked for by name (:data:`PAPER_DESCRIPTIONS`),
located through :mod:`wag.artifacts` (a clear error when they cannot be found). Never read implicitly.

A descriptions file is one JSON object: class name -> list of descriptions, or class name -> {group: [descriptions]}
(the layout of the paper's ``gpt_descriptions/<dataset>_descriptions.json``, whose groups are concatenated). One file
may cover the classes of several datasets. A class is looked up by its exact name, else by its reconciled key
(:func:`wag.artifacts.normalize_name`: case, ``_``/``-`` and apostrophes ignored).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wag.artifacts import normalize_name, paper_root, read_descriptions
from wag.core.errors import WagError
from wag.core.io import read_json

#: The value of ``--descriptions`` / ``evaluate.zeroshot.descriptions`` that selects the paper's released descriptions.
PAPER_DESCRIPTIONS = "paper"
_HOW = (
    "pass --descriptions FILE (a JSON object: class name -> list of descriptions) or --descriptions paper "
    "(the paper's released gpt_descriptions; profile key evaluate.zeroshot.descriptions)"
)


class DescriptionsError(WagError, ValueError):
    """The descriptions prompt style has no descriptions, or the ones given do not cover the classes."""


def read_descriptions_file(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The descriptions of a JSON file (see the module docstring), checked: every value a list of strings."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DescriptionsError(f"descriptions file {p} not found; {_HOW}")
    data = read_json(p)  # a parse error names the file (InputFileError)
    if not isinstance(data, dict) or not data:
        raise DescriptionsError(f"descriptions file {p} must hold a non-empty JSON object: class name -> descriptions")
    out: dict[str, list[str]] = {}
    for name, val in data.items():
        texts = [s for group in val.values() for s in group] if isinstance(val, dict) else val
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise DescriptionsError(
                f"descriptions file {p}: the descriptions of {name!r} are not a list of strings; give "
                "class name -> [descriptions] (or class name -> {group: [descriptions]})"
            )
        out[str(name)] = list(texts)
    return out


def check_descriptions_source(source: str, profile: Any = None) -> None:
    """At the door: the file exists and parses, or the paper's released files can be located."""
    if source == PAPER_DESCRIPTIONS:
        paper_root(profile)  # ArtifactsMissingError names the ways to provide them
    else:
        read_descriptions_file(source)


def load_descriptions(source: str, dataset: str, profile: Any = None) -> dict[str, list[str]]:
    """The descriptions of ``dataset`` from ``source``: a JSON file, or :data:`PAPER_DESCRIPTIONS` (the paper's
    ``gpt_descriptions/<dataset>_descriptions.json``, found by :func:`wag.artifacts.paper_root`)."""
    if source == PAPER_DESCRIPTIONS:
        return read_descriptions(paper_root(profile), dataset)
    return read_descriptions_file(source)


def descriptions_for(
    classnames: Sequence[str], descriptions: Mapping[str, Sequence[str]], dataset: str
) -> list[list[str]]:
    """The descriptions of each class, in class order; a class without any is an error naming it."""
    by_key = {normalize_name(k): v for k, v in reversed(list(descriptions.items()))}  # the first spelling wins
    out = [list(descriptions.get(c) or by_key.get(normalize_name(c)) or []) for c in classnames]
    missing = [c for c, texts in zip(classnames, out) if not texts]
    if missing:
        raise DescriptionsError(
            f"no descriptions for {len(missing)} of the {len(classnames)} classes of '{dataset}' (e.g. {missing[:3]}); "
            "give a descriptions file that covers them, or use another prompt style"
        )
    return out
