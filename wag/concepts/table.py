"""Concept tables: concept names parsed into search phrases, duplicate names merged, concept files read.

Concept names are parsed by :func:`parse_concept`: a parenthesised qualifier
(``"kite (bird of prey)"``) is removed from the search phrase and kept in ``qualifier``;
``"A or B"`` names are searched as A OR B; optional aliases are ORed as well.
"""

from __future__ import annotations

import io
import json
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import regex

from wag.concepts.errors import ConceptError
from wag.concepts.normalizer import normalize, normalize_tokens
from wag.core.checks import check_input_file, read_utf8_text
from wag.core.errors import WagWarning, excerpt, one_line

TASKS = ("classification", "retrieval", "t2i")
CONCEPT_COLUMNS = ["concept", "key", "dataset", "task", "aliases", "qualifier"]
_PAREN = regex.compile(r"\s*[\(\[]([^\)\]]*)[\)\]]\s*")
_OR = regex.compile(r"\s+or\s+", regex.IGNORECASE)


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
    (aliases of the later spellings join it); a :class:`~wag.core.errors.WagWarning` lists every merge. A name
    with no letter or digit (an emoji) can never match a caption: a warning names it.
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
        listed = "; ".join(f"{k!r} <- {', '.join(repr(x) for x in v)}" for k, v in list(dups.items())[:10])
        more = f"; ... ({len(dups)} groups)" if len(dups) > 10 else ""
        warnings.warn(
            f"concept list of dataset {dataset!r}: {sum(len(v) - 1 for v in dups.values())} duplicate or case-duplicate names "
            f"merged into their first spelling ({listed}{more}); give distinct concepts distinct names (e.g. a qualifier in parentheses)",
            WagWarning,
            stacklevel=2,
        )
    wordless = [n for n in merged if not normalize_tokens(n) and not any(normalize_tokens(a) for a in extras[n])]
    if wordless:
        warnings.warn(
            f"concept list of dataset {dataset!r}: {len(wordless)} name(s) without a letter or digit "
            f"({', '.join(excerpt(n, 20) for n in wordless[:5])}) can never be counted in captions, which are matched "
            "word by word (runs of letters and digits; emoji and symbols separate words); name them in words or "
            "give word aliases",
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


#: Largest concept file read (a list of a million names is about 20 MB).
MAX_CONCEPT_FILE_BYTES = 256 << 20


def read_concepts(path: str, *, dataset: str | None = None, task: str = "classification") -> pd.DataFrame:
    """Read a concept file: ``.txt`` (one name per line), ``.json`` (list, or name -> aliases), ``.csv``/``.parquet`` (column ``concept``).

    A JSON alias given as one string is one alias; blank CSV cells are no concept (never ``"nan"``); a leading
    byte-order mark is dropped; a file that is not a regular file (a FIFO) or is over :data:`MAX_CONCEPT_FILE_BYTES`
    is refused before it is read. A CSV/Parquet concepts table (``concept, key, dataset, task, aliases``) is kept
    as it is; in a CSV its ``aliases`` cells are a JSON list or names separated by ``|``.
    """
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
    if suf == ".parquet":
        check_input_file(p, "concept file", MAX_CONCEPT_FILE_BYTES)
        text = ""
    else:
        text = read_utf8_text(p, "concept file", MAX_CONCEPT_FILE_BYTES)
    if suf == ".txt":
        names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    elif suf == ".json":
        names, aliases = _json_concepts(p, text)
    else:
        try:
            df = (
                pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
                if suf == ".csv"
                else pd.read_parquet(p)
            )
        except (ValueError, OSError) as exc:  # pandas' EmptyDataError/ParserError and Arrow errors are ValueErrors
            raise ConceptError(
                f"concept file {p} cannot be read as {suf[1:]} ({type(exc).__name__}: {one_line(str(exc))[:200]}); fix or re-export it"
            ) from None
        if "concept" not in df.columns:
            raise ConceptError(
                f"concept file {p} has no 'concept' column (columns: {', '.join(map(str, df.columns))}); name the column of concept names 'concept'"
            )
        blank = df["concept"].isna() | (df["concept"].astype(str).str.strip() == "")
        df = df[~blank].reset_index(drop=True)
        if {"key", "dataset", "task", "aliases"} <= set(df.columns):
            return (
                df.assign(aliases=[_cell_aliases(p, i, a) for i, a in enumerate(df["aliases"])])
                if suf == ".csv"
                else df
            )
        names = [str(x) for x in df["concept"].tolist()]
    if not names:
        raise ConceptError(
            f"concept file {p} holds no concept names; put one concept name per line (.txt) or a list (.json)"
        )
    return concept_table(names, dataset=ds, task=task, aliases=aliases)


def _json_concepts(p: Path, text: str) -> tuple[list[str], dict[str, list[str]]]:
    """Names and aliases of a JSON concept file: a list of names, or an object name -> aliases (a list, one string,
    or null)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConceptError(
            f"concept file {p} is not valid JSON: {exc}; fix it (a list of names, or an object name -> aliases)"
        ) from None
    if isinstance(obj, list):
        bad = [i for i, x in enumerate(obj) if not isinstance(x, str)]
        if bad:
            raise ConceptError(
                f"concept file {p}: item {bad[0]} of the list is {excerpt(obj[bad[0]])}, not a name; "
                "give every concept as a string"
            )
        return list(obj), {}
    if not isinstance(obj, dict):
        raise ConceptError(f"concept file {p} must hold a JSON list of names or an object name -> aliases")
    aliases: dict[str, list[str]] = {}
    for name, val in obj.items():
        if val is None:
            val = []
        elif isinstance(val, str):
            val = [val]  # one alias, not its letters
        if not isinstance(val, list) or not all(isinstance(a, str) for a in val):
            raise ConceptError(
                f"concept file {p}: the aliases of {excerpt(name)} are {excerpt(val)}; give a list of strings "
                '(e.g. {"dog": ["puppy", "hound"]}), one string, or null'
            )
        aliases[name] = val
    return list(obj), aliases


def _cell_aliases(p: Path, row: int, cell: object) -> list[str]:
    """The aliases of one CSV cell: a JSON list of strings, or names separated by ``|`` (blank: none)."""
    text = str(cell).strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            val = json.loads(text)
        except json.JSONDecodeError:
            val = None
        if not isinstance(val, list) or not all(isinstance(a, str) for a in val):
            raise ConceptError(
                f"concept file {p}: the aliases cell of row {row + 1} ({excerpt(text)}) is not a JSON list of strings; "
                'write ["puppy", "hound"] or puppy|hound'
            )
        return val
    return [a.strip() for a in text.split("|") if a.strip()]
