"""Per-concept calibration of a CLIP tagger's raw scores, fitted on the corpus itself (``study.tagger.calibration``).

The open_clip tagger's raw score ``sigmoid(logit_scale * (cos(img, c) - cos(img, background)))`` is not a probability:
on a small CLIP every concept can score above 0.5 on every image. The corpus labels itself, noisily: the images whose
caption mentions concept c (the count stage's hits) are mostly images of c (*caption positives*), a seeded sample of
the other images mostly not (*caption negatives*). Captions are not truth (misaligned pairs), so each concept gets a
**latent-class model** fitted by EM: the image truly shows c or not (hidden); the score feature ``x`` is Gaussian
given that (``mu_pos, sd_pos`` / ``mu_neg, sd_neg``); caption positives and negatives have their own share of true
images, so a misaligned caption is expected, not fitted. The calibrated probability that an image shows c, whatever
its caption says (so integrated counts and misalignment stay meaningful), is the posterior under the concept's base
rate, made monotone in ``x`` (a higher score never lowers it).

Features (column ``feature``), chosen from the data:

* ``raw``: the raw score's logit;
* ``softmax``: the concept's log-odds in a softmax over every concept and the background prompt (concepts compete
  for the score);
* ``top1``, a candidate only when fewer than ``EXCLUSIVE_SHARE`` of the captioned images name more than one concept
  (an image of one thing is rarely ten things): the ``softmax`` log-odds, and only an image's top-scoring concept can
  be tagged. Recall estimates include the share of a concept's caption positives where another concept wins
  (``coverage``).

The feature used is the candidate whose calibrated tags agree best with the captions (F1 against the caption hits
on the fitted sample; captions are noisy labels, but their noise is the same for every candidate).

Fallback rule (column ``fallback``): a concept with fewer than ``min_positives`` caption positives (among the images it
can be tagged on), or whose own fit does not separate the classes (``separation < MIN_SEPARATION``), takes the
**pooled** fit (one mixture over every calibrated concept's positives and negatives, the same feature) with its own
base rate; when even the pooled fit does not separate, the concept keeps its raw score (method ``none``).

The thresholds of ``study.tagger.thresholds`` then apply to the calibrated probability (cut-offs). Estimated precision
and recall at the headline cut-off come from the fitted model (the Gaussians and the base rate), with 95% percentile
intervals from ``n_boot`` bootstrap refits (images resampled within each group; the intervals leave out the choice
of feature and the Gaussian shape). Vectorised numpy, deterministic given ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

from wag.core.errors import WagError

#: Version of the calibration method: part of the tag stage's inputs, so a new method reruns the stage.
CALIBRATION_VERSION = 1
#: Images of a concept whose caption does not mention it, at most this many times those whose caption does: caps the
#: latent share among caption negatives (the model is not identified without it: any broad cluster of negatives could
#: be called the concept).
MAX_UNMENTIONED = 1.0
#: Caption positives a concept needs for its own fit (fewer: the pooled fit).
MIN_POSITIVES = 20
#: A fit whose classes are closer than this many standard deviations is not trusted (the pooled fit instead).
MIN_SEPARATION = 1.0
#: Caption negatives sampled (shared by every concept) and positives kept per concept: bounds the work.
MAX_NEGATIVES = 5000
MAX_POSITIVES = 5000
EM_ITERATIONS = 150
#: Points of the pooled fit (a seeded sample of every concept's positives and negatives).
MAX_POOLED = 20000
FEATURES = ("raw", "softmax", "top1")
#: Captions naming more than one concept in fewer than this share of the captioned images: concepts compete (top1).
EXCLUSIVE_SHARE = 0.1
#: Columns of the calibration table (contract ``calibration`` in :mod:`wag.core.tables`).
CALIBRATION_COLUMNS = [
    "concept",
    "method",
    "feature",
    "cutoff",
    "threshold",
    "mu_pos",
    "mu_neg",
    "sd_pos",
    "sd_neg",
    "base_rate",
    "separation",
    "n_positives",
    "n_negatives",
    "precision",
    "precision_lo",
    "precision_hi",
    "recall",
    "recall_lo",
    "recall_hi",
    "fallback",
]
_EPS = 1e-6


class CalibrationError(WagError, ValueError):
    """The calibration cannot be fitted on what it was given; the message says what is missing."""


@dataclass(frozen=True)
class Fit:
    """Two Gaussians over a feature (true images of the concept: ``mu1, sd1``; others: ``mu0, sd0``) and the shares of
    true images among caption positives and negatives (arrays: one value per bootstrap replicate, index 0 = the fit on
    the data themselves)."""

    mu1: np.ndarray
    mu0: np.ndarray
    sd1: np.ndarray
    sd0: np.ndarray
    pi_pos: np.ndarray
    pi_neg: np.ndarray

    @property
    def separation(self) -> np.ndarray:
        """(mu1 - mu0) in units of the classes' root-mean-square standard deviation."""
        return (self.mu1 - self.mu0) / np.sqrt((self.sd1**2 + self.sd0**2) / 2)


