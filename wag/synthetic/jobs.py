"""Independent trainings of the synthetic world in parallel worker processes.

Every training here is a pure, disk-cached function of its inputs (:func:`wag.synthetic.train.train_clip` keyed by
world, width, training params, seed and subset; :func:`wag.synthetic.tagger.train_world_tagger` by world, tagger
params, seed and threads). A notebook lists what its experiments will train as picklable jobs, :func:`run_jobs` trains
the missing ones ``workers`` at a time (:func:`wag.core.parallel.map_shards` on *spawned* processes, which work inside
a Jupyter kernel), and the experiments then run as before and find every checkpoint in the cache. A job runs exactly
the call the experiment would make, with the params' own thread count, so the checkpoints are the same bytes
whichever process trained them and however many ran at once.

The worlds are built by the caller before the jobs are made (a job names a finished world folder), so no two
processes ever build the same world.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wag.core.errors import WagError, WagWarning, describe
from wag.core.parallel import map_shards
from wag.core.paths import cache_dir
from wag.synthetic.params import T2IParams, TaggerParams, TrainParams
from wag.synthetic.t2i import run_t2i, t2i_dir
from wag.synthetic.tagger import WEIGHTS, tagger_dir, train_world_tagger
from wag.synthetic.train import CHECKPOINT, train_clip, train_key
from wag.synthetic.world import World

#: seconds per training sample of one thread, measured on the default profile (only the order of the jobs uses them)
_CLIP_COST = {32: 3.1e-4, 64: 6.5e-4, 128: 1.6e-3}
_TAGGER_COST = 3.9e-4
_T2I_COST, _T2I_JUDGE_COST = (
    1.2e-3,
    0.03,
)  # ~70 s of UNet training (450 steps x 128) + ~8 s of judge (250 steps), 1 thread


class JobError(WagError):
    """A training job failed in its worker process."""


@dataclass(frozen=True)
class ClipJob:
    """Train ``wag-synth-w<width>`` on the world folder ``world`` (:func:`wag.synthetic.train.train_clip`)."""

    world: str
    width: int
    train: TrainParams
    seed: int
    subset: tuple[int, ...] | None = None

    def describe(self) -> str:
        sub = "" if self.subset is None else f", subset of {len(self.subset)}"
        return f"CLIP w{self.width} seed {self.seed} (loss {self.train.loss}, batch {self.train.batch_size}{sub}) on world {Path(self.world).name}"

    @property
    def threads(self) -> int:
        """Torch threads of the training (part of its cache key)."""
        return self.train.threads

    def _subset(self) -> np.ndarray | None:
        return None if self.subset is None else np.asarray(self.subset, dtype=np.int64)

    def output(self) -> Path:
        return (
            cache_dir()
            / "synthetic"
            / "models"
            / train_key(World(Path(self.world)), self.width, self.train, self.seed, self._subset())
        )

    def done(self) -> bool:
        out = self.output()
        return (out / "train_log.json").is_file() and (out / CHECKPOINT).is_file()

    def cost(self) -> float:
        return (
            self.train.steps * self.train.batch_size * _CLIP_COST.get(self.width, _CLIP_COST[128]) / self.train.threads
        )

    def run(self) -> None:
        train_clip(World(Path(self.world)), self.width, self.train, self.seed, subset=self._subset(), progress=False)


@dataclass(frozen=True)
class TaggerJob:
    """Train the world's image tagger (:func:`wag.synthetic.tagger.train_world_tagger`)."""

    world: str
    tagger: TaggerParams
    seed: int
    threads: int

    def describe(self) -> str:
        return f"tagger seed {self.seed} ({self.tagger.steps} steps) on world {Path(self.world).name}"

    def output(self) -> Path:
        return tagger_dir(World(Path(self.world)), self.tagger, self.seed, self.threads)

    def done(self) -> bool:
        return (self.output() / WEIGHTS).is_file() and (self.output() / "info.json").is_file()

    def cost(self) -> float:
        return self.tagger.steps * self.tagger.batch_size * _TAGGER_COST * (self.tagger.width / 16) ** 2 / self.threads

    def run(self) -> None:
        train_world_tagger(World(Path(self.world)), self.tagger, self.seed, threads=self.threads)


