"""The stages of a study, each a thin call into an existing engine that writes tidy, validated tables.

| stage | engine | writes (under the study folder) |
|---|---|---|
| count | ``wag.frequency.count_captions`` (every declared variant) | ``concepts.parquet``, ``count/frequencies.parquet``, ``count/hits.parquet``, ``count/corpus.json`` |
| tag | ``wag.frequency.tagging`` (open_clip zero-shot, RAM++ or a tagger checkpoint; threads or Dask, shard by shard) | ``tag/tags.parquet`` (scores), ``tag/frequencies.parquet``, ``tag/hits.parquet`` |
| integrate | ``wag.frequency.integrated.integrated_counts`` | ``integrate/frequencies.parquet``, ``integrate/hits.parquet`` |
| misalignment | ``wag.frequency.misalignment.misalignment`` | ``misalignment/misalignment.parquet`` |
| zeroshot | ``wag.evaluate.zeroshot.evaluate_zeroshot`` | ``zeroshot/performance.parquet`` |
| retrieval | ``wag.evaluate.retrieval.evaluate_retrieval`` | ``retrieval/performance.parquet`` |
| t2i | ``wag.evaluate.t2i.evaluate_t2i`` per declared pipeline (CLIP-score; judged accuracy with ``stages.t2i.judge``) | ``t2i/performance.parquet`` (task t2i), ``t2i/images/`` |
| letitwag | ``wag.evaluate.letitwag.build_let_it_wag`` + zero-shot on it | ``letitwag/benchmark/``, ``letitwag/frequencies.parquet``, ``letitwag/performance.parquet`` |

Every table carries the study's names (``pretraining`` = corpus name, ``model`` = model name,
``dataset`` = dataset name) and the concept ``key``, and is checked against its contract
(:mod:`wag.core.tables`) before it is written atomically. Each stage has a fingerprint of its inputs
(files by path, size and mtime; parameters; the fingerprints of the stages it reads), which the
runner (:mod:`wag.study.run`) compares with the record of the last run.

``study.corpus.exclude`` (a file of sample ids) leaves samples out of the corpus: the count stage drops
their captions and hits, the tag stage skips their images before decoding them (so they cost nothing, and
integrate and misalignment see the filtered corpus too).
"""

from __future__ import annotations

import contextlib
import shutil
import warnings
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from wag.artifacts import paper_root
from wag.concepts import concept_table, extract_nouns, parse_concept, read_concepts, released_concepts
from wag.core.ids import content_key, slug, stat_fingerprint, tree_fingerprint
from wag.core.io import read_json, write_json, write_parquet
from wag.core.tables import COLUMNS, validate, variant_name
from wag.corpus import iter_batches, iter_shards
from wag.evaluate.datasets import (
    IMAGE_EXTS,
    image_folder,
    load_classification,
    load_retrieval,
    webdataset_classification,
)
from wag.evaluate.letitwag import build_let_it_wag
from wag.evaluate.models import ModelWeightsMissingError, UnknownModelError, as_loaded_model, load_clip, resolve_name
from wag.evaluate.params import T2IParams
from wag.frequency import count_captions
from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
from wag.frequency.integrated import integrated_counts
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import RamPlusPlusTagger, image_counts, image_hits, iter_shard_images, write_tags
from wag.study.spec import DatasetSpec, StudyError, StudySpec, t2i_clip_model

# ---------------------------------------------------------------------------------------------
# Context: the spec, its shards, loaded models and the concept table, computed once per run
# ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What the stages of one run share."""

    spec: StudySpec
    shards: list[Path]
    progress: bool = True
    models: dict[str, Any] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.spec.output_path

    @property
    def main_variant(self) -> str:
        """The study's main text count variant (the first declared)."""
        return self.spec.stages.count.variants[0]

    def model(self, name_or_spec: str) -> Any:
        """A loaded model by declared name or spec (loaded once per run)."""
        spec = self.spec.model_spec(name_or_spec)
        if spec not in self.models:
            e = self.spec.stages.evaluate
            self.models[spec] = load_model(spec, device=e.device, precision=e.precision)
        return self.models[spec]

    @cached_property
    def concepts(self) -> pd.DataFrame:
        return study_concepts(self.spec)

    @cached_property
    def concept_names(self) -> list[str]:
        return list(dict.fromkeys(self.concepts["concept"]))


