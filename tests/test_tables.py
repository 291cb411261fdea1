"""Table contracts (wag.core.tables): valid tables pass, each kind of breach names the table and the column."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from wag.core.tables import COLUMNS, TEXT_VARIANTS, TableError, Variant, parse_variant, validate, variant_name
from wag.frequency import VARIANTS


def _freq(**over) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "concept": ["dog", "cat"],
            "key": ["dog", "cat"],
            "dataset": ["pets", "pets"],
            "pretraining": ["web", "web"],
            "method": ["text", "text"],
            "variant": ["phrase", "phrase"],
            "count": [3, 0],
        }
    )
    return df.assign(**over)


def _perf(**over) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "concept": ["dog", "cat"],
            "key": ["dog", "cat"],
            "dataset": ["pets", "pets"],
            "task": ["classification"] * 2,
            "model": ["m", "m"],
            "pretraining": ["web", "web"],
            "prompt": ["class", "class"],
            "metric": ["accuracy"] * 2,
            "value": [0.5, 1.0],
            "n_images": [2, 2],
        }
    )
    return df.assign(**over)


def test_valid_tables_pass_and_extra_columns_are_allowed():
    assert validate(_freq(), "frequencies") is not None
    assert validate(_perf(), "performance")["n_images"].tolist() == [2, 2]
    hits = pd.DataFrame({"concept": ["dog"], "sample_id": ["s0"], "method": ["text"], "variant": ["phrase"]})
    validate(hits, "hits")
    concepts = pd.DataFrame(
        {"concept": ["dog"], "key": ["dog"], "dataset": ["pets"], "task": ["classification"], "aliases": [["dog"]]}
    )
    validate(concepts, "concepts")
    fits = pd.DataFrame(
        {
            "task": ["classification"],
            "pretraining": ["web"],
            "model": ["m"],
            "count_type": ["phrase"],
            "prompt_or_metric": ["class"],
            "method": ["per_concept"],
            "rho": [0.4],
            "p": [0.01],
            "slope": [0.1],
            "slope_lo": [0.0],
            "slope_hi": [0.2],
            "n": [12],
        }
    )
    validate(fits, "fits")


@pytest.mark.parametrize(
    ("table", "df", "column"),
    [
        ("frequencies", _freq(count=[-1, 2]), "count"),
        ("frequencies", _freq(method=["txt", "text"]), "method"),
        ("frequencies", _freq().drop(columns="key"), "key"),
        ("performance", _perf(value=[0.5, 50.0]), "value"),
        ("performance", _perf(task=["zero-shot", "classification"]), "task"),
        ("frequencies", _freq(concept=["dog", ""]), "concept"),
    ],
)
def test_breach_names_table_and_column(table, df, column):
    with pytest.raises(TableError, match=rf"'{table}'.*{column}"):
        validate(df, table)


def test_repeated_key_is_an_error_even_with_a_repeated_index():
    df = pd.concat([_freq(), _freq()])  # index 0, 1, 0, 1
    with pytest.raises(TableError, match=r"'frequencies' has 4 rows that repeat the key"):
        validate(df, "frequencies")


def test_unknown_table():
    with pytest.raises(TableError, match="unknown table contract"):
        validate(_freq(), "freqs")


def test_text_variants_match_the_engine():
    assert TEXT_VARIANTS == VARIANTS


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("text",), "phrase"),
        (("text", {"text": "paper_lemmatized"}), "paper_lemmatized"),
        (("image", {"tagger": "rampp", "threshold": 0.7}), "tagger:rampp@0.7"),
        (("integrated", {"tagger": "clip-b32", "threshold": 0.55}), "integrated:clip-b32@0.55"),
    ],
)
def test_variant_names_round_trip(args, name):
    method, kw = args[0], (args[1] if len(args) > 1 else {})
    assert variant_name(method, **kw) == name
    v = parse_variant(name)
    assert v.method == method
    if method != "text":
        assert (v.tagger, v.threshold) == (kw["tagger"], kw["threshold"])
    else:
        assert v == Variant("text", text=name)


@pytest.mark.parametrize(
    "kw", [{"tagger": "a@b", "threshold": 0.7}, {"tagger": "clip", "threshold": 1.5}, {"tagger": "", "threshold": 0.5}]
)
def test_bad_variant_parts(kw):
    with pytest.raises(TableError):
        variant_name("image", **kw)


def test_unreadable_variant():
    with pytest.raises(TableError, match="cannot read variant"):
        parse_variant("rampp@0.7")
    assert COLUMNS["frequencies"] == ["concept", "key", "dataset", "pretraining", "method", "variant", "count"]


def _t2i(metric: str, value: float, task: str = "t2i") -> pd.DataFrame:
    return _perf().iloc[:1].assign(task=task, dataset="t2i", prompt="a photo of {c}", metric=metric, value=value)


@pytest.mark.parametrize(
    ("metric", "task", "value"),
    [
        ("exp_clipscore", "t2i", 31.2),
        ("max_clipscore", "t2i", 100.0),
        ("exp_aesthetics", "t2i", 6.4),
        ("human_align", "t2i", 4.5),
        ("exp_psnr", "t2i", 12.0),
        ("exp_uiqi", "t2i", -0.05),
        ("judged_accuracy", "t2i", 0.75),
        ("recall@5", "retrieval", 1.0),
    ],
)
def test_values_on_their_metrics_scale_pass(metric, task, value):
    assert validate(_t2i(metric, value, task), "performance")["value"].tolist() == [value]


@pytest.mark.parametrize(
    ("metric", "task", "value"),
    [
        ("recall@1", "retrieval", 1.3),
        ("accuracy", "classification", -0.1),
        ("judged_accuracy", "t2i", 1.2),
        ("accuracy", "t2i", 7.0),
        ("exp_clipscore", "t2i", 131.0),
        ("max_clipscore", "t2i", -1.0),
        ("exp_aesthetics", "t2i", float("inf")),
        ("some_score", "retrieval", 3.0),
    ],
)
def test_values_off_their_metrics_scale_are_refused(metric, task, value):
    with pytest.raises(
        TableError,
        match=rf"'performance'.*metric={re.escape(metric)} task={task} value={value}.*out of its metric's range",
    ):
        validate(_t2i(metric, value, task), "performance")


def test_a_recall_above_one_is_refused_at_write_and_a_clipscore_is_written(tmp_path):
    from wag.study.context import write_table

    bad = _perf().assign(task="retrieval", dataset="coco", prompt="t2i", metric="recall@1", value=[0.4, 1.3])
    with pytest.raises(TableError, match=r"recall@1.*1\.3"):
        write_table(tmp_path / "recall.parquet", bad, "performance")
    assert not (tmp_path / "recall.parquet").exists()
    ok = _perf().assign(
        task="t2i", dataset="t2i", prompt="a photo of a {c}.", metric="exp_clipscore", value=[31.2, 28.0]
    )
    written = write_table(tmp_path / "t2i.parquet", ok, "performance")
    assert pd.read_parquet(written)["value"].tolist() == [31.2, 28.0]


def test_metric_ranges():
    from wag.core.tables import metric_range

    assert metric_range("recall@10", "retrieval") == metric_range("judged_accuracy", "t2i") == (0.0, 1.0)
    assert metric_range("exp_clipscore", "t2i") == (0.0, 100.0)
    assert metric_range("exp_aesthetics", "t2i")[1] == float("inf")
