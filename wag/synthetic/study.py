"""A synthetic world as a study: the files a user would have, declared by a :class:`~wag.study.spec.StudySpec`.

The world folder already holds WebDataset corpus shards (captions + PNG images), the test set as an
image folder and a retrieval set (images + annotations); :func:`world_study` adds a concept file and
declares those with the world's trained CLIP checkpoints (``ARCH@checkpoint``) and its trained tagger
(a tagger checkpoint folder), so the public stages (:mod:`wag.study.run`: count, tag, integrate,
misalignment, zeroshot, retrieval) make the world's tables. Their output lives in the world folder
(``<world>/study/<name>``), shared by every notebook and experiment that uses the same world.

What only a world has (ground truth, interventions, a masked loss) is added on top by
:mod:`wag.experiments` reading the study's tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from wag.core.io import write_text
from wag.study.run import run_study
from wag.study.spec import (
    ConceptSpec,
    CorpusSpec,
    CountOptions,
    DatasetSpec,
    EvalOptions,
    JudgeSpec,
    ModelSpec,
    StageOptions,
    StudySpec,
    T2IOptions,
    TaggerSpec,
)
from wag.synthetic.params import SyntheticParams
from wag.synthetic.tagger import tagger_dir, train_world_tagger
from wag.synthetic.train import TrainedModel, arch_name
from wag.synthetic.world import DATASET, World

#: dataset name of the world's retrieval set in the study (tables of the world rename it back to ``synthetic``)
RETRIEVAL = f"{DATASET}-retrieval"
#: the world tagger's label in variant names (``tagger:tagger@0.7``), and the zero-shot CLIP tagger's
TAGGER_LABELS = {"trained": "tagger", "clip": "clip"}
#: thresholds every world study tags at (the headline threshold first; notebook 2's sweep)
SWEEP = (0.5, 0.6, 0.7)
#: every text count variant, the world's own (phrase) first: one count stage serves every notebook
TEXT_VARIANTS = ["phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked"]


def concept_file(world: World) -> Path:
    """``<world>/concepts.txt``: the world's concept names, one per line (written once)."""
    p = world.root / "concepts.txt"
    if not p.is_file():
        write_text(p, "\n".join(world.names) + "\n")
    return p


def model_name(width: int) -> str:
    """The ``model`` name of the world's CLIP of ``width`` in the study's tables."""
    return arch_name(width)


def pretraining_name(seed: int, suffix: str = "") -> str:
    """The ``pretraining`` label of the models of seed ``seed`` (``synthetic-s0``; ``suffix`` for retrained variants)."""
    return f"{DATASET}-s{seed}{suffix}"


def trained_tagger(sp: SyntheticParams, world: World, seed: int) -> TaggerSpec:
    """The world's trained tagger (the RAM++ analogue) as a tagger checkpoint (trained here unless cached)."""
    ex = sp.experiments
    train_world_tagger(world, ex.tagger, seed, threads=sp.train.threads)
    return TaggerSpec(
        kind="checkpoint",
        model=str(tagger_dir(world, ex.tagger, seed, sp.train.threads)),
        name=TAGGER_LABELS["trained"],
        thresholds=thresholds(sp),
        batch_size=1024,
    )


def clip_tagger(sp: SyntheticParams, model: TrainedModel) -> TaggerSpec:
    """The zero-shot open_clip tagger on a trained CLIP checkpoint of the world."""
    return TaggerSpec(
        kind="openclip", model=model.name, name=TAGGER_LABELS["clip"], thresholds=thresholds(sp), batch_size=512
    )


def thresholds(sp: SyntheticParams) -> list[float]:
    """The tag thresholds of a world study: the headline threshold first, then notebook 2's sweep."""
    return list(dict.fromkeys([sp.experiments.tagger_threshold, *SWEEP]))


