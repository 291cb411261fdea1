"""Per-concept log-linear fit: known slopes, bootstrap CI coverage, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wag.analysis.errors import AnalysisError
from wag.analysis.per_concept import bootstrap_slopes, fit_log_linear


def test_exact_line_recovers_slope_intercept():
    c = np.array([0, 1, 10, 100, 1000, 10_000, 50])
    v = 0.2 + 0.05 * np.log10(np.maximum(c, 1))
    f = fit_log_linear(c, v, n_boot=200, seed=0)
    assert f["slope"] == pytest.approx(0.05)
    assert f["intercept"] == pytest.approx(0.2)
    assert f["r2"] == pytest.approx(1.0)
    assert f["slope_lo"] == pytest.approx(0.05) and f["slope_hi"] == pytest.approx(0.05)
    assert f["n"] == 7


def test_noisy_slope_inside_ci_and_seeded():
    rng = np.random.default_rng(1)
    c = rng.integers(0, 100_000, 2000)
    v = 0.3 + 0.08 * np.log10(np.maximum(c, 1)) + rng.normal(0, 0.1, 2000)
    f = fit_log_linear(c, v, n_boot=500, seed=3)
    assert f["slope_lo"] < 0.08 < f["slope_hi"]
    # the bootstrap interval is about as wide as the classical one (homoscedastic noise)
    x = np.log10(np.maximum(c, 1))
    se = 0.1 / (x.std() * np.sqrt(len(x)))
    assert 0.8 < (f["slope_hi"] - f["slope_lo"]) / (2 * 1.96 * se) < 1.25
    assert f["p"] < 1e-10
    assert fit_log_linear(c, v, n_boot=500, seed=3) == f
    assert fit_log_linear(c, v, n_boot=500, seed=4)["slope_lo"] != f["slope_lo"]


def test_bootstrap_ci_coverage_near_nominal():
    rng = np.random.default_rng(7)
    hits = 0
    sims = 60
    for s in range(sims):
        c = rng.integers(0, 10_000, 150)
        v = 0.1 + 0.04 * np.log10(np.maximum(c, 1)) + rng.normal(0, 0.08, 150)
        f = fit_log_linear(c, v, n_boot=300, seed=s)
        hits += f["slope_lo"] <= 0.04 <= f["slope_hi"]
    assert hits / sims >= 0.85


def test_vectorised_bootstrap_matches_loop():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    got = bootstrap_slopes(x, y, n_boot=20, seed=11, chunk=64)
    idx = np.random.default_rng(11).integers(0, 50, size=(20, 50))
    want = [np.polyfit(x[i], y[i], 1)[0] for i in idx]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_too_few_or_constant_counts_give_nan():
    assert math.isnan(fit_log_linear([1, 10], [0.1, 0.2])["slope"])
    f = fit_log_linear([5, 5, 5, 5], [0.1, 0.2, 0.3, 0.4])
    assert math.isnan(f["slope"]) and f["n"] == 4


def test_bad_counts():
    with pytest.raises(AnalysisError, match="non-negative"):
        fit_log_linear([1, -1, 3], [0.1, 0.2, 0.3])