def load_model(spec: str, *, device: str = "cpu", precision: str = "fp32") -> Any:
    """A CLIP model from a registry name, ``ARCH@checkpoint`` (``wag.evaluate.models.load_clip``) or an open_clip ``ARCH/tag``,
    at inference ``precision``."""
    if "@" not in spec:
        try:
            resolve_name(spec)
        except UnknownModelError:
            import open_clip  # heavy (torch): only when a model is loaded

            arch, _, tag = spec.partition("/")
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=tag)
            except Exception as exc:  # open_clip raises RuntimeError / OSError / HF errors when weights are absent
                raise ModelWeightsMissingError(
                    f"open_clip model {spec} could not be loaded ({type(exc).__name__}: {str(exc)[:300]}); "
                    "download its weights or give ARCH@path/to/checkpoint"
                ) from None
            return as_loaded_model(
                model,
                preprocess,
                open_clip.get_tokenizer(arch),
                device,
                name=spec,
                arch=arch,
                pretrained=tag,
                backbone=arch,
                source=tag,
                fingerprint=spec,
                precision=precision,
            )
    return load_clip(spec, device=device, precision=precision)


def classification_data(spec: StudySpec, d: DatasetSpec) -> Any:
    """The ``ClassificationData`` of a declared classification dataset."""
    if d.kind == "imagefolder":
        return image_folder(spec.path(d.path or ""), name=d.name)
    if d.kind == "wds":
        return webdataset_classification(spec.path(d.path or ""), name=d.name)
    data = load_classification(d.torchvision or d.name, spec.path(d.path or "data"))
    data.name = d.name
    return data


def retrieval_data(spec: StudySpec, d: DatasetSpec) -> Any:
    return load_retrieval(
        spec.path(d.annotations or ""),
        spec.path(d.path or ""),
        name=d.name,
        captions_per_image=spec.stages.evaluate.captions_per_image,
    )


def study_concepts(spec: StudySpec) -> pd.DataFrame:
    """The concepts table of a study: its concept lists plus the class names of every classification dataset."""
    parts = []
    for c in spec.concepts:
        if c.file:
            t = read_concepts(str(spec.path(c.file)), dataset=c.dataset, task=c.task)
        else:  # the paper's concept list of a dataset: the released files
            t = released_concepts(str(paper_root()), datasets=[c.paper])
            if t.empty:
                raise StudyError(f"study.concepts: the paper has no concept list for '{c.paper}'")
        parts.append(t.assign(dataset=c.dataset, task=c.task))
    declared = {c.dataset for c in spec.concepts}
    for d in spec.datasets:
        if d.kind == "retrieval":
            if d.name not in declared:
                data = retrieval_data(spec, d)
                nouns = extract_nouns([x for caps in data.captions for x in caps], min_samples=1)["noun"].tolist()
                parts.append(concept_table(nouns, dataset=d.name, task="retrieval"))
            continue
        parts.append(concept_table(classification_data(spec, d).classnames, dataset=d.name, task="classification"))
    if not parts:
        raise StudyError("study declares no concepts: add study.concepts (a concept file) or a classification dataset")
    df = pd.concat(parts, ignore_index=True).drop_duplicates(["concept", "dataset"], ignore_index=True)
    df["aliases"] = df["aliases"].map(list)
    return validate(df, "concepts")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def write_table(path: Path, df: pd.DataFrame, table: str) -> Path:
    """Validate ``df`` against ``table`` and write it atomically (contract columns first)."""
    validate(df, table)
    cols = COLUMNS[table] + [c for c in df.columns if c not in COLUMNS[table]]
    return write_parquet(path, df[cols].reset_index(drop=True))


def _fan_out(per_concept: pd.DataFrame, concepts: pd.DataFrame) -> pd.DataFrame:
    """Rows per concept name → rows per (concept, dataset) of the study, with ``key``."""
    rows = per_concept.drop(columns=["dataset", "key"], errors="ignore").drop_duplicates(ignore_index=True)
    return concepts[["concept", "key", "dataset"]].merge(rows, on="concept", how="inner")


def _hits(df: pd.DataFrame, method: str, variant: str) -> pd.DataFrame:
    h = df[["concept", "sample_id"]].astype(str).drop_duplicates(ignore_index=True)
    return h.assign(method=method, variant=variant)


