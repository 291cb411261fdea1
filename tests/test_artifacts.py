"""wag.artifacts readers, name reconciliation and joins on small fixture files written here."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

import wag.artifacts as A
from wag.analysis.errors import AnalysisError
from wag.analysis.sections.agreement import agreement_summary, largest_disagreements, loose_key, match_neglected_tails
from wag.core.io import InputFileError

LIW_MODELS = ["backboneRN50_pretrainedcc3m", "backboneViT-B-16_pretrainedopenai"]


def _w(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A miniature copy of the released-files layout."""
    r = tmp_path / "artifacts"
    sc = r / "search_counts"
    _w(sc / "cifar10_cc3m_lemmatized_search_counts.json", {"airplane": 10, "car": 0, "bird": 5})
    _w(sc / "cifar10_cc3m_rampp0.7_search_counts.json", {"airplane": 20, "car": 3, "bird": 7})
    _w(
        sc / "cifar10_laion400m_integrated_tlemmatized_i0.7_search_counts.json",
        {"airplane": 100, "car": 30, "bird": 70},
    )
    _w(sc / "t2i_laion_aesthetics_rampp0.7_search_counts.json", {"Acadian_Flycatcher": 3, "living_room": 2})
    _w(sc / "t2i_laion_aesthetics_lemmatized_search_counts.json", {"acadian flycatcher": 1, "living room": 4, "dog": 9})
    zs = r / "zero_shot_evaluations"
    _w(
        zs / "cifar10_class_results.json",
        {
            "backboneRN50_pretrainedcc3m": {
                "full": 40.0,
                "classwise": {"plane": 30.5, "car": 50.0, "bird": 42.0, "frog": 10.0},
            },
            "backboneViT-B-16_pretrainedlaion400m": {
                "full": 90.0,
                "classwise": {"plane": 95.0, "car": 99.0, "bird": 90.0, "frog": 80.0},
            },
        },
    )
    _w(
        zs / "imagenet_ensemble_results.json",
        {
            "backboneRN50_pretrainedcc3m": {"full": 16.5, "classwise": {"tench": 10.0}},
            "backboneViT-B-32_pretrainedlaion200m_train_test_sim_normalized": {
                "full": 50.0,
                "classwise": {"tench": 60.0},
            },
        },
    )
    _w(
        r / "retrieval_evaluations" / "coco_t2i_k=10_results.json",
        {
            "backboneRN50_pretrainedcc3m": {"full": 0.3, "conceptwise": {"dog": 0.25, "road": 0.5}},
        },
    )
    _w(
        r / "t2i_evaluations" / "t2i_human_align.json",
        {
            "huggingface_stable-diffusion-v1-4": {
                "full": 3.0,
                "classwise": {"acadian flycatcher": [4.0, 2.0], "sunglass": [3.0], "dog": [5.0]},
            },
        },
    )
    _w(
        r / "misalignment_metrics" / "cc3m_misalignment_degree.json",
        {
            "misalignment_counts": 557683,
            "misalignment_degree (percent); extracted dataset size": 0.17870291121267576,
            "misalignment_degree (percent); fixed conservative dataset size": 0.16806119217088822,
        },
    )
    liw = r / "let_it_wag_datasets"
    _w(liw / "let_it_wag_class_list.txt", '"A300B4"\n"Acadian_Flycatcher"\n')
    _w(
        liw / "evaluations" / "let_it_wag_ensemble_results.json",
        {
            mk: {"full": 5.0 + i, "classwise": {"A300B4": 10.0 * (i + 1), "Acadian_Flycatcher": 0.0}}
            for i, mk in enumerate(LIW_MODELS)
        },
    )
    _w(
        r / "imagenet_accuracy_extra.csv",
        "model_key,imagenet_zero_shot_accuracy\nbackboneViT-B-16_pretrainedopenai,68.3\n",
    )
    _w(
        r / "gpt_descriptions" / "cifar10_descriptions.json",
        {"airplane": {"airplane": ["a photo of a airplane.", "wings"]}},
    )
    return r


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("name", "dataset", "key"),
    [
        ("plane", "cifar10", "airplane"),
        ("plane", "cifar100", "plane"),
        ("Acadian_Flycatcher", "t2i", "acadian flycatcher"),
        ("  Black-footed   Albatross ", "cub", "black footed albatross"),
        ("Brewer\u2019s Blackbird", "cub", "brewers blackbird"),
        ("African chameleon", "imagenet-r", "african chameleon"),
    ],
)
def test_reconcile_key(name: str, dataset: str, key: str) -> None:
    assert A.reconcile_key(name, dataset) == key


