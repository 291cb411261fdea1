"""lemminflect's lemma lexicon, parsed by Arrow and looked up without copies.

``lemminflect.getAllLemmas`` parses its gzip lexicon line by line in Python on first use (~0.3 s)
and deep-copies the entry on every call (~15 µs); the normaliser asks for tens of thousands of
words per corpus. This module reads the same package files with Arrow's CSV reader (~0.07 s),
indexes the rows by word and builds each word's entry once, with lemminflect's own rules
(category → UPOS, overrides win, lemmas in the input's lower-case style). The result equals
``lemminflect.getAllLemmas(word)`` for every word (tested over the whole lexicon); mixed-case
words go to lemminflect itself, which applies its capitalisation rules.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Mapping
from functools import lru_cache

import lemminflect
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from lemminflect import config

_EMPTY: Mapping[str, tuple[str, ...]] = {}
_LOCK = threading.Lock()
#: (run index of each word, first row of each run + end, categories, lemma fields, overrides)
_Tables = tuple[dict[str, int], list[int], list[str], list[str], dict[str, dict[str, str]]]
_TABLES: _Tables | None = None


def _upos(category: str) -> str:
    upos = category.upper()
    return "AUX" if upos == "MODAL" else upos


def _load() -> _Tables:
    """Indexed rows of lemminflect's package files (see ``_Tables``)."""
    with gzip.open(config.lemma_lu_fn, "rb") as fh:
        raw = fh.read()
    table = pcsv.read_csv(
        pa.py_buffer(raw),
        read_options=pcsv.ReadOptions(column_names=["word", "category", "forms"]),
        parse_options=pcsv.ParseOptions(quote_char=False, escape_char=False),
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(["word", "category", "forms"], pa.string())),
    )
    words = table.column("word").combine_chunks()
    # lemminflect's file lists the lines of one word together; index each word's run of rows
    change = np.flatnonzero(np.asarray(pc.not_equal(words[1:], words[:-1]), dtype=bool)) + 1
    bounds = np.concatenate([[0], change, [len(words)]]).astype(np.int64)
    run_words = _strings(words.take(pa.array(bounds[:-1])))
    runs = dict(zip(run_words, range(len(run_words))))  # ints, not tuples: no garbage-collector passes
    if len(runs) != len(run_words):
        raise RuntimeError("lemminflect's lexicon lists a word's lines apart; wag.concepts.lexicon needs them together")
    overrides: dict[str, dict[str, str]] = {}
    with open(config.lemma_overrides_fn, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and line[0] != "#":
                word_in, pos, word_out = line.split(",")
                overrides.setdefault(word_in, {})[pos] = word_out
    return runs, bounds.tolist(), _strings(table.column("category")), _strings(table.column("forms")), overrides


def _strings(arr: pa.Array | pa.ChunkedArray) -> list[str]:
    """Python strings of an Arrow string array (through numpy: several times faster than ``to_pylist``)."""
    return arr.to_numpy(zero_copy_only=False).tolist()


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        with _LOCK:
            if _TABLES is None:
                _TABLES = _load()
    return _TABLES


def lexicon_words() -> list[str]:
    """Every word of the lexicon (for tests and audits)."""
    runs, _, _, _, overrides = _tables()
    return list(dict.fromkeys([*runs, *overrides]))


@lru_cache(maxsize=500_000)
def _entry(word: str) -> Mapping[str, tuple[str, ...]]:
    runs, bounds, cats, forms, overrides = _tables()
    run = runs.get(word)
    extra = overrides.get(word)
    if run is None and extra is None:
        return _EMPTY
    out: dict[str, tuple[str, ...]] = {}
    if run is not None:
        for i in range(bounds[run], bounds[run + 1]):  # lower case: lemminflect's caps style for lower-case input
            out[_upos(cats[i])] = tuple(forms[i].lower().split("/"))
    for pos, lemma in (extra or {}).items():
        out[pos] = (lemma.lower(),)
    return out


def word_lemmas(word: str) -> Mapping[str, tuple[str, ...]]:
    """``lemminflect.getAllLemmas(word)``: lemmas by part of speech (a shared, read-only mapping)."""
    if word != word.lower():
        return lemminflect.getAllLemmas(word)
    return _entry(word)
