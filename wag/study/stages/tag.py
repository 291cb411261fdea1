"""Stage ``tag``: image tags of every corpus image and the image counts at each threshold.

The declared tagger (open_clip zero-shot, RAM++ or a tagger checkpoint, :func:`make_tagger`) tags the corpus shard by
shard (:func:`tag_corpus`: threads in this process, or one Dask task per shard, on
:func:`wag.core.parallel.map_shards`), so every backend forms the same batches. The samples of
``study.corpus.exclude`` are skipped before their images are decoded. Writes ``tag/tags.parquet`` (scores),
``tag/frequencies.parquet``, ``tag/hits.parquet``, ``tag/count_quality.parquet`` and ``tag/summary.json``.

With ``study.tagger.calibration: captions`` (the default of CLIP taggers) the raw scores are calibrated per concept on
the count stage's caption hits (:mod:`wag.frequency.calibration`, ``tag/calibration.parquet``): ``tags.parquet``'s
``score`` is then the calibrated probability (``raw_score`` the tagger's) and the thresholds are cut-offs on it. The
count quality (:mod:`wag.frequency.quality`) is in ``count_quality.parquet`` and ``summary.json``; when it raises
caveats the stage warns in one line naming the cause and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Container
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from wag.core.errors import WagWarning
from wag.core.ids import content_key, stat_fingerprint, tree_fingerprint
from wag.core.io import write_json
from wag.core.parallel import map_shards
from wag.core.tables import variant_name
from wag.corpus import CorpusError
from wag.evaluate.descriptions import read_descriptions_file
from wag.frequency.calibration import CALIBRATION_VERSION, Calibration, fit_calibration
from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
from wag.frequency.quality import caveats, count_quality, fix_hint
from wag.frequency.tagging import TAG_COLUMNS, RamPlusPlusTagger, image_counts, image_hits, write_tags
from wag.study.context import (
    Context,
    Stage,
    checkpoint_fp,
    concepts_fp,
    corpus_ids,
    corpus_input,
    excluded_ids,
    fan_out,
    hit_rows,
    main_text_hits,
    precision_input,
    write_table,
)
from wag.study.images import Counted, shard_images
from wag.study.spec import StudyError, StudySpec

OUTPUTS = (
    "tag/tags.parquet",
    "tag/frequencies.parquet",
    "tag/hits.parquet",
    "tag/summary.json",
    "tag/calibration.parquet",
    "tag/count_quality.parquet",
)


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
        "corpus": corpus_input(ctx),
        "concepts": concepts_fp(ctx),
        "tagger": t.model_dump(),
        "label": ctx.spec.tagger_label,
        "model": model,
        **(precision_input(ctx) if t.kind == "openclip" else {}),
        "descriptions": tree_fingerprint(ctx.spec.path(t.descriptions)) if t.descriptions else None,
        "exclude": tree_fingerprint(ctx.spec.path(ctx.spec.corpus.exclude)) if ctx.spec.corpus.exclude else None,
        **({"calibration": ["captions", CALIBRATION_VERSION], "seed": ctx.spec.seed} if t.calibrated else {}),
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
    ``<shard>:<member> (<reason>)``) and, when the shard was left out (``study.corpus.on_corrupt: skip``), why."""

    tags: pd.DataFrame
    n_images: int
    undecodable: list[str]
    skipped: str | None = None


def tag_shard(
    tagger: Any, path: Path | str, corpus: Any, loader_threads: int, skip: Container[str] = frozenset()
) -> ShardTags:
    """Tags of one shard (shard by shard, so every backend forms the same batches); the samples in ``skip`` are left
    out before their images are opened, images that cannot be decoded are named and left out, and a shard that
    cannot be read whole is an error, or left out whole with ``study.corpus.on_corrupt: skip``."""
    if hasattr(tagger, "loader_threads"):
        tagger.loader_threads = loader_threads
    bad: list[str] = []
    images = Counted(shard_images(path, corpus, skip, bad))
    try:
        tags = tagger.tag(images)
    except CorpusError as exc:
        if corpus.on_corrupt != "skip":
            raise StudyError(f"{exc}; or set study.corpus.on_corrupt: skip to leave such shards out") from None
        return ShardTags(pd.DataFrame(columns=TAG_COLUMNS), 0, [], skipped=str(exc))
    return ShardTags(tags, images.n, bad)


_WORKER_TAGGERS: dict[str, tuple[Any, frozenset[str]]] = {}


def tag_shard_task(spec: StudySpec, concepts: pd.DataFrame, path: str) -> ShardTags:
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
    tags, n, _ = tag_corpus_report(ctx)
    return tags, n


