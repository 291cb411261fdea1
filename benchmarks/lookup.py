"""`wag lookup dog cat axolotl --json` on the released files: where the time goes, cold and warm, beside a baseline.

    WAG_PAPER_ARTIFACTS=../shared/paper-artifacts .venv/bin/python benchmarks/lookup.py [--profile default] [--repeat 3]

"baseline" = answering the same question with the existing public calls, no lookup cache: the source's counts, its
joined classification and retrieval tables (those readers keep their own caches, warm here), filtered to the three
concepts. "lookup, cold" = :func:`wag.sources.lookup.lookup` with its tables rebuilt (``refresh``); "lookup, warm"
= the same with its cache hit (what a second `wag lookup` pays after the imports). "command, warm" runs the
whole command in a fresh interpreter (imports + profile + lookup + JSON), and "imports" the command's imports
alone. Each number is the best of ``--repeat`` runs, in seconds (wall) and CPU seconds of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable

CONCEPTS = ["dog", "cat", "axolotl"]


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run)."""
    out = []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        fn()
        out.append((time.perf_counter() - t, time.process_time() - c))
    return min(out)


def child(argv: list[str], repeat: int) -> tuple[float, float]:
    """Best wall seconds of a fresh interpreter running ``argv`` and that run's user+system CPU seconds."""
    out = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=os.environ)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.append((time.perf_counter() - t, cpu))
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from wag.run.profile import load_profile
    from wag.sources import open_source
    from wag.sources.lookup import lookup, lookup_tables

    src = open_source(load_profile(args.profile))
    lookup(src, CONCEPTS)  # warm every reader's cache first

    def baseline() -> None:
        f = src.frequencies()
        f[f["key"].isin(CONCEPTS)]
        for j, _ in (src.classification(prompts="class"), src.retrieval(directions="t2i", ks=10)):
            j[j["key"].isin(CONCEPTS)]

    rows = [
        ("baseline (source tables, filtered)", best(baseline, args.repeat)),
        (
            "lookup, cold (tables rebuilt)",
            best(lambda: lookup(src, CONCEPTS, tables=lookup_tables(src, refresh=True)), 1),
        ),
        ("lookup, warm", best(lambda: lookup(src, CONCEPTS), args.repeat)),
        (
            "command, warm (fresh interpreter)",
            child(
                [sys.executable, "-m", "wag.cli", "lookup", *CONCEPTS, "--json", "--profile", args.profile], args.repeat
            ),
        ),
        ("imports of the command", child([sys.executable, "-c", "import wag.run.profile, wag.sources"], args.repeat)),
    ]
    load = os.getloadavg()[0]
    print(
        f"wag lookup {' '.join(CONCEPTS)} --json, profile {args.profile}; load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':<38}{'wall s':>9}{'CPU s':>9}")
    for name, (wall, cpu) in rows:
        print(f"{name:<38}{wall:9.2f}{cpu:9.2f}")


if __name__ == "__main__":
    main()
