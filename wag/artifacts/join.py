"""Join counts with performance on reconciled concept names, reporting every name left unmatched."""

from __future__ import annotations

import pandas as pd

from wag.artifacts.errors import ArtifactsRequestError

UNMATCHED_COLUMNS = ["dataset", "side", "concept", "key"]


def unmatched_names(freq: pd.DataFrame, perf: pd.DataFrame) -> pd.DataFrame:
    """Names of datasets present on both sides whose key has no partner on the other side.

    ``side`` is ``counts`` (a counted concept without a performance value) or ``performance``.
    """
    common = set(freq["dataset"]) & set(perf["dataset"])
    f = freq.loc[freq["dataset"].isin(common), ["dataset", "concept", "key"]].drop_duplicates(["dataset", "key"])
    p = perf.loc[perf["dataset"].isin(common), ["dataset", "concept", "key"]].drop_duplicates(["dataset", "key"])
    fk = pd.MultiIndex.from_frame(f[["dataset", "key"]])
    pk = pd.MultiIndex.from_frame(p[["dataset", "key"]])
    out = pd.concat(
        [f[~fk.isin(pk)].assign(side="counts"), p[~pk.isin(fk)].assign(side="performance")], ignore_index=True
    )
    return out[UNMATCHED_COLUMNS].sort_values(["dataset", "side", "key"], ignore_index=True)


def join_counts_performance(freq: pd.DataFrame, perf: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(joined, unmatched): performance rows with the ``count`` of the same concept.

    Rows join on ``dataset`` + ``key`` (see :func:`wag.artifacts.reconcile_key`) and on ``pretraining`` when the
    performance row names one (a model is compared with the counts of its own pretraining set); rows without a
    pretraining (T2I) take the pretraining of the counts. ``count_concept`` is the name as spelled in the count
    file. ``unmatched`` lists names without a partner (:func:`unmatched_names`), never dropped silently.
    """
    for name, df, need in (
        ("freq", freq, {"dataset", "key", "concept", "pretraining", "count"}),
        ("perf", perf, {"dataset", "key", "concept"}),
    ):
        if missing := need - set(df.columns):
            raise ArtifactsRequestError(f"{name} lacks columns {sorted(missing)}; build it with wag.artifacts readers")
    fcols = [
        c
        for c in ("dataset", "key", "pretraining", "method", "variant", "source_variant", "count", "concept")
        if c in freq.columns
    ]
    f = freq[fcols].rename(columns={"concept": "count_concept"})
    has_pt = perf["pretraining"].notna() if "pretraining" in perf.columns else pd.Series(False, index=perf.index)
    with_pt = perf[has_pt].merge(f, on=["dataset", "key", "pretraining"], how="inner")
    without = perf[~has_pt].drop(columns=["pretraining"], errors="ignore").merge(f, on=["dataset", "key"], how="inner")
    joined = pd.concat([with_pt, without], ignore_index=True)
    return joined, unmatched_names(freq, perf)
