"""Caption counting over streamed shards: variants, per-shard results, local processes or Dask.

Variants (``variant=``):

* ``phrase`` (ours, default): the normalised concept (``wag.concepts.normalize``) as a contiguous
  token sequence of the normalised caption; OR over "A or B" parts and aliases.
* ``lowercased``: the same phrase search without lemmatisation (surface forms, case-folded).
* ``paper_lemmatized`` / ``paper_lowercased``: the paper's noun-lemma AND search
  (:mod:`wag.frequency.paper`), including dropping query words that are absent from the index;
  ``paper_lemmatized_chunked``: its sharded-index code path (LAION), which drops every query word
  whose raw lower-cased form is not an index key (so "T-shirt" and "four-poster" vanish).

Every shard is counted independently (memory bounded by the batch size for phrase variants and by
the shard size for paper variants); shard results are combined exactly, so one worker, N threads,
N processes and a Dask cluster give identical tables. ``backend="threads"`` (default) shares one
engine, so each distinct caption chunk is normalised once per run (the vectorised work releases the
GIL); ``"processes"`` suits corpora whose vocabulary keeps growing (the Python normaliser then
dominates and holds the GIL); ``"dask"`` spreads shards over machines. With ``out_dir`` each
finished shard is written atomically (``shards/<tag>.done.json`` + hits Parquet) and never
recounted on a rerun with the same inputs.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from wag.concepts import (
    NORMALIZER_VERSION,
    ConceptError,
    compound_spellings,
    concept_table,
    normalize,
    parse_concept,
    read_concepts,
)
from wag.core.checks import check_output_dir
from wag.core.errors import WagError
from wag.core.ids import content_key
from wag.core.io import atomic_path, write_json, write_parquet
from wag.corpus import CorpusError, Shard, iter_batches, iter_shards
from wag.frequency.encode import Encoder, _lemma_chunk, _surface_chunk
from wag.frequency.matcher import PhraseMatcher
from wag.frequency.paper import paper_index_keys, paper_query_terms

VARIANTS = ("phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked")
BACKENDS = ("threads", "processes", "dask")
FREQ_COLUMNS = ["concept", "dataset", "pretraining", "method", "variant", "count"]


class FrequencyError(WagError, ValueError):
    """Bad counting input: unknown variant, empty concept list, no readable shard."""


def check_variant(variant: str) -> str:
    """Return ``variant`` or raise one clear error listing the valid ones."""
    if variant not in VARIANTS:
        raise FrequencyError(f"unknown count variant {variant!r}; use one of {', '.join(VARIANTS)}")
    return variant


# ---------------------------------------------------------------------------------------------
# Concept specs: what each variant searches for every concept
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Engines (one per process, cached)
# ---------------------------------------------------------------------------------------------


class PhraseEngine:
    """Phrase search: vectorised tokenisation + trie matcher."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.encoder = Encoder(_surface_chunk if spec.variant == "lowercased" else _lemma_chunk)
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


# ---------------------------------------------------------------------------------------------
# One shard
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Many shards
# ---------------------------------------------------------------------------------------------


@dataclass
class CountResult:
    """Counts (frequencies contract), hits (``concept, sample_id``) and failed shards ``(path, reason)``."""

    counts: pd.DataFrame
    failures: list[tuple[str, str]]
    n_captions: int
    variant: str
    out_dir: Path | None = None
    _hits: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def hits(self) -> pd.DataFrame:
        """All (concept, sample_id) hits as strings (loaded from ``out_dir/hits.parquet`` when counted to disk)."""
        if self._hits is None and self.out_dir is not None:
            self._hits = pd.read_parquet(self.out_dir / "hits.parquet")
        if self._hits is None:
            return pd.DataFrame({"concept": pd.Series([], dtype=str), "sample_id": pd.Series([], dtype=str)})
        if isinstance(self._hits["concept"].dtype, pd.CategoricalDtype):
            self._hits["concept"] = self._hits["concept"].astype(str)
        return self._hits


def _shard_tag(shard: Shard, spec: Spec, opts: dict) -> str:
    st = shard.path.stat()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", shard.path.name)[-80:]  # the end of the name: shard names differ there
    return f"{safe}-{content_key([spec.key, str(shard.path.resolve()), st.st_size, st.st_mtime_ns, opts], 12)}"


def _save_shard(res: ShardResult, out_dir: Path, tag: str) -> ShardResult:
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


def _load_done(out_dir: Path, tag: str) -> ShardResult | None:
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


def _run_one(shard: Shard, spec: Spec, opts: dict, out_dir: str | None, tag: str | None, on_batch=None) -> ShardResult:
    res = count_shard(shard, spec, **opts, on_batch=on_batch)
    if res.error is None and out_dir is not None and tag is not None:
        res = _save_shard(res, Path(out_dir), tag)
    return res


def _tables(res: ShardResult) -> pa.Table:
    return res.hits if res.hits is not None else pq.read_table(res.hits_path)


