"""Independent trainings in worker processes (wag.synthetic.jobs, synthetic_experiments.prepare): same bytes as in-process."""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from wag.core.errors import WagError, WagWarning
from wag.synthetic.jobs import ClipJob, JobError, TaggerJob, run_jobs
from wag.synthetic.params import SyntheticParams, TrainParams

# train.threads 2: a worker that trained with another thread count (or another RNG) would write other weights
TINY = {
    "world": {"n_concepts": 8, "min_count": 2, "max_count": 60, "n_test": 3, "n_retrieval": 0},
    "model": {"widths": [32], "headline_width": 32},
    "train": {"steps": 12, "batch_size": 16, "warmup": 2, "threads": 2},
    "experiments": {
        "seeds": [0],
        "n_boot": 20,
        "tagger": {"per_concept": 6, "steps": 10, "n_val": 2},
        "intervention": {"n_concepts": 2},
        "collisions": {"batch_sizes": [32]},
    },
}
EXPERIMENTS = ["headline", "intervention", "collisions"]


def _trained_files(cache: Path) -> dict[str, str]:
    """Relative path -> sha256 of every checkpoint and tagger weight file under a cache."""
    files = [*cache.glob("synthetic/models/*/*.safetensors"), *cache.glob("synthetic/taggers/*/*.safetensors")]
    return {str(p.relative_to(cache)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _run(cache: Path, jobs: int, monkeypatch) -> tuple[list, dict[str, str], dict[str, str], dict[str, pd.DataFrame]]:
    import wag.experiments as E

    monkeypatch.setenv("WAG_CACHE", str(cache))
    sp = SyntheticParams.model_validate({**TINY, "jobs": jobs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WagWarning)  # 2 processes x 2 threads on a small machine
        trained = E.prepare(sp, EXPERIMENTS, progress=False)
    after_prepare = _trained_files(cache)
    h = E.run_headline(sp)
    tables = {
        "performance": h.performance,
        "counts": h.counts,
        "intervention": E.run_intervention(sp),
        "collisions": E.run_collisions(sp),
    }
    return trained, after_prepare, _trained_files(cache), tables


def test_jobs_1_and_2_train_the_same_bytes_and_tables(tmp_path, monkeypatch):
    trained1, before1, files1, tab1 = _run(tmp_path / "one", 1, monkeypatch)
    trained2, before2, files2, tab2 = _run(tmp_path / "two", 2, monkeypatch)
    assert trained1 == [] and before1 == {}  # jobs 1: today's path, each experiment trains in this process
    # headline w32 + tagger, the intervened world's model, the masked-loss and batch-32 models
    assert len(trained2) == 5 and {type(j) for j in trained2} == {ClipJob, TaggerJob}
    assert before2 == files2  # prepare listed every training the experiments run: they trained nothing more
    assert files1 == files2 and len(files1) == 5  # same cache keys, same bytes, whichever process trained them
    for name in tab1:
        cols = [c for c in tab1[name].columns if c != "seconds"]
        pd.testing.assert_frame_equal(tab1[name][cols], tab2[name][cols])


def test_run_jobs_names_the_failed_job(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))
    bad = [ClipJob(str(tmp_path / "no-world"), 32, TrainParams(steps=2, batch_size=4), seed, None) for seed in (0, 1)]
    for workers in (1, 2):
        with pytest.raises(
            JobError, match=r"training job failed: CLIP w32 seed [01] .* on world no-world: .*does not exist"
        ):
            run_jobs(bad, workers, progress=False)
    with pytest.raises(WagError, match="workers must be at least 1"):
        run_jobs(bad, 0, progress=False)


@dataclass(frozen=True)
class _DyingJob:
    """A job whose worker process dies (as when the OS kills it): there is no exception to name the job by."""

    seed: int
    threads = 1

    def describe(self) -> str:
        return f"dying job {self.seed}"

    def done(self) -> bool:
        return False

    def cost(self) -> float:
        return 1.0

    def run(self) -> None:
        os._exit(3)


def test_a_worker_that_dies_is_one_job_error():
    with pytest.raises(JobError, match=r"training job failed: a worker process ended abruptly .*synthetic.jobs 1"):
        run_jobs([_DyingJob(0), _DyingJob(1)], 2, progress=False)


def test_prepare_checks_the_experiment_names(monkeypatch, tmp_path):
    import wag.experiments as E

    monkeypatch.setenv("WAG_CACHE", str(tmp_path))
    with pytest.raises(WagError, match=r"unknown experiment\(s\) \['headlines'\].*known: count_check, headline"):
        E.prepare(SyntheticParams.model_validate(TINY), ["headlines"])
    assert not any(tmp_path.iterdir())  # checked before any work: no world built


def test_jobs_is_validated():
    with pytest.raises(ValueError, match="jobs"):
        SyntheticParams.model_validate({"jobs": 0})


def test_t2i_training_in_a_worker_writes_the_same_bytes(tmp_path, monkeypatch):
    """The T2I analogue's training as a job (``prepare(.., ["t2i"])``) writes the pipeline and judge byte for byte as
    training it in this process does, and the experiment then trains nothing more."""
    import wag.experiments as E
    from wag.synthetic.jobs import T2IJob
    from wag.synthetic.t2i import t2i_dir

    t2i = {
        "steps": 3,
        "batch_size": 8,
        "channels": [8, 16],
        "judge_steps": 3,
        "judge_per_class": 4,
        "n_generated": 2,
        "sample_steps": 2,
    }
    out = {}
    for jobs in (1, 2):
        monkeypatch.setenv("WAG_CACHE", str(tmp_path / str(jobs)))
        sp = SyntheticParams.model_validate({**TINY, "jobs": jobs, "experiments": {**TINY["experiments"], "t2i": t2i}})
        trained = E.prepare(sp, ["t2i"], progress=False)
        assert [type(j) for j in trained] == ([] if jobs == 1 else [T2IJob])
        if jobs == 1:
            E.run_t2i_experiment(sp)  # trains in this process
        folder = t2i_dir(E.world_for(sp, 0), sp.experiments.t2i, 0)
        files = {
            str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*.safetensors")
        }
        stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*.safetensors")}
        df, _ = E.run_t2i_experiment(sp)
        assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.safetensors")} == stamps  # nothing retrained
        out[jobs] = (files, df)
    assert out[1][0] == out[2][0] and len(out[1][0]) >= 2  # the UNet and the judge
    pd.testing.assert_frame_equal(out[1][1], out[2][1])


TRAIN_SAME = """
import json, sys
from wag.synthetic.params import TrainParams, WorldParams
from wag.synthetic.train import train_clip
from wag.synthetic.world import build_world
w = build_world(WorldParams(n_concepts=6, min_count=4, max_count=40, n_test=2, n_retrieval=0), 3, progress=False)
m = train_clip(w, 32, TrainParams(steps=8, batch_size=16, warmup=2, threads=1), 0, progress=False)
print(json.dumps({"world": str(w.root), "wall_s": m.log["wall_s"]}))
"""


def test_two_processes_asking_for_the_same_world_and_model_build_them_once(tmp_path: Path) -> None:
    """Notebooks run side by side (``wag reproduce --jobs``) may ask for the same world and checkpoint at once: one
    process builds and trains, the other waits for its lock and reads the result (the same training log)."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "WAG_CACHE": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen([sys.executable, "-c", TRAIN_SAME], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]  # same world folder, and one training: the other read its log
    assert len(list((tmp_path / "cache").glob("synthetic/models/*/*.safetensors"))) == 1
    assert not list((tmp_path / "cache").rglob(".wag.lock"))  # every lock released
