"""Spearman correlations of concept frequencies between pretraining sets (paper Tab. 4).

Two joins are offered:

* ``join="name"`` (correct): the count vectors of two pretraining sets are aligned on the concept's
  normalised name (``key`` column, else ``concept``). A concept shared by several downstream sets is
  counted once (first occurrence in the paper's file order).
* ``join="paper_position"`` (the paper's notebook, reproduced for comparison): per pretraining set the
  concepts are listed in the paper's order (files sorted by file name, keys in file order, first
  occurrence of a raw concept string kept) and two sets' vectors are aligned **by position**, the longer one
  truncated. When the two lists differ, unrelated concepts are compared.
"""

from __future__ import annotations

from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from wag.analysis.errors import AnalysisError

JOINS = ("name", "paper_position")
TABLE4_COLUMNS = ["count_type", "pretraining_a", "pretraining_b", "spearman", "n_concepts", "join", "p"]


def _name_col(freq: pd.DataFrame) -> str:
    return "key" if "key" in freq.columns else "concept"


def paper_order(freq: pd.DataFrame, name: str = "concept") -> pd.DataFrame:
    """Rows of one pretraining set in the paper's order, one row per ``name`` (first occurrence).

    Files were listed with ``sorted()`` over names ``<dataset>_<pretraining>_...``, so datasets sort by
    ``"<dataset>_"`` (e.g. ``cifar100_`` before ``cifar10_``); rows keep their order within a dataset.
    """
    df = freq.reset_index(drop=True).assign(_row=lambda d: np.arange(len(d)))
    df["_file"] = df["dataset"].astype(str) + "_"
    df = df.sort_values(["_file", "_row"], kind="stable")
    df = df.drop_duplicates(subset=[name], keep="first")
    return df.drop(columns=["_row", "_file"])


def _pair(a: pd.DataFrame, b: pd.DataFrame, join: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    if join == "name":
        m = a[[name, "count"]].merge(b[[name, "count"]], on=name, suffixes=("_a", "_b"))
        return m["count_a"].to_numpy(float), m["count_b"].to_numpy(float)
    n = min(len(a), len(b))
    return a["count"].to_numpy(float)[:n], b["count"].to_numpy(float)[:n]


def spearman_matrix(
    freq: pd.DataFrame,
    *,
    count_type: str,
    join: Literal["name", "paper_position"] = "name",
    variant: str | None = None,
    pretrainings: list[str] | None = None,
) -> pd.DataFrame:
    """Spearman ρ of concept counts for every pair of pretraining sets (Tab. 4 contract, long form).

    ``freq`` is a frequencies table (``concept[, key], dataset, pretraining, method, variant, count``);
    rows with ``method == count_type`` are used. If that method has several variants (e.g. tagger
    thresholds) pass ``variant``. Returns columns ``count_type, pretraining_a, pretraining_b, spearman,
    n_concepts, join, p`` for each unordered pair (in ``pretrainings`` order, default sorted).
    """
    if join not in JOINS:
        raise AnalysisError(f"unknown join {join!r}; use one of {', '.join(JOINS)}")
    missing = {"dataset", "pretraining", "method", "count"} - set(freq.columns)
    if missing:
        raise AnalysisError(f"frequencies table lacks columns {sorted(missing)}; expected the frequencies contract")
    df = freq[freq["method"] == count_type]
    if df.empty:
        raise AnalysisError(f"no counts with method {count_type!r}; available: {sorted(freq['method'].unique())}")
    if variant is not None:
        df = df[df["variant"] == variant]
        if df.empty:
            raise AnalysisError(
                f"no {count_type} counts with variant {variant!r}; available: {sorted(freq.loc[freq['method'] == count_type, 'variant'].dropna().unique())}"
            )
    elif "variant" in df.columns:
        per_set = df.groupby("pretraining")["variant"].nunique()
        if (per_set > 1).any():
            raise AnalysisError(
                f"{count_type} counts have several variants {sorted(df['variant'].unique())}; pass variant=..."
            )
    sets = list(pretrainings) if pretrainings is not None else sorted(df["pretraining"].unique())
    unknown = set(sets) - set(df["pretraining"].unique())
    if unknown:
        raise AnalysisError(
            f"no {count_type} counts for pretraining sets {sorted(unknown)}; available: {sorted(df['pretraining'].unique())}"
        )
    # the paper de-duplicated raw concept strings; the name join uses the reconciled key
    name = _name_col(df) if join == "name" else "concept"
    ordered = {s: paper_order(df[df["pretraining"] == s], name) for s in sets}
    rows = []
    for a, b in combinations(sets, 2):
        xa, xb = _pair(ordered[a], ordered[b], join, name)
        if len(xa) >= 3:
            res = stats.spearmanr(xa, xb)
            rho, p = float(res.statistic), float(res.pvalue)
        else:
            rho, p = float("nan"), float("nan")
        rows.append(
            dict(
                count_type=count_type,
                pretraining_a=a,
                pretraining_b=b,
                spearman=rho,
                n_concepts=int(len(xa)),
                join=join,
                p=p,
            )
        )
    return pd.DataFrame(rows, columns=TABLE4_COLUMNS)


def as_square(table: pd.DataFrame) -> pd.DataFrame:
    """Pivot a long :func:`spearman_matrix` table into a symmetric square matrix with ones on the diagonal."""
    sets = list(dict.fromkeys([*table["pretraining_a"], *table["pretraining_b"]]))
    m = pd.DataFrame(np.eye(len(sets)), index=sets, columns=sets)
    for r in table.itertuples():
        m.loc[r.pretraining_a, r.pretraining_b] = m.loc[r.pretraining_b, r.pretraining_a] = r.spearman
    return m
