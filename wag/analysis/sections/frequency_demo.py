"""Helpers of the notebook ``2_concepts_and_frequency``: a generated corpus with ground truth, counts per
variant, accuracy against the truth, paper-vs-phrase differences, long tail, a simulated tagger.

Everything is deterministic from the profile (seed, sizes) and cached by its inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wag.concepts import fold_name
from wag.core.ids import content_key
from wag.core.io import write_parquet
from wag.core.paths import cache_dir
from wag.frequency.audit import hit_quality
from wag.frequency.count import count_captions
from wag.frequency.generate import generate_captions, paper_class_names, write_caption_shards
from wag.frequency.integrated import integrated_counts
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import image_counts


@dataclass(frozen=True)
class GeneratedCorpus:
    """Caption shards on disk, the ground truth (``concept, sample_id``) and the concept names."""

    root: Path
    names: list[str]
    truth: pd.DataFrame
    captions: pd.DataFrame


def generated_corpus(
    n_captions: int, n_concepts: int, *, seed: int = 0, paper_root: str | Path | None = None, shards: int = 4
) -> GeneratedCorpus:
    """A caption corpus mentioning ``n_concepts`` of the paper's class names (every k-th, so all datasets appear) when
    ``paper_root`` is their folder (:func:`wag.artifacts.locate_paper_root`), made-up names otherwise."""
    pool = []
    if paper_root is not None:
        try:
            pool = paper_class_names(paper_root)
        except (OSError, ValueError):
            pool = []
    if len(pool) < n_concepts:
        pool += made_up_names(n_concepts - len(pool), seed=seed)
    step = max(len(pool) // n_concepts, 1)
    # make sure the cases the paper gets wrong are in the demo; one spelling per concept (the rule of
    # wag.concepts.concept_table, which would merge "t-shirt" and "T-shirt" and so the truth must too)
    musts = [
        "four-poster bed",
        "737-200",
        "Sea or Lake",
        "T-shirt",
        "bed",
        "kite (bird of prey)",
        "Boeing 737",
        "sports car",
    ]
    first: dict[str, str] = {}
    for n in pool[::step][:n_concepts] + musts:
        first.setdefault(fold_name(n), n)
    names = list(first.values())
    key = content_key({"v": 4, "n": n_captions, "names": names, "seed": seed, "shards": shards})
    root = cache_dir() / "generated_corpus" / key
    if not (root / "truth.parquet").is_file():
        caps, truth = generate_captions(names, n_captions, seed=seed)
        write_caption_shards(caps, root / "shards", n_shards=shards)
        write_parquet(root / "captions.parquet", caps)
        write_parquet(root / "truth.parquet", truth)
    return GeneratedCorpus(
        root / "shards", names, pd.read_parquet(root / "truth.parquet"), pd.read_parquet(root / "captions.parquet")
    )


def made_up_names(n: int, *, seed: int = 0) -> list[str]:
    """``n`` distinct made-up one- or two-word concept names (when the paper's class names are unavailable)."""
    rng = np.random.default_rng(seed)
    syll = ["kan", "lor", "mit", "nep", "rud", "tav", "vok", "zim", "pel", "sug", "bor", "fen"]
    out: dict[str, None] = {}
    while len(out) < n:
        words = ["".join(rng.choice(syll, 2)) for _ in range(int(rng.integers(1, 3)))]
        out[" ".join(words)] = None
    return list(out)


def counts_by_variant(
    corpus,
    names: list[str],
    variants: list[str],
    *,
    workers: int = 1,
    batch_size: int = 65_536,
    pretraining: str = "generated",
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Frequencies table of all variants (long) and the hits of each variant."""
    tables, hits = [], {}
    for v in variants:
        r = count_captions(
            corpus, names, variant=v, workers=workers, batch_size=batch_size, progress=False, pretraining=pretraining
        )
        tables.append(r.counts)
        hits[v] = r.hits.assign(concept=lambda d: d["concept"].astype(str))
    return pd.concat(tables, ignore_index=True), hits


def accuracy(hits: dict[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """Precision and recall of each variant's (concept, sample) hits against the ground truth."""
    rows = []
    for v, h in hits.items():
        q = hit_quality(h, truth)
        rows.append(
            {
                "variant": v,
                "hits": q["estimated"],
                "true hits": q["true"],
                "precision": q["precision"],
                "recall": q["recall"],
            }
        )
    return pd.DataFrame(rows)


def _reason(name: str) -> str:
    low = name.lower()
    if re.search(r"\bor\b", low):
        return '"or" read as AND'
    if re.search(r"\d", low):
        return "digits never indexed"
    if "-" in low:
        return "hyphenated word split / dropped"
    if "(" in low:
        return "qualifier words searched"
    if len(low.replace("_", " ").split()) > 1:
        return "words in any order / adjective dropped"
    if name[:1].isupper():
        return "proper-noun case mismatch"
    return "noun-tagging differences"


def compare_variants(
    counts: pd.DataFrame, truth: pd.DataFrame, *, a: str = "paper_lemmatized", b: str = "phrase"
) -> pd.DataFrame:
    """Per concept: counts of variants ``a`` and ``b``, the true count, the ratio and a likely reason of the gap."""
    wide = counts.pivot_table(index="concept", columns="variant", values="count", aggfunc="first")
    true = truth.groupby("concept").size()
    out = pd.DataFrame({"concept": wide.index, a: wide[a].to_numpy(), b: wide[b].to_numpy()})
    out["truth"] = true.reindex(out["concept"]).fillna(0).astype(int).to_numpy()
    out["ratio"] = (out[a] + 1) / (out[b] + 1)
    out["reason"] = [_reason(c) if x != y else "" for c, x, y in zip(out["concept"], out[a], out[b], strict=True)]
    out["_gap"] = -np.abs(np.log(out["ratio"]))
    return out.sort_values(["_gap", "concept"], kind="stable", ignore_index=True).drop(columns="_gap")


def long_tail(counts: pd.DataFrame) -> pd.DataFrame:
    """Fig. 5 recipe per variant: counts normalised by the max, zeros removed, sorted descending (rank from 1)."""
    rows = []
    for v, g in counts.groupby("variant"):
        c = np.sort(g["count"].to_numpy()[g["count"].to_numpy() > 0])[::-1]
        if len(c):
            rows.append(pd.DataFrame({"variant": v, "rank": np.arange(1, len(c) + 1), "normalised_count": c / c[0]}))
    return pd.concat(rows, ignore_index=True)


def simulated_tags(
    truth: pd.DataFrame, sample_ids: pd.Series, names: list[str], *, swap_rate: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """A tagger with known behaviour: each true concept scores ~Beta(8, 2); with probability ``swap_rate`` the
    image shows a random other concept instead (a misaligned pair); every image gets 3 distractor tags ~Beta(2, 8)."""
    rng = np.random.default_rng(seed)
    t = truth[["sample_id", "concept"]].drop_duplicates().reset_index(drop=True)
    swap = rng.random(len(t)) < swap_rate
    t.loc[swap, "concept"] = np.asarray(names, dtype=object)[rng.integers(0, len(names), int(swap.sum()))]
    t["score"] = rng.beta(8, 2, len(t))
    ids = np.repeat(sample_ids.to_numpy(), 3)
    d = pd.DataFrame(
        {
            "sample_id": ids,
            "concept": np.asarray(names, dtype=object)[rng.integers(0, len(names), len(ids))],
            "score": rng.beta(2, 8, len(ids)),
        }
    )
    return (
        pd.concat([t, d], ignore_index=True)
        .sort_values(["score", "sample_id", "concept"], ascending=[False, True, True], kind="stable")
        .drop_duplicates(["sample_id", "concept"], ignore_index=True)
    )


def threshold_effects(
    corpus: GeneratedCorpus, text_hits: pd.DataFrame, thresholds: list[float], *, swap_rate: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """Per threshold: image hits, zero-count concepts and integrated hits (text ∩ image), with their agreement to the truth."""
    tags = simulated_tags(corpus.truth, corpus.captions["sample_id"], corpus.names, swap_rate=swap_rate, seed=seed)
    true = corpus.truth.groupby("concept").size().reindex(corpus.names, fill_value=0)
    rows = []
    for t in thresholds:
        img = image_counts(tags, [t], concepts=corpus.names).set_index("concept")["count"]
        integ = integrated_counts(
            text_hits, tags, threshold=t, concepts=corpus.names, text_ids=corpus.captions["sample_id"]
        ).set_index("concept")["count"]
        rows.append(
            {
                "threshold": t,
                "image_hits": int(img.sum()),
                "image_zero_concepts": int((img == 0).sum()),
                "integrated_hits": int(integ.sum()),
                "spearman_image_vs_truth": float(img.corr(true, method="spearman")),
                "spearman_integrated_vs_truth": float(integ.corr(true, method="spearman")),
            }
        )
    return pd.DataFrame(rows)


def misalignment_vs_injected(
    corpus: GeneratedCorpus, text_hits: pd.DataFrame, rates: list[float], *, threshold: float = 0.7, seed: int = 0
) -> pd.DataFrame:
    """Misalignment degree (both denominators, percent) measured with our counts, for taggers with a known swap rate."""
    rows = []
    for r in rates:
        tags = simulated_tags(corpus.truth, corpus.captions["sample_id"], corpus.names, swap_rate=r, seed=seed)
        m = misalignment(text_hits, tags, threshold=threshold, n_samples=len(corpus.captions))
        rows.append(
            {
                "injected_swap_rate": r,
                "misaligned_pairs": m["misaligned_pairs"],
                "degree_fixed_percent": 100 * m["degree_fixed"],
                "degree_extracted_percent": 100 * m["degree_extracted"],
            }
        )
    return pd.DataFrame(rows)
