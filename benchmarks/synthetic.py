"""Synthetic world throughput, each number beside a baseline measured in the same run.

    .venv/bin/python benchmarks/synthetic.py            # throughputs (about a minute)
    .venv/bin/python benchmarks/synthetic.py --stages   # + cold wall time of the synthetic notebooks' steps (shared study
                                                        #   folder), synthetic.jobs 1 (every training in turn) vs 2 (worker processes)
    .venv/bin/python benchmarks/synthetic.py --stages-only --jobs 1 2 --per-notebook   # + a column where each notebook recomputes
                                                        #   in its own cache (no stage output shared across notebooks)
    .venv/bin/python benchmarks/synthetic.py --stages --profile synthetic

Prints: images generated/s (vectorised chunks vs one image at a time), training samples/s (1 vs 2 torch threads, fused AdamW
vs torch's default AdamW loop; OMP_WAIT_POLICY=PASSIVE), evaluation images/s (wag.evaluate from the PNG image folder vs encoding
in-memory tensors), and with --stages the cold wall time of each synthetic notebook's steps for each synthetic.jobs value side by side
(and, with --per-notebook, per-notebook recomputation beside the shared study folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def bench_generation() -> None:
    from wag.synthetic import generator as gen

    rng = np.random.default_rng(0)
    cs = gen.draw_concepts(100, rng)
    grid = gen.assign_concepts(np.full(100, 60), [0.4, 0.35, 0.25], rng)
    t = time.perf_counter()
    gen.render(grid, cs, 32, 0.08, rng, chunk=1024)
    fast = len(grid) / (time.perf_counter() - t)
    sub = grid[:300]
    t = time.perf_counter()
    gen.render(sub, cs, 32, 0.08, rng, chunk=1)
    slow = len(sub) / (time.perf_counter() - t)
    print(
        f"generation   images/s: vectorised {fast:9.0f}   one at a time (baseline) {slow:9.0f}   ({len(grid)} / {len(sub)} images)"
    )


def bench_training(world) -> None:
    from wag.synthetic.params import TrainParams
    from wag.synthetic.train import train_clip

    out = {}
    for threads, fused in ((1, True), (2, True), (2, False)):
        for width in (32, 64):
            tp = TrainParams(steps=40, batch_size=128, warmup=5, threads=threads, fused_optimizer=fused)
            with tempfile.TemporaryDirectory() as d:
                m = train_clip(world, width, tp, 0, out_dir=d, progress=False)
            out[(threads, fused, width)] = m.log["samples_per_s"]
    for width in (32, 64):
        print(
            f"training     samples/s (w{width}): 1 thread {out[(1, True, width)]:9.0f}   2 threads {out[(2, True, width)]:9.0f}"
            f"   2 threads, torch's default AdamW loop (baseline) {out[(2, False, width)]:9.0f}"
        )


def bench_eval(world) -> None:
    import torch

    from wag.evaluate.datasets import image_folder
    from wag.evaluate.models import load_clip
    from wag.evaluate.zeroshot import evaluate_zeroshot
    from wag.synthetic.params import TrainParams
    from wag.synthetic.train import normalise, train_clip

    with tempfile.TemporaryDirectory() as d:
        m = train_clip(world, 32, TrainParams(steps=5, batch_size=32, warmup=1), 0, out_dir=d, progress=False)
        lm = load_clip(m.name, source="bench")
        data = image_folder(world.test_dir)
        t = time.perf_counter()
        evaluate_zeroshot(lm, data, dataset_name="synthetic", cache=False, progress=False)
        harness = len(data) / (time.perf_counter() - t)
        x = normalise(np.asarray(world.images()[: len(data)]))
        t = time.perf_counter()
        with torch.inference_mode():
            for a in range(0, len(x), 256):
                lm.model.encode_image(x[a : a + 256])
        raw = len(x) / (time.perf_counter() - t)
    print(
        f"evaluation   images/s: wag.evaluate (PNG folder) {harness:9.0f}   in-memory tensors (upper bound) {raw:9.0f}"
    )


def _notebook_steps(profile: str, jobs: int) -> dict[str, list[tuple[str, object]]]:
    """What each synthetic notebook computes (its calls into wag.synthetic), in `make reproduce` order, with ``synthetic.jobs``."""
    import wag.experiments as E
    from wag.run.profile import load_profile

    P = load_profile(profile, {"synthetic.jobs": jobs})
    sp = P.synthetic
    F = P.frequency
    h: dict = {}

    def headline():
        h["h"] = E.run_headline(sp)

    return {
        "2_concepts_and_frequency": [
            (
                "prepare (tagger; seed-0 models ahead)",
                lambda: E.prepare(sp, ["count_check"], seed=P.seed, ahead=["similarity"], progress=False),
            ),
            (
                "world counts and tags (count_check)",
                lambda: E.count_check(sp, P.seed, list(F.variants), list(F.tagger_thresholds)),
            ),
        ],
        "4-1_similarity_control": [
            ("prepare (seed-0 models and tagger)", lambda: E.prepare(sp, ["similarity"], progress=False)),
            ("similarity control", lambda: E.run_similarity_control(sp)),
        ],
        "4-2_synthetic": [
            (
                "prepare (every independent training)",
                lambda: E.prepare(
                    sp, ["headline", "intervention", "rebalance", "collisions", "letitwag", "t2i"], progress=False
                ),
            ),
            ("headline (worlds, training, study stages, fits)", headline),
            ("intervention", lambda: E.run_intervention(sp)),
            ("rebalancing", lambda: E.run_rebalance(sp)),
            ("batch collisions", lambda: E.run_collisions(sp)),
            ("Let It Wag! analogue", lambda: E.run_letitwag(sp)),
            ("T2I analogue", lambda: E.run_t2i_experiment(sp)),
        ],
        "4-3_planning": [
            ("prepare (intervened, uniform and balanced worlds)", lambda: E.prepare(sp, ["planning"], progress=False)),
            ("planning (planner's world, evaluation)", lambda: E.run_planning(sp)),
        ],
    }


def _run_notebooks(profile: str, jobs: int, caches: dict[str, str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for nb, steps in _notebook_steps(profile, jobs).items():
        os.environ["WAG_CACHE"] = caches[nb]
        out[nb] = {}
        for name, fn in steps:
            t = time.perf_counter()
            fn()
            out[nb][name] = time.perf_counter() - t
    return out


def bench_stages(profile: str, jobs: list[int], per_notebook: bool = False) -> None:
    """Wall time of every synthetic step of the notebooks, cold, side by side: one column per ``synthetic.jobs`` value (one
    cache shared by the notebooks, as `make reproduce` runs them), and with ``per_notebook`` first a column where every
    notebook recomputes what it needs in its own empty cache (jobs 1; no stage output shared across notebooks)."""
    old_cache = os.environ.get("WAG_CACHE")
    cols: dict[str, dict[str, dict[str, float]]] = {}
    loads: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        nbs = list(_notebook_steps(profile, 1))
        if per_notebook:
            cols["per-nb j1"] = _run_notebooks(profile, 1, {nb: str(Path(d) / "per-notebook" / nb) for nb in nbs})
            loads["per-nb j1"] = os.getloadavg()[1]
        for j in jobs:
            cols[f"jobs={j}"] = _run_notebooks(profile, j, dict.fromkeys(nbs, str(Path(d) / f"jobs{j}")))
            loads[f"jobs={j}"] = os.getloadavg()[1]
    if old_cache is None:
        os.environ.pop("WAG_CACHE", None)
    else:
        os.environ["WAG_CACHE"] = old_cache
    names = list(cols)
    first = cols[names[0]]
    print(
        f"stages of the synthetic notebooks, profile {profile}, cold (seconds; one cache shared by the notebooks unless per-nb)"
    )
    print(f"  {'notebook':<26} {'step':<50} " + " ".join(f"{n:>10}" for n in names))
    for nb in first:
        for step in first[nb]:
            print(f"  {nb:<26} {step:<50} " + " ".join(f"{cols[n][nb][step]:10.1f}" for n in names))
    for nb in first:
        print(f"  {nb + ' (total)':<77} " + " ".join(f"{sum(cols[n][nb].values()):10.1f}" for n in names))
    totals = {n: sum(sum(v.values()) for v in cols[n].values()) for n in names}
    print(f"  {'total':<77} " + " ".join(f"{totals[n]:10.1f}" for n in names))
    print(
        f"  {'5-min load average at the end of the column':<77} "
        + " ".join(f"{loads[n]:10.1f}" for n in names)
        + f"   ({os.cpu_count()} cores; {totals[names[-1]] / totals[names[0]]:.2f}x of the first column)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--stages",
        action="store_true",
        help="also time the synthetic notebooks' steps cold, one column per --jobs value",
    )
    ap.add_argument(
        "--stages-only", action="store_true", help="only the --stages comparison (skip the throughput benchmarks)"
    )
    ap.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 2], help="synthetic.jobs values compared by --stages (default: 1 2)"
    )
    ap.add_argument(
        "--per-notebook",
        action="store_true",
        help="--stages: add a first column where each notebook recomputes in its own cache",
    )
    ap.add_argument("--profile", default="default")
    a = ap.parse_args()
    from wag.synthetic.params import WorldParams
    from wag.synthetic.world import build_world

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if a.stages_only:
        bench_stages(a.profile, a.jobs, a.per_notebook)
        return
    bench_generation()
    with tempfile.TemporaryDirectory() as d:
        world = build_world(
            WorldParams(n_concepts=50, min_count=5, max_count=500, n_test=20, n_retrieval=0),
            0,
            Path(d) / "w",
            progress=False,
        )
        bench_training(world)
        bench_eval(world)
    if a.stages:
        bench_stages(a.profile, a.jobs, a.per_notebook)


if __name__ == "__main__":
    main()
