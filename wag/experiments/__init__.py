"""The synthetic experiment end to end, through the real pipeline, and the experiments beyond the paper.

Every function takes the profile's :class:`~wag.synthetic.params.SyntheticParams`, returns tidy tables
and caches them (``wag.core.cache``) keyed by the params; worlds and models are cached on disk too, so a
rerun is fast. Chain: world (generator) → counts (``wag.frequency`` text engine, image tagger,
integrated) → models (open_clip ``ClipLoss``) → per-concept zero-shot accuracy and retrieval
(``wag.evaluate``) → fits (``wag.analysis``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from wag.analysis.fits import binned_points, fit_table
from wag.analysis.per_concept import fit_log_linear
from wag.analysis.sections.frequency_demo import accuracy
from wag.concepts import NORMALIZER_VERSION
from wag.core.cache import cache_path, cached_table
from wag.core.errors import WagError
from wag.core.ids import slug
from wag.core.io import write_text
from wag.core.tables import variant_name
from wag.evaluate.datasets import image_folder
from wag.evaluate.models import load_clip
from wag.frequency.audit import hit_quality
from wag.frequency.integrated import integrated_counts
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import image_counts, image_hits
from wag.study.spec import DatasetSpec, LetItWagOptions, ModelSpec, StudySpec, TaggerSpec
from wag.synthetic import generator as gen
from wag.synthetic import jobs
from wag.synthetic import study as S
from wag.synthetic.params import SyntheticParams, TrainParams
from wag.synthetic.t2i import run_t2i, t2i_summary
from wag.synthetic.train import TrainedModel, arch_name, normalise, train_clip
from wag.synthetic.world import DATASET, Streams, World, build_world, write_image_folder

CACHE_VERSION = 6  # 6: counts and evaluation through the public study stages; variant names from wag.core.tables
COUNT_TYPES = ("truth", "text", "image", "integrated")


# ----------------------------------------------------------------------------------------------- pieces


POOLED, POOLED_COMMON = -1, -2  # ``seed`` labels of pooled fits: all seeds / seeds trained at every width

#: experiment -> its own parameter block (its cache key holds that block, not the other experiments')
_OWN_PARAMS = {
    "intervention": "intervention",
    "rebalance": "rebalance",
    "similarity": "similarity",
    "collisions": "collisions",
    "letitwag": "letitwag",
    "t2i": "t2i",
}


#: experiment -> (the cached table that holds its result, the extra parts of its key): read by the experiment that writes
#: it and by :func:`training_jobs` (an experiment whose table is cached will train nothing)
_TABLES = {
    "headline": ("synthetic/headline-counts", {}),
    "intervention": ("synthetic/intervention", {}),
    "rebalance": ("synthetic/rebalance", {}),
    "collisions": ("synthetic/collisions", {}),
    "similarity": ("synthetic/similarity", {"via": "study-stage"}),
    "letitwag": ("synthetic/letitwag", {"via": "study-stage"}),
    "t2i": ("synthetic/t2i", {"via": "study-stage"}),
}


def _table_key(sp: SyntheticParams, kind: str) -> tuple[str, dict]:
    """(cached table name, key parts) of experiment ``kind``'s result."""
    name, extra = _TABLES[kind]
    return name, _parts(sp, kind=kind, **extra)


def _parts(sp: SyntheticParams, **extra: object) -> dict:
    """Cache-key inputs of one stage: world, model, training, seeds, tagger threshold and the stage's own block.

    Fits (bins, bootstrap) are computed from the cached tables, so they are not part of any key; changing
    one experiment's parameters never recomputes the headline or another experiment."""
    ex = sp.experiments.model_dump()
    own = {k: ex[k] for k in ("seeds", "tagger_threshold", "tagger")}
    block = _OWN_PARAMS.get(str(extra.get("kind")))
    if block:
        own[block] = ex[block]
    return {
        "v": CACHE_VERSION,
        "normalizer": NORMALIZER_VERSION,
        "world": sp.world.model_dump(),
        "model": sp.model.model_dump(),
        "train": sp.train.model_dump(),
        "experiments": own,
        **extra,
    }


def load_model(trained: TrainedModel, label: str):
    """The trained checkpoint through the evaluation harness' loader."""
    return load_clip(trained.name, source=label)


def evaluate(
    world: World, trained: TrainedModel, *, label: str, retrieval: bool = True, name: str | None = None
) -> pd.DataFrame:
    """Per-concept zero-shot accuracy on the world's class-balanced test folder (+ retrieval recall@k), by the public
    zeroshot and retrieval stages of a study of ``world`` with this one checkpoint (``<world>/study/<name>``)."""
    spec = S.world_study(
        world,
        int(world.info["seed"]),
        models={trained.arch: trained},
        pretraining=label,
        name=name or slug(label),
        retrieval=retrieval,
    )
    S.run(spec, ["zeroshot", "retrieval"] if len(spec.datasets) > 1 else ["zeroshot"])
    cols = ["concept", "dataset", "task", "model", "pretraining", "prompt", "metric", "value"]
    return S.performance(spec, retrieval=retrieval)[cols]


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


