"""Concepts: the one normaliser shared by concept names and captions, compound spellings, concept tables,
noun extraction and the paper's own concept lists.

Modules, one job each: :mod:`~wag.concepts.normalizer` (tokens, folding, lemmas), :mod:`~wag.concepts.spellings`
(compound respellings), :mod:`~wag.concepts.table` (parse names, :func:`concept_table`, :func:`read_concepts`),
:mod:`~wag.concepts.nouns` (:func:`extract_nouns`, spaCy or lemminflect), :mod:`~wag.concepts.released`
(:func:`released_concepts`), :mod:`~wag.concepts.lexicon` (lemminflect's lexicon read by Arrow).
"""

from wag.concepts.errors import ConceptError
from wag.concepts.normalizer import (
    NORMALIZER_VERSION,
    STOPWORDS,
    chunk_tokens,
    fold,
    normalize,
    normalize_token,
    normalize_tokens,
    word_lemma,
)
from wag.concepts.nouns import extract_nouns, noun_lemma
from wag.concepts.released import released_concepts
from wag.concepts.spellings import COMPOUND_EDGE_WORDS, compound_spellings
from wag.concepts.table import (
    CONCEPT_COLUMNS,
    TASKS,
    ParsedConcept,
    concept_table,
    fold_name,
    parse_concept,
    read_concepts,
)

__all__ = [
    "COMPOUND_EDGE_WORDS",
    "CONCEPT_COLUMNS",
    "NORMALIZER_VERSION",
    "STOPWORDS",
    "TASKS",
    "ConceptError",
    "ParsedConcept",
    "chunk_tokens",
    "compound_spellings",
    "concept_table",
    "extract_nouns",
    "fold",
    "fold_name",
    "normalize",
    "normalize_token",
    "normalize_tokens",
    "noun_lemma",
    "parse_concept",
    "read_concepts",
    "released_concepts",
    "word_lemma",
]