def count_captions(
    corpus: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    concepts: pd.DataFrame | Sequence[str] | str | os.PathLike[str],
    *,
    variant: str = "phrase",
    fmt: str | None = None,
    workers: int = 1,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    pretraining: str | None = None,
    backend: str = "threads",
    client=None,
    caption_column: str | None = None,
    id_column: str | None = None,
    batch_size: int = 65_536,
) -> CountResult:
    """Count concepts in the captions of a corpus (see the module docstring for variants and outputs).

    ``backend``: ``"threads"`` (``workers`` threads sharing one engine), ``"processes"`` (``workers``
    processes) or ``"dask"`` (a ``distributed.Client`` given as ``client``, else a local cluster of
    ``workers`` processes). Unreadable shards are listed in ``failures`` with their reason; the
    others are still counted.
    """
    check_variant(variant)
    if backend not in BACKENDS:
        raise FrequencyError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if workers < 1:
        raise FrequencyError(f"workers must be >= 1 (got {workers})")
    if batch_size < 1:
        raise FrequencyError(f"batch_size must be >= 1 captions (got {batch_size}); the default is 65536")
    if out_dir is not None:
        check_output_dir(out_dir, "out_dir")
    table = as_concept_table(concepts)
    spec = build_spec(table, variant)
    shards = iter_shards(corpus, fmt)
    opts = {"caption_column": caption_column, "id_column": id_column, "batch_size": batch_size}
    out = Path(out_dir) if out_dir is not None else None
    tags = (
        [_shard_tag(s, spec, {k: v for k, v in opts.items() if k != "batch_size"}) for s in shards]
        if out
        else [None] * len(shards)
    )
    results: dict[int, ShardResult] = {}
    if out is not None:
        for i, tag in enumerate(tags):
            done = _load_done(out, tag)
            if done is not None:
                results[i] = done
    todo = [i for i in range(len(shards)) if i not in results]
    total = _known_rows(shards)
    bar = tqdm(
        total=total, unit="captions", unit_scale=True, desc=f"count {variant}", disable=not progress, smoothing=0.1
    )
    bar.update(sum(r.n_captions for r in results.values()))
    out_s = str(out) if out else None
    if backend == "dask":
        results.update(_run_dask(shards, todo, spec, opts, out_s, tags, workers, client, bar))
    elif workers == 1 or len(todo) <= 1 or backend == "threads":
        engine_for(spec)  # built once, shared by the threads
        lock = threading.Lock()

        def run(i: int) -> ShardResult:
            seen = [0]

            def tick(k: int) -> None:
                seen[0] += k
                with lock:
                    bar.update(k)

            res = _run_one(shards[i], spec, opts, out_s, tags[i], tick)
            with lock:
                bar.update(res.n_captions - seen[0])  # a shard that failed midway
            return res

        if workers == 1 or len(todo) <= 1:
            results.update({i: run(i) for i in todo})
        else:
            with ThreadPoolExecutor(max_workers=min(workers, len(todo)), thread_name_prefix="wag-count") as ex:
                results.update(zip(todo, ex.map(run, todo), strict=True))
    else:
        engine_for(spec)  # built once here; forked workers inherit it
        with ProcessPoolExecutor(
            max_workers=min(workers, len(todo)), mp_context=_mp_context(), initializer=_worker_init
        ) as ex:
            futs = {ex.submit(_run_one, shards[i], spec, opts, out_s, tags[i]): i for i in todo}
            pending = set(futs)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    results[futs[f]] = f.result()
                    bar.update(results[futs[f]].n_captions)
    bar.close()
    ordered = [results[i] for i in range(len(shards))]
    return _combine(ordered, spec, table, variant, pretraining or _pretraining_name(corpus), out)


