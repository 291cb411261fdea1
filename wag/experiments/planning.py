"""Planning checked by retraining: fit the law on a world, allocate a budget of new samples (planner, uniform,
balanced, and the ×10 intervention at the same budget), build each world, retrain, compare predicted and observed.

Per seed of ``planning.seeds``: the seed's baseline world and headline model (shared with the headline), the law
fitted on its per-concept accuracy against the true image counts (:func:`wag.analysis.law.fit_law`), the budget
(``planning.budget``, default: the samples the intervention adds to that world), each strategy's allocation
(:func:`wag.analysis.plan.allocate`), the world rebuilt with those counts (same concepts and test sets), the
headline width retrained with the same steps, and per-concept accuracy by the public zeroshot stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wag.analysis.law import fit_law_counts
from wag.analysis.plan import allocate, plan_balanced, plan_uniform, predict_allocation
from wag.experiments.experiment import Experiment
from wag.experiments.intervention import intervention_counts
from wag.experiments.world_runs import baseline, concept_accuracy, seed_jobs, world_for
from wag.synthetic import jobs
from wag.synthetic.params import SyntheticParams
from wag.synthetic.train import train_clip
from wag.synthetic.world import DATASET

#: the intervention's allocation, compared at the same budget (the first point of the comparison)
INTERVENTION = "intervention ×10"


def planning_seeds(sp: SyntheticParams) -> list[int]:
    """The seeds whose worlds are retrained per allocation."""
    return list(sp.experiments.planning.seeds or sp.experiments.seeds)


def fixed_allocations(sp: SyntheticParams, gt: pd.DataFrame) -> tuple[int, dict[str, np.ndarray]]:
    """(budget, strategy -> added samples per row of ``gt``) for the allocations that need no law: the intervention's,
    uniform and balanced (the planner's needs the fitted law)."""
    new, _ = intervention_counts(sp, gt)
    iv_added = np.maximum(new - gt["target_count"].to_numpy(), 0)
    budget = int(sp.experiments.planning.budget or iv_added.sum())
    c = gt["image_count"].to_numpy().astype(np.int64)
    out: dict[str, np.ndarray] = {INTERVENTION: iv_added.astype(np.int64)}
    strategies = sp.experiments.planning.strategies
    if "uniform" in strategies:
        out["uniform"] = plan_uniform(c, budget, np.inf)
    if "balanced" in strategies:
        out["balanced"] = plan_balanced(c, budget, np.inf)[0]
    return budget, out


def run_planning(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """One row per seed, strategy and concept: counts before/added/after, the law's prediction before and after with
    its prediction interval, the predicted gain (and its interval from the slope's), observed accuracy before/after."""
    pp = sp.experiments.planning

    def compute() -> pd.DataFrame:
        parts = []
        for seed in planning_seeds(sp):
            _, w, _, gt = baseline(sp, seed)
            law = fit_law_counts(gt["image_count"], gt["accuracy"], alpha=pp.alpha)
            counts = pd.Series(gt["image_count"].to_numpy(), index=gt["concept"])
            budget, fixed = fixed_allocations(sp, gt)
            plans = {INTERVENTION: fixed[INTERVENTION]}
            for s in pp.strategies:
                plans[s] = fixed[s] if s in fixed else allocate(law, counts, budget, s)["added"].to_numpy()
            seen: dict[
                tuple[int, ...], tuple[pd.Series, pd.Series]
            ] = {}  # identical allocations share one world and one model
            for s, added in plans.items():
                new = gt["target_count"].to_numpy() + added
                key = tuple(int(v) for v in new)
                if key not in seen:
                    w2 = world_for(sp, seed, counts=list(key))
                    m2 = train_clip(w2, sp.model.headline_width, sp.train, seed, progress=False)
                    label = "intervention" if s == INTERVENTION else f"plan-{s}"
                    acc = concept_accuracy(w2, m2, f"{DATASET}-s{seed}-{label}")
                    seen[key] = (acc, w2.ground_truth().set_index("concept")["image_count"])
                t = predict_allocation(law, counts, added, s)
                t["accuracy_before"] = gt["accuracy"].to_numpy()
                t["accuracy_after"] = t["concept"].map(seen[key][0]).to_numpy()
                t["count_realised"] = t["concept"].map(seen[key][1]).to_numpy()
                t["seed"] = seed
                t["budget"] = budget
                t["law_slope"], t["law_intercept"] = law.slope, law.intercept
                t["slope_low"], t["slope_high"] = law.slope_ci
                parts.append(t)
        return pd.concat(parts, ignore_index=True)

    return PLANNING.cached(sp, compute, refresh=refresh)


def planning_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per strategy (the intervention first): budget, concepts raised, the law's predicted mean gain (and interval)
    vs the observed mean gain over seeds (mean, and its spread over seeds), and the coverage of the prediction
    intervals (all concepts, and the raised ones): the fraction of observed accuracies after retraining inside
    the law's interval at their new count."""
    rows = []
    for s, g in df.groupby("strategy", sort=False):
        per_seed = g.assign(observed=g["accuracy_after"] - g["accuracy_before"]).groupby("seed")
        obs = per_seed["observed"].mean()
        inside = (g["accuracy_after"] >= g["pi_low_after"]) & (g["accuracy_after"] <= g["pi_high_after"])
        raised = g["added"] > 0
        change = g["accuracy_after"] - g["accuracy_before"]
        rows.append(
            {
                "strategy": s,
                "seeds": int(g["seed"].nunique()),
                "budget": int(g.groupby("seed")["budget"].first().mean()),
                "concepts_raised": float(raised.groupby(g["seed"]).sum().mean()),
                "predicted_gain": float(per_seed["predicted_gain"].mean().mean()),
                "gain_low": float(per_seed["gain_low"].mean().mean()),
                "gain_high": float(per_seed["gain_high"].mean().mean()),
                "observed_gain": float(obs.mean()),
                "observed_sd": float(obs.std(ddof=1)) if len(obs) > 1 else float("nan"),
                "observed_minus_predicted": float(obs.mean() - per_seed["predicted_gain"].mean().mean()),
                "observed_se": float(change.std(ddof=1) / np.sqrt(len(change))) if len(change) > 1 else float("nan"),
                "raised_predicted_gain": float(g["predicted_gain"][raised].mean()) if raised.any() else float("nan"),
                "raised_observed_gain": float(change[raised].mean() if raised.any() else np.nan),
                "unraised_observed_gain": float(change[~raised].mean() if (~raised).any() else np.nan),
                "pi_coverage": float(inside.mean()),
                "pi_coverage_raised": float(inside[raised].mean()) if raised.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def planning_claims(summary: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """Sentences computed from :func:`planning_summary`: does the planner beat uniform (observed, against the noise of
    a mean gain), by how much the law under- or over-predicts each strategy's gain, and whether the prediction
    intervals hold their level."""
    by = summary.set_index("strategy")
    out = []
    if {"planner", "uniform"} <= set(by.index):
        p, u = by.loc["planner"], by.loc["uniform"]
        d = p["observed_gain"] - u["observed_gain"]
        # noise of a strategy's mean gain: its spread over seeds, or (one seed) the standard error over concepts
        noise = [v for r in (p, u) for v in (r["observed_sd"], r["observed_se"]) if np.isfinite(v)]
        big = max(noise) if noise else float("nan")
        within = np.isfinite(big) and abs(d) < 2 * big
        verdict = "beats" if d > 0 else "does not beat"
        out.append(
            f"Observed: the planner {verdict} uniform allocation: mean accuracy gain {p['observed_gain']:+.3f} vs "
            f"{u['observed_gain']:+.3f} over {int(p['seeds'])} seed(s); the law predicted {p['predicted_gain']:+.3f} vs "
            f"{u['predicted_gain']:+.3f}."
            + (
                f" The difference ({d:+.3f}) is within twice the noise of a mean gain ({big:.3f}: spread over seeds "
                "or standard error over concepts), so this run does not separate them."
                if within
                else ""
            )
        )
        if d <= 0 and np.isfinite(p["unraised_observed_gain"]):
            out.append(
                f"Why, in these numbers: the concepts the planner left alone changed by {p['unraised_observed_gain']:+.3f} "
                f"(its raised ones by {p['raised_observed_gain']:+.3f}, predicted {p['raised_predicted_gain']:+.3f}): "
                "the training steps are fixed, so samples added to the tail take exposure from every other concept, "
                "which the law, fitted across the concepts of one world, does not model."
            )
    if {"planner", "balanced"} <= set(by.index):
        p, b = by.loc["planner"], by.loc["balanced"]
        if abs(p["predicted_gain"] - b["predicted_gain"]) < 1e-3 * max(abs(b["predicted_gain"]), 1e-9):
            out.append(
                "The planner and MetaCLIP-style balancing make the same allocation here: with one law for every "
                "concept, maximising the mean predicted accuracy is water-filling on the counts."
            )
    for s, r in by.iterrows():
        gap = r["observed_minus_predicted"]
        word = "under-predicts" if gap > 0 else "over-predicts"
        out.append(
            f"{s}: the law {word} the mean gain by {abs(gap):.3f} (predicted {r['predicted_gain']:+.3f}, interval "
            f"[{r['gain_low']:+.3f}, {r['gain_high']:+.3f}] from the slope's; observed {r['observed_gain']:+.3f}); on the "
            f"{r['concepts_raised']:.0f} raised concepts it predicted {r['raised_predicted_gain']:+.3f} and they gained "
            f"{r['raised_observed_gain']:+.3f}; {r['pi_coverage']:.0%} of concepts (raised ones: "
            f"{r['pi_coverage_raised']:.0%}) fall inside the {1 - alpha:.0%} prediction interval."
        )
    return out


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """Per planning seed: its models and tagger, and the headline model on the intervened, uniform and balanced worlds
    (the planner's world needs the fitted law, so it is trained when the experiment runs, or found identical)."""
    out: list[jobs.Job] = []
    for s in planning_seeds(sp):
        out += seed_jobs(sp, s)
        gt = world_for(sp, s).ground_truth()
        _, fixed = fixed_allocations(sp, gt)
        for added in fixed.values():
            w2 = world_for(sp, s, counts=(gt["target_count"].to_numpy() + added).tolist())
            out.append(jobs.ClipJob(str(w2.root), sp.model.headline_width, sp.train, s))
    return list(dict.fromkeys(out))


PLANNING = Experiment(
    "planning",
    params="planning",
    table="synthetic/planning",
    trainings=trainings,
    run=run_planning,
    uses=("intervention",),
)
