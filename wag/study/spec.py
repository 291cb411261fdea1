"""A study declared in a profile (``study:``): the user's corpus, concepts, tagger, models and test sets.

The names given here are the names every table of the study carries: ``pretraining`` = the corpus
name, ``model`` = a model's name, ``dataset`` = a downstream set's name, so the tables of one stage
join the next one's on those columns with no hand-made key.

Two checks: the schema (pydantic, strict) rejects unknown keys, bad kinds, duplicate names and
thresholds outside (0, 1) when the profile is loaded; :func:`wag.study.checks.check_inputs` (run by
``wag study run`` before any stage) checks what needs the file system or the model registry: shard globs that match
nothing, missing folders and checkpoints, unknown model and torchvision names. Relative paths are
resolved against ``root`` (itself relative to the project root).

Over 400 lines on purpose: this is the whole ``study:`` schema, one small pydantic model per section, each field with
the description ``wag study schema`` prints; split across files it would no longer read as one declaration.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from wag.core.errors import WagError
from wag.core.paths import resolve
from wag.core.schema import StrictModel

CORPUS_FORMATS = ("parquet", "tsv", "tsv-cc3m", "tsv-cc12m", "tsv-yfcc15m", "jsonl", "wds")  # wag.corpus.FORMATS
Name = str
#: The stages of a study, in run order (implemented in :mod:`wag.study.stages`).
STAGE_NAMES = ("count", "tag", "integrate", "misalignment", "zeroshot", "retrieval", "t2i", "letitwag")


class StudyError(WagError, ValueError):
    """A study cannot run as declared; the message lists each problem with its fix."""


class CorpusSpec(StrictModel):
    """The pretraining corpus: caption (and image) shards."""

    name: Name = Field(description="name of the pretraining set; the `pretraining` column of every table")
    shards: list[str] = Field(min_length=1, description="shard files, folders or globs (relative to the study root)")
    format: Literal["parquet", "tsv", "tsv-cc3m", "tsv-cc12m", "tsv-yfcc15m", "jsonl", "wds"] | None = Field(
        None, description="shard format (default: from the file names: .parquet, .tsv, .jsonl, .tar = WebDataset)"
    )
    caption_column: str | None = Field(
        None, description="caption column / WebDataset json field (default: detected, or the .txt member)"
    )
    id_column: str | None = Field(
        None, description="sample id column (default: detected, else <file>:<row>; WebDataset: the key)"
    )
    image_column: str | None = Field(
        None, description="Parquet column holding encoded image bytes (WebDataset: the .jpg/.png member)"
    )
    exclude: str | None = Field(
        None,
        description="file of sample ids (one per line) left out of the corpus, e.g. a de-duplication or "
        "test-similarity filter: the count stage drops their captions and hits (relative to the study root)",
    )
    on_corrupt: Literal["error", "skip"] = Field(
        "error",
        description="a shard that cannot be read whole (a tar cut short, a damaged file): error (default: the stage "
        "stops, naming it) or skip (the stage leaves the whole shard out, warns, and lists it with the samples read "
        "before the damage in its record)",
    )


class ConceptSpec(StrictModel):
    """One concept list: a file, or the paper's list for one of its downstream datasets."""

    dataset: Name = Field(
        description="downstream dataset the concepts belong to (a declared dataset name, or any label)"
    )
    file: str | None = Field(
        None,
        description="concept file: .txt (one per line), .json (list or name -> aliases), .csv/.parquet (column concept)",
    )
    paper: str | None = Field(
        None, description="take the paper's concept list of this downstream dataset (needs the released files)"
    )
    task: Literal["classification", "retrieval", "t2i"] = Field(
        "classification", description="task the concepts are evaluated on"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ConceptSpec:
        if (self.file is None) == (self.paper is None):
            raise ValueError(f"concept list of '{self.dataset}': give exactly one of file: or paper:")
        return self


class TaggerSpec(StrictModel):
    """The image tagger that turns images into concept tags (image and integrated counts)."""

    kind: Literal["openclip", "embeddings", "rampp", "checkpoint", "none"] = Field(
        "none",
        description="openclip: zero-shot open_clip tagger; embeddings: the openclip tagger's score from stored image "
        "embeddings (no image decoded; docs/embeddings.md); rampp: the paper's RAM++; checkpoint: a trained multi-label "
        "tagger folder (tagger.json + tagger.safetensors, wag.frequency.checkpoint_tagger); none: no image counts",
    )
    model: str | None = Field(
        None,
        description="openclip / embeddings: a declared model name or a model spec (registry name, ARCH/pretrained-tag, "
        "ARCH@checkpoint; embeddings: the model that made them, which encodes the concept prompts); "
        "rampp: checkpoint path; checkpoint: the tagger checkpoint folder",
    )
    embeddings: str | None = Field(
        None,
        description="embeddings: a clip-retrieval / img2dataset folder (img_emb/img_emb_{i}.npy + "
        "metadata/metadata_{i}.parquet), or with embedding_column a Parquet file, folder or glob (relative to root)",
    )
    key_column: str = Field(
        "key", description="embeddings: the metadata (or Parquet) column holding the corpus sample keys"
    )
    embedding_column: str | None = Field(
        None, description="embeddings: the Parquet column holding each sample's vector (none: the .npy layout)"
    )
    on_key_mismatch: Literal["error", "skip"] = Field(
        "error",
        description="embeddings: corpus samples without an embedding, or embeddings of samples not in the corpus: "
        "error (default, before any work) or skip (left out, counted in tag/summary.json and one warning)",
    )
    name: str | None = Field(
        None, description="tagger label in variant names (tagger:<name>@<t>); default: the model name or the kind"
    )
    descriptions: str | None = Field(
        None, description="JSON file concept -> list of descriptions (required by rampp; optional prompts for openclip)"
    )
    thresholds: list[float] = Field(
        [0.7],
        min_length=1,
        description="tag probability thresholds, each in (0, 1); the paper: 0.7 (0.5, 0.6 ablation)",
    )
    threshold: float | None = Field(
        None,
        description="the headline threshold: the one of thresholds whose image and integrated counts the notebooks show "
        "(count types tagger:<name>@<t>, integrated:<name>@<t>) and misalignment uses; default: the first of "
        "thresholds (so [0.5, 0.7] makes 0.5 the headline: write threshold: 0.7 or list 0.7 first for the paper's)",
    )
    templates: list[str] = Field(
        ["a photo of a {}."], min_length=1, description="openclip prompts for concepts without descriptions"
    )
    batch_size: int = Field(64, ge=1, description="images per forward pass")
    min_score: float = Field(
        0.01, ge=0, lt=1, description="scores below this are not stored (keeps the tag table small)"
    )

    @model_validator(mode="after")
    def _check(self) -> TaggerSpec:
        bad = [
            t for t in [*self.thresholds, *([self.threshold] if self.threshold is not None else [])] if not 0 < t < 1
        ]
        if bad:
            raise ValueError(f"tagger thresholds must be in (0, 1); got {bad}")
        if self.threshold is not None and self.threshold not in self.thresholds:
            raise ValueError(f"tagger threshold {self.threshold} must be one of thresholds {self.thresholds}")
        if len(set(self.thresholds)) != len(self.thresholds):
            raise ValueError(f"tagger thresholds repeat a value: {self.thresholds}")
        if self.kind == "embeddings" and not self.embeddings:
            raise ValueError("tagger kind 'embeddings' needs embeddings: (the folder or Parquet files holding them)")
        if self.kind in ("openclip", "embeddings", "rampp", "checkpoint") and not self.model:
            need = {
                "openclip": "a model name or spec",
                "embeddings": "the model that made the embeddings: a model name or spec",
                "rampp": "the RAM++ checkpoint path",
                "checkpoint": "the tagger checkpoint folder",
            }[self.kind]
            raise ValueError(f"tagger kind '{self.kind}' needs model: ({need})")
        return self

    @property
    def headline(self) -> float:
        """The threshold of the image and integrated headlines and of misalignment: ``threshold`` when given, else the
        first of ``thresholds`` (the notebooks print which, :meth:`wag.sources.StudySource.describe`)."""
        return self.threshold if self.threshold is not None else self.thresholds[0]


class ModelSpec(StrictModel):
    """A CLIP model to evaluate."""

    name: Name = Field(description="the `model` column of every table")
    model: str = Field(
        description="registry name (wag evaluate models), open_clip ARCH/pretrained-tag, or ARCH@path/to/checkpoint"
    )
    pretraining: str | None = Field(
        None,
        description="pretraining set of this model (default: the study's corpus name, so performance joins its counts)",
    )


class DatasetSpec(StrictModel):
    """A downstream test set."""

    name: Name = Field(description="the `dataset` column of every table")
    kind: Literal["torchvision", "imagefolder", "wds", "retrieval"] = Field(
        description="torchvision: a set wag knows by name (wag.evaluate.datasets.known_datasets) under path; imagefolder: <path>/<class>/*.jpg; wds: <path>/*.tar (+ .cls, classnames.txt); retrieval: annotations + images"
    )
    path: str | None = Field(
        None,
        description="imagefolder / wds folder; retrieval image folder; torchvision data root (default: evaluate.data_root)",
    )
    torchvision: str | None = Field(
        None, description="torchvision dataset name known to wag (kind torchvision; default: the name)"
    )
    annotations: str | None = Field(
        None, description="retrieval: COCO captions JSON, Karpathy dataset_*.json or a [{image, caption}] list"
    )
    empty_classes: Literal["skip", "keep"] = Field(
        "skip",
        description="imagefolder: class folders without images are skipped with a warning (default), or kept as "
        "classes without test images (zero-shot over the full label space: they still compete as answers)",
    )

    @model_validator(mode="after")
    def _check(self) -> DatasetSpec:
        if self.kind in ("imagefolder", "wds", "retrieval") and not self.path:
            raise ValueError(f"dataset '{self.name}' of kind {self.kind} needs path:")
        if self.kind == "retrieval" and not self.annotations:
            raise ValueError(f"retrieval dataset '{self.name}' needs annotations:")
        return self

    @property
    def task(self) -> str:
        return "retrieval" if self.kind == "retrieval" else "classification"


class CountOptions(StrictModel):
    """Stage ``count``: caption counts."""

    variants: list[
        Literal["phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked"]
    ] = Field(
        ["phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked"],
        min_length=1,
        description="caption count variants (default: every variant of the engine); the first is the study's main text count",
    )
    workers: int = Field(1, ge=1, description="threads / processes / Dask workers")
    backend: Literal["threads", "processes", "dask"] = Field(
        "threads",
        description="counting backend (dask: the scheduler below, else one local cluster of `workers` for all variants)",
    )
    scheduler: str | None = Field(None, description="Dask scheduler address (backend dask); none → a local cluster")
    batch_size: int = Field(65_536, ge=1, description="captions per vectorised batch")


class TagOptions(StrictModel):
    """Stage ``tag``: where the tagger runs (the same shape as the count stage's backend)."""

    backend: Literal["threads", "dask"] = Field(
        "threads",
        description="tagging backend: threads (this process, one shard per thread) or dask (one task per shard)",
    )
    workers: int = Field(1, ge=1, description="threads, or workers of the local Dask cluster")
    scheduler: str | None = Field(
        None, description="Dask scheduler address (backend dask); none → a local cluster of `workers` processes"
    )
    loader_threads: int = Field(
        0,
        ge=0,
        description="threads decoding and preprocessing images ahead of the model (0: in line; helps only with idle cores)",
    )
    save_embeddings: bool = Field(
        False,
        description="openclip tagger: also write the study's image embeddings as <output>/embeddings/ in the "
        "clip-retrieval layout (+ embeddings.json), for a later tagger kind embeddings (docs/embeddings.md)",
    )
    block_rows: int = Field(
        8192,
        ge=1,
        description="tagger kind embeddings: rows per matrix product (memory: about 3 x block_rows x concepts floats)",
    )


class JudgeSpec(StrictModel):
    """A classifier over the T2I concepts that judges whether a generated image shows the prompted concept."""

    kind: Literal["openclip", "checkpoint"] = Field(
        description="openclip: zero-shot open_clip classifier among the study's T2I concepts; checkpoint: a tagger checkpoint folder "
        "(tagger.json + tagger.safetensors, wag.frequency.checkpoint_tagger) that knows every T2I concept"
    )
    model: str = Field(
        description="openclip: a declared model name or a model spec (registry name, ARCH/pretrained-tag, ARCH@checkpoint); "
        "checkpoint: the tagger checkpoint folder (relative to root)"
    )
    templates: list[str] = Field(
        ["a photo of a {}."], min_length=1, description="openclip: prompts of each concept ({} = the concept)"
    )
    batch_size: int = Field(64, ge=1, description="images per forward pass")

    @model_validator(mode="after")
    def _check(self) -> JudgeSpec:
        if self.kind == "openclip" and any("{}" not in t for t in self.templates):
            raise ValueError(f"stages.t2i.judge.templates must contain {{}} (the concept); got {self.templates}")
        return self


class T2IOptions(StrictModel):
    """Stage ``t2i``: generate K images per concept prompt with each declared pipeline and score them."""

    clip_model: str | None = Field(
        None,
        description="model that computes CLIP-score: a declared model name or a model spec (default: the first "
        "declared model; with a judge and no model declared, CLIP-score is off)",
    )
    judge: JudgeSpec | None = Field(
        None,
        description="classifier of the generated images: adds metric judged_accuracy (fraction of a concept's "
        "images whose top-scoring concept is the prompted one); none → CLIP-score only",
    )
    templates: list[str] = Field(
        ["a photo of a {c}."],
        min_length=1,
        description="prompt templates with {c}; one prompt per template and concept",
    )
    images_per_prompt: int = Field(4, ge=1, description="K images generated per prompt")
    steps: int = Field(50, ge=1, description="denoising steps (the paper: 50)")
    guidance_scale: float = Field(7.5, ge=0, description="classifier-free guidance scale")
    seed: int = Field(0, description="seed of the first image; image j of a prompt uses seed + j")
    aesthetic_weights: str | None = Field(
        None, description="LAION aesthetic predictor weights (safetensors, relative to root); none → no aesthetics"
    )
    allow_download: bool = Field(
        False, description="let diffusers download a pipeline named on the hub (default: local files and cache only)"
    )

    @model_validator(mode="after")
    def _check(self) -> T2IOptions:
        bad = [t for t in self.templates if "{c}" not in t]
        if bad:
            raise ValueError(f"stages.t2i.templates must contain {{c}} (the concept); got {bad}")
        return self


class EvalOptions(StrictModel):
    """Stages ``zeroshot`` and ``retrieval``."""

    prompts: list[Literal["class", "simple", "ensemble", "descriptions"]] = Field(
        ["class"], min_length=1, description="zero-shot prompt styles"
    )
    batch_size: int = Field(256, ge=1, description="images per forward pass")
    ks: list[int] = Field([1, 5, 10], min_length=1, description="retrieval recall@k cut-offs")
    captions_per_image: int = Field(5, ge=1, description="retrieval captions kept per image")
    min_images: int = Field(10, ge=1, description="retrieval: keep concepts found in at least this many images")
    device: str = Field("cpu", description="torch device")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="inference precision of every CLIP model the study loads (tagger, zeroshot, retrieval, "
        "letitwag, t2i scoring): fp32, or bf16 (about 2x faster on CPUs with AVX-512 BF16 / AMX and on GPUs; "
        "features agree to ~2e-3, benchmarks/study.py prints the agreement)",
    )
    cache_features: bool = Field(True, description="cache image features keyed by model and dataset")

    @model_validator(mode="after")
    def _check(self) -> EvalOptions:
        bad = [k for k in self.ks if k < 1]
        if bad:
            raise ValueError(f"stages.evaluate.ks: recall@k needs k >= 1 (got {bad}); give e.g. [1, 5, 10]")
        if len(set(self.ks)) != len(self.ks):
            raise ValueError(f"stages.evaluate.ks repeats a value: {self.ks}; give each k once")
        return self


