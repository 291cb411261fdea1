"""Compound spellings: the other ways a concept phrase is written ("t-shirt", "t shirt", "tshirt")."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

from wag.concepts.lexicon import word_lemmas
from wag.concepts.normalizer import STOPWORDS, normalize

#: Closed-class words that make a respelling ambiguous at a phrase's edge ("a-frame" is not "a frame"): the
#: stopwords of two or more letters and "a", "i", except numerals from two on ("four-poster" is "four poster").
_NUMERALS = frozenset("two three four five six seven eight nine ten eleven twelve hundred thousand million".split())
COMPOUND_EDGE_WORDS = frozenset(w for w in STOPWORDS if (len(w) > 1 or w in ("a", "i")) and w not in _NUMERALS)


def _respell_token(token: str) -> list[str]:
    """Spellings of one normalised token: as written, and for a hyphenated word its spaced and joined forms."""
    parts = token.split("-")
    if len(parts) < 2 or any(a.isdigit() and b.isdigit() for a, b in zip(parts, parts[1:])):
        return [token]  # plain word, or numbers ("737-200", "7-11"): only as written
    return [token, " ".join(parts), *(["".join(parts)] if _joinable(parts) else [])]


def _joinable(parts: Sequence[str]) -> bool:
    """A joined spelling is unambiguous when every part is alphabetic and the lexicon does not know the joined word
    ("tshirt", "icecream" yes; "football", "pineapple", "starfish" are words of their own: no)."""
    joined = "".join(parts)
    return all(p.isalpha() for p in parts) and not word_lemmas(joined)


@lru_cache(maxsize=100_000)
def compound_spellings(text: str) -> tuple[str, ...]:
    """Other spellings of a concept phrase that mean the same compound, normalised (``normalize(text)`` excluded).

    The respellings are built from the phrase's surface words (``normalize(text, lemmatize=False)``) and
    from its normalised words, then normalised like captions are: a caption keeps the first parts of a
    hyphenated word as written ("sports-car") but lemmatises every word of a spaced phrase ("sport car"),
    so "sports car" is searched as "sport car", "sports-car", "sport-car", "sportscar" and "sportcar".

    * a hyphenated word is also searched spaced and joined ("t-shirt": "t shirt", "tshirt");
    * in phrases of up to three words a space may also be a hyphen ("ice cream": "ice-cream"), and a
      two-word phrase may be joined ("icecream");
    * joined forms only when unambiguous (:func:`_joinable`: alphabetic parts, not a word the lexicon
      knows on its own); a hyphen between two numbers is never respelled ("737-200");
    * nothing is respelled when the phrase starts or ends with a closed-class word ("a-frame", "one-piece").

    So "T shirts", "t-shirts" and "tshirts" all meet "t-shirt". :func:`wag.frequency.count.build_spec` further
    leaves a joined respelling that is another concept's phrase to that concept.
    """
    key = normalize(text)
    out: dict[str, None] = {}
    for base in dict.fromkeys([normalize(text, lemmatize=False), key]):
        out.update(dict.fromkeys(_respellings(base)))
    out.pop(key, None)
    return tuple(out)


def _respellings(phrase: str) -> list[str]:
    """Normalised respellings of a space-joined token phrase (see :func:`compound_spellings`)."""
    words = phrase.split()
    parts = [p for w in words for p in w.split("-")]
    if not words or parts[0] in COMPOUND_EDGE_WORDS or parts[-1] in COMPOUND_EDGE_WORDS:
        return []
    token_forms = [_respell_token(w) for w in words]
    joints = [
        (" ", "-") if len(words) <= 3 and not (a.split("-")[-1].isdigit() and b.split("-")[0].isdigit()) else (" ",)
        for a, b in zip(words, words[1:])
    ]
    out: dict[str, None] = {}
    for choice in itertools.product(*token_forms, *joints):
        forms, seps = choice[: len(words)], choice[len(words) :]
        out[normalize("".join(f + sep for f, sep in zip(forms, (*seps, ""))))] = None
    if len(words) == 2 and "-" not in phrase and _joinable(words):
        out[normalize("".join(words))] = None
    return list(out)
