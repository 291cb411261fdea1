"""Concept lists and the one normaliser shared by queries (concept names) and indexes (captions).

Normalisation of a text (``normalize``), documented so counts can be audited:

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

Concept names are parsed by :func:`parse_concept`: a parenthesised qualifier
(``"kite (bird of prey)"``) is removed from the search phrase and kept in ``qualifier``;
``"A or B"`` names are searched as A OR B; optional aliases are ORed as well.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import regex

from wag.concepts.lexicon import word_lemmas
from wag.core.checks import read_utf8_text
from wag.core.errors import WagError, WagWarning, one_line

TASKS = ("classification", "retrieval", "t2i")
CONCEPT_COLUMNS = ["concept", "key", "dataset", "task", "aliases", "qualifier"]
#: Bumped whenever normalisation or phrase matching changes, so caches keyed by normalised text are invalidated.
#: 3: compound concepts also match their spaced / hyphenated / joined spellings (:func:`compound_spellings`).
NORMALIZER_VERSION = 3

_TOKEN = regex.compile(r"[\p{L}\p{N}\p{M}]+(?:['\-][\p{L}\p{N}\p{M}]+)*")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")  # _TOKEN on lower-case ASCII text (faster engine)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-"})
_PAREN = regex.compile(r"\s*[\(\[]([^\)\]]*)[\)\]]\s*")
_OR = regex.compile(r"\s+or\s+", regex.IGNORECASE)

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


class ConceptError(WagError, ValueError):
    """A concept list or name cannot be used (empty, unknown task, bad aliases)."""


def _fold(text: str) -> str:
    """NFKC + case fold, iterated to a fixed point (case folding can un-normalise some characters)."""
    if text.isascii():  # NFKC leaves ASCII alone, its case fold is lower(), the apostrophe map is non-ASCII
        return text.lower()
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    for _ in range(4):
        new = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
        if new == text:
            break
        text = new
    return text


@lru_cache(maxsize=200_000)
def _noun_lemma(word: str) -> str:
    """The first noun lemma of ``word`` in lemminflect's lexicon, else ``word`` (iterated to a fixed point)."""
    for _ in range(4):
        lemmas = word_lemmas(word).get("NOUN") or _plural_rule(word)
        new = lemmas[0].casefold() if lemmas else word
        if new == word or not new.isalpha():
            return word
        word = new
    return word


def _known_noun(word: str) -> bool:
    return bool(word_lemmas(word).get("NOUN"))


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
        last = _noun_lemma(last)
    return f"{head}{sep}{last}"


@lru_cache(maxsize=500_000)
def chunk_tokens(chunk: str, lemmatize: bool = True) -> tuple[str, ...]:
    """Normalised tokens of one whitespace-free chunk (the unit cached by the fast counting path)."""
    folded = _fold(chunk)
    toks = (_ASCII_TOKEN if folded.isascii() else _TOKEN).findall(folded)
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
    return " ".join(_fold(text).split())


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


@dataclass(frozen=True)
class ParsedConcept:
    """A concept name split into its search phrase(s) and an explicit qualifier."""

    name: str
    key: str
    alternatives: tuple[str, ...]
    qualifier: str = ""
    raw_alternatives: tuple[str, ...] = field(default=())


def parse_concept(name: str, aliases: Iterable[str] = ()) -> ParsedConcept:
    """Parse a concept name (cached); see :func:`_parse_concept`."""
    if not isinstance(name, str):
        raise ConceptError(f"concept name {name!r} is not text; remove it from the concept list")
    return _parse_concept(name, tuple(aliases))


@lru_cache(maxsize=100_000)
def _parse_concept(name: str, aliases: tuple[str, ...] = ()) -> ParsedConcept:
    """Parse a concept name: strip a parenthesised qualifier, split ``A or B``, add normalised aliases.

    >>> parse_concept("kite (bird of prey)").key
    'kite'
    >>> parse_concept("Sea or Lake").alternatives
    ('sea', 'lake')
    """
    if not isinstance(name, str) or not name.strip():
        raise ConceptError(f"concept name {name!r} is empty; remove it from the concept list")
    qualifiers = [q.strip() for q in _PAREN.findall(name) if q.strip()]
    head = _PAREN.sub(" ", name).strip()
    if not normalize_tokens(head):  # the whole name is a qualifier, e.g. "(none)": keep it
        head, qualifiers = name, []
    key = normalize(head)
    raw_parts = [p for p in _OR.split(head) if p.strip()]
    parts = [normalize(p) for p in raw_parts]
    alts: list[str] = []
    raws: list[str] = []
    for raw, alt in zip([*raw_parts, *aliases], [*parts, *(normalize(a) for a in aliases)], strict=True):
        if alt and alt not in alts:
            alts.append(alt)
            raws.append(raw)
    return ParsedConcept(
        name=name, key=key, alternatives=tuple(alts), qualifier="; ".join(qualifiers), raw_alternatives=tuple(raws)
    )


