"""Image counts from stored embeddings, the tag stage's per-shard cache (threshold changes, resume) and the
embeddings checks, on the example study (issue 18, points 2 and 3)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import example_study_data

import wag.study.stages.tag as tag_stage
from wag.evaluate.tagger import OpenClipTagger
from wag.study.example import write_example
from wag.study.run import run_study, study_status
from wag.study.spec import StudyError, StudySpec


def _spec(root: Path, output: Path, **study) -> StudySpec:
    data = example_study_data(root, **{"stages.letitwag.images": None, **study})
    data["study"]["output"] = str(output)
    return StudySpec.model_validate(data["study"])


def _run(spec: StudySpec) -> None:
    run_study(spec, ["tag"], progress=False, log=lambda *_: None)


def _tables(spec: StudySpec) -> dict[str, pd.DataFrame]:
    out = spec.output_path / "tag"
    return {n: pd.read_parquet(out / f"{n}.parquet") for n in ("tags", "frequencies", "hits")}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture
def encoded(monkeypatch):
    """Counts the images the open_clip tagger encodes (its image tower's calls, image by image)."""
    n = {"images": 0}
    real = OpenClipTagger.embed_tensor

    def counting(self, x):
        n["images"] += int(x.shape[0])
        return real(self, x)

    monkeypatch.setattr(OpenClipTagger, "embed_tensor", counting)
    return n


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example study's inputs (4 shards) and a pixel-path tag run that saved its embeddings."""
    tmp = tmp_path_factory.mktemp("emb")
    root = write_example(tmp / "inputs", n_samples=120, n_shards=4)
    spec = _spec(root, tmp / "pixels", **{"stages.tag.save_embeddings": True})
    _run(spec)
    return root, spec


def test_threshold_change_reruns_only_the_thresholding(example, encoded, tmp_path):
    root, _ = example
    spec = _spec(root, tmp_path / "out")
    _run(spec)
    first = encoded["images"]
    assert first == 120  # every image encoded once
    moved = _spec(root, tmp_path / "out", **{"tagger.thresholds": [0.5, 0.6], "tagger.threshold": 0.6})
    assert study_status(moved).set_index("stage").loc["tag", "state"] == "stale"
    _run(moved)
    assert encoded["images"] == first  # the threshold change encoded no image
    f = _tables(moved)["frequencies"]
    assert set(f["variant"]) == {"tagger:tiny@0.5", "tagger:tiny@0.6"}
    fresh = _spec(root, tmp_path / "fresh", **{"tagger.thresholds": [0.5, 0.6], "tagger.threshold": 0.6})
    _run(fresh)  # the same thresholds on an empty cache: the same tables
    for name, df in _tables(fresh).items():
        pd.testing.assert_frame_equal(_sorted(df), _sorted(_tables(moved)[name]), obj=name)
    assert json.loads((moved.output_path / "tag" / "summary.json").read_text())["cached_shards"] == 4


def test_interrupted_tag_stage_resumes_from_finished_shards(example, encoded, tmp_path, monkeypatch):
    root, _ = example
    ref = _spec(root, tmp_path / "ref")
    _run(ref)
    encoded["images"] = 0
    spec = _spec(root, tmp_path / "out")
    real, calls = tag_stage.tag_shard, {"n": 0}

    def dies_after_two(*a, **kw):
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the run is stopped while the third shard is tagged
        calls["n"] += 1
        return real(*a, **kw)

    monkeypatch.setattr(tag_stage, "tag_shard", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        _run(spec)
    assert not (spec.output_path / "tag" / "tags.parquet").exists()
    assert encoded["images"] == 60  # two shards of 30 tagged and kept
    monkeypatch.setattr(tag_stage, "tag_shard", real)
    _run(spec)
    assert encoded["images"] == 120  # the rerun tagged only the two shards left
    for name, df in _tables(spec).items():
        pd.testing.assert_frame_equal(_sorted(df), _sorted(_tables(ref)[name]), obj=name)


def test_damaged_cache_entry_is_recomputed(example, encoded, tmp_path):
    root, _ = example
    spec = _spec(root, tmp_path / "out")
    _run(spec)
    entry = next((spec.output_path / "tag" / "cache").iterdir())
    (entry / "tags.parquet").write_bytes(b"not parquet")
    moved = _spec(root, tmp_path / "out", **{"tagger.thresholds": [0.6], "tagger.threshold": 0.6})
    _run(moved)
    assert encoded["images"] == 120 + 30  # only the damaged shard again


def test_saved_layout_is_the_clip_retrieval_layout(example):
    _, spec = example
    lay = spec.output_path / "tag" / "embeddings"
    files = sorted(p.name for p in (lay / "img_emb").iterdir())
    assert files == [f"img_emb_{i}.npy" for i in range(4)]
    emb = np.load(lay / "img_emb" / "img_emb_0.npy", mmap_mode="r")
    keys = pd.read_parquet(lay / "metadata" / "metadata_0.parquet")["key"]
    assert emb.shape == (30, 32) and len(keys) == 30 and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    side = json.loads((lay / "embeddings.json").read_text())
    assert side["dim"] == 32 and len(side["probe"]) == len(side["probe_prompts"])


def test_embeddings_path_gives_the_pixel_path_scores_and_counts(example, encoded, tmp_path):
    root, pix = example
    spec = _spec(
        root,
        tmp_path / "emb",
        **{"tagger.kind": "embeddings", "tagger.embeddings": str(pix.output_path / "tag" / "embeddings")},
    )
    _run(spec)
    assert encoded["images"] == 0  # no image decoded nor encoded
    a, b = _tables(pix), _tables(spec)
    m = a["tags"].merge(b["tags"], on=["sample_id", "concept"], how="outer", suffixes=("_px", "_emb"))
    both = m.dropna()
    assert len(both) >= 0.99 * len(m)  # only scores at the min_score edge may fall on one side
    assert np.abs(both["score_px"] - both["score_emb"]).max() < 1e-5
    edge = m[m.isna().any(axis=1)][["score_px", "score_emb"]].to_numpy(dtype=float)
    assert np.nanmax(edge, initial=0.0) < 0.0101
    pd.testing.assert_frame_equal(_sorted(a["frequencies"]), _sorted(b["frequencies"]))
    pd.testing.assert_frame_equal(_sorted(a["hits"]), _sorted(b["hits"]))


def test_parquet_column_embeddings_and_threads(example, tmp_path):
    root, pix = example
    lay = pix.output_path / "tag" / "embeddings"
    for i in range(4):
        emb = np.load(lay / "img_emb" / f"img_emb_{i}.npy")
        keys = pd.read_parquet(lay / "metadata" / f"metadata_{i}.parquet")["key"].tolist()
        t = pa.table({"sample": keys, "vec": pa.array(list(emb), type=pa.list_(pa.float32()))})
        (tmp_path / "pq").mkdir(exist_ok=True)
        pq.write_table(t, tmp_path / "pq" / f"part-{i}.parquet")
    spec = _spec(
        root,
        tmp_path / "emb",
        **{
            "tagger.kind": "embeddings",
            "tagger.embeddings": str(tmp_path / "pq"),
            "tagger.embedding_column": "vec",
            "tagger.key_column": "sample",
            "stages.tag.workers": 2,
            "stages.tag.block_rows": 7,
        },
    )
    _run(spec)
    pd.testing.assert_frame_equal(_sorted(_tables(pix)["frequencies"]), _sorted(_tables(spec)["frequencies"]))


def _copy_layout(src: Path, dst: Path, *, n: int = 4) -> Path:
    for i in range(n):
        (dst / "img_emb").mkdir(parents=True, exist_ok=True)
        (dst / "metadata").mkdir(parents=True, exist_ok=True)
        np.save(dst / "img_emb" / f"img_emb_{i}.npy", np.load(src / "img_emb" / f"img_emb_{i}.npy"))
        pd.read_parquet(src / "metadata" / f"metadata_{i}.parquet").to_parquet(
            dst / "metadata" / f"metadata_{i}.parquet"
        )
    return dst


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("dim", r"have dimension 31 but model 'tiny' embeds in 32; declare the model that made them"),
        ("model", r"written by model 'other', whose text tower differs from 'tiny'"),
        ("missing", r"30 corpus sample\(s\) have no embedding \(000090, 000091, 000092, \.\.\.\)"),
        ("extra", r"1 embedding key\(s\) are not corpus samples \(zz-not-a-sample\)"),
        ("keycol", r"has no column 'key' \(columns: 'sample'\); name the column"),
    ],
)
def test_embeddings_checks_stop_before_any_work(example, tmp_path, damage, message, monkeypatch):
    root, pix = example
    src = pix.output_path / "tag" / "embeddings"
    dst = _copy_layout(src, tmp_path / "lay", n=3 if damage == "missing" else 4)
    if damage == "dim":
        e = np.load(dst / "img_emb" / "img_emb_1.npy")
        np.save(dst / "img_emb" / "img_emb_1.npy", e[:, :31])
        for i in (0, 2, 3):
            np.save(dst / "img_emb" / f"img_emb_{i}.npy", np.load(dst / "img_emb" / f"img_emb_{i}.npy")[:, :31])
    if damage == "model":
        side = json.loads((src / "embeddings.json").read_text())
        side["model"] = "other"
        side["probe"] = np.random.default_rng(0).normal(size=np.asarray(side["probe"]).shape).tolist()
        (dst / "embeddings.json").write_text(json.dumps(side))
    if damage == "extra":
        e = np.load(dst / "img_emb" / "img_emb_3.npy")
        np.save(dst / "img_emb" / "img_emb_3.npy", np.concatenate([e, e[:1]]))
        k = pd.read_parquet(dst / "metadata" / "metadata_3.parquet")
        pd.concat([k, pd.DataFrame({"key": ["zz-not-a-sample"]})]).to_parquet(dst / "metadata" / "metadata_3.parquet")
    if damage == "keycol":
        for i in range(4):
            pd.read_parquet(dst / "metadata" / f"metadata_{i}.parquet").rename(columns={"key": "sample"}).to_parquet(
                dst / "metadata" / f"metadata_{i}.parquet"
            )
    spec = _spec(root, tmp_path / "emb", **{"tagger.kind": "embeddings", "tagger.embeddings": str(dst)})
    scored = []
    monkeypatch.setattr("wag.study.stages.tag_embeddings.score_part", lambda *a, **k: scored.append(1) or (None, 0))
    with pytest.raises(StudyError, match=message):
        _run(spec)
    assert not scored and not (spec.output_path / "tag" / "tags.parquet").exists()


