"""The concept counts of the released files (``search_counts/``) as the frequencies table."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from wag.artifacts.files import FREQUENCY_COLUMNS, as_set, check_unknown, concept_key, folder
from wag.artifacts.names import ALIASES, NAMES_VERSION, parse_search_counts_name
from wag.core.cache import cached_table, file_fingerprint
from wag.core.io import InputFileError, read_json


def search_counts_files(root: str | Path) -> pd.DataFrame:
    """One row per ``search_counts`` file: path, dataset, pretraining, method, variant, source_variant."""
    rows = []
    for p in sorted(folder(root, "search_counts").glob("*_search_counts.json")):
        info = parse_search_counts_name(p.name)
        rows.append({"path": str(p), **info.__dict__})
    return pd.DataFrame(rows, columns=["path", "dataset", "pretraining", "method", "variant", "source_variant"])


def _read_counts_file(path: Path) -> dict[str, int]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a JSON object mapping concept -> count, got {type(data).__name__}")
    for name, val in data.items():
        if isinstance(val, bool) or not isinstance(val, (int, float)) or val < 0:
            raise InputFileError(f"{path}: count of {name!r} is {val!r}; counts must be non-negative numbers")
    return data


def _load_counts(files: pd.DataFrame) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {c: [] for c in FREQUENCY_COLUMNS}
    for f in files.itertuples(index=False):
        data = _read_counts_file(Path(f.path))
        n = len(data)
        cols["concept"].extend(data.keys())
        cols["key"].extend(concept_key(name, f.dataset) for name in data)
        cols["count"].extend(int(v) for v in data.values())
        for c in ("dataset", "pretraining", "method", "variant", "source_variant"):
            cols[c].extend([getattr(f, c)] * n)
    df = pd.DataFrame(cols, columns=FREQUENCY_COLUMNS)
    df["count"] = df["count"].astype("int64")
    return df


def read_search_counts(
    root: str | Path,
    *,
    downstream: str | Iterable[str] | None = None,
    pretraining: str | Iterable[str] | None = None,
    method: str | Iterable[str] | None = None,
    variant: str | Iterable[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Concept counts (frequencies contract + ``key``, ``source_variant``), filtered before reading.

    ``downstream``: dataset names (``cifar10``, ``coco``, ``t2i`` ...); ``pretraining``: ``cc3m`` ...;
    ``method``: ``text`` | ``image`` | ``integrated``; ``variant``: ``lemmatized``, ``rampp@0.7`` ...
    Results are cached (Parquet) keyed by the selected files' names, sizes and mtimes.
    """
    files = search_counts_files(root)
    for col, want in (("dataset", downstream), ("pretraining", pretraining), ("method", method), ("variant", variant)):
        wanted = as_set(want)
        check_unknown(wanted, set(files[col]), f"{col} for search counts")
        if wanted is not None:
            files = files[files[col].isin(wanted)]
    if files.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else "object") for c in FREQUENCY_COLUMNS})
    if not cache:
        return _load_counts(files)
    parts = {"v": NAMES_VERSION, "aliases": ALIASES, "files": [(str(p), file_fingerprint(p)) for p in files["path"]]}
    return cached_table("artifacts_search_counts", parts, lambda: _load_counts(files))


def search_counts_coverage(root: str | Path) -> pd.DataFrame:
    """Per count file: how many of the dataset's concepts (union over its files, by key) it has.

    Some released files are incomplete, e.g. every ``yfcc15m_lowercased`` file of birdsnap, fgvcaircraft,
    imagenet-sketch and ucf101 lacks most concepts; ``missing`` counts them so they are not mistaken for zeros.
    """
    counts = read_search_counts(root)
    expected = counts.groupby("dataset")["key"].nunique().rename("n_expected")
    got = (
        counts.groupby(["dataset", "pretraining", "source_variant"])["key"].nunique().rename("n_concepts").reset_index()
    )
    out = got.join(expected, on="dataset")
    out["missing"] = out["n_expected"] - out["n_concepts"]
    return out.sort_values(
        ["missing", "dataset", "pretraining", "source_variant"],
        ascending=[False, True, True, True],
        kind="stable",
        ignore_index=True,
    )
