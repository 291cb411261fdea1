"""wag.evaluate: model registry and loading, datasets, per-class zero-shot accuracy, feature cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from wag.evaluate import datasets as D
from wag.evaluate import features as F
from wag.evaluate import models as M
from wag.evaluate import registry as registry_module
from wag.evaluate import zeroshot as Z
from wag.evaluate.tiny import TINY_ARCH, make_image_folder, save_tiny_checkpoint

PAPER = Path(os.environ.get("WAG_PAPER_ARTIFACTS", "../shared/paper-artifacts"))
needs_released = pytest.mark.skipif(
    not PAPER.is_dir(), reason="the paper's released files are not available (set WAG_PAPER_ARTIFACTS)"
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


@pytest.fixture(scope="module")
def tiny(tiny_ckpt) -> M.LoadedModel:
    return M.load_clip(f"{TINY_ARCH}@{tiny_ckpt}")


@pytest.fixture
def folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "imgs", ["cat", "dog", "sea_lion"], 4)


# ------------------------------------------------------------------------------------------ registry


@needs_released
def test_registry_covers_the_papers_models():
    reg = M.registry()
    keys = {v["paper_key"] for v in reg.values()}
    liw = json.loads((PAPER / "let_it_wag_datasets/evaluations/let_it_wag_ensemble_results.json").read_text())
    assert set(liw) <= keys
    assert len(M.registry_names("let_it_wag")) == 40
    main = M.registry_names("main")
    assert len(main) == 10
    zs = json.loads((PAPER / "zero_shot_evaluations/cifar10_class_results.json").read_text())
    assert {reg[n]["paper_key"] for n in main} <= set(zs)


def test_registry_tags_exist_in_open_clip_with_matching_activation():
    import open_clip

    known = set(open_clip.list_pretrained())
    for name, e in M.registry().items():
        if not e.get("pretrained"):
            continue
        assert (e["arch"], e["pretrained"]) in known, name
        tag_qg = open_clip.get_pretrained_cfg(e["arch"], e["pretrained"]).get("quick_gelu", False)
        assert open_clip.get_model_config(e["arch"]).get("quick_gelu", False) == tag_qg, name


def test_registry_resolves_paper_keys():
    assert M.resolve_name("backboneViT-B-16_pretrainedlaion400m") == "ViT-B-16/laion400m"


def test_unknown_model_lists_known_names():
    with pytest.raises(M.UnknownModelError) as exc:
        M.load_clip("ViT-Q-99/nowhere")
    assert "ViT-B-16/laion400m" in str(exc.value) and "ARCH@" in str(exc.value)


def test_missing_weights_fail_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    t0 = time.perf_counter()
    with pytest.raises(M.ModelWeightsMissingError) as exc:
        M.load_clip("ViT-B-32/laion400m", cache_dir=str(tmp_path / "empty"))
    assert time.perf_counter() - t0 < 5  # no network retries
    msg = str(exc.value)
    assert "ViT-B-32/laion400m" in msg and "ARCH@" in msg


def test_non_open_clip_checkpoints_say_how_to_supply(monkeypatch):
    monkeypatch.delenv("WAG_CHECKPOINTS", raising=False)
    with pytest.raises(M.ModelWeightsMissingError, match="clip_RN50_CC3M_from_cyclip.pt"):
        M.load_clip("RN50/cc3m")
    with pytest.raises(M.ModelWeightsMissingError, match="SLIP"):
        M.load_clip("ViT-B-16/cc3m")


def test_local_checkpoint_loads_in_eval_mode(tiny, tiny_ckpt):
    assert tiny.arch == TINY_ARCH and tiny.source == "tiny"
    assert not tiny.model.training
    assert tiny.paper_key == f"backbone{TINY_ARCH}_pretrainedtiny"
    with pytest.raises(M.ModelWeightsMissingError, match="not found"):
        M.load_clip(f"{TINY_ARCH}@{tiny_ckpt.parent / 'nope.safetensors'}")


def test_local_checkpoint_with_unknown_arch_explains(tiny_ckpt):
    with pytest.raises(M.UnknownModelError, match="add_model_config"):
        M.load_clip(f"no-such-arch@{tiny_ckpt}")


# ------------------------------------------------------------------------------------------ datasets


def test_image_folder_and_corrupt_image_is_skipped_and_reported(tiny, folder):
    bad = folder / "dog" / "broken.png"
    bad.write_bytes(b"not a png")
    data = D.image_folder(folder)
    assert data.classnames == ["cat", "dog", "sea lion"] and len(data) == 13
    with pytest.warns(UserWarning, match="broken.png"):
        df = Z.evaluate_zeroshot(tiny, data, prompt="class", progress=False)
    assert df.attrs["skipped"] == [str(bad)]
    assert (df["skipped"] == 1).all()
    assert df.set_index("concept")["n_images"].to_dict() == {"cat": 4, "dog": 4, "sea lion": 4}


def test_unknown_dataset_lists_known_names():
    with pytest.raises(D.UnknownDatasetError) as exc:
        D.load_classification("imagenet-9000")
    assert "cifar10" in str(exc.value) and "food101" in str(exc.value)


def test_missing_torchvision_dataset_names_path_and_fix(tmp_path):
    with pytest.raises(D.DatasetMissingError) as exc:
        D.load_classification("cifar10", tmp_path)
    assert str(tmp_path / "cifar10") in str(exc.value) and "download=True" in str(exc.value)


def test_webdataset_shards(tmp_path, tiny):
    import io
    import tarfile

    from PIL import Image

    shard = tmp_path / "wds" / "000000.tar"
    shard.parent.mkdir()
    with tarfile.open(shard, "w") as tf:
        for i in range(6):
            buf = io.BytesIO()
            Image.new("RGB", (32, 32), (40 * i, 0, 0)).save(buf, format="PNG")
            for name, blob in ((f"s{i:03d}.png", buf.getvalue()), (f"s{i:03d}.cls", str(i % 2).encode())):
                ti = tarfile.TarInfo(name)
                ti.size = len(blob)
                tf.addfile(ti, io.BytesIO(blob))
    (tmp_path / "wds" / "classnames.txt").write_text("even\nodd\n")
    data = D.load_classification(str(tmp_path / "wds"))
    assert data.classnames == ["even", "odd"] and data.labels == [0, 1, 0, 1, 0, 1]
    img, label = data.get(3)
    assert label == 1 and img.getpixel((0, 0)) == (120, 0, 0)


# ------------------------------------------------------------------------------------------ zero-shot


def _fake_features(labels, pred, n_classes, dim=8):
    """Image features equal to the class-basis vector of ``pred`` so argmax against an identity classifier gives pred."""
    feats = torch.zeros(len(labels), dim)
    feats[torch.arange(len(labels)), torch.tensor(pred)] = 1.0
    return F.ImageFeatures(feats, np.arange(len(labels)), np.array(labels), [])


def test_per_class_accuracy_matches_hand_computation(monkeypatch, tiny, folder):
    data = D.image_folder(folder)
    labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    pred = [0, 0, 1, 2, 1, 1, 1, 1, 0, 0, 0, 2]  # cat 2/4, dog 4/4, sea lion 1/4
    monkeypatch.setattr(Z, "encode_images", lambda *a, **k: _fake_features(labels, pred, 3))
    monkeypatch.setattr(Z, "text_classifier", lambda *a, **k: torch.eye(8)[:, :3])
    df = Z.evaluate_zeroshot(tiny, data, prompt="simple", dataset_name="toy", progress=False)
    assert df.set_index("concept")["value"].to_dict() == {"cat": 0.5, "dog": 1.0, "sea lion": 0.25}
    assert df.attrs["full"] == pytest.approx(7 / 12)
    assert list(df.columns[:8]) == Z.PERFORMANCE_COLUMNS
    assert set(df["task"]) == {"classification"} and set(df["metric"]) == {"accuracy"}
    js = Z.to_paper_json(df)
    assert js[tiny.paper_key]["full"] == pytest.approx(100 * 7 / 12)
    assert js[tiny.paper_key]["classwise"] == {"cat": 50.0, "dog": 100.0, "sea lion": 25.0}


def test_ensemble_classifier_equals_direct_computation(tiny):
    classes = ["cat", "dog"]
    tpl = ["a photo of a {c}.", "a drawing of the {c}.", "itap of my {c}."]
    clf = F.text_classifier(tiny, Z.class_prompts(classes, "ensemble", "x", templates=tpl), batch_size=2)
    for j, c in enumerate(classes):
        with torch.no_grad():
            e = tiny.model.encode_text(tiny.tokenizer([t.format(c=c) for t in tpl])).float()
        e = e / e.norm(dim=-1, keepdim=True)
        m = e.mean(0)
        torch.testing.assert_close(clf[:, j], m / m.norm(), rtol=1e-4, atol=1e-5)


def test_a_class_without_prompts_is_a_prompt_error(tiny):
    with pytest.raises(F.PromptError, match="class #1 has none"):
        F.text_classifier(tiny, [["a dog"], []])
    with pytest.raises(F.PromptError, match="no texts to encode"):
        F.encode_texts(tiny, [])


def test_prompt_styles():
    assert Z.class_prompts(["dog"], "class", "cifar10") == [["dog"]]
    assert Z.class_prompts(["dog"], "simple", "cifar10") == [["A photo of a dog."]]
    assert len(Z.class_prompts(["dog"], "ensemble", "imagenet")[0]) == 80
    assert len(Z.class_prompts(["dog"], "ensemble", "cifar10")[0]) == 18
    assert Z.class_prompts(["tulip"], "ensemble", "flowers102") == [["a photo of a tulip, a type of flower."]]
    with pytest.raises(Exception, match="unknown prompt style"):
        Z.class_prompts(["dog"], "fancy", "cifar10")


@needs_released
def test_description_prompts_come_from_the_papers_descriptions_when_asked_for():
    from wag.artifacts import read_descriptions
    from wag.evaluate.descriptions import DescriptionsError, load_descriptions

    desc = load_descriptions("paper", "cifar10")
    assert desc == read_descriptions(PAPER, "cifar10")
    cls = list(desc)[:2]
    assert Z.class_prompts(cls, "descriptions", "cifar10", descriptions=desc) == [desc[c] for c in cls]
    with pytest.raises(DescriptionsError, match="no descriptions"):
        Z.class_prompts(["not-a-class"], "descriptions", "cifar10", descriptions=desc)


def test_paper_json_round_trips_through_read_zero_shot(tmp_path, tiny, folder):
    from wag.artifacts import read_zero_shot, read_zero_shot_full

    data = D.image_folder(folder)
    df = Z.evaluate_zeroshot(tiny, data, prompt="simple", dataset_name="cifar10", progress=False)
    Z.write_paper_json(df, tmp_path / "zero_shot_evaluations")
    back = read_zero_shot(tmp_path, datasets=["cifar10"], prompts=["simple"])
    merged = df.merge(back, on=["concept", "model", "pretraining"], suffixes=("", "_back"))
    assert len(merged) == len(df) == 3
    np.testing.assert_allclose(merged["value"], merged["value_back"])
    full = read_zero_shot_full(tmp_path, datasets=["cifar10"], prompts=["simple"])
    assert full["value"].iloc[0] == pytest.approx(df.attrs["full"])


def test_write_paper_json_keeps_other_models(tmp_path):
    a = pd.DataFrame(
        {
            "concept": ["x"],
            "dataset": ["d"],
            "prompt": ["class"],
            "value": [0.5],
            "n_images": [2],
            "model_key": ["backboneA_pretrainedp"],
        }
    )
    b = a.assign(model_key="backboneB_pretrainedq", value=1.0)
    Z.write_paper_json(a, tmp_path)
    (path,) = Z.write_paper_json(b, tmp_path)
    assert set(json.loads(path.read_text())) == {"backboneA_pretrainedp", "backboneB_pretrainedq"}


# ------------------------------------------------------------------------------------------ feature cache


def test_feature_cache_is_reused_and_is_safetensors(tiny, folder):
    data = D.image_folder(folder)
    first = Z.evaluate_zeroshot(tiny, data, prompt="class", progress=False)
    path = F.feature_cache_path(tiny, data)
    assert path.suffix == ".safetensors" and path.is_file()
    second = Z.evaluate_zeroshot(tiny, data, prompt="class", progress=False)
    assert not first.attrs["from_cache"] and second.attrs["from_cache"]
    pd.testing.assert_frame_equal(first, second)
    # a changed image changes the dataset fingerprint -> no stale cache
    (folder / "cat" / "0000.png").unlink()
    third = Z.evaluate_zeroshot(tiny, D.image_folder(folder), prompt="class", progress=False)
    assert not third.attrs["from_cache"]


def test_trimmed_text_encoding_equals_open_clip(tiny):
    tok = tiny.tokenizer(["a dog", "a photo of a very small and rather blurry cat on a mat.", ""])
    with torch.no_grad():
        full = tiny.model.encode_text(tok)
        fast = F.encode_text_trimmed(tiny.model, tok)
    torch.testing.assert_close(fast, full, rtol=1e-4, atol=1e-5)


def test_registry_checkpoint_entries_load_from_wag_checkpoints(monkeypatch, tiny_ckpt):
    entry = {
        "backbone": "Tiny",
        "source": "toyset",
        "paper_key": "backboneTiny_pretrainedtoyset",
        "sets": [],
        "arch": TINY_ARCH,
        "pretrained": None,
        "checkpoint": tiny_ckpt.name,
        "loader": "open_clip",
        "origin": "test",
    }
    monkeypatch.setattr(registry_module, "registry", lambda: {"Tiny/toyset": entry})
    monkeypatch.setenv("WAG_CHECKPOINTS", str(tiny_ckpt.parent))
    lm = M.load_clip("backboneTiny_pretrainedtoyset")
    assert (lm.name, lm.paper_key, lm.pretrained) == ("Tiny/toyset", "backboneTiny_pretrainedtoyset", str(tiny_ckpt))


def test_hf_hub_models_fail_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(M.ModelWeightsMissingError, match="thaottn/OpenCLIP-resnet50-CC12M"):
        M.load_clip("RN50/cc12m", cache_dir=str(tmp_path))


def test_torchvision_adapter_uses_shipped_class_names_and_reports_paths(tmp_path, tiny):
    classes = [
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
    make_image_folder(tmp_path / "eurosat" / "eurosat" / "2750", classes, 2, size=16)
    (tmp_path / "eurosat" / "eurosat" / "2750" / "River" / "0001.png").write_bytes(b"corrupt")
    data = D.load_classification("eurosat", tmp_path)
    assert len(data) == 20 and data.classnames[0] == "annual crop land" and data.classnames[-1] == "lake or sea"
    with pytest.warns(UserWarning):
        df = Z.evaluate_zeroshot(tiny, data, prompt="ensemble", progress=False)
    assert df.attrs["skipped"] == [str(tmp_path / "eurosat" / "eurosat" / "2750" / "River" / "0001.png")]
    assert len(df) == 10 and df["n_images"].sum() == 19


def test_shipped_model_configs_are_found_for_local_checkpoints(tmp_path):
    import open_clip

    shipped = sorted((Path(M.__file__).parents[1] / "synthetic" / "model_configs").glob("*.json"))
    if not shipped:
        pytest.skip("no shipped model configs")
    arch = shipped[0].stem
    (tmp_path / "model.json").write_text('{"not": "a config"}')  # metadata beside a checkpoint is not taken as config
    M.register_arch(arch, tmp_path / "model.safetensors")
    assert arch in open_clip.list_models()
