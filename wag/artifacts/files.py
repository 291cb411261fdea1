"""What every reader of the released files shares: the table columns, filters, the results-file format, the
reconciled concept key and the Parquet cache keyed by the files read."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from wag.artifacts.errors import ArtifactNameError, ArtifactsRequestError
from wag.artifacts.names import ALIASES, NAMES_VERSION, parse_model_key, reconcile_key
from wag.core.cache import cached_table, file_fingerprint
from wag.core.io import InputFileError, read_json

PERFORMANCE_COLUMNS = [
    "concept",
    "key",
    "dataset",
    "task",
    "model",
    "pretraining",
    "prompt",
    "metric",
    "value",
    "model_key",
]
FREQUENCY_COLUMNS = ["concept", "key", "dataset", "pretraining", "method", "variant", "source_variant", "count"]


def as_set(x: str | Iterable[str] | None) -> set[str] | None:
    """A filter argument (one name, several, or None for all) as a set, or None."""
    if x is None:
        return None
    return {x} if isinstance(x, str) else set(x)


def folder(root: str | Path, sub: str) -> Path:
    """``root/sub``, which must be a folder of the released files."""
    p = Path(root) / sub
    if not p.is_dir():
        raise InputFileError(
            f"{p} is missing: is {root} the folder of the paper's released files (see wag.artifacts.paper_root)?"
        )
    return p


def check_unknown(requested: set[str] | None, available: set[str], what: str) -> None:
    """Refuse a filter naming what the files do not have, listing what they do."""
    if requested is not None and (unknown := requested - available):
        raise ArtifactsRequestError(
            f"unknown {what}: {', '.join(sorted(unknown))}; available: {', '.join(sorted(available))}"
        )


@lru_cache(maxsize=200_000)
def concept_key(name: str, dataset: str) -> str:
    """The join key of a concept name (:func:`wag.artifacts.names.reconcile_key`, cached)."""
    return reconcile_key(name, dataset)


def model_fields(model_key: str, path: Path) -> tuple[str, str]:
    """(architecture, pretraining) of a model key read from ``path``; a malformed key names the file."""
    try:
        return parse_model_key(model_key)
    except ArtifactNameError as exc:
        raise InputFileError(f"{path}: {exc}") from None


def results(path: Path, inner: str) -> dict[str, dict[str, Any]]:
    """A results file: ``{model_key: {"full": x, inner: {concept: value}}}``, validated."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a JSON object of model results, got {type(data).__name__}")
    for mk, res in data.items():
        if not isinstance(res, dict) or not isinstance(res.get(inner), dict):
            raise InputFileError(f"{path}: model {mk!r} has no '{inner}' mapping of concept -> value")
    return data


def performance_rows(
    path: Path, dataset: str, task: str, prompt: Any, metric: str, inner: str, scale: float
) -> list[dict[str, Any]]:
    """Performance-contract rows of one results file (values divided by ``scale``, checked to be in [0, 1])."""
    rows = []
    for mk, res in results(path, inner).items():
        arch, source = model_fields(mk, path)
        for name, val in res[inner].items():
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise InputFileError(f"{path}: value of {name!r} for {mk} is {val!r}, not a number")
            v = float(val) / scale
            if not -1e-9 <= v <= 1 + 1e-9:
                raise InputFileError(f"{path}: value of {name!r} for {mk} is {val!r}, outside the expected range")
            rows.append(
                {
                    "concept": name,
                    "key": concept_key(name, dataset),
                    "dataset": dataset,
                    "task": task,
                    "model": arch,
                    "pretraining": source,
                    "prompt": prompt,
                    "metric": metric,
                    "value": v,
                    "model_key": mk,
                }
            )
    return rows


def cached_rows(name: str, paths: list[Path], compute: Any, cache: bool) -> pd.DataFrame:
    """``compute()``, cached as Parquet keyed by the names version, the aliases and the files' fingerprints."""
    if not cache or not paths:
        return compute()
    return cached_table(
        name, {"v": NAMES_VERSION, "aliases": ALIASES, "files": [(str(p), file_fingerprint(p)) for p in paths]}, compute
    )
