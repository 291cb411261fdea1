"""Rebalancing at a fixed budget: cap the head concepts, upsample the tail (new images), retrain, compare per concept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import baseline, concept_accuracy, seed_jobs, world_for
from wag.synthetic import jobs
from wag.synthetic.params import SyntheticParams
from wag.synthetic.train import train_clip
from wag.synthetic.world import DATASET


def rebalanced_counts(counts: np.ndarray, cap_quantile: float) -> np.ndarray:
    """Cap counts at the ``cap_quantile`` value and give the freed budget to the rarest concepts (water-filling).

    The total number of concept occurrences is unchanged (± rounding).
    """
    c = np.asarray(counts, dtype=float)
    cap = float(np.quantile(c, cap_quantile))
    capped = np.minimum(c, cap)
    budget = c.sum() - capped.sum()
    lo, hi = capped.min(), cap
    for _ in range(60):  # bisection on the floor level
        mid = (lo + hi) / 2
        if np.maximum(capped, mid).sum() - capped.sum() > budget:
            hi = mid
        else:
            lo = mid
    out = np.floor(np.maximum(capped, lo)).astype(np.int64)
    short = int(round(c.sum())) - int(out.sum())
    if short > 0:
        idx = np.argsort(out, kind="stable")[:short]
        out[idx] += 1
    return out


def run_rebalance(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Fixed budget: cap head concepts, upsample the tail (new synthetic images), retrain, compare per concept."""
    rp = sp.experiments.rebalance

    def compute() -> pd.DataFrame:
        seed, w, m, gt = baseline(sp)
        new = rebalanced_counts(gt["target_count"].to_numpy(), rp.cap_quantile)
        w2 = world_for(sp, seed, counts=new.tolist())
        m2 = train_clip(w2, sp.model.headline_width, sp.train, seed, progress=False)
        acc2 = concept_accuracy(w2, m2, f"{DATASET}-s{seed}-rebalanced")
        out = gt[["concept", "image_count", "accuracy"]].rename(
            columns={"image_count": "count_before", "accuracy": "accuracy_before"}
        )
        out["count_after"] = out["concept"].map(w2.ground_truth().set_index("concept")["image_count"])
        out["accuracy_after"] = out["concept"].map(acc2)
        q = out["count_before"].rank(pct=True)
        out["part"] = np.where(q <= 1 / 3, "tail", np.where(q > 2 / 3, "head", "middle"))
        out["seed"] = seed
        return out

    return REBALANCE.cached(sp, compute, refresh=refresh)


def rebalance_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy before/after per part (tail / middle / head / all) and the total occurrences."""
    rows = []
    for part, g in [*df.groupby("part"), ("all", df)]:
        rows.append(
            {
                "part": part,
                "n": len(g),
                "occurrences_before": int(g["count_before"].sum()),
                "occurrences_after": int(g["count_after"].sum()),
                "accuracy_before": g["accuracy_before"].mean(),
                "accuracy_after": g["accuracy_after"].mean(),
                "gain": (g["accuracy_after"] - g["accuracy_before"]).mean(),
            }
        )
    return pd.DataFrame(rows)


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The first seed's models and tagger, and the headline model on the rebalanced world."""
    first = sp.experiments.seeds[0]
    target = world_for(sp, first).ground_truth()["target_count"].to_numpy()
    w2 = world_for(sp, first, counts=rebalanced_counts(target, sp.experiments.rebalance.cap_quantile).tolist())
    return [*seed_jobs(sp, first), jobs.ClipJob(str(w2.root), sp.model.headline_width, sp.train, first)]


REBALANCE = Experiment(
    "rebalance", params="rebalance", table="synthetic/rebalance", trainings=trainings, run=run_rebalance
)
