"""Count quality: can a study's image (and integrated) counts be trusted? The table, and the caveats it raises.

Per count type (the main text count, and the image and integrated counts at each tagger threshold) the table
``count_quality`` (contract in :mod:`wag.core.tables`) holds: the images, the hits per image, the image-vs-text
agreement of the per-concept counts (Spearman), and the calibration's estimated precision and recall
(:mod:`wag.frequency.calibration`; NaN for raw scores and for text). :func:`caveats` turns a row into short reasons,
one per problem, by these documented rules:

* tags per image far above the captions: more than ``TAGS_PER_IMAGE_FACTOR`` x the concept mentions per caption
  plus ``TAGS_PER_IMAGE_SLACK`` (an image of one thing is rarely ten things);
* image and text counts disagree: Spearman of the per-concept counts below ``MIN_SPEARMAN`` (or undefined: one side
  constant);
* the calibration's estimated precision below ``MIN_PRECISION``;
* too few positives to calibrate: more than half the concepts fell back for too few caption positives.

Integrated counts inherit the caveats of the image counts at the same threshold (they are their image half).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

TAGS_PER_IMAGE_FACTOR = 2.0
TAGS_PER_IMAGE_SLACK = 0.1
MIN_SPEARMAN = 0.5
MIN_PRECISION = 0.5
QUALITY_COLUMNS = [
    "pretraining",
    "count_type",
    "method",
    "threshold",
    "n_images",
    "hits",
    "per_image",
    "text_per_image",
    "spearman_vs_text",
    "precision",
    "recall",
    "calibration",
    "n_concepts",
    "n_fallback",
    "n_too_few_positives",
]


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rho of two count vectors; NaN when either is constant."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def count_quality(
    text_hits: pd.DataFrame,
    image_hits: Mapping[tuple[str, str, float], pd.DataFrame],
    concepts: Sequence[str],
    n_images: int,
    *,
    pretraining: str,
    text_variant: str,
    calibration: Mapping[str, float | int | str] | None = None,
    headline: float | None = None,
) -> pd.DataFrame:
    """The count-quality table. ``text_hits``: ``concept, sample_id`` of the main text count; ``image_hits``:
    (method, variant, threshold) -> ``concept, sample_id`` hits of that image or integrated count; ``calibration``:
    :meth:`wag.frequency.calibration.Calibration.summary` (None: raw scores), whose estimated precision and recall
    refer to the ``headline`` threshold (the rows of other thresholds leave them NaN)."""
    names = list(dict.fromkeys(concepts))
    n = max(int(n_images), 1)

    def per_concept(h: pd.DataFrame) -> np.ndarray:
        return (
            h.drop_duplicates(["concept", "sample_id"])["concept"]
            .value_counts()
            .reindex(names, fill_value=0)
            .to_numpy()
        )

    text = per_concept(text_hits)
    cal = dict(calibration or {})
    rows = [_row(pretraining, text_variant, "text", np.nan, n, int(text.sum()), text.sum() / n, np.nan, {}, len(names))]
    for (method, variant, th), h in image_hits.items():
        c = per_concept(h)
        rho = spearman(c, text)
        own = (
            cal
            if headline is None or th == headline
            else {k: v for k, v in cal.items() if k not in ("precision", "recall")}
        )
        rows.append(_row(pretraining, variant, method, th, n, int(c.sum()), text.sum() / n, rho, own, len(names)))
    out = pd.DataFrame(rows, columns=QUALITY_COLUMNS)
    return out


def _row(
    pretraining: str,
    variant: str,
    method: str,
    th: float,
    n: int,
    hits: int,
    text_per_image: float,
    rho: float,
    cal: Mapping[str, float | int | str],
    n_concepts: int,
) -> dict:
    calibrated = bool(cal) and method != "text"
    return {
        "pretraining": pretraining,
        "count_type": variant,
        "method": method,
        "threshold": float(th),
        "n_images": int(n),
        "hits": int(hits),
        "per_image": hits / n,
        "text_per_image": float(text_per_image),
        "spearman_vs_text": float(rho),
        "precision": float(cal.get("precision", np.nan)) if calibrated else np.nan,
        "recall": float(cal.get("recall", np.nan)) if calibrated else np.nan,
        "calibration": ("captions" if cal else "none") if method != "text" else "",
        "n_concepts": int(n_concepts),
        "n_fallback": int(cal.get("n_fallback", 0)) if calibrated else 0,
        "n_too_few_positives": int(cal.get("n_too_few_positives", 0)) if calibrated else 0,
    }


def row_caveats(row: Mapping) -> list[str]:
    """The caveats of one image-count row (see the module docstring); [] for text rows."""
    if row["method"] == "text":
        return []
    out = []
    if row["per_image"] > TAGS_PER_IMAGE_FACTOR * row["text_per_image"] + TAGS_PER_IMAGE_SLACK:
        out.append(
            f"{row['per_image']:.2g} tags per image, far above the captions' {row['text_per_image']:.2g} concepts per caption"
        )
    rho = row["spearman_vs_text"]
    if not np.isfinite(rho) or rho < MIN_SPEARMAN:
        out.append(
            f"image and text counts disagree (Spearman {rho:.2f} < {MIN_SPEARMAN:g})"
            if np.isfinite(rho)
            else "image and text counts disagree (one of them is constant across concepts)"
        )
    if np.isfinite(row["precision"]) and row["precision"] < MIN_PRECISION:
        out.append(f"the calibration estimates precision {row['precision']:.2f} < {MIN_PRECISION:g}")
    if row["n_concepts"] and row["n_too_few_positives"] > row["n_concepts"] / 2:
        out.append(
            f"too few positives to calibrate {row['n_too_few_positives']} of {row['n_concepts']} concepts (pooled fallback)"
        )
    return out


def caveats(quality: pd.DataFrame, count_type: str) -> list[str]:
    """The caveats of ``count_type`` (a ``variant``) in a count-quality table; an integrated count inherits those of
    the image count at its threshold; [] for text and unknown count types."""
    rows = quality[quality["count_type"] == count_type]
    if rows.empty:
        return []
    row = rows.iloc[0]
    if row["method"] == "integrated":
        img = quality[(quality["method"] == "image") & (quality["threshold"] == row["threshold"])]
        return row_caveats(img.iloc[0]) if len(img) else []
    return row_caveats(row)


def fix_hint(calibrated: bool) -> str:
    """What to do about caveats: calibrate, else a stronger tagger or more data."""
    if not calibrated:
        return "set study.tagger.calibration: captions (or use a stronger tagger)"
    return "use a stronger tagger (or a corpus with more captions per concept); image-based fits are not trustworthy"


def quality_lines(quality: pd.DataFrame) -> list[str]:
    """The count-quality table as aligned text lines, each count type's caveats under it (``wag study status``)."""
    lines = [
        f"{'count type':<28} {'per image':>9} {'text/img':>8} {'rho(text)':>9} {'est.prec':>8} {'est.rec':>8}  calibration"
    ]

    def num(v: float, width: int) -> str:
        return f"{v:>{width}.3g}" if np.isfinite(v) else f"{'-':>{width}}"

    for r in quality.to_dict("records"):
        lines.append(
            f"{r['count_type']:<28} {num(r['per_image'], 9)} {num(r['text_per_image'], 8)} "
            f"{num(r['spearman_vs_text'], 9)} {num(r['precision'], 8)} {num(r['recall'], 8)}  {r['calibration'] or '-'}"
        )
        lines += [f"    caveat: {c}" for c in caveats(quality, r["count_type"])]
    return lines