@pytest.mark.parametrize(
    ("fname", "expected"),
    [
        ("cifar10_cc3m_lemmatized_search_counts.json", ("cifar10", "cc3m", "text", "lemmatized", "lemmatized")),
        (
            "imagenet-r_yfcc15m_rampp0.55_search_counts.json",
            ("imagenet-r", "yfcc15m", "image", "rampp@0.55", "rampp0.55"),
        ),
        (
            "t2icoco_laion_aesthetics_integrated_tlemmatized_i0.7_search_counts.json",
            ("t2icoco", "laion_aesthetics", "integrated", "integrated@0.7", "integrated_tlemmatized_i0.7"),
        ),
        (
            "coco_laion200m_train_test_sim_normalized_rampp0.7_search_counts.json",
            ("coco", "laion200m_train_test_sim_normalized", "image", "rampp@0.7", "rampp0.7"),
        ),
    ],
)
def test_parse_search_counts_name(fname: str, expected: tuple[str, ...]) -> None:
    info = A.parse_search_counts_name(fname)
    assert (info.dataset, info.pretraining, info.method, info.variant, info.source_variant) == expected


def test_parse_bad_names() -> None:
    with pytest.raises(
        A.ArtifactNameError, match="unrecognised search-counts file name 'cifar10_cc3m_bm25_search_counts.json'"
    ):
        A.parse_search_counts_name("cifar10_cc3m_bm25_search_counts.json")
    assert A.parse_model_key("backboneViT-B-16_pretrainedlaion200m_train_test_sim_normalized") == (
        "ViT-B-16",
        "laion200m_train_test_sim_normalized",
    )
    with pytest.raises(A.ArtifactNameError, match="unrecognised model key"):
        A.parse_model_key("RN50-cc3m")


# ---------------------------------------------------------------------------------------- readers


def test_read_search_counts(root: Path) -> None:
    df = A.read_search_counts(root)
    assert list(df.columns) == [
        "concept",
        "key",
        "dataset",
        "pretraining",
        "method",
        "variant",
        "source_variant",
        "count",
    ]
    assert len(df) == 3 + 3 + 3 + 2 + 3
    row = df[(df.dataset == "cifar10") & (df.variant == "rampp@0.7") & (df.concept == "car")].iloc[0]
    assert (row.method, row.pretraining, row["count"]) == ("image", "cc3m", 3)
    t2i = df[df.dataset == "t2i"]
    assert set(t2i[t2i.method == "image"].key) == {"acadian flycatcher", "living room"}
    assert set(t2i[t2i.method == "image"].concept) == {"Acadian_Flycatcher", "living_room"}
    sub = A.read_search_counts(root, downstream="cifar10", method=["text", "integrated"])
    assert set(sub.source_variant) == {"lemmatized", "integrated_tlemmatized_i0.7"}
    assert set(A.read_search_counts(root, variant="integrated@0.7").pretraining) == {"laion400m"}


def test_read_search_counts_unknown_filter(root: Path) -> None:
    with pytest.raises(
        A.ArtifactsRequestError,
        match=r"unknown pretraining for search counts: laion5b; available: cc3m, laion400m, laion_aesthetics",
    ):
        A.read_search_counts(root, pretraining="laion5b")


