"""Caption counting speed: ours (vectorised phrase search) vs the paper's algorithm vs Aho-Corasick vs a raw scan.

    .venv/bin/python benchmarks/count_captions.py                 # 1M generated captions x ~4,000 concepts
    .venv/bin/python benchmarks/count_captions.py --big 10        # the same corpus 10x (10M captions): peak RSS
    .venv/bin/python benchmarks/count_captions.py --record        # also write the text-count throughput to
                                                                  # wag/data/throughput.json (notebook 2, Tab. 10)

The corpus is generated once (wag.frequency.generate, the paper's class names) and cached under
``.cache/wag/bench_corpus_<n>``. Every method runs in its own fresh
Python process, so each pays its own cold start (lemminflect data, concept parsing, empty caches).
"paper algorithm" = a straightforward inverted unigram index (dict token -> caption ids, built
caption by caption with the same normaliser, chunk cache on) and posting-set intersection per
concept, single process, as in the official code; timed end to end from the same shards as ours
("paper") and with its captions read into memory before its clock starts ("paper-inmem").
"Aho-Corasick" = MetaCLIP's substring matching (``substr_matching``: punctuation spaced out, every key
wrapped in spaces, one pyahocorasick automaton, ``automaton.iter`` called per caption) over the same phrase
list ours searches (every concept's alternatives and compound spellings, normalised), two ways: on the
case-folded caption as written ("aho", MetaCLIP's method: plurals and other inflections are missed), and on
the caption normalised by wag's normaliser ("aho-norm": the same tokens as ours, so the same hits; the
difference is only the per-caption Python loop). Both from the same shards, clock started before reading.
"raw scan" = one Arrow substring search over the same captions already in memory (speed-of-light
reference).
Ratios are given per wall second and per CPU-second (user + system, the process and its threads): the
machine may be shared, so CPU-seconds are the fairer comparison; the load average is printed at both ends.

The generated truth lists a concept under every spelling of the concept list; counting merges names equal
after NFKC, case folding and whitespace collapsing into their first spelling (docs/frequency.md, "Duplicate
rule": `skiing`/`Skiing`, `iPod`/`ipod` are one concept), so the truth is merged the same way before
precision and recall are computed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wag.artifacts import locate_paper_root
from wag.concepts import chunk_tokens, fold_name, normalize_tokens
from wag.core.errors import WagWarning
from wag.core.paths import cache_dir
from wag.frequency import as_concept_table, build_spec, count_captions
from wag.frequency.generate import generate_captions, paper_class_names, write_caption_shards


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory (MB): the max of this process and of any finished child (a worker).

    This process's own peak is read from ``/proc/self/status`` (``VmHWM``, per address space):
    Linux carries ``ru_maxrss`` over ``exec``, so a child started by a big parent would otherwise
    report the parent's peak as its own.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        pass
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def concepts(n: int) -> list[str]:
    root = locate_paper_root()
    names = paper_class_names(root) if root is not None else []
    if len(names) < n:  # pad with made-up two-word names (no released files, or asked for more)
        rng = np.random.default_rng(0)
        syll = ["kan", "lor", "mit", "nep", "rud", "tav", "vok", "zim", "pel", "sug"]
        while len(names) < n:
            names.append(" ".join("".join(rng.choice(syll, 2)) for _ in range(int(rng.integers(1, 3)))))
    return list(dict.fromkeys(names))[:n]


def corpus(n: int, names: list[str], shards: int) -> Path:
    d = cache_dir() / f"bench_corpus_v2_{n}_{len(names)}_{shards}"  # v2: compound-aware truth
    if not (d / "DONE").is_file():
        shutil.rmtree(d, ignore_errors=True)
        t = time.time()
        caps, truth = generate_captions(names, n, seed=0)
        write_caption_shards(caps, d, n_shards=shards)
        truth.to_parquet(d / "truth.parquet.gt")
        (d / "DONE").write_text("ok")
        print(f"generated {n:,} captions in {time.time() - t:.0f} s -> {d}")
    return d


def merged_truth(truth: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The generated truth with case-duplicate names merged into their first spelling, as counting merges them."""
    keep: dict[str, str] = {}
    for n in names:
        keep.setdefault(fold_name(n), n)
    merged = truth.assign(concept=truth["concept"].map(lambda c: keep[fold_name(c)]))
    return merged.drop_duplicates(["concept", "sample_id"], ignore_index=True)


