"""Stage ``tag``: image tags of every corpus image and the image counts at each threshold.

The declared tagger (open_clip zero-shot, RAM++ or a tagger checkpoint, :func:`make_tagger`) tags the corpus shard by
shard (:func:`tag_corpus`: threads in this process, or one Dask task per shard, on
:func:`wag.core.parallel.map_shards`), so every backend forms the same batches. The samples of
``study.corpus.exclude`` are skipped before their images are decoded. Writes ``tag/tags.parquet`` (scores),
``tag/frequencies.parquet``, ``tag/hits.parquet`` and ``tag/summary.json``.

Each shard's result is cached as it finishes (:mod:`wag.study.stages.tag_cache`, keyed by what the scores depend on,
thresholds excluded): a threshold change rereads the cache and reruns only the thresholding, and a killed stage
resumes from the shards it finished. ``stages.tag.save_embeddings`` also writes the images' embeddings as
``tag/embeddings/`` (clip-retrieval layout); ``study.tagger.kind: embeddings`` tags from such stored embeddings
without decoding an image (:mod:`wag.study.stages.tag_embeddings`).
"""

from __future__ import annotations

import warnings
from collections.abc import Container
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from wag.core.errors import WagWarning
from wag.core.ids import content_key, stat_fingerprint, tree_fingerprint
from wag.core.io import write_json
from wag.core.parallel import map_shards
from wag.core.tables import variant_name
from wag.corpus import CorpusError
from wag.evaluate.descriptions import read_descriptions_file
from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
from wag.frequency.tagging import TAG_COLUMNS, RamPlusPlusTagger, image_counts, image_hits, write_tags
from wag.study.context import (
    Context,
    Stage,
    checkpoint_fp,
    concepts_fp,
    corpus_input,
    excluded_ids,
    fan_out,
    hit_rows,
    precision_input,
    write_table,
)
from wag.study.images import Counted, shard_images
from wag.study.spec import StudyError, StudySpec
from wag.study.stages.tag_cache import SCORE_FIELDS, cache_path, read_entry, shard_key, write_entry
from wag.study.stages.tag_embeddings import LAYOUT, save_layout, tag_from_embeddings

TABLES = ("tag/tags.parquet", "tag/frequencies.parquet", "tag/hits.parquet", "tag/summary.json")
OUTPUTS = (*TABLES, f"{LAYOUT}/embeddings.json")  # the last with stages.tag.save_embeddings only


def _model_input(ctx: Context) -> Any:
    t = ctx.spec.tagger
    if t.kind in ("openclip", "embeddings"):
        s = ctx.spec.model_spec(t.model or "")
        return [s, checkpoint_fp(s)]
    if t.kind in ("rampp", "checkpoint"):
        return tree_fingerprint(ctx.spec.path(t.model or ""))
    return None


def _inputs(ctx: Context) -> dict[str, Any]:
    t, o = ctx.spec.tagger, ctx.spec.stages.tag
    return {
        "shards": [stat_fingerprint(p) for p in ctx.shards],
        "corpus": corpus_input(ctx),
        "concepts": concepts_fp(ctx),
        "tagger": t.model_dump(),
        "label": ctx.spec.tagger_label,
        "model": _model_input(ctx),
        **(precision_input(ctx) if t.kind in ("openclip", "embeddings") else {}),
        "descriptions": tree_fingerprint(ctx.spec.path(t.descriptions)) if t.descriptions else None,
        "exclude": tree_fingerprint(ctx.spec.path(ctx.spec.corpus.exclude)) if ctx.spec.corpus.exclude else None,
        **({"embeddings": _embeddings_fp(ctx)} if t.kind == "embeddings" else {}),
        **({"save_embeddings": True} if o.save_embeddings else {}),
    }


def _embeddings_fp(ctx: Context) -> list[Any]:
    t = ctx.spec.tagger
    p = ctx.spec.path(t.embeddings or "")
    if p.exists():
        return tree_fingerprint(p)
    return [stat_fingerprint(f) for f in sorted(p.parent.glob(p.name))]


