"""Tab. 10's projection: the throughput record, hours scaled to each set, and scorecard rows that stay not reproducible."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from wag.analysis import scorecard as sc
from wag.analysis.sections import compute_costs as cc

ROOT = Path(__file__).resolve().parents[1]


def _entry(per_second: float, per_cpu_second: float, unit: str = "captions") -> dict:
    return {
        "what": "x",
        "unit": unit,
        "per_second": per_second,
        "per_cpu_second": per_cpu_second,
        "workers": 2,
        "machine": "test box, 2 cores",
        "command": ".venv/bin/python benchmarks/x.py",
        "date": "2026-01-01",
        "load": "load average 0.00 0.00 0.00",
    }


@pytest.fixture
def record(tmp_path: Path) -> cc.ThroughputRecord:
    p = tmp_path / "throughput.json"
    m = {"text_count": _entry(1_000_000, 600_000), "image_tag": _entry(25, 13, "images")}
    p.write_text(json.dumps({"measurements": m}), encoding="utf-8")
    return cc.read_throughput(p)


def test_projection_scales_each_set_by_its_pairs(record: cc.ThroughputRecord) -> None:
    t = cc.table10(record, sc.paper_reported().by_id()).set_index("pretraining")
    assert list(t.index) == list(cc.SETS)
    laion = t.loc["laion400m"]
    assert laion["pairs"] == 414_080_000 and laion["paper_text_index_h"] == 7200 and laion["paper_shards"] == 41408
    # core-hours from items per CPU-second; hours = core-hours over the measuring run's 2 cores
    assert laion["wag_text_count_core_h"] == pytest.approx(414_080_000 / 600_000 / 3600)
    assert laion["wag_text_count_h"] == pytest.approx(414_080_000 / 600_000 / 3600 / 2)
    assert laion["wag_image_tag_core_h"] == pytest.approx(414_080_000 / 13 / 3600)
    assert math.isnan(laion["wag_image_tag_bf16_h"]) and math.isnan(laion["wag_image_count_embeddings_core_h"])
    assert t.loc["cc12m", "paper_disk"] == "1.2 TB" and t.loc["cc3m", "paper_disk"] == "243 GB"
    shown = cc.measurements(record).set_index("measurement")
    assert "issue 18" in shown.loc["image_count_embeddings", "what"] and shown.loc["text_count", "per_second"] == 1e6


def test_scorecard_rows_stay_not_reproducible_and_name_the_projection(record: cc.ThroughputRecord) -> None:
    t = cc.table10(record, sc.paper_reported().by_id())
    rows = sc.rows_frame(cc.table10_rows(t, record)).set_index("id")
    assert len(rows) == 24 and rows["ours"].isna().all() and (rows["missing"] != "").all()
    text = rows.loc["tab10/laion400m/text_index_hours", "missing"]
    assert "projection" in text and f"{414_080_000 / 600_000 / 3600 / 2:,.2f} h" in text and "test box" in text
    assert "not on this machine" in rows.loc["tab10/cc3m/disk", "missing"]


def test_record_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(cc.ThroughputError, match="--record"):
        cc.read_throughput(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"measurements": {"text_count": {"what": "x"}}}), encoding="utf-8")
    with pytest.raises(cc.ThroughputError, match="malformed"):
        cc.read_throughput(bad)
    only_text = tmp_path / "t.json"
    only_text.write_text(json.dumps({"measurements": {"text_count": _entry(1, 1)}}), encoding="utf-8")
    with pytest.raises(cc.ThroughputError, match="image_tag"):
        cc.table10(cc.read_throughput(only_text), sc.paper_reported().by_id())


def test_the_committed_record_has_what_the_projection_reads() -> None:
    m = cc.read_throughput().measurements
    assert {"text_count", "image_tag"} <= set(m)
    assert all(t.machine and t.command.startswith(".venv/bin/python benchmarks/") and t.date for t in m.values())


def test_benchmarks_record_writes_a_valid_record(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("throughput_record", ROOT / "benchmarks" / "throughput_record.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = tmp_path / "throughput.json"
    e = {k: v for k, v in _entry(10, 5).items() if k not in ("machine", "date")}
    mod.record("text_count", e, path)
    mod.record("image_tag", {**e, "unit": "images"}, path)
    got = cc.read_throughput(path).measurements
    assert set(got) == {"text_count", "image_tag"} and got["image_tag"].unit == "images"
    assert "cores" in got["text_count"].machine and got["text_count"].date