def iter_corpus_images(ctx: Context) -> Iterator[tuple[str, Any]]:
    """(sample_id, PIL image) of every corpus sample with an image; ids equal the caption side's ids."""
    for p in ctx.shards:
        yield from shard_images(p, ctx.spec.corpus)


def shard_images(path: Path | str, c: Any, skip: Container[str] = frozenset()) -> Iterator[tuple[str, Any]]:
    """(sample_id, PIL image) of the samples with an image in one corpus shard (``c``: the study's ``CorpusSpec``),
    except the sample ids in ``skip`` (``study.corpus.exclude``: never opened, so never decoded or tagged)."""
    for shard in iter_shards([str(path)], c.format):
        if shard.fmt == "wds":
            yield from iter_shard_images([shard], skip)
            continue
        if shard.fmt != "parquet" or not c.image_column:
            raise StudyError(
                f"cannot read images of {shard.path}: tagging needs WebDataset shards or Parquet with study.corpus.image_column"
            )
        import io

        import pyarrow.parquet as pq

        ids = [
            x
            for b in iter_batches(shard, caption_column=c.caption_column, id_column=c.id_column)
            for x in b.column(0).to_pylist()
        ]
        pf = pq.ParquetFile(shard.path)
        if c.image_column not in pf.schema_arrow.names:
            raise StudyError(
                f"{shard.path}: no image column '{c.image_column}' (columns: {', '.join(pf.schema_arrow.names)}); fix study.corpus.image_column"
            )
        i = 0
        for b in pf.iter_batches(columns=[c.image_column]):
            for v in b.column(0).to_pylist():
                sid = ids[i]
                i += 1
                blob = v.get("bytes") if isinstance(v, dict) else v
                if not blob or str(sid) in skip:
                    continue
                try:
                    yield sid, Image.open(io.BytesIO(blob))
                except UnidentifiedImageError:
                    continue


def corpus_ids(ctx: Context) -> pd.Series:
    """Every caption sample id of the corpus (for the id-space check of integrated counts)."""
    c = ctx.spec.corpus
    ids = [
        x
        for s in iter_shards([str(p) for p in ctx.shards], c.format)
        for b in iter_batches(s, caption_column=c.caption_column, id_column=c.id_column)
        for x in b.column(0).to_pylist()
    ]
    return pd.Series(ids, dtype=str)


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


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A stage: upstream stages, whether the study declares what it needs, its own inputs and its run."""

    name: str
    deps: tuple[str, ...]
    enabled: Callable[[StudySpec], bool]
    inputs: Callable[[Context], dict[str, Any]]
    run: Callable[[Context], list[str]]
    why_off: str = ""


def _models_fp(ctx: Context) -> list[Any]:
    out = []
    for m in ctx.spec.models:
        s = ctx.spec.model_spec(m.model)
        out.append([m.name, s, ctx.spec.model_pretraining(m), _checkpoint_fp(s)])
    return out


def _checkpoint_fp(model_spec: str | None) -> Any:
    """Fingerprint of the checkpoint file of an ``ARCH@path`` model spec (None for named models)."""
    return tree_fingerprint(Path(model_spec.partition("@")[2])) if model_spec and "@" in model_spec else None


def _precision_input(ctx: Context) -> dict[str, str]:
    """The inference precision, as an input of the stages that run CLIP models, when it is not the default (so the
    fp32 inputs, and the records of studies run before the option existed, stay as they were)."""
    p = ctx.spec.stages.evaluate.precision
    return {} if p == "fp32" else {"precision": p}


def _dataset_fp(ctx: Context, d: DatasetSpec) -> list[Any]:
    if d.kind == "torchvision":
        return [d.name, d.torchvision or d.name, str(ctx.spec.path(d.path or "data"))]
    files = tree_fingerprint(ctx.spec.path(d.path or ""))
    return [d.name, d.kind, files, tree_fingerprint(ctx.spec.path(d.annotations)) if d.annotations else None]


def _concepts_fp(ctx: Context, datasets: list[str] | None = None) -> str:
    c = ctx.concepts if datasets is None else ctx.concepts[ctx.concepts["dataset"].isin(datasets)]
    return content_key(
        [c["concept"].tolist(), c["dataset"].tolist(), c["task"].tolist(), [list(a) for a in c["aliases"]]]
    )


# -- count ----------------------------------------------------------------------------------


def _count_inputs(ctx: Context) -> dict[str, Any]:
    c, o = ctx.spec.corpus, ctx.spec.stages.count
    return {
        "shards": [stat_fingerprint(p) for p in ctx.shards],
        "corpus": c.model_dump(),
        "concepts": _concepts_fp(ctx),
        "variants": list(o.variants),
        "exclude": tree_fingerprint(ctx.spec.path(c.exclude)) if c.exclude else None,
    }


def excluded_ids(spec: StudySpec) -> set[str]:
    """The sample ids of ``study.corpus.exclude`` (empty set without one); a missing file is a :class:`StudyError`."""
    c = spec.corpus
    if not c.exclude:
        return set()
    p = spec.path(c.exclude)
    if not p.is_file():
        raise StudyError(
            f"study.corpus.exclude: no file {p}; give a file of sample ids (one per line) or remove the key"
        )
    return {x.strip() for x in p.read_text(encoding="utf-8").splitlines() if x.strip()}


def _drop_excluded(res: Any, excl: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts, hits) of one count result without the hits of the excluded samples (counts are hits per concept)."""
    hits, counts = res.hits, res.counts.copy()
    if not excl:
        return counts, hits
    gone = hits["sample_id"].astype(str).isin(excl)
    removed = hits.loc[gone, "concept"].astype(str).value_counts()
    counts["count"] = (counts["count"] - counts["concept"].astype(str).map(removed).fillna(0)).astype(
        counts["count"].dtype
    )
    return counts, hits[~gone].reset_index(drop=True)