def world_studies(
    sp: SyntheticParams, world: World, seed: int, models: dict[int, TrainedModel] | None = None
) -> tuple[StudySpec, StudySpec | None]:
    """(main study, CLIP-tagger study) of a world: the main one with the profile's tagger and the ``models`` (width ->
    checkpoint), the second (only when the profile's tagger is the trained one and a headline model is given) tags
    with the headline model's zero-shot tagger, for the quality comparison."""
    kind = sp.experiments.tagger.kind
    hw = (models or {}).get(sp.model.headline_width)
    if kind == "trained":
        tagger = S.trained_tagger(sp, world, seed)
    elif hw is not None:
        tagger = S.clip_tagger(sp, hw)
    else:
        raise ValueError("experiments.tagger.kind 'clip' tags with the headline model: train it first")
    main = S.world_study(world, seed, models={S.model_name(w): m for w, m in (models or {}).items()}, tagger=tagger)
    clip = None
    if kind == "trained" and hw is not None:
        clip = S.world_study(
            world, seed, tagger=S.clip_tagger(sp, hw), name=f"clip-tagger-{slug(hw.path.parent.name)}", retrieval=False
        )
    return main, clip


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


def join(freq: pd.DataFrame, perf: pd.DataFrame) -> pd.DataFrame:
    """Performance rows with the count of the same concept for each count type (concept names are exact here)."""
    return perf.merge(freq[["concept", "method", "variant", "count", "true_count"]], on="concept", how="inner")


