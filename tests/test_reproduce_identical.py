"""Two `wag reproduce --profile ci` runs on different thread counts and hash seeds give byte-identical tables.

Issue 13 part 5: a second `make reproduce` on another machine changed released-file fits in their last
digits, every index.json (its write time), rows with equal sort keys and every number of the trained image
tagger. Each run here has its own cache (so the second one recomputes everything: synthetic world, trained
tagger, counts) and its own OMP/MKL thread count and PYTHONHASHSEED. The two runs go in parallel.

Notebooks (a subset of `ci`, to keep `make test` short): ``2_concepts_and_frequency`` (the trained tagger on the
synthetic world, counts vs ground truth with tied sort keys) and ``6_let_it_wag`` (released-file fits, Fig. 6).

Compared: every ``.csv``, ``.md`` and ``.json`` under the output folder. Excluded: ``notebooks/`` (the executed
notebooks and the run manifest hold run times, durations, paths and environment variables by design) and any
``timings`` table (wall times). Figures (PNG/SVG/HTML) are not compared.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["2_concepts_and_frequency", "6_let_it_wag"]
TABLE_SUFFIXES = (".csv", ".md", ".json")


def _released_files() -> bool:
    from wag.artifacts import ArtifactsMissingError, neglected_tails_root, paper_root

    try:
        paper_root()
        neglected_tails_root()
    except ArtifactsMissingError:
        return False
    return True


def _run(out: Path, cache: Path, threads: int, hash_seed: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "WAG_CACHE": str(cache),
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "PYTHONHASHSEED": str(hash_seed),
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        }
    )
    cmd = [sys.executable, "-m", "wag.cli", "reproduce", "--profile", "ci", "--only", *NOTEBOOKS, "--out", str(out)]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)


def _tables(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and p.suffix in TABLE_SUFFIXES and rel.parts[0] != "notebooks" and "timings" not in p.stem:
            out[rel.as_posix()] = p.read_bytes()
    return out


def test_two_ci_runs_give_byte_identical_tables(tmp_path: Path) -> None:
    if not _released_files():
        pytest.skip("the paper's released files are not available (set WAG_PAPER_ARTIFACTS / WAG_NEGLECTED_TAILS)")
    runs = [(tmp_path / "a", tmp_path / "cache_a", 1, 0), (tmp_path / "b", tmp_path / "cache_b", 2, 12345)]
    with ThreadPoolExecutor(2) as ex:
        procs = list(ex.map(lambda r: _run(*r), runs))
    for proc in procs:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        assert "without encryption" not in proc.stdout + proc.stderr  # the kernel's TCP warning stays out of the output
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    # the runs produced what they should: tagger tables, released-file fits, the counts with tied sort keys
    for name in (
        "2_concepts_and_frequency/synthetic_world_tagger_thresholds.csv",
        "2_concepts_and_frequency/counted_vs_truth_data.csv",
        "6_let_it_wag/fig6_fits.csv",
        "6_let_it_wag/index.json",
        "README.md",
    ):
        assert name in a, f"{name} missing; produced: {sorted(a)}"
    assert sorted(a) == sorted(b)
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"files differ between the two runs: {differ}"
    assert b'"written"' not in a["6_let_it_wag/index.json"]  # no write time in committed files