@dataclass(frozen=True)
class T2IJob:
    """Train the T2I analogue's class-conditional pipeline and its judge (:func:`wag.synthetic.t2i.run_t2i`, one thread)."""

    world: str
    t2i: T2IParams
    seed: int
    threads = 1  # run_t2i trains on one torch thread (a class attribute, not a field)

    def __hash__(self) -> int:  # T2IParams holds a list (channels): hash its JSON
        return hash((self.world, self.t2i.model_dump_json(), self.seed))

    def describe(self) -> str:
        return f"T2I analogue seed {self.seed} ({self.t2i.steps} steps) on world {Path(self.world).name}"

    def output(self) -> Path:
        return t2i_dir(World(Path(self.world)), self.t2i, self.seed)

    def done(self) -> bool:
        return (self.output() / "info.json").is_file()

    def cost(self) -> float:
        return self.t2i.steps * self.t2i.batch_size * _T2I_COST + self.t2i.judge_steps * _T2I_JUDGE_COST

    def run(self) -> None:
        run_t2i(World(Path(self.world)), self.t2i, self.seed)


Job = ClipJob | TaggerJob | T2IJob


def _init_worker() -> None:
    """Worker process set-up: passive OpenMP waits, and no open_clip "no pretrained weights loaded" line per model."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.getLogger().setLevel(logging.ERROR)


def _run_one(job: Job) -> float:
    """Train one job (a no-op when another process already did); returns its wall time. A failure is one
    :class:`JobError` naming the job (raised where the job ran, so it names it whichever process that was)."""
    t0 = time.perf_counter()
    try:
        if not job.done():  # the training itself waits for another process training the same job
            job.run()
    except (KeyboardInterrupt, JobError):
        raise
    except Exception as exc:  # the training's own error, as one line naming the job
        raise JobError(f"training job failed: {job.describe()}: {describe(exc)[1]}") from exc
    return time.perf_counter() - t0


def pending(jobs: Sequence[Job]) -> list[Job]:
    """The jobs whose output is not cached yet, each once, longest first (ties by description: a stable order)."""
    todo = [j for j in dict.fromkeys(jobs) if not j.done()]
    return sorted(todo, key=lambda j: (-j.cost(), j.describe()))


def run_jobs(jobs: Sequence[Job], workers: int, *, progress: bool = True) -> list[Job]:
    """Train the ``jobs`` not cached yet, ``workers`` processes at a time (in this process when ``workers`` is 1 or one job
    is left); returns the jobs trained. A failed job stops the others and raises one :class:`JobError` naming it."""
    if workers < 1:
        raise WagError(f"workers must be at least 1, got {workers}; set synthetic.jobs to 1 or more")
    todo = pending(jobs)
    if not todo:
        return []
    n = min(workers, len(todo))
    cores = os.cpu_count() or 1
    threads = max(j.threads for j in todo)
    if n > 1 and n * threads > cores:
        warnings.warn(
            f"{n} training processes × {threads} torch threads exceed the {cores} cores: "
            "set synthetic.train.threads to 1 (or fewer synthetic.jobs) not to oversubscribe them",
            WagWarning,
            stacklevel=2,
        )
    try:
        map_shards(
            _run_one,
            todo,
            backend="processes",
            workers=n,
            initializer=_init_worker,
            progress=f"training {len(todo)} models ({n} process{'es' if n > 1 else ''})" if progress else None,
        )
    except BrokenProcessPool as exc:  # a worker process died (killed, out of memory): no job to name
        raise JobError(
            f"training job failed: a worker process ended abruptly ({describe(exc)[1]}); "
            "rerun with synthetic.jobs 1 to see which training fails"
        ) from exc
    return todo