class LetItWagOptions(StrictModel):
    """Stage ``letitwag``: a tail benchmark from the study's own counts."""

    images: str | None = Field(
        None,
        description="image pool: a folder of <concept>/ sub-folders or WebDataset shards with .cls labels; none → stage off",
    )
    name: Name = Field("letitwag", description="dataset name of the built benchmark in the tables")
    k: int = Field(20, ge=1, description="the k least-frequent concepts (non-zero text count) become classes")
    images_per_class: int = Field(10, ge=1, description="class-balanced images per concept (the paper: 450)")
    phash_bits: int | Literal["auto"] = Field(
        "auto",
        description="pHash de-dup distance in bits; auto: 10 at >= 224 px, scaled down with the pool's image size",
    )
    outlier_std: float | None = Field(3.0, gt=0, description="feature-outlier filter (needs outlier_model); none → off")
    outlier_model: str | None = Field(
        None, description="declared model name whose features drive the outlier filter (default: none)"
    )
    min_classes: int = Field(2, ge=1, description="fewer classes than this after filtering is an error")


class StageOptions(StrictModel):
    """Options of the stages."""

    count: CountOptions = Field(CountOptions(), description="stage count: caption count variants and backend")
    tag: TagOptions = Field(TagOptions(), description="stage tag: backend (threads or Dask) and image loader threads")
    t2i: T2IOptions = Field(
        T2IOptions(), description="stage t2i: prompts, images per prompt, steps and the CLIP-score model"
    )
    evaluate: EvalOptions = Field(EvalOptions(), description="stages zeroshot and retrieval: prompts, recall@k, device")
    letitwag: LetItWagOptions = Field(LetItWagOptions(), description="stage letitwag: image pool and builder options")


