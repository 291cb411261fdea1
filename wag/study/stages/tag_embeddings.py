"""The tag stage from stored image embeddings (``study.tagger.kind: embeddings``), and the layout a study writes.

:func:`tag_from_embeddings` checks the stored embeddings against the declared model and the corpus before any
scoring (:func:`check_embeddings`: one :class:`~wag.study.spec.StudyError` naming each problem), then scores every
part (one ``img_emb_{i}.npy`` or Parquet file) with the open_clip tagger's text matrix, in blocks of rows over a
memory-mapped array, on threads or one Dask task per part (``stages.tag``). No image is decoded.

:func:`save_layout` writes the images a study tagged from pixels (``stages.tag.save_embeddings``) in the same layout,
with the sidecar that lets a later read tell whether the declared model is the one that wrote them.
"""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from wag.core.errors import WagWarning
from wag.core.io import atomic_dir
from wag.core.parallel import map_shards
from wag.evaluate.descriptions import read_descriptions_file
from wag.frequency.embeddings import (
    EmbeddingPart,
    EmbeddingsError,
    find_parts,
    part_keys,
    part_shape,
    probe_agreement,
    read_sidecar,
    score_part,
    write_part,
    write_sidecar,
)
from wag.frequency.tagging import TAG_COLUMNS
from wag.study.context import Context, corpus_ids, excluded_ids
from wag.study.spec import StudyError

LAYOUT = "tag/embeddings"
#: the smallest cosine between the sidecar's probe text embeddings and the declared model's that passes as one model
PROBE_MIN_COSINE = 0.99


class Checked(NamedTuple):
    """Stored embeddings checked against the model and the corpus: the parts, each part's keys to score (None: all),
    and what does not match (keys named in the warning and the stage's summary)."""

    parts: list[EmbeddingPart]
    keep: list[set[str] | None]
    missing: list[str]
    extra: list[str]


def text_side(ctx: Context) -> tuple[np.ndarray, float, Any]:
    """The open_clip tagger's text matrix (D, C+1), logit scale and loaded model: the same prompts, descriptions and
    background as the pixel tagger, so the scores are the same."""
    from wag.evaluate.tagger import OpenClipTagger  # lazy: imports torch

    t = ctx.spec.tagger
    desc = read_descriptions_file(ctx.spec.path(t.descriptions)) if t.descriptions else None
    model = ctx.model(t.model or "")
    tagger = OpenClipTagger(model, ctx.concept_names, descriptions=desc, templates=tuple(t.templates))
    return tagger.text_matrix, tagger.scale, model


def _few(xs: list[str]) -> str:
    return ", ".join(sorted(xs)[:3]) + (", ..." if len(xs) > 3 else "")


