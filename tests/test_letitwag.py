"""wag.evaluate.letitwag: tail-concept selection, pHash de-duplication, outliers, class balance, datasheet."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from wag.core.errors import WagError
from wag.evaluate.datasets import image_folder
from wag.evaluate.letitwag import build_let_it_wag, dedup_phash, feature_outliers, load_released, select_tail_concepts


def _freq():
    rows = [
        ("aardvark", "laion400m", 3),
        ("bison", "laion400m", 1),
        ("cobra", "laion400m", 0),
        ("dingo", "laion400m", 7),
        ("emu", "laion400m", 500),
        ("aardvark", "cc3m", 100),
        ("bison", "cc3m", 1),
        ("cobra", "cc3m", 2),
        ("dingo", "cc3m", 0),
        ("emu", "cc3m", 0),
        ("Dingo", "laion400m", 5),  # same concept from another downstream set
    ]
    return pd.DataFrame(rows, columns=["concept", "pretraining", "count"]).assign(
        dataset="x", method="text", variant="phrase"
    )


def test_select_tail_concepts_per_set_and_across_sets():
    per = select_tail_concepts(_freq(), k=3, source="laion400m")
    assert per["concept"].tolist() == ["bison", "aardvark", "dingo"]  # cobra has 0 -> excluded; dingo counts 7 (max)
    assert per["count"].tolist() == [1, 3, 7] and per["rank"].tolist() == [1, 2, 3]
    across = select_tail_concepts(_freq(), k=2, source=None)
    # sums across sets: bison 1+1=2, cobra 0+2=2 (non-zero overall), dingo 7, aardvark 103; ties broken by name
    assert across["concept"].tolist() == ["bison", "cobra"]
    assert across["count"].tolist() == [2, 2]


def test_select_tail_concepts_errors():
    with pytest.raises(WagError, match="available"):
        select_tail_concepts(_freq(), k=2, source="yfcc15m")
    with pytest.raises(WagError, match="non-zero"):
        select_tail_concepts(_freq(), k=50, source="laion400m")
    with pytest.raises(WagError, match="columns"):
        select_tail_concepts(pd.DataFrame({"concept": ["a"]}), k=1)


def _img(seed, size=48):
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((size // 8, size // 8, 3)) * 255).astype(np.uint8)).resize(
        (size, size), Image.NEAREST
    )


def test_dedup_phash_removes_near_duplicates_only():
    a, b = _img(1), _img(2)
    a_noisy = Image.fromarray(np.clip(np.asarray(a).astype(int) + 3, 0, 255).astype(np.uint8))
    kept, removed = dedup_phash([a, b, a_noisy, a.copy()], bits=10)
    assert kept == [0, 1] and removed == [2, 3]
    kept0, _ = dedup_phash([a, b, a_noisy], bits=0)
    assert 1 in kept0


def test_feature_outliers_flags_the_far_image():
    f = np.tile([1.0, 0.0, 0.0], (10, 1)) + np.random.default_rng(0).normal(0, 0.01, (10, 3))
    f[7] = [0.0, 1.0, 0.0]
    assert np.flatnonzero(feature_outliers(f, 2.0)).tolist() == [7]


def test_build_let_it_wag_writes_balanced_folder_and_datasheet(tmp_path):
    src = tmp_path / "web"
    for ci, c in enumerate(["bison", "aardvark", "dingo"]):
        d = src / c
        d.mkdir(parents=True)
        n = {"bison": 5, "aardvark": 4, "dingo": 2}[c]
        for i in range(n):
            _img(100 * ci + i).save(d / f"{i}.png")
    _img(0).save(src / "bison" / "dup.png")  # duplicate of bison/0.png (seed 0)
    (src / "bison" / "broken.jpg").write_bytes(b"garbage")
    out = build_let_it_wag(
        _freq(), k=3, source="laion400m", out_dir=tmp_path / "liw", images=src, images_per_class=3, progress=False
    )
    sheet = json.loads((out / "datasheet.json").read_text())
    steps = {s["concept"]: s for s in sheet["steps"]}
    assert steps["bison"]["candidates"] == 7 and steps["bison"]["undecodable_removed"] == 1
    assert (
        steps["bison"]["duplicates_removed"] == 1
        and steps["bison"]["kept"] == 3
        and steps["bison"]["balance_removed"] == 2
    )
    assert steps["dingo"]["kept"] == 0 and "fewer than 3" in steps["dingo"]["dropped"]
    assert sheet["classes_kept"] == 2 and sheet["images_kept"] == 6 and sheet["outlier_step"].startswith("skipped")
    data = image_folder(out / "images")
    assert data.classnames == ["aardvark", "bison"] and len(data) == 6
    assert "| bison | 1 | 7 | 1 | 1 |" in (out / "datasheet.md").read_text()
    # same seed -> same selection
    again = build_let_it_wag(
        _freq(), k=3, source="laion400m", out_dir=tmp_path / "liw2", images=src, images_per_class=3, progress=False
    )
    assert sorted(p.name for p in (again / "images" / "bison").iterdir()) == sorted(
        p.name for p in (out / "images" / "bison").iterdir()
    )
    assert [(p.read_bytes()) for p in sorted((again / "images" / "bison").iterdir())] == [
        p.read_bytes() for p in sorted((out / "images" / "bison").iterdir())
    ]


def test_build_from_webdataset_shards(tmp_path):
    import io
    import tarfile

    shard = tmp_path / "s" / "000.tar"
    shard.parent.mkdir()
    with tarfile.open(shard, "w") as tf:
        for i in range(4):
            buf = io.BytesIO()
            _img(i).save(buf, format="PNG")
            for name, blob in ((f"k{i}.png", buf.getvalue()), (f"k{i}.cls", b"bison" if i % 2 else b"aardvark")):
                ti = tarfile.TarInfo(name)
                ti.size = len(blob)
                tf.addfile(ti, io.BytesIO(blob))
    out = build_let_it_wag(
        _freq(),
        k=2,
        source="laion400m",
        out_dir=tmp_path / "o",
        images=tmp_path / "s",
        images_per_class=2,
        progress=False,
    )
    assert image_folder(out / "images").classnames == ["aardvark", "bison"]


def test_failed_build_leaves_nothing(tmp_path):
    with pytest.raises(WagError):
        build_let_it_wag(
            _freq(), k=3, source="laion400m", out_dir=tmp_path / "liw", images=tmp_path / "nowhere", progress=False
        )
    assert not (tmp_path / "liw").exists()


def test_released_loader_explains_when_unavailable():
    try:
        import datasets  # noqa: F401
    except ImportError:
        with pytest.raises(WagError, match="pip install datasets"):
            load_released()
    else:
        with pytest.raises(WagError, match="Let-It-Wag"):
            load_released()
