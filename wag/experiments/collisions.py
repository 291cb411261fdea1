"""Batch collisions: the standard vs the same-concept-masked ClipLoss, and a batch-size sweep at equal samples seen."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wag.analysis.per_concept import fit_log_linear
from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import baseline, concept_accuracy, seed_jobs, world_for
from wag.synthetic import jobs
from wag.synthetic.params import SyntheticParams, TrainParams
from wag.synthetic.train import train_clip
from wag.synthetic.world import DATASET


def run_collisions(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Batch collisions: standard vs same-concept-masked ClipLoss, and a batch-size sweep at equal samples seen.

    Rows per concept and training variant: count, accuracy, expected same-concept partners per batch.
    """

    def compute() -> pd.DataFrame:
        seed, w, m, gt = baseline(sp)
        n = len(w.metadata())
        frames = []
        for label, tp in collision_variants(sp):
            mm = (
                m
                if label == f"standard bs={sp.train.batch_size}"
                else train_clip(w, sp.model.headline_width, tp, seed, progress=False)
            )
            acc = concept_accuracy(w, mm, f"{DATASET}-s{seed}-{label}")
            frames.append(
                pd.DataFrame(
                    {
                        "concept": gt["concept"],
                        "count": gt["image_count"],
                        "value": gt["concept"].map(acc).to_numpy(),
                        "variant": label,
                        "loss": tp.loss,
                        "batch_size": tp.batch_size,
                        "expected_partners": (tp.batch_size - 1) * gt["image_count"].to_numpy() / n,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True).assign(seed=seed)

    return COLLISIONS.cached(sp, compute, refresh=refresh)


def collision_variants(sp: SyntheticParams) -> list[tuple[str, TrainParams]]:
    """(label, training params) of the collision experiment: the headline training, its masked-loss twin, and the other
    batch sizes at the same number of samples seen."""
    samples = sp.train.steps * sp.train.batch_size
    variants: list[tuple[str, TrainParams]] = [
        (f"standard bs={sp.train.batch_size}", sp.train),
        (f"masked bs={sp.train.batch_size}", sp.train.model_copy(update={"loss": "masked"})),
    ]
    for bs in sp.experiments.collisions.batch_sizes:
        if bs != sp.train.batch_size:
            variants.append(
                (f"standard bs={bs}", sp.train.model_copy(update={"batch_size": bs, "steps": max(1, samples // bs)}))
            )
    return variants


def collision_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per variant: per-concept slope, and the high-frequency dip = mean residual of the top-quartile concepts
    from a line fitted to the lower three quartiles (negative = plateau/dip at high frequency)."""
    rows = []
    for v, g in df.groupby("variant", sort=False):
        f = fit_log_linear(g["count"], g["value"], n_boot=200)
        x = np.log10(np.maximum(g["count"].to_numpy(float), 1))
        top = x >= np.quantile(x, 0.75)
        lo = fit_log_linear(g["count"][~top], g["value"][~top], n_boot=0)
        resid = g["value"].to_numpy()[top] - (lo["intercept"] + lo["slope"] * x[top])
        rows.append(
            {
                "variant": v,
                "loss": g["loss"].iloc[0],
                "batch_size": int(g["batch_size"].iloc[0]),
                "slope": f["slope"],
                "slope_lo": f["slope_lo"],
                "slope_hi": f["slope_hi"],
                "mean_accuracy": g["value"].mean(),
                "top_quartile_accuracy": g["value"].to_numpy()[top].mean(),
                "high_frequency_dip": float(np.mean(resid)),
                "max_expected_partners": float(g["expected_partners"].max()),
            }
        )
    return pd.DataFrame(rows)


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The first seed's models and tagger, and the headline model under every training variant."""
    first = sp.experiments.seeds[0]
    w = world_for(sp, first)
    return [
        *seed_jobs(sp, first),
        *(jobs.ClipJob(str(w.root), sp.model.headline_width, tp, first) for _, tp in collision_variants(sp)),
    ]


COLLISIONS = Experiment(
    "collisions", params="collisions", table="synthetic/collisions", trainings=trainings, run=run_collisions
)