def check_embeddings(ctx: Context, dim: int, probe: np.ndarray) -> Checked:
    """Dimension, model and keys of the declared embeddings, before any scoring; raises one StudyError listing every
    problem. The model check needs the sidecar wag writes (``embeddings.json``): without one (LAION's, DataComp's),
    only the dimension can tell another model."""
    t = ctx.spec.tagger
    where = ctx.spec.path(t.embeddings or "")
    try:
        parts = find_parts(where, t.embedding_column)
        shapes = [part_shape(p) for p in parts]
        keys = [part_keys(p, t.key_column) for p in parts]
    except EmbeddingsError as exc:
        raise StudyError(str(exc)) from None
    problems = []
    dims = sorted({d for _, d in shapes})
    if dims != [dim]:
        problems.append(
            f"study.tagger.embeddings: the embeddings in {where} have dimension {', '.join(map(str, dims))} but "
            f"model '{t.model}' embeds in {dim}; declare the model that made them"
        )
    for p, (n, _), k in zip(parts, shapes, keys):
        if n != len(k):
            problems.append(f"study.tagger.embeddings: {p.emb} has {n} rows but {p.meta} {len(k)} keys")
    side = read_sidecar(where) if t.embedding_column is None else None
    if side is not None and not problems:
        agree = probe_agreement(side, probe)
        if agree < PROBE_MIN_COSINE:
            problems.append(
                f"study.tagger.model: the embeddings in {where} were written by model '{side.get('model')}', whose "
                f"text tower differs from '{t.model}' (probe cosine {agree:.3f} < {PROBE_MIN_COSINE}); declare the "
                "model that wrote them"
            )
    flat = [k for ks in keys for k in ks]
    if len(set(flat)) != len(flat):
        seen: set[str] = set()
        dup = sorted({k for k in flat if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
        problems.append(
            f"study.tagger.embeddings: {len(dup)} key(s) appear more than once ({_few(dup)}); each sample once"
        )
    excl = excluded_ids(ctx.spec)
    corpus = set(corpus_ids(ctx)) - excl
    stored = set(flat)
    missing, extra = sorted(corpus - stored), sorted(stored - corpus - excl)
    if (missing or extra) and t.on_key_mismatch == "error":
        what = []
        if missing:
            what.append(f"{len(missing)} corpus sample(s) have no embedding ({_few(missing)})")
        if extra:
            what.append(f"{len(extra)} embedding key(s) are not corpus samples ({_few(extra)})")
        problems.append(
            f"study.tagger.embeddings: {'; '.join(what)} (column '{t.key_column}'); check study.tagger.key_column, "
            "or set study.tagger.on_key_mismatch: skip to leave them out"
        )
    if problems:
        raise StudyError(f"study '{ctx.spec.name}' cannot tag from {where}:\n  " + "\n  ".join(problems))
    keep = [None if all(k in corpus for k in ks) else {k for k in ks if k in corpus} for ks in keys]
    return Checked(parts, keep, missing, extra)


class PartTags(NamedTuple):
    tags: pd.DataFrame
    n: int


def _score_task(part_keep: tuple[EmbeddingPart, set[str] | None], **kw: Any) -> PartTags:
    part, keep = part_keep
    return PartTags(*score_part(part, keep=keep, **kw))


def tag_from_embeddings(ctx: Context) -> tuple[pd.DataFrame, int, dict[str, Any]]:
    """Tags of every corpus sample from its stored embedding, the samples scored, and what did not match."""
    from wag.evaluate.tagger import text_probe  # lazy: imports torch

    t, o = ctx.spec.tagger, ctx.spec.stages.tag
    text, scale, model = text_side(ctx)
    checked = check_embeddings(ctx, text.shape[0], text_probe(model))
    task = partial(
        _score_task,
        key_column=t.key_column,
        text=text,
        scale=scale,
        concepts=ctx.concept_names,
        min_score=t.min_score,
        block_rows=o.block_rows,
    )
    results: list[PartTags] = map_shards(
        task,
        list(zip(checked.parts, checked.keep)),
        backend=o.backend,
        workers=o.workers,
        scheduler=o.scheduler,
        progress="score embedding files" if ctx.progress else None,
        unit="file",
        thread_name_prefix="wag-embtag",
    )
    parts = [r.tags for r in results if len(r.tags)]
    tags = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)
    if checked.missing or checked.extra:
        warnings.warn(
            f"tag: {len(checked.missing)} corpus sample(s) without an embedding and {len(checked.extra)} embedding(s) "
            "of samples outside the corpus were left out (study.tagger.on_key_mismatch: skip); counted in tag/summary.json",
            WagWarning,
            stacklevel=2,
        )
    lost = {"missing_embeddings": len(checked.missing), "extra_embeddings": len(checked.extra)}
    return tags, sum(r.n for r in results), lost


def save_layout(ctx: Context, results: list[Any], shards: list[Path]) -> str:
    """Write the study's image embeddings (one part per shard, in shard order) as ``tag/embeddings/`` with its
    sidecar, atomically as a whole; returns the sidecar's path under the study folder."""
    from wag.evaluate.tagger import text_probe  # lazy: imports torch

    t = ctx.spec.tagger
    model = ctx.model(t.model or "")
    probe = text_probe(model)
    dims = {r.emb.shape[1] for r in results if r.emb is not None and len(r.emb)}
    with atomic_dir(ctx.out / LAYOUT) as tmp:
        for i, r in enumerate(results):
            if r.emb is not None:
                write_part(tmp, i, r.ids, r.emb)
        write_sidecar(
            tmp,
            model=ctx.spec.model_spec(t.model or ""),
            fingerprint=str(getattr(model, "fingerprint", "")),
            dim=dims.pop() if dims else probe.shape[1],
            probe=probe,
            precision=ctx.spec.stages.evaluate.precision,
            shards=[str(s) for s in shards],
        )
    return f"{LAYOUT}/embeddings.json"
