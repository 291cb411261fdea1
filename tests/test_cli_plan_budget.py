"""``wag plan --budget``: bad input is one line (exit 2, before any work); on the released files, the three
allocations side by side with the counts of the released files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wag.cli import main

RELEASED = Path(os.environ.get("WAG_PAPER_ARTIFACTS", "/nonexistent"))


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture(autouse=True)
def quiet(tmp_path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("WAG_DEBUG", raising=False)


@pytest.mark.parametrize("budget", ["0", "-5", "2.5", "lots", "1e6"])
def test_budget_that_is_not_a_positive_integer(capsys, budget):
    assert main(["plan", "--budget", budget]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--budget" in line and ("positive integer" in line or "whole number" in line)


def test_empty_concept_file(tmp_path, capsys):
    f = tmp_path / "concepts.txt"
    f.write_text("# only a comment\n\n", encoding="utf-8")
    assert main(["plan", "--budget", "100", "--concepts", str(f)]) == 2
    assert "lists no concept" in _one_error_line(capsys.readouterr().err)


def test_unknown_profile(capsys):
    assert main(["plan", "--budget", "100", "--profile", "no-such-profile"]) == 2
    assert "no-such-profile" in _one_error_line(capsys.readouterr().err)


def test_budget_with_a_target_is_ambiguous(capsys):
    assert main(["plan", "--budget", "100", "--concept", "dog", "--target", "0.5"]) == 2
    assert "--budget" in _one_error_line(capsys.readouterr().err)


def test_bad_cap(capsys):
    assert main(["plan", "--budget", "100", "--cap", "-1"]) == 2
    assert "--cap" in _one_error_line(capsys.readouterr().err)


released = pytest.mark.skipif(not (RELEASED / "search_counts").exists(), reason="the paper's released files are absent")


@released
def test_budget_on_the_released_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(RELEASED))
    f = tmp_path / "concepts.txt"
    f.write_text("dog\ncat\naxolotl\nturtle\n", encoding="utf-8")
    argv = ["plan", "--budget", "5000", "--concepts", str(f), "--model", "cc3m/RN50", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["rows"]
    assert {r["strategy"] for r in rows} == {"planner", "uniform", "balanced"}
    for s in ("planner", "uniform", "balanced"):
        assert sum(r["added"] for r in rows if r["strategy"] == s) == 5000
    by = {r["strategy"]: r for r in out["summary"]}
    assert by["planner"]["predicted_gain"] >= by["uniform"]["predicted_gain"]
    # the counts are the lookup's (the released files' integrated counts of cc3m)
    assert main(["lookup", "dog", "--model", "cc3m/RN50", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    dog = [r for r in rows if r["strategy"] == "uniform" and r["concept"] in ("dog", "dogs")][0]
    ct = out["law"]["count_type"]
    counts = [c["count"] for c in _cards(card)[0]["counts"] if c["pretraining"] == "cc3m" and c["count_type"] == ct]
    assert counts and dog["count_before"] == counts[0]
    # the terminal table and the files of --out (tables and chart through the report writer)
    out_dir = tmp_path / "plans"
    assert main(["plan", "--budget", "5000", "--concepts", str(f), "--model", "cc3m/RN50", "--out", str(out_dir)]) == 0
    text = capsys.readouterr().out
    assert "planner" in text and "uniform" in text and "balanced" in text and "threshold t" in text
    for name in (
        "budget_5000.csv",
        "budget_5000.md",
        "budget_5000_concepts.csv",
        "budget_5000.png",
        "budget_5000.html",
    ):
        assert (out_dir / "plan" / name).is_file(), name
    # unknown concept: one line with the nearest names
    f.write_text("dogg\n", encoding="utf-8")
    assert main(["plan", "--budget", "10", "--concepts", str(f), "--model", "cc3m/RN50"]) == 2
    assert "dogg" in _one_error_line(capsys.readouterr().err)


def _cards(payload):
    return payload["concepts"]
