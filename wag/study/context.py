"""What the stages of a study share: the :class:`Stage` declaration, the per-run :class:`Context`, and its helpers.

* :class:`Context`: the spec, its shards, the models loaded so far and the study's concept table (built once per
  run, or given: a Dask worker gets the driver's).
* loading: :func:`load_model` (registry name, ``ARCH@checkpoint`` or open_clip ``ARCH/tag``),
  :func:`classification_data`, :func:`retrieval_data`, :func:`study_concepts`.
* fingerprints of stage inputs (:func:`models_fp`, :func:`checkpoint_fp`, :func:`dataset_fp`, :func:`concepts_fp`,
  :func:`precision_input`), built on :mod:`wag.core.ids`: a stage's input digest is
  ``content_key(inputs + upstream digests)`` (:mod:`wag.study.run`).
* tables: :func:`write_table` (validated, atomic), :func:`fan_out`, :func:`hit_rows`, :func:`performance_rows`,
  :func:`main_text_hits`; the corpus: :func:`corpus_ids`, :func:`excluded_ids` (``study.corpus.exclude``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from wag.artifacts import paper_root
from wag.concepts import concept_table, extract_nouns, parse_concept, read_concepts, released_concepts
from wag.core.ids import content_key, tree_fingerprint
from wag.core.io import write_parquet
from wag.core.tables import COLUMNS, validate
from wag.corpus import CorpusError, iter_batches, iter_shards
from wag.evaluate.datasets import (
    empty_class_folders,
    image_folder,
    load_classification,
    load_retrieval,
    webdataset_classification,
)
from wag.evaluate.models import ModelWeightsMissingError, UnknownModelError, as_loaded_model, load_clip, resolve_name
from wag.study.spec import DatasetSpec, StudyError, StudySpec

# ---------------------------------------------------------------------------------------------
# The per-run context and the stage declaration
# ---------------------------------------------------------------------------------------------


class Context:
    """What the stages of one run share: the spec, its shards, the models loaded so far, the concept table.

    ``concepts``: the study's concept table when the caller has it already (a Dask worker gets the driver's); else it
    is built from the spec on first use (:func:`study_concepts`).
    """

    def __init__(
        self,
        spec: StudySpec,
        shards: Sequence[Path],
        progress: bool = True,
        *,
        concepts: pd.DataFrame | None = None,
    ) -> None:
        self.spec = spec
        self.shards = list(shards)
        self.progress = progress
        self.models: dict[str, Any] = {}
        self._concepts = concepts

    @property
    def out(self) -> Path:
        """The study folder."""
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

    @property
    def concepts(self) -> pd.DataFrame:
        """The study's concepts table (its concept lists plus the class names of its classification datasets)."""
        if self._concepts is None:
            self._concepts = study_concepts(self.spec)
        return self._concepts

    @cached_property
    def concept_names(self) -> list[str]:
        """The unique concept names, in table order."""
        return list(dict.fromkeys(self.concepts["concept"]))


def always(spec: StudySpec) -> bool:
    """A stage that runs for every study."""
    return True


@dataclass(frozen=True)
class Stage:
    """A stage of a study: its name, its own inputs, its run, what it writes and which stages it reads.

    ``inputs(ctx)`` is the JSON-able record of what the stage's results depend on (the runner adds the digests of
    the ``upstream`` stages and keys the stage by the digest of the whole); ``run(ctx)`` writes the stage's tables
    and returns the ones it wrote (each one of ``outputs``, paths under the study folder); ``enabled(spec)`` says
    whether the study declares what the stage needs (``why_off`` says what is missing when it does not).
    """

    name: str
    inputs: Callable[[Context], dict[str, Any]]
    run: Callable[[Context], list[str]]
    outputs: tuple[str, ...]
    upstream: tuple[str, ...] = ()
    enabled: Callable[[StudySpec], bool] = always
    why_off: str = ""


# ---------------------------------------------------------------------------------------------
# Models, data sets and concepts of the study
# ---------------------------------------------------------------------------------------------


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
        return image_folder(spec.path(d.path or ""), name=d.name, empty_classes=d.empty_classes)
    if d.kind == "wds":
        return webdataset_classification(spec.path(d.path or ""), name=d.name)
    data = load_classification(d.torchvision or d.name, spec.path(d.path or "data"))
    data.name = d.name
    return data


def retrieval_data(spec: StudySpec, d: DatasetSpec) -> Any:
    """The ``RetrievalData`` of a declared retrieval dataset."""
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
# Fingerprints of stage inputs
# ---------------------------------------------------------------------------------------------


def checkpoint_fp(model_spec: str | None) -> Any:
    """Fingerprint of the checkpoint file of an ``ARCH@path`` model spec (None for named models)."""
    return tree_fingerprint(Path(model_spec.partition("@")[2])) if model_spec and "@" in model_spec else None


def models_fp(ctx: Context) -> list[Any]:
    """Name, spec, pretraining name and checkpoint fingerprint of every declared model."""
    out = []
    for m in ctx.spec.models:
        s = ctx.spec.model_spec(m.model)
        out.append([m.name, s, ctx.spec.model_pretraining(m), checkpoint_fp(s)])
    return out


