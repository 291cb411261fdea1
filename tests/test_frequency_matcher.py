"""The vectorised phrase matcher and encoder against plain Python references (random phrases and captions)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from wag.concepts import normalize_tokens
from wag.frequency.encode import Encoder, lemma_chunk
from wag.frequency.matcher import PhraseMatcher


def _reference(ids: list[list[int]], phrases: list[list[int]], owners: list[int]) -> set[tuple[int, int]]:
    """Every (caption, concept) whose phrase occurs as a contiguous token run of the caption."""
    out = set()
    for ci, toks in enumerate(ids):
        for phrase, owner in zip(phrases, owners, strict=True):
            n = len(phrase)
            if any(toks[i : i + n] == phrase for i in range(len(toks) - n + 1)):
                out.add((ci, owner))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matcher_finds_exactly_the_contiguous_phrases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vocab = 12  # few tokens: phrases overlap, share prefixes and end inside each other
    n_concepts = 15
    phrases = [list(map(int, rng.integers(0, vocab, int(rng.integers(1, 5))))) for _ in range(40)]
    owners = [int(rng.integers(0, n_concepts)) for _ in phrases]
    phrases += [phrases[0], phrases[1]]  # the same phrase for another concept: several owners of one trie node
    owners += [(owners[0] + 1) % n_concepts, (owners[1] + 2) % n_concepts]
    caps = [list(map(int, rng.integers(0, vocab + 3, int(rng.integers(0, 12))))) for _ in range(300)]
    caps[5] = []  # empty captions anywhere, also last
    caps[-1] = []
    ids = np.array([t for c in caps for t in c], np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in caps])]).astype(np.int64)
    m = PhraseMatcher(phrases, owners, n_concepts)
    cap, con = m.match(ids, offsets, vocab + 3)
    got = list(zip(cap.tolist(), con.tolist()))
    assert got == sorted(set(got))  # distinct, sorted by caption then concept
    assert set(got) == _reference(caps, phrases, owners)


def test_encoder_gives_the_normaliser_tokens_of_every_caption() -> None:
    caps = [
        "Two (Dogs), one DOG; dog's bowl",
        "",
        None,
        "T‑shirts\u00a0and ｓｏａｐ ｄｉｓｐｅｎｓｅｒs!!",
        "ice-cream  sports-cars\tfour-poster beds...",
        "737-200 at the gate, 'quoted' words",
    ] * 3
    enc = Encoder(lemma_chunk)
    for _ in range(2):  # cold, then every chunk known
        ids, offsets = enc.encode(pa.array(caps, pa.string()))
        inv = {v: k for k, v in enc.vocab.items()}
        got = [[inv[int(t)] for t in ids[offsets[i] : offsets[i + 1]]] for i in range(len(caps))]
        assert got == [normalize_tokens(c) if c else [] for c in caps]
        assert ids.dtype == np.int32 and offsets[0] == 0 and offsets[-1] == len(ids)