def _worker_init() -> None:
    """One Arrow thread per worker process: the processes already use every core."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _mp_context():
    """``fork`` where available (workers start instantly and share the built engine), else ``spawn``."""
    import multiprocessing as mp

    return get_context("fork") if "fork" in mp.get_all_start_methods() and os.name == "posix" else get_context("spawn")


def _known_rows(shards: list[Shard]) -> int | None:
    if not shards or any(s.fmt != "parquet" for s in shards):
        return None
    try:
        return sum(pq.ParquetFile(s.path).metadata.num_rows for s in shards)
    except Exception:  # noqa: BLE001 - an unreadable shard is reported later, with its reason
        return None


def _run_dask(shards, todo, spec, opts, out_s, tags, workers, client, bar) -> dict[int, ShardResult]:
    from distributed import Client, LocalCluster, as_completed

    own = None
    if client is None:
        own = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(own)
    try:
        futs = {client.submit(_run_one, shards[i], spec, opts, out_s, tags[i], pure=False): i for i in todo}
        res = {}
        for f in as_completed(list(futs)):
            r = f.result()
            res[futs[f]] = r
            bar.update(r.n_captions)
        return res
    finally:
        if own is not None:
            client.close()
            own.close()


def _pretraining_name(corpus) -> str:
    if isinstance(corpus, (str, os.PathLike)):
        p = Path(str(corpus))
        return (p if p.is_dir() else p.parent).name or "corpus"
    return "corpus"


def _combine(
    results: list[ShardResult], spec: Spec, table: pd.DataFrame, variant: str, pretraining: str, out: Path | None
) -> CountResult:
    failures = [(r.path, r.error) for r in results if r.error is not None]
    ok = [r for r in results if r.error is None]
    if results and not ok:
        raise FrequencyError("no shard could be read:\n" + "\n".join(f"  {p}: {why}" for p, why in failures))
    n_captions = sum(r.n_captions for r in ok)
    writer = None
    hits_parts: list[pa.Table] = []
    counts = np.zeros(len(spec.names), np.int64)
    valid_mask = None
    if variant.startswith("paper_"):
        eng = engine_for(spec)
        glob = [set() for _ in eng.alt_pairs]
        for r in ok:
            for a, pres in enumerate(r.alt_present or []):
                glob[a].update(pres)
    try:
        for r in ok:
            t = _tables(r)
            if variant.startswith("paper_"):
                valid_mask = np.array([set(r.alt_present[a]) == glob[a] for a in range(len(glob))], bool)
                alt = t.column("alt").to_numpy()
                t = t.filter(pa.array(valid_mask[alt])) if len(alt) else t
                names_arr = pa.array(list(spec.names), pa.string())
                cidx_all = pc.index_in(t.column("concept").cast(pa.string()), value_set=names_arr)
                df = pa.table({"c": cidx_all, "s": t.column("sample_id")}).group_by(["c", "s"]).aggregate([])
                cidx = df.column("c").to_numpy()
                t = pa.table(
                    {
                        "concept": pa.DictionaryArray.from_arrays(
                            pa.array(cidx, pa.int32()), pa.array(list(spec.names), pa.string())
                        ),
                        "sample_id": df.column("s"),
                    }
                )
                counts += np.bincount(cidx, minlength=len(spec.names))
            else:
                counts += np.asarray(r.counts, np.int64)
            t = t.select(["concept", "sample_id"])
            if out is not None:
                if writer is None:
                    tmp_ctx = atomic_path(out / "hits.parquet")
                    tmp = tmp_ctx.__enter__()
                    writer = pq.ParquetWriter(tmp, t.schema)
                writer.write_table(t)
            else:
                hits_parts.append(t)
    except BaseException:
        if writer is not None:
            writer.close()
            tmp_ctx.__exit__(None, None, None)
        raise
    if writer is not None:
        writer.close()
        tmp_ctx.__exit__(None, None, None)
    by_name = dict(zip(spec.names, counts.tolist(), strict=True))
    freq = pd.DataFrame(
        {
            "concept": table["concept"].astype(str).to_numpy(),
            "dataset": table["dataset"].astype(str).to_numpy(),
            "pretraining": pretraining,
            "method": "text",
            "variant": variant,
            "count": [by_name[c] for c in table["concept"]],
        },
        columns=FREQ_COLUMNS,
    ).drop_duplicates(["concept", "dataset"], ignore_index=True)
    freq["count"] = freq["count"].astype("int64")
    hits_df = None
    if out is None:
        hits_df = (
            pa.concat_tables(hits_parts).to_pandas() if hits_parts else pd.DataFrame(columns=["concept", "sample_id"])
        )
    else:
        write_parquet(out / "counts.parquet", freq)
        if writer is None:
            write_parquet(
                out / "hits.parquet",
                pd.DataFrame({"concept": pd.Series([], dtype=str), "sample_id": pd.Series([], dtype=str)}),
            )
        write_json(
            out / "summary.json",
            {
                "variant": variant,
                "pretraining": pretraining,
                "n_captions": n_captions,
                "n_shards": len(results),
                "failures": [list(f) for f in failures],
                "concepts": len(spec.names),
            },
        )
    return CountResult(freq, failures, n_captions, variant, out, hits_df)


def match_texts(
    texts: Iterable[str], concepts: pd.DataFrame | Sequence[str], *, variant: str = "phrase"
) -> list[list[str]]:
    """Concept names found in each text (order of the concept list). Paper variants treat ``texts`` as the whole index."""
    check_variant(variant)
    texts = [t if isinstance(t, str) else "" for t in texts]
    spec = build_spec(as_concept_table(concepts), variant)
    eng = engine_for(spec)
    arr = pa.array(texts, pa.string())
    out: list[list[str]] = [[] for _ in texts]
    if isinstance(eng, PhraseEngine):
        cap, con = eng.match_batch(arr)
    else:
        c, t = eng.term_pairs(arr)
        cap, alt, _ = eng.resolve(c, t)
        con = np.array(eng.alt_owner, np.int64)[alt]
        pair = np.unique(cap * len(spec.names) + con)
        cap, con = pair // len(spec.names), pair % len(spec.names)
    for c, k in zip(cap.tolist(), con.tolist(), strict=True):
        out[c].append(spec.names[k])
    return out
