"""Table contracts (wag.tables): valid tables pass, each kind of breach names the table and the column."""

from __future__ import annotations

import pandas as pd
import pytest

from wag.frequency.count import VARIANTS
from wag.tables import COLUMNS, TEXT_VARIANTS, TableError, Variant, parse_variant, validate, variant_name


def _freq(**over) -> pd.DataFrame:
    df = pd.DataFrame({"concept": ["dog", "cat"], "key": ["dog", "cat"], "dataset": ["pets", "pets"], "pretraining": ["web", "web"],
                       "method": ["text", "text"], "variant": ["phrase", "phrase"], "count": [3, 0]})
    return df.assign(**over)


def _perf(**over) -> pd.DataFrame:
    df = pd.DataFrame({"concept": ["dog", "cat"], "key": ["dog", "cat"], "dataset": ["pets", "pets"], "task": ["classification"] * 2,
                       "model": ["m", "m"], "pretraining": ["web", "web"], "prompt": ["class", "class"], "metric": ["accuracy"] * 2,
                       "value": [0.5, 1.0], "n_images": [2, 2]})
    return df.assign(**over)


def test_valid_tables_pass_and_extra_columns_are_allowed():
    assert validate(_freq(), "frequencies") is not None
    assert validate(_perf(), "performance")["n_images"].tolist() == [2, 2]
    hits = pd.DataFrame({"concept": ["dog"], "sample_id": ["s0"], "method": ["text"], "variant": ["phrase"]})
    validate(hits, "hits")
    concepts = pd.DataFrame({"concept": ["dog"], "key": ["dog"], "dataset": ["pets"], "task": ["classification"], "aliases": [["dog"]]})
    validate(concepts, "concepts")
    fits = pd.DataFrame({"task": ["classification"], "pretraining": ["web"], "model": ["m"], "count_type": ["phrase"], "prompt_or_metric": ["class"],
                         "method": ["per_concept"], "rho": [0.4], "p": [0.01], "slope": [0.1], "slope_lo": [0.0], "slope_hi": [0.2], "n": [12]})
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


@pytest.mark.parametrize("kw", [{"tagger": "a@b", "threshold": 0.7}, {"tagger": "clip", "threshold": 1.5}, {"tagger": "", "threshold": 0.5}])
def test_bad_variant_parts(kw):
    with pytest.raises(TableError):
        variant_name("image", **kw)


def test_unreadable_variant():
    with pytest.raises(TableError, match="cannot read variant"):
        parse_variant("rampp@0.7")
    assert COLUMNS["frequencies"] == ["concept", "key", "dataset", "pretraining", "method", "variant", "count"]
