"""wag.sources: one place that hands the analysis its tables (released files or a study), and the binning parameter."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wag.analysis.binned import Binning, paper_binned, paper_slice, quantile_binned, quantile_n_bins
from wag.run.profile import ParamsError, load_profile
from wag.sources import ReleasedSource, Source, SourceError, StudySource, binning_of, open_source, source_kind

ROOT = Path(__file__).resolve().parents[1]


def test_paper_binning_object_is_the_paper_recipe():
    rng = np.random.default_rng(0)
    c = rng.integers(0, 10_000, 200)
    v = rng.random(200)
    a = Binning("paper").bin(c, v, task="classification", pretraining="laion400m")
    b = paper_binned(c, v, n_bins=12, keep=paper_slice("classification", "laion400m"))
    assert a.points.equals(b.points) and (a.rho, a.p) == (b.rho, b.p)


def test_quantile_bins_work_for_few_concepts():
    c = np.array([1, 3, 8, 20, 55, 150])
    v = np.array([0.1, 0.2, 0.25, 0.4, 0.5, 0.7])
    r = Binning("quantile").bin(c, v, task="classification")
    assert quantile_n_bins(6) == 3
    assert r.points["n"].tolist() == [2, 2, 2] and r.points["kept"].all()
    assert r.rho > 0.9  # three points on a rising trend; the paper's 12 equal-width bins would keep fewer


def test_quantile_bins_hold_about_min_per_bin_concepts():
    rng = np.random.default_rng(1)
    c = rng.lognormal(3, 2, 500).astype(int)
    v = rng.random(500)
    r = quantile_binned(c, v, n_bins=quantile_n_bins(500, min_per_bin=50))
    assert len(r.points) <= 10 and r.points["n"].sum() == 500
    assert r.points["n"].min() >= 25  # ties may merge edges, never starve a bin


def test_source_kind_follows_the_profile():
    p = load_profile("ci")
    assert source_kind(p) == "released" and binning_of(p, ReleasedSource.default_binning).recipe == "paper"
    assert binning_of(p, StudySource.default_binning).recipe == "quantile"
    with pytest.raises(ParamsError, match="no study: section"):  # checked when the profile loads, before any work
        load_profile("ci", {"analysis.source": "study"})
    e = load_profile("example_study")
    assert source_kind(e) == "study"
    assert source_kind(load_profile("example_study", {"analysis.source": "released"})) == "released"
    assert (
        binning_of(
            load_profile("ci", {"analysis.binning.recipe": "quantile", "analysis.binning.n_bins": 4}), "paper"
        ).n_bins
        == 4
    )


def test_source_cells_need_the_released_files_only_when_they_are_the_source():
    from wag.run.notebook import RELEASED_FILES_TAG, SOURCE_TAG, skip_tags

    assert set(skip_tags(load_profile("ci"))) == {RELEASED_FILES_TAG, SOURCE_TAG}
    assert skip_tags(load_profile("example_study")) == (RELEASED_FILES_TAG,)
    assert set(skip_tags()) == {RELEASED_FILES_TAG, SOURCE_TAG}


def test_a_study_source_needs_a_run_study_folder(tmp_path):
    p = load_profile("example_study", {"study.root": str(tmp_path / "nowhere")})
    with pytest.raises(SourceError, match="wag study run"):
        open_source(p)


# ------------------------------------------------------------------------------------------ the abstract source


def test_source_is_abstract_and_both_sources_implement_all_of_it():
    with pytest.raises(TypeError, match="abstract"):
        Source(load_profile("ci"))  # type: ignore[abstract]
    assert ReleasedSource.__abstractmethods__ == frozenset() and StudySource.__abstractmethods__ == frozenset()

    class Partial(Source):
        kind, default_binning, facet = "x", "paper", "pretraining"

        def describe(self) -> str:
            return "x"

    with pytest.raises(TypeError, match="claim"):
        Partial(load_profile("ci"))  # type: ignore[abstract]


def _tiny_study(tmp_path: Path) -> StudySource:
    """A study folder with the three tables a source reads: 3 concepts, a tagger at 0.5 and 0.7, one model."""
    out = tmp_path / "study"
    for stage in ("count", "zeroshot", "letitwag"):
        (out / stage).mkdir(parents=True)
    names = {"dog": "animals", "cat": "animals", "fish": "animals", "yak": "letitwag"}
    pd.DataFrame(
        [(c, c, d, "classification", [c]) for c, d in names.items()],
        columns=["concept", "key", "dataset", "task", "aliases"],
    ).to_parquet(out / "concepts.parquet")
    variants = [("text", "phrase"), ("image", "tagger:tiny@0.5"), ("image", "tagger:tiny@0.7")]
    variants += [("integrated", "integrated:tiny@0.7")]
    pd.DataFrame(
        [(c, c, d, "web", m, v, n) for (c, d), n in zip(names.items(), (90, 9, 1, 0)) for m, v in variants],
        columns=["concept", "key", "dataset", "pretraining", "method", "variant", "count"],
    ).to_parquet(out / "count" / "frequencies.parquet")
    perf = ["concept", "key", "dataset", "task", "model", "pretraining", "prompt", "metric", "value"]
    pd.DataFrame(
        [
            (c, c, "animals", "classification", "tiny", "web", "class", "accuracy", a)
            for c, a in [("dog", 0.9), ("cat", 0.5), ("fish", 0.1)]
        ],
        columns=perf,
    ).to_parquet(out / "zeroshot" / "performance.parquet")
    pd.DataFrame(
        [("yak", "yak", "letitwag", "classification", "tiny", "web", "class", "accuracy", 0.25)], columns=perf
    ).to_parquet(out / "letitwag" / "performance.parquet")
    p = load_profile(
        "example_study",
        {
            "study.root": str(tmp_path),
            "study.tagger.name": "tiny",
            "study.tagger.thresholds": [0.5, 0.7],
            "study.tagger.threshold": 0.7,
        },
    )
    src = open_source(p)
    assert isinstance(src, StudySource)
    return src


def test_a_study_answers_every_notebook_question_in_its_own_words(tmp_path: Path):
    src = _tiny_study(tmp_path)
    assert src.paper_root() is None and src.binning.recipe == "quantile"
    assert src.count_types() == ["phrase", "tagger:tiny@0.7", "integrated:tiny@0.7"]
    assert src.count_type("image", 0.5) == "tagger:tiny@0.5" and src.thresholds() == [0.5, 0.7]
    assert src.counts_label == "phrase, tagger:tiny@0.7, integrated:tiny@0.7" and src.tagger_label == "tagger tiny"
    assert src.count_label("image") == "image-only (tagger:tiny@0.7)"
    assert src.claim_subject("fig24") == "Zero-shot accuracy with image-only counts at tagger tiny thresholds 0.5, 0.7"
    assert src.claim_subject("table6") == "Mean zero-shot accuracy (%, phrase, tagger:tiny@0.7, integrated:tiny@0.7)"
    t6 = pd.DataFrame({"count_type": ["phrase"] * 2, "bin": ["1-10", "10-100"], "mean_accuracy": [10.0, 50.0]})
    assert src.claim("table6", t6).startswith(src.claim_subject("table6") + " rises with each tenfold increase")
    assert "count_type" in src.columns("table6")
    assert src.chart_column() == "count_type" and src.chart_column(row="count_type") is None
    assert src.missing("classification") is None and "no retrieval results" in src.missing("retrieval")
    assert (
        src.missing("pretraining_correlation") == "it correlates the paper's pretraining sets; this study has 1 (web)"
    )
    with pytest.raises(SourceError, match="unknown section input 'tab4'"):
        src.missing("tab4")
    with pytest.raises(SourceError, match="no claim for output 'fig99'"):
        src.claim("fig99")
    joined, _ = src.classification(count_types=["tagger:tiny@0.7"])
    assert sorted(joined["concept"]) == ["cat", "dog", "fish"] and set(joined["variant"]) == {"tagger:tiny@0.7"}
    points = src.letitwag_points()
    assert points[["model", "n_classes"]].values.tolist() == [["tiny", 1]]
    assert points["reference_accuracy"].iloc[0] == pytest.approx(50.0) and points["gap"].iloc[0] == pytest.approx(25.0)
    assert src.letitwag_table(points) is points and src.reference_label == "reference"
    assert set(src.letitwag_tail()["set"]) == {"Let It Wag!", "study concepts"}
    assert src.counts_by_variant()["key"].tolist().count("dog") == 4  # one row per count type


@pytest.mark.skipif(not os.environ.get("WAG_PAPER_ARTIFACTS"), reason="needs the released files (WAG_PAPER_ARTIFACTS)")
def test_the_released_files_keep_the_committed_claims_and_labels():
    """The committed figures were made with these words: the released source must say exactly the same."""
    src = open_source(load_profile("ci"))
    assert isinstance(src, ReleasedSource) and src.paper_root() == src.root
    results = {  # the committed outputs' numbers: on the released files the claims still state the paper's findings
        "fig2": "3_frequency_vs_performance/fig2_fits.csv",
        "fig24": "F_tagger_threshold/fig24_fits.csv",
        "table6": "3_frequency_vs_performance/table6.csv",
        "fig6": "6_let_it_wag/fig6_data.csv",
        "table9": "6_let_it_wag/fig6_data.csv",
    }
    for output_id, path in results.items():
        claim = src.claim(output_id, pd.read_csv(ROOT / "figures" / path))
        if output_id in ("fig2", "fig24", "table6"):
            assert claim.startswith(src.claim_subject(output_id)), (output_id, claim)
        assert "does not" not in claim, (output_id, claim)
        if output_id != "table6":  # two LAION-400M rows dip from bin 0 to 1-10 (47.32 → 47.13, 60.42 → 59.42)
            assert " only" not in claim, (output_id, claim)
    assert src.claim("table6", pd.read_csv(ROOT / "figures" / results["table6"])).endswith("in 8 of 10 rows only")
    assert "for all 40 models" in src.claim("fig6", pd.read_csv(ROOT / "figures" / results["fig6"]))
    assert src.counts_label == "integrated counts" and src.tagger_label == "RAM++" and src.reference_label == "ImageNet"
    assert src.count_label("image") == "image-only (RAM++ ≥ 0.7)" and src.count_label("text").startswith("text-only")
    assert src.columns("table6") == ["pretraining", "model", "bin", "mean_accuracy", "n_concepts"]
    assert src.chart_column() == src.chart_column(row="count_type") == "pretraining"
    assert src.count_variants() == {"text": "lemmatized", "image": "rampp@0.7", "integrated": "integrated@0.7"}
    assert src.missing("letitwag") is None and src.letitwag_tail() is None


def test_study_source_gives_the_study_or_why_there_is_none(tmp_path: Path):
    from wag.sources import study_source

    src = _tiny_study(tmp_path)
    study, why = study_source(src.profile)
    assert why is None and isinstance(study, StudySource) and study.name == src.name
    none, why = study_source(load_profile("ci"))
    assert none is None and "no study: section" in why
