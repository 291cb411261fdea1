"""Image taggers against the world's truth, on the same corpus images (issue 18, point 5).

Compared: the world's trained tagger (the RAM++ analogue, a tagger checkpoint), the headline CLIP as an open_clip
tagger on its raw score, and the same tagger calibrated on the captions (``study.tagger.calibration: captions``,
:mod:`wag.frequency.calibration`). The CLIP rows come from one tag stage: its ``tags.parquet`` keeps the raw score
beside the calibrated one, so both rows score the very same images. Per tagger, at the world's tagger threshold:
precision and recall of the image hits against the images' true concepts, Spearman of the image counts against the
true image counts, the misalignment it measures against the true one, and the per-concept slope of the headline
model's zero-shot accuracy on log10 image count (the ground truth's own slope in the first row).

A tagger from stored embeddings (``tagger.kind: embeddings``) has a hook, :func:`embeddings_tagger`: it gives a row
once this wag's study schema knows that kind, and :func:`missing_rows` says why it is absent until then.
"""

from __future__ import annotations

from typing import get_args

import numpy as np
import pandas as pd

from wag.analysis.per_concept import fit_log_linear
from wag.experiments.experiment import Experiment
from wag.experiments.world_runs import seed_jobs, seed_study, study_performance, world_for
from wag.frequency.audit import hit_quality
from wag.frequency.misalignment import misalignment
from wag.frequency.quality import spearman
from wag.frequency.tagging import image_hits
from wag.study.spec import StudySpec, TaggerSpec
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams
from wag.synthetic.world import World

COLUMNS = [
    "tagger",
    "threshold",
    "precision",
    "recall",
    "spearman_vs_true",
    "misalignment_percent",
    "true_misalignment_percent",
    "slope",
    "slope_lo",
    "slope_hi",
    "n_concepts",
]
TRUTH = "ground truth (true image concepts)"
TRAINED = "world tagger (RAM++ analogue)"
CLIP_RAW = "CLIP, raw score"
CLIP_CALIBRATED = "CLIP, calibrated on captions"
EMBEDDINGS = "CLIP from stored embeddings"


def embeddings_available() -> bool:
    """Whether this wag's study schema knows the stored-embeddings tagger (``tagger.kind: embeddings``)."""
    return "embeddings" in get_args(TaggerSpec.model_fields["kind"].annotation)


def embeddings_tagger(clip: TaggerSpec) -> TaggerSpec | None:
    """The hook for the stored-embeddings row: the CLIP tagger reading stored embeddings, or None while the study
    schema lacks that kind (then the table has no such row; :func:`missing_rows` says so)."""
    return clip.model_copy(update={"kind": "embeddings"}) if embeddings_available() else None


def missing_rows() -> list[str]:
    """Why a tagger of the comparison has no row (empty when every row is there)."""
    if not embeddings_available():
        return [f"{EMBEDDINGS}: not in this wag yet (tagger kind 'embeddings', issue 18 point 2)"]
    return [f"{EMBEDDINGS}: the study schema has it, but this comparison does not run it yet"]


