"""Counting one shard, and the per-shard results that make a count resumable.

:func:`count_shard` counts one shard (memory bounded by the batch size for phrase variants, by the shard size for
paper variants, whose AND needs the shard's whole term set); read errors come back in the result, never raised.
With an output folder each finished shard is saved atomically (``shards/<tag>.hits.parquet``, then
``shards/<tag>.done.json``, :func:`save_shard`) and found again by :func:`load_shard` on a rerun with the same
inputs (the tag keys the spec, the shard's path, size and mtime, and the reading options). :class:`ShardJob` is
both steps as one picklable task, for any backend of :func:`wag.core.parallel.map_shards`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wag.core.ids import content_key
from wag.core.io import atomic_path, write_json
from wag.corpus import CorpusError, Shard, iter_batches
from wag.frequency.engines import PhraseEngine, engine_for
from wag.frequency.spec import Spec


@dataclass
class ShardResult:
    """What one shard contributes: counts per concept index, hits, and (paper variants) terms present per alternative."""

    path: str
    n_captions: int
    counts: list[int]
    hits: pa.Table | None = None
    hits_path: str | None = None
    alt_present: list[list[str]] | None = None
    error: str | None = None


def _hits_table(
    spec: Spec, concept_idx: np.ndarray, sample_ids: pa.Array, alt_idx: np.ndarray | None = None
) -> pa.Table:
    concept = pa.DictionaryArray.from_arrays(
        pa.array(concept_idx.astype(np.int32)), pa.array(list(spec.names), pa.string())
    )
    cols = {"concept": concept, "sample_id": sample_ids}
    if alt_idx is not None:
        cols["alt"] = pa.array(alt_idx.astype(np.int32))
    return pa.table(cols)


def count_shard(
    shard: Shard,
    spec: Spec,
    *,
    caption_column: str | None = None,
    id_column: str | None = None,
    batch_size: int = 65_536,
    on_batch=None,
) -> ShardResult:
    """Count one shard; read errors are returned in ``error`` (path + reason), never raised. ``on_batch(n)`` is called per batch."""
    eng = engine_for(spec)
    n = 0
    counts = np.zeros(len(spec.names), np.int64)
    parts: list[pa.Table] = []
    try:
        if isinstance(eng, PhraseEngine):
            for b in iter_batches(shard, batch_size=batch_size, caption_column=caption_column, id_column=id_column):
                cap, con = eng.match_batch(b.column("caption"))
                counts += np.bincount(con, minlength=len(spec.names))
                parts.append(_hits_table(spec, con, b.column("sample_id").take(pa.array(cap))))
                n += b.num_rows
                if on_batch is not None:
                    on_batch(b.num_rows)
            hits = (
                pa.concat_tables(parts)
                if parts
                else _hits_table(spec, np.zeros(0, np.int64), pa.array([], pa.string()))
            )
            return ShardResult(str(shard.path), n, counts.tolist(), hits=hits)
        ids_parts: list[pa.Array] = []
        caps, terms = [], []
        for b in iter_batches(shard, batch_size=batch_size, caption_column=caption_column, id_column=id_column):
            c, t = eng.term_pairs(b.column("caption"))
            caps.append(c + n)
            terms.append(t)
            ids_parts.append(b.column("sample_id"))
            n += b.num_rows
            if on_batch is not None:
                on_batch(b.num_rows)
        c = np.concatenate(caps) if caps else np.zeros(0, np.int64)
        t = np.concatenate(terms) if terms else np.zeros(0, np.int64)
        mc, ma, present = eng.resolve(c, t)
        owner = np.array(eng.alt_owner, np.int64)[ma]
        sids = pa.chunked_array(ids_parts, pa.string()).combine_chunks() if ids_parts else pa.array([], pa.string())
        hits = _hits_table(spec, owner, sids.take(pa.array(mc)), ma)
        return ShardResult(str(shard.path), n, [], hits=hits, alt_present=present)
    except CorpusError as exc:
        return ShardResult(
            str(shard.path),
            n,
            [],
            error=str(exc).split(": ", 1)[-1] if str(exc).startswith(str(shard.path)) else str(exc),
        )


def shard_tag(shard: Shard, spec: Spec, opts: dict) -> str:
    """The file stem of a shard's saved result: the end of its name + a key of the spec, its path, size, mtime and ``opts``."""
    st = shard.path.stat()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", shard.path.name)[-80:]  # the end of the name: shard names differ there
    return f"{safe}-{content_key([spec.key, str(shard.path.resolve()), st.st_size, st.st_mtime_ns, opts], 12)}"


def save_shard(res: ShardResult, out_dir: Path, tag: str) -> ShardResult:
    """Write hits then the done-marker (both atomic); drop the in-memory hits."""
    hits_path = out_dir / "shards" / f"{tag}.hits.parquet"
    with atomic_path(hits_path) as tmp:
        pq.write_table(res.hits, tmp)
    write_json(
        out_dir / "shards" / f"{tag}.done.json",
        {
            "path": res.path,
            "n_captions": res.n_captions,
            "counts": res.counts,
            "alt_present": res.alt_present,
            "hits": hits_path.name,
        },
    )
    return ShardResult(res.path, res.n_captions, res.counts, hits_path=str(hits_path), alt_present=res.alt_present)


def load_shard(out_dir: Path, tag: str) -> ShardResult | None:
    """The saved result of a finished shard (None when it is not finished, or its files are unreadable)."""
    done = out_dir / "shards" / f"{tag}.done.json"
    if not done.is_file():
        return None
    try:
        d = json.loads(done.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None
    hp = out_dir / "shards" / d["hits"]
    if not hp.is_file():
        return None
    return ShardResult(
        d["path"], int(d["n_captions"]), list(d["counts"]), hits_path=str(hp), alt_present=d.get("alt_present")
    )


def shard_hits(res: ShardResult) -> pa.Table:
    """The hits of a shard result, in memory or read from its saved file."""
    return res.hits if res.hits is not None else pq.read_table(res.hits_path)


@dataclass(frozen=True)
class ShardJob:
    """Count one shard of ``spec`` (``opts``: reading options) and, with ``out_dir``, save it under its tag."""

    spec: Spec
    opts: dict[str, Any]
    out_dir: str | None = None

    def __call__(self, item: tuple[Shard, str | None], on_batch: Callable[[int], None] | None = None) -> ShardResult:
        """``item``: (shard, tag); ``on_batch(n)`` is called per batch of ``n`` captions counted."""
        shard, tag = item
        res = count_shard(shard, self.spec, **self.opts, on_batch=on_batch)
        if res.error is None and self.out_dir is not None and tag is not None:
            res = save_shard(res, Path(self.out_dir), tag)
        return res
