"""The matching engines of the count variants, built once per spec and process (:func:`engine_for`).

* :class:`PhraseEngine` (``phrase``, ``lowercased``): vectorised tokenisation (:mod:`wag.frequency.encode`) and a
  trie of the concept phrases (:mod:`wag.frequency.matcher`).
* :class:`PaperEngine` (``paper_*``): the paper's AND search over noun-lemma keys (:mod:`wag.frequency.paper`).
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa

from wag.frequency.encode import Encoder, lemma_chunk, surface_chunk
from wag.frequency.matcher import PhraseMatcher
from wag.frequency.paper import paper_index_keys, paper_query_terms
from wag.frequency.spec import Spec


class PhraseEngine:
    """Phrase search: vectorised tokenisation + trie matcher."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.encoder = Encoder(surface_chunk if spec.variant == "lowercased" else lemma_chunk)
        phrases, owners = [], []
        for ci, alts in enumerate(spec.alternatives):
            for a in alts:
                toks = self.encoder.encode_text(a)
                if toks:
                    phrases.append(toks)
                    owners.append(ci)
        self.matcher = PhraseMatcher(phrases, owners, len(spec.names))

    def match_batch(self, captions: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (caption index, concept index) pairs of one batch."""
        ids, offsets = self.encoder.encode(captions)
        return self.matcher.match(ids, offsets, len(self.encoder.vocab))


class PaperEngine:
    """The paper's AND search over noun-lemma keys (see :mod:`wag.frequency.paper`).

    Each alternative is a list of (presence key, search key) pairs: a query word is kept when its
    presence key is in the index and then searched by its search key. ``paper_lemmatized`` /
    ``paper_lowercased`` (the full-index code path) use the searched word itself as presence key;
    ``paper_lemmatized_chunked`` (the sharded-index code path used for LAION) looks up the *raw*
    lower-cased word and searches its lemma, so plural or hyphenated words are dropped.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        v = spec.variant
        self.encoder = Encoder(paper_index_keys, canonicalize=False)
        self.alt_owner: list[int] = []
        self.alt_pairs: list[tuple[tuple[int, int], ...]] = []
        self.alt_presence_names: list[tuple[str, ...]] = []
        for ci, alts in enumerate(spec.alternatives):
            for a in alts:
                raw = paper_query_terms(a, lemmatize=False)
                lem = paper_query_terms(a, lemmatize=True)
                search = raw if v == "paper_lowercased" else lem
                presence = raw if v == "paper_lemmatized_chunked" else search
                pairs = tuple(dict.fromkeys(zip(presence, search, strict=True)))
                self.alt_owner.append(ci)
                self.alt_presence_names.append(tuple(p for p, _ in pairs))
                self.alt_pairs.append(tuple((self.encoder.token_id(p), self.encoder.token_id(q)) for p, q in pairs))
        self.n_terms = len(self.encoder.vocab)  # term ids are 0..n_terms-1 (added before any caption)

    def term_pairs(self, captions: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (caption index, term id) pairs of a batch, for query terms only."""
        ids, offsets = self.encoder.encode(captions)
        pos = np.flatnonzero(ids < self.n_terms)
        cap = np.searchsorted(offsets, pos, side="right") - 1
        pair = np.unique(cap * self.n_terms + ids[pos].astype(np.int64))
        return pair // self.n_terms, pair % self.n_terms

    def resolve(self, caps: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """Pairs (caption, alternative) holding every kept query word, and the presence keys found per alternative."""
        present = np.zeros(self.n_terms, bool)
        present[np.unique(terms)] = True
        t2a: list[list[int]] = [[] for _ in range(self.n_terms)]
        need = np.zeros(max(len(self.alt_pairs), 1), np.int64)
        present_names: list[list[str]] = []
        for ai, (pairs, names) in enumerate(zip(self.alt_pairs, self.alt_presence_names, strict=True)):
            active = {q for p, q in pairs if present[p]}
            need[ai] = len(active)
            for q in active:
                t2a[q].append(ai)
            present_names.append(sorted({n for (p, _), n in zip(pairs, names, strict=True) if present[p]}))
        ptr = np.zeros(self.n_terms + 1, np.int64)
        ptr[1:] = np.cumsum([len(x) for x in t2a])
        flat = np.array([a for x in t2a for a in x], np.int64)
        cnt = ptr[terms + 1] - ptr[terms]
        rep_cap = np.repeat(caps, cnt)
        first = np.repeat(ptr[terms], cnt)
        within = np.arange(len(rep_cap)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        alt = flat[first + within] if len(rep_cap) else np.zeros(0, np.int64)
        n_alt = len(need)
        key, k = np.unique(rep_cap * n_alt + alt, return_counts=True)
        c, a = key // n_alt, key % n_alt
        ok = (k == need[a]) & (need[a] > 0)
        return c[ok], a[ok], present_names


_ENGINES: dict[str, PhraseEngine | PaperEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(spec: Spec) -> PhraseEngine | PaperEngine:
    """The (process-wide cached, thread-safe) engine of a spec."""
    with _ENGINES_LOCK:
        eng = _ENGINES.get(spec.key)
        if eng is None:
            if len(_ENGINES) > 8:
                _ENGINES.clear()
            eng = PaperEngine(spec) if spec.variant.startswith("paper_") else PhraseEngine(spec)
            _ENGINES[spec.key] = eng
        return eng


def clear_engines() -> None:
    """Forget every cached engine of this process (the next :func:`engine_for` builds from an empty vocabulary)."""
    with _ENGINES_LOCK:
        _ENGINES.clear()