def _norm_logpdf(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)


def fit_mixture(x: np.ndarray, pos: np.ndarray, *, n_boot: int = 0, seed: int = 0, max_pi_neg: float = 1.0) -> Fit:
    """EM fit of the latent-class model on feature values ``x`` and caption labels ``pos`` (bool), on the data and on
    ``n_boot`` bootstrap resamples (within each group) at once: every array is (B, n). ``max_pi_neg`` caps the share
    of true images among the caption negatives (:data:`MAX_UNMENTIONED`: without it a broad cluster of negatives can
    pass for the concept)."""
    x = np.asarray(x, dtype=np.float64)
    pos = np.asarray(pos, dtype=bool)
    ip, ineg = np.nonzero(pos)[0], np.nonzero(~pos)[0]
    if len(ip) == 0 or len(ineg) == 0:
        raise CalibrationError("calibration needs caption positives and caption negatives of a concept")
    rng = np.random.default_rng(seed)
    rows = [np.concatenate([ip, ineg])]
    for _ in range(n_boot):
        rows.append(np.concatenate([rng.choice(ip, len(ip)), rng.choice(ineg, len(ineg))]))
    idx = np.stack(rows)  # (B, n): positives first
    X = x[idx]
    P = np.zeros(idx.shape, dtype=bool)
    P[:, : len(ip)] = True
    xp, xn = x[ip], x[ineg]
    spread = max(float(np.std(x)), _EPS)
    floor = 0.02 * spread  # no component narrower than this (a few identical scores would collapse it)
    B = len(idx)
    mu1 = np.full((B, 1), float(np.quantile(xp, 0.75)))
    mu0 = np.full((B, 1), float(np.median(xn)))
    if mu1[0, 0] <= mu0[0, 0]:
        mu1 = mu0 + spread
    sd1 = np.full((B, 1), max(float(np.std(xp)), floor))
    sd0 = np.full((B, 1), max(float(np.std(xn)), floor))
    pi_p, pi_n = np.full((B, 1), 0.9), np.full((B, 1), min(0.05, max_pi_neg))
    n, n_pos = X.shape[1], len(ip)
    sx, sxx = X.sum(1, keepdims=True), (X * X).sum(1, keepdims=True)
    for _ in range(EM_ITERATIONS):
        before = np.concatenate([mu1, mu0, sd1, sd0, pi_p, pi_n], axis=1)
        lo_p, lo_n = np.log((pi_p + _EPS) / (1 - pi_p + _EPS)), np.log((pi_n + _EPS) / (1 - pi_n + _EPS))
        llr = np.where(P, lo_p, lo_n) + _norm_logpdf(X, mu1, sd1) - _norm_logpdf(X, mu0, sd0)
        r = 1.0 / (1.0 + np.exp(-np.clip(llr, -50, 50)))
        w1 = r.sum(1, keepdims=True)
        w0 = n - w1
        rx, rxx = (r * X).sum(1, keepdims=True), (r * X * X).sum(1, keepdims=True)
        mu1 = rx / (w1 + _EPS)
        mu0 = (sx - rx) / (w0 + _EPS)
        sd1 = np.sqrt(np.maximum((rxx - 2 * mu1 * rx + mu1**2 * w1) / (w1 + _EPS), floor**2))
        sd0 = np.sqrt(np.maximum(((sxx - rxx) - 2 * mu0 * (sx - rx) + mu0**2 * w0) / (w0 + _EPS), floor**2))
        rp = r[:, :n_pos].sum(1, keepdims=True)
        pi_p, pi_n = rp / n_pos, np.minimum((w1 - rp) / (n - n_pos), max_pi_neg)
        if np.abs(np.concatenate([mu1, mu0, sd1, sd0, pi_p, pi_n], axis=1) - before).max() < 1e-6:
            break
    return Fit(mu1[:, 0], mu0[:, 0], sd1[:, 0], sd0[:, 0], pi_p[:, 0], pi_n[:, 0])


