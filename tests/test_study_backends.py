"""Study stages beyond the basics: tagging on Dask, the T2I stage, and ``wag reproduce`` running stale stages first."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import example_study_data

from wag.core.tables import validate
from wag.study.example import CONCEPTS, write_example
from wag.study.run import load_tables, run_study, study_status
from wag.study.spec import StudyError, StudySpec

QUIET = {"progress": False, "log": lambda *_: None}


def _spec(root: Path, out: Path, **over) -> StudySpec:
    """The example study at ``root`` (text, tags, integrated counts only), output to ``out``, with ``over`` merged in."""
    data = example_study_data(root)["study"]
    data.update(output=str(out), datasets=[])
    data["stages"]["letitwag"]["images"] = None
    data["stages"]["count"] = {"variants": ["phrase"]}
    for k, v in over.items():
        data[k] = v
    return StudySpec.model_validate(data)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_example(tmp_path_factory.mktemp("inputs"), n_samples=160, n_shards=4)


def test_tagging_on_a_dask_local_cluster_gives_the_same_tables(inputs, tmp_path):
    local = _spec(inputs, tmp_path / "threads")
    run_study(local, ["count", "tag", "integrate"], **QUIET)
    stages = local.model_dump()["stages"]
    stages["tag"] = {"backend": "dask", "workers": 2}
    dask = _spec(inputs, tmp_path / "dask", stages=stages)
    run_study(dask, ["count", "tag", "integrate"], **QUIET)
    a, b = local.output_path, dask.output_path
    tags_a, tags_b = pd.read_parquet(a / "tag" / "tags.parquet"), pd.read_parquet(b / "tag" / "tags.parquet")
    assert len(tags_a) > 0 and tags_a["sample_id"].nunique() == 160 - _no_image(inputs)
    pd.testing.assert_frame_equal(tags_a, tags_b)
    for rel in (
        "tag/frequencies.parquet",
        "tag/hits.parquet",
        "integrate/frequencies.parquet",
        "integrate/hits.parquet",
    ):
        ta, tb = pd.read_parquet(a / rel), pd.read_parquet(b / rel)
        assert len(ta) > 0, rel
        pd.testing.assert_frame_equal(ta, tb, obj=rel)
    assert (
        pd.read_parquet(a / "integrate" / "hits.parquet")["sample_id"].nunique() > 10
    )  # the comparison is not of empty tables


def _no_image(root: Path) -> int:
    import tarfile

    n = 0
    for f in sorted((root / "corpus").glob("*.tar")):
        with tarfile.open(f) as tar:
            names = tar.getnames()
        n += len({x.rsplit(".", 1)[0] for x in names}) - sum(x.endswith(".png") for x in names)
    return n


def test_tagging_with_threads_over_shards_and_loader_threads_gives_the_same_tags(inputs, tmp_path):
    one = _spec(inputs, tmp_path / "one")
    run_study(one, ["tag"], **QUIET)
    stages = one.model_dump()["stages"]
    stages["tag"] = {"backend": "threads", "workers": 2, "loader_threads": 2}
    two = _spec(inputs, tmp_path / "two", stages=stages)
    run_study(two, ["tag"], **QUIET)
    pd.testing.assert_frame_equal(
        pd.read_parquet(one.output_path / "tag" / "tags.parquet"),
        pd.read_parquet(two.output_path / "tag" / "tags.parquet"),
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from wag.evaluate.t2i import tiny_pipeline

    d = tmp_path_factory.mktemp("pipe")
    tiny_pipeline(d / "build").save_pretrained(d / "tiny-sd")
    return d / "tiny-sd"


def test_t2i_stage_writes_performance_rows_with_the_declared_names(inputs, pipeline, tmp_path):
    stages = _spec(inputs, tmp_path).model_dump()["stages"]
    stages["t2i"] = {"images_per_prompt": 2, "steps": 1, "templates": ["a photo of a {c}."]}
    spec = _spec(inputs, tmp_path / "out", t2i=[{"name": "my-sd", "model": str(pipeline)}], stages=stages)
    status = study_status(spec).set_index("stage")["state"]
    assert status["t2i"] == "missing"
    run_study(spec, ["t2i"], **QUIET)
    perf = load_tables(spec)["performance"]
    validate(perf, "performance")
    assert (
        set(perf["task"]) == {"t2i"} and set(perf["model"]) == {"my-sd"} and set(perf["pretraining"]) == {"example-web"}
    )
    assert set(perf["dataset"]) == {"animals"} and sorted(perf["concept"].unique()) == sorted(CONCEPTS)
    assert set(perf["metric"]) == {"exp_clipscore", "max_clipscore"}
    exp = perf[perf["metric"] == "exp_clipscore"].set_index("concept")["value"]
    mx = perf[perf["metric"] == "max_clipscore"].set_index("concept")["value"]
    assert (mx >= exp - 1e-9).all() and (exp >= 0).all()
    assert len(list((spec.output_path / "t2i" / "images").rglob("*.png"))) == 2 * len(CONCEPTS)
    assert study_status(spec).set_index("stage")["state"]["t2i"] == "done"


def test_t2i_off_without_pipelines_and_a_missing_pipeline_is_an_error_before_anything_is_written(inputs, tmp_path):
    assert study_status(_spec(inputs, tmp_path / "a")).set_index("stage")["state"]["t2i"] == "off"
    bad = _spec(inputs, tmp_path / "b", t2i=[{"name": "sd", "model": str(tmp_path / "nope")}])
    with pytest.raises(StudyError, match=r"study.t2i\[0\] \('sd'\): pipeline folder .*nope not found"):
        run_study(bad, **QUIET)
    assert not (tmp_path / "b").exists()
    with pytest.raises(ValueError, match="must contain"):
        _spec(inputs, tmp_path / "c", stages={"t2i": {"templates": ["a photo"]}})


def test_reproduce_runs_stale_study_stages_before_the_notebooks(inputs, tmp_path, monkeypatch):
    import papermill as pm

    import wag.run.reproduce as R

    data = example_study_data()
    data["study"].update(root=str(inputs), output=str(tmp_path / "study"), datasets=[], tagger={"kind": "none"})
    data["study"]["stages"] = {"count": {"variants": ["phrase"]}}
    data["notebooks"] = (
        ["1_tables"] if (R.notebooks_dir() / "1_tables.ipynb").is_file() else [R.available_notebooks()[0]]
    )
    prof = tmp_path / "p.yaml"
    prof.write_text(yaml.safe_dump(data), encoding="utf-8")
    seen = []

    def fake_execute(src, dst, **kw):  # the notebooks must see the study's tables already written
        seen.append((tmp_path / "study" / "count" / "frequencies.parquet").is_file())
        Path(dst).write_text("{}")

    monkeypatch.setattr(pm, "execute_notebook", fake_execute)
    monkeypatch.setattr(R, "ensure_kernel", lambda: "wag")
    results, manifest = R.run_notebooks(str(prof), out=tmp_path / "fig", progress=False)
    assert seen == [True] and [r.status for r in results] == ["ok"]
    states = {r["stage"]: r["state"] for r in yaml.safe_load(manifest.read_text())["study"]}
    assert states["count"] == "done" and states["tag"] == "off"
    rec = (tmp_path / "study" / "records" / "count.json").stat().st_mtime_ns
    R.run_notebooks(str(prof), out=tmp_path / "fig", progress=False)  # up to date: not rerun
    assert (tmp_path / "study" / "records" / "count.json").stat().st_mtime_ns == rec


def test_performance_contract_keeps_fractions_in_range_and_t2i_on_its_raw_scale():
    from wag.core.tables import TableError

    row = {
        "concept": "dog",
        "key": "dog",
        "dataset": "d",
        "model": "m",
        "pretraining": "p",
        "prompt": "x",
        "metric": "exp_clipscore",
    }
    validate(pd.DataFrame([{**row, "task": "t2i", "value": 31.5}]), "performance")
    with pytest.raises(
        TableError,
        match=r"rows 0 \(metric=exp_clipscore task=classification value=31.5\): value out of its metric's range .*a fraction in \[0, 1\]",
    ):
        validate(pd.DataFrame([{**row, "task": "classification", "value": 31.5}]), "performance")


def test_image_encoding_with_loader_threads_gives_the_same_features(tmp_path):
    import torch

    from wag.evaluate.datasets import image_folder
    from wag.evaluate.features import encode_images
    from wag.evaluate.models import load_clip
    from wag.evaluate.tiny import TINY_ARCH, make_image_folder, save_tiny_checkpoint

    model = load_clip(f"{TINY_ARCH}@{save_tiny_checkpoint(tmp_path / 'tiny.safetensors')}")
    make_image_folder(tmp_path / "imgs", ["a", "b", "c"], 7, size=40)
    (tmp_path / "imgs" / "b" / "9999.png").write_bytes(b"not a png")  # a corrupt image is skipped the same way
    data = image_folder(tmp_path / "imgs")
    inline = encode_images(model, data, batch_size=4, cache=False, progress=False, threads=0)
    ahead = encode_images(model, data, batch_size=4, cache=False, progress=False, threads=2)
    assert len(inline.index) == 21 and inline.skipped == ahead.skipped and len(ahead.skipped) == 1
    assert (
        torch.equal(inline.features, ahead.features)
        and (inline.index == ahead.index).all()
        and (inline.labels == ahead.labels).all()
    )
