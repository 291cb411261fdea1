"""The registry of the world's experiments, and the trainings they plan ahead (:func:`prepare`).

Every training is a pure, disk-cached function of its inputs, so a notebook first lists what its experiments will
train (each :class:`~wag.experiments.experiment.Experiment`'s ``trainings``; the worlds are built here, in this
process) and trains the missing ones ``synthetic.jobs`` worker processes at a time (:mod:`wag.synthetic.jobs`); the
experiments then run unchanged and find every checkpoint in the cache.
"""

from __future__ import annotations

from collections.abc import Sequence

from wag.core.errors import WagError
from wag.experiments.collisions import COLLISIONS
from wag.experiments.count_check import COUNT_CHECK
from wag.experiments.experiment import Experiment
from wag.experiments.headline import HEADLINE
from wag.experiments.intervention import INTERVENTION
from wag.experiments.letitwag import LETITWAG
from wag.experiments.planning import PLANNING
from wag.experiments.rebalance import REBALANCE
from wag.experiments.similarity import SIMILARITY
from wag.experiments.t2i import T2I
from wag.synthetic import jobs
from wag.synthetic.params import SyntheticParams

#: name -> experiment, in notebook order (what :func:`prepare` knows)
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e for e in (COUNT_CHECK, HEADLINE, INTERVENTION, REBALANCE, COLLISIONS, SIMILARITY, LETITWAG, T2I, PLANNING)
}


class UnknownExperimentError(WagError):
    """An experiment name that is not in the registry."""


def check_names(names: Sequence[str]) -> None:
    """Raise :class:`UnknownExperimentError` naming every unknown experiment and the known ones."""
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise UnknownExperimentError(f"unknown experiment(s) {unknown} to prepare; known: {', '.join(EXPERIMENTS)}")


def training_jobs(sp: SyntheticParams, experiments: Sequence[str], *, seed: int | None = None) -> list[jobs.Job]:
    """The trainings the ``experiments`` will run, as jobs, each once; the worlds they train on are built here (in this
    process, so never twice at once). ``seed``: the world of ``count_check`` (notebook 2's ``P.seed``; default the first
    headline seed). An experiment whose table is cached, or that the profile turns off, trains nothing. Left out: what
    depends on another training's result (the similarity control's retrain needs the seed's model embeddings)."""
    check_names(experiments)
    seed = sp.experiments.seeds[0] if seed is None else seed
    out: list[jobs.Job] = []
    for name in experiments:
        exp = EXPERIMENTS[name]
        if exp.enabled(sp) and not exp.is_cached(sp):
            out += exp.trainings(sp, seed)
    return list(dict.fromkeys(out))


def prepare(
    sp: SyntheticParams,
    experiments: Sequence[str],
    *,
    ahead: Sequence[str] = (),
    seed: int | None = None,
    progress: bool = True,
) -> list[jobs.Job]:
    """Train what the ``experiments`` will need, ``synthetic.jobs`` processes at a time, so that they then find every
    checkpoint in the cache (their own code path is unchanged). ``ahead``: experiments of later notebooks whose trainings
    run here too, only when there are spare processes (``synthetic.jobs`` > 1). With ``synthetic.jobs`` = 1 this does
    nothing: each experiment trains what it needs, in this process, when it needs it. Returns the jobs trained."""
    check_names([*experiments, *ahead])
    if sp.jobs <= 1:
        return []
    return jobs.run_jobs(training_jobs(sp, [*experiments, *ahead], seed=seed), sp.jobs, progress=progress)
