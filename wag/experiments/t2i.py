"""T2I analogue (App. C style): per-concept generation quality of a class-conditional diffusion model vs frequency."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from wag.core.cache import cached_table
from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import world_for
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.t2i import run_t2i, t2i_summary


def run_t2i_experiment(sp: SyntheticParams, *, refresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """T2I analogue on the first seed's world: per-concept generation quality vs frequency (+ run info).

    The world trains the class-conditional pipeline and the judge (:func:`wag.synthetic.t2i.run_t2i`); the public
    ``t2i`` stage of the world's T2I study generates ``n_generated`` images per concept and judges them (metric
    ``judged_accuracy``). Info: judge accuracy, wall times, final loss, Spearman of accuracy vs log count, quartile means.
    """
    from wag.evaluate.t2i import JUDGED_ACCURACY  # lazy: wag.evaluate.t2i imports torch and diffusers

    seed = sp.experiments.seeds[0]
    tp = sp.experiments.t2i
    info_store: dict = {}

    def compute() -> pd.DataFrame:
        t_all = time.perf_counter()
        world = world_for(sp, seed)
        made = run_t2i(world, tp, seed)
        spec = S.t2i_study(world, seed, made.pipeline, made.judge, images=tp.n_generated, steps=tp.sample_steps)
        t0 = time.perf_counter()
        S.run(spec, ["t2i"])
        perf = S.table(spec, "t2i/performance.parquet")
        acc = perf[perf["metric"] == JUDGED_ACCURACY].set_index("concept")["value"]
        gt = world.ground_truth()
        counts = gt["image_count"].to_numpy()
        value = acc.reindex(gt["concept"]).to_numpy()
        if np.isnan(value).any():
            raise RuntimeError(f"the t2i stage judged {len(acc)} of the world's {len(gt)} concepts")
        info_store.update(
            made.info,
            sample_s=time.perf_counter() - t0,
            **t2i_summary(counts, value),
            total_s=time.perf_counter() - t_all,
        )
        return pd.DataFrame({"concept": gt["concept"].to_numpy(), "count": counts, "value": value}).assign(seed=seed)

    df = T2I.cached(sp, compute, refresh=refresh)
    info = cached_table(
        "synthetic/t2i-info",
        T2I.key(sp),
        lambda: pd.DataFrame([info_store]) if info_store else pd.DataFrame([{"note": "cached"}]),
        refresh=bool(info_store),
    )
    return df, info


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The class-conditional pipeline and its judge on the first seed's world."""
    first = sp.experiments.seeds[0]
    return [jobs.T2IJob(str(world_for(sp, first).root), sp.experiments.t2i, first)]


T2I = Experiment(
    "t2i",
    params="t2i",
    table="synthetic/t2i",
    trainings=trainings,
    run=run_t2i_experiment,
    key_extra={"via": "study-stage"},
)
