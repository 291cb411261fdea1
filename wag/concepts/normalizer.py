"""The one normaliser shared by queries (concept names) and indexes (captions).

Normalisation of a text (:func:`normalize`), documented so counts can be audited:

1. the text is split on whitespace (the same split the fast Arrow path uses);
2. each chunk is Unicode-NFKC normalised and case-folded;
3. tokens are runs of letters, digits and combining marks, joined by inner hyphens or apostrophes
   (``"737-200"``, ``"t-shirt"``, ``"four-poster"``, ``"o'clock"`` stay one token); every other
   character (punctuation, ``_``, brackets, slashes) separates tokens;
4. a trailing possessive ``'s`` is removed and the (last part of the) token is mapped to its noun
   lemma from lemminflect's lexicon (``dogs -> dog``, ``men -> man``, ``t-shirts -> t-shirt``);
   words unknown to the lexicon, numbers and adjectives are kept as they are (never dropped).

A text with visible characters but no token (e.g. ``"!!!"``) normalises to its NFKC, case-folded,
whitespace-collapsed self, so a non-empty concept never becomes the empty string.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import regex

from wag.concepts.lexicon import word_lemmas

#: Bumped whenever normalisation or phrase matching changes, so caches keyed by normalised text are invalidated.
#: 3: compound concepts also match their spaced / hyphenated / joined spellings
#: (:func:`wag.concepts.spellings.compound_spellings`).
NORMALIZER_VERSION = 3

#: A token: letters, digits and combining marks, joined by inner hyphens or apostrophes.
TOKEN_RE = regex.compile(r"[\p{L}\p{N}\p{M}]+(?:['\-][\p{L}\p{N}\p{M}]+)*")
#: :data:`TOKEN_RE` on lower-case ASCII text (a faster engine, same tokens).
ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-"})

#: Closed-class English words that are never nouns (used by the offline noun heuristic).
STOPWORDS = frozenset(
    """a an the this that these those my your his her its our their some any no every each all both either
    neither much many more most few less least other another such what which who whom whose whichever
    whatever i me you he him she it we us they them myself yourself himself herself itself ourselves
    themselves mine yours hers ours theirs one ones and or nor but yet so for if then than because as
    while when where whereas although though unless until whether of in on at by to from with without
    into onto upon over under above below between among through during before after about against
    along around across behind beyond near off out up down inside outside within via per like unlike
    is am are was were be been being has have had having do does did doing done can could may might
    must shall should will would not no nor very too also just only even still already again ever
    never always often here there now how why s t don won isn aren wasn weren
    two three four five six seven eight nine ten eleven twelve hundred thousand million first second""".split()
)


def fold(text: str) -> str:
    """NFKC + case fold, iterated to a fixed point (case folding can un-normalise some characters)."""
    if text.isascii():  # NFKC leaves ASCII alone, its case fold is lower(), the apostrophe map is non-ASCII
        return text.lower()
    return fold_unicode(text)


def fold_unicode(text: str) -> str:
    """:func:`fold` without the ASCII shortcut (the reference the shortcut is tested against)."""
    for _ in range(4):
        new = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
        if new == text:
            break
        text = new
    return text


@lru_cache(maxsize=200_000)
def word_lemma(word: str) -> str:
    """The first noun lemma of ``word`` in lemminflect's lexicon, else ``word`` (iterated to a fixed point)."""
    for _ in range(4):
        lemmas = word_lemmas(word).get("NOUN") or _plural_rule(word)
        new = lemmas[0].casefold() if lemmas else word
        if new == word or not new.isalpha():
            return word
        word = new
    return word


def _plural_rule(word: str) -> tuple[str, ...]:
    """Singular of a plural the lexicon lacks as a noun (``()``: leave the word as it is).

    * A word lemminflect does not know at all (borrowings, names, abbreviations) of 3+ letters
      ending in a single "s" is singularised by English spelling: -ies → -y ("fritillaries"); -xes,
      -zes, -ches, -shes drop "es" ("ketches"); -us drops "s" only after a vowel ("maus"; "lotus"
      stays); any other drops "s" ("sombreros", "cannolis", "buttes", "cds").
    * A word known only as another part of speech ("bars" is only a verb there) of 4+ letters ending
      in a plural "s" (not -ss, -us, -is, -as, -os, which end many singular words) becomes the first
      of -ies→-y, -es→"", -s→"" that lemminflect knows, else the suffix rule (-sses, -xes, -shes,
      -zes drop "es"; others drop "s"). Other known words ("thus", "has") stay.

    Queries and captions share this rule, so a singular that merely looks plural maps to the same
    key on both sides; only plurals go unmatched when the rule leaves them alone.
    """
    if len(word) < 3 or not word.endswith("s") or word.endswith("ss"):
        return ()
    if not word_lemmas(word):
        if word.endswith("ies") and len(word) > 4:
            return (word[:-3] + "y",)
        if word.endswith(("xes", "zes", "ches", "shes")):
            return (word[:-2],)
        if word.endswith("us"):
            return (word[:-1],) if word[-3] in "aeiou" else ()
        return (word[:-1],)
    if len(word) < 4 or word.endswith(("us", "is", "as", "os")):
        return ()
    cands = (
        ([word[:-3] + "y"] if word.endswith("ies") else []) + ([word[:-2]] if word.endswith("es") else []) + [word[:-1]]
    )
    for c in cands:
        if word_lemmas(c):
            return (c,)
    if word.endswith(("sses", "xes", "shes", "zes")):
        return (word[:-2],)
    return (word[:-1],)


def normalize_token(token: str) -> str:
    """Normalise one (already case-folded) token: drop a possessive 's, lemmatise its last hyphen part."""
    while token.endswith("'s") and len(token) > 2:
        token = token[:-2]
    head, sep, last = token.rpartition("-")
    if last.isalpha():
        last = word_lemma(last)
    return f"{head}{sep}{last}"


@lru_cache(maxsize=500_000)
def chunk_tokens(chunk: str, lemmatize: bool = True) -> tuple[str, ...]:
    """Normalised tokens of one whitespace-free chunk (the unit cached by the fast counting path)."""
    folded = fold(chunk)
    toks = (ASCII_TOKEN_RE if folded.isascii() else TOKEN_RE).findall(folded)
    if lemmatize:
        return tuple(normalize_token(t) for t in toks)
    return tuple(toks)


def normalize_tokens(text: str, *, lemmatize: bool = True) -> list[str]:
    """The normalised token sequence of ``text`` (see the module docstring)."""
    if not isinstance(text, str):
        return []
    out: list[str] = []
    for chunk in text.split():
        out.extend(chunk_tokens(chunk, lemmatize))
    return out


def normalize(text: str, *, lemmatize: bool = True) -> str:
    """Normalise a concept name or caption to space-joined tokens; never empty for visible text."""
    toks = normalize_tokens(text, lemmatize=lemmatize)
    if toks:
        return " ".join(toks)
    if not isinstance(text, str):
        return ""
    return " ".join(fold(text).split())