def fits_and_points(joined: pd.DataFrame, sp: SyntheticParams, by: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binned (paper recipe) and per-concept fits, and the binned points, per group."""
    ex = sp.experiments
    out_f, out_p = [], []
    for task, sub in joined.groupby("task"):
        kw = dict(task=str(task), keep=ex.keep, n_bins=ex.n_bins)
        out_f.append(fit_table(sub, by=by, n_boot=ex.n_boot, seed=0, **kw))
        out_p.append(binned_points(sub, by=by, **kw))
    return pd.concat(out_f, ignore_index=True), pd.concat(out_p, ignore_index=True)


# ---------------------------------------------------------------------------------------------- headline


@dataclass
class Headline:
    """Tables of the headline chain (all seeds and widths, standard loss)."""

    counts: pd.DataFrame  # frequencies contract + seed, true_count
    count_quality: pd.DataFrame  # seed, method, precision, recall, spearman
    performance: pd.DataFrame  # performance contract + seed, width
    fits: pd.DataFrame  # fits contract + seed (+ pooled rows with seed = -1)
    points: pd.DataFrame
    timings: pd.DataFrame  # stage, seconds (of the uncached computation)


def _timed(timings: list[dict], stage: str, fn: Callable, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    timings.append({"stage": stage, "seconds": time.perf_counter() - t0})
    return out


def world_for(sp: SyntheticParams, seed: int, *, counts: list[int] | None = None, progress: bool = False) -> World:
    """The world of ``seed`` (optionally with explicit per-concept ``counts``, same concepts and test sets)."""
    wp = (
        sp.world
        if counts is None
        else sp.world.model_copy(update={"law": "explicit", "counts": [int(c) for c in counts]})
    )
    return build_world(type(sp.world).model_validate(wp.model_dump()), seed, progress=progress)


def seed_study(
    sp: SyntheticParams, seed: int, *, progress: bool = False, timings: list[dict] | None = None
) -> tuple[World, dict[int, TrainedModel], StudySpec, StudySpec | None]:
    """The world of ``seed``, its CLIP checkpoints (one per width) and its studies (:func:`world_studies`).

    Every notebook and experiment that needs seed ``seed``'s world, models or counts goes through here, so they
    share one world folder, one set of checkpoints and one study folder (``<world>/study/main``)."""
    tm: list[dict] = [] if timings is None else timings
    w = _timed(tm, f"world seed {seed}", world_for, sp, seed, progress=progress)
    models = {
        width: _timed(tm, f"train w{width} seed {seed}", train_clip, w, width, sp.train, seed, progress=progress)
        for width in sp.model.widths_for(seed)
    }
    main, clip = _timed(tm, f"tagger seed {seed}", world_studies, sp, w, seed, models)
    return w, models, main, clip


def _study_performance(spec: StudySpec) -> pd.DataFrame:
    S.run(spec, ["zeroshot", "retrieval"] if len(spec.datasets) > 1 else ["zeroshot"])
    return S.performance(spec)


def run_headline(sp: SyntheticParams, *, progress: bool = False, refresh: bool = False) -> Headline:
    """Worlds × seeds, models × widths, counts, evaluation and fits (cached by the params)."""
    names = ["counts", "count_quality", "performance", "timings"]

    def compute_all() -> dict[str, pd.DataFrame]:
        timings: list[dict] = []
        counts, qual, perf = [], [], []
        for seed in sp.experiments.seeds:
            w, models, main, clip = seed_study(sp, seed, progress=progress, timings=timings)
            width_of = {S.model_name(width): width for width in models}
            p = _timed(timings, f"study stages zeroshot, retrieval seed {seed}", _study_performance, main)
            perf.append(p.assign(seed=seed, width=p["model"].map(width_of), loss=sp.train.loss))
            f, q, info = _timed(
                timings,
                f"study stages count, tag, integrate, misalignment seed {seed}",
                count_world,
                w,
                main,
                sp.experiments.tagger_threshold,
                compare=clip,
            )
            counts.append(f.assign(seed=seed))
            qual.append(
                q.assign(
                    seed=seed,
                    true_misaligned=info["true_misaligned"],
                    estimated_misaligned=info.get("estimated_misaligned"),
                )
            )
        return {
            "counts": pd.concat(counts, ignore_index=True),
            "count_quality": pd.concat(qual, ignore_index=True),
            "performance": pd.concat(perf, ignore_index=True),
            "timings": pd.DataFrame(timings),
        }

    store: dict[str, pd.DataFrame] = {}

    def getter(name: str) -> Callable[[], pd.DataFrame]:
        def compute() -> pd.DataFrame:
            if not store:
                store.update(compute_all())
            return store[name]

        return compute

    parts = _table_key(sp, "headline")[1]
    tabs = {n: cached_table(f"synthetic/headline-{n}", parts, getter(n), refresh=refresh or bool(store)) for n in names}
    joined = join_seeds(tabs["counts"], tabs["performance"])
    fits, points = fits_and_points(joined, sp, by=["seed", "width"])
    pooled_f, pooled_p = fits_and_points(joined.assign(seed=POOLED, pretraining=DATASET), sp, by=["seed", "width"])
    # widths compared on the same worlds: pooled over the seeds trained at every width (when that is fewer)
    per_seed = joined.groupby("seed")["width"].nunique()
    common = per_seed.index[per_seed == joined["width"].nunique()]
    if 0 < len(common) < len(per_seed):
        cf, cp = fits_and_points(
            joined[joined["seed"].isin(common)].assign(seed=POOLED_COMMON, pretraining=DATASET),
            sp,
            by=["seed", "width"],
        )
        pooled_f, pooled_p = pd.concat([pooled_f, cf], ignore_index=True), pd.concat([pooled_p, cp], ignore_index=True)
    quality = tabs["count_quality"].drop_duplicates(subset=["seed", "method", "variant"], ignore_index=True)
    return Headline(
        tabs["counts"],
        quality,
        tabs["performance"],
        pd.concat([fits, pooled_f], ignore_index=True),
        pd.concat([points, pooled_p], ignore_index=True),
        tabs["timings"],
    )


def join_seeds(counts: pd.DataFrame, perf: pd.DataFrame) -> pd.DataFrame:
    """Join counts and performance per seed (concept names are unique within a seed's world)."""
    frames = []
    for seed, p in perf.groupby("seed"):
        f = counts[counts["seed"] == seed].drop(columns=["seed"])
        frames.append(join(f, p))
    return pd.concat(frames, ignore_index=True)


def headline_summary(h: Headline, sp: SyntheticParams, count_type: str = "text") -> pd.DataFrame:
    """Per seed (and pooled, seed = -1) at the headline width: per-concept slope with CI, binned ρ, accuracy range."""
    f = h.fits[
        (h.fits["task"] == "classification")
        & (h.fits["count_type"] == _variant(count_type, sp))
        & (h.fits["width"] == sp.model.headline_width)
        & (h.fits["seed"] != POOLED_COMMON)
    ]
    pc = f[f["method"] == "per_concept"].set_index("seed")
    b = f[f["method"] == "binned"].set_index("seed")
    acc = h.performance[
        (h.performance["task"] == "classification") & (h.performance["width"] == sp.model.headline_width)
    ]
    out = pd.DataFrame(
        {
            "slope": pc["slope"],
            "slope_lo": pc["slope_lo"],
            "slope_hi": pc["slope_hi"],
            "intercept": pc["intercept"],
            "binned_rho": b["rho"],
            "binned_p": b["p"],
            "n_concepts": pc["n"],
        }
    )
    g = acc.groupby("seed")["value"]
    out["mean_accuracy"] = g.mean()
    out.loc[-1, "mean_accuracy"] = acc["value"].mean()
    out["chance"] = 1.0 / sp.world.n_concepts
    out["ci_above_zero"] = out["slope_lo"] > 0
    out["rho_at_least_0.8"] = out["binned_rho"] >= 0.8
    return out.reset_index().assign(count_type=count_type, width=sp.model.headline_width)


def _variant(count_type: str, sp: SyntheticParams) -> str:
    return variant_names(TAGGER_LABELS[sp.experiments.tagger.kind], sp.experiments.tagger_threshold)[count_type]


def scale_table(h: Headline, sp: SyntheticParams, count_type: str = "text") -> pd.DataFrame:
    """Slope and intercept of the per-concept fit for each model width (per seed and pooled).

    ``seed`` -1 pools every seed of a width; -2 pools only the seeds trained at every width (the paired
    comparison, present when ``model.scale_seeds`` trains the other widths on fewer seeds)."""
    f = h.fits[
        (h.fits["task"] == "classification")
        & (h.fits["count_type"] == _variant(count_type, sp))
        & (h.fits["method"] == "per_concept")
    ]
    return (
        f[["width", "seed", "slope", "slope_lo", "slope_hi", "intercept", "r2", "n"]]
        .sort_values(["width", "seed"])
        .reset_index(drop=True)
    )


# ------------------------------------------------------------------------------------------ experiments


def _acc(world: World, trained: TrainedModel, label: str) -> pd.Series:
    p = evaluate(world, trained, label=label, retrieval=False)
    return p.set_index("concept")["value"]


def _base(sp: SyntheticParams) -> tuple[int, World, TrainedModel, pd.DataFrame]:
    """The first seed's world, headline model and ground truth with its accuracy, from the shared study of that seed."""
    seed = sp.experiments.seeds[0]
    w, models, main, _ = seed_study(sp, seed)
    perf = _study_performance(main)
    acc = perf[(perf["task"] == "classification") & (perf["model"] == S.model_name(sp.model.headline_width))].set_index(
        "concept"
    )["value"]
    gt = w.ground_truth()
    gt["accuracy"] = gt["concept"].map(acc)
    return seed, w, models[sp.model.headline_width], gt


def run_intervention(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Multiply the counts of a few low/mid-frequency concepts by ``factor`` (nothing else changes), retrain, compare.

    Rows per concept: group (treated/control), counts before/after, accuracy before/after, and the change
    the baseline per-concept slope predicts (slope × log10(count ratio)).
    """

    def compute() -> pd.DataFrame:
        seed, w, m, gt = _base(sp)
        fit = fit_log_linear(gt["image_count"], gt["accuracy"], n_boot=0)
        k = len(gt)
        new, treated = intervention_counts(sp, gt)
        w2 = world_for(sp, seed, counts=new.tolist())
        m2 = train_clip(w2, sp.model.headline_width, sp.train, seed, progress=False)
        acc2 = _acc(w2, m2, f"{DATASET}-s{seed}-intervention")
        gt2 = w2.ground_truth().set_index("concept")
        out = gt[["concept", "image_count", "accuracy"]].rename(
            columns={"image_count": "count_before", "accuracy": "accuracy_before"}
        )
        out["count_after"] = out["concept"].map(gt2["image_count"])
        out["accuracy_after"] = out["concept"].map(acc2)
        out["group"] = np.where(np.isin(np.arange(k), treated), "treated", "control")
        out["predicted_change"] = fit["slope"] * np.log10(
            np.maximum(out["count_after"], 1) / np.maximum(out["count_before"], 1)
        )
        out["observed_change"] = out["accuracy_after"] - out["accuracy_before"]
        out["baseline_slope"] = fit["slope"]
        out["seed"] = seed
        return out

    return cached_table(*_table_key(sp, "intervention"), compute, refresh=refresh)


def intervention_counts(sp: SyntheticParams, gt: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(new per-concept target counts, treated rows of ``gt``): ``n_concepts`` low/mid-frequency concepts of the first seed's
    ground truth ``gt`` drawn at random, their counts multiplied by ``factor`` (needs no trained model)."""
    ip = sp.experiments.intervention
    rng = np.random.default_rng(sp.experiments.seeds[0] + 1000)
    order = gt.sort_values("image_count", kind="stable").index.to_numpy()  # ties: ground-truth row order
    k = len(order)
    pool = order[int(0.15 * k) : max(int(0.5 * k), int(0.15 * k) + ip.n_concepts)]
    treated = rng.choice(pool, size=min(ip.n_concepts, len(pool)), replace=False)
    new = gt["target_count"].to_numpy().copy()
    new[treated] = np.round(new[treated] * ip.factor).astype(np.int64)
    return new, treated


def intervention_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean observed vs predicted change per group, and the difference-in-differences (treated − control)."""
    g = df.groupby("group").agg(
        n=("concept", "size"),
        accuracy_before=("accuracy_before", "mean"),
        accuracy_after=("accuracy_after", "mean"),
        observed_change=("observed_change", "mean"),
        predicted_change=("predicted_change", "mean"),
    )
    if {"treated", "control"} <= set(g.index):
        t, c = df[df.group == "treated"]["observed_change"], df[df.group == "control"]["observed_change"]
        did = t.mean() - c.mean()
        se = (
            float(np.sqrt(t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c)))
            if len(t) > 1 and len(c) > 1
            else float("nan")
        )
        g.loc["treated − control"] = [
            len(t),
            np.nan,
            np.nan,
            did,
            g.at["treated", "predicted_change"] - g.at["control", "predicted_change"],
        ]
        g["se"] = [np.nan] * (len(g) - 1) + [se]
    return g.reset_index()


def rebalanced_counts(counts: np.ndarray, cap_quantile: float) -> np.ndarray:
    """Cap counts at the ``cap_quantile`` value and give the freed budget to the rarest concepts (water-filling).

    The total number of concept occurrences is unchanged (± rounding).
    """
    c = np.asarray(counts, dtype=float)
    cap = float(np.quantile(c, cap_quantile))
    capped = np.minimum(c, cap)
    budget = c.sum() - capped.sum()
    lo, hi = capped.min(), cap
    for _ in range(60):  # bisection on the floor level
        mid = (lo + hi) / 2
        if np.maximum(capped, mid).sum() - capped.sum() > budget:
            hi = mid
        else:
            lo = mid
    out = np.floor(np.maximum(capped, lo)).astype(np.int64)
    short = int(round(c.sum())) - int(out.sum())
    if short > 0:
        idx = np.argsort(out, kind="stable")[:short]
        out[idx] += 1
    return out


def run_rebalance(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Fixed budget: cap head concepts, upsample the tail (new synthetic images), retrain, compare per concept."""
    rp = sp.experiments.rebalance

    def compute() -> pd.DataFrame:
        seed, w, m, gt = _base(sp)
        new = rebalanced_counts(gt["target_count"].to_numpy(), rp.cap_quantile)
        w2 = world_for(sp, seed, counts=new.tolist())
        m2 = train_clip(w2, sp.model.headline_width, sp.train, seed, progress=False)
        acc2 = _acc(w2, m2, f"{DATASET}-s{seed}-rebalanced")
        out = gt[["concept", "image_count", "accuracy"]].rename(
            columns={"image_count": "count_before", "accuracy": "accuracy_before"}
        )
        out["count_after"] = out["concept"].map(w2.ground_truth().set_index("concept")["image_count"])
        out["accuracy_after"] = out["concept"].map(acc2)
        q = out["count_before"].rank(pct=True)
        out["part"] = np.where(q <= 1 / 3, "tail", np.where(q > 2 / 3, "head", "middle"))
        out["seed"] = seed
        return out

    return cached_table(*_table_key(sp, "rebalance"), compute, refresh=refresh)


def rebalance_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy before/after per part (tail / middle / head / all) and the total occurrences."""
    rows = []
    for part, g in [*df.groupby("part"), ("all", df)]:
        rows.append(
            {
                "part": part,
                "n": len(g),
                "occurrences_before": int(g["count_before"].sum()),
                "occurrences_after": int(g["count_after"].sum()),
                "accuracy_before": g["accuracy_before"].mean(),
                "accuracy_after": g["accuracy_after"].mean(),
                "gain": (g["accuracy_after"] - g["accuracy_before"]).mean(),
            }
        )
    return pd.DataFrame(rows)


def _embed_arrays(lm, images: np.ndarray, batch: int = 1024):
    import torch  # lazy: torch only where a model embeds (the module also serves the cached tables without it)

    out = []
    with torch.inference_mode():
        for a in range(0, len(images), batch):
            f = lm.encode_image(normalise(np.asarray(images[a : a + batch])))
            out.append(torch.nn.functional.normalize(f, dim=-1))
    return torch.cat(out)


def run_similarity_control(sp: SyntheticParams, *, refresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """§4.1 analogue: drop the pretraining images nearest (embedding cosine) to any test image, retrain, refit.

    The removal is the world's intervention: it writes the removed sample ids to ``<world>/similarity/exclude-*.txt``
    and declares the filtered corpus as a study (``study.corpus.exclude``, ``<world>/study/simcontrol-<fraction>``) with
    the retrained checkpoint, so the public count stage counts the kept samples and the zeroshot stage evaluates it.
    Returns (per-concept table with counts and accuracy before/after, fits of both).
    """
    from wag.evaluate.features import encode_images  # lazy: wag.evaluate.features imports torch

    frac = sp.experiments.similarity.remove_fraction

    def compute() -> pd.DataFrame:
        seed, w, m, gt = _base(sp)
        lm = load_model(m, f"{DATASET}-s{seed}")
        test = encode_images(lm, image_folder(w.test_dir, name=DATASET), progress=False).features
        train = _embed_arrays(lm, w.images())
        sim = np.zeros(len(train), dtype=np.float32)
        for a in range(0, len(train), 4096):
            sim[a : a + 4096] = (train[a : a + 4096] @ test.T).max(dim=1).values.numpy()
        n_drop = int(round(frac * len(sim)))
        order = np.argsort(sim, kind="stable")
        keep, drop = np.sort(order[: len(sim) - n_drop]), np.sort(order[len(sim) - n_drop :])
        # the intervention the world adds: the most test-similar samples as an exclusion list a user would hand the study
        exclude = f"similarity/exclude-{frac:g}-s{seed}.txt"
        write_text(w.root / exclude, "".join(f"{sid}\n" for sid in w.metadata()["sample_id"].iloc[drop].astype(str)))
        m2 = train_clip(w, sp.model.headline_width, sp.train, seed, subset=keep, progress=False)
        main = seed_study(sp, seed)[2]
        name = S.model_name(sp.model.headline_width)
        filt = main.model_copy(
            update={
                "name": f"{DATASET}-simcontrol-s{seed}",
                "output": f"study/simcontrol-{frac:g}",
                "concepts": [],
                "tagger": TaggerSpec(kind="none"),
                "corpus": main.corpus.model_copy(update={"exclude": exclude}),
                "models": [ModelSpec(name=name, model=m2.name, pretraining=S.pretraining_name(seed, "-simcontrol"))],
                "datasets": [d for d in main.datasets if d.task == "classification"],
                "stages": main.stages.model_copy(
                    update={"count": main.stages.count.model_copy(update={"variants": ["phrase"]})}
                ),
            }
        )
        S.run(
            main, ["count"]
        )  # counts of the full corpus (the shared study), and of the filtered one by the public count stage
        S.run(filt, ["count", "zeroshot"])
        before = S.table(main, "count/frequencies.parquet")
        after = S.table(filt, "count/frequencies.parquet")
        acc2 = S.table(filt, "zeroshot/performance.parquet").drop_duplicates("concept").set_index("concept")["value"]
        count_of = lambda f: f[f["variant"] == "phrase"].drop_duplicates("concept").set_index("concept")["count"]  # noqa: E731
        out = gt[["concept", "accuracy"]].rename(columns={"accuracy": "accuracy_before"})
        out["count_before"] = out["concept"].map(count_of(before)).fillna(0).astype(int)
        out["count_after"] = out["concept"].map(count_of(after)).fillna(0).astype(int)
        out["accuracy_after"] = out["concept"].map(acc2)
        out["removed_fraction"] = frac
        out["max_similarity_threshold"] = float(np.sort(sim)[len(sim) - n_drop - 1]) if n_drop else float("nan")
        out["seed"] = seed
        return out

    df = cached_table(*_table_key(sp, "similarity"), compute, refresh=refresh)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "concept": df["concept"],
                    "count": df["count_before"],
                    "value": df["accuracy_before"],
                    "model": "full corpus",
                }
            ),
            pd.DataFrame(
                {
                    "concept": df["concept"],
                    "count": df["count_after"],
                    "value": df["accuracy_after"],
                    "model": f"{int(frac * 100)}% most test-similar removed",
                }
            ),
        ],
        ignore_index=True,
    ).assign(
        dataset=DATASET,
        task="classification",
        pretraining=DATASET,
        prompt="class",
        metric="accuracy",
        method="text",
        variant="phrase",
    )
    return df, long


def run_collisions(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Batch collisions: standard vs same-concept-masked ClipLoss, and a batch-size sweep at equal samples seen.

    Rows per concept and training variant: count, accuracy, expected same-concept partners per batch.
    """

    def compute() -> pd.DataFrame:
        seed, w, m, gt = _base(sp)
        n = len(w.metadata())
        frames = []
        for label, tp in collision_variants(sp):
            mm = (
                m
                if label == f"standard bs={sp.train.batch_size}"
                else train_clip(w, sp.model.headline_width, tp, seed, progress=False)
            )
            acc = _acc(w, mm, f"{DATASET}-s{seed}-{label}")
            frames.append(
                pd.DataFrame(
                    {
                        "concept": gt["concept"],
                        "count": gt["image_count"],
                        "value": gt["concept"].map(acc).to_numpy(),
                        "variant": label,
                        "loss": tp.loss,
                        "batch_size": tp.batch_size,
                        "expected_partners": (tp.batch_size - 1) * gt["image_count"].to_numpy() / n,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True).assign(seed=seed)

    return cached_table(*_table_key(sp, "collisions"), compute, refresh=refresh)


def collision_variants(sp: SyntheticParams) -> list[tuple[str, TrainParams]]:
    """(label, training params) of the collision experiment: the headline training, its masked-loss twin, and the other
    batch sizes at the same number of samples seen."""
    samples = sp.train.steps * sp.train.batch_size
    variants: list[tuple[str, TrainParams]] = [
        (f"standard bs={sp.train.batch_size}", sp.train),
        (f"masked bs={sp.train.batch_size}", sp.train.model_copy(update={"loss": "masked"})),
    ]
    for bs in sp.experiments.collisions.batch_sizes:
        if bs != sp.train.batch_size:
            variants.append(
                (f"standard bs={bs}", sp.train.model_copy(update={"batch_size": bs, "steps": max(1, samples // bs)}))
            )
    return variants


def collision_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per variant: per-concept slope, and the high-frequency dip = mean residual of the top-quartile concepts
    from a line fitted to the lower three quartiles (negative = plateau/dip at high frequency)."""
    rows = []
    for v, g in df.groupby("variant", sort=False):
        f = fit_log_linear(g["count"], g["value"], n_boot=200)
        x = np.log10(np.maximum(g["count"].to_numpy(float), 1))
        top = x >= np.quantile(x, 0.75)
        lo = fit_log_linear(g["count"][~top], g["value"][~top], n_boot=0)
        resid = g["value"].to_numpy()[top] - (lo["intercept"] + lo["slope"] * x[top])
        rows.append(
            {
                "variant": v,
                "loss": g["loss"].iloc[0],
                "batch_size": int(g["batch_size"].iloc[0]),
                "slope": f["slope"],
                "slope_lo": f["slope_lo"],
                "slope_hi": f["slope_hi"],
                "mean_accuracy": g["value"].mean(),
                "top_quartile_accuracy": g["value"].to_numpy()[top].mean(),
                "high_frequency_dip": float(np.mean(resid)),
                "max_expected_partners": float(g["expected_partners"].max()),
            }
        )
    return pd.DataFrame(rows)


def letitwag_pool(sp: SyntheticParams, world: World, seed: int) -> Path:
    """``<world>/letitwag_pool/<concept>/*.png``: ``n_candidates`` fresh single-concept renders of *every* concept
    (the image pool a user would hand the letitwag stage; the stage picks the tail concepts from the counts).
    Each concept's renders come from its own random stream, so they do not depend on which concepts are tail."""
    pool = world.root / "letitwag_pool"
    n = sp.experiments.letitwag.n_candidates
    if not pool.is_dir():
        tmp = world.root / ".letitwag_pool.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        concepts = gen.draw_concepts(sp.world.n_concepts, Streams.from_seed(seed).identity)
        for i, name in enumerate(world.names):
            imgs = gen.render(
                gen.single_concept_grid(np.full(n, i)),
                concepts,
                gen.IMAGE_SIZE,
                sp.world.noise,
                np.random.default_rng([seed, 99, i]),
            )
            write_image_folder(tmp, [name] * n, imgs)
        tmp.rename(pool)
    return pool


def letitwag_options(sp: SyntheticParams) -> LetItWagOptions:
    """The world's options of the public letitwag stage. ``phash_bits`` is set to the builder's (the paper's) 10 bits
    instead of the stage's ``auto`` (1 bit at 32 px), so the world's benchmark keeps the de-duplication it always had;
    no outlier filter (no ``outlier_model``), as before."""
    lp = sp.experiments.letitwag
    return LetItWagOptions(
        images="letitwag_pool", k=lp.k, images_per_class=max(1, lp.n_candidates // 2), phash_bits=10, min_classes=1
    )


def _overall(perf: pd.DataFrame) -> float:
    """Overall accuracy of a zero-shot performance table (per-concept accuracies weighted by their image counts)."""
    n = perf["n_images"].to_numpy(float)
    return float((perf["value"].to_numpy(float) * n).sum() / n.sum())


def run_letitwag(sp: SyntheticParams, *, refresh: bool = False) -> pd.DataFrame:
    """Let It Wag! analogue (Fig. 6), per seed through the public ``letitwag`` stage of the seed's shared study: the
    stage picks the ``k`` least-frequent concepts from the study's text counts, de-duplicates the world's candidate
    pool (:func:`letitwag_pool`) into a class-balanced benchmark and evaluates every headline model on it.

    ``letitwag_accuracy_k_way``: the stage's accuracy among the k tail concepts (a stand-alone benchmark, easier).
    ``letitwag_accuracy``: the world adds the same images in the full K-concept label space (like the full test set),
    as an image-folder dataset evaluated by the public zeroshot stage (study ``<world>/study/letitwag-all-classes``)."""

    def compute() -> pd.DataFrame:
        rows = []
        for seed in sp.experiments.seeds:
            w, models, main, _ = seed_study(sp, seed)
            letitwag_pool(sp, w, seed)
            spec = main.model_copy(update={"stages": main.stages.model_copy(update={"letitwag": letitwag_options(sp)})})
            S.run(spec, ["count", "zeroshot", "letitwag"])
            tail = S.table(spec, "letitwag/performance.parquet")
            bench = spec.output_path / "letitwag" / "benchmark" / "images"
            full_space = w.root / "letitwag_all_classes"
            tmp = w.root / ".letitwag_all_classes.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(bench, tmp)
            for c in w.names:
                (tmp / c).mkdir(exist_ok=True)
            shutil.rmtree(full_space, ignore_errors=True)
            tmp.rename(full_space)
            allc = spec.model_copy(
                update={
                    "name": f"{DATASET}-letitwag-all-classes",
                    "output": "study/letitwag-all-classes",
                    "concepts": [],
                    "datasets": [
                        DatasetSpec(name="letitwag-all-classes", kind="imagefolder", path="letitwag_all_classes")
                    ],
                }
            )
            S.run(allc, ["zeroshot"])
            tail_k = S.table(allc, "zeroshot/performance.parquet")
            full = S.table(spec, "zeroshot/performance.parquet")
            freq = S.table(spec, "letitwag/frequencies.parquet")
            freq = freq[freq["variant"] == spec.stages.count.variants[0]]
            classes = sorted(tail["concept"].unique())
            for width in models:
                name = S.model_name(width)
                t = tail[tail["model"] == name]
                rows.append(
                    {
                        "model": f"{arch_name(width)} seed {seed}",
                        "width": width,
                        "seed": seed,
                        "full_accuracy": _overall(full[full["model"] == name]),
                        "letitwag_accuracy": _overall(tail_k[tail_k["model"] == name]),
                        "letitwag_accuracy_k_way": _overall(t),
                        "chance_full": 1 / len(w.names),
                        "chance_k_way": 1 / len(classes),
                        "letitwag_classes": len(classes),
                        "letitwag_images": int(t["n_images"].sum()),
                        "tail_max_count": int(freq["count"].max()),
                    }
                )
        return pd.DataFrame(rows)

    return cached_table(*_table_key(sp, "letitwag"), compute, refresh=refresh)


def run_t2i_experiment(sp: SyntheticParams, *, refresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """T2I analogue on the first seed's world: per-concept generation quality vs frequency (+ run info).

    The world trains the class-conditional pipeline and the judge (:func:`wag.synthetic.t2i.run_t2i`); the public
    ``t2i`` stage of the world's T2I study generates ``n_generated`` images per concept and judges them (metric
    ``judged_accuracy``). Info: judge accuracy, wall times, final loss, Spearman of accuracy vs log count, quartile means.
    """
    from wag.evaluate.t2i import JUDGED_ACCURACY  # lazy: wag.evaluate.t2i imports torch and diffusers

    seed = sp.experiments.seeds[0]
    tp = sp.experiments.t2i
    info_store: dict = {}

    def compute() -> pd.DataFrame:
        t_all = time.perf_counter()
        world = world_for(sp, seed)
        made = run_t2i(world, tp, seed)
        spec = S.t2i_study(world, seed, made.pipeline, made.judge, images=tp.n_generated, steps=tp.sample_steps)
        t0 = time.perf_counter()
        S.run(spec, ["t2i"])
        perf = S.table(spec, "t2i/performance.parquet")
        acc = perf[perf["metric"] == JUDGED_ACCURACY].set_index("concept")["value"]
        gt = world.ground_truth()
        counts = gt["image_count"].to_numpy()
        value = acc.reindex(gt["concept"]).to_numpy()
        if np.isnan(value).any():
            raise RuntimeError(f"the t2i stage judged {len(acc)} of the world's {len(gt)} concepts")
        info_store.update(
            made.info,
            sample_s=time.perf_counter() - t0,
            **t2i_summary(counts, value),
            total_s=time.perf_counter() - t_all,
        )
        return pd.DataFrame({"concept": gt["concept"].to_numpy(), "count": counts, "value": value}).assign(seed=seed)

    name, parts = _table_key(sp, "t2i")
    df = cached_table(name, parts, compute, refresh=refresh)
    info = cached_table(
        "synthetic/t2i-info",
        parts,
        lambda: pd.DataFrame([info_store]) if info_store else pd.DataFrame([{"note": "cached"}]),
        refresh=bool(info_store),
    )
    return df, info


# --------------------------------------------------------------------------------------- notebook 2 check


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


# ------------------------------------------------------------------------------------ parallel training


#: what :func:`prepare` knows: each experiment (notebook step) -> what it trains before it runs
PREPARABLE = ("count_check", "headline", "intervention", "rebalance", "collisions", "similarity", "letitwag", "t2i")


def _seed_jobs(sp: SyntheticParams, seed: int, *, models: bool = True) -> list[jobs.Job]:
    """What :func:`seed_study` of ``seed`` trains: a CLIP per width of the seed (``models``) and the trained tagger."""
    w = world_for(sp, seed)
    out: list[jobs.Job] = []
    if models:
        out += [jobs.ClipJob(str(w.root), width, sp.train, seed) for width in sp.model.widths_for(seed)]
    if sp.experiments.tagger.kind == "trained":
        out.append(jobs.TaggerJob(str(w.root), sp.experiments.tagger, seed, sp.train.threads))
    return out


def training_jobs(sp: SyntheticParams, experiments: Sequence[str], *, seed: int | None = None) -> list[jobs.Job]:
    """The trainings the ``experiments`` (names of :data:`PREPARABLE`) will run, as jobs; the worlds they train on are built
    here (in this process, so never twice at once). ``seed``: the world of ``count_check`` (notebook 2's ``P.seed``;
    default the first headline seed). Left out: what depends on another training's result (the similarity control's
    retrain needs the seed's model embeddings; it runs in the experiment)."""
    _check_names(experiments)
    ex, first = sp.experiments, sp.experiments.seeds[0]
    out: list[jobs.Job] = []
    for name in experiments:
        if name in _TABLES and cache_path(*_table_key(sp, name)).is_file():
            continue  # computed before: it will train nothing
        if name == "count_check":
            out += _seed_jobs(sp, first if seed is None else seed, models=ex.tagger.kind != "trained")
        elif name in ("headline", "letitwag"):
            for s in ex.seeds:
                out += _seed_jobs(sp, s)
        elif name == "similarity" and ex.similarity.enabled:
            out += _seed_jobs(sp, first)
        elif name == "intervention" and ex.intervention.enabled:
            w = world_for(sp, first)
            w2 = world_for(sp, first, counts=intervention_counts(sp, w.ground_truth())[0].tolist())
            out += [*_seed_jobs(sp, first), jobs.ClipJob(str(w2.root), sp.model.headline_width, sp.train, first)]
        elif name == "rebalance" and ex.rebalance.enabled:
            w = world_for(sp, first)
            w2 = world_for(
                sp,
                first,
                counts=rebalanced_counts(
                    w.ground_truth()["target_count"].to_numpy(), ex.rebalance.cap_quantile
                ).tolist(),
            )
            out += [*_seed_jobs(sp, first), jobs.ClipJob(str(w2.root), sp.model.headline_width, sp.train, first)]
        elif name == "collisions" and ex.collisions.enabled:
            w = world_for(sp, first)
            out += [
                *_seed_jobs(sp, first),
                *(jobs.ClipJob(str(w.root), sp.model.headline_width, tp, first) for _, tp in collision_variants(sp)),
            ]
        elif name == "t2i" and ex.t2i.enabled:
            out.append(jobs.T2IJob(str(world_for(sp, first).root), ex.t2i, first))
    return list(dict.fromkeys(out))


def _check_names(experiments: Sequence[str]) -> None:
    unknown = [e for e in experiments if e not in PREPARABLE]
    if unknown:
        raise WagError(f"unknown experiment(s) {unknown} to prepare; known: {', '.join(PREPARABLE)}")


def prepare(
    sp: SyntheticParams,
    experiments: Sequence[str],
    *,
    ahead: Sequence[str] = (),
    seed: int | None = None,
    progress: bool = True,
) -> list[jobs.Job]:
    """Train what the ``experiments`` will need, ``synthetic.jobs`` processes at a time, so that they then find every
    checkpoint in the cache (their own code path is unchanged). ``ahead``: experiments of later notebooks whose trainings
    run here too, only when there are spare processes (``synthetic.jobs`` > 1). With ``synthetic.jobs`` = 1 this does
    nothing: each experiment trains what it needs, in this process, when it needs it. Returns the jobs trained."""
    _check_names([*experiments, *ahead])
    if sp.jobs <= 1:
        return []
    return jobs.run_jobs(training_jobs(sp, [*experiments, *ahead], seed=seed), sp.jobs, progress=progress)
