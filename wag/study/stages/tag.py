"""Stage ``tag``: image tags of every corpus image and the image counts at each threshold.

The declared tagger (open_clip zero-shot, RAM++ or a tagger checkpoint, :func:`make_tagger`) tags the corpus shard by
shard (:func:`tag_corpus`: threads in this process, or one Dask task per shard, on
:func:`wag.core.parallel.map_shards`), so every backend forms the same batches. The samples of
``study.corpus.exclude`` are skipped before their images are decoded. Writes ``tag/tags.parquet`` (scores),
``tag/frequencies.parquet``, ``tag/hits.parquet`` and ``tag/summary.json``.
"""

from __future__ import annotations

import warnings
from collections.abc import Container
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.ids import content_key, stat_fingerprint, tree_fingerprint
from wag.core.io import read_json, write_json
from wag.core.parallel import map_shards
from wag.core.tables import variant_name
from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
from wag.frequency.tagging import RamPlusPlusTagger, image_counts, image_hits, write_tags
from wag.study.context import (
    Context,
    Stage,
    checkpoint_fp,
    concepts_fp,
    excluded_ids,
    fan_out,
    hit_rows,
    precision_input,
    write_table,
)
from wag.study.images import Counted, shard_images
from wag.study.spec import StudyError, StudySpec

OUTPUTS = ("tag/tags.parquet", "tag/frequencies.parquet", "tag/hits.parquet", "tag/summary.json")


def _inputs(ctx: Context) -> dict[str, Any]:
    t = ctx.spec.tagger
    model = None
    if t.kind == "openclip":
        s = ctx.spec.model_spec(t.model or "")
        model = [s, checkpoint_fp(s)]
    elif t.kind in ("rampp", "checkpoint"):
        model = tree_fingerprint(ctx.spec.path(t.model or ""))
    return {
        "shards": [stat_fingerprint(p) for p in ctx.shards],
        "corpus": ctx.spec.corpus.model_dump(),
        "concepts": concepts_fp(ctx),
        "tagger": t.model_dump(),
        "label": ctx.spec.tagger_label,
        "model": model,
        **(precision_input(ctx) if t.kind == "openclip" else {}),
        "descriptions": tree_fingerprint(ctx.spec.path(t.descriptions)) if t.descriptions else None,
        "exclude": tree_fingerprint(ctx.spec.path(ctx.spec.corpus.exclude)) if ctx.spec.corpus.exclude else None,
    }


def make_tagger(ctx: Context) -> Any:
    """The declared tagger over the study's concept names."""
    t = ctx.spec.tagger
    desc = read_json(ctx.spec.path(t.descriptions)) if t.descriptions else None
    if t.kind == "openclip":
        from wag.evaluate.tagger import OpenClipTagger  # imports torch: only when a model tags

        return OpenClipTagger(
            ctx.model(t.model or ""),
            ctx.concept_names,
            descriptions=desc,
            templates=tuple(t.templates),
            batch_size=t.batch_size,
            min_score=t.min_score,
        )
    if t.kind == "rampp":
        return RamPlusPlusTagger(
            ctx.spec.path(t.model or ""),
            ctx.concept_names,
            desc or {},
            device=ctx.spec.stages.evaluate.device,
            batch_size=t.batch_size,
            min_score=t.min_score,
        )
    if t.kind == "checkpoint":
        tagger = load_tagger_checkpoint(ctx.spec.path(t.model or ""), batch_size=t.batch_size, min_score=t.min_score)
        unknown = [c for c in ctx.concept_names if c not in set(tagger.concepts)]
        if len(unknown) == len(ctx.concept_names):
            raise StudyError(
                f"study.tagger.model: the tagger checkpoint knows none of the study's concepts (it knows {', '.join(tagger.concepts[:5])}, ...)"
            )
        if unknown:
            warnings.warn(
                f"tagger checkpoint: {len(unknown)} study concepts get no tags (unknown to it: {', '.join(unknown[:5])})",
                stacklevel=2,
            )
        return tagger.restricted(ctx.concept_names)
    raise StudyError(f"study.tagger.kind '{t.kind}' cannot tag images; use openclip, rampp or checkpoint")