def test_search_counts_cache_follows_file_changes(root: Path) -> None:
    f = root / "search_counts" / "cifar10_cc3m_lemmatized_search_counts.json"
    first = A.read_search_counts(root, downstream="cifar10", variant="lemmatized")
    assert first.set_index("key")["count"]["airplane"] == 10
    _w(f, {"airplane": 12345, "car": 0, "bird": 5})
    os.utime(f, ns=(1, 1))  # a different mtime even on coarse file systems
    again = A.read_search_counts(root, downstream="cifar10", variant="lemmatized")
    assert again.set_index("key")["count"]["airplane"] == 12345
    pd.testing.assert_frame_equal(
        again, A.read_search_counts(root, downstream="cifar10", variant="lemmatized", cache=False)
    )


def test_corrupt_json_names_file_and_error(root: Path) -> None:
    bad = root / "search_counts" / "cifar10_cc3m_lemmatized_search_counts.json"
    bad.write_text('{"airplane": 10, "car": ', encoding="utf-8")
    with pytest.raises(InputFileError) as exc:
        A.read_search_counts(root, cache=False)
    msg = str(exc.value)
    assert "cifar10_cc3m_lemmatized_search_counts.json" in msg and "corrupt JSON" in msg and "line 1" in msg


def test_bad_count_value(root: Path) -> None:
    _w(root / "search_counts" / "cifar10_cc3m_lowercased_search_counts.json", {"airplane": -1})
    with pytest.raises(InputFileError, match=r"cifar10_cc3m_lowercased_search_counts.json: count of 'airplane' is -1"):
        A.read_search_counts(root, cache=False)


def test_missing_folder_message(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="search_counts is missing"):
        A.read_search_counts(tmp_path)


def test_read_zero_shot(root: Path) -> None:
    df = A.read_zero_shot(root)
    assert set(df.columns) >= {
        "concept",
        "key",
        "dataset",
        "task",
        "model",
        "pretraining",
        "prompt",
        "metric",
        "value",
        "model_key",
    }
    r = df[(df.concept == "plane") & (df.model_key == "backboneRN50_pretrainedcc3m")].iloc[0]
    assert (r.key, r.model, r.pretraining, r.prompt, r.task, r.metric) == (
        "airplane",
        "RN50",
        "cc3m",
        "class",
        "classification",
        "accuracy",
    )
    assert r.value == pytest.approx(0.305)
    assert df.value.between(0, 1).all()
    full = A.read_zero_shot_full(root, datasets="cifar10")
    assert full.set_index("model_key").loc["backboneViT-B-16_pretrainedlaion400m", "value"] == pytest.approx(0.9)
    with pytest.raises(A.ArtifactsRequestError, match="unknown prompts: fancy"):
        A.read_zero_shot(root, prompts="fancy")


def test_zero_shot_rejects_out_of_range(root: Path) -> None:
    _w(
        root / "zero_shot_evaluations" / "dtd_class_results.json",
        {"backboneRN50_pretrainedcc3m": {"full": 1, "classwise": {"banded": 140.0}}},
    )
    with pytest.raises(InputFileError, match="dtd_class_results.json: value of 'banded'.*outside the expected range"):
        A.read_zero_shot(root, datasets="dtd")


def test_read_retrieval(root: Path) -> None:
    df = A.read_retrieval(root, ks=10)
    assert set(df.metric) == {"recall@10"} and set(df.prompt) == {"t2i"} and set(df.task) == {"retrieval"}
    assert df.set_index("key").loc["road", "value"] == 0.5
    with pytest.raises(A.ArtifactsRequestError, match="unknown recall k: 3"):
        A.read_retrieval(root, ks=[3])


def test_read_t2i_and_missing_metrics(root: Path) -> None:
    df = A.read_t2i(root)
    r = df[df.key == "acadian flycatcher"].iloc[0]
    assert (r.value, r.n_prompts, r.metric, r.task, r.dataset) == (3.0, 2, "human_align", "t2i", "t2i")
    missing = A.missing_t2i_metrics(root)
    assert "human_align" not in missing
    assert {"exp_aesthetics", "max_aesthetics", "exp_lpips"} <= set(missing)


