"""Notebook helpers: generated corpus with truth, variant accuracy, threshold effects, misalignment vs injected rate."""

from __future__ import annotations

from wag.analysis.sections import frequency_demo as demo
from wag.frequency import count_captions


def test_demo_pipeline_small(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_CACHE", str(tmp_path))
    c = demo.generated_corpus(1500, 40, seed=0, paper_root=None)  # made-up names + the hard cases
    assert "T-shirt" in c.names and len(c.captions) == 1500
    counts, hits = demo.counts_by_variant(c.root, c.names, ["phrase", "paper_lemmatized"])
    acc = demo.accuracy(hits, c.truth).set_index("variant")
    assert acc.loc["phrase", "precision"] >= 0.99 and acc.loc["phrase", "recall"] >= 0.99
    assert acc.loc["paper_lemmatized", "recall"] < acc.loc["phrase", "recall"]  # digits, hyphens, "or" are lost
    cmp = demo.compare_variants(counts, c.truth)
    assert cmp.set_index("concept").loc["737-200", "paper_lemmatized"] == 0
    tail = demo.long_tail(counts)
    assert (tail.groupby("variant")["normalised_count"].max() == 1).all()
    h = count_captions(c.root, c.names, progress=False).hits
    mis = demo.misalignment_vs_injected(c, h, [0.0, 0.3], threshold=0.7)
    assert mis["degree_fixed_percent"].iloc[1] > mis["degree_fixed_percent"].iloc[0] + 5
    thr = demo.threshold_effects(c, h, [0.5, 0.9])
    assert thr["image_hits"].iloc[0] > thr["image_hits"].iloc[1]
