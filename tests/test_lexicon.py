"""The fast lexicon equals lemminflect's own lookup."""

from __future__ import annotations

import lemminflect

from wag.concepts.lexicon import lexicon_words, word_lemmas


def test_word_lemmas_equal_lemminflect_over_the_whole_lexicon():
    words = [*lexicon_words(), "xyzzy", "cannolis", "737", "t-shirts", "", "é", "Dogs", "OK", "Cyclopes"]
    assert len(words) > 60_000
    mismatches = [w for w in words if dict(word_lemmas(w)) != lemminflect.getAllLemmas(w)]
    assert mismatches == []
    assert word_lemmas("dogs")["NOUN"] == ("dog",)