def test_join_reconciles_and_reports_unmatched(root: Path) -> None:
    freq = A.read_search_counts(root, variant="lemmatized")
    joined, unmatched = A.join_counts_performance(freq, A.read_zero_shot(root))
    plane = joined[(joined.concept == "plane") & (joined.pretraining == "cc3m")]
    assert len(plane) == 1 and plane.iloc[0]["count"] == 10 and plane.iloc[0]["count_concept"] == "airplane"
    # the laion400m model has no lemmatized laion400m counts: no row, and no invented count
    assert set(joined.pretraining) == {"cc3m"}
    assert unmatched.to_dict("records") == [
        {"dataset": "cifar10", "side": "performance", "concept": "frog", "key": "frog"}
    ]

    t2i_joined, t2i_unmatched = A.join_counts_performance(
        A.read_search_counts(root, downstream="t2i"), A.read_t2i(root)
    )
    assert set(t2i_joined.pretraining) == {"laion_aesthetics"}
    assert set(t2i_joined[t2i_joined.key == "acadian flycatcher"].count_concept) == {
        "Acadian_Flycatcher",
        "acadian flycatcher",
    }
    assert set(zip(t2i_unmatched.side, t2i_unmatched.key)) == {("performance", "sunglass"), ("counts", "living room")}


def test_join_validates_columns(root: Path) -> None:
    with pytest.raises(A.ArtifactsRequestError, match=r"freq lacks columns \['count'"):
        A.join_counts_performance(A.read_search_counts(root).drop(columns="count"), A.read_zero_shot(root))


def test_read_misalignment(root: Path) -> None:
    df = A.read_misalignment(root)
    r = df.iloc[0]
    assert (r.pretraining, r.misaligned_pairs, r.fixed_size) == ("cc3m", 557683, 3_318_333)
    assert r.degree_fixed == pytest.approx(r.misaligned_pairs / r.fixed_size)
    assert r.extracted_size == round(557683 / 0.17870291121267576)


def test_let_it_wag_and_imagenet(root: Path) -> None:
    assert A.read_let_it_wag_classes(root) == ["A300B4", "Acadian_Flycatcher"]
    liw = A.read_let_it_wag(root)
    assert len(liw) == 4 and liw.value.max() == pytest.approx(0.2)
    summary = A.read_let_it_wag_summary(root)
    assert summary.set_index("model_key")["let_it_wag_accuracy"].to_dict() == {LIW_MODELS[0]: 5.0, LIW_MODELS[1]: 6.0}
    im = A.read_imagenet_accuracy(root).set_index("model_key")
    assert sorted(im.index) == sorted(LIW_MODELS)  # the similarity-control model is left out
    assert (
        im.loc[LIW_MODELS[1], "imagenet_accuracy"] == 68.3
        and im.loc[LIW_MODELS[1], "source"] == "imagenet_accuracy_extra.csv"
    )
    assert im.loc[LIW_MODELS[0], "imagenet_accuracy"] == 16.5


def test_imagenet_accuracy_lacking_model(root: Path) -> None:
    (root / "imagenet_accuracy_extra.csv").write_text("model_key,imagenet_zero_shot_accuracy\n", encoding="utf-8")
    with pytest.raises(
        InputFileError, match="no ImageNet accuracy for Let It Wag! models backboneViT-B-16_pretrainedopenai"
    ):
        A.read_imagenet_accuracy(root)


def test_descriptions(root: Path) -> None:
    assert A.read_descriptions(root, "cifar10") == {"airplane": ["a photo of a airplane.", "wings"]}
    with pytest.raises(InputFileError, match="4 MB and more missing"):
        A.read_descriptions(root, "imagenet")


# ---------------------------------------------------------------------------------- NeglectedTails


