"""Fig. 6 segment fits on exact lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.analysis.errors import AnalysisError
from wag.analysis.segments import segment_fits


def test_exact_segments_and_global_line():
    below = np.array([20.0, 30.0, 40.0, 45.0])
    above = np.array([50.0, 60.0, 70.0, 80.0, 85.0])  # 50 belongs to "above"
    df = pd.DataFrame({"imagenet": np.r_[below, above], "liw": np.r_[0.5 * below + 1, 2 * above - 74]})
    out = segment_fits(df, "imagenet", "liw").set_index("segment")
    assert list(out.index) == ["imagenet_below_50", "imagenet_above_50", "all"]
    assert out.loc["imagenet_below_50", "slope"] == pytest.approx(0.5)
    assert out.loc["imagenet_below_50", "intercept"] == pytest.approx(1.0)
    assert out.loc["imagenet_above_50", "slope"] == pytest.approx(2.0)
    assert out.loc["imagenet_above_50", "intercept"] == pytest.approx(-74.0)
    assert out["n_models"].tolist() == [4, 5, 9]
    s, i = np.polyfit(df["imagenet"], df["liw"], 1)
    assert out.loc["all", "slope"] == pytest.approx(s) and out.loc["all", "intercept"] == pytest.approx(i)


def test_degenerate_segment_and_errors():
    df = pd.DataFrame({"x": [10.0, 60.0, 70.0], "y": [1.0, 2.0, 3.0]})
    out = segment_fits(df, "x", "y").set_index("segment")
    assert np.isnan(out.loc["imagenet_below_50", "slope"]) and out.loc["imagenet_below_50", "n_models"] == 1
    with pytest.raises(AnalysisError, match="column 'z'"):
        segment_fits(df, "z", "y")
    with pytest.raises(AnalysisError, match="missing values"):
        segment_fits(pd.DataFrame({"x": [1.0, None], "y": [1.0, 2.0]}), "x", "y")