def tag_shard(
    tagger: Any, path: Path | str, corpus: Any, loader_threads: int, skip: Container[str] = frozenset()
) -> tuple[pd.DataFrame, int]:
    """Tags of one shard and the number of its images tagged (shard by shard, so every backend forms the same batches);
    the samples in ``skip`` are left out before their images are opened."""
    if hasattr(tagger, "loader_threads"):
        tagger.loader_threads = loader_threads
    images = Counted(shard_images(path, corpus, skip))
    return tagger.tag(images), images.n


_WORKER_TAGGERS: dict[str, tuple[Any, frozenset[str]]] = {}


def tag_shard_task(spec: StudySpec, concepts: pd.DataFrame, path: str) -> tuple[pd.DataFrame, int]:
    """A Dask task: tag one shard with the study's tagger, built (with the excluded ids) once per worker process."""
    key = content_key([spec.model_dump(mode="json"), concepts["concept"].tolist()])
    if key not in _WORKER_TAGGERS:
        wctx = Context(spec, [Path(path)], progress=False, concepts=concepts)  # the driver's concept table
        _WORKER_TAGGERS.clear()
        _WORKER_TAGGERS[key] = (make_tagger(wctx), frozenset(excluded_ids(spec)))
    tagger, skip = _WORKER_TAGGERS[key]
    return tag_shard(tagger, path, spec.corpus, spec.stages.tag.loader_threads, skip)


def tag_corpus(ctx: Context) -> tuple[pd.DataFrame, int]:
    """Tags of every corpus image and the number of images tagged, in shard order, on the declared backend
    (``stages.tag``: threads in this process, or one Dask task per shard on a local cluster / scheduler). The samples
    of ``study.corpus.exclude`` are skipped before their images are decoded."""
    o = ctx.spec.stages.tag
    if o.backend == "dask":  # each worker builds the tagger once (the driver's is not shipped)
        task: Any = partial(tag_shard_task, ctx.spec, ctx.concepts)
        items: list[Any] = [str(p) for p in ctx.shards]
    else:  # one tagger shared by the threads
        tagger, skip = make_tagger(ctx), frozenset(excluded_ids(ctx.spec))
        task = partial(tag_shard, tagger, corpus=ctx.spec.corpus, loader_threads=o.loader_threads, skip=skip)
        items = list(ctx.shards)
    results = map_shards(
        task,
        items,
        backend=o.backend,
        workers=o.workers,
        scheduler=o.scheduler,
        progress="tag shards" if ctx.progress else None,
        unit="shard",
        thread_name_prefix="wag-tag",
    )
    parts = [t for t, _ in results if len(t)]
    tags = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["sample_id", "concept", "score"])
    return tags, sum(n for _, n in results)


def _run(ctx: Context) -> list[str]:
    t, label = ctx.spec.tagger, ctx.spec.tagger_label
    excl = excluded_ids(ctx.spec)
    tags, n_images = tag_corpus(ctx)  # the excluded samples are never decoded nor tagged
    if n_images == 0:
        raise StudyError(
            "the corpus has no images to tag"
            + (f" outside the {len(excl)} samples of study.corpus.exclude" if excl else "")
            + ": give WebDataset shards with .jpg/.png members or Parquet with study.corpus.image_column, or set study.tagger.kind: none"
        )
    write_tags(ctx.out / "tag" / "tags.parquet", tags)
    freq, hits = [], []
    for th in t.thresholds:
        v = variant_name("image", tagger=label, threshold=th)
        cnt = image_counts(tags, [th], concepts=ctx.concept_names, tagger=label, pretraining=ctx.spec.corpus.name)
        freq.append(fan_out(cnt.assign(variant=v), ctx.concepts))
        hits.append(hit_rows(image_hits(tags, th), "image", v))
    write_table(ctx.out / "tag" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "tag" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    write_json(
        ctx.out / "tag" / "summary.json",
        {"tagger": label, "images_tagged": int(n_images), "excluded": len(excl), "thresholds": list(t.thresholds)},
    )
    return list(OUTPUTS)


STAGE = Stage(
    "tag",
    _inputs,
    _run,
    outputs=OUTPUTS,
    enabled=lambda sp: sp.tagger.kind != "none",
    why_off="study.tagger.kind is none",
)
