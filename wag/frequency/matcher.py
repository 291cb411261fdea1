"""Phrase matching of many concepts in many captions at once, vectorised with numpy.

Concept phrases (token-id sequences) form a trie. All caption positions are advanced through the
trie level by level: level 0 is one array lookup per token, later levels only touch positions still
inside a phrase (a sorted-edge ``searchsorted``). A phrase matches only as a contiguous token
sequence inside one caption; the result is the set of distinct ``(caption, concept)`` pairs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class _Tables(NamedTuple):
    """Lookup tables for one vocabulary size (immutable, so concurrent ``match`` calls can share them)."""

    vocab_size: int
    v: int
    root_lut: np.ndarray
    edge_keys: np.ndarray
    edge_child: np.ndarray
    later_lut: np.ndarray


class PhraseMatcher:
    """Match token-id phrases; ``phrases[i]`` belongs to concept ``owners[i]`` (several phrases may share a concept)."""

    def __init__(self, phrases: Sequence[Sequence[int]], owners: Sequence[int], n_concepts: int) -> None:
        self.n_concepts = n_concepts
        children: list[dict[int, int]] = [{}]
        terminal: dict[int, set[int]] = {}
        for phrase, owner in zip(phrases, owners, strict=True):
            if not phrase:
                continue
            node = 0
            for tok in phrase:
                nxt = children[node].get(tok)
                if nxt is None:
                    nxt = len(children)
                    children[node][tok] = nxt
                    children.append({})
                node = nxt
            terminal.setdefault(node, set()).add(int(owner))
        self.n_nodes = len(children)
        self.depth = max((len(p) for p in phrases), default=0)
        self._root = np.array(sorted(children[0].items()), dtype=np.int64).reshape(-1, 2)
        edges = [(parent, tok, child) for parent in range(1, len(children)) for tok, child in children[parent].items()]
        self._edges = np.array(sorted(edges), dtype=np.int64).reshape(-1, 3)
        term_counts = np.zeros(self.n_nodes + 1, np.int64)
        owners_flat: list[int] = []
        for node in range(self.n_nodes):
            own = sorted(terminal.get(node, ()))
            term_counts[node + 1] = len(own)
            owners_flat.extend(own)
        self._term_ptr = np.cumsum(term_counts)
        self._term_owner = np.array(owners_flat, dtype=np.int64)
        self._has_child = np.array([bool(c) for c in children], dtype=bool)
        self._n_child = np.array([len(c) for c in children], dtype=np.int64)
        self._one_tok = np.full(self.n_nodes, -1, np.int64)  # the token of a node's only child (-1: 0 or 2+ children)
        self._one_child = np.full(self.n_nodes, -1, np.int64)
        for nd, c in enumerate(children):
            if len(c) == 1 and nd > 0:
                ((tok, ch),) = c.items()
                self._one_tok[nd], self._one_child[nd] = tok, ch
        n_own = np.diff(self._term_ptr)
        #: the owner of a node with exactly one owner; -1: not a phrase end, -2: the end of several concepts' phrases
        self._owner1 = np.full(self.n_nodes, -1, np.int64)
        one = n_own == 1
        self._owner1[one] = self._term_owner[self._term_ptr[:-1][one]]
        self._owner1[n_own > 1] = -2
        self._tables: _Tables | None = None
        self._lock = threading.Lock()

    def _prepare(self, vocab_size: int) -> _Tables:
        """Tables covering token ids ``< vocab_size`` (rebuilt only when the vocabulary has grown)."""
        t = self._tables
        if t is not None and t.vocab_size >= vocab_size:
            return t
        with self._lock:
            t = self._tables
            if t is not None and t.vocab_size >= vocab_size:
                return t
            v = max(vocab_size, int(self._root[:, 0].max(initial=-1)) + 1, int(self._edges[:, 1].max(initial=-1)) + 1)
            root_lut = np.full(v, -1, np.int32)
            root_lut[self._root[:, 0]] = self._root[:, 1]
            later_lut = np.zeros(v, dtype=bool)  # tokens that occur after the first word of some phrase
            later_lut[self._edges[:, 1]] = True
            t = _Tables(
                vocab_size, v, root_lut, self._edges[:, 0] * v + self._edges[:, 1], self._edges[:, 2], later_lut
            )
            self._tables = t
            return t

    def match(self, ids: np.ndarray, offsets: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct ``(caption_index, concept_index)`` pairs (int64 arrays, sorted by caption then concept).

        ``offsets``: caption i holds tokens ``ids[offsets[i]:offsets[i + 1]]`` (non-decreasing, ``offsets[0] == 0``,
        ``offsets[-1] == len(ids)``: what :meth:`wag.frequency.encode.Encoder.encode` returns)."""
        tab = self._prepare(vocab_size)
        n_tok = len(ids)
        if n_tok == 0 or len(self._root) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        node = tab.root_lut[ids]
        pos = np.flatnonzero(node >= 0)
        node = node[pos].astype(np.int64)
        # caption of every token (offsets are non-decreasing); same_next[i]: token i+1 is in token i's caption
        tok_cap = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
        same_next = np.empty(n_tok, dtype=bool)
        np.equal(tok_cap[1:], tok_cap[:-1], out=same_next[:-1])
        same_next[-1] = False
        out_pos: list[np.ndarray] = []
        out_con: list[np.ndarray] = []
        step = 0
        while len(pos):
            own = self._owner1[node]
            end = np.flatnonzero(own != -1)
            if len(end):
                o = own[end]
                single = o >= 0
                out_pos.append(pos[end[single]])
                out_con.append(o[single])
                if not single.all():  # ends of several concepts' phrases: one pair per owner
                    tn, tp = node[end[~single]], pos[end[~single]]
                    cnt = self._term_ptr[tn + 1] - self._term_ptr[tn]
                    first = np.repeat(self._term_ptr[tn], cnt)
                    within = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                    out_pos.append(np.repeat(tp, cnt))
                    out_con.append(self._term_owner[first + within])
            step += 1
            if step >= self.depth or len(tab.edge_keys) == 0:
                break
            keep = self._has_child[node] & same_next[pos + step - 1]
            nxt_tok = ids[np.minimum(pos + step, n_tok - 1)]
            keep &= tab.later_lut[nxt_tok]
            k = np.flatnonzero(keep)  # one mask-to-index pass for the three gathers
            pos, node, nxt_tok = pos[k], node[k], nxt_tok[k]
            # most trie nodes have one child: two gathers and a compare; the others: sorted-edge lookup
            child = np.where(self._one_tok[node] == nxt_tok, self._one_child[node], -1)
            multi = np.flatnonzero(self._n_child[node] > 1)
            if len(multi):
                keys = node[multi] * tab.v + nxt_tok[multi]
                j = np.searchsorted(tab.edge_keys, keys)
                j[j >= len(tab.edge_keys)] = 0
                child[multi] = np.where(tab.edge_keys[j] == keys, tab.edge_child[j], -1)
            hit = child >= 0
            pos = pos[hit]
            node = child[hit]
        if not out_pos:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        caps = tok_cap[np.concatenate(out_pos)]  # token position -> caption
        cons = np.concatenate(out_con)
        pair = _sorted_unique(caps * self.n_concepts + cons)
        return pair // self.n_concepts, pair % self.n_concepts


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort + neighbour compare; faster than ``np.unique`` for int64 here).

    The input is a concatenation of a few runs already ordered by caption (one per trie level), so the
    stable sort (timsort / radix) is several times faster than quicksort on it; the result is the same."""
    if len(a) == 0:
        return a
    a = np.sort(a, kind="stable")
    keep = np.empty(len(a), bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
