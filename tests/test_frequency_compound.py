"""Compound concepts count however they are written: hyphen, space or joined (issue 13, part 4)."""

from __future__ import annotations

import pandas as pd
import pytest

from wag.analysis.sections import frequency_demo as demo
from wag.artifacts import locate_paper_root
from wag.concepts import NORMALIZER_VERSION, compound_spellings, normalize
from wag.frequency import as_concept_table, build_spec, count_captions, match_texts
from wag.frequency.generate import write_caption_shards


def found(captions: list[str], names: list[str], variant: str = "phrase") -> list[list[str]]:
    return match_texts(captions, names, variant=variant)


def test_hyphenated_concept_matches_spaced_and_joined_forms():
    caps = [
        "red T shirts for sale",
        "two tshirts",
        "a T-Shirt",
        "T‑shirts (non-breaking hyphen)",
        "a shirt",
        "a t-bone steak",
    ]
    assert found(caps, ["T-shirt"]) == [["T-shirt"], ["T-shirt"], ["T-shirt"], ["T-shirt"], [], []]
    assert found(["an X ray of a hand", "xrays", "x-ray"], ["x-ray"]) == [["x-ray"]] * 3
    # every hyphen of a word, and words after it
    assert (
        found(["a four poster bed", "four-poster beds", "fourposter bed"], ["four-poster bed"])
        == [["four-poster bed"]] * 3
    )


def test_spaced_concept_matches_hyphenated_and_joined_forms():
    caps = ["ice-cream cone", "two ice-creams", "icecreams", "Ice Cream", "ice on the cream", "ice"]
    assert found(caps, ["ice cream"]) == [["ice cream"]] * 4 + [[], []]
    assert found(["a sea-lion", "sealions on rocks"], ["sea lion"]) == [["sea lion"]] * 2


def test_respellings_are_normalised_like_captions():
    assert compound_spellings("t-shirt") == ("t shirt", "tshirt")
    assert set(compound_spellings("ice cream")) == {"ice-cream", "icecream"}
    # captions keep the first part of a hyphenated word as written but lemmatise spaced words: both are searched
    assert normalize("sports cars") == "sport car"
    assert set(compound_spellings("sports cars")) == {"sports-car", "sport-car", "sportscar", "sportcar"}
    assert found(["sports-cars", "sport-car", "sportscars", "sports car"], ["sports car"]) == [["sports car"]] * 4
    assert compound_spellings("bed") == ()


@pytest.mark.parametrize(
    ("names", "caption", "expected"),
    [
        (["foot ball"], "a football match", []),  # joined form is a word of its own in the lexicon
        (["foot ball"], "a foot-ball", ["foot ball"]),  # the hyphenated form is still fine
        (["a-frame"], "a frame of the film", []),  # closed-class word at the edge: never respelled
        (["a-frame"], "an a-frame house", ["a-frame"]),
        (["737-200"], "boeing 737 200 and 737200", []),  # hyphen between numbers: only as written
        (["one-piece"], "one piece of cake", []),
        (["ice cream", "icecream"], "icecream", ["icecream"]),  # a joined respelling that is another concept's phrase
        (["ice cream", "icecream"], "ice-cream", ["ice cream"]),
        (["golf ball", "golf-ball"], "golf balls", ["golf ball", "golf-ball"]),  # one compound spelled two ways
        (["golf ball", "golf-ball"], "golfball", ["golf ball", "golf-ball"]),
    ],
)
def test_ambiguity_guard(names, caption, expected):
    assert found([caption], names) == [expected]


def test_only_the_phrase_variant_respells():
    table = as_concept_table(["T-shirt"])
    assert "tshirt" in build_spec(table, "phrase").alternatives[0]
    assert build_spec(table, "lowercased").alternatives[0] == ("t-shirt",)
    assert found(["tshirt"], ["T-shirt"], variant="lowercased") == [[]]


def test_normalizer_version_bumped_and_in_the_cache_key(monkeypatch):
    from wag.frequency import spec as spec_mod

    assert NORMALIZER_VERSION >= 3
    spec = build_spec(as_concept_table(["T-shirt"]), "phrase")
    current = spec.key
    monkeypatch.setattr(spec_mod, "NORMALIZER_VERSION", NORMALIZER_VERSION - 1)
    stale = spec_mod.Spec(spec.variant, spec.names, spec.alternatives)
    assert stale.key != current  # counts cached under the previous normaliser are not reused


def test_count_captions_counts_every_spelling(tmp_path):
    caps = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(6)],
            "caption": ["T shirt", "tshirts", "t-shirt", "ice-cream", "icecream", "ice cream and a T-shirt"],
        }
    )
    write_caption_shards(caps, tmp_path / "c", n_shards=2)
    res = count_captions(tmp_path / "c", ["T-shirt", "ice cream"], progress=False)
    assert res.counts.set_index("concept")["count"].to_dict() == {"T-shirt": 4, "ice cream": 3}
    # the query side (match_texts) and the counting side agree caption by caption
    by_sample = res.hits.groupby("sample_id")["concept"].apply(sorted).to_dict()
    assert [by_sample.get(s, []) for s in caps["sample_id"]] == [
        sorted(m) for m in match_texts(caps["caption"].tolist(), ["T-shirt", "ice cream"])
    ]


COMPOUNDS = [
    "T-shirt",
    "ice cream",
    "hot-tub",
    "sea lion",
    "x-ray",
    "four-poster bed",
    "bed",
    "737-200",
    "Boeing 737",
    "a-frame",
    "lily-of-the-valley",
    "fire truck",
    "truck",
    "jack-o-lantern",
    "sports car",
    "car",
]


def test_generated_corpus_precision_recall_with_compounds(tmp_path, monkeypatch):
    """The ground-truth corpus (written forms, truth computed without the normaliser) stays >= 0.999 with the rule."""
    monkeypatch.setenv("WAG_CACHE", str(tmp_path))
    from wag.frequency.generate import generate_captions

    names = COMPOUNDS + demo.made_up_names(60, seed=1)
    caps, truth = generate_captions(names, 6000, seed=3)
    write_caption_shards(caps, tmp_path / "g", n_shards=3)
    res = count_captions(tmp_path / "g", names, progress=False)
    acc = demo.accuracy({"phrase": res.hits.assign(concept=lambda d: d["concept"].astype(str))}, truth).set_index(
        "variant"
    )
    assert acc.loc["phrase", "precision"] >= 0.999 and acc.loc["phrase", "recall"] >= 0.999


def test_paper_names_corpus_precision_recall(tmp_path, monkeypatch):
    """Same on the paper's class names (the notebook's corpus), when the released files are available."""
    monkeypatch.setenv("WAG_CACHE", str(tmp_path))
    root = locate_paper_root()
    if root is None:
        pytest.skip("the paper's released files are not available (set WAG_PAPER_ARTIFACTS)")
    c = demo.generated_corpus(20_000, 300, seed=0, paper_root=root)
    _, hits = demo.counts_by_variant(c.root, c.names, ["phrase"])
    acc = demo.accuracy(hits, c.truth).set_index("variant")
    assert acc.loc["phrase", "precision"] >= 0.999 and acc.loc["phrase", "recall"] >= 0.999
