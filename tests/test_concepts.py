"""The one normaliser, concept parsing, concept tables and noun extraction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wag.concepts import (
    ConceptError,
    concept_table,
    extract_nouns,
    normalize,
    normalize_tokens,
    parse_concept,
    read_concepts,
)
from wag.frequency.encode import Encoder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Four-poster bed", "four-poster bed"),
        ("737-200", "737-200"),
        ("T-Shirts", "t-shirt"),
        ("Dogs", "dog"),
        ("MEN'S shoes", "man shoe"),
        ("golden_retriever", "golden retriever"),
        ("CAFÉ ﬁlm", "café film"),  # NFKC (ligature) + case folding, accents kept
        ("Ｔｅｓｔ", "test"),  # full-width letters
        ("red car!", "red car"),  # adjectives kept, punctuation dropped
        ("t\u2011shirt", "t-shirt"),  # non-breaking hyphen
        ("!!!", "!!!"),  # never empty for visible text
        ("", ""),
    ],
)
def test_normalize_examples(text, expected):
    assert normalize(text) == expected


def test_plural_and_singular_meet():
    assert normalize("beds") == normalize("bed") == "bed"
    assert normalize("cities") == normalize("city")
    assert normalize("bars") == normalize("bar")  # lemminflect's lexicon lacks the noun "bar": suffix rule


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("sombreros", "sombrero"),
        ("cannolis", "cannoli"),
        ("gauras", "gaura"),
        ("bonsais", "bonsai"),
        ("cds", "cd"),
        ("maus", "mau"),
        ("buttes", "butte"),
        ("grilles", "grille"),
        ("fritillaries", "fritillary"),
        ("ketches", "ketch"),
        ("yo-yos", "yo-yo"),
        ("Egyptian Maus", "Egyptian Mau"),
        ("crevasses", "crevasse"),
        ("siameses", "siamese"),
    ],
)
def test_plurals_of_words_the_lexicon_lacks(plural, singular):
    """Borrowed and rare nouns (Food-101, Flowers, ImageNet names) meet their plurals: recall on the paper's names."""
    assert normalize(plural) == normalize(singular)


@pytest.mark.parametrize("word", ["lotus", "thus", "has", "was", "gas", "bus", "its", "this", "tennis", "us", "lens"])
def test_singulars_that_end_in_s_stay(word):
    assert normalize(word) == word


def test_parse_concept_or_qualifier_aliases():
    assert parse_concept("Sea or Lake").alternatives == ("sea", "lake")
    kite = parse_concept("kite (bird of prey)")
    assert (kite.key, kite.qualifier, kite.alternatives) == ("kite", "bird of prey", ("kite",))
    assert parse_concept("sofa", ["couch", "Sofas"]).alternatives == ("sofa", "couch")
    assert parse_concept("(none)").key == "none"  # a name that is only a qualifier is kept
    with pytest.raises(ConceptError, match="empty"):
        parse_concept("  ")


def test_concept_table_contract_and_errors(tmp_path):
    with pytest.warns(UserWarning, match="'bed' <- 'bed', 'bed'"):  # merged, and said so (wag.core.errors.WagWarning)
        df = concept_table(
            ["Sea or Lake", "bed", "bed", "T-shirt"], dataset="x", task="classification", aliases={"bed": ["cot"]}
        )
    assert list(df.columns[:5]) == ["concept", "key", "dataset", "task", "aliases"]
    assert df["concept"].tolist() == ["Sea or Lake", "bed", "T-shirt"]  # duplicate dropped
    assert df.set_index("concept").loc["bed", "aliases"] == ["bed", "cot"]
    with pytest.raises(ConceptError, match="empty concept list"):
        concept_table([], dataset="x", task="classification")
    with pytest.raises(ConceptError, match="unknown task"):
        concept_table(["a"], dataset="x", task="segmentation")
    with pytest.raises(ConceptError, match="not in the list"):
        concept_table(["a"], dataset="x", task="t2i", aliases={"b": ["c"]})
    f = tmp_path / "c.txt"
    f.write_text("dog\n# comment\n\ncat\n")
    assert read_concepts(str(f))["concept"].tolist() == ["dog", "cat"]
    with pytest.raises(ConceptError, match="does not exist"):
        read_concepts(str(tmp_path / "missing.txt"))