@contextlib.contextmanager
def _dask_client(o: Any) -> Iterator[Any]:
    """One Dask client for every variant of the count stage: the declared scheduler, else a local cluster (None off Dask)."""
    if o.backend != "dask":
        yield None
        return
    from distributed import Client, LocalCluster

    if o.scheduler:
        with Client(o.scheduler) as client:
            yield client
        return
    with (
        LocalCluster(n_workers=o.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _count(ctx: Context) -> list[str]:
    c, o = ctx.spec.corpus, ctx.spec.stages.count
    freq, hits, n = [], [], 0
    excl = excluded_ids(ctx.spec)
    with _dask_client(o) as client:
        results = [
            (
                v,
                count_captions(
                    [str(p) for p in ctx.shards],
                    ctx.concepts,
                    variant=v,
                    fmt=c.format,
                    workers=o.workers,
                    out_dir=ctx.out / "count" / "engine" / v,
                    progress=ctx.progress,
                    pretraining=c.name,
                    backend=o.backend,
                    client=client,
                    caption_column=c.caption_column,
                    id_column=c.id_column,
                    batch_size=o.batch_size,
                ),
            )
            for v in o.variants
        ]
    for v, res in results:
        if res.failures:
            raise StudyError(
                "unreadable shards (fix or remove them from study.corpus.shards):\n  "
                + "\n  ".join(f"{p}: {w}" for p, w in res.failures)
            )
        counts, kept = _drop_excluded(res, excl)
        freq.append(_fan_out(counts.assign(variant=variant_name("text", text=v)), ctx.concepts))
        hits.append(_hits(kept, "text", v))
        n = res.n_captions
    if excl:
        n -= int(corpus_ids(ctx).isin(excl).sum())
    write_table(ctx.out / "concepts.parquet", ctx.concepts, "concepts")
    write_table(ctx.out / "count" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "count" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    write_json(
        ctx.out / "count" / "corpus.json",
        {"pretraining": c.name, "n_captions": n, "n_shards": len(ctx.shards), "excluded": len(excl)},
    )
    return ["concepts.parquet", "count/frequencies.parquet", "count/hits.parquet", "count/corpus.json"]


# -- tag ------------------------------------------------------------------------------------


def _tag_inputs(ctx: Context) -> dict[str, Any]:
    t = ctx.spec.tagger
    model = None
    if t.kind == "openclip":
        s = ctx.spec.model_spec(t.model or "")
        model = [s, _checkpoint_fp(s)]
    elif t.kind in ("rampp", "checkpoint"):
        model = tree_fingerprint(ctx.spec.path(t.model or ""))
    return {
        "shards": [stat_fingerprint(p) for p in ctx.shards],
        "corpus": ctx.spec.corpus.model_dump(),
        "concepts": _concepts_fp(ctx),
        "tagger": t.model_dump(),
        "label": ctx.spec.tagger_label,
        "model": model,
        **(_precision_input(ctx) if t.kind == "openclip" else {}),
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


class _Counted:
    """An iterator that counts what passed through it."""

    def __init__(self, it: Iterator[Any]) -> None:
        self.it, self.n = it, 0

    def __iter__(self) -> Iterator[Any]:
        for x in self.it:
            self.n += 1
            yield x


def _tag_one(
    tagger: Any, path: Path | str, corpus: Any, loader_threads: int, skip: Container[str] = frozenset()
) -> tuple[pd.DataFrame, int]:
    """Tags of one shard and the number of its images tagged (shard by shard, so every backend forms the same batches);
    the samples in ``skip`` are left out before their images are opened."""
    if hasattr(tagger, "loader_threads"):
        tagger.loader_threads = loader_threads
    images = _Counted(shard_images(path, corpus, skip))
    return tagger.tag(images), images.n


_WORKER_TAGGERS: dict[str, tuple[Any, frozenset[str]]] = {}


def _tag_shard_task(spec: StudySpec, concepts: pd.DataFrame, path: str) -> tuple[pd.DataFrame, int]:
    """A Dask task: tag one shard with the study's tagger, built (with the excluded ids) once per worker process."""
    key = content_key([spec.model_dump(mode="json"), concepts["concept"].tolist()])
    if key not in _WORKER_TAGGERS:
        wctx = Context(spec, [Path(path)], progress=False)
        wctx.__dict__["concepts"] = concepts  # the driver's concept table (cached_property slot)
        _WORKER_TAGGERS.clear()
        _WORKER_TAGGERS[key] = (make_tagger(wctx), frozenset(excluded_ids(spec)))
    tagger, skip = _WORKER_TAGGERS[key]
    return _tag_one(tagger, path, spec.corpus, spec.stages.tag.loader_threads, skip)


def tag_corpus(ctx: Context) -> tuple[pd.DataFrame, int]:
    """Tags of every corpus image and the number of images tagged, in shard order, on the declared backend
    (``stages.tag``: threads in this process, or one Dask task per shard on a local cluster / scheduler). The samples
    of ``study.corpus.exclude`` are skipped before their images are decoded."""
    o = ctx.spec.stages.tag
    bar = tqdm(total=len(ctx.shards), desc="tag shards", unit="shard", disable=not ctx.progress)
    if o.backend == "dask":
        from distributed import as_completed

        with _dask_client(o) as client:
            futures = [client.submit(_tag_shard_task, ctx.spec, ctx.concepts, str(p), pure=False) for p in ctx.shards]
            for _ in as_completed(futures):
                bar.update()
            results = client.gather(futures)
    else:
        tagger, skip = make_tagger(ctx), frozenset(excluded_ids(ctx.spec))

        def one(p: Path) -> tuple[pd.DataFrame, int]:
            r = _tag_one(tagger, p, ctx.spec.corpus, o.loader_threads, skip)
            bar.update()
            return r

        if o.workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(o.workers, thread_name_prefix="wag-tag") as pool:
                results = list(pool.map(one, ctx.shards))
        else:
            results = [one(p) for p in ctx.shards]
    bar.close()
    parts = [t for t, _ in results if len(t)]
    tags = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["sample_id", "concept", "score"])
    return tags, sum(n for _, n in results)


def _tag(ctx: Context) -> list[str]:
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
        freq.append(_fan_out(cnt.assign(variant=v), ctx.concepts))
        hits.append(_hits(image_hits(tags, th), "image", v))
    write_table(ctx.out / "tag" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "tag" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    write_json(
        ctx.out / "tag" / "summary.json",
        {"tagger": label, "images_tagged": int(n_images), "excluded": len(excl), "thresholds": list(t.thresholds)},
    )
    return ["tag/tags.parquet", "tag/frequencies.parquet", "tag/hits.parquet", "tag/summary.json"]


# -- integrate / misalignment ---------------------------------------------------------------


def _joint_inputs(ctx: Context) -> dict[str, Any]:
    t = ctx.spec.tagger
    return {"thresholds": list(t.thresholds), "headline": t.headline, "text_variant": ctx.main_variant}


def _text_hits(ctx: Context) -> pd.DataFrame:
    h = pd.read_parquet(ctx.out / "count" / "hits.parquet")
    return h[h["variant"] == ctx.main_variant]


def _integrate(ctx: Context) -> list[str]:
    label = ctx.spec.tagger_label
    text_hits, tags = _text_hits(ctx), pd.read_parquet(ctx.out / "tag" / "tags.parquet")
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
        freq.append(_fan_out(cnt, ctx.concepts))
        img = tags.loc[tags["score"] >= th, ["concept", "sample_id"]].astype(str)
        hits.append(
            _hits(
                text_hits[["concept", "sample_id"]].astype(str).merge(img, on=["concept", "sample_id"]), "integrated", v
            )
        )
    write_table(ctx.out / "integrate" / "frequencies.parquet", pd.concat(freq, ignore_index=True), "frequencies")
    write_table(ctx.out / "integrate" / "hits.parquet", pd.concat(hits, ignore_index=True), "hits")
    return ["integrate/frequencies.parquet", "integrate/hits.parquet"]


def _misalignment(ctx: Context) -> list[str]:
    text_hits, tags = _text_hits(ctx), pd.read_parquet(ctx.out / "tag" / "tags.parquet")
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
    return ["misalignment/misalignment.parquet"]


# -- evaluation -----------------------------------------------------------------------------


def _performance(df: pd.DataFrame, ctx: Context, model: str, pretraining: str) -> pd.DataFrame:
    out = df.assign(model=model, pretraining=pretraining)
    keys = ctx.concepts[["concept", "dataset", "key"]]
    out = out.drop(columns=["key"], errors="ignore").merge(keys, on=["concept", "dataset"], how="left")
    miss = out["key"].isna()
    out.loc[miss, "key"] = out.loc[miss, "concept"].map(lambda c: parse_concept(c).key)
    out["value"] = out["value"].astype(float)
    return out


def _zeroshot_inputs(ctx: Context) -> dict[str, Any]:
    e = ctx.spec.stages.evaluate
    return {
        "models": _models_fp(ctx),
        "datasets": [_dataset_fp(ctx, d) for d in ctx.spec.datasets if d.task == "classification"],
        "prompts": list(e.prompts),
        **_precision_input(ctx),
    }


def _zeroshot(ctx: Context) -> list[str]:
    from wag.evaluate.zeroshot import evaluate_zeroshot  # imports torch: only when models are evaluated

    e = ctx.spec.stages.evaluate
    parts = []
    for d in [d for d in ctx.spec.datasets if d.task == "classification"]:
        data = classification_data(ctx.spec, d)
        for m in ctx.spec.models:
            for p in e.prompts:
                df = evaluate_zeroshot(
                    ctx.model(m.name),
                    data,
                    prompt=p,
                    dataset_name=d.name,
                    batch_size=e.batch_size,
                    cache=e.cache_features,
                    progress=ctx.progress,
                )
                parts.append(_performance(df, ctx, m.name, ctx.spec.model_pretraining(m)))
    write_table(ctx.out / "zeroshot" / "performance.parquet", pd.concat(parts, ignore_index=True), "performance")
    return ["zeroshot/performance.parquet"]


def _retrieval_inputs(ctx: Context) -> dict[str, Any]:
    e = ctx.spec.stages.evaluate
    return {
        "models": _models_fp(ctx),
        "datasets": [_dataset_fp(ctx, d) for d in ctx.spec.datasets if d.kind == "retrieval"],
        "ks": list(e.ks),
        "captions_per_image": e.captions_per_image,
        "min_images": e.min_images,
        "concepts": _concepts_fp(ctx, [d.name for d in ctx.spec.datasets if d.kind == "retrieval"]),
        "variant": ctx.main_variant,
        **_precision_input(ctx),
    }


def _retrieval(ctx: Context) -> list[str]:
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
            parts.append(_performance(df, ctx, m.name, ctx.spec.model_pretraining(m)))
    write_table(ctx.out / "retrieval" / "performance.parquet", pd.concat(parts, ignore_index=True), "performance")
    return ["retrieval/performance.parquet"]


# -- T2I ------------------------------------------------------------------------------------


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
    return [s, _checkpoint_fp(s)]


def _t2i_inputs(ctx: Context) -> dict[str, Any]:
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
        "clip": [clip, _checkpoint_fp(clip)],
        "aesthetic": tree_fingerprint(sp.path(o.aesthetic_weights)) if o.aesthetic_weights else None,
        "judge": _judge_fp(ctx),
        **_precision_input(ctx),
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


def _t2i(ctx: Context) -> list[str]:
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
        parts.append(_performance(df, ctx, m.name, sp.model_pretraining(m)))
    write_table(ctx.out / "t2i" / "performance.parquet", pd.concat(parts, ignore_index=True), "performance")
    return ["t2i/performance.parquet"]


# -- Let It Wag! -----------------------------------------------------------------------------


def _letitwag_inputs(ctx: Context) -> dict[str, Any]:
    lw = ctx.spec.stages.letitwag
    return {
        "pool": tree_fingerprint(ctx.spec.path(lw.images or "")),
        "options": lw.model_dump(),
        "seed": ctx.spec.seed,
        "variant": ctx.main_variant,
        "models": _models_fp(ctx),
        "prompts": list(ctx.spec.stages.evaluate.prompts),
        **_precision_input(ctx),
    }


def _letitwag(ctx: Context) -> list[str]:
    from wag.evaluate.zeroshot import evaluate_zeroshot  # imports torch: only when models are evaluated

    lw, e = ctx.spec.stages.letitwag, ctx.spec.stages.evaluate
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
    hint = (
        f"lower study.stages.letitwag.images_per_class (now {lw.images_per_class}) or phash_bits (now {bits}), "
        f"raise k (now {lw.k}), or add images of these concepts to the pool {pool}"
    )
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
    perf = []
    for m in ctx.spec.models:
        for p in e.prompts:
            df = evaluate_zeroshot(
                ctx.model(m.name),
                data,
                prompt=p,
                dataset_name=lw.name,
                batch_size=e.batch_size,
                cache=False,
                progress=ctx.progress,
            )
            perf.append(_performance(df, ctx, m.name, ctx.spec.model_pretraining(m)))
    allf = pd.read_parquet(ctx.out / "count" / "frequencies.parquet")
    bf = allf[allf["concept"].isin(names)].drop_duplicates(["concept", "variant"]).assign(dataset=lw.name)
    write_table(ctx.out / "letitwag" / "frequencies.parquet", bf, "frequencies")
    outs = ["letitwag/benchmark/datasheet.json", "letitwag/frequencies.parquet"]
    if perf:
        write_table(ctx.out / "letitwag" / "performance.parquet", pd.concat(perf, ignore_index=True), "performance")
        outs.append("letitwag/performance.parquet")
    return outs


#: The stages in run order (names also in :data:`wag.study.spec.STAGE_NAMES`, which the CLI reads without importing the engines).
STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("count", (), lambda sp: True, _count_inputs, _count),
        Stage("tag", (), lambda sp: sp.tagger.kind != "none", _tag_inputs, _tag, "study.tagger.kind is none"),
        Stage(
            "integrate",
            ("count", "tag"),
            lambda sp: sp.tagger.kind != "none",
            _joint_inputs,
            _integrate,
            "study.tagger.kind is none",
        ),
        Stage(
            "misalignment",
            ("count", "tag"),
            lambda sp: sp.tagger.kind != "none",
            _joint_inputs,
            _misalignment,
            "study.tagger.kind is none",
        ),
        Stage(
            "zeroshot",
            (),
            lambda sp: bool(sp.models) and any(d.task == "classification" for d in sp.datasets),
            _zeroshot_inputs,
            _zeroshot,
            "no models or no classification dataset declared",
        ),
        Stage(
            "retrieval",
            (),
            lambda sp: bool(sp.models) and any(d.kind == "retrieval" for d in sp.datasets),
            _retrieval_inputs,
            _retrieval,
            "no models or no retrieval dataset declared",
        ),
        Stage("t2i", (), lambda sp: bool(sp.t2i), _t2i_inputs, _t2i, "no study.t2i pipelines declared"),
        Stage(
            "letitwag",
            ("count",),
            lambda sp: bool(sp.stages.letitwag.images),
            _letitwag_inputs,
            _letitwag,
            "no study.stages.letitwag.images pool declared",
        ),
    )
}
