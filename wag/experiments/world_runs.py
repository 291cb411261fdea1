"""What the experiments share: the world of a seed, its checkpoints and studies, and models evaluated by the public stages.

Every notebook and experiment that needs seed ``s``'s world, models or counts goes through :func:`seed_study`, so
they share one world folder, one set of checkpoints and one study folder (``<world>/study/main``).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from wag.core.errors import WagError
from wag.core.ids import slug
from wag.evaluate.models import load_clip
from wag.study.spec import StudySpec
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.train import TrainedModel, train_clip
from wag.synthetic.world import World, build_world


class ExperimentError(WagError):
    """An experiment asked for something its profile does not provide."""


#: what the world's experiments import (open_clip models, diffusers for the T2I analogue): pinned in requirements.txt
REQUIREMENTS = ("torch", "open_clip", "diffusers")


def requirements_missing() -> str | None:
    """Why the world's experiments cannot run in this environment (a package they need is not installed), else None."""
    absent = [m for m in REQUIREMENTS if importlib.util.find_spec(m) is None]
    if absent:
        return f"{', '.join(absent)} not installed (the synthetic world trains open_clip models): run `make setup`"
    return None


def timed(timings: list[dict], stage: str, fn: Callable, *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)``, its wall time appended to ``timings`` as ``{"stage", "seconds"}``."""
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    timings.append({"stage": stage, "seconds": time.perf_counter() - t0})
    return out


def world_for(sp: SyntheticParams, seed: int, *, counts: list[int] | None = None, progress: bool = False) -> World:
    """The world of ``seed`` (optionally with explicit per-concept ``counts``, same concepts and test sets)."""
    wp = (
        sp.world
        if counts is None
        else sp.world.model_copy(update={"law": "explicit", "counts": [int(c) for c in counts]})
    )
    return build_world(type(sp.world).model_validate(wp.model_dump()), seed, progress=progress)


def world_studies(
    sp: SyntheticParams, world: World, seed: int, models: dict[int, TrainedModel] | None = None
) -> tuple[StudySpec, StudySpec | None]:
    """(main study, CLIP-tagger study) of a world: the main one with the profile's tagger and the ``models`` (width ->
    checkpoint), the second (only when the profile's tagger is the trained one and a headline model is given) tags
    with the headline model's zero-shot tagger, for the quality comparison."""
    kind = sp.experiments.tagger.kind
    hw = (models or {}).get(sp.model.headline_width)
    if kind == "trained":
        tagger = S.trained_tagger(sp, world, seed)
    elif hw is not None:
        tagger = S.clip_tagger(sp, hw)
    else:
        raise ExperimentError(
            "synthetic.experiments.tagger.kind 'clip' tags with the headline model: pass the seed's models "
            "(wag.experiments.seed_study trains them)"
        )
    main = S.world_study(world, seed, models={S.model_name(w): m for w, m in (models or {}).items()}, tagger=tagger)
    clip = None
    if kind == "trained" and hw is not None:
        clip = S.world_study(
            world, seed, tagger=S.clip_tagger(sp, hw), name=f"clip-tagger-{slug(hw.path.parent.name)}", retrieval=False
        )
    return main, clip


def seed_study(
    sp: SyntheticParams, seed: int, *, progress: bool = False, timings: list[dict] | None = None
) -> tuple[World, dict[int, TrainedModel], StudySpec, StudySpec | None]:
    """The world of ``seed``, its CLIP checkpoints (one per width) and its studies (:func:`world_studies`)."""
    tm: list[dict] = [] if timings is None else timings
    w = timed(tm, f"world seed {seed}", world_for, sp, seed, progress=progress)
    models = {
        width: timed(tm, f"train w{width} seed {seed}", train_clip, w, width, sp.train, seed, progress=progress)
        for width in sp.model.widths_for(seed)
    }
    main, clip = timed(tm, f"tagger seed {seed}", world_studies, sp, w, seed, models)
    return w, models, main, clip


def seed_jobs(sp: SyntheticParams, seed: int, *, models: bool = True) -> list[jobs.Job]:
    """What :func:`seed_study` of ``seed`` trains, as jobs: a CLIP per width of the seed (``models``) and the trained
    tagger (the world is built here)."""
    w = world_for(sp, seed)
    out: list[jobs.Job] = []
    if models:
        out += [jobs.ClipJob(str(w.root), width, sp.train, seed) for width in sp.model.widths_for(seed)]
    if sp.experiments.tagger.kind == "trained":
        out.append(jobs.TaggerJob(str(w.root), sp.experiments.tagger, seed, sp.train.threads))
    return out


def every_seed_jobs(sp: SyntheticParams) -> list[jobs.Job]:
    """:func:`seed_jobs` of every headline seed: every CLIP model and tagger of the headline's worlds."""
    return [j for s in sp.experiments.seeds for j in seed_jobs(sp, s)]


def load_model(trained: TrainedModel, label: str):
    """The trained checkpoint through the evaluation harness' loader."""
    return load_clip(trained.name, source=label)


def study_performance(spec: StudySpec) -> pd.DataFrame:
    """Zero-shot (+ retrieval, when the study declares the world's retrieval set) performance by the public stages."""
    S.run(spec, ["zeroshot", "retrieval"] if len(spec.datasets) > 1 else ["zeroshot"])
    return S.performance(spec)


def evaluate(
    world: World, trained: TrainedModel, *, label: str, retrieval: bool = True, name: str | None = None
) -> pd.DataFrame:
    """Per-concept zero-shot accuracy on the world's class-balanced test folder (+ retrieval recall@k), by the public
    zeroshot and retrieval stages of a study of ``world`` with this one checkpoint (``<world>/study/<name>``)."""
    spec = S.world_study(
        world,
        int(world.info["seed"]),
        models={trained.arch: trained},
        pretraining=label,
        name=name or slug(label),
        retrieval=retrieval,
    )
    S.run(spec, ["zeroshot", "retrieval"] if len(spec.datasets) > 1 else ["zeroshot"])
    cols = ["concept", "dataset", "task", "model", "pretraining", "prompt", "metric", "value"]
    return S.performance(spec, retrieval=retrieval)[cols]


def concept_accuracy(world: World, trained: TrainedModel, label: str) -> pd.Series:
    """Zero-shot accuracy per concept of one checkpoint (study ``<world>/study/<slug(label)>``)."""
    p = evaluate(world, trained, label=label, retrieval=False)
    return p.set_index("concept")["value"]


def baseline(sp: SyntheticParams, seed: int | None = None) -> tuple[int, World, TrainedModel, pd.DataFrame]:
    """(seed, world, headline model, ground truth + ``accuracy``) of ``seed`` (default: the first seed), from that
    seed's shared study: what the intervention, rebalancing, planning, similarity and collision experiments start from."""
    seed = sp.experiments.seeds[0] if seed is None else seed
    w, models, main, _ = seed_study(sp, seed)
    perf = study_performance(main)
    acc = perf[(perf["task"] == "classification") & (perf["model"] == S.model_name(sp.model.headline_width))].set_index(
        "concept"
    )["value"]
    gt = w.ground_truth()
    gt["accuracy"] = gt["concept"].map(acc)
    return seed, w, models[sp.model.headline_width], gt
