"""The synthetic world as a study: its experiments run the public stages, and notebooks share the study folder."""

from __future__ import annotations

import pandas as pd
import pytest

from wag.core.io import read_json


@pytest.fixture(scope="module")
def sp():
    from wag.run.profile import load_profile

    ci = load_profile("ci").synthetic  # the ci world with 8 training steps to stay fast
    return ci.model_copy(
        update={
            "train": ci.train.model_copy(update={"steps": 8, "warmup": 2}),
            "experiments": ci.experiments.model_copy(update={"seeds": [0], "n_boot": 20}),
        }
    )


@pytest.fixture(scope="module")
def shared(sp, tmp_path_factory):
    """Notebook 2's check, then notebook 4-2's headline, on one cache (as `make reproduce` runs them)."""
    import wag.experiments as E

    mp = pytest.MonkeyPatch()
    mp.setenv("WAG_CACHE", str(tmp_path_factory.mktemp("cache")))
    check = E.count_check(sp, 0, ["phrase", "lowercased"], [0.5, 0.7])
    w, models, main, clip = E.seed_study(sp, 0)
    before = {s: read_json(main.output_path / "records" / f"{s}.json") for s in ("count", "tag")}
    h = E.run_headline(sp)
    yield {"check": check, "world": w, "models": models, "main": main, "clip": clip, "before": before, "headline": h}
    mp.undo()


def test_the_world_is_declared_as_a_study_of_user_files(shared):
    main, w = shared["main"], shared["world"]
    assert main.corpus.format == "wds" and main.tagger.kind == "checkpoint"
    assert (w.root / "concepts.txt").read_text().split() == w.names
    assert [m.model.split("@")[0] for m in main.models] == ["wag-synth-w32"]
    assert {d.kind for d in main.datasets} == {"imagefolder", "retrieval"}
    assert main.output_path == w.root / "study" / "main"


def test_headline_reuses_the_count_and_tag_stages_notebook_2_ran(shared):
    main = shared["main"]
    for stage, rec in shared["before"].items():
        assert read_json(main.output_path / "records" / f"{stage}.json")["finished"] == rec["finished"], stage
    for stage in ("integrate", "misalignment", "zeroshot", "retrieval"):
        assert (main.output_path / "records" / f"{stage}.json").is_file(), stage


def test_headline_counts_are_the_public_engines_counts(shared):
    from wag.concepts import concept_table
    from wag.corpus import iter_shards
    from wag.frequency import count_captions
    from wag.frequency.tagging import image_hits, iter_shard_images
    from wag.synthetic.tagger import train_world_tagger
    from wag.synthetic.world import DATASET

    w, h = shared["world"], shared["headline"]
    res = count_captions(
        [str(p) for p in w.shards],
        concept_table(w.names, dataset=DATASET, task="classification"),
        variant="phrase",
        fmt="wds",
        progress=False,
    )
    text = h.counts[h.counts["method"] == "text"].set_index("concept")["count"]
    assert text.to_dict() == res.hits["concept"].value_counts().reindex(w.names, fill_value=0).to_dict()
    main = shared["main"]
    tags = pd.read_parquet(main.output_path / "tag" / "tags.parquet")
    tagger = train_world_tagger(w, _tagger_params(main), 0)  # cached: the same checkpoint the study declared
    direct = tagger.tag(iter_shard_images(iter_shards([str(p) for p in w.shards], fmt="wds")))
    pd.testing.assert_frame_equal(tags.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False)
    th = float(h.counts.loc[h.counts["method"] == "image", "variant"].iloc[0].rsplit("@", 1)[1])
    img = h.counts[h.counts["method"] == "image"].set_index("concept")["count"]
    assert img.to_dict() == image_hits(direct, th)["concept"].value_counts().reindex(w.names, fill_value=0).to_dict()


def _tagger_params(main):
    from wag.run.profile import load_profile

    return load_profile("ci").synthetic.experiments.tagger


def test_variant_names_come_from_the_one_function(shared):
    from wag.core.tables import parse_variant

    h = shared["headline"]
    for v in set(h.counts.loc[h.counts["method"] != "truth", "variant"]):
        parse_variant(v)  # raises on a hand-made name
    assert set(h.count_quality["variant"]) >= {"tagger:clip@0.5", "tagger:tagger@0.9"}


def test_notebook_2_check_reads_the_shared_study(shared):
    acc, mis, sweep = shared["check"]
    assert set(acc["variant"]) == {"phrase", "lowercased"}
    assert (acc["precision"] >= 0.99).all() and (acc["recall"] >= 0.99).all()
    assert sweep["threshold"].tolist() == [0.5, 0.7]
    assert (sweep["image_hits"].diff().dropna() <= 0).all()  # fewer image hits at a higher threshold
    assert "trained tagger@0.7" in set(mis["image side"])