def tag_corpus_report(ctx: Context) -> tuple[pd.DataFrame, int, dict[str, Any]]:
    """:func:`tag_corpus` and what was left out: ``{"undecodable": [...], "skipped_shards": [{shard, reason}]}``
    (each also reported in one warning)."""
    o = ctx.spec.stages.tag
    if o.backend == "dask":  # each worker builds the tagger once (the driver's is not shipped)
        task: Any = partial(tag_shard_task, ctx.spec, ctx.concepts)
        items: list[Any] = [str(p) for p in ctx.shards]
    else:  # one tagger shared by the threads
        tagger, skip = make_tagger(ctx), frozenset(excluded_ids(ctx.spec))
        task = partial(tag_shard, tagger, corpus=ctx.spec.corpus, loader_threads=o.loader_threads, skip=skip)
        items = list(ctx.shards)
    results: list[ShardTags] = map_shards(
        task,
        items,
        backend=o.backend,
        workers=o.workers,
        scheduler=o.scheduler,
        progress="tag shards" if ctx.progress else None,
        unit="shard",
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
    return tags, sum(r.n_images for r in results), {"undecodable": bad, "skipped_shards": skipped}


def _run(ctx: Context) -> list[str]:
    t, label = ctx.spec.tagger, ctx.spec.tagger_label
    excl = excluded_ids(ctx.spec)
    tags, n_images, lost = tag_corpus_report(ctx)  # the excluded samples are never decoded nor tagged
    if n_images == 0:
        raise StudyError(
            "the corpus has no images to tag"
            + (f" outside the {len(excl)} samples of study.corpus.exclude" if excl else "")
            + ": give WebDataset shards with .jpg/.png members or Parquet with study.corpus.image_column, or set study.tagger.kind: none"
        )
    outputs = list(OUTPUTS)
    cal = calibrate(ctx, tags) if t.calibrated else None
    if cal is not None:
        tags = cal.apply(tags, len(ctx.concept_names))
        write_table(ctx.out / "tag" / "calibration.parquet", cal.table, "calibration")
    else:
        outputs.remove("tag/calibration.parquet")
    write_tags(ctx.out / "tag" / "tags.parquet", tags)
    freq, hits = [], []
    for th in t.thresholds:
        v = variant_name("image", tagger=label, threshold=th)
        cnt = image_counts(tags, [th], concepts=ctx.concept_names, tagger=label, pretraining=ctx.spec.corpus.name)
        freq.append(fan_out(cnt.assign(variant=v), ctx.concepts))
        hits.append(hit_rows(image_hits(tags, th), "image", v))
    write_table(ctx.out / "tag" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "tag" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    quality = tag_quality(ctx, tags, n_images, cal)
    write_table(ctx.out / "tag" / "count_quality.parquet", quality, "count_quality")
    found = {v: caveats(quality, v) for v in quality["count_type"]}
    warn_caveats(found, t.calibrated)
    write_json(
        ctx.out / "tag" / "summary.json",
        {
            "tagger": label,
            "images_tagged": int(n_images),
            "excluded": len(excl),
            "thresholds": list(t.thresholds),
            **(
                {"undecodable_skipped": len(lost["undecodable"]), "undecodable": lost["undecodable"]}
                if lost["undecodable"]
                else {}
            ),
            **({"skipped_shards": lost["skipped_shards"]} if lost["skipped_shards"] else {}),
            "calibration": cal.summary() if cal is not None else "none",
            "count_quality": json_records(quality),
            "count_caveats": {v: c for v, c in found.items() if c},
        },
    )
    return outputs


def calibrate(ctx: Context, tags: pd.DataFrame) -> Calibration:
    """The per-concept calibration of the raw ``tags``, fitted on the count stage's main text hits (the images of
    ``study.corpus.exclude`` left out), its numbers referring to the headline threshold."""
    t = ctx.spec.tagger
    excl = excluded_ids(ctx.spec)
    ids = corpus_ids(ctx)
    ids = ids[~ids.isin(excl)] if excl else ids
    return fit_calibration(
        tags,
        main_text_hits(ctx),
        ids.tolist(),
        ctx.concept_names,
        cutoff=t.headline,
        min_score=t.min_score,
        seed=ctx.spec.seed,
    )


def tag_quality(ctx: Context, tags: pd.DataFrame, n_images: int, cal: Calibration | None) -> pd.DataFrame:
    """The count-quality table of the main text count and the image and integrated counts at every threshold."""
    t, label = ctx.spec.tagger, ctx.spec.tagger_label
    text = main_text_hits(ctx)[["concept", "sample_id"]].astype(str)
    counts: dict[tuple[str, str, float], pd.DataFrame] = {}
    for th in t.thresholds:
        img = image_hits(tags, th).astype(str)
        counts[("image", variant_name("image", tagger=label, threshold=th), th)] = img
        counts[("integrated", variant_name("integrated", tagger=label, threshold=th), th)] = text.merge(
            img, on=["concept", "sample_id"]
        )
    return count_quality(
        text,
        counts,
        ctx.concept_names,
        n_images,
        pretraining=ctx.spec.corpus.name,
        text_variant=variant_name("text", text=ctx.main_variant),
        calibration=cal.summary() if cal is not None else None,
        headline=t.headline,
    )


def warn_caveats(found: dict[str, list[str]], calibrated: bool) -> None:
    """One warning line naming the count types with caveats, why, and the fix (nothing when there are none)."""
    bad = {v: c for v, c in found.items() if c}
    if not bad:
        return
    first, reasons = next(iter(bad.items()))
    warnings.warn(
        f"tag: image counts cannot be trusted ({', '.join(bad)}): {'; '.join(reasons)}; {fix_hint(calibrated)} "
        "(tag/count_quality.parquet, `wag study status`)",
        WagWarning,
        stacklevel=2,
    )


def json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts (NaN as null)."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in df.to_dict("records")]


STAGE = Stage(
    "tag",
    _inputs,
    _run,
    outputs=OUTPUTS,
    upstream=("count",),  # the calibration and the count quality read the caption hits
    enabled=lambda sp: sp.tagger.kind != "none",
    why_off="study.tagger.kind is none",
)
