"""The GPT descriptions of the released files (``gpt_descriptions/<dataset>_descriptions.json``)."""

from __future__ import annotations

from pathlib import Path

from wag.artifacts.locate import PAPER, load_registry
from wag.core.io import InputFileError, read_json


def read_descriptions(root: str | Path, dataset: str) -> dict[str, list[str]]:
    """GPT descriptions per concept of a dataset (``gpt_descriptions/<dataset>_descriptions.json``)."""
    p = Path(root) / "gpt_descriptions" / f"{dataset}_descriptions.json"
    if not p.is_file():
        rel = f"gpt_descriptions/{dataset}_descriptions.json"
        if rel in load_registry(PAPER).missing:
            raise InputFileError(
                f"{p} is one of the files of 4 MB and more missing from the reference copy (see its README)"
            )
        raise InputFileError(f"missing file {p}")
    data = read_json(p)
    out: dict[str, list[str]] = {}
    for name, val in data.items():
        if isinstance(val, dict):
            out[name] = [s for lst in val.values() for s in lst]
        elif isinstance(val, list):
            out[name] = list(val)
        else:
            raise InputFileError(f"{p}: descriptions of {name!r} are {type(val).__name__}, expected a list or mapping")
    return out
