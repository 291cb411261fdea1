"""Results cache keyed by inputs: a table is recomputed only when what it was computed from changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.ids import content_key
from wag.core.io import write_parquet
from wag.core.paths import cache_dir


def file_fingerprint(path: str | Path) -> str:
    """Cheap fingerprint of a file for cache keys: name, size and mtime (ns)."""
    st = Path(path).stat()
    return f"{Path(path).name}:{st.st_size}:{st.st_mtime_ns}"


def cache_path(name: str, parts: dict[str, Any]) -> Path:
    """``<cache>/<name>/<key>.parquet``: where :func:`cached_table` stores the table of ``name`` and ``parts``."""
    return cache_dir() / name / f"{content_key(parts)}.parquet"


def cached_table(
    name: str, parts: dict[str, Any], compute: Callable[[], pd.DataFrame], *, refresh: bool = False
) -> pd.DataFrame:
    """Return ``compute()``, stored as Parquet under ``<cache>/<name>/<key>.parquet`` keyed by ``parts``."""
    path = cache_path(name, parts)
    if path.is_file() and not refresh:
        return pd.read_parquet(path)
    df = compute()
    write_parquet(path, df)
    return df