def score_identity(ctx: Context) -> dict[str, Any]:
    """What a pixel tagger's scores depend on (the cache key of :mod:`wag.study.stages.tag_cache`, per shard): not the
    thresholds, so a threshold change finds every shard cached."""
    t = ctx.spec.tagger
    return {
        "tagger": t.model_dump(include=set(SCORE_FIELDS)),
        "model": _model_input(ctx),
        "precision": ctx.spec.stages.evaluate.precision,
        "concepts": ctx.concept_names,
        "descriptions": tree_fingerprint(ctx.spec.path(t.descriptions)) if t.descriptions else None,
        "corpus": corpus_input(ctx),
        "exclude": tree_fingerprint(ctx.spec.path(ctx.spec.corpus.exclude)) if ctx.spec.corpus.exclude else None,
    }


def make_tagger(ctx: Context) -> Any:
    """The declared tagger over the study's concept names."""
    t = ctx.spec.tagger
    desc = read_descriptions_file(ctx.spec.path(t.descriptions)) if t.descriptions else None  # checked: lists of texts
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


class ShardTags(NamedTuple):
    """What tagging one shard gave: its tags, the images tagged, the images that could not be decoded (each
    ``<shard>:<member> (<reason>)``), when the shard was left out (``study.corpus.on_corrupt: skip``) why, and with
    ``stages.tag.save_embeddings`` the ids and unit image embeddings of the images tagged."""

    tags: pd.DataFrame
    n_images: int
    undecodable: list[str]
    skipped: str | None = None
    ids: list[str] | None = None
    emb: np.ndarray | None = None


def tag_shard(
    tagger: Any,
    path: Path | str,
    corpus: Any,
    loader_threads: int,
    skip: Container[str] = frozenset(),
    embed: bool = False,
) -> ShardTags:
    """Tags of one shard (shard by shard, so every backend forms the same batches); the samples in ``skip`` are left
    out before their images are opened, images that cannot be decoded are named and left out, and a shard that
    cannot be read whole is an error, or left out whole with ``study.corpus.on_corrupt: skip``. ``embed``: keep the
    image embeddings too (open_clip tagger)."""
    if hasattr(tagger, "loader_threads"):
        tagger.loader_threads = loader_threads
    bad: list[str] = []
    images = Counted(shard_images(path, corpus, skip, bad))
    try:
        if embed:
            tags, ids, emb = tagger.tag_and_embed(images)
        else:
            tags, ids, emb = tagger.tag(images), None, None
    except CorpusError as exc:
        if corpus.on_corrupt != "skip":
            raise StudyError(f"{exc}; or set study.corpus.on_corrupt: skip to leave such shards out") from None
        return ShardTags(pd.DataFrame(columns=TAG_COLUMNS), 0, [], skipped=str(exc))
    return ShardTags(tags, images.n, bad, ids=ids, emb=emb)


_WORKER_TAGGERS: dict[str, tuple[Any, frozenset[str]]] = {}


def tag_shard_task(spec: StudySpec, concepts: pd.DataFrame, path: str) -> ShardTags:
    """A Dask task: tag one shard with the study's tagger, built (with the excluded ids) once per worker process."""
    key = content_key([spec.model_dump(mode="json"), concepts["concept"].tolist()])
    if key not in _WORKER_TAGGERS:
        wctx = Context(spec, [Path(path)], progress=False, concepts=concepts)  # the driver's concept table
        _WORKER_TAGGERS.clear()
        _WORKER_TAGGERS[key] = (make_tagger(wctx), frozenset(excluded_ids(spec)))
    tagger, skip = _WORKER_TAGGERS[key]
    return tag_shard(tagger, path, spec.corpus, spec.stages.tag.loader_threads, skip, spec.stages.tag.save_embeddings)


def tag_corpus(ctx: Context) -> tuple[pd.DataFrame, int]:
    """Tags of every corpus image and the number of images tagged, in shard order, on the declared backend
    (``stages.tag``: threads in this process, or one Dask task per shard on a local cluster / scheduler). The samples
    of ``study.corpus.exclude`` are skipped before their images are decoded."""
    tags, n, _ = tag_corpus_report(ctx)
    return tags, n


