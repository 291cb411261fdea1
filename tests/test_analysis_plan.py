"""wag.analysis.plan: allocating a budget of new samples (planner, uniform, balanced) under a fitted law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.analysis.errors import AnalysisError
from wag.analysis.law import fit_law_counts
from wag.analysis.plan import STRATEGIES, allocate, compare, plan_summary, predict_allocation
from wag.core.errors import WagError


@pytest.fixture(scope="module")
def law():
    rng = np.random.default_rng(0)
    counts = np.round(10 ** rng.uniform(0, 4, 200))
    acc = 0.1 + 0.15 * np.log10(counts) + rng.normal(0, 0.05, 200)
    return fit_law_counts(counts, acc)


@pytest.fixture(scope="module")
def counts():
    return pd.Series([1, 3, 10, 40, 100, 500, 2000], index=[f"c{i}" for i in range(7)])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_spends_the_budget_exactly(law, counts, strategy):
    t = allocate(law, counts, 1234, strategy)
    assert int(t["added"].sum()) == 1234
    assert t.attrs["unspent"] == 0
    assert (t["added"] >= 0).all()
    assert (t["count_after"] == t["count_before"] + t["added"]).all()
    assert list(t["concept"]) == list(counts.index)


def test_uniform_splits_evenly(law, counts):
    t = allocate(law, counts, 700, "uniform")
    assert set(t["added"]) == {100}
    t = allocate(law, counts, 703, "uniform")
    assert sorted(t["added"])[-3:] == [101, 101, 101]
    assert list(t["added"][:3]) == [101, 101, 101]  # the remainder goes to the rarest concepts


def test_balanced_raises_the_tail_to_one_threshold(law, counts):
    t = allocate(law, counts, 100, "balanced")
    thr = t.attrs["threshold"]
    # 1, 3, 10, 40 are raised to 38 or 39 (1+3+10 -> 37+35+28 = 100 at t = 38... check by the invariant)
    raised = t[t["added"] > 0]
    assert raised["count_after"].max() - raised["count_after"].min() <= 1
    assert (t.loc[t["added"] == 0, "count_before"] >= thr).all()
    assert int(t["added"].sum()) == 100


def test_planner_equals_balanced_under_one_law(law, counts):
    """With one law and no ceiling reached, greedy marginal gain is water-filling: the same allocation."""
    p = allocate(law, counts, 5000, "planner")
    b = allocate(law, counts, 5000, "balanced")
    assert list(p["added"]) == list(b["added"])


def test_planner_beats_uniform_on_predicted_mean(law, counts):
    s = plan_summary(compare(law, counts, 5000))
    by = s.set_index("strategy")["predicted_gain"]
    assert by["planner"] > by["uniform"] > 0
    assert by["planner"] >= by["balanced"] - 1e-12


def test_planner_follows_per_concept_laws(counts):
    """Two laws: the concept whose law is steep gets the budget, whatever its count."""
    x = np.array([1, 10, 100, 1000, 10000])
    flat = fit_law_counts(x, 0.5 + 0.001 * np.log10(x) + np.array([0.01, -0.01, 0.0, 0.01, -0.01]))
    steep = fit_law_counts(x, 0.1 + 0.2 * np.log10(x) + np.array([0.01, -0.01, 0.0, 0.01, -0.01]))
    c = pd.Series([5, 500], index=["rare_flat", "common_steep"])
    t = allocate({"rare_flat": flat, "common_steep": steep}, c, 300, "planner")
    assert t.set_index("concept").at["common_steep", "added"] == 300
    b = allocate({"rare_flat": flat, "common_steep": steep}, c, 300, "balanced")
    assert b.set_index("concept").at["rare_flat", "added"] > 0


def test_ceiling_stops_the_planner(law):
    c = pd.Series([10**7, 10**8], index=["a", "b"])  # predicted far above 1: nothing to gain
    t = allocate(law, c, 100, "planner")
    assert int(t["added"].sum()) == 0 and t.attrs["unspent"] == 100
    assert (t["predicted_after"] <= 1).all()


def test_cap_limits_every_strategy(law, counts):
    for s in STRATEGIES:
        t = allocate(law, counts, 10**6, s, cap=1000)
        assert (t.loc[t["added"] > 0, "count_after"] <= 1000).all()
        assert t.attrs["unspent"] > 0


def test_zero_counts_get_samples(law):
    c = pd.Series([0, 0, 50], index=["a", "b", "c"])
    t = allocate(law, c, 40, "planner")
    assert (t.set_index("concept").loc[["a", "b"], "added"] > 0).all()


def test_intervals(law, counts):
    t = allocate(law, counts, 5000, "planner")
    assert (t["pi_low_after"] <= t["predicted_after"]).all() and (t["predicted_after"] <= t["pi_high_after"]).all()
    assert (t["gain_low"] <= t["predicted_gain"] + 1e-12).all() and (
        t["predicted_gain"] <= t["gain_high"] + 1e-12
    ).all()
    raised = t["added"] > 0
    assert (t.loc[raised, "gain_low"] > 0).all()  # the slope's interval is above 0


def test_predict_allocation_of_any_allocation(law, counts):
    added = np.zeros(len(counts), dtype=int)
    added[0] = 9  # ×10 for the concept at count 1
    t = predict_allocation(law, counts, added, "x10")
    assert t.loc[0, "predicted_gain"] == pytest.approx(law.slope, rel=1e-9)
    assert (t.loc[1:, "predicted_gain"] == 0).all()


@pytest.mark.parametrize("budget", [0, -5, 2.5, "100", True, None])
def test_budget_must_be_a_positive_integer(law, counts, budget):
    with pytest.raises(AnalysisError, match="not a positive integer"):
        allocate(law, counts, budget)


def test_bad_inputs_are_one_clear_error(law, counts):
    with pytest.raises(AnalysisError, match="unknown allocation strategy"):
        allocate(law, counts, 10, "greedy")
    with pytest.raises(AnalysisError, match="non-empty"):
        allocate(law, pd.Series([], dtype=int), 10)
    with pytest.raises(AnalysisError, match="non-negative integers"):
        allocate(law, pd.Series([1.5, 2.0], index=["a", "b"]), 10)
    with pytest.raises(AnalysisError, match="no law for concept"):
        allocate({"c0": law}, counts, 10)
    with pytest.raises(AnalysisError, match="cap"):
        allocate(law, counts, 10, cap=0)
    assert issubclass(AnalysisError, WagError)
