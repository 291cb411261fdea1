"""The world's counts through the public stages, checked against its ground truth (the headline's counts and quality).

Text counts are the ``phrase`` hits of the count stage, image counts the study tagger's hits at the threshold,
integrated counts the integrate stage's; on top, what only a world has: the true counts and the precision/recall of
the hits against them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from wag.core.tables import variant_name
from wag.frequency.audit import hit_quality
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import image_hits
from wag.study.spec import StudySpec
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.world import DATASET, World

COUNT_TYPES = ("truth", "text", "image", "integrated")

#: tagger kind (``experiments.tagger.kind``) -> label used in variant names (``tagger:<label>@<threshold>``)
TAGGER_LABELS = S.TAGGER_LABELS
#: label -> what the ``tagger`` column of ``count_quality`` says
TAGGER_DESCRIPTIONS = {
    "tagger": "WorldTagger (trained on fresh renders: RAM++ analogue; a tagger checkpoint)",
    "clip": "OpenClipTagger (the headline CLIP model)",
}


def variant_names(label: str | None, threshold: float) -> dict[str, str]:
    """Count type -> frequencies ``variant`` of the synthetic chain (image/integrated named by tagger and threshold)."""
    out = {"truth": "ground truth", "text": variant_name("text", text="phrase")}
    if label is not None:
        out |= {
            "image": variant_name("image", tagger=label, threshold=threshold),
            "integrated": variant_name("integrated", tagger=label, threshold=threshold),
        }
    return out


def count_variant(count_type: str, sp: SyntheticParams) -> str:
    """The frequencies ``variant`` of ``count_type`` (truth, text, image, integrated) under the profile's tagger and
    threshold, e.g. ``tagger:tagger@0.7`` for image counts: the ``count_type`` column of the headline's fits."""
    return variant_names(TAGGER_LABELS[sp.experiments.tagger.kind], sp.experiments.tagger_threshold)[count_type]


def count_world(
    world: World, study: StudySpec, threshold: float, *, compare: StudySpec | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Counts of the world's corpus (frequencies contract + ``true_count``) and their quality vs ground truth, from
    the tables the public stages wrote into ``study`` (count, tag, integrate, misalignment; run here if stale).

    Text: the ``phrase`` hits of the count stage. Image: the study's tagger, hit if its score ≥ ``threshold``.
    Integrated: the integrate stage's hits (text ∩ image per sample). ``truth``: the true image count. On top,
    from the world's ground truth: precision/recall of the sample-level hits and Spearman ρ of the counts, each
    against its own truth (captions, images, both), plus each tagger's hit quality at other thresholds (cf. App. F);
    ``compare`` is a second study of the world whose tagger only adds quality rows.
    """
    tagged = study.tagger.kind != "none"
    S.run(study, ["count", "integrate", "misalignment"] if tagged else ["count"])
    names = world.names
    meta = world.metadata()
    truth = {
        "text": _pairs(meta["sample_id"], meta["caption_concepts"]),
        "image": _pairs(meta["sample_id"], meta["image_concepts"]),
    }
    truth["integrated"] = truth["text"].merge(truth["image"], on=["concept", "sample_id"])
    text = S.table(study, "count/hits.parquet")
    hits = {"text": text.loc[text["variant"] == "phrase", ["concept", "sample_id"]].drop_duplicates(ignore_index=True)}
    info: dict = {"failures": []}
    label = study.tagger_label if tagged else None
    all_tags: dict[str, pd.DataFrame] = {}
    if label is not None:
        tags = S.table(study, "tag/tags.parquet")
        all_tags[label] = tags
        hits["image"] = image_hits(tags, threshold)
        integ = S.table(study, "integrate/hits.parquet")
        hits["integrated"] = integ.loc[
            integ["variant"] == variant_name("integrated", tagger=label, threshold=threshold), ["concept", "sample_id"]
        ]
        both = hits["text"].merge(hits["image"], on=["concept", "sample_id"])
        if len(both) != len(hits["integrated"]) or len(
            both.merge(hits["integrated"], on=["concept", "sample_id"])
        ) != len(both):
            raise RuntimeError(
                "integrated hits of the study's integrate stage disagree with the text ∩ image hits; report this bug"
            )
    if compare is not None and compare.tagger.kind != "none":
        S.run(compare, ["tag"])
        all_tags.setdefault(compare.tagger_label, S.table(compare, "tag/tags.parquet"))
    gt = world.ground_truth().set_index("concept")
    rows, qual = [], []
    true_col = {"truth": "image_count", "text": "caption_count", "image": "image_count", "integrated": "matched_count"}
    variants = variant_names(label, threshold)

    def quality(
        method: str, variant: str, tagger: str | None, est: pd.DataFrame, tru: pd.DataFrame, rho: float
    ) -> dict:
        return {
            "method": method,
            "variant": variant,
            **hit_quality(est, tru),
            "spearman": rho,
            "tagger": TAGGER_DESCRIPTIONS.get(tagger, tagger) if tagger else "",
        }

    for method in COUNT_TYPES:
        if method == "truth":
            cnt = gt["image_count"]
        elif method in hits:
            cnt = hits[method]["concept"].value_counts().reindex(names, fill_value=0)
        else:
            continue
        for c in names:
            rows.append(
                {
                    "concept": c,
                    "dataset": DATASET,
                    "pretraining": DATASET,
                    "method": method,
                    "variant": variants[method],
                    "count": int(cnt[c]),
                    "true_count": int(gt.at[c, true_col[method]]),
                }
            )
        if method != "truth":
            rho = _spearman(cnt.reindex(names).to_numpy(), gt[true_col[method]].reindex(names).to_numpy())
            qual.append(
                quality(method, variants[method], None if method == "text" else label, hits[method], truth[method], rho)
            )
    for lab, lab_tags in all_tags.items():  # every tagger's hit quality at other thresholds (cf. the paper's App. F)
        for t in sorted({0.5, 0.7, 0.9, 0.99} - ({threshold} if lab == label else set())):
            est = image_hits(lab_tags, t)
            cnt = est["concept"].value_counts().reindex(names, fill_value=0)
            qual.append(
                quality(
                    "image",
                    variant_name("image", tagger=lab, threshold=t),
                    lab,
                    est,
                    truth["image"],
                    _spearman(cnt.to_numpy(), gt["image_count"].reindex(names).to_numpy()),
                )
            )
    # the paper's Tab. 3 degree (misaligned pairs / corpus size): from the truth, and from the study's misalignment stage
    info["true_misaligned"] = misalignment(
        truth["text"], truth["image"].assign(score=1.0), threshold=0.5, n_samples=len(meta)
    )["degree_fixed"]
    if label is not None:
        mis = S.table(study, "misalignment/misalignment.parquet")
        info["estimated_misaligned"] = float(mis.loc[mis["image_variant"] == variants["image"], "degree_fixed"].iloc[0])
    return pd.DataFrame(rows), pd.DataFrame(qual), info


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman ρ, NaN when either side is constant (e.g. no hits at a high threshold)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def _pairs(ids: pd.Series, sets: pd.Series) -> pd.DataFrame:
    return pd.DataFrame([(c, s) for s, cs in zip(ids, sets) for c in set(cs)], columns=["concept", "sample_id"])