_METACLIP_PUNCT = (",", ".", ";", ":", "?", "!", "`")


def _metaclip_spacing(text: str) -> str:
    """MetaCLIP's ``spacing``: punctuation wrapped in spaces, tabs and newlines to spaces, the text padded."""
    text = f" {text} "
    for p in _METACLIP_PUNCT:
        text = text.replace(p, f" {p} ")
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def aho_corasick_baseline(
    captions: list[str], names: list[str], *, normalise: bool
) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """MetaCLIP-style Aho-Corasick over ours' phrase list, per caption: counts, and hits (concept index, sample row)."""
    import ahocorasick

    spec = build_spec(as_concept_table(names), "phrase")
    automaton = ahocorasick.Automaton()
    owners: dict[str, set[int]] = {}
    for ci, alts in enumerate(spec.alternatives):
        for a in alts:
            owners.setdefault(f" {a} ", set()).add(ci)
    for key, cis in owners.items():
        automaton.add_word(key, tuple(sorted(cis)))
    automaton.make_automaton()
    con: list[int] = []
    row: list[int] = []
    for i, cap in enumerate(captions):
        text = f" {' '.join(normalize_tokens(cap))} " if normalise else _metaclip_spacing(cap.casefold())
        found: set[int] = set()
        for _end, cis in automaton.iter(text):
            found.update(cis)
        con.extend(found)
        row.extend([i] * len(found))
    c = np.asarray(con, np.int64)
    counts = np.bincount(c, minlength=len(spec.names))
    return dict(zip(spec.names, counts.tolist(), strict=True)), c, np.asarray(row, np.int64)


def paper_baseline(captions: list[str], names: list[str]) -> dict[str, int]:
    """Inverted unigram index + posting intersection (the paper's algorithm), our normaliser, one process."""
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
    return counts


METHODS = {
    "threads": "ours: phrase, 2 threads (default backend)",
    "processes": "ours: phrase, 2 processes",
    "single": "ours: phrase, 1 worker",
    "single-warm": "ours: phrase, 1 worker, 2nd run (warm caches)",
    "scan": "raw scan: one literal ('dog'), in memory",
    "aho": "Aho-Corasick (MetaCLIP): caption as written",
    "aho-norm": "Aho-Corasick: caption normalised by wag",
    "paper": "paper algorithm: unigram index + intersection",
    "paper-warm": "paper algorithm, 2nd run (warm caches)",
    "paper-inmem": "paper algorithm, captions already in memory",
}
WARM = {"single-warm": "single", "paper-warm": "paper"}  # measured by the second run of the same process


