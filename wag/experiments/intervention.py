"""Intervention: multiply a few low/mid-frequency concepts' counts, nothing else changes, retrain, compare (frequency as a cause)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wag.analysis.per_concept import fit_log_linear
from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import baseline, concept_accuracy, seed_jobs, world_for
from wag.synthetic import jobs
from wag.synthetic.params import SyntheticParams
from wag.synthetic.train import train_clip
from wag.synthetic.world import DATASET


def run_intervention(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Multiply the counts of a few low/mid-frequency concepts by ``factor`` (nothing else changes), retrain, compare.

    Rows per concept: group (treated/control), counts before/after, accuracy before/after, and the change
    the baseline per-concept slope predicts (slope × log10(count ratio)).
    """

    def compute() -> pd.DataFrame:
        seed, w, m, gt = baseline(sp)
        fit = fit_log_linear(gt["image_count"], gt["accuracy"], n_boot=0)
        k = len(gt)
        new, treated = intervention_counts(sp, gt)
        w2 = world_for(sp, seed, counts=new.tolist())
        m2 = train_clip(w2, sp.model.headline_width, sp.train, seed, progress=False)
        acc2 = concept_accuracy(w2, m2, f"{DATASET}-s{seed}-intervention")
        gt2 = w2.ground_truth().set_index("concept")
        out = gt[["concept", "image_count", "accuracy"]].rename(
            columns={"image_count": "count_before", "accuracy": "accuracy_before"}
        )
        out["count_after"] = out["concept"].map(gt2["image_count"])
        out["accuracy_after"] = out["concept"].map(acc2)
        out["group"] = np.where(np.isin(np.arange(k), treated), "treated", "control")
        out["predicted_change"] = fit["slope"] * np.log10(
            np.maximum(out["count_after"], 1) / np.maximum(out["count_before"], 1)
        )
        out["observed_change"] = out["accuracy_after"] - out["accuracy_before"]
        out["baseline_slope"] = fit["slope"]
        out["seed"] = seed
        return out

    return INTERVENTION.cached(sp, compute, refresh=refresh)


def intervention_counts(sp: SyntheticParams, gt: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(new per-concept target counts, treated rows of ``gt``): ``n_concepts`` low/mid-frequency concepts of the first seed's
    ground truth ``gt`` drawn at random, their counts multiplied by ``factor`` (needs no trained model)."""
    ip = sp.experiments.intervention
    rng = np.random.default_rng(sp.experiments.seeds[0] + 1000)
    order = gt.sort_values("image_count", kind="stable").index.to_numpy()  # ties: ground-truth row order
    k = len(order)
    pool = order[int(0.15 * k) : max(int(0.5 * k), int(0.15 * k) + ip.n_concepts)]
    treated = rng.choice(pool, size=min(ip.n_concepts, len(pool)), replace=False)
    new = gt["target_count"].to_numpy().copy()
    new[treated] = np.round(new[treated] * ip.factor).astype(np.int64)
    return new, treated


def intervention_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean observed vs predicted change per group, and the difference-in-differences (treated − control)."""
    g = df.groupby("group").agg(
        n=("concept", "size"),
        accuracy_before=("accuracy_before", "mean"),
        accuracy_after=("accuracy_after", "mean"),
        observed_change=("observed_change", "mean"),
        predicted_change=("predicted_change", "mean"),
    )
    if {"treated", "control"} <= set(g.index):
        t, c = df[df.group == "treated"]["observed_change"], df[df.group == "control"]["observed_change"]
        did = t.mean() - c.mean()
        se = (
            float(np.sqrt(t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c)))
            if len(t) > 1 and len(c) > 1
            else float("nan")
        )
        g.loc["treated − control"] = [
            len(t),
            np.nan,
            np.nan,
            did,
            g.at["treated", "predicted_change"] - g.at["control", "predicted_change"],
        ]
        g["se"] = [np.nan] * (len(g) - 1) + [se]
    return g.reset_index()


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The first seed's models and tagger, and the headline model on the intervened world."""
    first = sp.experiments.seeds[0]
    w2 = world_for(sp, first, counts=intervention_counts(sp, world_for(sp, first).ground_truth())[0].tolist())
    return [*seed_jobs(sp, first), jobs.ClipJob(str(w2.root), sp.model.headline_width, sp.train, first)]


INTERVENTION = Experiment(
    "intervention", params="intervention", table="synthetic/intervention", trainings=trainings, run=run_intervention
)
