"""Titles and claims are computed from the fits they sit on (wag.analysis.claims): no log-linear law is claimed over a
negative or CI-spanning per-concept slope, and the reasons it may not hold are named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from wag.analysis import claims

ROOT = Path(__file__).resolve().parents[1]


def _fits(*panels: tuple[str, float, float, float, int]) -> pd.DataFrame:
    """A fits table: one binned and one per-concept row per (count_type, slope, lo, hi, n) panel."""
    rows = []
    for ct, slope, lo, hi, n in panels:
        base = dict(task="classification", pretraining="my-web", model="tiny", count_type=ct, prompt_or_metric="class")
        rows.append(
            {
                **base,
                "method": "binned",
                "rho": 0.99,
                "p": 0.001,
                "slope": 0.1,
                "slope_lo": 0.0,
                "slope_hi": 0.2,
                "n": 5,
            }
        )
        rows.append(
            {
                **base,
                "method": "per_concept",
                "rho": 0.2,
                "p": 0.1,
                "slope": slope,
                "slope_lo": lo,
                "slope_hi": hi,
                "n": n,
            }
        )
    return pd.DataFrame(rows)


def test_the_law_holds_only_when_every_slope_is_positive_with_its_ci_above_zero():
    good = _fits(("phrase", 0.10, 0.09, 0.11, 500))
    assert claims.law_holds(good)
    text = claims.law_claim(good, "Zero-shot accuracy")
    assert text.startswith(
        "Zero-shot accuracy grows log-linearly with concept frequency: per-concept slope +0.1/decade"
    )
    assert "does not" not in text
    assert claims.law_title("Fig. 2", good).startswith("Fig. 2: performance is log-linear in concept frequency")


@pytest.mark.parametrize(
    ("panel", "why"),
    [
        (("phrase", -2.90, -6.07, 0.16, 400), ["the slope is negative", "its CI spans zero"]),  # the panel
        (("phrase", 0.05, -0.01, 0.11, 400), ["its CI spans zero"]),
        (("phrase", -0.30, -0.40, -0.20, 400), ["the slope is negative"]),
        (("phrase", 0.05, -0.01, 0.11, 6), ["its CI spans zero", "too few concepts (6 < 20)"]),
    ],
)
def test_a_negative_or_ci_spanning_slope_is_no_law_and_says_why(panel, why):
    fits = _fits(panel)
    assert not claims.law_holds(fits)
    text = claims.law_claim(fits, "Zero-shot accuracy")
    assert text.startswith("Zero-shot accuracy does not grow log-linearly with concept frequency here")
    assert "grows log-linearly" not in text
    for reason in why:
        assert reason in text
    title = claims.law_title("Fig. 2", fits)
    assert "is log-linear" not in title and "no log-linear law here" in title


def test_untrusted_counts_are_named_as_a_reason():
    fits = _fits(("phrase", 0.10, 0.09, 0.11, 500), ("tagger:tiny@0.7", 0.01, -0.02, 0.04, 500))
    caveats = {"tagger:tiny@0.7": ["the tagger is a random-init model"]}
    text = claims.law_claim(fits, "Zero-shot accuracy", caveats=caveats)
    assert "in 1 of 2 panels" in text
    assert "counts may not be trusted: the tagger is a random-init model" in text
    assert "tagger:tiny@0.7" in text  # the panel where it does not hold is named
    assert claims.law_claim(fits, "x", caveats=lambda ct: caveats.get(ct, [])) == claims.law_claim(
        fits, "x", caveats=caveats
    )
    title = claims.law_title("Fig. 2", fits, datasets=["pets"])
    assert "in 1 of 2 panels" in title
    assert "corpus my-web" in title and "dataset pets" in title and "model tiny" in title
    assert "count type phrase, tagger:tiny@0.7" in title


def test_titles_count_what_they_cannot_name():
    fits = _fits(*[(f"ct{i}", 0.1, 0.05, 0.15, 100) for i in range(5)])
    assert "5 count types" in claims.inputs_label(fits, datasets=[f"d{i}" for i in range(17)])
    assert "17 datasets" in claims.inputs_label(fits, datasets=[f"d{i}" for i in range(17)])


def test_table6_rises_and_misalignment_and_let_it_wag_claims_are_computed():
    t6 = pd.DataFrame(
        {"model": ["a"] * 3 + ["b"] * 3, "bin": ["0", "1-10", "10-100"] * 2, "mean_accuracy": [1, 2, 3, 3, 2, 1]}
    )
    assert claims.rises_claim(t6, "Mean accuracy").endswith("in 1 of 2 rows only")
    assert "all 1 rows" not in claims.rises_claim(t6[t6.model == "a"], "Mean accuracy")
    assert "does not rise" in claims.rises_claim(t6[t6.model == "b"], "Mean accuracy")
    small = pd.DataFrame({"pretraining": ["web"], "misalignment_degree_percent": [0.66]})
    text = claims.misalignment_claim(small)
    assert "0.66% (web)" in text and "large" not in text  # the 0.66% is no "large fraction"
    big = pd.DataFrame({"pretraining": ["cc3m", "yfcc15m"], "misalignment_degree_percent": [16.8, 36.5]})
    assert "a large fraction: 16.80% (cc3m) to 36.50% (yfcc15m)" in claims.misalignment_claim(big)
    pts = pd.DataFrame({"model": ["m1", "m2"], "gap": [5.0, -1.0]})
    assert claims.trails_claim(pts, "ImageNet").endswith("for 1 of 2 models only")
    assert "all 2 models" in claims.trails_claim(pts.assign(gap=[5.0, 1.0]), "ImageNet")


def test_a_source_whose_fit_is_negative_claims_no_law(tmp_path: Path):
    """A study whose per-concept slope is negative: the source's claim and title say the law does not hold here."""
    from test_sources import _tiny_study  # a study folder with 3 concepts: accuracy 0.9, 0.5, 0.1

    from wag.analysis import figures

    src = _tiny_study(tmp_path)
    joined, _ = src.classification(count_types=["phrase"])
    joined = joined.assign(value=joined["value"].to_numpy()[::-1])  # accuracy now falls with frequency
    _, fit = figures.fit_and_bin(joined, task="classification", n_boot=50, seed=0, binning=src.binning)
    fits = figures.contract(fit)
    assert (fits.loc[fits.method == "per_concept", "slope"] < 0).all()
    claim = src.claim("fig2", fits)
    assert "does not grow log-linearly" in claim and "the slope is negative" in claim
    assert "too few concepts (3 < 20)" in claim
    title = src.title("Fig. 2", fits, datasets=joined["dataset"].unique())
    assert "is log-linear" not in title and "corpus web" in title and "dataset animals" in title
    assert src.count_caveats("phrase") == []
    with pytest.raises(Exception, match="computed from its numbers"):
        src.claim("fig2")


@pytest.mark.skipif(
    not (ROOT / "figures" / "3_frequency_vs_performance" / "fig2_fits.csv").is_file(), reason="no committed Fig. 2 fits"
)
def test_on_the_released_files_the_law_holds_in_the_committed_fig2():
    fits = pd.read_csv(ROOT / "figures" / "3_frequency_vs_performance" / "fig2_fits.csv")
    assert claims.law_holds(fits)
    assert "does not" not in claims.law_claim(fits, "Zero-shot performance")