def run_method(method: str, shards: list[Path], names: list[str], workers: int, out: Path) -> None:
    """Time one method in this (fresh) process; write ``out`` (JSON) with wall/CPU seconds and results.

    Timing starts after imports, before any lemminflect data or concept is loaded, for every method.
    """
    res: dict = {}
    c0, t0 = _cpu(), time.time()
    if method in ("threads", "processes", "single"):
        backend = "processes" if method == "processes" else "threads"
        r = count_captions(
            shards,
            names,
            variant="phrase",
            workers=1 if method == "single" else workers,
            backend=backend,
            progress=False,
        )
        res["wall"], res["cpu"] = time.time() - t0, _cpu() - c0
        res["counts"] = dict(zip(r.counts["concept"], r.counts["count"].tolist(), strict=True))
        if method == "single":
            c1, t1 = _cpu(), time.time()
            count_captions(shards, names, variant="phrase", workers=1, progress=False)
            res["warm"] = {"wall": time.time() - t1, "cpu": _cpu() - c1}
            r.hits.to_parquet(out.with_suffix(".hits.parquet"))
    elif method == "scan":
        caps = (
            pa.concat_tables([pq.read_table(s, columns=["caption"]) for s in shards]).column("caption").combine_chunks()
        )
        c0, t0 = _cpu(), time.time()
        res["n_dog"] = pc.sum(pc.match_substring(caps, "dog")).as_py()
        res["wall"], res["cpu"] = time.time() - t0, _cpu() - c0
    elif method in ("aho", "aho-norm"):
        tables = [pq.read_table(s, columns=["caption", "sample_id"]) for s in shards]
        caps = [c for t in tables for c in t.column("caption").to_pylist()]
        ids = [i for t in tables for i in t.column("sample_id").to_pylist()]
        res["counts"], con, rows = aho_corasick_baseline(caps, names, normalise=method == "aho-norm")
        res["wall"], res["cpu"] = time.time() - t0, _cpu() - c0
        spec_names = list(res["counts"])
        pd.DataFrame({"concept": [spec_names[i] for i in con], "sample_id": [ids[r] for r in rows]}).to_parquet(
            out.with_suffix(".hits.parquet")
        )
    elif method in ("paper", "paper-inmem"):
        # "paper": end to end from the same Parquet shards as ours (reading inside the clock, like ours);
        # "paper-inmem": the captions are read into a Python list before the clock starts (index + search only)
        if method == "paper-inmem":
            caps = (
                pa.concat_tables([pq.read_table(s, columns=["caption"]) for s in shards]).column("caption").to_pylist()
            )
            c0, t0 = _cpu(), time.time()
        else:
            caps = [c for s in shards for c in pq.read_table(s, columns=["caption"]).column("caption").to_pylist()]
        res["counts"] = paper_baseline(caps, names)
        res["wall"], res["cpu"] = time.time() - t0, _cpu() - c0
        if method == "paper":  # a second count in the same process (like ours' "single-warm")
            c1, t1 = _cpu(), time.time()
            caps = [c for s in shards for c in pq.read_table(s, columns=["caption"]).column("caption").to_pylist()]
            paper_baseline(caps, names)
            res["warm"] = {"wall": time.time() - t1, "cpu": _cpu() - c1}
    else:
        raise SystemExit(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    res["peak_rss_mb"] = peak_rss_mb()
    out.write_text(json.dumps(res))


def _median_run(rs: list[dict]) -> dict:
    """The run with the median wall time (its results and peak RSS), with the median wall and CPU seconds of all runs
    (the CPU median taken on its own: a run slowed by the shared machine is not always the one that used more CPU)."""
    mid = sorted(rs, key=lambda r: r["wall"])[len(rs) // 2]
    return {**mid, "cpu": sorted(r["cpu"] for r in rs)[len(rs) // 2]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="captions (default 1M)")
    ap.add_argument("--concepts", type=int, default=4000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--big",
        type=int,
        default=0,
        metavar="K",
        help="instead: count the corpus repeated K times (K=10: 10M captions), hits to disk, and report peak RSS",
    )
    ap.add_argument("--skip-baseline", action="store_true", help="skip the paper's algorithm and Aho-Corasick")
    ap.add_argument(
        "--record",
        action="store_true",
        help="write ours' throughput (2 threads: captions per second and per CPU-second) to wag/data/throughput.json",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fresh-process runs per method, interleaved; the median is reported (default 3)",
    )
    ap.add_argument(
        "--run", default=None, choices=sorted(METHODS), help=argparse.SUPPRESS
    )  # internal: one method, fresh process
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    names = concepts(args.concepts)
    d = corpus(args.n, names, args.shards)
    shards = sorted(d.glob("shard-*.parquet"))
    if args.run:
        warnings.simplefilter("ignore", WagWarning)  # the case-duplicate merge, reported once by the parent
        run_method(args.run, shards, names, args.workers, Path(args.out))
        return 0
    if args.big:
        big_run(args, names, shards)
        return 0
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}")
    print(
        f"corpus: {args.n:,} captions in {len(shards)} Parquet shards; {len(names):,} concepts; {os.cpu_count()} cores"
    )
    print("each method runs in a fresh Python process (cold: lemminflect data, concept parsing and caches included)")

    runs: dict[str, list[dict]] = {}
    methods = [m for m in METHODS if m not in WARM and not (args.skip_baseline and m.startswith(("paper", "aho")))]
    hits: dict[str, pd.DataFrame] = {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for _round in range(args.repeats):  # round robin, so a slow spell of the machine hits every method alike
            for method in methods:
                out = Path(tmp) / f"{method}.json"
                cmd = [
                    sys.executable,
                    __file__,
                    "--run",
                    method,
                    "--out",
                    str(out),
                    "--n",
                    str(args.n),
                    "--concepts",
                    str(args.concepts),
                    "--shards",
                    str(args.shards),
                    "--workers",
                    str(args.workers),
                ]
                subprocess.run(cmd, check=True)
                runs.setdefault(method, []).append(json.loads(out.read_text()))
        for m in ("single", "aho", "aho-norm"):
            if (Path(tmp) / f"{m}.hits.parquet").is_file():
                hits[m] = pd.read_parquet(Path(tmp) / f"{m}.hits.parquet")
    for warm, cold in WARM.items():
        if cold in runs:
            runs[warm] = [r["warm"] for r in runs[cold]]
    results = {m: _median_run(rs) for m, rs in runs.items()}
    print(
        f"medians of {args.repeats} fresh-process runs per method (wall and CPU seconds each); wall seconds of every run:"
    )
    for m, rs in runs.items():
        print(f"  {m:<12} " + "  ".join(f"{r['wall']:.2f}" for r in rs))

    print(
        f"\n{'method':<52} {'wall s':>7} {'captions/s':>11} {'400M (h)':>9} {'CPU s':>7} {'captions/CPU-s':>15} {'peak RSS MB':>12}"
    )
    for m, r in results.items():
        rate = args.n / r["wall"]
        rss = f"{r['peak_rss_mb']:12,.0f}" if "peak_rss_mb" in r else f"{'':>12}"
        print(
            f"{METHODS[m]:<52} {r['wall']:7.2f} {rate:11,.0f} {4e8 / rate / 3600:9.2f} {r['cpu']:7.2f} {args.n / max(r['cpu'], 1e-9):15,.0f} {rss}"
        )
    t_ours = results["threads"]["wall"]
    for m in ("threads", "processes", "single"):
        assert results[m]["counts"] == results["single"]["counts"], f"{m} counts differ from the 1-worker run"
    what = {
        "paper": "end to end from the shards, both cold",
        "paper-inmem": "baseline's captions read before its clock",
        "aho": "end to end from the shards, both cold",
        "aho-norm": "end to end from the shards, both cold",
    }
    for base in what:
        if base not in results:
            continue
        t_base = results[base]["wall"]
        print(
            f"\nours vs {METHODS[base]} (medians; {what[base]}): wall {t_base / t_ours:.1f}x ({args.workers} threads), "
            f"{t_base / results['processes']['wall']:.1f}x ({args.workers} processes), {t_base / results['single']['wall']:.1f}x (1 worker); "
            f"per CPU-second (1 worker): {results[base]['cpu'] / results['single']['cpu']:.1f}x"
        )
        per_round = sorted(p["wall"] / t["wall"] for p, t in zip(runs[base], runs["threads"], strict=True))
        per_cpu = sorted(p["cpu"] / t["cpu"] for p, t in zip(runs[base], runs["single"], strict=True))
        print(
            f"  per round, wall ({base} / {args.workers} threads): "
            + ", ".join(f"{r:.1f}x" for r in per_round)
            + f"; CPU ({base} / 1 worker): "
            + ", ".join(f"{r:.1f}x" for r in per_cpu)
        )
    if "paper-warm" in results:
        print(
            "\nours vs the paper algorithm, each counting the corpus a second time in its process (concepts parsed, "
            "words normalised: the per-caption work, which is what grows with a corpus): per CPU-second "
            f"{results['paper-warm']['cpu'] / results['single-warm']['cpu']:.1f}x, wall "
            f"{results['paper-warm']['wall'] / results['single-warm']['wall']:.1f}x (1 worker)"
        )
    print(
        f"ours (2 threads) / raw scan time: {t_ours / results['scan']['wall']:.1f}x (a single literal, no tokenisation; {results['scan']['n_dog']:,} hits)"
    )
    ours = results["single"]["counts"]
    if "paper" in results:
        base = results["paper"]["counts"]
        diff = sum(ours[k] != v for k, v in base.items())
        print(
            f"concepts whose count differs (contiguous phrase vs AND of words in any order): {diff:,} of {len(ours):,}"
        )
    pairs = {m: set(zip(h["concept"], h["sample_id"], strict=True)) for m, h in hits.items()}
    for m in ("aho", "aho-norm"):
        if m in results:
            same = sum(results[m]["counts"][k] == v for k, v in ours.items())
            both = len(pairs[m] & pairs["single"])
            print(
                f"count agreement, ours vs {METHODS[m]}: {same:,} of {len(ours):,} concepts the same count; "
                f"(concept, caption) hits: {both:,} shared, {len(pairs['single']) - both:,} only ours, "
                f"{len(pairs[m]) - both:,} only Aho-Corasick"
            )
    truth = merged_truth(pd.read_parquet(d / "truth.parquet.gt"), names)
    n_dup = len(names) - len({fold_name(n) for n in names})
    print(f"{n_dup} case-duplicate concept names merged into their first spelling, in counting and in the truth")
    want = set(zip(truth["concept"], truth["sample_id"], strict=True))
    for m, got in pairs.items():
        tp = len(got & want)
        label = "phrase (ours)" if m == "single" else METHODS[m]
        print(
            f"{label} vs generated ground truth (case-duplicate names merged, as counting merges them): "
            f"precision {tp / max(len(got), 1):.4f}, recall {tp / max(len(want), 1):.4f}"
        )
    load_end = os.getloadavg()
    print(f"load average (1, 5, 15 min) at the end: {load_end}")
    if args.record:
        from throughput_record import command, record  # benchmarks/ is this script's folder

        r = results["threads"]
        record(
            "text_count",
            {
                "what": f"wag phrase counting, {len(ours):,} concepts (compound rule on), {args.workers} threads, "
                "generated captions in Parquet shards (a closed vocabulary: web captions keep adding new words, "
                "which the normaliser handles in Python, so they count slower)",
                "unit": "captions",
                "per_second": args.n / r["wall"],
                "per_cpu_second": args.n / r["cpu"],
                "workers": args.workers,
                "command": command("count_captions.py", sys.argv[1:]),
                "load": "load average before "
                + " ".join(f"{x:.2f}" for x in load_start)
                + ", after "
                + " ".join(f"{x:.2f}" for x in load_end),
            },
        )
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
    print(
        f"big run: {args.big}x = {args.big * args.n:,} captions in {len(links)} shards, {args.workers} threads (default backend), hits written to disk"
    )
    t = time.time()
    r = count_captions(links, names, workers=args.workers, out_dir=out, progress=False)
    sec = time.time() - t
    print(
        f"{r.n_captions:,} captions in {sec:.1f} s = {r.n_captions / sec:,.0f} captions/s; "
        f"peak RSS {peak_rss_mb():,.0f} MB (max of this process and each worker); load average {os.getloadavg()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
