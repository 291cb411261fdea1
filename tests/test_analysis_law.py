"""The law as a tool (wag.analysis.law): fit, prediction intervals, inversion, reachability, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from wag.analysis.errors import AnalysisError
from wag.analysis.law import fit_law, fit_law_counts
from wag.analysis.per_concept import log10_counts


def _noisy(n: int = 300, slope: float = 0.08, intercept: float = 0.2, sd: float = 0.08, seed: int = 0):
    rng = np.random.default_rng(seed)
    counts = np.round(10 ** rng.uniform(0, 5, n))
    counts[:5] = 0
    x = log10_counts(counts)
    y = intercept + slope * x + rng.normal(0, sd, n)
    return counts, x, y


def test_fit_matches_statsmodels_and_zero_counts_sit_at_zero():
    counts, x, y = _noisy()
    law = fit_law(x, y)
    ref = sm.OLS(y, sm.add_constant(x)).fit()
    assert law.slope == pytest.approx(ref.params[1]) and law.intercept == pytest.approx(ref.params[0])
    assert law.slope_ci == pytest.approx(tuple(ref.conf_int(0.05)[1]))
    assert law.n == 300 and law.alpha == 0.05
    assert fit_law_counts(counts, y) == law
    p = law.predict([0, 1])  # both at log10 = 0: the intercept
    assert p["predicted"].tolist() == pytest.approx([law.intercept, law.intercept])


def test_prediction_interval_is_of_a_new_concept_not_of_the_mean():
    counts, x, y = _noisy(n=2000, seed=4)
    law = fit_law(x, y)
    p = law.predict(counts)
    # the prediction interval holds about 95% of the concepts; the mean's CI holds far fewer
    inside = ((y >= p["pi_low"]) & (y <= p["pi_high"])).mean()
    assert 0.93 < inside < 0.97
    assert ((y >= p["mean_ci_low"]) & (y <= p["mean_ci_high"])).mean() < 0.3
    assert (p["pi_high"] - p["pi_low"] > p["mean_ci_high"] - p["mean_ci_low"]).all()
    assert list(p.columns[:2]) == ["count", "log10_count"]


def test_intervals_widen_away_from_the_data():
    _, x, y = _noisy()
    law = fit_law(x, y)
    centre = 10 ** float(np.mean(x))
    p = law.predict([centre, centre * 10, centre * 1e3, centre * 1e6])
    pi = (p["pi_high"] - p["pi_low"]).to_numpy()
    ci = (p["mean_ci_high"] - p["mean_ci_low"]).to_numpy()
    assert (np.diff(pi) > 0).all() and (np.diff(ci) > 0).all()


@pytest.mark.parametrize("target", [0.3, 0.45, 0.55])
def test_inversion_round_trip(target):
    _, x, y = _noisy()
    law = fit_law(x, y)
    plan = law.count_for(target)
    assert law.predict([plan.count])["predicted"].iloc[0] == pytest.approx(target, abs=1e-9)
    assert plan.low < plan.count < plan.high
    # at the interval's ends the prediction band just touches the target
    ends = law.predict([plan.low, plan.high])
    assert ends["pi_high"].iloc[0] == pytest.approx(target, abs=1e-7)
    assert ends["pi_low"].iloc[1] == pytest.approx(target, abs=1e-7)
    assert plan.reachable and plan.reason == ""


def test_beyond_the_data_is_unreachable_with_reason():
    _, x, y = _noisy()  # log10 counts up to 5: predicted about 0.6 at the top
    plan = fit_law(x, y).count_for(0.95)
    assert not plan.reachable and "beyond the largest count" in plan.reason
    assert plan.count > 10**5


def test_flat_law_is_unreachable_and_its_interval_unbounded():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 5, 40)
    y = 0.4 + rng.normal(0, 0.1, 40)
    law = fit_law(x, y)
    assert law.slope_ci[0] < 0 < law.slope_ci[1]
    plan = law.count_for(0.5)
    assert not plan.reachable and "spans 0" in plan.reason
    assert plan.high == math.inf


@pytest.mark.parametrize("target", [-0.1, 1.2, float("nan"), "0.6", True])
def test_target_outside_unit_interval_is_one_clear_error(target):
    _, x, y = _noisy(n=30)
    with pytest.raises(AnalysisError, match=r"not a fraction in \[0, 1\]"):
        fit_law(x, y).count_for(target)


def test_bad_fit_inputs():
    with pytest.raises(AnalysisError, match="at least 3 concepts"):
        fit_law([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(AnalysisError, match="differ in length"):
        fit_law([1, 2], [0.1])
    with pytest.raises(AnalysisError, match="alpha"):
        fit_law([1, 2, 3], [0.1, 0.2, 0.4], alpha=1.5)
