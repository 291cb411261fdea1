"""§5 / §6 tables built from the released files (wag.analysis.sections.insights, wag.analysis.sections.let_it_wag_results) on hand-built inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wag.analysis.errors import AnalysisError
from wag.analysis.sections import insights
from wag.analysis.sections import let_it_wag_results as liw


def _freq(rows: list[tuple[str, str, str, str, str, int]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["concept", "dataset", "pretraining", "method", "variant", "count"])
    return df.assign(key=df["concept"].str.lower(), source_variant=df["variant"])


def test_long_tail_normalises_drops_zeros_and_needs_all_datasets() -> None:
    rows = [
        ("a", "d1", "cc3m", "text", "lemmatized", 10),
        ("b", "d1", "cc3m", "text", "lemmatized", 0),
        ("c", "d2", "cc3m", "text", "lemmatized", 40),
        ("a", "d1", "cc3m", "text", "lowercased", 999),
        ("a", "d1", "cc12m", "text", "lemmatized", 5),  # cc12m lacks d2: left out, not drawn from fewer concepts
    ]
    pts = insights.long_tail(_freq(rows), datasets=["d1", "d2"], pretrainings=["cc3m", "cc12m"])
    assert set(pts.pretraining) == {"cc3m"}
    assert pts["concept"].tolist() == ["c", "a"] and pts["rank"].tolist() == [1, 2]
    assert pts["normalized_count"].tolist() == [1.0, 0.25]
    with pytest.raises(AnalysisError, match="no pretraining set has counts for all of d1, d3"):
        insights.long_tail(_freq(rows), datasets=["d1", "d3"])


def test_table3_in_percent_and_details() -> None:
    mis = pd.DataFrame(
        {
            "pretraining": ["laion400m", "cc3m"],
            "misaligned_pairs": [20, 5],
            "degree_fixed": [0.05, 0.1],
            "degree_extracted": [0.08, 0.125],
            "fixed_size": [400, 50],
            "extracted_size": [250, 40],
        }
    )
    t3 = insights.table3(mis)
    assert list(t3.columns) == [
        "pretraining",
        "misaligned_pairs",
        "misalignment_degree_percent",
        "degree_percent_extracted_size",
    ]
    assert t3.pretraining.tolist() == ["cc3m", "laion400m"]
    assert t3.misalignment_degree_percent.tolist() == pytest.approx([10.0, 5.0])
    assert t3.degree_percent_extracted_size.tolist() == pytest.approx([12.5, 8.0])
    det = insights.misalignment_details(mis)
    assert det.extracted_over_fixed_size.tolist() == pytest.approx([0.8, 0.625])


def test_table4_name_vs_position_and_paper_mix() -> None:
    # two sets list the same three concepts in different orders: by name ρ = 1, by position not
    rows = []
    for pt, order in (("cc3m", ["x", "y", "z"]), ("cc12m", ["z", "y", "x"])):
        for m, v in insights.COUNT_VARIANTS.items():
            rows += [(c, "d", pt, m, v, {"x": 1, "y": 10, "z": 100}[c]) for c in order]
    rows += [("x", "d", "cc3m", "image", "rampp@0.5", 7)]  # other thresholds are ignored
    t4 = insights.table4(_freq(rows), pretrainings=["cc3m", "cc12m"])
    name = t4[t4["join"] == "name"].set_index("count_type")
    assert name.loc[["text", "image", "integrated"], "spearman"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    pos = t4[(t4["join"] == "paper_position") & (t4.count_type == "text")].iloc[0]
    assert pos.spearman == pytest.approx(-1.0)
    mixed = t4[t4.count_type == insights.PAPER_MIXED]
    assert len(mixed) == 1 and mixed.iloc[0]["join"] == "paper_position"
    assert {"count_type", "pretraining_a", "pretraining_b", "spearman", "n_concepts", "join"} <= set(t4.columns)


def test_paper_mixed_counts_uses_cc3m_integrated() -> None:
    rows = [
        ("x", "d", "cc3m", "integrated", "integrated@0.7", 1),
        ("x", "d", "cc3m", "image", "rampp@0.7", 50),
        ("x", "d", "cc12m", "image", "rampp@0.7", 2),
        ("x", "d", "cc12m", "integrated", "integrated@0.7", 60),
    ]
    mixed = insights.paper_mixed_counts(_freq(rows)).set_index("pretraining")["count"]
    assert mixed.to_dict() == {"cc3m": 1, "cc12m": 2}


def _liw_root(tmp_path: Path, im: dict[str, float], liw_acc: dict[str, float]) -> Path:
    r = tmp_path / "a"
    (r / "zero_shot_evaluations").mkdir(parents=True)
    (r / "let_it_wag_datasets" / "evaluations").mkdir(parents=True)
    (r / "zero_shot_evaluations" / "imagenet_ensemble_results.json").write_text(
        json.dumps({k: {"full": v, "classwise": {}} for k, v in im.items()})
    )
    (r / "let_it_wag_datasets" / "evaluations" / "let_it_wag_ensemble_results.json").write_text(
        json.dumps({k: {"full": v, "classwise": {"c": v}} for k, v in liw_acc.items()})
    )
    (r / "imagenet_accuracy_extra.csv").write_text("model_key,imagenet_zero_shot_accuracy\n")
    return r


def test_fig6_segments_and_table9(tmp_path: Path) -> None:
    keys = [f"backboneRN50_pretrainedset{i}" for i in range(6)]
    x = [20.0, 30.0, 40.0, 60.0, 70.0, 80.0]
    y = [0.5 * v - 5 for v in x[:3]] + [2.0 * v - 100 for v in x[3:]]
    root = _liw_root(tmp_path, dict(zip(keys, x)), dict(zip(keys, y)))
    pts = liw.fig6_points(root)
    fits = liw.fig6_fits(pts).set_index("segment")
    assert fits.loc["imagenet_below_50", ["slope", "intercept", "n_models"]].tolist() == pytest.approx([0.5, -5, 3])
    assert fits.loc["imagenet_above_50", ["slope", "intercept", "n_models"]].tolist() == pytest.approx([2.0, -100, 3])
    assert fits.loc["all", "n_models"] == 6 and np.isfinite(fits.loc["all", "slope"])
    t9 = liw.table9(pts)
    assert list(t9.columns) == ["pretraining", "model", "model_key", "imagenet_accuracy", "let_it_wag_accuracy", "gap"]
    assert t9.gap.tolist() == pytest.approx([a - b for a, b in zip(x, y)])
    liw.fig6_chart(pts, liw.fig6_fits(pts)).to_dict()  # the chart builds


def test_thin_ranks_keeps_head_and_last() -> None:
    pts = pd.DataFrame(
        {
            "pretraining": "cc3m",
            "count_type": "text",
            "rank": range(1, 1001),
            "normalized_count": 1 / np.arange(1, 1001),
        }
    )
    thin = insights.thin_ranks(pts, 50)
    assert {1, 2, 3, 1000} <= set(thin["rank"]) and len(thin) <= 51
    assert thin["rank"].is_monotonic_increasing
