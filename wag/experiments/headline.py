"""The headline: worlds × seeds, models × widths, counts, evaluation and fits (the log-linear law, Fig. 2 analogue)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from wag.core.cache import cached_table
from wag.experiments.experiment import Experiment
from wag.experiments.fitting import POOLED, POOLED_COMMON, fits_and_points, join_seeds
from wag.experiments.world_counts import count_variant, count_world
from wag.experiments.world_runs import every_seed_jobs, seed_study, study_performance, timed
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.world import DATASET


@dataclass
class Headline:
    """Tables of the headline chain (all seeds and widths, standard loss)."""

    counts: pd.DataFrame  # frequencies contract + seed, true_count
    count_quality: pd.DataFrame  # seed, method, precision, recall, spearman
    performance: pd.DataFrame  # performance contract + seed, width
    fits: pd.DataFrame  # fits contract + seed (+ pooled rows with seed = -1)
    points: pd.DataFrame
    timings: pd.DataFrame  # stage, seconds (of the uncached computation)


def run_headline(sp: SyntheticParams, *, progress: bool = False, refresh: bool = False) -> Headline:
    """Worlds × seeds, models × widths, counts, evaluation and fits (cached by the params)."""
    names = ["counts", "count_quality", "performance", "timings"]

    def compute_all() -> dict[str, pd.DataFrame]:
        timings: list[dict] = []
        counts, qual, perf = [], [], []
        for seed in sp.experiments.seeds:
            w, models, main, clip = seed_study(sp, seed, progress=progress, timings=timings)
            width_of = {S.model_name(width): width for width in models}
            p = timed(timings, f"study stages zeroshot, retrieval seed {seed}", study_performance, main)
            perf.append(p.assign(seed=seed, width=p["model"].map(width_of), loss=sp.train.loss))
            f, q, info = timed(
                timings,
                f"study stages count, tag, integrate, misalignment seed {seed}",
                count_world,
                w,
                main,
                sp.experiments.tagger_threshold,
                compare=clip,
            )
            counts.append(f.assign(seed=seed))
            qual.append(
                q.assign(
                    seed=seed,
                    true_misaligned=info["true_misaligned"],
                    estimated_misaligned=info.get("estimated_misaligned"),
                )
            )
        return {
            "counts": pd.concat(counts, ignore_index=True),
            "count_quality": pd.concat(qual, ignore_index=True),
            "performance": pd.concat(perf, ignore_index=True),
            "timings": pd.DataFrame(timings),
        }

    store: dict[str, pd.DataFrame] = {}

    def getter(name: str) -> Callable[[], pd.DataFrame]:
        def compute() -> pd.DataFrame:
            if not store:
                store.update(compute_all())
            return store[name]

        return compute

    parts = HEADLINE.key(sp)
    tabs = {n: cached_table(f"synthetic/headline-{n}", parts, getter(n), refresh=refresh or bool(store)) for n in names}
    joined = join_seeds(tabs["counts"], tabs["performance"])
    fits, points = fits_and_points(joined, sp, by=["seed", "width"])
    pooled_f, pooled_p = fits_and_points(joined.assign(seed=POOLED, pretraining=DATASET), sp, by=["seed", "width"])
    # widths compared on the same worlds: pooled over the seeds trained at every width (when that is fewer)
    per_seed = joined.groupby("seed")["width"].nunique()
    common = per_seed.index[per_seed == joined["width"].nunique()]
    if 0 < len(common) < len(per_seed):
        cf, cp = fits_and_points(
            joined[joined["seed"].isin(common)].assign(seed=POOLED_COMMON, pretraining=DATASET),
            sp,
            by=["seed", "width"],
        )
        pooled_f, pooled_p = pd.concat([pooled_f, cf], ignore_index=True), pd.concat([pooled_p, cp], ignore_index=True)
    quality = tabs["count_quality"].drop_duplicates(subset=["seed", "method", "variant"], ignore_index=True)
    return Headline(
        tabs["counts"],
        quality,
        tabs["performance"],
        pd.concat([fits, pooled_f], ignore_index=True),
        pd.concat([points, pooled_p], ignore_index=True),
        tabs["timings"],
    )


def headline_summary(h: Headline, sp: SyntheticParams, count_type: str = "text") -> pd.DataFrame:
    """Per seed (and pooled, seed = -1) at the headline width: per-concept slope with CI, binned ρ, accuracy range."""
    f = h.fits[
        (h.fits["task"] == "classification")
        & (h.fits["count_type"] == count_variant(count_type, sp))
        & (h.fits["width"] == sp.model.headline_width)
        & (h.fits["seed"] != POOLED_COMMON)
    ]
    pc = f[f["method"] == "per_concept"].set_index("seed")
    b = f[f["method"] == "binned"].set_index("seed")
    acc = h.performance[
        (h.performance["task"] == "classification") & (h.performance["width"] == sp.model.headline_width)
    ]
    out = pd.DataFrame(
        {
            "slope": pc["slope"],
            "slope_lo": pc["slope_lo"],
            "slope_hi": pc["slope_hi"],
            "intercept": pc["intercept"],
            "binned_rho": b["rho"],
            "binned_p": b["p"],
            "n_concepts": pc["n"],
        }
    )
    g = acc.groupby("seed")["value"]
    out["mean_accuracy"] = g.mean()
    out.loc[-1, "mean_accuracy"] = acc["value"].mean()
    out["chance"] = 1.0 / sp.world.n_concepts
    out["ci_above_zero"] = out["slope_lo"] > 0
    out["rho_at_least_0.8"] = out["binned_rho"] >= 0.8
    return out.reset_index().assign(count_type=count_type, width=sp.model.headline_width)


def scale_table(h: Headline, sp: SyntheticParams, count_type: str = "text") -> pd.DataFrame:
    """Slope and intercept of the per-concept fit for each model width (per seed and pooled).

    ``seed`` -1 pools every seed of a width; -2 pools only the seeds trained at every width (the paired
    comparison, present when ``model.scale_seeds`` trains the other widths on fewer seeds)."""
    f = h.fits[
        (h.fits["task"] == "classification")
        & (h.fits["count_type"] == count_variant(count_type, sp))
        & (h.fits["method"] == "per_concept")
    ]
    return (
        f[["width", "seed", "slope", "slope_lo", "slope_hi", "intercept", "r2", "n"]]
        .sort_values(["width", "seed"])
        .reset_index(drop=True)
    )


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """Every seed's CLIP models and tagger."""
    return every_seed_jobs(sp)


HEADLINE = Experiment("headline", params=None, table="synthetic/headline-counts", trainings=trainings, run=run_headline)
