"""Vectorised caption tokenisation: Arrow string array -> flat token ids + per-caption offsets.

Whitespace splitting and de-duplication run in Arrow (C++); only the *distinct* whitespace chunks
of a batch go through the Python normaliser (:func:`wag.concepts.chunk_tokens`), whose results are
cached, so the token sequence of every caption equals ``wag.concepts.normalize_tokens(caption)``
by construction while the per-token work is numpy gathers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wag.concepts import chunk_tokens

ChunkFn = Callable[[str], Sequence[str]]

#: ASCII characters that always separate tokens and never combine under NFKC (not ' - < = >, which can).
_ASCII_SEPARATORS = r'[!"#$%&()*+,./:;?@\[\\\]^_`{|}~]'


def lemma_chunk(chunk: str) -> tuple[str, ...]:
    """The normalised (lemmatised) tokens of a whitespace chunk."""
    return chunk_tokens(chunk, True)


def surface_chunk(chunk: str) -> tuple[str, ...]:
    """The case-folded tokens of a whitespace chunk, not lemmatised."""
    return chunk_tokens(chunk, False)


class Encoder:
    """Maps captions to token ids in a growing vocabulary; ``chunk_fn`` turns a whitespace chunk into tokens.

    Thread-safe: the vocabulary and chunk tables change only under a lock (threads of one process
    share them, so every distinct chunk is normalised once); the vectorised work runs unlocked.
    """

    def __init__(self, chunk_fn: ChunkFn = lemma_chunk, *, canonicalize: bool = True) -> None:
        """``canonicalize``: merge chunks differing only in ASCII case/punctuation before ``chunk_fn`` (only valid
        when ``chunk_fn`` case-folds and treats ASCII punctuation other than ' - < = > as a separator)."""
        self.chunk_fn = chunk_fn
        self.canonicalize = canonicalize
        self.vocab: dict[str, int] = {}
        self._chunk_cache: dict[str, tuple[int, ...]] = {}
        self._lock = threading.RLock()
        self._reset_known()

    def token_id(self, tok: str) -> int:
        """The id of a token, added to the vocabulary if new."""
        with self._lock:
            i = self.vocab.get(tok)
            if i is None:
                i = self.vocab[tok] = len(self.vocab)
            return i

    def encode_text(self, text: str) -> list[int]:
        """Token ids of one text (slow path for concept phrases)."""
        out: list[int] = []
        with self._lock:
            for chunk in text.split():
                out.extend(self._chunk_ids(chunk))
        return out

    def _chunk_ids(self, chunk: str) -> tuple[int, ...]:
        ids = self._chunk_cache.get(chunk)
        if ids is None:
            ids = tuple(self.token_id(t) for t in self.chunk_fn(chunk))
            if len(self._chunk_cache) > 2_000_000:  # bound memory on huge vocabularies
                self._chunk_cache.clear()
            self._chunk_cache[chunk] = ids
        return ids

    def _new_chunk_ids(self, chunks: list[str]) -> list[tuple[int, ...]]:
        """:meth:`_chunk_ids` of many chunks, the lock held: the same ids without a call and a lock per token."""
        vocab, cache, fn = self.vocab, self._chunk_cache, self.chunk_fn
        out = []
        for c in chunks:
            ids = cache.get(c)
            if ids is None:
                ids = tuple([vocab.setdefault(t, len(vocab)) for t in fn(c)])
                if len(cache) > 2_000_000:  # bound memory on huge vocabularies
                    cache.clear()
                cache[c] = ids
            out.append(ids)
        return out

    def _lookup(self, uniq: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, lens, table) of the token ids of each distinct chunk; new chunks go through Python once."""
        with self._lock:
            return self._lookup_locked(uniq)

    def _lookup_locked(self, uniq: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = pc.index_in(uniq, value_set=self._known) if len(self._known) else pa.nulls(len(uniq), pa.int32())
        new_mask = pc.is_null(pos)
        if pc.any(new_mask).as_py():
            new = pc.filter(uniq, new_mask)
            seqs = self._new_chunk_ids(new.to_pylist())
            lens = np.fromiter((len(q) for q in seqs), dtype=np.int64, count=len(seqs))
            flat = np.fromiter((t for q in seqs for t in q), dtype=np.int32, count=int(lens.sum()))
            base = len(self._kids)
            self._kstart = np.concatenate(
                [self._kstart, base + np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)]
            )
            self._klen = np.concatenate([self._klen, lens])
            self._kids = np.concatenate([self._kids, flat])
            first_new = len(self._known)
            self._known = pa.concat_arrays([self._known, new]) if len(self._known) else new
            if len(self._known) > 4_000_000:  # keep the lookup table bounded on endless vocabularies
                self._reset_known()
                return self._lookup_locked(uniq)
            idx = np.asarray(pos.fill_null(-1), dtype=np.int64)
            idx[np.asarray(new_mask, dtype=bool)] = np.arange(first_new, first_new + len(new))
        else:
            idx = np.asarray(pos, dtype=np.int64)
        return self._kstart[idx], self._klen[idx], self._kids

    def _reset_known(self) -> None:
        self._known = pa.array([], pa.string())
        self._kstart = np.zeros(0, np.int64)
        self._klen = np.zeros(0, np.int64)
        self._kids = np.zeros(0, np.int32)

    def encode(self, captions: pa.Array | pa.ChunkedArray | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, offsets)``: token ids of all captions concatenated, and ``offsets[i]:offsets[i+1]`` of caption i."""
        arr = captions if isinstance(captions, (pa.Array, pa.ChunkedArray)) else pa.array(list(captions), pa.string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if arr.type not in (pa.string(), pa.large_string()):
            arr = arr.cast(pa.string())
        arr = pc.fill_null(arr, "")
        n = len(arr)
        lists = pc.ascii_split_whitespace(arr)  # other separators are split by the chunk tokenizer: same tokens
        chunk_offsets = np.asarray(lists.offsets, dtype=np.int64)
        chunk_offsets = chunk_offsets - chunk_offsets[0]
        flat = lists.flatten()
        if len(flat) == 0:
            return np.zeros(0, np.int32), np.zeros(n + 1, np.int64)
        enc = pc.dictionary_encode(flat)
        idx = np.asarray(enc.indices)  # int32: fine for gathers
        # canonicalise the distinct chunks in Arrow (ASCII lower case, ASCII punctuation -> space): many raw
        # chunks ("(Dog", "dog,") share one canonical form, and the normaliser gives identical tokens for both
        if self.canonicalize:
            canon = pc.dictionary_encode(
                pc.replace_substring_regex(pc.ascii_lower(enc.dictionary), _ASCII_SEPARATORS, " ")
            )
            cidx = np.asarray(canon.indices)
            starts, lens, table = self._lookup(canon.dictionary)
            starts, lens = starts[cidx], lens[cidx]
        else:
            starts, lens, table = self._lookup(enc.dictionary)
        # each chunk position contributes L tokens table[start : start + L]: its first token repeated L times, then
        # the few multi-token chunks get their later tokens; most L are 0 or 1
        first = table[np.minimum(starts, max(len(table) - 1, 0))] if len(table) else np.zeros(len(starts), np.int32)
        L = lens[idx]
        tok_start = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(L, out=tok_start[1:])
        ids = np.repeat(first[idx], L)
        multi = np.flatnonzero(L > 1)
        if len(multi):
            mL = L[multi]
            k = np.arange(int(mL.sum()), dtype=np.int64) - np.repeat(np.cumsum(mL) - mL, mL)
            ids[np.repeat(tok_start[multi], mL) + k] = table[np.repeat(starts[idx[multi]], mL) + k]
        return ids, tok_start[chunk_offsets]
