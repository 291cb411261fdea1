"""Image tags (open_clip zero-shot on a tiny random model, RAM++ adapter errors), integrated counts, misalignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.frequency.integrated import IdSpaceError, integrated_counts
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import RamPlusPlusTagger, Tagger, TaggerUnavailableError, image_counts, image_hits


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    from wag.evaluate.models import load_clip
    from wag.evaluate.tiny import TINY_ARCH, save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")
    return load_clip(f"{TINY_ARCH}@{ckpt}")


def test_open_clip_tagger_scores_and_sweep(tiny):
    from PIL import Image

    from wag.evaluate.tagger import OpenClipTagger

    rng = np.random.default_rng(0)
    imgs = [(f"s{i}", Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))) for i in range(6)]
    concepts = ["dog", "cat", "sea"]
    tagger = OpenClipTagger(
        tiny,
        concepts,
        descriptions={"sea": ["a large body of salt water", "waves and a beach"]},
        min_score=0.0,
        batch_size=4,
    )
    assert isinstance(tagger, Tagger)
    tags = tagger.tag(imgs)
    assert list(tags.columns) == ["sample_id", "concept", "score"]
    assert len(tags) == 6 * 3 and tags["score"].between(0, 1).all()
    assert tags["score"].std() > 0  # images and concepts get different scores
    sweep = image_counts(tags, [0.0, 0.5, 0.7, 1.01], concepts=concepts, tagger="clip")
    per_t = sweep.groupby("variant")["count"].sum()
    assert per_t["clip@0"] == 18 and per_t["clip@1.01"] == 0
    assert per_t["clip@0"] >= per_t["clip@0.5"] >= per_t["clip@0.7"]
    assert set(sweep["method"]) == {"image"}


def test_rampp_adapter_names_package_and_checkpoint(tmp_path):
    with pytest.raises(TaggerUnavailableError) as e:
        RamPlusPlusTagger(tmp_path / "ram_plus_swin_large_14m.pth", ["dog"], {"dog": ["a dog"]})
    msg = str(e.value)
    assert ("'ram' package" in msg and "ram_plus_swin_large_14m.pth" in msg) or "checkpoint not found" in msg


TEXT = pd.DataFrame({"concept": ["dog", "dog", "cat", "sea", "cat"], "sample_id": ["a", "b", "b", "c", "d"]})
TAGS = pd.DataFrame(
    {
        "sample_id": ["a", "b", "b", "c", "e", "d"],
        "concept": ["dog", "cat", "dog", "dog", "cat", "sea"],
        "score": [0.9, 0.8, 0.6, 0.95, 0.99, 0.75],
    }
)


def test_integrated_counts_exact_intersection():
    ids = pd.Series(list("abcde"))
    at7 = integrated_counts(TEXT, TAGS, threshold=0.7, concepts=["dog", "cat", "sea", "car"], text_ids=ids).set_index(
        "concept"
    )["count"]
    assert at7.to_dict() == {"dog": 1, "cat": 1, "sea": 0, "car": 0}  # dog: a (b's dog tag is 0.6)
    at5 = integrated_counts(TEXT, TAGS, threshold=0.5, concepts=["dog"], text_ids=ids)["count"].tolist()
    assert at5 == [2]
    assert image_hits(TAGS, 0.7).shape == (5, 2)


def test_integrated_counts_rejects_other_id_space():
    with pytest.raises(IdSpaceError, match="same shards"):
        integrated_counts(
            TEXT,
            TAGS.assign(sample_id=["0", "1", "2", "3", "4", "5"]),
            threshold=0.7,
            text_ids=pd.Series(list("abcde")),
        )


def test_misalignment_both_denominators():
    m = misalignment(TEXT, TAGS, threshold=0.7, n_samples=100)
    # tagged images: a(dog) b(cat) c(dog) d(sea) e(cat); captions with a hit: a b c d
    # a: dog/dog aligned; b: {cat}/{dog,cat} aligned; c: {dog}/{sea} misaligned; d: {sea}/{cat} misaligned
    assert m["misaligned_pairs"] == 2
    assert m["degree_fixed"] == pytest.approx(0.02)
    assert m["degree_extracted"] == pytest.approx(2 / 5)
    with pytest.raises(Exception, match="corpus size"):
        misalignment(TEXT, TAGS, threshold=0.7, n_samples=0)


def test_write_tags_round_trip(tmp_path):
    from wag.frequency.tagging import write_tags

    p = write_tags(tmp_path / "tags.parquet", TAGS.assign(sample_id=range(6)))
    back = pd.read_parquet(p)
    assert list(back.columns) == ["sample_id", "concept", "score"] and back["sample_id"].tolist()[:2] == ["0", "1"]
    with pytest.raises(Exception, match="lack column"):
        write_tags(tmp_path / "x.parquet", TAGS.drop(columns="score"))


def test_iter_shard_images_reads_wds_images(tmp_path):
    import io
    import tarfile

    from PIL import Image

    from wag.corpus import iter_shards
    from wag.frequency.tagging import iter_shard_images

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(buf, format="PNG")
    with tarfile.open(tmp_path / "s.tar", "w") as tar:
        for name, data in [
            ("a.txt", b"a dog"),
            ("a.png", buf.getvalue()),
            ("b.txt", b"no image"),
            ("c.png", b"not a png"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    got = list(iter_shard_images(iter_shards(tmp_path / "s.tar")))
    assert [sid for sid, _ in got] == ["a"]  # b has no image, c's bytes are not an image
    assert got[0][1].size == (4, 4)
