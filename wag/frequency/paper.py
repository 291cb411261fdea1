"""A faithful re-implementation of the paper's text search, defects included (offline, no spaCy model).

The official code (bethgelab/frequency_determines_performance, ``src/text_search_*``) does:

* index: for every caption, the spaCy NOUN/PROPN tokens' ``lemma_`` with every character outside
  ``[A-Za-z ]`` deleted (so digits, accents and hyphen parts vanish; proper nouns keep their case),
  as an inverted unigram index ``key -> caption ids``;
* query: ``re.split(r'[_\\s]+', name.lower())``, each term replaced by the lemma of the *last*
  spaCy token of the term lemmatised out of context (``lowercased`` method: the term itself);
* search: terms missing from the index are silently dropped; the count is the size of the
  intersection of the remaining posting lists (0 if none remain). "A or B" is read as A AND or AND B.

Offline stand-ins for spaCy (documented approximations): tokens split like spaCy on punctuation and
on hyphens between letters; a token is a noun if lemminflect knows a NOUN reading (lemma = first
noun lemma, lower case), a proper noun if it is capitalised and unknown to lemminflect (kept as is),
and an unknown lower-case word is a noun. Query terms take the NOUN, else VERB, else ADJ lemma.
"""

from __future__ import annotations

import re
from functools import lru_cache

from wag.concepts import STOPWORDS
from wag.concepts.lexicon import word_lemmas

_SPACY_LIKE = re.compile(r"[A-Za-z\u00c0-\uffff]+(?:'[a-z]+)?|\d+(?:[.,:/-]\d+)*|[^\sA-Za-z\d\u00c0-\uffff]")
_NON_LETTERS = re.compile(r"[^A-Za-z ]")


def spacy_like_tokens(text: str) -> list[str]:
    """Tokens split roughly as spaCy's English tokenizer would (punctuation and letter-hyphen-letter split)."""
    return _SPACY_LIKE.findall(text)


@lru_cache(maxsize=200_000)
def _index_lemma(token: str) -> str | None:
    """The index key of one token, or None when it is not a NOUN/PROPN (see module docstring)."""
    if not any(c.isalpha() for c in token):
        return None
    low = token.lower()
    if low in STOPWORDS:
        return None
    readings = word_lemmas(low)
    if "NOUN" in readings:
        lemma = readings["NOUN"][0].lower()
    elif readings:
        return None
    elif token[:1].isupper():
        lemma = token  # PROPN: spaCy keeps the surface form and its case
    else:
        lemma = low
    return _NON_LETTERS.sub("", lemma)


@lru_cache(maxsize=500_000)
def paper_index_keys(chunk: str) -> tuple[str, ...]:
    """Index keys (distinct, first-seen order) that one whitespace chunk contributes to the caption."""
    out: list[str] = []
    for tok in spacy_like_tokens(chunk):
        key = _index_lemma(tok)
        if key is not None and key not in out:
            out.append(key)
    return tuple(out)


@lru_cache(maxsize=100_000)
def _query_lemma(term: str) -> str:
    toks = spacy_like_tokens(term)
    if not toks:
        return term
    last = toks[-1]  # the paper's dict comprehension keeps the lemma of the last token of the term
    readings = word_lemmas(last)
    for pos in ("NOUN", "VERB", "ADJ", "ADV"):
        if pos in readings:
            return readings[pos][0]
    return last


def paper_query_terms(name: str, *, lemmatize: bool = True) -> list[str]:
    """The search terms the paper derives from a concept name (before dropping terms absent from the index)."""
    terms = [t for t in re.split(r"[_\s]+", name.lower()) if t]
    if not lemmatize:
        return terms
    return [_query_lemma(t) for t in terms]