@pytest.fixture()
def nt_root(tmp_path: Path) -> Path:
    r = tmp_path / "nt"
    _w(
        r / "cub2011" / "metrics-LAION400M.json",
        {
            "0": {
                "name": "Black-footed Albatross",
                "alternates": {"black footed albatross": 343},
                "most_common_name": "Black-footed Albatross",
                "actual_freq": 349,
                "relevant_total": 340,
                "llama_relevance_ratio": 0.97,
            },
            "1": {
                "name": "Brewer's Blackbird",
                "alternates": {"Euphagus cyanocephalus": 3},
                "most_common_name": "Brewer's Blackbird",
                "actual_freq": 10,
                "relevant_total": 9,
                "llama_relevance_ratio": 0.9,
            },
            "2": {
                "name": "Greater Roadrunner",
                "alternates": {"Geococcyx": 50},
                "most_common_name": "Greater Roadrunner",
                "actual_freq": 500,
                "relevant_total": 480,
                "llama_relevance_ratio": 0.96,
            },
            "3": {
                "name": "Cardinal bird",
                "alternates": {},
                "most_common_name": "cardinal",
                "actual_freq": 1000,
                "relevant_total": 0,
            },
        },
    )
    _w(
        r / "eurosat" / "metrics-LAION400M-satellite.json",
        {"0": {"name": "forest", "alternates": {}, "most_common_name": "forest", "actual_freq": 5}},
    )
    return r


def test_read_neglected_tails(nt_root: Path) -> None:
    df = A.read_neglected_tails(nt_root)
    assert set(df.dataset) == {"cub", "eurosat"}
    cub = df[df.dataset == "cub"].set_index("class_index")
    assert cub.loc[0, "key"] == "black footed albatross" and cub.loc[1, "relevant_total"] == 9
    assert df[df.dataset == "eurosat"].relevant_total.isna().all()  # the satellite file lacks the field
    assert set(A.read_neglected_tails(nt_root, datasets=["cub2011"]).dataset) == {"cub"}
    with pytest.raises(A.ArtifactsRequestError, match="unknown NeglectedTails datasets: birds"):
        A.read_neglected_tails(nt_root, datasets="birds")


def test_agreement(nt_root: Path) -> None:
    nt = A.read_neglected_tails(nt_root, datasets="cub")
    counts = pd.DataFrame(
        {
            "concept": ["Black_footed_Albatross", "Brewer_Blackbird", "Geococcyx", "Northern_Cardinal"],
            "dataset": "cub",
            "pretraining": "laion400m",
            "source_variant": "lemmatized",
            "count": [300, 0, 40, 2],
        }
    )
    m = match_neglected_tails(counts, nt)
    assert m.name_match.tolist() == ["exact", "loose", "synonym", "none"]
    s = agreement_summary(m).iloc[0]
    assert (s.n_classes, s.paper_zeros, s.nt_zeros, s.names_differ) == (4, 1, 0, 1)
    assert s.spearman == pytest.approx(0.2)  # ranks (4,1,3,2) vs (2,1,3,4): 1 - 6*8/(4*15)
    top = largest_disagreements(m, n=1).iloc[0]
    assert top.paper_concept == "Northern_Cardinal" and top.log10_ratio == pytest.approx(math.log10(3 / 1001))
    assert loose_key("Brewer's Blackbirds") == loose_key("brewer blackbird")
    with pytest.raises(AnalysisError, match="cannot pair by class index"):
        match_neglected_tails(counts.iloc[:3], nt)


def test_agreement_by_variant_skips_truncated(nt_root: Path) -> None:
    from wag.analysis.sections.agreement import agreement_by_variant

    nt = A.read_neglected_tails(nt_root, datasets="cub")
    names = ["Black_footed_Albatross", "Brewer_Blackbird", "Geococcyx", "Northern_Cardinal"]
    full = pd.DataFrame(
        {
            "concept": names,
            "dataset": "cub",
            "pretraining": "laion400m",
            "method": "text",
            "variant": "lemmatized",
            "source_variant": "lemmatized",
            "count": [349, 10, 500, 1000],
        }
    )
    truncated = full.iloc[:2].assign(variant="lowercased", source_variant="lowercased")
    t = agreement_by_variant(pd.concat([full, truncated]), nt)
    assert t.variant.tolist() == ["lemmatized"] and t.spearman.tolist() == pytest.approx([1.0])
