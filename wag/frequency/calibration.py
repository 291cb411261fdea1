"""Per-concept calibration of a CLIP tagger's raw scores, fitted on the corpus itself (``study.tagger.calibration``).

The open_clip tagger's raw score ``sigmoid(logit_scale * (cos(img, c) - cos(img, background)))`` is not a probability:
on a small CLIP every concept can score above 0.5 on every image. The corpus labels itself, noisily: the images whose
caption mentions concept c (the count stage's hits) are mostly images of c (*caption positives*), a seeded sample of
the other images mostly not (*caption negatives*). Captions are not truth (misaligned pairs), so each concept gets a
**latent-class model** fitted by EM: the image truly shows c or not (hidden); the score feature ``x`` is Gaussian
given that, with the same variance in both classes (so the decision is monotone in ``x``); caption positives and
negatives have their own share of true images (``pi_pos``, ``pi_neg``). The calibrated probability that an image
shows c, whatever its caption says (so integrated counts and misalignment stay meaningful), is then
``q = sigmoid(slope * x + intercept)`` with the concept's corpus base rate as prior.

The feature is the raw score's logit (``feature = raw``) or, where concepts compete (an image of one thing is rarely
ten things), its log-softmax across the study's concepts and the background prompt (``feature = softmax``). Which one
is what the data say: the one whose fits separate the two classes better (median over the calibrated concepts of
``|mu1 - mu0| / sd``), chosen once per table.

Fallback rule (column ``fallback``): a concept with fewer than ``min_positives`` caption positives, or whose own fit
does not separate the classes (``separation < MIN_SEPARATION`` or ``mu1 <= mu0``), takes the **pooled** fit (one
mixture over every concept's positives and negatives, the same feature) with its own base rate
(``(n_pos * pi_pos + (n - n_pos) * pi_neg) / n`` under the pooled shares); when even the pooled fit does not separate,
the concept keeps its raw score (method ``none``).

The thresholds of ``study.tagger.thresholds`` then apply to ``q`` (calibrated-probability cut-offs). Estimated
precision and recall at the headline cut-off come from the fitted model (the two Gaussians and the base rate), with
percentile intervals from ``n_boot`` bootstrap refits (the images resampled within each group). Everything is
vectorised numpy and deterministic given ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, logsumexp

from wag.core.errors import WagError

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
FEATURES = ("raw", "softmax")
#: Columns of the calibration table (contract ``calibration`` in :mod:`wag.core.tables`).
CALIBRATION_COLUMNS = [
    "concept",
    "method",
    "feature",
    "cutoff",
    "threshold",
    "slope",
    "intercept",
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
    """Two equal-variance Gaussians over a feature, shares of true images among caption positives/negatives
    (arrays: one value per bootstrap replicate, index 0 = the fit on the data themselves)."""

    mu1: np.ndarray
    mu0: np.ndarray
    sd: np.ndarray
    pi_pos: np.ndarray
    pi_neg: np.ndarray

    @property
    def separation(self) -> np.ndarray:
        return (self.mu1 - self.mu0) / self.sd


def _norm_logpdf(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)


def fit_mixture(x: np.ndarray, pos: np.ndarray, *, n_boot: int = 0, seed: int = 0) -> Fit:
    """EM fit of the latent-class model on feature values ``x`` and caption labels ``pos`` (bool), on the data and on
    ``n_boot`` bootstrap resamples (within each group) at once: every array is (B, n)."""
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
    sd0 = max(float(np.std(xn)), float(np.std(xp)), _EPS)
    B = len(idx)
    mu1 = np.full((B, 1), float(np.quantile(xp, 0.75)))
    mu0 = np.full((B, 1), float(np.median(xn)))
    if mu1[0, 0] <= mu0[0, 0]:
        mu1 = mu0 + sd0
    sd = np.full((B, 1), sd0)
    pi_p, pi_n = np.full((B, 1), 0.9), np.full((B, 1), 0.05)
    for _ in range(EM_ITERATIONS):
        before = np.concatenate([mu1, mu0, sd, pi_p, pi_n], axis=1)
        prior = np.where(P, pi_p, pi_n)
        l1 = np.log(prior + _EPS) + _norm_logpdf(X, mu1, sd)
        l0 = np.log(1 - prior + _EPS) + _norm_logpdf(X, mu0, sd)
        r = 1.0 / (1.0 + np.exp(np.clip(l0 - l1, -50, 50)))
        w1, w0 = r.sum(1, keepdims=True) + _EPS, (1 - r).sum(1, keepdims=True) + _EPS
        mu1 = (r * X).sum(1, keepdims=True) / w1
        mu0 = ((1 - r) * X).sum(1, keepdims=True) / w0
        var = (r * (X - mu1) ** 2 + (1 - r) * (X - mu0) ** 2).sum(1, keepdims=True) / X.shape[1]
        sd = np.sqrt(np.maximum(var, _EPS**2))
        pi_p = (r * P).sum(1, keepdims=True) / P.sum(1, keepdims=True)
        pi_n = (r * ~P).sum(1, keepdims=True) / (~P).sum(1, keepdims=True)
        if np.abs(np.concatenate([mu1, mu0, sd, pi_p, pi_n], axis=1) - before).max() < 1e-7:
            break
    return Fit(mu1[:, 0], mu0[:, 0], sd[:, 0], pi_p[:, 0], pi_n[:, 0])


def logistic_params(fit: Fit, base_rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slope, intercept) of ``q = sigmoid(slope * x + intercept)``: the posterior of the fit under ``base_rate``."""
    var = fit.sd**2
    slope = (fit.mu1 - fit.mu0) / var
    br = np.clip(base_rate, _EPS, 1 - _EPS)
    intercept = -(fit.mu1**2 - fit.mu0**2) / (2 * var) + np.log(br / (1 - br))
    return slope, intercept


