"""What each count variant searches for every concept: the variants, the concept table, the per-variant spec.

Variants (``variant=``):

* ``phrase`` (ours, default): the normalised concept (``wag.concepts.normalize``) as a contiguous
  token sequence of the normalised caption; OR over "A or B" parts and aliases, plus the concept's
  unambiguous compound respellings (``wag.concepts.compound_spellings``).
* ``lowercased``: the same phrase search without lemmatisation (surface forms, case-folded).
* ``paper_lemmatized`` / ``paper_lowercased``: the paper's noun-lemma AND search
  (:mod:`wag.frequency.paper`), including dropping query words that are absent from the index;
  ``paper_lemmatized_chunked``: its sharded-index code path (LAION), which drops every query word
  whose raw lower-cased form is not an index key (so "T-shirt" and "four-poster" vanish).

A :class:`Spec` (:func:`build_spec`) is the unique concept names of a job and, per name, the alternatives its
variant searches; its :attr:`Spec.key` (with the normaliser version) keys every engine and per-shard result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from wag.concepts import (
    NORMALIZER_VERSION,
    ConceptError,
    compound_spellings,
    concept_table,
    normalize,
    parse_concept,
    read_concepts,
)
from wag.core.errors import WagError
from wag.core.ids import content_key

VARIANTS = ("phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked")


class FrequencyError(WagError, ValueError):
    """Bad counting input: unknown variant, empty concept list, no readable shard."""


def check_variant(variant: str) -> str:
    """Return ``variant`` or raise one clear error listing the valid ones."""
    if variant not in VARIANTS:
        raise FrequencyError(f"unknown count variant {variant!r}; use one of {', '.join(VARIANTS)}")
    return variant


@dataclass(frozen=True)
class Spec:
    """The concepts of a job: unique names and, per name, the alternatives searched (ORed)."""

    variant: str
    names: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...]

    @cached_property
    def key(self) -> str:
        return content_key([NORMALIZER_VERSION, self.variant, self.names, self.alternatives])


def as_concept_table(concepts: pd.DataFrame | Sequence[str] | str | os.PathLike[str]) -> pd.DataFrame:
    """A concepts table from a table, a list of names or a concept file."""
    if isinstance(concepts, pd.DataFrame):
        df = concepts
        if "concept" not in df.columns:
            raise ConceptError(f"concept table has no 'concept' column (columns: {', '.join(map(str, df.columns))})")
        if len(df) and ("aliases" not in df.columns or "dataset" not in df.columns):
            if "dataset" not in df.columns:
                df = df.assign(dataset="custom")
            task = df["task"] if "task" in df.columns else pd.Series("classification", index=df.index)
            df = pd.concat(
                [
                    concept_table(g["concept"].tolist(), dataset=str(ds), task=str(task.loc[g.index[0]]))
                    for ds, g in df.groupby("dataset", sort=False)
                ],
                ignore_index=True,
            )
    elif isinstance(concepts, (str, os.PathLike)):
        df = read_concepts(str(concepts))
    else:
        names = list(concepts)
        if not names:
            raise FrequencyError("empty concept list: give at least one concept name")
        df = concept_table(names, dataset="custom", task="classification")
    if len(df) == 0:
        raise FrequencyError("empty concept list: give at least one concept name")
    return df


def build_spec(table: pd.DataFrame, variant: str) -> Spec:
    """Alternatives per unique concept name for ``variant`` (aliases beyond the name are ORed on every variant)."""
    check_variant(variant)
    names: list[str] = []
    alts: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for name, aliases in zip(table["concept"], table["aliases"], strict=True):
        if name in seen:
            continue
        seen.add(name)
        parsed = parse_concept(name)
        stored = [a for a in (list(aliases) if aliases is not None else []) if isinstance(a, str) and a]
        extra = [a for a in stored if a not in parsed.alternatives]
        if variant == "phrase":
            alt = tuple(dict.fromkeys(stored or list(parsed.alternatives)))
        elif variant == "lowercased":
            alt = tuple(dict.fromkeys(normalize(a, lemmatize=False) for a in [*parsed.raw_alternatives, *extra]))
        else:  # paper variants search the class name exactly as the paper did, plus user aliases
            alt = tuple(dict.fromkeys([name, *extra]))
        names.append(name)
        alts.append(alt)
    if variant == "phrase":
        alts = _with_compound_spellings(alts, [parse_concept(n).raw_alternatives for n in names])
    return Spec(variant, tuple(names), tuple(alts))


def _with_compound_spellings(alts: list[tuple[str, ...]], raws: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Add each concept's compound respellings (``wag.concepts.compound_spellings`` of its phrases as written and
    normalised). A joined respelling that is another concept's phrase is left to that concept (it is a word of its
    own: "icecream" listed beside "ice cream"); hyphen/space respellings are always added, so concepts spelled as
    each other's respellings ("golf ball", "golf-ball") count the same captions."""
    owners: dict[str, set[int]] = {}
    for ci, alt in enumerate(alts):
        for a in alt:
            owners.setdefault(a, set()).add(ci)
    out = []
    for ci, (alt, raw) in enumerate(zip(alts, raws, strict=True)):
        resp = (r for a in (*raw, *alt) for r in compound_spellings(a))
        out.append(
            tuple(dict.fromkeys([*alt, *(r for r in resp if " " in r or "-" in r or owners.get(r, {ci}) == {ci})]))
        )
    return out