def _truth(world: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    meta = world.metadata()

    def pairs(col: str) -> pd.DataFrame:
        e = meta[["sample_id", col]].explode(col).dropna()
        return pd.DataFrame(
            {"concept": e[col].astype(str).to_numpy(), "sample_id": e["sample_id"].astype(str).to_numpy()}
        )

    return pairs("caption_concepts"), pairs("image_concepts")


def _row(
    name: str,
    hits: pd.DataFrame,
    world: World,
    text: pd.DataFrame,
    true_img: pd.DataFrame,
    acc: pd.Series,
    threshold: float,
    true_mis: float,
    n_boot: int,
) -> dict:
    names = world.names
    gt = world.ground_truth().set_index("concept")["image_count"].reindex(names)
    counts = hits["concept"].value_counts().reindex(names, fill_value=0)
    q = hit_quality(hits, true_img)
    n = len(world.metadata())
    mis = misalignment(text, hits.assign(score=1.0), threshold=0.5, n_samples=n)["degree_fixed"]
    a = acc.reindex(names)
    fit = fit_log_linear(counts.to_numpy(), a.to_numpy(), n_boot=n_boot, seed=0)
    return {
        "tagger": name,
        "threshold": threshold,
        "precision": q["precision"],
        "recall": q["recall"],
        "spearman_vs_true": spearman(counts.to_numpy(), gt.to_numpy()),
        "misalignment_percent": 100 * mis,
        "true_misalignment_percent": 100 * true_mis,
        "slope": fit["slope"],
        "slope_lo": fit["slope_lo"],
        "slope_hi": fit["slope_hi"],
        "n_concepts": int(np.isfinite(a.to_numpy(dtype=float)).sum()),
    }


def tagger_studies(sp: SyntheticParams, seed: int) -> tuple[World, StudySpec, StudySpec, StudySpec]:
    """(world, main study with the headline model, the trained tagger's study, the calibrated CLIP tagger's study)."""
    w, models, main, _ = seed_study(sp, seed)
    hw = models[sp.model.headline_width]
    trained = S.world_study(w, seed, tagger=S.trained_tagger(sp, w, seed), name="taggers-trained", retrieval=False)
    clip = S.clip_tagger(sp, hw).model_copy(update={"calibration": "captions"})
    clip_study = S.world_study(w, seed, tagger=clip, name="taggers-clip", retrieval=False)
    return w, main, trained, clip_study


def compare_taggers(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """The comparison table (:data:`COLUMNS`; one row per tagger, the ground truth first), cached by the params."""
    return TAGGERS.cached(sp, lambda: _compute(sp), refresh=refresh)


def _compute(sp: SyntheticParams) -> pd.DataFrame:
    seed = sp.experiments.seeds[0]
    th = sp.experiments.tagger_threshold
    w, main, trained, clip = tagger_studies(sp, seed)
    perf = study_performance(main)
    model = S.model_name(sp.model.headline_width)
    acc = perf[(perf["task"] == "classification") & (perf["model"] == model)].set_index("concept")["value"]
    truth_text, true_img = _truth(w)
    n = len(w.metadata())
    true_mis = misalignment(truth_text, true_img.assign(score=1.0), threshold=0.5, n_samples=n)["degree_fixed"]
    args = (w, None, true_img, acc, th, true_mis, sp.experiments.n_boot)
    rows = []
    for name, spec in ((TRAINED, trained), (CLIP_CALIBRATED, clip)):
        S.run(spec, ["count", "tag"])
        text = S.table(spec, "count/hits.parquet")
        text = text.loc[text["variant"] == "phrase", ["concept", "sample_id"]]
        tags = S.table(spec, "tag/tags.parquet")
        if name == CLIP_CALIBRATED:
            raw = tags.assign(score=tags["raw_score"])
            rows.append(_row(CLIP_RAW, image_hits(raw, th), *_with_text(args, text)))
        rows.append(_row(name, image_hits(tags, th), *_with_text(args, text)))
    truth = _row(TRUTH, true_img, *_with_text(args, true_img.iloc[:0]))
    truth["misalignment_percent"] = 100 * true_mis
    order = [TRUTH, TRAINED, CLIP_RAW, CLIP_CALIBRATED]
    df = pd.DataFrame([truth, *rows], columns=COLUMNS)
    return df.set_index("tagger").loc[order].reset_index()


def _with_text(args: tuple, text: pd.DataFrame) -> tuple:
    w, _, *rest = args
    return (w, text, *rest)


def trainings(sp: SyntheticParams, seed: int) -> list[jobs.Job]:
    """The first headline seed's CLIP models and its trained tagger."""
    s = sp.experiments.seeds[0]
    out = seed_jobs(sp, s)
    if sp.experiments.tagger.kind != "trained":  # the trained tagger is compared whatever the headline's tagger
        out.append(jobs.TaggerJob(str(world_for(sp, s).root), sp.experiments.tagger, s, sp.train.threads))
    return out


TAGGERS = Experiment("taggers", params=None, table="taggers", trainings=trainings, run=compare_taggers)
