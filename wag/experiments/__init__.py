"""The synthetic world's experiments, end to end through the real pipeline (notebooks 2, 4-1, 4-2 and 4-3).

Chain: world (generator) → counts (the public study stages: count, tag, integrate) → models (open_clip ``ClipLoss``)
→ per-concept zero-shot accuracy and retrieval (the zeroshot and retrieval stages) → fits (:mod:`wag.analysis`).
Every experiment takes the profile's :class:`~wag.synthetic.params.SyntheticParams`, returns tidy tables and caches
them keyed by the params (its own block only); worlds and models are cached on disk too, so a rerun is fast.

One module per experiment, each declaring one :class:`~wag.experiments.experiment.Experiment` (its own params, its
cached table, the trainings it needs, its run): ``headline``, ``intervention``, ``rebalance``, ``similarity``,
``collisions``, ``letitwag``, ``t2i``, ``count_check``, ``planning``; the registry (:mod:`~wag.experiments.registry`) plans their
trainings (:func:`prepare`). Shared: ``world_runs`` (worlds, seed studies, models through the public stages),
``world_counts`` (counts vs ground truth), ``fitting`` (counts joined with performance, fitted); ``figures`` draws.

This module is the package face: ``import wag.experiments as E; E.run_headline(sp)``.
"""

from wag.experiments.collisions import collision_summary, collision_variants, run_collisions
from wag.experiments.count_check import count_check
from wag.experiments.experiment import CACHE_VERSION, Experiment, cache_parts
from wag.experiments.fitting import POOLED, POOLED_COMMON, fits_and_points, join, join_seeds
from wag.experiments.headline import Headline, headline_summary, run_headline, scale_table
from wag.experiments.intervention import intervention_counts, intervention_summary, run_intervention
from wag.experiments.letitwag import letitwag_options, letitwag_pool, run_letitwag
from wag.experiments.planning import INTERVENTION as PLANNED_INTERVENTION
from wag.experiments.planning import planning_claims, planning_seeds, planning_summary, run_planning
from wag.experiments.rebalance import rebalance_summary, rebalanced_counts, run_rebalance
from wag.experiments.registry import EXPERIMENTS, UnknownExperimentError, prepare, training_jobs
from wag.experiments.similarity import run_similarity_control
from wag.experiments.t2i import run_t2i_experiment
from wag.experiments.world_counts import (
    COUNT_TYPES,
    TAGGER_DESCRIPTIONS,
    TAGGER_LABELS,
    count_variant,
    count_world,
    variant_names,
)
from wag.experiments.world_runs import (
    ExperimentError,
    baseline,
    concept_accuracy,
    evaluate,
    load_model,
    requirements_missing,
    seed_jobs,
    seed_study,
    study_performance,
    world_for,
    world_studies,
)

__all__ = [
    "CACHE_VERSION",
    "COUNT_TYPES",
    "EXPERIMENTS",
    "PLANNED_INTERVENTION",
    "POOLED",
    "POOLED_COMMON",
    "TAGGER_DESCRIPTIONS",
    "TAGGER_LABELS",
    "Experiment",
    "ExperimentError",
    "Headline",
    "UnknownExperimentError",
    "baseline",
    "cache_parts",
    "collision_summary",
    "collision_variants",
    "concept_accuracy",
    "count_check",
    "count_variant",
    "count_world",
    "evaluate",
    "fits_and_points",
    "headline_summary",
    "intervention_counts",
    "intervention_summary",
    "join",
    "join_seeds",
    "letitwag_options",
    "letitwag_pool",
    "load_model",
    "planning_claims",
    "planning_seeds",
    "planning_summary",
    "prepare",
    "rebalance_summary",
    "rebalanced_counts",
    "requirements_missing",
    "run_collisions",
    "run_headline",
    "run_intervention",
    "run_letitwag",
    "run_planning",
    "run_rebalance",
    "run_similarity_control",
    "run_t2i_experiment",
    "scale_table",
    "seed_jobs",
    "seed_study",
    "study_performance",
    "training_jobs",
    "variant_names",
    "world_for",
    "world_studies",
]
