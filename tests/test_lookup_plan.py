"""wag.sources.lookup on hand-made tables with a known law: predictions, residuals, the plan's statuses and paths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from wag.analysis.law import fit_law_counts
from wag.sources.concept_plan import plan_concept
from wag.sources.lookup import COUNT_COLUMNS, PERF_COLUMNS, ConceptLookupError, LookupTables, lookup


def _tables(seed: int = 0, n: int = 400) -> LookupTables:
    """One model, one task: value = 0.1 + 0.1 * log10(count) + noise over ``n`` concepts c0..c{n-1}, counts to 1e4;
    plus three named concepts: ``lagging`` (far below its law), ``leading`` (at 0.9) and ``plain`` (on its law)."""
    rng = np.random.default_rng(seed)
    counts = np.round(10 ** rng.uniform(0, 4, n)).astype(int)
    values = 0.1 + 0.1 * np.log10(counts) + rng.normal(0, 0.05, n)
    names = [f"c{i}" for i in range(n)] + ["lagging", "leading", "plain"]
    counts = np.concatenate([counts, [5000, 100, 100]])
    values = np.concatenate([values, [0.05, 0.9, 0.3]])
    perf = pd.DataFrame(
        {
            "key": names,
            "concept": names,
            "dataset": "set",
            "task": "classification",
            "pretraining": "web",
            "model": "m",
            "metric": "class",
            "count_type": "phrase",
            "count": counts,
            "value": values,
        }
    )[PERF_COLUMNS]
    cnt = perf.assign(method="text", variant="phrase", label="text-only (phrase)", percentile=50.0)[COUNT_COLUMNS]
    return LookupTables(
        counts=cnt,
        spellings=perf[["key", "concept", "dataset"]],
        performance=perf,
        count_types={"text": "phrase"},
        labels={"phrase": "text-only (phrase)"},
        law_count_type="phrase",
        text_count_type="phrase",
    )


class _NoCorpus:
    """A source that is never asked anything (every concept is known; no examples are drawn)."""


def test_prediction_and_residual_match_the_fitted_law():
    t = _tables()
    res = lookup(_NoCorpus(), ["plain"], tables=t, n_examples=0)  # type: ignore[arg-type]
    row = res.cards[0]["performance"][0]
    law = fit_law_counts(t.performance["count"], t.performance["value"])
    p = law.predict([100]).iloc[0]
    assert row["predicted"] == pytest.approx(p["predicted"]) and row["pi_low"] == pytest.approx(p["pi_low"])
    assert row["residual"] == pytest.approx(0.3 - p["predicted"])
    assert row["n_concepts"] == len(t.performance)


def test_plan_round_trip_anchored_path_and_statuses():
    t = _tables()
    law = fit_law_counts(t.performance["count"], t.performance["value"])
    plain = plan_concept(_NoCorpus(), "plain", 0.45, tables=t).iloc[0]  # type: ignore[arg-type]
    assert law.predict([plain["planned_count"]])["predicted"].iloc[0] == pytest.approx(0.45)
    assert plain["status"] == "reachable" and plain["reachable"]
    assert plain["factor"] == pytest.approx(plain["planned_count"] / 100)
    assert plain["low"] < plain["planned_count"] < plain["high"]
    # its own path: 100 * 10**((0.45 - 0.3) / slope), within the slope interval's counts
    assert plain["anchored_count"] == pytest.approx(100 * 10 ** ((0.45 - 0.3) / law.slope))
    assert plain["anchored_low"] < plain["anchored_count"] < plain["anchored_high"]

    assert plan_concept(_NoCorpus(), "leading", 0.45, tables=t).iloc[0]["status"] == "already there"  # type: ignore[arg-type]
    lag = plan_concept(_NoCorpus(), "lagging", 0.45, tables=t).iloc[0]  # type: ignore[arg-type]
    assert lag["status"] == "lags its law" and lag["planned_count"] < 5000

    far = plan_concept(_NoCorpus(), "plain", 0.95, tables=t).iloc[0]  # type: ignore[arg-type]
    assert far["status"] == "unreachable" and "beyond the largest count" in far["reason"]
    assert far["planned_count"] > t.performance["count"].max()


def test_plan_bad_target_and_unknown_model():
    t = _tables()
    for bad in (1.5, -0.2, math.nan):
        with pytest.raises(ConceptLookupError, match=r"not a fraction in \[0, 1\]"):
            plan_concept(_NoCorpus(), "plain", bad, tables=t)  # type: ignore[arg-type]
    with pytest.raises(ConceptLookupError, match="unknown model 'other'; evaluated models: web/m"):
        plan_concept(_NoCorpus(), "plain", 0.5, model="other", tables=t)  # type: ignore[arg-type]
    with pytest.raises(ConceptLookupError, match="no concept to look up"):
        lookup(_NoCorpus(), [" ", ""], tables=t)  # type: ignore[arg-type]