class StudySpec(StrictModel):
    """A study: the paper's question asked of your own pretraining corpus and CLIP models."""

    name: Name = Field(description="name of the study (output sub-folder and reports)")
    root: str = Field(
        ".", description="folder that relative paths of the study are resolved against (relative to the project root)"
    )
    output: str = Field("study", description="output folder of the study's tables (relative to root)")
    seed: int = Field(0, description="seed of sampled steps (Let It Wag! class balance)")
    corpus: CorpusSpec = Field(description="the pretraining corpus")
    concepts: list[ConceptSpec] = Field(
        [], description="concept lists; the class names of every classification dataset are added"
    )
    tagger: TaggerSpec = Field(TaggerSpec(), description="image tagger (kind none: text counts only)")
    models: list[ModelSpec] = Field([], description="CLIP models to evaluate")
    datasets: list[DatasetSpec] = Field([], description="downstream test sets")
    t2i: list[ModelSpec] = Field(
        [],
        description="text-to-image pipelines (diffusers hub name or save_pretrained folder in model:); stage t2i runs when any is declared",
    )
    stages: StageOptions = Field(StageOptions(), description="options of each stage")

    @model_validator(mode="after")
    def _names(self) -> StudySpec:
        for what, names in (
            ("model", [m.name for m in self.models]),
            ("dataset", [d.name for d in self.datasets]),
            ("t2i pipeline", [m.name for m in self.t2i]),
        ):
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise ValueError(f"duplicate {what} name(s) {dups}; give each {what} its own name")
        if self.stages.letitwag.images and self.stages.letitwag.name in {d.name for d in self.datasets}:
            raise ValueError(
                f"stages.letitwag.name '{self.stages.letitwag.name}' is also a declared dataset name; rename one"
            )
        model_names = {m.name for m in self.models}
        if self.stages.letitwag.outlier_model and self.stages.letitwag.outlier_model not in model_names:
            raise ValueError(
                f"stages.letitwag.outlier_model '{self.stages.letitwag.outlier_model}' is not a declared model ({sorted(model_names)})"
            )
        if self.stages.tag.save_embeddings and self.tagger.kind != "openclip":
            raise ValueError(
                f"stages.tag.save_embeddings needs tagger kind openclip (it is {self.tagger.kind}): the embeddings are "
                "the open_clip model's"
            )
        seen = [(c.dataset, c.file or c.paper) for c in self.concepts]
        if len(set(seen)) != len(seen):
            raise ValueError("the same concept list is declared twice for one dataset")
        return self

    # -- paths --------------------------------------------------------------------------------
    @property
    def root_path(self) -> Path:
        return resolve(self.root)

    def path(self, p: str) -> Path:
        """A study path: absolute as given, else under ``root``."""
        q = Path(os.path.expanduser(p))
        return q if q.is_absolute() else self.root_path / q

    @property
    def output_path(self) -> Path:
        return self.path(self.output)

    def model_pretraining(self, m: ModelSpec) -> str:
        return m.pretraining or self.corpus.name

    def model_spec(self, name_or_spec: str) -> str:
        """The model spec of a declared model name (or the spec itself), with a checkpoint path made absolute."""
        by_name = {m.name: m.model for m in self.models}
        spec = by_name.get(name_or_spec, name_or_spec)
        if "@" in spec:
            arch, _, p = spec.partition("@")
            return f"{arch}@{self.path(p)}"
        return spec

    @property
    def tagger_label(self) -> str:
        t = self.tagger
        return t.name or (
            t.model
            if t.kind in ("openclip", "embeddings") and t.model and "@" not in t.model and "/" not in t.model
            else t.kind
        )


def t2i_clip_model(spec: StudySpec) -> str | None:
    """The model that computes the T2I stage's CLIP-score: ``stages.t2i.clip_model``, else the first declared model (None: CLIP-score off)."""
    return spec.stages.t2i.clip_model or (spec.models[0].name if spec.models else None)