def precision_input(ctx: Context) -> dict[str, str]:
    """The inference precision, as an input of the stages that run CLIP models, when it is not the default (so the
    fp32 inputs, and the records of studies run before the option existed, stay as they were)."""
    p = ctx.spec.stages.evaluate.precision
    return {} if p == "fp32" else {"precision": p}


def corpus_input(ctx: Context) -> dict[str, Any]:
    """The corpus declaration as a stage input; ``on_corrupt`` only when it is not the default (so the inputs of
    studies run before the option existed stay as they were: with ``error`` a damaged shard stops the stage)."""
    c = ctx.spec.corpus
    return c.model_dump(exclude=set() if c.on_corrupt != "error" else {"on_corrupt"})


def dataset_fp(ctx: Context, d: DatasetSpec) -> list[Any]:
    """A declared dataset: its name and kind with the fingerprints of its files (torchvision: its name and folder);
    ``empty_classes`` when it is not the default and the empty class folders when there are any (keys of earlier
    studies without them unchanged)."""
    if d.kind == "torchvision":
        return [d.name, d.torchvision or d.name, str(ctx.spec.path(d.path or "data"))]
    files = tree_fingerprint(ctx.spec.path(d.path or ""))
    fp = [d.name, d.kind, files, tree_fingerprint(ctx.spec.path(d.annotations)) if d.annotations else None]
    if d.kind != "imagefolder":
        return fp
    empty = empty_class_folders(ctx.spec.path(d.path or ""))  # folders without files change the classes, not `files`
    return fp + ([d.empty_classes] if d.empty_classes != "skip" else []) + ([["empty", empty]] if empty else [])


def concepts_fp(ctx: Context, datasets: list[str] | None = None) -> str:
    """A key of the study's concepts (names, datasets, tasks, aliases), of every dataset or of ``datasets``."""
    c = ctx.concepts if datasets is None else ctx.concepts[ctx.concepts["dataset"].isin(datasets)]
    return content_key(
        [c["concept"].tolist(), c["dataset"].tolist(), c["task"].tolist(), [list(a) for a in c["aliases"]]]
    )


# ---------------------------------------------------------------------------------------------
# Tables and the corpus
# ---------------------------------------------------------------------------------------------


def write_table(path: Path, df: pd.DataFrame, table: str) -> Path:
    """Validate ``df`` against ``table`` and write it atomically (contract columns first)."""
    validate(df, table)
    cols = COLUMNS[table] + [c for c in df.columns if c not in COLUMNS[table]]
    return write_parquet(path, df[cols].reset_index(drop=True))


def fan_out(per_concept: pd.DataFrame, concepts: pd.DataFrame) -> pd.DataFrame:
    """Rows per concept name → rows per (concept, dataset) of the study, with ``key``."""
    rows = per_concept.drop(columns=["dataset", "key"], errors="ignore").drop_duplicates(ignore_index=True)
    return concepts[["concept", "key", "dataset"]].merge(rows, on="concept", how="inner")


def hit_rows(df: pd.DataFrame, method: str, variant: str) -> pd.DataFrame:
    """The distinct (concept, sample_id) hits of ``df`` as strings, as rows of the hits table of ``method, variant``."""
    h = df[["concept", "sample_id"]].astype(str).drop_duplicates(ignore_index=True)
    return h.assign(method=method, variant=variant)


def performance_rows(df: pd.DataFrame, ctx: Context, model: str, pretraining: str) -> pd.DataFrame:
    """An evaluation's rows with the study's names (``model``, ``pretraining``) and each concept's ``key``."""
    out = df.assign(model=model, pretraining=pretraining)
    keys = ctx.concepts[["concept", "dataset", "key"]]
    out = out.drop(columns=["key"], errors="ignore").merge(keys, on=["concept", "dataset"], how="left")
    miss = out["key"].isna()
    out.loc[miss, "key"] = out.loc[miss, "concept"].map(lambda c: parse_concept(c).key)
    out["value"] = out["value"].astype(float)
    return out


def main_text_hits(ctx: Context) -> pd.DataFrame:
    """The count stage's hits of the main text variant."""
    h = pd.read_parquet(ctx.out / "count" / "hits.parquet")
    return h[h["variant"] == ctx.main_variant]


def joint_inputs(ctx: Context) -> dict[str, Any]:
    """The own inputs of the stages that join text hits and image tags (integrate, misalignment)."""
    t = ctx.spec.tagger
    return {"thresholds": list(t.thresholds), "headline": t.headline, "text_variant": ctx.main_variant}


def corpus_ids(ctx: Context) -> pd.Series:
    """Every caption sample id of the corpus (for the id-space check of integrated counts); with
    ``study.corpus.on_corrupt: skip`` the shards that cannot be read whole are left out, as the stages leave them."""
    c = ctx.spec.corpus
    ids: list[str] = []
    for s in iter_shards([str(p) for p in ctx.shards], c.format):
        try:
            ids += [
                x
                for b in iter_batches(s, caption_column=c.caption_column, id_column=c.id_column)
                for x in b.column(0).to_pylist()
            ]
        except CorpusError:
            if c.on_corrupt != "skip":
                raise
    return pd.Series(ids, dtype=str)


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
