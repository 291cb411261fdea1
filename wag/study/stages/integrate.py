"""Stage ``integrate``: integrated counts (text hit and image tag of the same sample) at each tagger threshold
(:func:`wag.frequency.integrated.integrated_counts`). Writes ``integrate/frequencies.parquet`` and
``integrate/hits.parquet``."""

from __future__ import annotations

import pandas as pd

from wag.core.tables import variant_name
from wag.frequency.integrated import integrated_counts
from wag.study.context import Context, Stage, corpus_ids, fan_out, hit_rows, joint_inputs, main_text_hits, write_table

OUTPUTS = ("integrate/frequencies.parquet", "integrate/hits.parquet")


def _run(ctx: Context) -> list[str]:
    label = ctx.spec.tagger_label
    text_hits, tags = main_text_hits(ctx), pd.read_parquet(ctx.out / "tag" / "tags.parquet")
    ids = corpus_ids(ctx)
    freq, hits = [], []
    for th in ctx.spec.tagger.thresholds:
        v = variant_name("integrated", tagger=label, threshold=th)
        cnt = integrated_counts(
            text_hits,
            tags,
            threshold=th,
            concepts=ctx.concept_names,
            text_ids=ids,
            variant=v,
            pretraining=ctx.spec.corpus.name,
        )
        freq.append(fan_out(cnt, ctx.concepts))
        img = tags.loc[tags["score"] >= th, ["concept", "sample_id"]].astype(str)
        hits.append(
            hit_rows(
                text_hits[["concept", "sample_id"]].astype(str).merge(img, on=["concept", "sample_id"]), "integrated", v
            )
        )
    write_table(ctx.out / "integrate" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "integrate" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    return list(OUTPUTS)


STAGE = Stage(
    "integrate",
    joint_inputs,
    _run,
    outputs=OUTPUTS,
    upstream=("count", "tag"),
    enabled=lambda sp: sp.tagger.kind != "none",
    why_off="study.tagger.kind is none",
)
