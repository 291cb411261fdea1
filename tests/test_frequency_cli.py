"""``wag count``: outputs, resumability and one-line errors."""

from __future__ import annotations

import pandas as pd

from wag.cli import main
from wag.frequency.generate import write_caption_shards


def test_wag_count_end_to_end_and_resume(tmp_path, capsys):
    write_caption_shards(
        pd.DataFrame({"sample_id": list("abcd"), "caption": ["a dog", "two dogs", "a cat", "Sea view"]}),
        tmp_path / "c",
        n_shards=2,
        fmt="jsonl",
    )
    (tmp_path / "concepts.txt").write_text("dog\ncat\nSea or Lake\n")
    args = [
        "count",
        "--corpus",
        str(tmp_path / "c"),
        "--concepts",
        str(tmp_path / "concepts.txt"),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    ]
    assert main(args) == 0
    counts = pd.read_parquet(tmp_path / "out" / "counts.parquet").set_index("concept")["count"].to_dict()
    assert counts == {"dog": 2, "cat": 1, "Sea or Lake": 1}
    assert "4 captions" in capsys.readouterr().out
    marker = sorted((tmp_path / "out" / "shards").glob("*.done.json"))
    assert len(marker) == 2
    mtimes = [m.stat().st_mtime_ns for m in marker]
    assert main(args) == 0  # rerun: shards are not recounted (markers untouched)
    assert [m.stat().st_mtime_ns for m in marker] == mtimes


def test_wag_count_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "concepts.txt").write_text("dog\n")
    rc = main(
        [
            "count",
            "--corpus",
            str(tmp_path / "missing"),
            "--concepts",
            str(tmp_path / "concepts.txt"),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    assert rc != 0
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    assert main(["count", "--corpus", "x", "--concepts", "y", "--out", "z", "--variant", "fuzzy"]) == 2
    assert "invalid choice: 'fuzzy'" in capsys.readouterr().err
