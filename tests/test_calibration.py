"""Calibration of a CLIP tagger's scores on the captions (wag.frequency.calibration) and count quality
(wag.frequency.quality) on simulated scores with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.core.tables import validate
from wag.frequency.calibration import CalibrationError, fit_calibration, fit_mixture, tag_features
from wag.frequency.quality import caveats, count_quality, row_caveats
from wag.study.spec import TaggerSpec

C = 12


def simulated(seed: int = 0, *, exclusive: bool = True, strength: float = 2.0):
    """Scores of a small CLIP on a corpus with known truth: every concept scores high on every image (a shared offset
    per concept), the true concept ``strength`` logits higher; images show one concept or nothing; 5% of captions name
    another concept."""
    rng = np.random.default_rng(seed)
    names = [f"c{i:02d}" for i in range(C)]
    counts = np.round(np.exp(np.linspace(np.log(5), np.log(800), C))).astype(int)
    img = np.concatenate([np.repeat(np.arange(C), counts), np.full(400, -1)])
    rng.shuffle(img)
    n = len(img)
    cap = img.copy()
    swap = (img >= 0) & (rng.random(n) < 0.05)
    cap[swap] = ((img + rng.integers(1, C, n)) % C)[swap]
    z = 1.0 + rng.normal(0, 1, C)[None, :] + strength * (img[:, None] == np.arange(C)) + rng.normal(0, 0.7, (n, C))
    raw = 1 / (1 + np.exp(-z))
    ids = np.array([f"s{i:05d}" for i in range(n)])
    r, c = np.nonzero(raw >= 0.01)
    tags = pd.DataFrame({"sample_id": ids[r], "concept": np.array(names)[c], "score": raw[r, c]})
    hits = pd.DataFrame({"concept": [names[x] for x in cap if x >= 0], "sample_id": ids[cap >= 0]})
    if not exclusive:  # a second concept named in a third of the captions: no competition
        extra = hits.sample(frac=0.35, random_state=seed).assign(
            concept=lambda d: d["concept"].map(lambda x: names[(names.index(x) + 1) % C])
        )
        hits = pd.concat([hits, extra], ignore_index=True)
    truth = pd.DataFrame({"concept": [names[x] for x in img if x >= 0], "sample_id": ids[img >= 0]})
    return tags, hits, ids, names, truth


def measured(tagged: pd.DataFrame, truth: pd.DataFrame, threshold: float) -> tuple[float, float]:
    h = tagged.loc[tagged["score"] >= threshold, ["concept", "sample_id"]]
    tp = len(h.merge(truth, on=["concept", "sample_id"]))
    return tp / max(len(h), 1), tp / len(truth)


@pytest.fixture(scope="module")
def fitted():
    tags, hits, ids, names, truth = simulated()
    cal = fit_calibration(tags, hits, ids, names, cutoff=0.5, min_score=0.01, seed=0, n_boot=10)
    return cal, tags, hits, ids, names, truth


def test_calibration_turns_flat_scores_into_counts_that_hold(fitted):
    cal, tags, _, _, names, truth = fitted
    raw_prec, _ = measured(tags, truth, 0.5)
    assert (tags["score"] >= 0.5).sum() / tags["sample_id"].nunique() > 5  # the problem: most concepts on every image
    assert raw_prec < 0.2
    out = cal.apply(tags, len(names))
    prec, rec = measured(out, truth, 0.5)
    assert prec >= 0.85 and rec >= 0.6
    assert (out["raw_score"].to_numpy() == tags["score"].astype("float32").to_numpy()).all()
    est = cal.summary()
    assert abs(est["precision"] - prec) < 0.1  # the calibration knows how good it is
    got = out[out["score"] >= 0.5]["concept"].value_counts().reindex(names, fill_value=0)
    true = truth["concept"].value_counts().reindex(names, fill_value=0)
    assert got.corr(true, method="spearman") >= 0.9


def test_calibration_table_contract_fallback_and_feature(fitted):
    cal, *_ = fitted
    t = validate(cal.table, "calibration")
    assert cal.feature in ("raw", "softmax", "top1") and (t["feature"] == cal.feature).all()
    few = t[t["n_positives"] < 20]
    assert len(few) and (few["method"] != "mixture").all()
    assert few["fallback"].str.startswith("too few positives").all()
    own = t[t["method"] == "mixture"]
    assert (own["fallback"] == "").all() and len(own) >= C // 2
    ok = own.dropna(subset=["precision_lo"])
    assert (ok["precision_lo"] <= ok["precision_hi"]).all()  # percentile intervals of 10 refits: near the estimate
    assert ((ok["precision_lo"] <= ok["precision"] + 0.05) & (ok["precision"] <= ok["precision_hi"] + 0.05)).all()


def test_calibration_is_deterministic_given_the_seed(fitted):
    cal, tags, hits, ids, names, _ = fitted
    again = fit_calibration(tags, hits, ids, names, cutoff=0.5, min_score=0.01, seed=0, n_boot=10)
    pd.testing.assert_frame_equal(cal.table, again.table)


def test_multi_concept_captions_do_not_compete():
    tags, hits, ids, names, _ = simulated(1, exclusive=False)
    cal = fit_calibration(tags, hits, ids, names, cutoff=0.5, min_score=0.01, seed=0, n_boot=0)
    assert cal.feature in ("raw", "softmax")  # captions name two concepts often: top1 is no candidate


def test_mixture_allows_for_caption_noise():
    """Half the caption negatives hide true images: the fitted shares see them instead of calling them negatives."""
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(3, 1, 500), rng.normal(3, 1, 100), rng.normal(0, 1, 2000)]
    pos = np.r_[np.ones(500, bool), np.zeros(2100, bool)]
    fit = fit_mixture(x, pos)
    assert abs(fit.mu1[0] - 3) < 0.2 and abs(fit.mu0[0]) < 0.2
    assert abs(fit.pi_neg[0] - 100 / 2100) < 0.02 and fit.pi_pos[0] > 0.97


def test_softmax_feature_is_the_log_odds_among_concepts_and_background():
    tags = pd.DataFrame({"sample_id": ["a", "a"], "concept": ["x", "y"], "score": [0.5, 0.5]})
    f = tag_features(tags, 2, "softmax", 0.01)
    assert np.allclose(f, np.log(1 / 2))  # logits 0, 0 and the background 0: p = 1/3, odds 1/2


def test_calibration_rejects_empty_input():
    with pytest.raises(CalibrationError, match="tagged images"):
        fit_calibration(
            pd.DataFrame(columns=["sample_id", "concept", "score"]),
            pd.DataFrame(columns=["concept", "sample_id"]),
            [],
            ["a"],
            cutoff=0.5,
            min_score=0.01,
        )


def test_count_quality_and_caveats():
    text = pd.DataFrame({"concept": ["a"] * 10 + ["b"] * 5 + ["c"], "sample_id": [f"s{i}" for i in range(16)]})
    ok = text.copy()
    flat = pd.DataFrame({"concept": list("abc") * 20, "sample_id": [f"s{i // 3}" for i in range(60)]})
    q = count_quality(
        text,
        {
            ("image", "tagger:m@0.5", 0.5): ok,
            ("image", "tagger:m@0.7", 0.7): flat,
            ("integrated", "integrated:m@0.7", 0.7): ok,
        },
        ["a", "b", "c"],
        20,
        pretraining="p",
        text_variant="phrase",
    )
    validate(q, "count_quality")
    assert caveats(q, "phrase") == [] and caveats(q, "tagger:m@0.5") == []
    bad = caveats(q, "tagger:m@0.7")
    assert any("tags per image" in b for b in bad) and any("disagree" in b for b in bad)
    assert caveats(q, "integrated:m@0.7") == bad  # the image half's problems
    row = q.iloc[1].to_dict() | {"precision": 0.3, "n_too_few_positives": 3}
    assert any("precision 0.30" in r for r in row_caveats(row)) and any(
        "too few positives" in r for r in row_caveats(row)
    )


def test_calibration_defaults_by_tagger_kind():
    assert TaggerSpec(kind="openclip", model="m").calibrated
    assert not TaggerSpec(kind="openclip", model="m", calibration="none").calibrated
    assert not TaggerSpec(kind="checkpoint", model="m").calibrated
    assert TaggerSpec(kind="checkpoint", model="m", calibration="captions").calibrated
