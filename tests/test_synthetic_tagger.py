"""The synthetic world's trained image tagger (RAM++ analogue): labelled renders, training, caching, protocol."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from wag.frequency.tagging import TAG_COLUMNS, Tagger, image_hits
from wag.synthetic.params import TaggerParams, WorldParams
from wag.synthetic.tagger import labelled_renders, precision_recall, train_world_tagger
from wag.synthetic.world import build_world

FAST = TaggerParams(per_concept=40, steps=150, batch_size=64, n_val=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    p = WorldParams(n_concepts=12, min_count=3, max_count=60, n_test=5, n_retrieval=0, shard_size=200)
    return build_world(p, 3, tmp_path_factory.mktemp("w") / "world", progress=False)


def test_labelled_renders_are_balanced_multi_concept_images(world):
    images, labels = labelled_renders(world, 25, np.random.default_rng(0))
    assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3) and len(images) == len(labels)
    assert labels.sum(axis=0).tolist() == [25] * len(world.names)  # every concept in exactly 25 images
    assert set(labels.sum(axis=1).tolist()) <= {1, 2, 3} and labels.sum(axis=1).max() > 1


def test_precision_recall_counts_hits_against_the_truth():
    scores = np.array([[0.9, 0.2], [0.8, 0.7], [0.1, 0.95]])
    truth = np.array([[True, False], [False, True], [False, True]])
    assert precision_recall(scores, truth, 0.5) == pytest.approx((3 / 4, 3 / 3))
    assert precision_recall(scores, truth, 0.85) == pytest.approx((2 / 2, 2 / 3))


def test_trained_tagger_beats_the_base_rate_is_cached_and_tags_the_shards(world, tmp_path):
    from wag.corpus import iter_shards
    from wag.frequency.tagging import iter_shard_images

    tagger = train_world_tagger(world, FAST, 0, out_dir=tmp_path / "t")
    assert isinstance(tagger, Tagger)
    base_rate = 2 / len(world.names)  # ~2 of 12 concepts per image: a constant tagger's precision
    assert tagger.info["val_precision@0.5"] > 3 * base_rate and tagger.info["val_recall@0.5"] > 0.3
    again = train_world_tagger(world, FAST, 0, out_dir=tmp_path / "t")  # loaded, not retrained
    imgs = np.asarray(world.images()[:16])
    assert np.array_equal(again.scores_array(imgs), tagger.scores_array(imgs))
    assert again.info == tagger.info
    tags = tagger.tag(iter_shard_images(iter_shards([str(p) for p in world.shards], fmt="wds")))
    assert list(tags.columns) == TAG_COLUMNS and set(tags["concept"]) <= set(world.names)
    meta = world.metadata()
    truth = {(c, s) for s, cs in zip(meta["sample_id"], meta["image_concepts"]) for c in cs}
    hits = set(map(tuple, image_hits(tags, 0.5)[["concept", "sample_id"]].to_numpy()))
    assert len(hits & truth) / max(len(hits), 1) > 3 * base_rate  # on the corpus it never saw
    pil = [Image.fromarray(np.asarray(im)) for im in imgs[:3]]
    assert np.allclose(tagger.scores(pil), tagger.scores_array(imgs[:3]), atol=1e-6)


def test_training_does_not_depend_on_earlier_random_draws_nor_shift_them(world, tmp_path):
    """Weights come from the seed alone (issue 13: the tagger was initialised from whatever global torch RNG
    state the notebook's process had), and training leaves the global RNG as it found it."""
    import torch
    from safetensors.torch import load_file

    from wag.synthetic.tagger import WEIGHTS

    quick = TaggerParams(per_concept=10, steps=20, batch_size=32, n_val=4)
    torch.manual_seed(123)
    torch.rand(1000)  # whatever ran earlier in the kernel
    before = torch.random.get_rng_state()
    train_world_tagger(world, quick, 0, out_dir=tmp_path / "a")
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(999)
    train_world_tagger(world, quick, 0, out_dir=tmp_path / "b")
    a, b = load_file(str(tmp_path / "a" / WEIGHTS)), load_file(str(tmp_path / "b" / WEIGHTS))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    train_world_tagger(world, quick, 1, out_dir=tmp_path / "c")  # another seed: other weights (the test can fail)
    c = load_file(str(tmp_path / "c" / WEIGHTS))
    assert not all(torch.equal(a[k], c[k]) for k in a)
