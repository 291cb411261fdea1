"""Synthetic world throughput, each number beside a baseline measured in the same run.

    .venv/bin/python benchmarks/synthetic.py            # throughputs (about a minute)
    .venv/bin/python benchmarks/synthetic.py --stages   # + wall time of every stage of a profile (fresh cache)
    .venv/bin/python benchmarks/synthetic.py --stages --profile synthetic

Prints: images generated/s (vectorised chunks vs one image at a time), training samples/s (1 vs 2 torch threads, fused AdamW
vs torch's default AdamW loop; OMP_WAIT_POLICY=PASSIVE), evaluation images/s (wag.evaluate from the PNG image folder vs encoding
in-memory tensors), and with --stages the wall time of the headline chain and each experiment.
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
    print(f"generation   images/s: vectorised {fast:9.0f}   one at a time (baseline) {slow:9.0f}   ({len(grid)} / {len(sub)} images)")


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
        print(f"training     samples/s (w{width}): 1 thread {out[(1, True, width)]:9.0f}   2 threads {out[(2, True, width)]:9.0f}"
              f"   2 threads, torch's default AdamW loop (baseline) {out[(2, False, width)]:9.0f}")


def bench_eval(world) -> None:
    import torch

    from wag.evaluate.datasets import image_folder
    from wag.evaluate.models import load_clip
    from wag.evaluate.zeroshot import evaluate_zeroshot
    from wag.synthetic.params import TrainParams
    from wag.synthetic.train import _normalise, train_clip

    with tempfile.TemporaryDirectory() as d:
        m = train_clip(world, 32, TrainParams(steps=5, batch_size=32, warmup=1), 0, out_dir=d, progress=False)
        lm = load_clip(m.name, source="bench")
        data = image_folder(world.test_dir)
        t = time.perf_counter()
        evaluate_zeroshot(lm, data, dataset_name="synthetic", cache=False, progress=False)
        harness = len(data) / (time.perf_counter() - t)
        x = _normalise(np.asarray(world.images()[: len(data)]))
        t = time.perf_counter()
        with torch.inference_mode():
            for a in range(0, len(x), 256):
                lm.model.encode_image(x[a : a + 256])
        raw = len(x) / (time.perf_counter() - t)
    print(f"evaluation   images/s: wag.evaluate (PNG folder) {harness:9.0f}   in-memory tensors (upper bound) {raw:9.0f}")


def bench_stages(profile: str) -> None:
    from wag.params import load_profile
    from wag.analysis import synthetic_experiments as E

    sp = load_profile(profile).synthetic
    with tempfile.TemporaryDirectory() as d:
        os.environ["WAG_CACHE"] = d
        times = {}
        t = time.perf_counter()
        h = E.run_headline(sp)
        times["headline (worlds, training, counting, evaluation, fits)"] = time.perf_counter() - t
        steps = [("intervention", lambda: E.run_intervention(sp)), ("rebalancing", lambda: E.run_rebalance(sp)),
                 ("similarity control", lambda: E.run_similarity_control(sp)), ("batch collisions", lambda: E.run_collisions(sp)),
                 ("Let It Wag! analogue", lambda: E.run_letitwag(sp, h)), ("T2I analogue", lambda: E.run_t2i_experiment(sp))]
        for name, fn in steps:
            t = time.perf_counter()
            fn()
            times[name] = time.perf_counter() - t
    for _, row in h.timings.iterrows():
        print(f"  headline stage {row['stage']:<28} {row['seconds']:8.1f} s")
    for name, s in times.items():
        print(f"stage {name:<58} {s:8.1f} s")
    print(f"total ({profile}) {sum(times.values()):8.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", action="store_true", help="also time every stage of the profile (fresh cache)")
    ap.add_argument("--profile", default="default")
    a = ap.parse_args()
    from wag.synthetic.params import WorldParams
    from wag.synthetic.world import build_world

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    bench_generation()
    with tempfile.TemporaryDirectory() as d:
        world = build_world(WorldParams(n_concepts=50, min_count=5, max_count=500, n_test=20, n_retrieval=0), 0, Path(d) / "w", progress=False)
        bench_training(world)
        bench_eval(world)
    if a.stages:
        bench_stages(a.profile)


if __name__ == "__main__":
    main()
