"""Joined (count, performance) tables for the §3 analyses, read from the paper's released files.

Thin wrappers over :mod:`wag.artifacts` that apply an :class:`~wag.analysis.params.AnalysisParams`
selection (pretraining sets, models, datasets). Each returns ``(joined, unmatched)``; ``unmatched`` lists
concept names present on one side only (never dropped silently).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from wag import artifacts
from wag.analysis.errors import AnalysisError
from wag.analysis.params import AnalysisParams


def _as_list(x: str | Iterable[str] | None) -> list[str] | None:
    return None if x is None else ([x] if isinstance(x, str) else list(x))


def _select_models(perf: pd.DataFrame, params: AnalysisParams, pretraining: list[str]) -> pd.DataFrame:
    pairs = params.model_pairs(pretraining)
    if not pairs:
        raise AnalysisError(
            f"no models selected for pretraining sets {pretraining}; analysis.models is {params.models}"
        )
    want = pd.MultiIndex.from_tuples(pairs, names=["pretraining", "model"])
    have = pd.MultiIndex.from_frame(perf[["pretraining", "model"]])
    missing = set(pairs) - set(have)
    if missing:
        raise AnalysisError(
            f"models {sorted('/'.join(m) for m in missing)} have no results in the released files; choose analysis.models the files evaluate"
        )
    return perf[have.isin(want)]


def _order(joined: pd.DataFrame, params: AnalysisParams, pretraining: list[str]) -> pd.DataFrame:
    """Stable, readable order: pretraining sets and models in the params' order."""
    order = {pm: i for i, pm in enumerate(params.model_pairs(pretraining))}
    key = [order.get((p, m), len(order)) for p, m in zip(joined["pretraining"], joined["model"])]
    k = pd.to_numeric(joined["metric"].astype(str).str.extract(r"@(\d+)$")[0], errors="coerce").fillna(0)
    sort = joined.assign(_o=key, _k=k.to_numpy())
    by = [c for c in ("prompt", "_k", "_o") if c in sort.columns]
    return sort.sort_values(by, kind="stable").drop(columns=["_o", "_k"]).reset_index(drop=True)


def classification(
    root: str | Path,
    params: AnalysisParams,
    *,
    prompts: str | Iterable[str] = "class",
    method: str = "integrated",
    variant: str | Iterable[str] = "integrated@0.7",
    pretraining: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Zero-shot per-class accuracy (pooled classification sets) joined with counts of one count type."""
    sets = list(pretraining or params.pretraining)
    perf = artifacts.read_zero_shot(root, datasets=params.classification_datasets, prompts=_as_list(prompts))
    perf = _select_models(perf, params, sets)
    freq = artifacts.read_search_counts(
        root, downstream=params.classification_datasets, pretraining=sets, method=method, variant=_as_list(variant)
    )
    joined, unmatched = artifacts.join_counts_performance(freq, perf)
    return _order(joined, params, sets), unmatched


def retrieval(
    root: str | Path,
    params: AnalysisParams,
    *,
    directions: str | Iterable[str] | None = None,
    ks: int | Iterable[int] | None = None,
    method: str = "integrated",
    variant: str | Iterable[str] = "integrated@0.7",
    pretraining: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-concept retrieval recall (COCO + Flickr pooled) joined with counts of one count type."""
    sets = list(pretraining or params.pretraining)
    perf = artifacts.read_retrieval(
        root,
        datasets=params.retrieval_datasets,
        directions=_as_list(directions) or params.retrieval_directions,
        ks=ks if ks is not None else params.retrieval_ks,
    )
    perf = _select_models(perf, params, sets)
    freq = artifacts.read_search_counts(
        root, downstream=params.retrieval_datasets, pretraining=sets, method=method, variant=_as_list(variant)
    )
    joined, unmatched = artifacts.join_counts_performance(freq, perf)
    return _order(joined, params, sets), unmatched


def t2i(
    root: str | Path,
    params: AnalysisParams,
    *,
    metrics: str | Iterable[str] | None = None,
    method: str = "integrated",
    variant: str | Iterable[str] = "integrated@0.7",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-concept text-to-image scores of the HEIM models joined with ``params.t2i_pretraining`` counts."""
    perf = artifacts.read_t2i(root, metrics=_as_list(metrics))
    if params.t2i_models is not None:
        unknown = set(params.t2i_models) - set(perf["model"])
        if unknown:
            raise AnalysisError(f"unknown T2I models {sorted(unknown)}; available: {sorted(perf['model'].unique())}")
        perf = perf[perf["model"].isin(params.t2i_models)]
    freq = artifacts.read_search_counts(
        root, downstream="t2i", pretraining=params.t2i_pretraining, method=method, variant=_as_list(variant)
    )
    joined, unmatched = artifacts.join_counts_performance(freq, perf)
    return joined.reset_index(drop=True), unmatched
