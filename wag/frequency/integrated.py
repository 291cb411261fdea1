"""Integrated counts: a sample counts for a concept when both its caption and its image show it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from wag.core.errors import WagError


class IdSpaceError(WagError, ValueError):
    """Text hits and image tags do not use the same sample ids."""


def check_id_space(text_ids: pd.Series, image_ids: pd.Series, *, min_overlap: float = 0.5) -> float:
    """Fraction of tagged images whose id also appears among the text samples; raise if below ``min_overlap``.

    ``text_ids`` should be *all* sample ids of the corpus (or at least all captions with a hit);
    a low overlap means the two sides were keyed differently (e.g. row numbers vs WebDataset keys).
    """
    img = pd.Index(pd.unique(image_ids.astype(str)))
    if len(img) == 0:
        return 1.0
    frac = float(img.isin(pd.unique(text_ids.astype(str))).mean())
    if frac < min_overlap:
        ex_t = list(pd.unique(text_ids.astype(str))[:2])
        raise IdSpaceError(
            f"only {frac:.0%} of image-tag sample ids occur on the text side (e.g. image {list(img[:2])} vs text {ex_t}); count text and images from the same shards so ids match"
        )
    return frac


def integrated_counts(
    text_hits: pd.DataFrame,
    image_tags: pd.DataFrame,
    *,
    threshold: float,
    concepts: Sequence[str] | None = None,
    text_ids: pd.Series | None = None,
    variant: str | None = None,
    dataset: str = "custom",
    pretraining: str = "corpus",
) -> pd.DataFrame:
    """Frequencies table (method ``integrated``): per concept |text hits ∩ image hits at ``threshold``| (exact, on sample ids).

    ``text_ids`` (all caption sample ids) enables the id-space check; without it the check uses the
    text hits' ids (weaker).
    """
    if not 0 <= threshold <= 1:
        raise WagError(f"threshold must be in [0, 1] (got {threshold})")
    for name, df, cols in (
        ("text_hits", text_hits, ("concept", "sample_id")),
        ("image_tags", image_tags, ("sample_id", "concept", "score")),
    ):
        miss = [c for c in cols if c not in df.columns]
        if miss:
            raise WagError(f"{name} lacks column(s) {miss}; expected {list(cols)}")
    check_id_space(
        text_ids if text_ids is not None else text_hits["sample_id"],
        image_tags["sample_id"],
        min_overlap=0.5 if text_ids is not None else 0.0,
    )
    img = image_tags.loc[image_tags["score"] >= threshold, ["concept", "sample_id"]].astype(str).drop_duplicates()
    txt = text_hits[["concept", "sample_id"]].astype(str).drop_duplicates()
    both = txt.merge(img, on=["concept", "sample_id"])
    names = list(concepts) if concepts is not None else sorted(set(txt["concept"]) | set(img["concept"]))
    c = both.groupby("concept").size().reindex(names, fill_value=0)
    return pd.DataFrame(
        {
            "concept": names,
            "dataset": dataset,
            "pretraining": pretraining,
            "method": "integrated",
            "variant": variant or f"integrated@{threshold:g}",
            "count": c.to_numpy().astype("int64"),
        }
    )
