"""The paper's binned recipe on hand-built examples (expected bins computed by hand in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from wag.analysis.binned import assign_bins, binned_slope, paper_binned, paper_n_bins, paper_slice
from wag.analysis.errors import AnalysisError

# ln(count): 0, 0, 1.099, 2.485, 2.996, 3.989, 5.991, 6.908 (max = ln 1000)
COUNTS = [0, 1, 3, 12, 20, 54, 400, 1000]
VALUES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9]
# NB = 4 edges = linspace(0, ln 1000, 4) = ln([1, 10, 100, 1000]);
# digitize(right=True): idx 0 = {x <= 0} = counts {0, 1}; idx 1 = (0, ln 10] = {3};
# idx 2 = (ln 10, ln 100] = {12, 20, 54}; idx 3 = (ln 100, ln 1000] = {400, 1000}.


def test_bins_means_and_right_edges_by_hand():
    r = paper_binned(COUNTS, VALUES, n_bins=4, keep=slice(1, None))
    pts = r.points
    assert pts["n"].tolist() == [2, 1, 3, 2]
    np.testing.assert_allclose(pts["mean"], [0.15, 0.3, 0.5, 0.85])
    # each bin is plotted at exp(its right edge): 1, 10, 100, 1000
    np.testing.assert_allclose(pts["x"], [1, 10, 100, 1000], rtol=1e-12)
    np.testing.assert_allclose(pts["edge_right"], np.log([1, 10, 100, 1000]))
    assert pts["kept"].tolist() == [False, True, True, True]
    # Pearson over kept bins: x standardised (-1, 0, 1), y (0.3, 0.5, 0.85) -> r = 0.55 / sqrt(2 * 0.155)
    assert r.rho == pytest.approx(0.55 / math.sqrt(2 * 0.155), abs=1e-12)
    t = r.rho * math.sqrt(1 / (1 - r.rho**2))
    assert r.p == pytest.approx(2 * stats.t.sf(t, 1), rel=1e-9)


def test_zero_and_one_share_the_minimum_bin():
    assert assign_bins(COUNTS, 4).tolist() == [0, 0, 1, 2, 2, 2, 3, 3]


def test_slice_changes_rho_and_kept_bins():
    full = paper_binned(COUNTS, VALUES, n_bins=4, keep=slice(0, None))
    assert full.points["kept"].sum() == 4
    expected = stats.pearsonr(np.log([1, 10, 100, 1000]), [0.15, 0.3, 0.5, 0.85]).statistic
    assert full.rho == pytest.approx(expected)
    mid = paper_binned(COUNTS, VALUES, n_bins=4, keep=slice(1, -1))
    assert mid.points["kept"].tolist() == [False, True, True, False]
    assert math.isnan(mid.rho)  # two kept bins are too few for a correlation


def test_empty_bin_is_never_kept():
    # ln: 0, 0, 6.908 -> edges ln(1, 10, 100, 1000): bins 1 and 2 are empty
    r = paper_binned([1, 1, 1000, 1000, 1], [0.1, 0.2, 0.9, 0.8, 0.3], n_bins=4, keep=slice(0, None))
    assert r.points["n"].tolist() == [3, 0, 0, 2]
    assert r.points["kept"].tolist() == [True, False, False, True]
    assert np.isnan(r.points.loc[1, "mean"])


def test_ci_of_bin_mean():
    r = paper_binned(COUNTS, VALUES, n_bins=4, keep=slice(1, None))
    row = r.points.loc[2]  # values 0.4, 0.5, 0.6: mean 0.5, sd 0.1, sem 0.1/sqrt(3)
    half = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert row["ci_lo"] == pytest.approx(0.5 - half)
    assert row["ci_hi"] == pytest.approx(0.5 + half)
    assert np.isnan(r.points.loc[1, "ci_lo"])  # one concept: no interval


def test_paper_slices_and_bin_numbers():
    assert paper_n_bins("classification") == 12
    assert paper_n_bins("retrieval") == paper_n_bins("t2i") == 7
    idx = np.arange(12)
    assert idx[paper_slice("classification", "cc3m")].tolist() == list(range(1, 11))
    assert idx[paper_slice("classification", "laion400m")].tolist() == list(range(2, 11))
    assert idx[paper_slice("classification", "synthci30m")].tolist() == list(range(0, 8))
    assert np.arange(7)[paper_slice("retrieval", "cc3m")].tolist() == [3, 4, 5, 6]
    assert np.arange(7)[paper_slice("t2i")].tolist() == [3, 4, 5, 6]
    assert idx[paper_slice("classification", "cc3m", keep_zero=True)].tolist() == list(range(0, 11))
    with pytest.raises(AnalysisError, match="unknown task"):
        paper_n_bins("segmentation")


def test_binned_slope_per_decade():
    c = np.array([1, 10, 100, 1000, 10000])
    r = paper_binned(c, 0.1 * np.log10(c), n_bins=5, keep=slice(0, None))
    slope, intercept = binned_slope(r)
    assert slope == pytest.approx(0.1)
    assert intercept == pytest.approx(0.0, abs=1e-12)
    assert r.rho == pytest.approx(1.0)


@pytest.mark.parametrize(
    "counts,values,match",
    [
        ([1, -2, 3], [0.1, 0.2, 0.3], ">= 0"),
        ([1, np.nan, 3], [0.1, 0.2, 0.3], "NaN"),
        ([5, 5, 5], [0.1, 0.2, 0.3], "all counts are equal"),
        ([1, 2], [0.1], "differ in length"),
        ([], [], "no \\(count"),
    ],
)
def test_bad_input(counts, values, match):
    with pytest.raises(AnalysisError, match=match):
        paper_binned(counts, values, n_bins=4, keep=slice(0, None))
