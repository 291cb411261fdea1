"""Counting a corpus: every shard counted on its own (on threads, processes or Dask), the results combined exactly.

Every shard is counted independently (:mod:`wag.frequency.shard`) and the shard results are combined exactly
(:func:`combine`), so one worker, N threads, N processes and a Dask cluster give identical tables. The shards run on
:func:`wag.core.parallel.map_shards`: ``backend="threads"`` (default) shares one engine, so each distinct caption
chunk is normalised once per run (the vectorised work releases the GIL); ``"processes"`` (forked workers that
inherit the built engine, spawned ones where fork is unavailable) suits corpora whose vocabulary keeps growing (the
Python normaliser then dominates and holds the GIL); ``"dask"`` spreads shards over machines. With ``out_dir`` each finished shard is written atomically
(``shards/<tag>.done.json`` + hits Parquet) and never recounted on a rerun with the same inputs.
The variants and what they search: :mod:`wag.frequency.spec`; the engines: :mod:`wag.frequency.engines`.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from wag.core.checks import check_output_dir
from wag.core.io import atomic_path, write_json, write_parquet
from wag.core.parallel import BACKENDS, map_shards
from wag.corpus import Shard, iter_shards
from wag.frequency.engines import PhraseEngine, engine_for
from wag.frequency.shard import ShardJob, ShardResult, load_shard, shard_hits, shard_tag
from wag.frequency.spec import FrequencyError, Spec, as_concept_table, build_spec, check_variant

FREQ_COLUMNS = ["concept", "dataset", "pretraining", "method", "variant", "count"]


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
    """Count concepts in the captions of a corpus (variants: :mod:`wag.frequency.spec`; outputs: the module docstring).

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
        [shard_tag(s, spec, {k: v for k, v in opts.items() if k != "batch_size"}) for s in shards]
        if out
        else [None] * len(shards)
    )
    results: dict[int, ShardResult] = {}
    if out is not None:
        for i, tag in enumerate(tags):
            done = load_shard(out, tag)
            if done is not None:
                results[i] = done
    todo = [i for i in range(len(shards)) if i not in results]
    bar = tqdm(
        total=_known_rows(shards),
        unit="captions",
        unit_scale=True,
        desc=f"count {variant}",
        disable=not progress,
        smoothing=0.1,
    )
    bar.update(sum(r.n_captions for r in results.values()))
    job = ShardJob(spec, opts, str(out) if out else None)
    items = [(shards[i], tags[i]) for i in todo]
    if backend == "threads":
        engine_for(spec)  # built once, shared by the threads
        lock = threading.Lock()

        def run(item: tuple[Shard, str | None]) -> ShardResult:
            seen = [0]

            def tick(k: int) -> None:
                seen[0] += k
                with lock:
                    bar.update(k)

            res = job(item, tick)
            with lock:
                bar.update(res.n_captions - seen[0])  # a shard that failed midway
            return res

        counted = map_shards(run, items, workers=workers, thread_name_prefix="wag-count")
    else:  # the bar moves shard by shard
        if backend == "processes":
            engine_for(spec)  # built once here; forked workers inherit it
        counted = map_shards(
            job,
            items,
            backend=backend,
            workers=workers,
            client=client,
            initializer=_worker_init,
            start_method=_START_METHOD,
            on_result=lambda _, r: bar.update(r.n_captions),
        )
    bar.close()
    results.update(zip(todo, counted, strict=True))
    ordered = [results[i] for i in range(len(shards))]
    return combine(ordered, spec, table, variant, pretraining or _pretraining_name(corpus), out)


#: ``fork`` where available (workers start at once and share the built engine), else ``spawn``.
_START_METHOD = "fork" if os.name == "posix" and "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _worker_init() -> None:
    """One Arrow thread per worker process: the processes already use every core."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _known_rows(shards: list[Shard]) -> int | None:
    if not shards or any(s.fmt != "parquet" for s in shards):
        return None
    try:
        return sum(pq.ParquetFile(s.path).metadata.num_rows for s in shards)
    except Exception:  # noqa: BLE001 - an unreadable shard is reported later, with its reason
        return None


def _pretraining_name(corpus) -> str:
    if isinstance(corpus, (str, os.PathLike)):
        p = Path(str(corpus))
        return (p if p.is_dir() else p.parent).name or "corpus"
    return "corpus"


def combine(
    results: list[ShardResult], spec: Spec, table: pd.DataFrame, variant: str, pretraining: str, out: Path | None
) -> CountResult:
    """The corpus counts of the shard ``results`` (in shard order): counts summed (paper variants: an alternative
    counts only in shards where the same query words are present as in the whole corpus, as the paper's global index
    did), hits concatenated, and with ``out`` the count folder written (``counts.parquet``, ``hits.parquet``,
    ``summary.json``). Raises :class:`FrequencyError` when no shard could be read."""
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
            t = shard_hits(r)
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
