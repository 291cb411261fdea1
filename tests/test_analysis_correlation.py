"""Spearman matrices: the name join is order-free, the paper's position join is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.analysis.correlation import as_square, paper_order, spearman_matrix
from wag.analysis.errors import AnalysisError

NAMES = [f"c{i}" for i in range(30)]


def _freq(order_b: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = rng.permutation(np.arange(30) * 10 + 1)
    rows = [
        dict(concept=n, key=n, dataset="ds", pretraining="A", method="text", variant="lemmatized", count=int(a[i]))
        for i, n in enumerate(NAMES)
    ]
    # B's counts are a monotone function of A's (so ρ = 1 on a correct join), listed in another order
    rows += [
        dict(
            concept=NAMES[i],
            key=NAMES[i],
            dataset="ds",
            pretraining="B",
            method="text",
            variant="lemmatized",
            count=int(3 * a[i] + 5),
        )
        for i in order_b
    ]
    return pd.DataFrame(rows)


def test_name_join_ignores_order_position_join_does_not():
    same = _freq(list(range(30)))
    shuffled = _freq(list(np.random.default_rng(1).permutation(30)))
    for df in (same, shuffled):
        t = spearman_matrix(df, count_type="text", join="name")
        assert t.loc[0, "spearman"] == pytest.approx(1.0)
        assert t.loc[0, "n_concepts"] == 30
    assert spearman_matrix(same, count_type="text", join="paper_position").loc[0, "spearman"] == pytest.approx(1.0)
    broken = spearman_matrix(shuffled, count_type="text", join="paper_position").loc[0, "spearman"]
    assert broken < 0.5


def test_position_join_truncates_to_shorter_list():
    df = _freq(list(range(30)))
    df = df[~((df["pretraining"] == "B") & df["concept"].isin(NAMES[:3]))]  # B lacks its first 3 concepts
    pos = spearman_matrix(df, count_type="text", join="paper_position").iloc[0]
    name = spearman_matrix(df, count_type="text", join="name").iloc[0]
    assert pos["n_concepts"] == 27 and name["n_concepts"] == 27
    assert name["spearman"] == pytest.approx(1.0)
    assert pos["spearman"] < 0.9  # shifted by three positions


def test_paper_file_order_puts_cifar100_before_cifar10_and_dedupes():
    df = pd.DataFrame(
        dict(
            concept=["cat", "dog", "cat", "bee"],
            dataset=["cifar10", "cifar10", "cifar100", "cifar100"],
            count=[1, 2, 3, 4],
        )
    )
    out = paper_order(df)
    assert out["concept"].tolist() == ["cat", "bee", "dog"]  # cifar100_ sorts before cifar10_; first 'cat' kept
    assert out["count"].tolist() == [3, 4, 2]


def test_square_matrix_and_errors():
    t = spearman_matrix(_freq(list(range(30))), count_type="text")
    m = as_square(t)
    assert m.loc["A", "B"] == m.loc["B", "A"] == pytest.approx(1.0) and m.loc["A", "A"] == 1.0
    df = _freq(list(range(30)))
    with pytest.raises(AnalysisError, match="unknown join"):
        spearman_matrix(df, count_type="text", join="position")
    with pytest.raises(AnalysisError, match="no counts with method 'image'"):
        spearman_matrix(df, count_type="image")
    two = pd.concat([df, df.assign(variant="lowercased")])
    with pytest.raises(AnalysisError, match="several variants"):
        spearman_matrix(two, count_type="text")
    assert spearman_matrix(two, count_type="text", variant="lowercased").loc[0, "spearman"] == pytest.approx(1.0)
