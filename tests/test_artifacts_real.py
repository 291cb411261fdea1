"""Sanity checks of the readers on the real released files ($WAG_PAPER_ARTIFACTS, $WAG_NEGLECTED_TAILS)."""

from __future__ import annotations

import os

import pytest

import wag.artifacts as A

pytestmark = pytest.mark.skipif(
    not (os.environ.get("WAG_PAPER_ARTIFACTS") and os.environ.get("WAG_NEGLECTED_TAILS")),
    reason="real released files not available",
)


@pytest.fixture(scope="module")
def root():
    return A.paper_root()


@pytest.fixture(scope="module")
def counts(root):
    return A.read_search_counts(root)


def test_search_count_files(root, counts) -> None:
    files = A.search_counts_files(root)
    assert len(files) == 783
    assert files.dataset.nunique() == 25 and files.pretraining.nunique() == 7
    assert set(files.method) == {"text", "image", "integrated"}
    assert len(counts) == 197_363
    # normalisation never merges two names of one file
    assert not counts.duplicated(["dataset", "pretraining", "source_variant", "key"]).any()


def test_zero_shot_names_all_reconciled(root, counts) -> None:
    zs = A.read_zero_shot(root, prompts="class")
    assert (
        zs.model_key.nunique() == 21 and zs.dataset.nunique() == 19
    )  # the paper's 10 + SynthCI, LAION-200M control, LAION-2B, DataComp
    _, unmatched = A.join_counts_performance(counts, zs)
    assert unmatched.empty  # CIFAR-10 plane/airplane and ImageNet-R underscores are reconciled
    raw_keys = {(d, c) for d, c in zip(zs.dataset, zs.concept)}
    assert ("cifar10", "plane") in raw_keys and ("cifar10", "airplane") not in raw_keys


def test_t2i_unmatched_are_reported(root, counts) -> None:
    _, unmatched = A.join_counts_performance(counts[counts.dataset == "t2i"], A.read_t2i(root))
    assert set(unmatched[unmatched.side == "performance"].key) == {"foot", "sunglass"}
    assert (unmatched.side == "counts").sum() == 108
    assert A.missing_t2i_metrics(root) == ["exp_aesthetics", "exp_clipscore", "max_aesthetics", "max_clipscore"]


def test_retrieval_names_match(root, counts) -> None:
    ret = A.read_retrieval(root)
    assert set(ret.metric) == {"recall@1", "recall@5", "recall@10"}
    _, unmatched = A.join_counts_performance(counts, ret)
    assert unmatched.empty
    # an empty concept name is in the coco RAM++ counts and in the coco evaluations: kept, not hidden
    assert "" in set(ret[ret.dataset == "coco"].key) and "" in set(
        counts[(counts.dataset == "coco") & (counts.method == "image")].key
    )


def test_incomplete_count_files_are_visible(root) -> None:
    cov = A.search_counts_coverage(root).set_index(["dataset", "pretraining", "source_variant"])
    assert cov.loc[("birdsnap", "yfcc15m", "lowercased"), "missing"] == 140
    assert cov.loc[("ucf101", "yfcc15m", "lowercased"), "missing"] == 93


def test_let_it_wag_models(root) -> None:
    im = A.read_imagenet_accuracy(root)
    assert len(im) == 40 and (im.source == "imagenet_accuracy_extra.csv").sum() == 20
    assert "laion200m_train_test_sim_normalized" not in set(im.pretraining)
    liw = A.read_let_it_wag(root)
    assert liw.model_key.nunique() == 40 and liw.concept.nunique() == 290
    assert set(liw.concept) == set(A.read_let_it_wag_classes(root))


def test_misalignment_matches_paper_sizes(root) -> None:
    mis = A.read_misalignment(root)
    assert len(mis) == 5
    assert ((mis.degree_fixed * mis.fixed_size - mis.misaligned_pairs).abs() < 1).all()


def test_neglected_tails(root) -> None:
    nt = A.read_neglected_tails(A.neglected_tails_root())
    assert nt.groupby("dataset").size().to_dict() == {
        "cub": 200,
        "dtd": 47,
        "eurosat": 10,
        "fgvcaircraft": 100,
        "flowers102": 102,
        "food101": 101,
        "imagenet": 1000,
        "oxfordpets": 37,
        "stanfordcars": 196,
    }
