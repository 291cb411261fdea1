"""Let It Wag! analogue (Fig. 6): the public ``letitwag`` stage of each seed's shared study on the world's image pool."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import every_seed_jobs, seed_study
from wag.study.spec import DatasetSpec, LetItWagOptions
from wag.synthetic import generator as gen
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.train import arch_name
from wag.synthetic.world import DATASET, Streams, World, write_image_folder


def letitwag_pool(sp: SyntheticParams, world: World, seed: int) -> Path:
    """``<world>/letitwag_pool/<concept>/*.png``: ``n_candidates`` fresh single-concept renders of *every* concept
    (the image pool a user would hand the letitwag stage; the stage picks the tail concepts from the counts).
    Each concept's renders come from its own random stream, so they do not depend on which concepts are tail."""
    pool = world.root / "letitwag_pool"
    n = sp.experiments.letitwag.n_candidates
    if not pool.is_dir():
        tmp = world.root / ".letitwag_pool.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        concepts = gen.draw_concepts(sp.world.n_concepts, Streams.from_seed(seed).identity)
        for i, name in enumerate(world.names):
            imgs = gen.render(
                gen.single_concept_grid(np.full(n, i)),
                concepts,
                gen.IMAGE_SIZE,
                sp.world.noise,
                np.random.default_rng([seed, 99, i]),
            )
            write_image_folder(tmp, [name] * n, imgs)
        tmp.rename(pool)
    return pool


def letitwag_options(sp: SyntheticParams) -> LetItWagOptions:
    """The world's options of the public letitwag stage. ``phash_bits`` is set to the builder's (the paper's) 10 bits
    instead of the stage's ``auto`` (1 bit at 32 px), so the world's benchmark keeps the de-duplication it always had;
    no outlier filter (no ``outlier_model``), as before."""
    lp = sp.experiments.letitwag
    return LetItWagOptions(
        images="letitwag_pool",
        k=lp.k,
        images_per_class=max(1, lp.n_candidates // 2),
        phash_bits=10,
        min_classes=1,
        outlier_std=None,  # no outlier filter, said explicitly (the builder warns when a filter asked for cannot run)
    )


def _overall(perf: pd.DataFrame) -> float:
    """Overall accuracy of a zero-shot performance table (per-concept accuracies weighted by their image counts)."""
    n = perf["n_images"].to_numpy(float)
    return float((perf["value"].to_numpy(float) * n).sum() / n.sum())


def run_letitwag(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Let It Wag! analogue (Fig. 6), per seed through the public ``letitwag`` stage of the seed's shared study: the
    stage picks the ``k`` least-frequent concepts from the study's text counts, de-duplicates the world's candidate
    pool (:func:`letitwag_pool`) into a class-balanced benchmark and evaluates every headline model on it.

    ``letitwag_accuracy_k_way``: the stage's accuracy among the k tail concepts (a stand-alone benchmark, easier).
    ``letitwag_accuracy``: the world adds the same images in the full K-concept label space (like the full test set),
    as an image-folder dataset evaluated by the public zeroshot stage (study ``<world>/study/letitwag-all-classes``)."""

    def compute() -> pd.DataFrame:
        rows = []
        for seed in sp.experiments.seeds:
            w, models, main, _ = seed_study(sp, seed)
            letitwag_pool(sp, w, seed)
            spec = main.model_copy(update={"stages": main.stages.model_copy(update={"letitwag": letitwag_options(sp)})})
            S.run(spec, ["count", "zeroshot", "letitwag"])
            tail = S.table(spec, "letitwag/performance.parquet")
            bench = spec.output_path / "letitwag" / "benchmark" / "images"
            full_space = w.root / "letitwag_all_classes"
            tmp = w.root / ".letitwag_all_classes.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(bench, tmp)
            for c in w.names:
                (tmp / c).mkdir(exist_ok=True)
            shutil.rmtree(full_space, ignore_errors=True)
            tmp.rename(full_space)
            allc = spec.model_copy(
                update={
                    "name": f"{DATASET}-letitwag-all-classes",
                    "output": "study/letitwag-all-classes",
                    "concepts": [],
                    "datasets": [
                        DatasetSpec(
                            name="letitwag-all-classes",
                            kind="imagefolder",
                            path="letitwag_all_classes",
                            empty_classes="keep",  # the other concepts compete as answers
                        )
                    ],
                }
            )
            S.run(allc, ["zeroshot"])
            tail_k = S.table(allc, "zeroshot/performance.parquet")
            full = S.table(spec, "zeroshot/performance.parquet")
            freq = S.table(spec, "letitwag/frequencies.parquet")
            freq = freq[freq["variant"] == spec.stages.count.variants[0]]
            classes = sorted(tail["concept"].unique())
            for width in models:
                name = S.model_name(width)
                t = tail[tail["model"] == name]
                rows.append(
                    {
                        "model": f"{arch_name(width)} seed {seed}",
                        "width": width,
                        "seed": seed,
                        "full_accuracy": _overall(full[full["model"] == name]),
                        "letitwag_accuracy": _overall(tail_k[tail_k["model"] == name]),
                        "letitwag_accuracy_k_way": _overall(t),
                        "chance_full": 1 / len(w.names),
                        "chance_k_way": 1 / len(classes),
                        "letitwag_classes": len(classes),
                        "letitwag_images": int(t["n_images"].sum()),
                        "tail_max_count": int(freq["count"].max()),
                    }
                )
        return pd.DataFrame(rows)

    return LETITWAG.cached(sp, compute, refresh=refresh)


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """Every headline model (each is evaluated on the benchmark) and every seed's tagger."""
    return every_seed_jobs(sp)


LETITWAG = Experiment(
    "letitwag",
    params="letitwag",
    table="synthetic/letitwag",
    trainings=trainings,
    run=run_letitwag,
    key_extra={"via": "study-stage"},
)
