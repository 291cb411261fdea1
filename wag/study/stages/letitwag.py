"""Stage ``letitwag``: a Let It Wag! benchmark of the study's tail concepts built from an image pool
(:func:`wag.evaluate.letitwag.build_let_it_wag`) and every declared model's zero-shot accuracy on it. Writes
``letitwag/benchmark/`` (images and datasheet), ``letitwag/frequencies.parquet`` and ``letitwag/performance.parquet``."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from wag.core.ids import slug, tree_fingerprint
from wag.core.io import read_json
from wag.evaluate.datasets import IMAGE_EXTS, image_folder
from wag.evaluate.letitwag import build_let_it_wag
from wag.study.context import Context, Stage, models_fp, precision_input, write_table
from wag.study.spec import StudyError
from wag.study.stages.zeroshot import zeroshot_rows


def phash_bits_for(side: int, paper_bits: int = 10, paper_side: int = 224) -> int:
    """De-dup distance for images of ``side`` px: the paper's 10 bits at >= 224 px, scaled down linearly (at least 1).

    Small images carry little detail, so their 64-bit pHashes are close; the paper's threshold merged most
    32 px images of distinct scenes (issue 10).
    """
    return max(1, round(paper_bits * min(side, paper_side) / paper_side))


def _pool_image_side(pool: Path) -> int:
    for f in sorted(pool.rglob("*")):
        if f.suffix.lower() in IMAGE_EXTS:
            with Image.open(f) as im:
                return min(im.size)
    return 224


def _inputs(ctx: Context) -> dict[str, Any]:
    lw = ctx.spec.stages.letitwag
    return {
        "pool": tree_fingerprint(ctx.spec.path(lw.images or "")),
        "options": lw.model_dump(),
        "seed": ctx.spec.seed,
        "variant": ctx.main_variant,
        "models": models_fp(ctx),
        "prompts": list(ctx.spec.stages.evaluate.prompts),
        **precision_input(ctx),
    }


def _run(ctx: Context) -> list[str]:
    lw = ctx.spec.stages.letitwag
    pool = ctx.spec.path(lw.images or "")
    bits = lw.phash_bits if isinstance(lw.phash_bits, int) else phash_bits_for(_pool_image_side(pool))
    freq = pd.read_parquet(ctx.out / "count" / "frequencies.parquet")
    freq = freq[freq["variant"] == ctx.main_variant]
    bench = ctx.out / "letitwag" / "benchmark"
    build_let_it_wag(
        freq,
        k=lw.k,
        source=ctx.spec.corpus.name,
        out_dir=bench,
        phash_bits=bits,
        images=pool,
        images_per_class=lw.images_per_class,
        outlier_std=lw.outlier_std,
        model=ctx.model(lw.outlier_model) if lw.outlier_model else None,
        seed=ctx.spec.seed,
        method="text",
        variant=ctx.main_variant,
        progress=ctx.progress,
    )
    sheet = read_json(bench / "datasheet.json")
    kept = [s for s in sheet["steps"] if s["kept"] > 0]
    dropped = [
        f"{s['concept']} ({s['candidates']} candidates, {s['duplicates_removed']} duplicates)"
        for s in sheet["steps"]
        if s["kept"] == 0
    ]
    dups = any(s["duplicates_removed"] for s in sheet["steps"] if s["kept"] == 0)
    lower = f"lower study.stages.letitwag.images_per_class (now {lw.images_per_class})" + (
        f" or phash_bits (now {bits}: duplicates were removed)" if bits > 1 and dups else ""
    )
    hint = f"{lower}, raise k (now {lw.k}), or add images of these concepts to the pool {pool}"
    if len(kept) < lw.min_classes:
        shutil.rmtree(bench, ignore_errors=True)
        raise StudyError(
            f"Let It Wag! kept {len(kept)} classes (min_classes {lw.min_classes}); dropped: {'; '.join(dropped[:8])}. {hint}"
        )
    if dropped:
        warnings.warn(
            f"Let It Wag!: {len(dropped)} of {len(sheet['steps'])} classes dropped ({'; '.join(dropped[:5])}); {hint}",
            stacklevel=2,
        )
    names = [s["concept"] for s in kept]
    folders = {slug(c): c for c in names}
    data = image_folder(
        bench / "images",
        name=lw.name,
        classnames=[folders[d.name] for d in sorted((bench / "images").iterdir()) if d.is_dir()],
    )
    perf = zeroshot_rows(ctx, data, lw.name, cache=False)
    allf = pd.read_parquet(ctx.out / "count" / "frequencies.parquet")
    bf = allf[allf["concept"].isin(names)].drop_duplicates(["concept", "variant"]).assign(dataset=lw.name)
    write_table(ctx.out / "letitwag" / "frequencies.parquet", bf, "frequencies")
    outs = ["letitwag/benchmark/datasheet.json", "letitwag/frequencies.parquet"]
    if perf:
        write_table(ctx.out / "letitwag" / "performance.parquet", pd.concat(perf, ignore_index=True), "performance")
        outs.append("letitwag/performance.parquet")
    return outs


STAGE = Stage(
    "letitwag",
    _inputs,
    _run,
    outputs=("letitwag/benchmark/datasheet.json", "letitwag/frequencies.parquet", "letitwag/performance.parquet"),
    upstream=("count",),
    enabled=lambda sp: bool(sp.stages.letitwag.images),
    why_off="no study.stages.letitwag.images pool declared",
)
