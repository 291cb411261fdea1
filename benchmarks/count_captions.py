"""Caption counting speed: ours (vectorised phrase search) vs the paper's algorithm vs a raw scan, side by side.

    .venv/bin/python benchmarks/count_captions.py                 # 1M generated captions x ~4,000 concepts
    .venv/bin/python benchmarks/count_captions.py --big 10        # the same corpus 10x (10M captions): peak RSS

The corpus is generated once (wag.frequency.generate, the paper's class names) and cached under
``.cache/wag/bench_corpus_<n>``. "paper algorithm" = a straightforward inverted unigram index
(dict token -> caption ids, built caption by caption with the same normaliser, chunk cache on) and
posting-set intersection per concept, single process, as in the official code. "raw scan" = one
Arrow substring search over the same captions already in memory (speed-of-light reference).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wag.concepts import chunk_tokens
from wag.frequency import count_captions
from wag.frequency.count import as_concept_table, build_spec
from wag.frequency.generate import generate_captions, paper_class_names, write_caption_shards
from wag.paths import cache_dir


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of any finished child (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def concepts(n: int) -> list[str]:
    names = paper_class_names()
    if len(names) < n:  # pad with made-up two-word names (no released files, or asked for more)
        rng = np.random.default_rng(0)
        syll = ["kan", "lor", "mit", "nep", "rud", "tav", "vok", "zim", "pel", "sug"]
        while len(names) < n:
            names.append(" ".join("".join(rng.choice(syll, 2)) for _ in range(int(rng.integers(1, 3)))))
    return list(dict.fromkeys(names))[:n]


def corpus(n: int, names: list[str], shards: int) -> Path:
    d = cache_dir() / f"bench_corpus_{n}_{len(names)}_{shards}"
    if not (d / "DONE").is_file():
        shutil.rmtree(d, ignore_errors=True)
        t = time.time()
        caps, truth = generate_captions(names, n, seed=0)
        write_caption_shards(caps, d, n_shards=shards)
        truth.to_parquet(d / "truth.parquet.gt")
        (d / "DONE").write_text("ok")
        print(f"generated {n:,} captions in {time.time() - t:.0f} s -> {d}")
    return d


def paper_baseline(captions: list[str], names: list[str]) -> tuple[dict[str, int], float]:
    """Inverted unigram index + posting intersection (the paper's algorithm), our normaliser, one process."""
    t = time.time()
    index: dict[str, list[int]] = {}
    for i, cap in enumerate(captions):
        toks = set()
        for chunk in cap.split():
            toks.update(chunk_tokens(chunk, True))
        for tok in toks:
            index.setdefault(tok, []).append(i)
    spec = build_spec(as_concept_table(names), "phrase")
    counts = {}
    for name, alts in zip(spec.names, spec.alternatives, strict=True):
        hits: set[int] = set()
        for a in alts:
            posts = [index.get(w) for w in a.split()]
            if posts and all(p is not None for p in posts):
                hits |= set.intersection(*(set(p) for p in posts))
        counts[name] = len(hits)
    return counts, time.time() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="captions (default 1M)")
    ap.add_argument("--concepts", type=int, default=4000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--big", type=int, default=0, metavar="K", help="instead: count the corpus repeated K times (K=10: 10M captions), hits to disk, and report peak RSS")
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args(argv)

    names = concepts(args.concepts)
    d = corpus(args.n, names, args.shards)
    shards = sorted(d.glob("shard-*.parquet"))
    if args.big:
        big_run(args, names, shards)
        return 0
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}")
    print(f"corpus: {args.n:,} captions in {len(shards)} Parquet shards; {len(names):,} concepts; {os.cpu_count()} cores")

    rows = []  # (name, wall seconds, cpu seconds of this process + its workers)

    def timed(fn):
        c0 = _cpu()
        t0 = time.time()
        out = fn()
        return out, time.time() - t0, _cpu() - c0

    res, t_ours, c_ours = timed(lambda: count_captions(shards, names, variant="phrase", workers=args.workers, progress=False))
    rows.append((f"ours: phrase, {args.workers} processes, cold (read+count+hits)", t_ours, c_ours))
    res1, t1, c1 = timed(lambda: count_captions(shards, names, variant="phrase", workers=1, progress=False))
    rows.append(("ours: phrase, 1 process, cold", t1, c1))
    _, t1w, c1w = timed(lambda: count_captions(shards, names, variant="phrase", workers=1, progress=False))
    rows.append(("ours: phrase, 1 process, warm caches", t1w, c1w))
    assert res1.counts["count"].tolist() == res.counts["count"].tolist()

    table = pa.concat_tables([pq.read_table(s, columns=["caption"]) for s in shards])
    caps = table.column("caption").combine_chunks()
    n_dog, t_scan, c_scan = timed(lambda: pc.sum(pc.match_substring(caps, "dog")).as_py())
    rows.append(("raw scan: one literal ('dog'), in memory", t_scan, c_scan))

    base_counts = None
    if not args.skip_baseline:
        (base_counts, _), t_base, c_base = timed(lambda: paper_baseline(caps.to_pylist(), names))
        rows.append(("paper algorithm: unigram index + intersection", t_base, c_base))

    print(f"\n{'method':<52} {'wall s':>7} {'captions/s':>11} {'400M (h)':>9} {'CPU s':>7} {'captions/CPU-s':>15}")
    for name, sec, cpu in rows:
        rate = args.n / sec
        print(f"{name:<52} {sec:7.2f} {rate:11,.0f} {4e8 / rate / 3600:9.2f} {cpu:7.2f} {args.n / max(cpu, 1e-9):15,.0f}")
    best = min(t_ours, t1w)
    print(f"\nestimate for 2 idle cores (2 x captions per CPU-second of the warm 1-process run): {2 * args.n / c1w:,.0f} captions/s"
          f" -> 400M in {4e8 / (2 * args.n / c1w) / 3600:.2f} h")
    if base_counts:
        print(f"ours vs paper algorithm (wall): {t_base / t_ours:.1f}x ({args.workers} processes, cold), {t_base / t1w:.1f}x (1 process, warm);"
              f" per CPU-second: {c_base / c1w:.1f}x")
    print(f"ours / raw scan time: {best / t_scan:.1f}x (a single literal, no tokenisation; {n_dog:,} hits)")
    if base_counts:
        ours = dict(zip(res.counts["concept"], res.counts["count"], strict=True))
        diff = sum(ours[k] != v for k, v in base_counts.items())
        print(f"concepts whose count differs (contiguous phrase vs AND of words in any order): {diff:,} of {len(names):,}")
    truth = pd.read_parquet(d / "truth.parquet.gt")
    got = set(zip(res.hits["concept"], res.hits["sample_id"], strict=True))
    want = set(zip(truth["concept"], truth["sample_id"], strict=True))
    tp = len(got & want)
    print(f"phrase vs generated ground truth: precision {tp / max(len(got), 1):.4f}, recall {tp / max(len(want), 1):.4f}")
    print(f"peak RSS so far (max of this process and any worker): {peak_rss_mb():,.0f} MB")

    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    return 0


def big_run(args, names: list[str], shards: list[Path]) -> int:
    """Count the corpus repeated ``args.big`` times with hits written to disk; report peak RSS (fresh process)."""
    big = cache_dir() / f"bench_big_{args.n}_{args.big}"
    big.mkdir(exist_ok=True)
    links = []
    for k in range(args.big):
        for s in shards:
            link = big / f"r{k:02d}-{s.name}"
            if not link.exists():
                link.symlink_to(s)
            links.append(link)
    out = big / "out"
    shutil.rmtree(out, ignore_errors=True)
    print(f"big run: {args.big}x = {args.big * args.n:,} captions in {len(links)} shards, {args.workers} processes, hits written to disk")
    t = time.time()
    r = count_captions(links, names, workers=args.workers, out_dir=out, progress=False)
    sec = time.time() - t
    print(f"{r.n_captions:,} captions in {sec:.1f} s = {r.n_captions / sec:,.0f} captions/s; "
          f"peak RSS {peak_rss_mb():,.0f} MB (max of this process and each worker); load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