def concept_table(
    names: Iterable[str],
    *,
    dataset: str,
    task: str,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Build a concepts table (``concept, key, dataset, task, aliases, qualifier``).

    ``aliases`` maps a concept name to extra phrases searched with OR. The ``aliases`` column holds
    every searched phrase, normalised (``[key]`` unless the name is ``"A or B"`` or aliases were
    given). Duplicate names are merged by one rule: names equal after Unicode NFKC, case folding and
    whitespace collapsing (``"dog"``, ``"Dog"``, ``"dog "``) are one concept, kept under its first spelling
    (aliases of the later spellings join it); a :class:`~wag.core.errors.WagWarning` lists every merge.
    """
    if task not in TASKS:
        raise ConceptError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    names = list(names)
    if not names:
        raise ConceptError(f"empty concept list for dataset {dataset!r}; give at least one concept name")
    aliases = dict(aliases or {})
    unknown = set(aliases) - set(names)
    if unknown:
        raise ConceptError(f"aliases given for concepts not in the list: {sorted(unknown)[:5]}; fix the alias file")
    first: dict[str, str] = {}  # folded name -> first spelling
    merged: dict[str, list[str]] = {}  # first spelling -> every spelling (duplicates included)
    extras: dict[str, list[str]] = {}
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n.strip():
            raise ConceptError(f"concept #{i} of dataset {dataset!r} is empty ({n!r}); remove it from the list")
        keep = first.setdefault(fold_name(n), n)
        merged.setdefault(keep, []).append(n)
        extra = aliases.get(n, ())
        extras.setdefault(keep, []).extend([extra] if isinstance(extra, str) else list(extra))
    dups = {k: v for k, v in merged.items() if len(v) > 1}
    if dups:
        import warnings

        listed = "; ".join(f"{k!r} <- {', '.join(repr(x) for x in v)}" for k, v in list(dups.items())[:10])
        more = f"; ... ({len(dups)} groups)" if len(dups) > 10 else ""
        warnings.warn(
            f"concept list of dataset {dataset!r}: {sum(len(v) - 1 for v in dups.values())} duplicate or case-duplicate names "
            f"merged into their first spelling ({listed}{more}); give distinct concepts distinct names (e.g. a qualifier in parentheses)",
            WagWarning,
            stacklevel=2,
        )
    rows = []
    for n in merged:
        pc = parse_concept(n, tuple(dict.fromkeys(extras[n])))
        rows.append(
            {
                "concept": n,
                "key": pc.key,
                "dataset": dataset,
                "task": task,
                "aliases": list(pc.alternatives),
                "qualifier": pc.qualifier,
            }
        )
    return pd.DataFrame(rows, columns=CONCEPT_COLUMNS)


def fold_name(name: str) -> str:
    """The identity of a concept name for duplicate detection: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def read_concepts(path: str, *, dataset: str | None = None, task: str = "classification") -> pd.DataFrame:
    """Read a concept file: ``.txt`` (one name per line), ``.json`` (list, or name -> aliases), ``.csv``/``.parquet`` (column ``concept``)."""
    import json
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise ConceptError(
            f"concept file {p} does not exist; give a .txt (one name per line), .json, .csv or .parquet file"
        )
    ds = dataset or p.stem
    suf = p.suffix.lower()
    aliases: dict[str, list[str]] = {}
    if suf not in (".txt", ".json", ".csv", ".parquet"):
        raise ConceptError(f"concept file {p}: unknown extension {suf!r}; use .txt, .json, .csv or .parquet")
    text = read_utf8_text(p, "concept file") if suf != ".parquet" else ""
    if suf == ".txt":
        names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    elif suf == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConceptError(
                f"concept file {p} is not valid JSON: {exc}; fix it (a list of names, or an object name -> aliases)"
            ) from None
        if isinstance(obj, dict):
            names, aliases = list(obj), {k: list(v or []) for k, v in obj.items()}
        elif isinstance(obj, list):
            names = [str(x) for x in obj]
        else:
            raise ConceptError(f"concept file {p} must hold a JSON list of names or an object name -> aliases")
    elif suf in (".csv", ".parquet"):
        import io

        try:
            df = pd.read_csv(io.StringIO(text)) if suf == ".csv" else pd.read_parquet(p)
        except (ValueError, OSError) as exc:  # pandas' EmptyDataError/ParserError and Arrow errors are ValueErrors
            raise ConceptError(
                f"concept file {p} cannot be read as {suf[1:]} ({type(exc).__name__}: {one_line(str(exc))[:200]}); fix or re-export it"
            ) from None
        if "concept" not in df.columns:
            raise ConceptError(
                f"concept file {p} has no 'concept' column (columns: {', '.join(map(str, df.columns))}); name the column of concept names 'concept'"
            )
        if {"key", "dataset", "task", "aliases"} <= set(df.columns):
            return df
        names = [str(x) for x in df["concept"].tolist()]
    else:
        raise ConceptError(f"concept file {p}: unknown extension {suf!r}; use .txt, .json, .csv or .parquet")
    if not names:
        raise ConceptError(
            f"concept file {p} holds no concept names; put one concept name per line (.txt) or a list (.json)"
        )
    return concept_table(names, dataset=ds, task=task, aliases=aliases)


# ---------------------------------------------------------------------------------------------
# Nouns (offline heuristic on lemminflect, or spaCy when an English model is installed)
# ---------------------------------------------------------------------------------------------

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
    w = _fold(word)
    if w in STOPWORDS or len(w) < 2 or not w.replace("-", "").replace("'", "").isalpha():
        return None
    readings = word_lemmas(w)
    if "NOUN" in readings:
        lemma = _noun_lemma(w)
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


def released_concepts(root: str, *, datasets: Iterable[str] | None = None) -> pd.DataFrame:
    """Concept tables of the paper's downstream sets, with the exact strings of its released evaluation files.

    Classification: class names of ``zero_shot_evaluations/<ds>_class_results.json`` (CIFAR-10's
    "plane" renamed "airplane" and ImageNet-R's underscores replaced, as the paper's search did);
    retrieval: ``retrieval_evaluations/<coco|flickr>_i2t_k=1_results.json`` concepts (empty name
    dropped); T2I: ``t2i_evaluations/t2i_human_aesthetics.json`` concepts.
    """
    import json
    from pathlib import Path

    r = Path(root)
    if not (r / "zero_shot_evaluations").is_dir():
        raise ConceptError(
            f"{r} is not the paper's released files folder (no zero_shot_evaluations/); see wag.artifacts.paper_root"
        )
    want = set(datasets) if datasets is not None else None
    tables = []

    def first_model(path: Path, key: str) -> list[str]:
        d = json.loads(path.read_text(encoding="utf-8"))
        return list(next(iter(d.values()))[key].keys())

    for f in sorted((r / "zero_shot_evaluations").glob("*_class_results.json")):
        ds = f.name[: -len("_class_results.json")]
        if want is not None and ds not in want:
            continue
        names = first_model(f, "classwise")
        if ds == "cifar10" and names and names[0] == "plane":
            names[0] = "airplane"
        if ds == "imagenet-r":
            names = [n.replace("_", " ") for n in names]
        tables.append(concept_table(names, dataset=ds, task="classification"))
    for ds in ("coco", "flickr"):
        f = r / "retrieval_evaluations" / f"{ds}_i2t_k=1_results.json"
        if f.is_file() and (want is None or ds in want):
            tables.append(
                concept_table([n for n in first_model(f, "conceptwise") if n.strip()], dataset=ds, task="retrieval")
            )
    f = r / "t2i_evaluations" / "t2i_human_aesthetics.json"
    if f.is_file() and (want is None or "t2i" in want):
        tables.append(concept_table([n for n in first_model(f, "classwise") if n.strip()], dataset="t2i", task="t2i"))
    if not tables:
        raise ConceptError(f"no concept lists found in {r} for datasets {sorted(want or [])}")
    return pd.concat(tables, ignore_index=True)