def test_key_mismatch_skip_leaves_them_out_and_says_so(example, tmp_path):
    root, pix = example
    dst = _copy_layout(pix.output_path / "tag" / "embeddings", tmp_path / "lay", n=3)
    spec = _spec(
        root,
        tmp_path / "emb",
        **{"tagger.kind": "embeddings", "tagger.embeddings": str(dst), "tagger.on_key_mismatch": "skip"},
    )
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        _run(spec)
    assert any("30 corpus sample(s) without an embedding" in str(x.message) for x in w)
    s = json.loads((spec.output_path / "tag" / "summary.json").read_text())
    assert s["images_tagged"] == 90 and s["missing_embeddings"] == 30


def test_save_embeddings_needs_the_openclip_tagger(example, tmp_path):
    root, _ = example
    with pytest.raises(ValueError, match="save_embeddings needs tagger kind openclip"):
        _spec(
            root,
            tmp_path,
            **{"stages.tag.save_embeddings": True, "tagger.kind": "embeddings", "tagger.embeddings": "x"},
        )


def test_embeddings_on_dask_one_task_per_file_give_the_same_counts(example, tmp_path):
    root, pix = example
    spec = _spec(
        root,
        tmp_path / "emb",
        **{
            "tagger.kind": "embeddings",
            "tagger.embeddings": str(pix.output_path / "tag" / "embeddings"),
            "stages.tag.backend": "dask",
            "stages.tag.workers": 2,
        },
    )
    _run(spec)
    pd.testing.assert_frame_equal(_sorted(_tables(pix)["frequencies"]), _sorted(_tables(spec)["frequencies"]))
