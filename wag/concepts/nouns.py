"""Nouns of captions or prompts: an offline heuristic on lemminflect's lexicon, or spaCy when an English model
is installed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import pandas as pd
import regex

from wag.concepts.errors import ConceptError
from wag.concepts.lexicon import word_lemmas
from wag.concepts.normalizer import STOPWORDS, fold, word_lemma

_WORD = regex.compile(r"[\p{L}]+(?:['\-][\p{L}]+)*")


@lru_cache(maxsize=200_000)
def noun_lemma(word: str) -> str | None:
    """Offline, context-free noun test and lemma (documented heuristic, no tagger needed).

    A word is a noun if lemminflect's lexicon lists a NOUN reading for it (lemma = first noun lemma),
    or if it is unknown to the lexicon, alphabetic, at least 2 letters and not a closed-class word
    (names, brands, rare nouns: kept as they are). Function words, number words and singular words
    with an adjective reading ("red", "light") are never nouns. Unlike spaCy it
    ignores context ("a running dog": "running" counts as a noun too).
    """
    w = fold(word)
    if w in STOPWORDS or len(w) < 2 or not w.replace("-", "").replace("'", "").isalpha():
        return None
    readings = word_lemmas(w)
    if "NOUN" in readings:
        lemma = word_lemma(w)
        if "ADJ" in readings and lemma == w:  # "red", "light": read as the adjective unless plural
            return None
        return lemma
    if readings:  # known, but only as verb / adjective / adverb
        return None
    return w


def _spacy_nlp():
    try:
        import spacy

        for model in ("en_core_web_sm", "en_core_web_md", "en_core_web_lg"):
            try:
                return spacy.load(model, disable=["ner", "parser"])
            except OSError:
                continue
    except ImportError:
        pass
    return None


def extract_nouns(texts: Iterable[str], min_samples: int = 10, *, method: str = "auto") -> pd.DataFrame:
    """Nouns (lemmas) of captions or prompts found in at least ``min_samples`` texts.

    ``method``: ``"spacy"`` (the paper's tool: NOUN/PROPN lemmas; needs an installed English model),
    ``"lemminflect"`` (offline heuristic, see :func:`noun_lemma`), or ``"auto"`` (spaCy if a model is
    installed, else lemminflect). Returns ``noun, n_samples, method`` sorted by count then noun.
    """
    if method not in ("auto", "spacy", "lemminflect"):
        raise ConceptError(f"unknown noun method {method!r}; use auto, spacy or lemminflect")
    if min_samples < 1:
        raise ConceptError(f"min_samples must be >= 1 (got {min_samples})")
    nlp = _spacy_nlp() if method in ("auto", "spacy") else None
    if method == "spacy" and nlp is None:
        raise ConceptError(
            "method='spacy' needs spaCy and an English model: pip install spacy && python -m spacy download en_core_web_sm"
        )
    used = "spacy" if nlp is not None else "lemminflect"
    counts: Counter[str] = Counter()
    texts = [t if isinstance(t, str) else "" for t in texts]
    if nlp is not None:
        for doc in nlp.pipe(texts, batch_size=256):
            counts.update({tok.lemma_.lower() for tok in doc if tok.pos_ in ("NOUN", "PROPN")})
    else:
        for t in texts:
            counts.update({n for w in _WORD.findall(t) if (n := noun_lemma(w))})
    rows = [(n, c) for n, c in counts.items() if c >= min_samples]
    df = pd.DataFrame(rows, columns=["noun", "n_samples"]).sort_values(
        ["n_samples", "noun"], ascending=[False, True], ignore_index=True
    )
    df["method"] = used
    return df
