"""Synthetic world throughput, each number beside a baseline measured in the same run.

    .venv/bin/python benchmarks/synthetic.py            # throughputs (about a minute)
    .venv/bin/python benchmarks/synthetic.py --stages   # + cold wall time of the synthetic notebooks' steps, before (each
                                                        #   notebook recomputes in its own cache) and after (shared study folder)
    .venv/bin/python benchmarks/synthetic.py --stages --profile synthetic

Prints: images generated/s (vectorised chunks vs one image at a time), training samples/s (1 vs 2 torch threads, fused AdamW
vs torch's default AdamW loop; OMP_WAIT_POLICY=PASSIVE), evaluation images/s (wag.evaluate from the PNG image folder vs encoding
in-memory tensors), and with --stages the cold wall time of each synthetic notebook's steps, per-notebook recomputation beside the shared study folder.
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


def _notebook_steps(profile: str) -> dict[str, list[tuple[str, object]]]:
    """What each synthetic notebook computes (its calls into wag.synthetic), in `make reproduce` order."""
    from wag.params import load_profile
    from wag.analysis import synthetic_experiments as E

    P = load_profile(profile)
    sp = P.synthetic
    F = P.frequency
    h: dict = {}

    def headline():
        h["h"] = E.run_headline(sp)

    return {
        "2_concepts_and_frequency": [("world counts and tags (count_check)", lambda: E.count_check(sp, P.seed, list(F.variants), list(F.tagger_thresholds)))],
        "4-1_similarity_control": [("similarity control", lambda: E.run_similarity_control(sp))],
        "4-2_synthetic": [("headline (worlds, training, study stages, fits)", headline),
                          ("intervention", lambda: E.run_intervention(sp)), ("rebalancing", lambda: E.run_rebalance(sp)),
                          ("batch collisions", lambda: E.run_collisions(sp)),
                          ("Let It Wag! analogue", lambda: E.run_letitwag(sp)), ("T2I analogue", lambda: E.run_t2i_experiment(sp))],
    }


def _run_notebooks(profile: str, caches: dict[str, str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for nb, steps in _notebook_steps(profile).items():
        os.environ["WAG_CACHE"] = caches[nb]
        out[nb] = {}
        for name, fn in steps:
            t = time.perf_counter()
            fn()
            out[nb][name] = time.perf_counter() - t
    return out


def bench_stages(profile: str) -> None:
    """Wall time of every synthetic step of the notebooks, cold, two ways side by side:

    before: every notebook recomputes what it needs in its own empty cache (no stage output shared across notebooks);
    after:  one cache, so the study folder of each world (counts, tags, evaluation) and its checkpoints are shared."""
    old_cache = os.environ.get("WAG_CACHE")
    with tempfile.TemporaryDirectory() as d:
        nbs = list(_notebook_steps(profile))
        before = _run_notebooks(profile, {nb: str(Path(d) / "before" / nb) for nb in nbs})
        after = _run_notebooks(profile, dict.fromkeys(nbs, str(Path(d) / "after")))
    if old_cache is None:
        os.environ.pop("WAG_CACHE", None)
    else:
        os.environ["WAG_CACHE"] = old_cache
    print(f"stages of the synthetic notebooks, profile {profile}, cold (seconds): before = per-notebook recomputation, after = shared study folder")
    print(f"  {'notebook':<26} {'step':<50} {'before':>8} {'after':>8}")
    for nb in before:
        for step in before[nb]:
            print(f"  {nb:<26} {step:<50} {before[nb][step]:8.1f} {after[nb][step]:8.1f}")
    tb, ta = (sum(sum(v.values()) for v in x.values()) for x in (before, after))
    print(f"  {'total':<77} {tb:8.1f} {ta:8.1f}   ({ta / tb:.2f}x of before; load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", action="store_true", help="also time the synthetic notebooks' steps cold: per-notebook recomputation vs shared study folder")
    ap.add_argument("--stages-only", action="store_true", help="only the --stages comparison (skip the throughput benchmarks)")
    ap.add_argument("--profile", default="default")
    a = ap.parse_args()
    from wag.synthetic.params import WorldParams
    from wag.synthetic.world import build_world

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if a.stages_only:
        bench_stages(a.profile)
        return
    bench_generation()
    with tempfile.TemporaryDirectory() as d:
        world = build_world(WorldParams(n_concepts=50, min_count=5, max_count=500, n_test=20, n_retrieval=0), 0, Path(d) / "w", progress=False)
        bench_training(world)
        bench_eval(world)
    if a.stages:
        bench_stages(a.profile)


if __name__ == "__main__":
    main()
