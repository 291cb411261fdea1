"""Summaries of the synthetic experiments on hand-made tables (fast; the chain itself is in test_synthetic_train.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.synthetic.experiments import collision_summary, intervention_summary, rebalance_summary


def test_intervention_difference_in_differences():
    df = pd.DataFrame({
        "concept": list("abcdef"), "group": ["treated"] * 2 + ["control"] * 4,
        "accuracy_before": [0.1, 0.2, 0.3, 0.3, 0.5, 0.5], "accuracy_after": [0.4, 0.4, 0.35, 0.25, 0.55, 0.55],
        "predicted_change": [0.2, 0.2, 0, 0, 0, 0],
    })
    df["observed_change"] = df["accuracy_after"] - df["accuracy_before"]
    s = intervention_summary(df).set_index("group")
    assert s.at["treated", "observed_change"] == pytest.approx(0.25)
    assert s.at["control", "observed_change"] == pytest.approx(0.025)
    assert s.at["treated − control", "observed_change"] == pytest.approx(0.225)
    assert s.at["treated − control", "predicted_change"] == pytest.approx(0.2)
    assert s.at["treated − control", "se"] > 0


def test_rebalance_summary_parts_and_budget():
    df = pd.DataFrame({"concept": list("abc"), "part": ["tail", "middle", "head"], "count_before": [1, 10, 100],
                       "count_after": [30, 40, 41], "accuracy_before": [0.0, 0.5, 0.9], "accuracy_after": [0.3, 0.5, 0.8]})
    s = rebalance_summary(df).set_index("part")
    assert s.at["tail", "gain"] == pytest.approx(0.3) and s.at["head", "gain"] == pytest.approx(-0.1)
    assert s.at["all", "occurrences_before"] == 111 and s.at["all", "occurrences_after"] == 111


def test_collision_summary_detects_a_high_frequency_plateau():
    counts = np.round(np.exp(np.linspace(0, np.log(1000), 40)))
    x = np.log10(counts)
    linear = 0.1 + 0.25 * x
    plateau = np.minimum(linear, 0.1 + 0.25 * np.quantile(x, 0.6))
    rows = []
    for name, y in (("masked", linear), ("standard", plateau)):
        rows.append(pd.DataFrame({"concept": range(40), "count": counts, "value": y, "variant": name, "loss": name, "batch_size": 64,
                                  "expected_partners": 63 * counts / counts.sum()}))
    s = collision_summary(pd.concat(rows)).set_index("variant")
    assert s.at["masked", "high_frequency_dip"] == pytest.approx(0, abs=1e-9)
    assert s.at["standard", "high_frequency_dip"] < -0.05
