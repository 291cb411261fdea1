"""The harness never depends on what happens to be on disk: class names are package data (generated from
CLIP_benchmark), descriptions a declared input; the same with and without the paper's released files."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wag.artifacts import ArtifactsMissingError, normalize_name
from wag.core.errors import WagWarning
from wag.evaluate import datasets as D
from wag.evaluate import zeroshot as Z
from wag.evaluate.classnames import classname_sets, package_classnames
from wag.evaluate.descriptions import (
    DescriptionsError,
    check_descriptions_source,
    descriptions_for,
    load_descriptions,
    read_descriptions_file,
)
from wag.evaluate.tiny import make_image_folder

ROOT = Path(__file__).resolve().parents[1]
PAPER = Path(os.environ.get("WAG_PAPER_ARTIFACTS", "../shared/paper-artifacts"))
needs_released = pytest.mark.skipif(
    not (PAPER / "zero_shot_evaluations").is_dir(),
    reason="the paper's released files are not available (set WAG_PAPER_ARTIFACTS)",
)
EUROSAT_FOLDERS = [
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))


# ------------------------------------------------------------------------------------------ package data


def test_shipped_class_names_have_the_label_order_of_the_loaders():
    assert classname_sets() == [
        "caltech101",
        "country211",
        "eurosat",
        "flowers102",
        "imagenet",
        "imagenet-r",
        "imagenet-sketch",
        "oxfordpets",
    ]
    sizes = {d: len(package_classnames(d)) for d in classname_sets()}
    assert sizes == {
        "caltech101": 101,  # torchvision's categories: BACKGROUND_Google removed
        "country211": 211,
        "eurosat": 10,
        "flowers102": 102,
        "imagenet": 1000,
        "imagenet-r": 200,
        "imagenet-sketch": 1000,
        "oxfordpets": 37,
    }
    assert package_classnames("caltech101")[:4] == ["off-center face", "centered face", "leopard", "motorbike"]
    assert package_classnames("eurosat")[0] == "annual crop land" and package_classnames("eurosat")[-1] == "lake or sea"
    assert package_classnames("imagenet")[0] == "tench" and package_classnames("imagenet-sketch") == package_classnames(
        "imagenet"
    )
    imagenet = package_classnames("imagenet")
    positions = [imagenet.index(c) for c in package_classnames("imagenet-r")]
    assert positions == sorted(positions)  # a subset of ImageNet in its label order
    assert package_classnames("cifar10") is None  # not shipped: the dataset's own names


@pytest.mark.skipif(importlib.util.find_spec("clip_benchmark") is None, reason="clip-benchmark not installed")
def test_classnames_file_is_what_the_script_generates_from_clip_benchmark():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_classnames.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


#: Where the shipped names (CLIP_benchmark's) differ from the class names of the paper's zero-shot result files, by
#: reconciled key (case, "_", "-" ignored). The shipped names are kept (docs/evaluate.md lists these).
DIFFERENCES_FROM_THE_PAPER = {
    "caltech101": "101 vs 100 classes",  # the paper's list has no "centered face" (Faces_easy)
    "country211": 0,
    "eurosat": 4,  # e.g. "brushland or shrubland" for the paper's "Herbaceous Vegetation Land"
    "flowers102": 2,  # "pink and yellow dahlia", "air plant"
    "imagenet": 2,  # "missile", "sunglasses"
    "imagenet-r": 20,  # e.g. "smooth newt", "grey wolf"
    "imagenet-sketch": 2,
    "oxfordpets": 0,  # case and "_" only
}


@needs_released
def test_shipped_class_names_against_the_released_files():
    found = {}
    detail = {}
    for ds in classname_sets():
        paper = list(
            next(iter(json.loads((PAPER / f"zero_shot_evaluations/{ds}_class_results.json").read_text()).values()))[
                "classwise"
            ]
        )
        ours = package_classnames(ds)
        if len(paper) != len(ours):
            found[ds] = f"{len(ours)} vs {len(paper)} classes"
            continue
        diff = [(o, p) for o, p in zip(ours, paper) if normalize_name(o) != normalize_name(p)]
        found[ds], detail[ds] = len(diff), diff
    assert found == DIFFERENCES_FROM_THE_PAPER, detail


# ------------------------------------------------------------------------------- independent of the disk


def _fake_released_files(root: Path) -> Path:
    """A released-files folder whose EuroSAT and ImageNet-R class names differ from everything wag ships."""
    (root / "search_counts").mkdir(parents=True)
    zs = root / "zero_shot_evaluations"
    zs.mkdir()
    for ds, n in (("eurosat", 10), ("imagenet-r", 200)):
        names = {f"released-{ds}-{i}": 50.0 for i in range(n)}
        (zs / f"{ds}_class_results.json").write_text(
            json.dumps({"backboneRN50_pretrainedcc3m": {"full": 50.0, "classwise": names}})
        )
    gd = root / "gpt_descriptions"
    gd.mkdir()
    (gd / "eurosat_descriptions.json").write_text(json.dumps({c: ["released"] for c in package_classnames("eurosat")}))
    return root


def _class_names(data_root: Path) -> dict[str, list[str]]:
    return {d: D.load_classification(d, data_root).classnames for d in ("eurosat", "imagenet-r")}


def test_class_names_are_the_same_with_and_without_released_files(tmp_path, monkeypatch):
    data = tmp_path / "data"
    make_image_folder(data / "eurosat" / "eurosat" / "2750", EUROSAT_FOLDERS, 1, size=8)
    make_image_folder(data / "imagenet-r", [f"n{i:08d}" for i in range(200)], 1, size=8)  # WordNet-id folders
    runs = {}
    for label, where in (("released", _fake_released_files(tmp_path / "released")), ("real", PAPER), ("none", None)):
        if where is None:
            monkeypatch.delenv("WAG_PAPER_ARTIFACTS", raising=False)
        elif where.is_dir():
            monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(where))
        else:
            continue
        runs[label] = _class_names(data)
    assert runs["released"] == runs["none"] == {d: package_classnames(d) for d in ("eurosat", "imagenet-r")}
    assert runs.get("real", runs["none"]) == runs["none"]


def test_folder_sets_keep_their_own_names_unless_laid_out_by_wordnet_id(tmp_path):
    data = tmp_path / "data"
    make_image_folder(data / "imagenet-r", ["goldfish", "tench"], 1, size=8)
    assert D.load_classification("imagenet-r", data).classnames == ["goldfish", "tench"]
    make_image_folder(data / "imagenet" / "val", ["n00000001", "n00000002"], 1, size=8)
    with pytest.warns(WagWarning, match="2 classes on disk but wag's class-name list has 1000"):
        assert D.load_classification("imagenet", data).classnames == ["n00000001", "n00000002"]


# ---------------------------------------------------------------------------------------- descriptions


def test_descriptions_are_never_read_implicitly(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(_fake_released_files(tmp_path / "released")))
    with pytest.raises(DescriptionsError, match="needs descriptions.*--descriptions FILE\\|paper"):
        Z.class_prompts(package_classnames("eurosat"), "descriptions", "eurosat")
    assert load_descriptions("paper", "eurosat")["forest"] == ["released"]  # only when asked for by name


def test_paper_descriptions_that_cannot_be_found_are_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(tmp_path / "nowhere"))
    with pytest.raises(ArtifactsMissingError, match="WAG_PAPER_ARTIFACTS"):
        check_descriptions_source("paper")


def test_descriptions_file_forms_and_errors(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"Sea_Lion": ["a marine mammal"], "cat": {"look": ["whiskers"], "where": ["a sofa"]}}))
    desc = read_descriptions_file(f)
    assert desc == {"Sea_Lion": ["a marine mammal"], "cat": ["whiskers", "a sofa"]}
    assert descriptions_for(["cat", "sea lion"], desc, "toy") == [["whiskers", "a sofa"], ["a marine mammal"]]
    with pytest.raises(DescriptionsError, match="no descriptions for 1 of the 2 classes of 'toy'.*'dog'"):
        descriptions_for(["cat", "dog"], desc, "toy")
    with pytest.raises(DescriptionsError, match="not found"):
        read_descriptions_file(tmp_path / "missing.json")
    f.write_text(json.dumps({"cat": "whiskers"}))
    with pytest.raises(DescriptionsError, match="not a list of strings"):
        read_descriptions_file(f)