def _logit(p: float | np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def model_precision_recall(fit: Fit, base_rate: np.ndarray, x_cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of the decision ``x >= x_cut`` under the fitted model (per replicate)."""
    tpr = np.exp(log_ndtr((fit.mu1 - x_cut) / fit.sd))
    fpr = np.exp(log_ndtr((fit.mu0 - x_cut) / fit.sd))
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
        slope = conc.map(t["slope"]).to_numpy(float)
        icpt = conc.map(t["intercept"]).to_numpy(float)
        raw = tags["score"].to_numpy(float)
        q = np.where(np.isfinite(slope), 1.0 / (1.0 + np.exp(-np.clip(slope * x + icpt, -50, 50))), raw)
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
    """Feature of each tag row: ``raw`` = logit(score); ``softmax`` = that logit minus the image's log-sum-exp over
    every concept (a concept not stored scored below ``min_score``: counted at ``min_score``) and the background
    prompt (logit 0: the raw score is a two-way softmax against it)."""
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
    return z - (np.log(sums) + m)[codes]


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
    candidates = [feature] if feature != "auto" else list(FEATURES)
    best: tuple[float, str, pd.DataFrame] | None = None
    for f in candidates:
        x_rows = tag_features(sub, len(names), f, min_score)
        table = _fit_feature(
            sub, x_rows, names, pos_ids, n_pos_all, neg_pool, len(ids), f, min_score, cutoff, seed, n_boot, min_positives
        )
        own = table.loc[table["fallback"] == "", "separation"]
        score = float(own.median()) if len(own) else float(table["separation"].median())
        if best is None or (np.isfinite(score) and score > best[0] + 1e-9):
            best = (score if np.isfinite(score) else -np.inf, f, table)
    assert best is not None
    return Calibration(best[2], best[1], min_score)


def _fit_feature(
    sub: pd.DataFrame,
    x_rows: np.ndarray,
    names: list[str],
    pos_ids: dict[str, np.ndarray],
    n_pos_all: dict[str, int],
    neg_pool: pd.Index,
    n_images: int,
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
        p = pos_ids.get(c, np.array([], dtype=object))
        n = neg_pool.difference(pd.Index(p))
        xp = s.reindex(p).fillna(floor).to_numpy(float)
        xn = s.reindex(n).fillna(floor).to_numpy(float)
        data[c] = (np.concatenate([xp, xn]), np.r_[np.ones(len(xp), bool), np.zeros(len(xn), bool)])
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
            pooled = fit_mixture(px, pp, n_boot=n_boot, seed=seed)
    rows = []
    for i, c in enumerate(names):
        x, p = data[c]
        fit, method, why = None, "none", ""
        if c in enough:
            own = fit_mixture(x, p, n_boot=n_boot, seed=seed + 1 + i)
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
        rows.append(_row(c, fit, method, why, feature, n_pos_all[c], int((~p).sum()), n_images, cutoff))
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def _row(
    concept: str,
    fit: Fit | None,
    method: str,
    why: str,
    feature: str,
    n_pos: int,
    n_neg: int,
    n_images: int,
    cutoff: float,
) -> dict:
    nan = float("nan")
    if fit is None:
        return dict(
            zip(
                CALIBRATION_COLUMNS,
                [concept, "none", feature, cutoff, nan, nan, nan, nan, nan, n_pos, n_neg, *[nan] * 6, why],
            )
        )
    share = min(n_pos, n_images) / n_images
    base = share * fit.pi_pos + (1 - share) * fit.pi_neg  # the concept's corpus base rate, per replicate
    slope, icpt = logistic_params(fit, base)
    x_cut = (_logit(cutoff) - icpt) / slope
    prec, rec = model_precision_recall(fit, base, x_cut)
    lo_hi = (lambda a: (float(np.nanquantile(a[1:], 0.025)), float(np.nanquantile(a[1:], 0.975))))
    p_lo, p_hi = lo_hi(prec) if len(prec) > 1 and np.isfinite(prec[1:]).any() else (nan, nan)
    r_lo, r_hi = lo_hi(rec) if len(rec) > 1 else (nan, nan)
    thr = float(1 / (1 + np.exp(-x_cut[0]))) if feature == "raw" else float(x_cut[0])
    return {
        "concept": concept,
        "method": method,
        "feature": feature,
        "cutoff": float(cutoff),
        "threshold": thr,
        "slope": float(slope[0]),
        "intercept": float(icpt[0]),
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
