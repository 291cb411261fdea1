"""Stage ``t2i``: every declared text-to-image pipeline on the T2I concepts (:func:`wag.evaluate.t2i.evaluate_t2i`):
CLIP-score, and judged accuracy with ``stages.t2i.judge``. Writes ``t2i/performance.parquet`` (task t2i) and
``t2i/images/`` (kept and resumed while what the images depend on is unchanged)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.ids import content_key, slug, tree_fingerprint
from wag.core.io import read_json, write_json
from wag.evaluate.params import T2IParams
from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
from wag.study.context import Context, Stage, checkpoint_fp, performance_rows, precision_input, write_table
from wag.study.spec import StudyError, t2i_clip_model

OUTPUTS = ("t2i/performance.parquet",)


def _t2i_rows(ctx: Context) -> pd.DataFrame:
    """(concept, dataset) rows of the T2I stage: the concept lists declared with task t2i, else every concept of the study."""
    c = ctx.concepts
    t2i = c[c["task"] == "t2i"]
    return (t2i if len(t2i) else c)[["concept", "dataset"]].drop_duplicates(ignore_index=True)


def _t2i_concepts(ctx: Context) -> list[str]:
    return list(dict.fromkeys(_t2i_rows(ctx)["concept"]))


def _judge_fp(ctx: Context) -> list[Any] | None:
    j, sp = ctx.spec.stages.t2i.judge, ctx.spec
    if j is None:
        return None
    if j.kind == "checkpoint":
        return tree_fingerprint(sp.path(j.model))
    s = sp.model_spec(j.model)
    return [s, checkpoint_fp(s)]


def _inputs(ctx: Context) -> dict[str, Any]:
    o, sp = ctx.spec.stages.t2i, ctx.spec
    pipes = [
        [
            m.name,
            m.model,
            tree_fingerprint(sp.path(m.model)) if sp.path(m.model).is_dir() else None,
            sp.model_pretraining(m),
        ]
        for m in sp.t2i
    ]
    clip = sp.model_spec(c) if (c := t2i_clip_model(sp)) is not None else None
    return {
        "pipelines": pipes,
        "options": o.model_dump(),
        "concepts": _t2i_concepts(ctx),
        "clip": [clip, checkpoint_fp(clip)],
        "aesthetic": tree_fingerprint(sp.path(o.aesthetic_weights)) if o.aesthetic_weights else None,
        "judge": _judge_fp(ctx),
        **precision_input(ctx),
    }


def make_judge(ctx: Context, concepts: list[str]) -> Any:
    """The declared T2I judge over ``concepts`` (``concepts`` + ``scores(images)``); every concept must be known to it."""
    j = ctx.spec.stages.t2i.judge
    if j is None:
        return None
    if j.kind == "openclip":
        from wag.evaluate.tagger import OpenClipTagger  # imports torch: only when a model judges

        return OpenClipTagger(ctx.model(j.model), concepts, templates=tuple(j.templates), batch_size=j.batch_size)
    judge = load_tagger_checkpoint(ctx.spec.path(j.model), batch_size=j.batch_size)
    unknown = [c for c in concepts if c not in set(judge.concepts)]
    if unknown:
        raise StudyError(
            f"study.stages.t2i.judge.model: the judge checkpoint does not know {len(unknown)} T2I concept(s) "
            f"({', '.join(map(repr, unknown[:5]))}); train it on every concept of the T2I stage (it knows {', '.join(map(repr, judge.concepts[:5]))}, ...)"
        )
    return judge.restricted(concepts)


def _image_dir(ctx: Context, m: Any) -> Path:
    """Where pipeline ``m``'s images are kept; emptied when what the images depend on changed (else they are resumed)."""
    o, sp = ctx.spec.stages.t2i, ctx.spec
    d = ctx.out / "t2i" / "images" / slug(m.name)
    key = content_key(
        [
            m.model,
            tree_fingerprint(sp.path(m.model)) if sp.path(m.model).is_dir() else None,
            o.steps,
            o.guidance_scale,
            list(o.templates),
        ]
    )
    stamp = d / "generation.json"
    if d.exists() and (not stamp.is_file() or read_json(stamp).get("key") != key):
        shutil.rmtree(d)
    if not stamp.is_file():
        write_json(stamp, {"key": key})
    return d


def _run(ctx: Context) -> list[str]:
    from wag.evaluate.t2i import evaluate_t2i, load_pipeline  # imports torch and diffusers: only when declared

    o, sp = ctx.spec.stages.t2i, ctx.spec
    clip_name = t2i_clip_model(sp)
    params = T2IParams(
        images_per_prompt=o.images_per_prompt,
        seed=o.seed,
        steps=o.steps,
        guidance_scale=o.guidance_scale,
        **({"clip_model": sp.model_spec(clip_name)} if clip_name else {}),
        aesthetic_weights=str(sp.path(o.aesthetic_weights)) if o.aesthetic_weights else None,
    )
    names = _t2i_concepts(ctx)
    prompts = {c: [t.replace("{c}", c) for t in o.templates] for c in names}
    judge = make_judge(ctx, names)  # before any image is made: an unknown concept is an error here
    clip = ctx.model(clip_name) if clip_name else None
    parts = []
    for m in sp.t2i:
        where = sp.path(m.model)
        pipe = load_pipeline(
            str(where) if where.is_dir() else m.model, device=sp.stages.evaluate.device, allow_download=o.allow_download
        )
        df = evaluate_t2i(
            pipe,
            prompts,
            dataset_name="t2i",
            model_name=m.name,
            params=params,
            clip=clip,
            clipscore=clip is not None,
            judge=judge,
            image_dir=_image_dir(ctx, m),
            progress=ctx.progress,
        )
        df = df.drop(columns=["dataset"]).merge(
            _t2i_rows(ctx), on="concept", how="inner"
        )  # a row per (concept, dataset) it belongs to
        df["prompt"] = o.templates[0] if len(o.templates) == 1 else f"{len(o.templates)} templates"
        parts.append(performance_rows(df, ctx, m.name, sp.model_pretraining(m)))
    write_table(ctx.out / "t2i" / "performance.parquet", pd.concat(parts, ignore_index=True), "performance")
    return list(OUTPUTS)


STAGE = Stage(
    "t2i",
    _inputs,
    _run,
    outputs=OUTPUTS,
    enabled=lambda sp: bool(sp.t2i),
    why_off="no study.t2i pipelines declared",
)
