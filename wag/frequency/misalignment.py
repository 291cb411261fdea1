"""Image-text misalignment (paper Tab. 3, App. G, Alg. 1).

A sample is misaligned when its image has at least one concept tag (score >= threshold) and its
caption at least one concept hit, and the two concept sets are disjoint. The paper divides the
number of misaligned pairs by a fixed dataset size; its files also hold the alternative
denominator max(#images with a tag, #captions with a concept). Both are returned, as fractions.
"""

from __future__ import annotations

import pandas as pd

from wag.core.errors import WagError

#: The paper's fixed dataset sizes (App. G).
PAPER_SIZES = {
    "cc3m": 3_318_333,
    "cc12m": 12_423_374,
    "yfcc15m": 14_825_236,
    "laion400m": 414_080_000,
    "laion_aesthetics": 161_100_000,
}


def misalignment(text_hits: pd.DataFrame, image_tags: pd.DataFrame, *, threshold: float, n_samples: int) -> dict:
    """``{misaligned_pairs, degree_fixed, degree_extracted, n_images_tagged, n_captions_hit, n_samples, threshold}``.

    ``degree_fixed`` = misaligned / ``n_samples`` (the corpus size, paper's main number);
    ``degree_extracted`` = misaligned / max(#images with a tag, #captions with a hit).
    """
    if n_samples <= 0:
        raise WagError(f"n_samples must be the corpus size (> 0), got {n_samples}")
    img = image_tags.loc[image_tags["score"] >= threshold, ["sample_id", "concept"]].astype(str).drop_duplicates()
    txt = text_hits[["sample_id", "concept"]].astype(str).drop_duplicates()
    img_ids = pd.Index(img["sample_id"].unique())
    txt_ids = pd.Index(txt["sample_id"].unique())
    both_ids = img_ids.intersection(txt_ids)
    shared = img.merge(txt, on=["sample_id", "concept"])["sample_id"].unique()
    misaligned = int(len(both_ids.difference(pd.Index(shared))))
    denom = max(len(img_ids), len(txt_ids))
    return {
        "misaligned_pairs": misaligned,
        "degree_fixed": misaligned / n_samples,
        "degree_extracted": misaligned / denom if denom else 0.0,
        "n_images_tagged": int(len(img_ids)),
        "n_captions_hit": int(len(txt_ids)),
        "n_samples": int(n_samples),
        "threshold": float(threshold),
    }
