"""Stage ``misalignment``: the share of captions whose concept the image lacks, and the reverse, per tagger threshold
(:func:`wag.frequency.misalignment.misalignment`). Writes ``misalignment/misalignment.parquet``."""

from __future__ import annotations

import pandas as pd

from wag.core.io import read_json, write_parquet
from wag.core.tables import variant_name
from wag.frequency.misalignment import misalignment
from wag.study.context import Context, Stage, joint_inputs, main_text_hits

OUTPUTS = ("misalignment/misalignment.parquet",)


def _run(ctx: Context) -> list[str]:
    text_hits, tags = main_text_hits(ctx), pd.read_parquet(ctx.out / "tag" / "tags.parquet")
    n = int(read_json(ctx.out / "count" / "corpus.json")["n_captions"])
    rows = [
        {
            "pretraining": ctx.spec.corpus.name,
            "text_variant": ctx.main_variant,
            "image_variant": variant_name("image", tagger=ctx.spec.tagger_label, threshold=th),
            **misalignment(text_hits, tags, threshold=th, n_samples=n),
        }
        for th in ctx.spec.tagger.thresholds
    ]
    write_parquet(ctx.out / "misalignment" / "misalignment.parquet", pd.DataFrame(rows))
    return list(OUTPUTS)


STAGE = Stage(
    "misalignment",
    joint_inputs,
    _run,
    outputs=OUTPUTS,
    upstream=("count", "tag"),
    enabled=lambda sp: sp.tagger.kind != "none",
    why_off="study.tagger.kind is none",
)
