"""§4.1 analogue: remove the pretraining images nearest to any test image, recount by the public count stage, retrain."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wag.core.io import write_text
from wag.evaluate.datasets import image_folder
from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import baseline, load_model, seed_jobs, seed_study
from wag.study.spec import ModelSpec, TaggerSpec
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.train import normalise, train_clip
from wag.synthetic.world import DATASET


def _embed_arrays(lm, images: np.ndarray, batch: int = 1024):
    """L2-normalised image embeddings of uint8 ``images`` (N, S, S, 3) by the loaded model ``lm``."""
    import torch  # lazy: torch only where a model embeds (the module also serves the cached tables without it)

    out = []
    with torch.inference_mode():
        for a in range(0, len(images), batch):
            f = lm.encode_image(normalise(np.asarray(images[a : a + batch])))
            out.append(torch.nn.functional.normalize(f, dim=-1))
    return torch.cat(out)


def run_similarity_control(sp: SyntheticParams, *, refresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """§4.1 analogue: drop the pretraining images nearest (embedding cosine) to any test image, retrain, refit.

    The removal is the world's intervention: it writes the removed sample ids to ``<world>/similarity/exclude-*.txt``
    and declares the filtered corpus as a study (``study.corpus.exclude``, ``<world>/study/simcontrol-<fraction>``) with
    the retrained checkpoint, so the public count stage counts the kept samples and the zeroshot stage evaluates it.
    Returns (per-concept table with counts and accuracy before/after, fits of both).
    """
    from wag.evaluate.features import encode_images  # lazy: wag.evaluate.features imports torch

    frac = sp.experiments.similarity.remove_fraction

    def compute() -> pd.DataFrame:
        seed, w, m, gt = baseline(sp)
        lm = load_model(m, f"{DATASET}-s{seed}")
        test = encode_images(lm, image_folder(w.test_dir, name=DATASET), progress=False).features
        train = _embed_arrays(lm, w.images())
        sim = np.zeros(len(train), dtype=np.float32)
        for a in range(0, len(train), 4096):
            sim[a : a + 4096] = (train[a : a + 4096] @ test.T).max(dim=1).values.numpy()
        n_drop = int(round(frac * len(sim)))
        order = np.argsort(sim, kind="stable")
        keep, drop = np.sort(order[: len(sim) - n_drop]), np.sort(order[len(sim) - n_drop :])
        # the intervention the world adds: the most test-similar samples as an exclusion list a user would hand the study
        exclude = f"similarity/exclude-{frac:g}-s{seed}.txt"
        write_text(w.root / exclude, "".join(f"{sid}\n" for sid in w.metadata()["sample_id"].iloc[drop].astype(str)))
        m2 = train_clip(w, sp.model.headline_width, sp.train, seed, subset=keep, progress=False)
        main = seed_study(sp, seed)[2]
        name = S.model_name(sp.model.headline_width)
        filt = main.model_copy(
            update={
                "name": f"{DATASET}-simcontrol-s{seed}",
                "output": f"study/simcontrol-{frac:g}",
                "concepts": [],
                "tagger": TaggerSpec(kind="none"),
                "corpus": main.corpus.model_copy(update={"exclude": exclude}),
                "models": [ModelSpec(name=name, model=m2.name, pretraining=S.pretraining_name(seed, "-simcontrol"))],
                "datasets": [d for d in main.datasets if d.task == "classification"],
                "stages": main.stages.model_copy(
                    update={"count": main.stages.count.model_copy(update={"variants": ["phrase"]})}
                ),
            }
        )
        # counts of the full corpus (the shared study), and of the filtered one, by the public count stage
        S.run(main, ["count"])
        S.run(filt, ["count", "zeroshot"])
        before = S.table(main, "count/frequencies.parquet")
        after = S.table(filt, "count/frequencies.parquet")
        acc2 = S.table(filt, "zeroshot/performance.parquet").drop_duplicates("concept").set_index("concept")["value"]
        count_of = lambda f: f[f["variant"] == "phrase"].drop_duplicates("concept").set_index("concept")["count"]  # noqa: E731
        out = gt[["concept", "accuracy"]].rename(columns={"accuracy": "accuracy_before"})
        out["count_before"] = out["concept"].map(count_of(before)).fillna(0).astype(int)
        out["count_after"] = out["concept"].map(count_of(after)).fillna(0).astype(int)
        out["accuracy_after"] = out["concept"].map(acc2)
        out["removed_fraction"] = frac
        out["max_similarity_threshold"] = float(np.sort(sim)[len(sim) - n_drop - 1]) if n_drop else float("nan")
        out["seed"] = seed
        return out

    df = SIMILARITY.cached(sp, compute, refresh=refresh)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "concept": df["concept"],
                    "count": df["count_before"],
                    "value": df["accuracy_before"],
                    "model": "full corpus",
                }
            ),
            pd.DataFrame(
                {
                    "concept": df["concept"],
                    "count": df["count_after"],
                    "value": df["accuracy_after"],
                    "model": f"{int(frac * 100)}% most test-similar removed",
                }
            ),
        ],
        ignore_index=True,
    ).assign(
        dataset=DATASET,
        task="classification",
        pretraining=DATASET,
        prompt="class",
        metric="accuracy",
        method="text",
        variant="phrase",
    )
    return df, long


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The first seed's models and tagger; the retrain is left to the run (its subset needs the model's embeddings)."""
    return seed_jobs(sp, sp.experiments.seeds[0])


SIMILARITY = Experiment(
    "similarity",
    params="similarity",
    table="synthetic/similarity",
    trainings=trainings,
    run=run_similarity_control,
    key_extra={"via": "study-stage"},
)