def test_extract_nouns_offline():
    texts = ["Two dogs on a red bed", "a dog sleeping", "the dogs and a cat", "a cat"]
    df = extract_nouns(texts, min_samples=2, method="lemminflect")
    assert df["noun"].tolist() == ["dog", "cat"]
    assert df["n_samples"].tolist() == [3, 2]
    assert "red" not in set(extract_nouns(texts, 1, method="lemminflect")["noun"])  # adjective only
    with pytest.raises(ConceptError, match="spaCy"):
        import importlib.util

        if importlib.util.find_spec("spacy") is not None:
            pytest.skip("spaCy installed")
        extract_nouns(texts, 1, method="spacy")


text_st = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
word_st = st.text(
    st.characters(whitelist_categories=("Lu", "Ll", "Nd", "Pd", "Po", "Zs", "Mn")), min_size=1, max_size=25
)


@settings(max_examples=300, deadline=None)
@given(text_st)
def test_normalize_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(word_st)
def test_normalize_never_empties_a_concept(text):
    if text.strip():
        assert normalize(text) != ""


@settings(max_examples=200, deadline=None)
@given(st.lists(text_st, min_size=1, max_size=5))
def test_normalize_order_stable(texts):
    """The result of a text does not depend on which texts were normalised before (caches are pure)."""
    forward = [normalize(t) for t in texts]
    backward = [normalize(t) for t in reversed(texts)][::-1]
    assert forward == backward
    assert normalize_tokens(" ".join(texts)) == [tok for t in texts for tok in normalize_tokens(t)]  # token order kept


@settings(max_examples=200, deadline=None)
@given(st.lists(text_st, min_size=1, max_size=6))
def test_fast_arrow_path_equals_normaliser(texts):
    """The vectorised caption tokenisation gives exactly normalize_tokens() for every caption."""
    enc = Encoder()
    ids, offsets = enc.encode(texts)
    inv = {i: t for t, i in enc.vocab.items()}
    for k, t in enumerate(texts):
        assert [inv[i] for i in ids[offsets[k] : offsets[k + 1]]] == normalize_tokens(t)


def test_released_concepts_use_the_paper_strings():
    import os

    root = os.environ.get("WAG_PAPER_ARTIFACTS")
    if not root or not os.path.isdir(root):
        pytest.skip("released files not available")
    from wag.concepts import released_concepts

    df = released_concepts(root, datasets=["cifar10", "eurosat", "fgvcaircraft", "coco"])
    assert set(df["task"]) == {"classification", "retrieval"}
    c10 = df[df["dataset"] == "cifar10"]["concept"].tolist()
    assert c10[0] == "airplane" and len(c10) == 10
    euro = df[df["dataset"] == "eurosat"].set_index("concept")
    assert euro.loc["Sea or Lake", "aliases"] == ["sea", "lake"]
    assert "737-200" in set(df["key"])
    assert "" not in set(df[df["dataset"] == "coco"]["concept"])
    with pytest.raises(ConceptError, match="released files"):
        released_concepts("/nonexistent")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=list("aBz9-'’(),.!?<=>_/ \t\u0338\u0301\u00e9\u00a0ﬁＡ"), max_size=20), min_size=1, max_size=5
    )
)
def test_fast_path_equals_normaliser_on_punctuation(texts):
    """Canonicalising ASCII case/punctuation in Arrow never changes tokens (incl. < = > + combining marks)."""
    enc = Encoder()
    ids, offsets = enc.encode(texts)
    inv = {i: t for t, i in enc.vocab.items()}
    for k, t in enumerate(texts):
        assert [inv[i] for i in ids[offsets[k] : offsets[k + 1]]] == normalize_tokens(t)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
@settings(max_examples=400, deadline=None)
def test_ascii_fast_path_equals_unicode_path(text):
    """ASCII text skips NFKC and the Unicode regex: same folding and the same tokens."""
    from wag.concepts.normalizer import ASCII_TOKEN_RE, TOKEN_RE, fold, fold_unicode

    assert fold(text) == fold_unicode(text)
    assert ASCII_TOKEN_RE.findall(fold(text)) == TOKEN_RE.findall(fold_unicode(text))
