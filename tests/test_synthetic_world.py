"""A tiny world on disk: formats the real pipeline reads, ground truth, counts of the frequency engine, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.core.errors import EXIT_BAD_INPUT, describe
from wag.synthetic.params import WorldParams
from wag.synthetic.world import WorldError, build_world, load_world

P = WorldParams(n_concepts=8, min_count=3, max_count=60, n_test=3, n_retrieval=16, shard_size=40, misalignment=0.1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(P, 5, tmp_path_factory.mktemp("w") / "world", progress=False)


def test_world_layout_and_ground_truth(world):
    meta = world.metadata()
    gt = world.ground_truth()
    assert len(world.shards) == -(-len(meta) // 40)
    assert list(gt.columns) == ["concept", "target_count", "image_count", "caption_count", "matched_count"]
    assert (gt["image_count"] == gt["target_count"]).all()
    assert (gt["matched_count"] <= gt[["image_count", "caption_count"]].min(axis=1)).all()
    # misalignment 0.1: some captions differ from their images, most do not
    differ = np.mean([sorted(a) != sorted(b) for a, b in zip(meta["image_concepts"], meta["caption_concepts"])])
    assert 0.03 < differ < 0.25
    assert world.images().shape == (len(meta), 32, 32, 3)


def test_shards_are_read_by_the_corpus_reader(world):
    from wag.corpus import iter_samples, iter_shards

    samples = [s for sh in iter_shards([str(p) for p in world.shards], fmt="wds") for s in iter_samples(sh)]
    meta = world.metadata()
    assert [s["sample_id"] for s in samples] == meta["sample_id"].tolist()
    assert [s["caption"] for s in samples] == meta["caption"].tolist()
    assert all("image" in s for s in samples)


def test_frequency_engine_text_counts_match_ground_truth(world):
    """Quality bar: text precision and recall ≥ 0.99 against the captions' true concepts."""
    from wag.concepts import concept_table
    from wag.frequency import count_captions

    res = count_captions(
        [str(p) for p in world.shards],
        concept_table(world.names, dataset="synthetic", task="classification"),
        variant="phrase",
        fmt="wds",
        progress=False,
    )
    meta = world.metadata()
    truth = {(c, s) for s, cs in zip(meta["sample_id"], meta["caption_concepts"]) for c in cs}
    est = set(zip(res.hits["concept"], res.hits["sample_id"]))
    tp = len(truth & est)
    assert tp / len(est) >= 0.99 and tp / len(truth) >= 0.99
    counts = res.counts.set_index("concept")["count"]
    assert (counts.reindex(world.names).to_numpy() == world.ground_truth()["caption_count"].to_numpy()).all()


def test_test_set_is_a_class_balanced_image_folder(world):
    from wag.evaluate.datasets import image_folder

    data = image_folder(world.test_dir)
    assert sorted(data.classnames) == sorted(world.names)
    labels = [data.get(i)[1] for i in range(len(data))]
    assert np.bincount(labels).tolist() == [3] * 8


def test_same_seed_same_world_and_fixed_test_set_when_counts_change(world, tmp_path):
    again = build_world(P, 5, tmp_path / "again", progress=False)
    pd.testing.assert_frame_equal(again.metadata(), world.metadata())
    pd.testing.assert_frame_equal(again.ground_truth(), world.ground_truth())
    assert [p.read_bytes() for p in world.shards] == [p.read_bytes() for p in again.shards]
    other = build_world(P, 6, tmp_path / "other", progress=False)
    assert other.names != world.names
    explicit = P.model_copy(update={"law": "explicit", "counts": [10] * 8})
    changed = build_world(explicit, 5, tmp_path / "explicit", progress=False)
    assert changed.names == world.names
    assert (changed.ground_truth()["image_count"] == 10).all()
    a = sorted(world.test_dir.rglob("*.png"))
    b = sorted(changed.test_dir.rglob("*.png"))
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_missing_world_is_a_clear_error(tmp_path):
    with pytest.raises(WorldError, match="not a complete synthetic world") as err:
        load_world(tmp_path)
    assert describe(err.value)[0] == EXIT_BAD_INPUT  # a WagError: one line, exit status 2
