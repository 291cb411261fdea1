"""Tiny CLIP training on a tiny world: checkpoints load through wag.evaluate; same seed → same weights and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.synthetic.params import TrainParams, WorldParams
from wag.synthetic.train import CHECKPOINT, TrainingError, arch_name, register_model_configs, train_clip
from wag.synthetic.world import build_world

TP = TrainParams(steps=6, batch_size=16, warmup=2)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    p = WorldParams(n_concepts=6, min_count=4, max_count=40, n_test=2, n_retrieval=12, shard_size=50)
    return build_world(p, 1, tmp_path_factory.mktemp("w") / "world", progress=False)


def test_configs_are_registered_with_open_clip():
    import open_clip

    names = register_model_configs()
    assert {"wag-synth-w32", "wag-synth-w64", "wag-synth-w128"} <= set(names)
    assert set(names) <= set(open_clip.list_models())


def test_checkpoint_loads_through_the_evaluation_harness(world, tmp_path):
    from safetensors.torch import load_file

    from wag.evaluate.datasets import image_folder
    from wag.evaluate.models import load_clip
    from wag.evaluate.zeroshot import evaluate_zeroshot

    m = train_clip(world, 32, TP, 0, out_dir=tmp_path / "m", progress=False)
    assert m.path.name == CHECKPOINT and m.name == f"{arch_name(32)}@{m.path}"
    assert m.log["steps"] == 6 and np.isfinite(m.log["loss_last"])
    lm = load_clip(m.name, source="synthetic")
    saved = load_file(str(m.path))
    loaded = lm.model.state_dict()
    assert all(np.array_equal(saved[k].numpy(), loaded[k].numpy()) for k in saved)
    perf = evaluate_zeroshot(lm, image_folder(world.test_dir), dataset_name="synthetic", cache=False, progress=False)
    assert sorted(perf["concept"]) == sorted(world.names)
    assert perf["value"].between(0, 1).all()


def test_same_seed_same_weights_and_masked_loss_differs(world, tmp_path):
    from safetensors.torch import load_file

    a = load_file(str(train_clip(world, 32, TP, 3, out_dir=tmp_path / "a", progress=False).path))
    b = load_file(str(train_clip(world, 32, TP, 3, out_dir=tmp_path / "b", progress=False).path))
    c = load_file(
        str(
            train_clip(
                world, 32, TP.model_copy(update={"loss": "masked"}), 3, out_dir=tmp_path / "c", progress=False
            ).path
        )
    )
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert not all(np.array_equal(a[k].numpy(), c[k].numpy()) for k in a)


def test_subset_training_needs_two_samples(world, tmp_path):
    with pytest.raises(TrainingError, match="at least 2"):  # a WagError: the profile asks for too few samples
        train_clip(world, 32, TP, 0, subset=np.array([0]), out_dir=tmp_path / "s", progress=False)


def test_headline_chain_is_reproducible(tmp_path, monkeypatch):
    """ci profile: same params and seed → identical counts, quality, performance and fit tables (two separate caches)."""
    from wag.experiments import headline_summary, run_headline
    from wag.run.profile import load_profile

    ci = load_profile("ci").synthetic  # the ci world and chain, with 8 training steps to stay fast
    sp = ci.model_copy(
        update={
            "train": ci.train.model_copy(update={"steps": 8, "warmup": 2}),
            "experiments": ci.experiments.model_copy(update={"seeds": [0], "n_boot": 20}),
        }
    )
    tables = []
    for run in ("one", "two"):
        monkeypatch.setenv("WAG_CACHE", str(tmp_path / run))
        h = run_headline(sp)
        tables.append(h)
    a, b = tables
    for name in ("counts", "count_quality", "performance", "fits"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert set(a.counts["method"]) == {"truth", "text", "image", "integrated"}
    q = a.count_quality.set_index("method")
    assert q.at["text", "precision"] >= 0.99 and q.at["text", "recall"] >= 0.99
    s = headline_summary(a, sp)
    assert {"slope", "slope_lo", "slope_hi", "binned_rho"} <= set(s.columns)
