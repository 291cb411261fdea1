"""Stage ``count``: the caption counts of every declared variant (:func:`wag.frequency.count_captions`).

Writes ``concepts.parquet``, ``count/frequencies.parquet``, ``count/hits.parquet`` and ``count/corpus.json``; the
samples of ``study.corpus.exclude`` lose their hits (and leave the counts and the caption total). An unreadable shard
stops the stage, or with ``study.corpus.on_corrupt: skip`` is left out whole (a warning; listed in the record). With
``stages.count.backend: dask`` every variant runs on one Dask client (the declared scheduler, else a local cluster).
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.errors import WagWarning
from wag.core.ids import stat_fingerprint, tree_fingerprint
from wag.core.io import write_json
from wag.core.parallel import dask_client
from wag.core.tables import variant_name
from wag.frequency import count_captions
from wag.study.context import (
    Context,
    Stage,
    concepts_fp,
    corpus_ids,
    corpus_input,
    excluded_ids,
    fan_out,
    hit_rows,
    write_table,
)
from wag.study.spec import StudyError

OUTPUTS = ("concepts.parquet", "count/frequencies.parquet", "count/hits.parquet", "count/corpus.json")


def _inputs(ctx: Context) -> dict[str, Any]:
    c, o = ctx.spec.corpus, ctx.spec.stages.count
    return {
        "shards": [stat_fingerprint(p) for p in ctx.shards],
        "corpus": corpus_input(ctx),
        "concepts": concepts_fp(ctx),
        "variants": list(o.variants),
        "exclude": tree_fingerprint(ctx.spec.path(c.exclude)) if c.exclude else None,
    }


def _drop_excluded(res: Any, excl: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts, hits) of one count result without the hits of the excluded samples (counts are hits per concept)."""
    hits, counts = res.hits, res.counts.copy()
    if not excl:
        return counts, hits
    gone = hits["sample_id"].astype(str).isin(excl)
    removed = hits.loc[gone, "concept"].astype(str).value_counts()
    counts["count"] = (counts["count"] - counts["concept"].astype(str).map(removed).fillna(0)).astype(
        counts["count"].dtype
    )
    return counts, hits[~gone].reset_index(drop=True)


def _run(ctx: Context) -> list[str]:
    c, o = ctx.spec.corpus, ctx.spec.stages.count
    freq, hits, n = [], [], 0
    excl = excluded_ids(ctx.spec)
    shared = dask_client(scheduler=o.scheduler, workers=o.workers) if o.backend == "dask" else contextlib.nullcontext()
    with shared as client:
        results = [
            (
                v,
                count_captions(
                    [str(p) for p in ctx.shards],
                    ctx.concepts,
                    variant=v,
                    fmt=c.format,
                    workers=o.workers,
                    out_dir=ctx.out / "count" / "engine" / v,
                    progress=ctx.progress,
                    pretraining=c.name,
                    backend=o.backend,
                    client=client,
                    caption_column=c.caption_column,
                    id_column=c.id_column,
                    batch_size=o.batch_size,
                ),
            )
            for v in o.variants
        ]
    failed = dict(f for _, res in results for f in res.failures)  # the same shards fail in every variant
    if failed and c.on_corrupt != "skip":
        raise StudyError(
            "unreadable shards (fix or remove them from study.corpus.shards, or set study.corpus.on_corrupt: skip "
            "to leave them out):\n  " + "\n  ".join(f"{p}: {w}" for p, w in failed.items())
        )
    skipped = [{"shard": p, "reason": w, "bytes": _size(p)} for p, w in failed.items()]
    if skipped:
        warnings.warn(
            f"count: {len(skipped)} unreadable shard(s) left out (study.corpus.on_corrupt: skip): "
            + "; ".join(f"{s['shard']}: {s['reason']}" for s in skipped[:3])
            + "; listed in count/corpus.json",
            WagWarning,
            stacklevel=2,
        )
    for v, res in results:
        counts, kept = _drop_excluded(res, excl)
        freq.append(fan_out(counts.assign(variant=variant_name("text", text=v)), ctx.concepts))
        hits.append(hit_rows(kept, "text", v))
        n = res.n_captions
    if excl:
        n -= int(corpus_ids(ctx).isin(excl).sum())
    write_table(ctx.out / "concepts.parquet", ctx.concepts, "concepts")
    write_table(ctx.out / "count" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "count" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    write_json(
        ctx.out / "count" / "corpus.json",
        {
            "pretraining": c.name,
            "n_captions": n,
            "n_shards": len(ctx.shards),
            "excluded": len(excl),
            **({"n_shards_skipped": len(skipped), "skipped_shards": skipped} if skipped else {}),
        },
    )
    return list(OUTPUTS)


def _size(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


STAGE = Stage(
    "count",
    _inputs,
    _run,
    outputs=OUTPUTS,
)
