"""wag.evaluate.retrieval: per-concept recall@k against hand-computed rankings, and the data loaders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from wag.core.errors import WagError
from wag.evaluate import datasets as D
from wag.evaluate import features as F
from wag.evaluate import retrieval as R
from wag.evaluate.tiny import TINY_ARCH, save_tiny_checkpoint


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from wag.evaluate.models import load_clip

    return load_clip(f"{TINY_ARCH}@{save_tiny_checkpoint(tmp_path_factory.mktemp('t') / 'tiny.safetensors')}")


def _coco(tmp_path, n_images=3, per=2):
    from PIL import Image

    (tmp_path / "img").mkdir()
    images, anns = [], []
    for i in range(n_images):
        Image.new("RGB", (32, 32), (60 * i, 10, 10)).save(tmp_path / "img" / f"{i}.jpg")
        images.append({"id": i, "file_name": f"{i}.jpg"})
        anns += [{"image_id": i, "caption": f"caption {i}.{j}"} for j in range(per)]
    ann = tmp_path / "captions.json"
    ann.write_text(json.dumps({"images": images, "annotations": anns}))
    return D.load_retrieval(ann, tmp_path / "img", name="toy", captions_per_image=per)


def test_recall_matches_hand_computed_rankings(tmp_path, monkeypatch, tiny):
    data = _coco(tmp_path)  # 3 images, 2 captions each: captions 0,1 -> img 0; 2,3 -> img 1; 4,5 -> img 2
    e = torch.eye(3)
    img = e  # image i = basis vector i
    # caption similarity rows (captions x images) chosen so the rankings are known:
    txt = torch.tensor(
        [
            [0.9, 0.1, 0.0],  # cap0 -> img0 first            t2i@1 hit
            [0.1, 0.8, 0.3],  # cap1 -> img1, img2, img0      t2i@1 miss, @2 miss (rank 3)
            [0.2, 0.7, 0.1],  # cap2 -> img1 first            hit
            [0.6, 0.5, 0.0],  # cap3 -> img0, img1            @1 miss, @2 hit
            [0.0, 0.2, 0.95],  # cap4 -> img2                  hit
            [0.3, 0.1, 0.2],  # cap5 -> img0, img2            @1 miss, @2 hit
        ]
    )
    monkeypatch.setattr(R, "encode_images", lambda *a, **k: F.ImageFeatures(img, np.arange(3), -np.ones(3, int), []))
    monkeypatch.setattr(R, "encode_texts", lambda *a, **k: txt)
    concepts = [["dog"], ["dog", "ball"], ["cat"], ["cat"], ["dog"], ["ball"]]
    df = R.evaluate_retrieval(tiny, data, concepts=concepts, ks=(1, 2), min_images=1)
    got = {(r.concept, r.prompt, r.metric): r.value for r in df.itertuples()}
    # t2i@1 hits per caption: [1,0,1,0,1,0]; @2: [1,0,1,1,1,1]
    assert got[("dog", "t2i", "recall@1")] == pytest.approx(2 / 3)  # captions 0,1,4
    assert got[("dog", "t2i", "recall@2")] == pytest.approx(2 / 3)
    assert got[("ball", "t2i", "recall@2")] == pytest.approx(1 / 2)  # captions 1,5
    assert got[("cat", "t2i", "recall@1")] == pytest.approx(1 / 2)  # captions 2,3
    # i2t: image columns. img0 ranks captions by txt[:,0]: 0(.9),3(.6),5(.3) -> @1 hit (cap0)
    # img1: 1(.8),2(.7) -> @1 hit (cap1 is img0's caption? no: cap1 belongs to img0) -> @1 miss, @2 hit (cap2)
    # img2: 4(.95) -> @1 hit
    # image concepts: img0 {dog, ball}, img1 {cat}, img2 {dog, ball}
    assert got[("dog", "i2t", "recall@1")] == 1.0
    assert got[("cat", "i2t", "recall@1")] == 0.0
    assert got[("cat", "i2t", "recall@2")] == 1.0
    assert df.attrs["full"]["t2i@1"] == pytest.approx(0.5)
    assert df.attrs["full"]["i2t@1"] == pytest.approx(2 / 3)
    assert set(df["metric"]) == {"recall@1", "recall@2"} and set(df["task"]) == {"retrieval"}
    js = R.to_paper_json(df)
    assert js["t2i_k=1"][tiny.paper_key]["conceptwise"]["cat"] == pytest.approx(0.5)
    assert js["i2t_k=1"][tiny.paper_key]["full"] == pytest.approx(2 / 3)


def test_min_images_drops_rare_concepts(tmp_path, monkeypatch, tiny):
    data = _coco(tmp_path)
    monkeypatch.setattr(
        R, "encode_images", lambda *a, **k: F.ImageFeatures(torch.eye(3), np.arange(3), -np.ones(3, int), [])
    )
    monkeypatch.setattr(R, "encode_texts", lambda *a, **k: torch.rand(6, 3))
    concepts = [["dog"], [], ["dog"], [], ["cat"], []]
    df = R.evaluate_retrieval(tiny, data, concepts=concepts, ks=(1,), min_images=2)
    assert set(df["concept"]) == {"dog"} and df.attrs["dropped_concepts"] == ["cat"]


def test_real_tiny_model_runs_and_bad_inputs_are_explained(tmp_path, tiny):
    data = _coco(tmp_path)
    df = R.evaluate_retrieval(tiny, data, concepts=[["x"]] * 6, ks=(1, 5), min_images=1)
    assert set(df["prompt"]) == {"i2t", "t2i"} and df["value"].between(0, 1).all()
    assert df.loc[df.metric == "recall@5", "value"].eq(1.0).all()  # 3 images / 6 captions: top-5 always holds one
    with pytest.raises(WagError, match="per-caption concept lists"):
        R.evaluate_retrieval(tiny, data, concepts=[["x"]] * 5)
    data.captions[1][0] = "  "
    with pytest.raises(WagError, match="empty"):
        R.evaluate_retrieval(tiny, data, concepts=[["x"]] * 6)


def test_retrieval_annotation_formats(tmp_path):
    from PIL import Image

    (tmp_path / "im").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "im" / "a.jpg")
    karpathy = {
        "images": [
            {"filename": "a.jpg", "filepath": "", "split": "test", "sentences": [{"raw": f"s{i}"} for i in range(6)]},
            {"filename": "b.jpg", "split": "train", "sentences": []},
        ]
    }
    (tmp_path / "k.json").write_text(json.dumps(karpathy))
    d = D.load_retrieval(tmp_path / "k.json", tmp_path / "im")
    assert d.captions == [["s0", "s1", "s2", "s3", "s4"]]
    (tmp_path / "l.json").write_text(json.dumps([{"image": "a.jpg", "caption": ["x", "y"]}]))
    with pytest.raises(WagError, match="fewer than 5 captions"):
        D.load_retrieval(tmp_path / "l.json", tmp_path / "im")
    assert D.load_retrieval(tmp_path / "l.json", tmp_path / "im", captions_per_image=2).captions == [["x", "y"]]
    with pytest.raises(D.DatasetMissingError, match="Karpathy"):
        D.load_retrieval(tmp_path / "missing.json", tmp_path / "im")


def test_concept_list_uses_frequency_matcher_or_explains(tmp_path, tiny, monkeypatch):
    data = _coco(tmp_path)
    try:
        from wag.frequency import match_texts  # noqa: F401
    except ImportError:
        with pytest.raises(WagError, match="match_texts"):
            R.evaluate_retrieval(tiny, data, concepts=["caption"], min_images=1)
        return
    df = R.evaluate_retrieval(tiny, data, concepts=["caption"], min_images=1, ks=(1,))
    assert set(df["concept"]) == {"caption"}  # every caption "caption i.j" holds it
    assert df.loc[df.prompt == "t2i", "n"].eq(6).all() and df.loc[df.prompt == "i2t", "n"].eq(3).all()


def test_per_concept_recall_rows_do_not_depend_on_the_hash_seed():
    """Row order feeds the bootstrap of the per-concept fit: it must be the same in every process."""
    import subprocess
    import sys

    code = (
        "import numpy as np; from wag.evaluate.retrieval import per_concept_recall as f; "
        "caps=[['zebra','ant'],['moth','ant'],['yak','elk','moth']]; hits={d:{1:np.array([1.,0.,1.])} for d in ('t2i','i2t')}; "
        "print(f(hits, caps, caps, {'zebra','ant','moth','yak','elk'}).to_csv())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "PYTHONHASHSEED": str(s)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for s in (1, 2, 3, 4)
    }
    assert len(outs) == 1