def tag_corpus_report(ctx: Context) -> tuple[pd.DataFrame, int, dict[str, Any]]:
    """:func:`tag_corpus` and what was left out: ``{"undecodable": [...], "skipped_shards": [{shard, reason}]}``
    (each also reported in one warning)."""
    o = ctx.spec.stages.tag
    embed = o.save_embeddings
    identity = score_identity(ctx)
    keys = [shard_key(identity, p, embed) for p in ctx.shards]
    results: list[ShardTags | None] = []
    for k in keys:  # shards tagged before (a threshold change, an interrupted run): read, never encoded again
        hit = read_entry(cache_path(ctx.out, k), embed)
        results.append(ShardTags(**hit) if hit is not None else None)
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        if o.backend == "dask":  # each worker builds the tagger once (the driver's is not shipped)
            task: Any = partial(tag_shard_task, ctx.spec, ctx.concepts)
            items: list[Any] = [str(ctx.shards[i]) for i in todo]
        else:  # one tagger shared by the threads
            tagger, skip = make_tagger(ctx), frozenset(excluded_ids(ctx.spec))
            task = partial(
                tag_shard, tagger, corpus=ctx.spec.corpus, loader_threads=o.loader_threads, skip=skip, embed=embed
            )
            items = [ctx.shards[i] for i in todo]

        def done(j: int, r: ShardTags) -> None:  # each shard kept as it finishes, so a killed run resumes from it
            write_entry(cache_path(ctx.out, keys[todo[j]]), r)
            results[todo[j]] = r

        map_shards(
            task,
            items,
            backend=o.backend,
            workers=o.workers,
            scheduler=o.scheduler,
            progress="tag shards" if ctx.progress else None,
            unit="shard",
            on_result=done,
            thread_name_prefix="wag-tag",
        )
    parts = [r.tags for r in results if len(r.tags)]
    tags = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)
    bad = [b for r in results for b in r.undecodable]
    skipped = [{"shard": str(p), "reason": r.skipped} for p, r in zip(ctx.shards, results) if r.skipped]
    if bad:
        warnings.warn(
            f"tag: {len(bad)} image(s) could not be decoded and were not tagged ({'; '.join(bad[:3])}"
            f"{'; ...' if len(bad) > 3 else ''}); all are listed in tag/summary.json",
            WagWarning,
            stacklevel=2,
        )
    if skipped:
        warnings.warn(
            f"tag: {len(skipped)} unreadable shard(s) left out (study.corpus.on_corrupt: skip): "
            f"{'; '.join(s['reason'] for s in skipped[:3])}; listed in tag/summary.json",
            WagWarning,
            stacklevel=2,
        )
    lost = {"undecodable": bad, "skipped_shards": skipped, "cached_shards": len(ctx.shards) - len(todo)}
    if embed:
        lost["embeddings"] = save_layout(ctx, results, ctx.shards)
    return tags, sum(r.n_images for r in results), lost


def _run(ctx: Context) -> list[str]:
    t, label = ctx.spec.tagger, ctx.spec.tagger_label
    excl = excluded_ids(ctx.spec)
    if t.kind == "embeddings":  # no image decoded: the stored embeddings, checked against the model and corpus first
        tags, n_images, lost = tag_from_embeddings(ctx)
    else:
        tags, n_images, lost = tag_corpus_report(ctx)  # the excluded samples are never decoded nor tagged
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
        {
            "tagger": label,
            "images_tagged": int(n_images),
            "excluded": len(excl),
            "thresholds": list(t.thresholds),
            **(
                {"undecodable_skipped": len(lost["undecodable"]), "undecodable": lost["undecodable"]}
                if lost.get("undecodable")
                else {}
            ),
            **({"skipped_shards": lost["skipped_shards"]} if lost.get("skipped_shards") else {}),
            **{k: lost[k] for k in ("cached_shards", "missing_embeddings", "extra_embeddings") if k in lost},
        },
    )
    return [*TABLES, *([lost["embeddings"]] if "embeddings" in lost else [])]


STAGE = Stage(
    "tag",
    _inputs,
    _run,
    outputs=OUTPUTS,
    enabled=lambda sp: sp.tagger.kind != "none",
    why_off="study.tagger.kind is none",
)
