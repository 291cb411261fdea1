"""Reading the released files: wag.artifacts readers vs a plain json.load loop, side by side.

    WAG_PAPER_ARTIFACTS=../shared/paper-artifacts .venv/bin/python benchmarks/read_artifacts.py

"baseline" = the paper notebooks' way: json.load every file, append one dict per concept, one DataFrame
at the end (no key reconciliation, no validation). "ours, cold" = wag.artifacts with a fresh cache
(validation + reconciled keys + Parquet cache write); "ours, warm" = the same call again (cache hit).
Each number is the best of ``--repeat`` runs, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def best(fn: Callable[[], object], repeat: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def baseline_counts(root: Path) -> pd.DataFrame:
    rows = []
    for p in sorted((root / "search_counts").glob("*_search_counts.json")):
        with p.open() as fh:
            for k, v in json.load(fh).items():
                rows.append({"file": p.name, "concept": k, "count": v})
    return pd.DataFrame(rows)


def baseline_zero_shot(root: Path) -> pd.DataFrame:
    rows = []
    for p in sorted((root / "zero_shot_evaluations").glob("*_results.json")):
        with p.open() as fh:
            for mk, res in json.load(fh).items():
                for k, v in res["classwise"].items():
                    rows.append({"file": p.name, "model": mk, "concept": k, "value": v / 100})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="wag_bench_cache_"))
    os.environ["WAG_CACHE"] = str(cache)
    import wag.artifacts as A

    root = A.paper_root()

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir()

    n_files = len(list((root / "search_counts").glob("*.json")))
    print(f"released files at {root}; {n_files} search-count files")
    print(f"{'table':<22}{'rows':>9}{'baseline s':>12}{'ours cold s':>13}{'ours warm s':>13}")
    for name, base, ours in (
        ("search_counts", baseline_counts, A.read_search_counts),
        ("zero_shot", baseline_zero_shot, A.read_zero_shot),
    ):
        rows = len(ours(root))
        b = best(lambda base=base: base(root), args.repeat)
        cold = best(lambda ours=ours: ours(root), args.repeat, before=clear)
        ours(root)
        warm = best(lambda ours=ours: ours(root), args.repeat)
        print(f"{name:<22}{rows:>9}{b:>12.2f}{cold:>13.2f}{warm:>13.2f}")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