def log_odds(x: np.ndarray, mu1, mu0, sd1, sd0, base_rate) -> np.ndarray:
    """Posterior log-odds that the image shows the concept, made monotone in ``x``: the Gaussians' log-likelihood
    ratio is quadratic when the variances differ, so beyond its vertex it is held at the vertex's value (a higher
    score never lowers the probability)."""
    a1, a0 = 1 / sd1**2, 1 / sd0**2
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = (mu1 * a1 - mu0 * a0) / (a1 - a0)
    x = np.asarray(x, dtype=np.float64)
    xe = np.where(sd0 > sd1, np.minimum(x, vertex), np.where(sd1 > sd0, np.maximum(x, vertex), x))
    br = np.clip(base_rate, _EPS, 1 - _EPS)
    return np.log(br / (1 - br)) + _norm_logpdf(xe, mu1, sd1) - _norm_logpdf(xe, mu0, sd0)


def _logit(p: float | np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def cut_point(fit: Fit, base_rate: np.ndarray, cutoff: float) -> np.ndarray:
    """The feature value where the calibrated probability reaches ``cutoff`` (per replicate; +inf when it never does,
    -inf when it always does), by bisection on the monotone posterior."""
    target = float(_logit(cutoff))
    lo = np.minimum(fit.mu0 - 20 * fit.sd0, fit.mu1 - 20 * fit.sd1)
    hi = np.maximum(fit.mu0 + 20 * fit.sd0, fit.mu1 + 20 * fit.sd1)
    args = (fit.mu1, fit.mu0, fit.sd1, fit.sd0, base_rate)
    never, always = log_odds(hi, *args) < target, log_odds(lo, *args) >= target
    for _ in range(80):
        mid = (lo + hi) / 2
        up = log_odds(mid, *args) >= target
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    return np.where(never, np.inf, np.where(always, -np.inf, hi))


def model_precision_recall(fit: Fit, base_rate: np.ndarray, x_cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of the decision ``x >= x_cut`` under the fitted model (per replicate)."""
    tpr = np.exp(log_ndtr((fit.mu1 - x_cut) / fit.sd1))
    fpr = np.exp(log_ndtr((fit.mu0 - x_cut) / fit.sd0))
    tagged = base_rate * tpr + (1 - base_rate) * fpr
    precision = np.where(tagged > 0, base_rate * tpr / np.maximum(tagged, 1e-300), np.nan)
    return precision, tpr


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: the table (:data:`CALIBRATION_COLUMNS`, one row per concept) and what applying it needs."""

    table: pd.DataFrame
    feature: str
    min_score: float

    def features(self, tags: pd.DataFrame, n_concepts: int) -> np.ndarray:
        """The calibration feature of every tag row (``sample_id, concept, score`` = raw score)."""
        return tag_features(tags, n_concepts, self.feature, self.min_score)

    def apply(self, tags: pd.DataFrame, n_concepts: int) -> pd.DataFrame:
        """``tags`` with ``score`` = the calibrated probability and ``raw_score`` = the tagger's score (a concept with
        method ``none`` keeps its raw score)."""
        t = self.table.set_index("concept")
        x = self.features(tags, n_concepts)
        conc = tags["concept"].astype(str)
        p = {k: conc.map(t[k]).to_numpy(float) for k in ("mu_pos", "mu_neg", "sd_pos", "sd_neg", "base_rate")}
        raw = tags["score"].to_numpy(float)
        with np.errstate(invalid="ignore"):
            lo = log_odds(x, p["mu_pos"], p["mu_neg"], p["sd_pos"], p["sd_neg"], p["base_rate"])
        q = np.where(np.isfinite(p["mu_pos"]), 1.0 / (1.0 + np.exp(-np.clip(lo, -50, 50))), raw)
        if self.feature == "top1":  # only an image's top-scoring concept can be tagged
            top = top_concepts(tags)
            q = np.where(tags["sample_id"].astype(str).map(top).to_numpy() == conc.to_numpy(), q, 0.0)
        return pd.DataFrame(
            {
                "sample_id": tags["sample_id"].astype(str).to_numpy(),
                "concept": conc.to_numpy(),
                "score": q.astype(np.float32),
                "raw_score": raw.astype(np.float32),
            }
        )

    def summary(self) -> dict[str, float | int | str]:
        """Hit-weighted estimated precision and recall over the concepts (the study's count quality), fallbacks."""
        t = self.table
        w_tag = t["base_rate"] * t["recall"] / t["precision"].where(t["precision"] > 0)
        ok = np.isfinite(w_tag) & np.isfinite(t["precision"])
        tp = (t["base_rate"] * t["recall"])[ok]
        return {
            "feature": self.feature,
            "precision": float(tp.sum() / w_tag[ok].sum()) if ok.any() and w_tag[ok].sum() > 0 else float("nan"),
            "recall": float(tp.sum() / t.loc[ok, "base_rate"].sum()) if ok.any() else float("nan"),
            "n_concepts": int(len(t)),
            "n_fallback": int((t["fallback"] != "").sum()),
            "n_too_few_positives": int(t["fallback"].str.startswith("too few").sum()),
        }


def tag_features(tags: pd.DataFrame, n_concepts: int, feature: str, min_score: float) -> np.ndarray:
    """Feature of each tag row: ``raw`` = logit(score); ``softmax`` = the log-odds of the concept in a softmax over
    every concept and the background prompt (logit 0: the raw score is a two-way softmax against it), i.e. its logit
    minus the log-sum-exp of all the others (a concept not stored scored below ``min_score``: counted at it)."""
    if feature not in FEATURES:
        raise CalibrationError(f"unknown calibration feature {feature!r}; use one of {', '.join(FEATURES)}")
    z = _logit(tags["score"].to_numpy(float))
    if feature == "raw" or len(tags) == 0:
        return z
    ids = tags["sample_id"].astype(str).to_numpy()
    codes, uniq = pd.factorize(ids)
    floor = float(_logit(max(min_score, _EPS)))
    m = max(float(z.max()), floor, 0.0)
    sums = np.bincount(codes, weights=np.exp(z - m), minlength=len(uniq))
    n_stored = np.bincount(codes, minlength=len(uniq))
    sums = sums + (n_concepts - n_stored).clip(0) * np.exp(floor - m) + np.exp(-m)
    rest = np.maximum(sums[codes] - np.exp(z - m), 1e-300)  # everything but this concept
    return z - (np.log(rest) + m)


def fit_calibration(
    tags: pd.DataFrame,
    caption_hits: pd.DataFrame,
    image_ids: Sequence[str],
    concepts: Sequence[str],
    *,
    cutoff: float,
    min_score: float,
    seed: int = 0,
    n_boot: int = 20,
    feature: str = "auto",
    min_positives: int = MIN_POSITIVES,
) -> Calibration:
    """Fit the calibration of every concept (see the module docstring).

    ``tags``: raw scores (``sample_id, concept, score``; rows below ``min_score`` absent); ``caption_hits``:
    ``concept, sample_id`` of the captions that mention a concept; ``image_ids``: every tagged image; ``cutoff``: the
    headline calibrated-probability cut-off the table's threshold, precision and recall refer to; ``feature``:
    ``raw``, ``softmax`` or ``auto`` (the better separated)."""
    names = list(dict.fromkeys(str(c) for c in concepts))
    ids = pd.Index(pd.unique(np.asarray(image_ids, dtype=object).astype(str)))
    if len(ids) == 0 or not names:
        raise CalibrationError("calibration needs tagged images and concepts")
    if not 0 < cutoff < 1:
        raise CalibrationError(f"calibration cut-off must be in (0, 1), got {cutoff}")
    rng = np.random.default_rng(seed)
    neg_pool = ids[np.sort(rng.choice(len(ids), min(len(ids), MAX_NEGATIVES), replace=False))]
    hits = caption_hits[["concept", "sample_id"]].astype(str).drop_duplicates()
    hits = hits[hits["sample_id"].isin(ids) & hits["concept"].isin(names)]
    pos_ids = {c: g.to_numpy() for c, g in hits.groupby("concept", sort=False)["sample_id"]}
    n_pos_all = {c: len(pos_ids.get(c, ())) for c in names}
    for c, v in pos_ids.items():
        if len(v) > MAX_POSITIVES:
            pos_ids[c] = np.sort(rng.choice(v, MAX_POSITIVES, replace=False))
    want = pd.Index(neg_pool).union(pd.Index(np.concatenate([np.asarray(v) for v in pos_ids.values()] or [[]])))
    sub = tags[tags["sample_id"].astype(str).isin(want)]
    multi = hits.groupby("sample_id")["concept"].nunique()
    exclusive = bool(len(multi)) and float((multi > 1).mean()) < EXCLUSIVE_SHARE
    candidates = [feature] if feature != "auto" else ["raw", "softmax", *(["top1"] if exclusive else [])]
    pops = {f: Population.of(tags, ids, pos_ids, n_pos_all, names, top1=f == "top1") for f in candidates}

    def table_of(f: str, boots: int) -> pd.DataFrame:
        x_rows = tag_features(sub, len(names), f, min_score)
        return _fit_feature(
            sub, x_rows, names, pos_ids, pops[f], neg_pool, f, min_score, cutoff, seed, boots, min_positives
        )

    chosen = candidates[0]
    if len(candidates) > 1:  # the feature whose tags agree best with the captions (F1 on the fitted sample)
        sample_hits = hits[hits["sample_id"].isin(want)]
        scores = [
            caption_f1(Calibration(table_of(f, 0), f, min_score).apply(sub, len(names)), sample_hits, cutoff)
            for f in candidates
        ]
        chosen = candidates[int(np.argmax(scores))]
    return Calibration(table_of(chosen, n_boot), chosen, min_score)


def caption_f1(tagged: pd.DataFrame, caption_hits: pd.DataFrame, cutoff: float) -> float:
    """F1 of the tags at ``cutoff`` against the caption hits (noisy labels: a proxy for the F1 against the truth)."""
    got = tagged.loc[tagged["score"] >= cutoff, ["concept", "sample_id"]]
    both = len(got.merge(caption_hits, on=["concept", "sample_id"]))
    return 2 * both / max(len(got) + len(caption_hits), 1)


@dataclass(frozen=True)
class Population:
    """Who can be tagged with each concept and how many of them: every image, or (feature ``top1``) the images whose
    top-scoring concept it is. ``size``: images per concept; ``positives``: caption positives among them;
    ``coverage``: the share of a concept's caption positives inside it (the recall lost by competition)."""

    eligible: dict[str, pd.Index] | None
    size: dict[str, int]
    positives: dict[str, int]
    coverage: dict[str, float]

    @classmethod
    def of(
        cls,
        tags: pd.DataFrame,
        ids: pd.Index,
        pos_ids: dict[str, np.ndarray],
        n_pos_all: dict[str, int],
        names: list[str],
        *,
        top1: bool,
    ) -> Population:
        if not top1:
            return cls(None, dict.fromkeys(names, len(ids)), dict(n_pos_all), dict.fromkeys(names, 1.0))
        top = top_concepts(tags)
        eligible = {c: pd.Index(g.index) for c, g in top.groupby(top, sort=False)}
        empty = pd.Index([], dtype=object)
        size = {c: len(eligible.get(c, empty)) for c in names}
        inside = {c: int(pd.Index(pos_ids.get(c, [])).isin(eligible.get(c, empty)).sum()) for c in names}
        taken = {c: len(pos_ids.get(c, [])) for c in names}
        positives = {c: round(inside[c] * n_pos_all[c] / taken[c]) if taken[c] else 0 for c in names}
        coverage = {c: inside[c] / taken[c] if taken[c] else 0.0 for c in names}
        return cls(eligible, size, positives, coverage)


def top_concepts(tags: pd.DataFrame) -> pd.Series:
    """sample_id -> its top-scoring concept (ties: the first row)."""
    if tags.empty:
        return pd.Series(dtype=object)
    order = tags.sort_values(["sample_id", "score"], ascending=[True, False], kind="stable")
    first = order.drop_duplicates("sample_id")
    return pd.Series(first["concept"].astype(str).to_numpy(), index=first["sample_id"].astype(str).to_numpy())


def _fit_feature(
    sub: pd.DataFrame,
    x_rows: np.ndarray,
    names: list[str],
    pos_ids: dict[str, np.ndarray],
    pop: Population,
    neg_pool: pd.Index,
    feature: str,
    min_score: float,
    cutoff: float,
    seed: int,
    n_boot: int,
    min_positives: int,
) -> pd.DataFrame:
    """The calibration table of one feature."""
    # a missing row scored below min_score: its feature is the floor of its kind (raw: logit(min_score); softmax: the
    # lowest stored value of that concept, a conservative stand-in)
    frame = pd.DataFrame({"sample_id": sub["sample_id"].astype(str).to_numpy(), "concept": sub["concept"].astype(str)})
    frame["x"] = x_rows
    by_c = {c: g.set_index("sample_id")["x"] for c, g in frame.groupby("concept", sort=False)}
    raw_floor = float(_logit(max(min_score, _EPS)))
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for c in names:
        s = by_c.get(c, pd.Series(dtype=float))
        floor = raw_floor if feature == "raw" or s.empty else float(min(s.min(), raw_floor - np.log(len(names) + 1)))
        p = pd.Index(pos_ids.get(c, np.array([], dtype=object)))
        n = neg_pool.difference(p)
        if pop.eligible is not None:
            elig = pop.eligible.get(c, pd.Index([], dtype=object))
            p, n = p[p.isin(elig)], n[n.isin(elig)]
        xp = s.reindex(p).fillna(floor).to_numpy(float)
        xn = s.reindex(n).fillna(floor).to_numpy(float)
        data[c] = (np.concatenate([xp, xn]), np.r_[np.ones(len(xp), bool), np.zeros(len(xn), bool)])
    n_pos_all = pop.positives
    enough = [c for c in names if n_pos_all[c] >= min_positives and (~data[c][1]).any()]
    pooled: Fit | None = None
    calibrated = [c for c in names if n_pos_all[c] >= max(1, min_positives)]
    pool = calibrated or [c for c in names if data[c][1].any()]
    if pool:
        px = np.concatenate([data[c][0] for c in pool])
        pp = np.concatenate([data[c][1] for c in pool])
        if len(px) > MAX_POOLED:
            keep = np.sort(np.random.default_rng(seed).choice(len(px), MAX_POOLED, replace=False))
            px, pp = px[keep], pp[keep]
        if pp.any() and (~pp).any():
            cap = _cap(sum(pop.positives[c] for c in pool), sum(pop.size[c] - pop.positives[c] for c in pool))
            pooled = fit_mixture(px, pp, n_boot=n_boot, seed=seed, max_pi_neg=cap)
    rows = []
    for i, c in enumerate(names):
        x, p = data[c]
        fit, method, why = None, "none", ""
        if c in enough:
            cap = _cap(pop.positives[c], pop.size[c] - pop.positives[c])
            own = fit_mixture(x, p, n_boot=n_boot, seed=seed + 1 + i, max_pi_neg=cap)
            if own.separation[0] >= MIN_SEPARATION:
                fit, method = own, "mixture"
            else:
                why = f"no separation ({own.separation[0]:.2f} sd < {MIN_SEPARATION:g})"
        else:
            why = f"too few positives ({n_pos_all[c]} < {min_positives})"
        if fit is None and pooled is not None and pooled.separation[0] >= MIN_SEPARATION:
            fit, method = pooled, "pooled"
        elif fit is None:
            why = why + "; pooled fit does not separate either: raw score kept"
        rows.append(
            _row(c, fit, method, why, feature, n_pos_all[c], int((~p).sum()), pop.size[c], pop.coverage[c], cutoff)
        )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def _cap(n_pos: int, n_neg: int) -> float:
    """The largest share of true images among ``n_neg`` caption negatives (:data:`MAX_UNMENTIONED`)."""
    return float(min(1.0, MAX_UNMENTIONED * n_pos / max(n_neg, 1)))


def _row(
    concept: str,
    fit: Fit | None,
    method: str,
    why: str,
    feature: str,
    n_pos: int,
    n_neg: int,
    n_images: int,
    coverage: float,
    cutoff: float,
) -> dict:
    nan = float("nan")
    if fit is None:
        return dict(
            zip(
                CALIBRATION_COLUMNS,
                [concept, "none", feature, cutoff, *[nan] * 7, n_pos, n_neg, *[nan] * 6, why],
            )
        )
    share = min(n_pos, n_images) / max(n_images, 1)
    base = share * fit.pi_pos + (1 - share) * fit.pi_neg  # the concept's corpus base rate, per replicate
    x_cut = cut_point(fit, base, cutoff)
    prec, rec = model_precision_recall(fit, base, x_cut)
    rec = rec * coverage  # top1: the concept's images where another concept wins are never tagged

    def lo_hi(a: np.ndarray) -> tuple[float, float]:
        return float(np.nanquantile(a[1:], 0.025)), float(np.nanquantile(a[1:], 0.975))

    p_lo, p_hi = lo_hi(prec) if len(prec) > 1 and np.isfinite(prec[1:]).any() else (nan, nan)
    r_lo, r_hi = lo_hi(rec) if len(rec) > 1 else (nan, nan)
    with np.errstate(over="ignore"):
        thr = float(1 / (1 + np.exp(-x_cut[0]))) if feature == "raw" else float(x_cut[0])
    return {
        "concept": concept,
        "method": method,
        "feature": feature,
        "cutoff": float(cutoff),
        "threshold": thr,
        "mu_pos": float(fit.mu1[0]),
        "mu_neg": float(fit.mu0[0]),
        "sd_pos": float(fit.sd1[0]),
        "sd_neg": float(fit.sd0[0]),
        "base_rate": float(base[0]),
        "separation": float(fit.separation[0]),
        "n_positives": int(n_pos),
        "n_negatives": int(n_neg),
        "precision": float(prec[0]),
        "precision_lo": p_lo,
        "precision_hi": p_hi,
        "recall": float(rec[0]),
        "recall_lo": r_lo,
        "recall_hi": r_hi,
        "fallback": why if method != "mixture" else "",
    }