def world_study(
    world: World,
    seed: int,
    *,
    models: dict[str, TrainedModel] | None = None,
    pretraining: str | None = None,
    tagger: TaggerSpec | None = None,
    name: str = "main",
    retrieval: bool = True,
    t2i: list[ModelSpec] | None = None,
    t2i_options: T2IOptions | None = None,
) -> StudySpec:
    """The study of ``world``: its corpus, concepts, test sets, ``models`` (name -> checkpoint), ``tagger`` and T2I
    pipelines (``t2i``, with the stage's ``t2i_options``).

    ``name`` is the study's sub-folder under ``<world>/study``: studies of one world that share a name share
    their stage outputs (each stage reruns only when its own inputs changed), so notebook 2 (counts and tags)
    and notebook 4-2 (counts, tags and models) read the same tables.
    """
    concept_file(world)
    has_retrieval = retrieval and (world.retrieval_dir / "annotations.json").is_file()
    datasets = [DatasetSpec(name=DATASET, kind="imagefolder", path="test")]
    concepts = []
    if has_retrieval:
        datasets.append(
            DatasetSpec(
                name=RETRIEVAL, kind="retrieval", path="retrieval/images", annotations="retrieval/annotations.json"
            )
        )
        concepts.append(ConceptSpec(dataset=RETRIEVAL, file="concepts.txt", task="retrieval"))
    label = pretraining or pretraining_name(seed)
    return StudySpec(
        name=f"{DATASET}-{name}",
        root=str(world.root),
        output=f"study/{name}",
        seed=seed,
        corpus=CorpusSpec(name=DATASET, shards=["corpus/shard-*.tar"], format="wds"),
        concepts=concepts,
        tagger=tagger or TaggerSpec(kind="none"),
        models=[ModelSpec(name=n, model=m.name, pretraining=label) for n, m in (models or {}).items()],
        datasets=datasets,
        t2i=list(t2i or []),
        stages=StageOptions(
            count=CountOptions(variants=TEXT_VARIANTS),
            t2i=t2i_options or T2IOptions(),
            evaluate=EvalOptions(prompts=["class"], ks=[1, 5, 10], captions_per_image=1, min_images=3),
        ),
    )


#: the T2I analogue's pipeline in the world's T2I study (the ``model`` column of its rows)
T2I_MODEL = "class-conditional UNet2DModel"


def t2i_study(world: World, seed: int, pipeline: Path, judge: Path, *, images: int, steps: int) -> StudySpec:
    """The world's T2I study (``<world>/study/t2i``): the class-conditional pipeline prompted with each concept's name
    (template ``{c}``), ``images`` images per concept from seeds ``seed..seed+images-1``, ``steps`` sampling steps,
    no guidance, judged by the judge checkpoint (no CLIP model: no CLIP-score)."""
    opts = T2IOptions(
        templates=["{c}"],
        images_per_prompt=images,
        steps=steps,
        guidance_scale=1.0,
        seed=seed,
        judge=JudgeSpec(kind="checkpoint", model=str(judge), batch_size=1024),
    )
    return world_study(
        world, seed, name="t2i", retrieval=False, t2i=[ModelSpec(name=T2I_MODEL, model=str(pipeline))], t2i_options=opts
    )


def zero_shot_accuracy(world: World, model: TrainedModel, name: str) -> pd.Series:
    """Per-concept zero-shot accuracy of one checkpoint on the world's test folder, by the public zeroshot stage
    (study ``<world>/study/<name>``: a retrained variant of an experiment gets its own)."""
    spec = world_study(world, int(world.info["seed"]), models={"model": model}, name=name, retrieval=False)
    run(spec, ["zeroshot"])
    return table(spec, "zeroshot/performance.parquet").set_index("concept")["value"]


def run(spec: StudySpec, stages: Sequence[str]) -> None:
    """Run ``stages`` of ``spec`` (and what they read) through the public runner, quietly. A world's studies are shared
    by the notebooks (``wag reproduce`` runs several at once): one that finds another running them waits for it."""
    run_study(spec, list(stages), progress=False, log=lambda *_: None, wait=True)


def table(spec: StudySpec, path: str) -> pd.DataFrame:
    """A table of the study folder (``count/hits.parquet``, ``tag/tags.parquet``, ...)."""
    return pd.read_parquet(spec.output_path / path)


def performance(spec: StudySpec, *, retrieval: bool = True) -> pd.DataFrame:
    """The study's zero-shot (+ retrieval) performance rows, the retrieval set named ``synthetic`` as the world's tables do."""
    frames = [table(spec, "zeroshot/performance.parquet")]
    if retrieval and any(d.kind == "retrieval" for d in spec.datasets):
        frames.append(table(spec, "retrieval/performance.parquet"))
    df = pd.concat(frames, ignore_index=True)
    df["dataset"] = DATASET
    return df
