"""Fit tables, binned points and Tab. 6 on small joined tables built here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.analysis.errors import AnalysisError
from wag.analysis.fits import FIT_COLUMNS, binned_points, fit_table, table6


def _joined(slopes: dict[tuple[str, str], float], n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = np.r_[np.zeros(20, int), np.round(10 ** rng.uniform(0.2, 5.3, n - 20)).astype(int)]
    frames = []
    for (pt, model), s in slopes.items():
        v = np.clip(0.1 + s * np.log10(np.maximum(counts, 1)) + rng.normal(0, 0.02, n), 0, 1)
        frames.append(
            pd.DataFrame(
                dict(
                    concept=[f"c{i}" for i in range(n)],
                    dataset=np.where(np.arange(n) % 2, "a", "b"),
                    task="classification",
                    model=model,
                    pretraining=pt,
                    prompt="class",
                    metric="accuracy",
                    value=v,
                    method="integrated",
                    variant="integrated@0.7",
                    count=counts,
                )
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_fit_table_contract_and_recovered_slopes():
    j = _joined({("cc3m", "RN50"): 0.1, ("laion400m", "ViT-B-16"): 0.0})
    t = fit_table(j, task="classification", n_boot=200, seed=0)
    assert list(t.columns) == FIT_COLUMNS
    assert len(t) == 4 and set(t["method"]) == {"binned", "per_concept"}
    assert t["count_type"].unique().tolist() == ["integrated@0.7"]
    assert t["prompt_or_metric"].unique().tolist() == ["class"]
    pc = t[t["method"] == "per_concept"].set_index("model")
    assert pc.loc["RN50", "slope_lo"] < 0.1 < pc.loc["RN50", "slope_hi"]
    assert pc.loc["ViT-B-16", "slope_lo"] < 0.0 < pc.loc["ViT-B-16", "slope_hi"]
    b = t[t["method"] == "binned"].set_index("model")
    assert b.loc["RN50", "rho"] > 0.95 and b.loc["RN50", "p"] < 0.05
    # the paper's slices: cc3m [1:-1] keeps 10 of 12 bins, laion400m [2:-1] keeps 9
    assert b.loc["RN50", "n_bins_kept"] == 10 and b.loc["ViT-B-16", "n_bins_kept"] == 9
    assert (t["n"] == 400).all()


def test_keep_zero_and_override():
    j = _joined({("cc3m", "RN50"): 0.1})
    assert fit_table(j, task="classification", n_boot=0, keep_zero=True).iloc[0]["n_bins_kept"] == 11
    assert fit_table(j, task="classification", n_boot=0, keep=slice(0, None)).iloc[0]["n_bins_kept"] == 12


def test_binned_points_have_identity_and_examples():
    j = _joined({("cc3m", "RN50"): 0.1})
    p = binned_points(j, task="classification")
    assert len(p) == 12 and p["kept"].sum() == 10
    assert p.loc[0, "count_max"] <= 1  # the first bin holds the zero/one-count concepts only
    assert p.loc[0, "n"] >= 20
    assert "(a, " in p.loc[5, "examples"] or "(b, " in p.loc[5, "examples"]
    assert {"task", "pretraining", "model", "count_type", "prompt_or_metric"} <= set(p.columns)


def test_fit_table_errors():
    j = _joined({("cc3m", "RN50"): 0.1})
    with pytest.raises(AnalysisError, match="unknown task"):
        fit_table(j, task="segmentation")
    with pytest.raises(AnalysisError, match="lacks columns"):
        fit_table(j.drop(columns="count"), task="classification")
    with pytest.raises(AnalysisError, match="cannot group by"):
        fit_table(j, task="classification", by=["nope"])


def test_table6_bins_by_hand():
    j = pd.DataFrame(
        dict(
            pretraining="cc3m",
            model="RN50",
            variant="integrated@0.7",
            prompt="ensemble",
            count=[0, 0, 1, 9, 10, 99, 100, 5000, 20000],
            value=[0.0, 0.2, 0.3, 0.5, 0.6, 0.6, 0.9, 1.0, 1.0],
        )
    )
    t = table6(j)
    assert t["bin"].tolist() == ["0", "1-10", "10-100", "100-1000", "1000-10000"]
    assert t["n_concepts"].tolist() == [2, 2, 2, 1, 1]  # 20000 is beyond the last edge, as in the paper
    np.testing.assert_allclose(t["mean_accuracy"], [10.0, 40.0, 60.0, 90.0, 100.0])
    assert table6(j, percent=False)["mean_accuracy"].iloc[0] == pytest.approx(0.1)
    e = table6(j, edges=[0, 1, 100000])
    assert e["n_concepts"].tolist() == [2, 7] and e["bin"].tolist() == ["0", "1-100000"]


def test_reused_per_concept_rows_equal_fresh_ones():
    from wag.analysis.figures import contract, fit_and_bin

    j = _joined({("cc3m", "RN50"): 0.1, ("laion400m", "ViT-B-16"): 0.02})
    _, fresh = fit_and_bin(j, task="classification", n_boot=100, seed=1, keep_zero=True)
    _, first = fit_and_bin(j, task="classification", n_boot=100, seed=1)
    _, reused = fit_and_bin(j, task="classification", n_boot=100, seed=1, keep_zero=True, per_concept=first)
    pd.testing.assert_frame_equal(contract(reused), contract(fresh))
    only = fit_table(j, task="classification", methods=("binned",))
    assert set(only["method"]) == {"binned"}
    with pytest.raises(AnalysisError, match="unknown fit methods"):
        fit_table(j, task="classification", methods=("bayes",))
