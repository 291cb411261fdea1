"""Notebook 2's check: the world's counts and tags against its truth, from the shared study of one seed's world."""

from __future__ import annotations

import pandas as pd

from wag.analysis.sections.frequency_demo import accuracy
from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import seed_jobs, seed_study, world_for
from wag.frequency.audit import hit_quality
from wag.frequency.integrated import integrated_counts
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import image_counts, image_hits
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams


def count_check(
    sp: SyntheticParams, seed: int, variants: list[str], thresholds: list[float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The world's counts checked against its truth (notebook 2), from the shared study of seed ``seed``'s world.

    The count and tag stages of ``<world>/study/main`` are the ones notebook 4-2's headline reads, so whichever
    notebook runs first computes them and the other reads them. Returns (precision/recall of each text variant's
    hits vs the caption concepts; misalignment from our counts with the true image concepts as tags and with the
    trained tagger per threshold, vs the truth; the tagger's image and integrated hits per threshold: precision,
    recall and Spearman ρ of counts vs the true image / matched counts).
    """
    thresholds = list(thresholds or [0.5, 0.6, 0.7])
    w = world_for(sp, seed)
    if sp.experiments.tagger.kind == "trained":  # no CLIP model needed: the same study folder, models declared by 4-2
        main = S.world_study(w, seed, tagger=S.trained_tagger(sp, w, seed))
    else:
        main = seed_study(sp, seed)[2]
    S.run(main, ["count", "tag"])
    meta = w.metadata()

    def pairs(col: str) -> pd.DataFrame:
        e = meta[["sample_id", col]].explode(col).dropna()
        return pd.DataFrame(
            {"concept": e[col].astype(str).to_numpy(), "sample_id": e["sample_id"].astype(str).to_numpy()}
        )

    truth, true_img = pairs("caption_concepts"), pairs("image_concepts")
    all_hits = S.table(main, "count/hits.parquet")
    hits = {
        v: all_hits.loc[all_hits["variant"] == v, ["concept", "sample_id"]].reset_index(drop=True) for v in variants
    }
    text = hits.get(
        "phrase", all_hits.loc[all_hits["variant"] == "phrase", ["concept", "sample_id"]].reset_index(drop=True)
    )
    tags = S.table(main, "tag/tags.parquet")
    rows = []
    for side, txt, tg, ts in [
        ("our phrase counts", text, true_img.assign(score=1.0), [0.5]),
        ("world truth", truth, true_img.assign(score=1.0), [0.5]),
        ("our phrase counts", text, tags, thresholds),
    ]:
        for t in ts:
            m = misalignment(txt, tg, threshold=t, n_samples=len(meta))
            rows.append(
                {
                    "text side": side,
                    "image side": "world truth" if tg is not tags else f"trained tagger@{t:g}",
                    "misaligned_pairs": m["misaligned_pairs"],
                    "degree_fixed_percent": 100 * m["degree_fixed"],
                    "degree_extracted_percent": 100 * m["degree_extracted"],
                }
            )
    gt = w.ground_truth().set_index("concept")
    matched = truth.merge(true_img, on=["concept", "sample_id"])
    sweep = []
    for t in thresholds:
        est = image_hits(tags, t)
        iq = hit_quality(text.merge(est, on=["concept", "sample_id"]), matched)
        q = hit_quality(est, true_img)
        img = image_counts(tags, [t], concepts=w.names).set_index("concept")["count"]
        integ = integrated_counts(text, tags, threshold=t, concepts=w.names, text_ids=meta["sample_id"]).set_index(
            "concept"
        )["count"]
        sweep.append(
            {
                "threshold": t,
                "image_hits": q["estimated"],
                "image_precision": q["precision"],
                "image_recall": q["recall"],
                "image_zero_concepts": int((img == 0).sum()),
                "spearman_image_vs_truth": float(img.corr(gt["image_count"], method="spearman")),
                "integrated_hits": int(integ.sum()),
                "integrated_precision": iq["precision"],
                "integrated_recall": iq["recall"],
                "spearman_integrated_vs_truth": float(integ.corr(gt["matched_count"], method="spearman")),
            }
        )
    return accuracy(hits, truth), pd.DataFrame(rows), pd.DataFrame(sweep)


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The tagger of seed ``seed``'s world (the notebook's seed), and its CLIP models when they are the tagger."""
    return seed_jobs(sp, seed, models=sp.experiments.tagger.kind != "trained")


COUNT_CHECK = Experiment("count_check", params=None, table=None, trainings=trainings, run=count_check)
