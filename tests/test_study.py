"""A study built the way a user would (files + a profile YAML), run through ``wag study run``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import EXAMPLE_PROFILE, study_profile

from wag.cli import main
from wag.cli.study import load_study
from wag.core.tables import parse_variant, validate
from wag.study.example import CONCEPTS, write_example
from wag.study.run import load_tables, study_status
from wag.study.spec import StudySpec
from wag.study.stages.letitwag import phash_bits_for


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study")
    root = write_example(tmp / "inputs")
    prof = study_profile(root, tmp / "study.yaml")
    assert main(["study", "run", "--profile", str(prof), "--quiet"]) == 0
    return prof, load_study(str(prof))


EXPECTED = {
    "concepts.parquet": "concepts",
    "count/frequencies.parquet": "frequencies",
    "count/hits.parquet": "hits",
    "tag/frequencies.parquet": "frequencies",
    "tag/hits.parquet": "hits",
    "integrate/frequencies.parquet": "frequencies",
    "integrate/hits.parquet": "hits",
    "zeroshot/performance.parquet": "performance",
    "retrieval/performance.parquet": "performance",
    "letitwag/frequencies.parquet": "frequencies",
    "letitwag/performance.parquet": "performance",
}


def test_every_table_exists_and_meets_its_contract(study):
    _, spec = study
    out = spec.output_path
    for rel, table in EXPECTED.items():
        df = pd.read_parquet(out / rel)
        assert len(df) > 0, rel
        validate(df, table)
    assert (out / "misalignment" / "misalignment.parquet").is_file()
    assert (out / "letitwag" / "benchmark" / "datasheet.json").is_file()


def test_tables_carry_the_declared_names(study):
    _, spec = study
    t = load_tables(spec)
    assert set(t["frequencies"]["pretraining"]) == {"example-web"}
    assert set(t["performance"]["model"]) == {"tiny"}
    assert set(t["performance"]["pretraining"]) == {"example-web"}
    assert set(t["performance"]["dataset"]) == {"animals", "captions", "letitwag"}
    variants = set(t["frequencies"]["variant"])
    assert {
        "phrase",
        "lowercased",
        "paper_lemmatized",
        "tagger:tiny@0.5",
        "tagger:tiny@0.7",
        "integrated:tiny@0.7",
    } <= variants
    for v in variants:  # every variant name is one the single naming function reads back
        assert parse_variant(v).method in ("text", "image", "integrated")


def test_text_counts_are_exact(study):
    """Count the captions of the shards independently and compare with the phrase counts of the study."""
    import tarfile

    _, spec = study
    caps = []
    for f in sorted((spec.root_path / "corpus").glob("*.tar")):
        with tarfile.open(f) as tar:
            caps += [tar.extractfile(m).read().decode() for m in tar.getmembers() if m.name.endswith(".txt")]
    f = load_tables(spec)["frequencies"]
    phrase = f[(f["variant"] == "phrase") & (f["dataset"] == "animals")].set_index("concept")["count"]
    for c in CONCEPTS:
        assert phrase[c] == sum(f" {c} " in f" {cap} " for cap in caps), c


def test_integrated_never_exceeds_text_or_image(study):
    _, spec = study
    f = load_tables(spec)["frequencies"]
    f = f[f["dataset"] == "animals"].pivot_table(index="concept", columns="variant", values="count")
    assert (f["integrated:tiny@0.7"] <= f["phrase"]).all()
    assert (f["integrated:tiny@0.7"] <= f["tagger:tiny@0.7"]).all()
    assert (f["tagger:tiny@0.7"] <= f["tagger:tiny@0.5"]).all()


def test_performance_joins_frequencies_without_a_hand_made_key(study):
    _, spec = study
    t = load_tables(spec)
    perf, freq = t["performance"], t["frequencies"]
    phrase = freq[freq["variant"] == "phrase"]
    joined = perf.merge(phrase, on=["concept", "key", "dataset", "pretraining"], how="left", validate="many_to_one")
    assert len(joined) == len(perf)
    assert joined["count"].notna().all()
    zs = joined[joined["dataset"] == "animals"]
    assert set(zs["concept"]) == set(CONCEPTS[:6])


def test_rerun_is_a_noop_and_a_changed_input_makes_dependents_stale(study, capsys):
    prof, spec = study
    records = sorted((spec.output_path / "records").glob("*.json"))
    before = {p.name: p.stat().st_mtime_ns for p in records}
    capsys.readouterr()
    assert main(["study", "run", "--profile", str(prof), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("up to date") == 7 and "running" not in out
    assert {p.name: p.stat().st_mtime_ns for p in records} == before
    assert set(study_status(spec).query("stage != 't2i'")["state"]) == {
        "done"
    }  # t2i: off (the example declares no pipeline)

    with (spec.root_path / "concepts.txt").open("a") as fh:
        fh.write("zebra\n")
    st = study_status(spec).set_index("stage")["state"].to_dict()
    assert st == {
        "count": "stale",
        "tag": "stale",
        "integrate": "stale",
        "misalignment": "stale",
        "zeroshot": "done",
        "retrieval": "done",
        "t2i": "off",
        "letitwag": "stale",
    }
    assert main(["study", "run", "--profile", str(prof), "--quiet"]) == 0
    assert set(study_status(spec).query("stage != 't2i'")["state"]) == {"done"}
    f = load_tables(spec)["frequencies"]
    assert ((f["concept"] == "zebra") & (f["variant"] == "phrase")).sum() == 1


def test_removed_output_is_stale(study):
    _, spec = study
    target = spec.output_path / "misalignment" / "misalignment.parquet"
    saved = target.read_bytes()
    target.unlink()
    try:
        st = study_status(spec).set_index("stage")
        assert st.loc["misalignment", "state"] == "stale" and "output missing" in st.loc["misalignment", "reason"]
    finally:
        target.write_bytes(saved)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"datasets": [{"name": "animals", "kind": "folder", "path": "testset"}]}, "study.datasets.0.kind"),
        ({"corpus": {"name": "web", "shards": ["nowhere/*.tar"]}}, "no files match"),
        (
            {
                "models": [
                    {"name": "tiny", "model": "wag-tiny-vit@models/tiny.safetensors"},
                    {"name": "tiny", "model": "ViT-B-32/openai"},
                ]
            },
            "duplicate model name",
        ),
        ({"tagger": {"kind": "openclip", "model": "tiny", "thresholds": [0.5, 1.5]}}, "thresholds must be in (0, 1)"),
        ({"models": [{"name": "tiny", "model": "no-such-model"}]}, "unknown model 'no-such-model'"),
        (
            {"datasets": [{"name": "animals", "kind": "torchvision", "torchvision": "cifar11"}]},
            "unknown dataset name 'cifar11'",
        ),
        (
            {"corpus": {"name": "web", "shards": ["corpus/*.tar"], "captions": "text"}},
            "unknown key 'study.corpus.captions'; allowed keys here: caption_column",
        ),
        (
            {"tagger": {"kind": "openclip", "model": "tiny", "name": "my tagger"}},
            "study.tagger.name: tagger name 'my tagger'",
        ),
    ],
)
def test_bad_study_is_one_clear_error_before_anything_is_written(tmp_path, capsys, over, message):
    root = tmp_path / "inputs"
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "s.tar").write_bytes(b"")
    (root / "concepts.txt").write_text("dog\n")
    (root / "models").mkdir()
    (root / "models" / "tiny.safetensors").write_bytes(b"")
    (root / "models" / "wag-tiny-vit.json").write_text("{}")
    (root / "testset").mkdir()
    (root / "pool").mkdir()
    (root / "retrieval" / "images").mkdir(parents=True)
    (root / "retrieval" / "annotations.json").write_text("[]")
    prof = study_profile(root, tmp_path / "study.yaml", **over)
    assert main(["study", "run", "--profile", str(prof), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not (root / "study").exists()


def test_empty_tail_benchmark_names_the_parameter(study, tmp_path):
    prof, spec = study
    data = yaml.safe_load(prof.read_text())
    data["study"]["output"] = str(tmp_path / "lw")
    data["study"]["stages"]["letitwag"]["images_per_class"] = 50
    p = tmp_path / "lw.yaml"
    p.write_text(yaml.safe_dump(data))
    from wag.study.run import run_study
    from wag.study.spec import StudyError

    with pytest.raises(StudyError, match=r"images_per_class \(now 50\)"):
        run_study(load_study(str(p)), ["letitwag"], progress=False, log=lambda *_: None)
    assert not (tmp_path / "lw" / "letitwag" / "benchmark").exists()
    assert not (tmp_path / "lw" / "records" / "letitwag.json").exists()


def test_stage_names_the_cli_offers_are_the_stages():
    from wag.study.spec import STAGE_NAMES
    from wag.study.stages import STAGES

    assert tuple(STAGES) == STAGE_NAMES


def test_every_stage_writes_only_what_it_declares(study):
    from wag.study.stages import STAGES

    _, spec = study
    ran = 0
    for name, stage in STAGES.items():
        rec = spec.output_path / "records" / f"{name}.json"
        if rec.is_file():
            outs = json.loads(rec.read_text())["outputs"]
            assert outs and set(outs) <= set(stage.outputs), name
            assert all((spec.output_path / o).exists() for o in outs), name
            ran += 1
    assert ran == 7  # every stage but t2i


def test_an_undeclared_output_is_a_bug_the_runner_names(study, monkeypatch, tmp_path):
    from dataclasses import replace

    from wag.study.run import run_study
    from wag.study.stages import STAGES

    _, spec = study
    monkeypatch.setitem(STAGES, "count", replace(STAGES["count"], outputs=("concepts.parquet",)))
    with pytest.raises(RuntimeError, match=r"stage count wrote undeclared outputs \['count/corpus.json'"):
        run_study(
            spec.model_copy(update={"output": str(tmp_path / "x")}), ["count"], progress=False, log=lambda *_: None
        )


def test_a_context_uses_the_concept_table_it_is_given(study):
    """A Dask worker's context gets the driver's concept table; without one, the context builds it from the spec."""
    from wag.study.context import Context

    _, spec = study
    built = Context(spec, []).concepts
    given = built.iloc[:2].copy()
    ctx = Context(spec, [], concepts=given)
    assert ctx.concepts is given and ctx.concept_names == given["concept"].tolist()
    assert len(built) > 2 and set(CONCEPTS) <= set(built["concept"])


def test_phash_bits_scale_with_image_size():
    assert phash_bits_for(224) == 10 and phash_bits_for(1024) == 10
    assert phash_bits_for(32) == 1 and phash_bits_for(112) == 5


def test_every_study_field_is_documented():
    def walk(model, seen=()):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"
            ann = f.annotation
            for sub in getattr(ann, "__args__", None) or (ann,):
                inner = getattr(sub, "__args__", None) or (sub,)
                for t in inner:
                    if isinstance(t, type) and hasattr(t, "model_fields") and t not in seen:
                        walk(t, (*seen, t))

    walk(StudySpec)


def test_example_profile_validates():
    from wag.run.profile import load_profile

    p = load_profile(str(EXAMPLE_PROFILE))
    assert p.study is not None and p.study.corpus.name == "example-web"
    assert json.loads(json.dumps(p.study.model_dump()))["tagger"]["thresholds"] == [0.5, 0.7]


def test_single_stage_command_reruns_only_that_stage(study, capsys):
    prof, spec = study
    rec = spec.output_path / "records"
    before = {p.name: p.stat().st_mtime_ns for p in rec.glob("*.json")}
    capsys.readouterr()
    assert main(["integrate", "--profile", str(prof), "--force", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "[integrate] running (forced)" in out and "[count] up to date" in out and "[tag] up to date" in out
    after = {p.name: p.stat().st_mtime_ns for p in rec.glob("*.json")}
    assert [n for n in before if before[n] != after[n]] == ["integrate.json"]
    assert set(study_status(spec).query("stage != 't2i'")["state"]) == {"done"}


def test_parquet_shards_with_image_bytes_give_the_same_tables(study, tmp_path):
    """The same samples as Parquet (key, caption, image bytes) instead of WebDataset: identical text, image and integrated counts."""
    import tarfile

    _, spec = study
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    for f in sorted((spec.root_path / "corpus").glob("*.tar")):
        rows: dict[str, dict] = {}
        with tarfile.open(f) as tar:
            for m in tar.getmembers():
                key, ext = m.name.rsplit(".", 1)
                rows.setdefault(key, {"key": key})["caption" if ext == "txt" else "image"] = (
                    tar.extractfile(m).read().decode() if ext == "txt" else tar.extractfile(m).read()
                )
        pd.DataFrame(list(rows.values())).to_parquet(pq_dir / f"{f.stem}.parquet", index=False)
    over = spec.model_dump()
    over["corpus"] = {"name": "example-web", "shards": [str(pq_dir / "*.parquet")], "image_column": "image"}
    over["output"] = str(tmp_path / "out")
    over["datasets"] = []
    over["stages"]["letitwag"]["images"] = None
    from wag.study.run import run_study

    pq_spec = StudySpec.model_validate(over)
    run_study(pq_spec, ["count", "tag", "integrate"], progress=False, log=lambda *_: None)
    mine = (
        load_tables(pq_spec)["frequencies"].set_index(["concept", "dataset", "method", "variant"])["count"].sort_index()
    )
    ref = load_tables(spec)["frequencies"]
    ref = ref[ref["dataset"] == "animals"]
    ref = ref.set_index(["concept", "dataset", "method", "variant"])["count"].sort_index()
    assert len(ref) > 0
    pd.testing.assert_series_equal(mine.loc[ref.index], ref)


def test_a_class_short_of_images_is_a_warning_naming_the_parameter(study, tmp_path):
    import shutil

    from wag.study.run import run_study

    _, spec = study
    pool = tmp_path / "pool"
    shutil.copytree(spec.root_path / "pool", pool)
    for f in sorted((pool / "airplane").iterdir())[2:]:  # the rarest concept keeps 2 images < images_per_class 4
        f.unlink()
    over = spec.model_dump()
    over["output"] = str(tmp_path / "out")
    over["stages"]["letitwag"]["images"] = str(pool)
    s = StudySpec.model_validate(over)
    with pytest.warns(UserWarning, match=r"1 of 6 classes dropped \(airplane.*images_per_class \(now 4\)"):
        run_study(s, ["letitwag"], progress=False, log=lambda *_: None)
    perf = pd.read_parquet(s.output_path / "letitwag" / "performance.parquet")
    assert sorted(perf["concept"]) == sorted(
        set(pd.read_parquet(s.output_path / "letitwag" / "frequencies.parquet")["concept"])
    )
    assert "airplane" not in set(perf["concept"]) and perf["concept"].nunique() == 5


def test_count_on_a_dask_local_cluster_gives_the_same_tables(study, tmp_path):
    from wag.study.run import run_study

    _, spec = study
    over = spec.model_dump()
    over.update(
        output=str(tmp_path / "dask"),
        tagger={"kind": "none"},
        datasets=[d for d in over["datasets"] if d["kind"] == "imagefolder"],
    )
    over["stages"]["letitwag"]["images"] = None
    over["stages"]["count"].update(backend="dask", workers=2, variants=["phrase", "paper_lemmatized"])
    dask_spec = StudySpec.model_validate(over)
    run_study(dask_spec, ["count"], progress=False, log=lambda *_: None)
    for table, key in (
        ("frequencies", ["concept", "dataset", "variant"]),
        ("hits", ["concept", "sample_id", "variant"]),
    ):
        mine = load_tables(dask_spec)[table]
        ref = load_tables(spec)[table]
        ref = ref[ref["variant"].isin(["phrase", "paper_lemmatized"]) & ref["concept"].isin(set(mine["concept"]))]
        if table == "frequencies":
            ref = ref[ref["dataset"] == "animals"]
        assert len(mine) > 0
        pd.testing.assert_frame_equal(
            mine.sort_values(key).reset_index(drop=True).astype(str),
            ref.sort_values(key).reset_index(drop=True).astype(str),
        )


def test_corpus_exclude_drops_those_samples_from_count_and_tag(study):
    from wag.study.run import run_study

    _, spec = study
    hits = pd.read_parquet(spec.output_path / "count" / "hits.parquet")
    tags = pd.read_parquet(spec.output_path / "tag" / "tags.parquet")
    gone = sorted(set(hits["sample_id"]) & set(tags["sample_id"].astype(str)))[:3]
    assert gone
    (spec.root_path / "gone.txt").write_text("\n".join(gone) + "\n")
    filt = spec.model_copy(
        update={"output": "study-excluded", "corpus": spec.corpus.model_copy(update={"exclude": "gone.txt"})}
    )
    run_study(filt, ["count", "tag"], progress=False, log=lambda *_: None)
    h2 = pd.read_parquet(filt.output_path / "count" / "hits.parquet")
    t2 = pd.read_parquet(filt.output_path / "tag" / "tags.parquet")
    assert not h2["sample_id"].isin(gone).any() and not t2["sample_id"].astype(str).isin(gone).any()
    f1, f2 = (
        pd.read_parquet(o / "count" / "frequencies.parquet").set_index(["concept", "dataset", "variant"])["count"]
        for o in (spec.output_path, filt.output_path)
    )
    removed = hits[hits["sample_id"].isin(gone)].groupby(["concept", "variant"]).size()
    diff = (f1 - f2).reset_index().groupby(["concept", "variant"])["count"].first()
    pd.testing.assert_series_equal(
        diff[diff > 0].sort_index(), removed.sort_index(), check_names=False, check_dtype=False
    )
    assert read_n(filt) == read_n(spec) - len(gone)


def read_n(spec: StudySpec) -> int:
    return json.loads((spec.output_path / "count" / "corpus.json").read_text())["n_captions"]


def _with_precision(prof: Path, precision: str, output: Path) -> Path:
    """A copy of profile ``prof`` with ``stages.evaluate.precision`` and the study output changed."""
    data = yaml.safe_load(prof.read_text())
    data["study"].setdefault("stages", {}).setdefault("evaluate", {})["precision"] = precision
    data["study"]["output"] = str(output)
    p = output.parent / f"{output.name}-{precision}.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def test_bf16_precision_is_a_declared_input_and_agrees_with_fp32(study, tmp_path):
    """``stages.evaluate.precision: bf16`` runs every CLIP model in bfloat16: the model-using stages become stale (never
    served from the fp32 results), feature caches are keyed apart, and tags and accuracies stay close to fp32."""
    prof, spec = study
    p = _with_precision(prof, "bf16", tmp_path / "bf16")
    spec16 = load_study(str(p))
    assert main(["study", "run", "--profile", str(p), "--quiet"]) == 0
    # the tagger's own score (raw_score: the example's CLIP tagger is calibrated on the captions, which a small
    # change of the raw scores can move by more)
    t32, t16 = (
        pd.read_parquet(s.output_path / "tag" / "tags.parquet").set_index(["sample_id", "concept"])["raw_score"]
        for s in (spec, spec16)
    )
    both = t32.index.intersection(t16.index)
    assert len(both) > 0.9 * max(len(t32), len(t16))
    diff = (t32[both] - t16[both]).abs()
    assert 0 < diff.max() < 0.1  # bfloat16 did run (not the fp32 numbers) and stays close
    z32, z16 = (pd.read_parquet(s.output_path / "zeroshot" / "performance.parquet") for s in (spec, spec16))
    assert len(z16) == len(z32)
    # the fp32 study's records do not match the bf16 inputs: switching its precision makes the model stages stale
    st = (
        study_status(load_study(str(_with_precision(prof, "bf16", spec.output_path))))
        .set_index("stage")["state"]
        .to_dict()
    )
    assert st["count"] == "done" and {st[s] for s in ("tag", "zeroshot", "retrieval", "letitwag")} == {"stale"}


def test_unknown_precision_is_one_clear_error(study, tmp_path, capsys):
    p = _with_precision(study[0], "fp8", tmp_path / "out")
    assert main(["study", "run", "--profile", str(p), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "precision" in err and "fp32" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_excluded_samples_are_never_tagged_and_the_tables_equal_tagging_then_dropping(study, monkeypatch):
    """``corpus.exclude`` applies before images are decoded: the tagger never sees an excluded sample, and the tag and
    integrated tables are those of tagging every image and dropping the excluded samples afterwards."""
    import wag.study.stages.tag as st
    from wag.study.checks import shard_files
    from wag.study.context import Context
    from wag.study.run import run_study

    _, calibrated = study
    # raw scores: a calibration fitted on the corpus without the excluded samples is another fit (as it should be)
    spec = calibrated.model_copy(
        update={"output": "study-raw", "tagger": calibrated.tagger.model_copy(update={"calibration": "none"})}
    )
    run_study(spec, ["count", "tag", "integrate"], progress=False, log=lambda *_: None)
    full = spec.output_path
    tags = pd.read_parquet(full / "tag" / "tags.parquet")
    n_all = json.loads((full / "tag" / "summary.json").read_text())["images_tagged"]
    gone = sorted(set(tags["sample_id"].astype(str)))[::3]
    assert len(gone) >= 2
    (spec.root_path / "gone-early.txt").write_text("\n".join(gone) + "\n")
    seen: list[str] = []
    make = st.make_tagger

    def counting_tagger(ctx):
        tagger = make(ctx)
        tag = tagger.tag

        def spy(images):
            for sid, img in images:
                seen.append(str(sid))
                yield sid, img

        tagger.tag = lambda images: tag(spy(images))
        return tagger

    monkeypatch.setattr(st, "make_tagger", counting_tagger)
    filt = spec.model_copy(
        update={
            "output": "study-excluded-early",
            "corpus": spec.corpus.model_copy(update={"exclude": "gone-early.txt"}),
        }
    )
    run_study(filt, ["count", "tag", "integrate"], progress=False, log=lambda *_: None)
    out = filt.output_path
    assert seen and not set(seen) & set(gone)
    assert len(seen) == n_all - len(gone) == json.loads((out / "tag" / "summary.json").read_text())["images_tagged"]
    seen.clear()  # the Dask task (run here in-process) skips them too
    ctx = Context(filt, shard_files(filt), progress=False)
    n_task = sum(st.tag_shard_task(filt, ctx.concepts, str(p))[1] for p in ctx.shards)
    assert n_task == len(seen) == n_all - len(gone) and not set(seen) & set(gone)

    def without_gone(df: pd.DataFrame) -> pd.DataFrame:
        keep = df[~df["sample_id"].astype(str).isin(gone)]
        return keep.sort_values(list(keep.columns), kind="stable").reset_index(drop=True)

    for rel in ("tag/tags.parquet", "tag/hits.parquet", "integrate/hits.parquet"):
        pd.testing.assert_frame_equal(
            without_gone(pd.read_parquet(out / rel)), without_gone(pd.read_parquet(full / rel)), obj=rel
        )
    for rel, hits in (
        ("tag/frequencies.parquet", "tag/hits.parquet"),
        ("integrate/frequencies.parquet", "integrate/hits.parquet"),
    ):
        freq = pd.read_parquet(out / rel).set_index(["concept", "dataset", "variant"])["count"]
        expected = without_gone(pd.read_parquet(full / hits)).groupby(["concept", "variant"]).size()
        got = freq.groupby(level=["concept", "variant"]).first()
        pd.testing.assert_series_equal(
            got[got > 0].sort_index(), expected.sort_index(), check_names=False, check_dtype=False, obj=rel
        )


def test_status_shows_the_count_quality_and_the_study_its_calibration(study, capsys):
    """The example's random-init CLIP tagger is calibrated on the captions by default (tag/calibration.parquet), and
    its counts are flagged: `wag study status` prints the count-quality table with the caveats under each count type."""
    prof, spec = study
    cal = validate(pd.read_parquet(spec.output_path / "tag" / "calibration.parquet"), "calibration")
    assert len(cal) == len(set(cal["concept"])) > 0
    assert "raw_score" in pd.read_parquet(spec.output_path / "tag" / "tags.parquet").columns
    capsys.readouterr()
    assert main(["study", "status", "--profile", str(prof)]) == 0
    out = capsys.readouterr().out
    assert "count quality" in out and "tagger:tiny@0.5" in out and "caveat:" in out
    summary = json.loads((spec.output_path / "tag" / "summary.json").read_text())
    assert summary["count_caveats"] and summary["calibration"]["n_concepts"] == len(cal)