def test_experiment_accuracy_runs_the_zeroshot_stage(shared):
    import wag.experiments as E

    w, m = shared["world"], shared["models"][32]
    acc = E.concept_accuracy(w, m, "synthetic-s0-check")
    h = shared["headline"]
    head = h.performance[(h.performance["task"] == "classification")].set_index("concept")["value"]
    assert acc.sort_index().to_dict() == pytest.approx(head.sort_index().to_dict())  # same checkpoint, same test folder
    assert (w.root / "study" / "synthetic-s0-check" / "records" / "zeroshot.json").is_file()


def test_letitwag_runs_the_public_stage_on_the_studys_own_counts(shared, sp):
    import wag.experiments as E
    from wag.evaluate.letitwag import select_tail_concepts

    lw = E.run_letitwag(sp)
    main = shared["main"]
    assert (main.output_path / "records" / "letitwag.json").is_file()
    pool = shared["world"].root / "letitwag_pool"
    assert sorted(d.name for d in pool.iterdir()) == sorted(
        shared["world"].names
    )  # a pool of every concept, not only the tail
    freq = pd.read_parquet(main.output_path / "count" / "frequencies.parquet")
    freq = freq[freq["variant"] == "phrase"]
    tail = set(
        select_tail_concepts(freq, k=sp.experiments.letitwag.k, source=freq["pretraining"].iloc[0], method="text")[
            "concept"
        ]
    )
    perf = pd.read_parquet(main.output_path / "letitwag" / "performance.parquet")
    assert set(perf["concept"]) <= tail and len(set(perf["concept"])) == lw["letitwag_classes"].iloc[0]
    sheet = read_json(main.output_path / "letitwag" / "benchmark" / "datasheet.json")
    assert (
        sheet["phash_bits"] == 10
    )  # the world's spec sets the builder's 10 bits, not the stage's auto (1 bit at 32 px)
    assert (
        set(lw["width"]) == set(shared["models"])
        and (lw["letitwag_images"] == perf.groupby("model")["n_images"].sum().iloc[0]).all()
    )
    row = lw.iloc[0]
    assert (
        0 <= row["letitwag_accuracy"] <= row["letitwag_accuracy_k_way"] + 1e-9
    )  # K-way is never easier than k-way on the same images
    assert row["chance_k_way"] == pytest.approx(1 / row["letitwag_classes"])


def test_similarity_control_counts_the_filtered_corpus_by_the_count_stage(shared, sp):
    import wag.experiments as E

    df, _ = E.run_similarity_control(sp)
    w, main = shared["world"], shared["main"]
    frac = sp.experiments.similarity.remove_fraction
    dropped = (w.root / "similarity" / f"exclude-{frac:g}-s0.txt").read_text().split()
    n = len(w.metadata())
    assert len(dropped) == round(frac * n) and len(set(dropped)) == len(dropped)
    filt = w.root / "study" / f"simcontrol-{frac:g}"
    info = read_json(filt / "count" / "corpus.json")
    assert info["n_captions"] == n - len(dropped) and info["excluded"] == len(dropped)
    assert (filt / "records" / "zeroshot.json").is_file()
    # the count stage's counts of the filtered corpus = the full corpus's hits on the kept samples only
    hits = pd.read_parquet(main.output_path / "count" / "hits.parquet")
    hits = hits[(hits["variant"] == "phrase") & ~hits["sample_id"].isin(set(dropped))]
    expect = df["concept"].map(hits["concept"].value_counts()).fillna(0).astype(int)
    assert df["count_after"].tolist() == expect.tolist()
    assert (df["count_after"] <= df["count_before"]).all() and df["count_after"].sum() < df["count_before"].sum()
    assert not pd.read_parquet(filt / "count" / "hits.parquet")["sample_id"].isin(set(dropped)).any()


def test_corpus_exclude_file_must_exist(tmp_path):
    from wag.study.context import excluded_ids
    from wag.study.spec import CorpusSpec, StudyError, StudySpec

    spec = StudySpec(name="x", root=str(tmp_path), corpus=CorpusSpec(name="c", shards=["a.tar"], exclude="gone.txt"))
    with pytest.raises(StudyError, match="exclude"):
        excluded_ids(spec)
    (tmp_path / "gone.txt").write_text("a\n\nb \n")
    assert excluded_ids(spec) == {"a", "b"}
