"""Stage ``retrieval``: every declared model on every retrieval dataset, recall@k per caption concept
(:func:`wag.evaluate.retrieval.evaluate_retrieval`). Writes ``retrieval/performance.parquet``."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from wag.study.context import (
    Context,
    Stage,
    concepts_fp,
    dataset_fp,
    models_fp,
    performance_rows,
    precision_input,
    retrieval_data,
    write_table,
)

OUTPUTS = ("retrieval/performance.parquet",)


def _inputs(ctx: Context) -> dict[str, Any]:
    e = ctx.spec.stages.evaluate
    return {
        "models": models_fp(ctx),
        "datasets": [dataset_fp(ctx, d) for d in ctx.spec.datasets if d.kind == "retrieval"],
        "ks": list(e.ks),
        "captions_per_image": e.captions_per_image,
        "min_images": e.min_images,
        "concepts": concepts_fp(ctx, [d.name for d in ctx.spec.datasets if d.kind == "retrieval"]),
        "variant": ctx.main_variant,
        **precision_input(ctx),
    }


def _run(ctx: Context) -> list[str]:
    from wag.evaluate.retrieval import evaluate_retrieval  # imports torch: only when models are evaluated

    e = ctx.spec.stages.evaluate
    parts = []
    for d in [d for d in ctx.spec.datasets if d.kind == "retrieval"]:
        data = retrieval_data(ctx.spec, d)
        names = ctx.concepts.loc[ctx.concepts["dataset"] == d.name, "concept"].tolist()
        for m in ctx.spec.models:
            df = evaluate_retrieval(
                ctx.model(m.name),
                data,
                concepts=names,
                ks=tuple(e.ks),
                min_images=e.min_images,
                variant=ctx.main_variant,
                dataset_name=d.name,
                batch_size=e.batch_size,
                cache=e.cache_features,
                progress=ctx.progress,
            )
            if df.empty:
                warnings.warn(
                    f"retrieval set '{d.name}': no concept occurs in {e.min_images} images; lower study.stages.evaluate.min_images",
                    stacklevel=2,
                )
            parts.append(performance_rows(df, ctx, m.name, ctx.spec.model_pretraining(m)))
    write_table(ctx.out / "retrieval" / "performance.parquet", pd.concat(parts, ignore_index=True), "performance")
    return list(OUTPUTS)


STAGE = Stage(
    "retrieval",
    _inputs,
    _run,
    outputs=OUTPUTS,
    enabled=lambda sp: bool(sp.models) and any(d.kind == "retrieval" for d in sp.datasets),
    why_off="no models or no retrieval dataset declared",
)
