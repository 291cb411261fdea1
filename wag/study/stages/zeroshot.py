"""Stage ``zeroshot``: every declared model on every classification dataset with every prompt
(:func:`wag.evaluate.zeroshot.evaluate_zeroshot`). Writes ``zeroshot/performance.parquet``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from wag.study.context import (
    Context,
    Stage,
    classification_data,
    dataset_fp,
    models_fp,
    performance_rows,
    precision_input,
    write_table,
)

OUTPUTS = ("zeroshot/performance.parquet",)


def _inputs(ctx: Context) -> dict[str, Any]:
    e = ctx.spec.stages.evaluate
    return {
        "models": models_fp(ctx),
        "datasets": [dataset_fp(ctx, d) for d in ctx.spec.datasets if d.task == "classification"],
        "prompts": list(e.prompts),
        **precision_input(ctx),
    }


def zeroshot_rows(ctx: Context, data: Any, dataset_name: str, *, cache: bool) -> list[pd.DataFrame]:
    """Every declared model with every prompt on one classification data set, as performance rows (also used by
    the ``letitwag`` stage on the benchmark it builds)."""
    from wag.evaluate.zeroshot import evaluate_zeroshot  # imports torch: only when models are evaluated

    e = ctx.spec.stages.evaluate
    parts = []
    for m in ctx.spec.models:
        for p in e.prompts:
            df = evaluate_zeroshot(
                ctx.model(m.name),
                data,
                prompt=p,
                dataset_name=dataset_name,
                batch_size=e.batch_size,
                cache=cache,
                progress=ctx.progress,
            )
            parts.append(performance_rows(df, ctx, m.name, ctx.spec.model_pretraining(m)))
    return parts


def _run(ctx: Context) -> list[str]:
    parts = []
    for d in [d for d in ctx.spec.datasets if d.task == "classification"]:
        parts += zeroshot_rows(
            ctx, classification_data(ctx.spec, d), d.name, cache=ctx.spec.stages.evaluate.cache_features
        )
    write_table(ctx.out / "zeroshot" / "performance.parquet", pd.concat(parts, ignore_index=True), "performance")
    return list(OUTPUTS)


STAGE = Stage(
    "zeroshot",
    _inputs,
    _run,
    outputs=OUTPUTS,
    enabled=lambda sp: bool(sp.models) and any(d.task == "classification" for d in sp.datasets),
    why_off="no models or no classification dataset declared",
)
