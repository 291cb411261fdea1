"""Sample-level hits audited against a ground truth: true positives, precision, recall."""

from __future__ import annotations

import pandas as pd

KEY = ["concept", "sample_id"]


def hit_quality(estimated: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """``{true_positive, estimated, true, precision, recall}`` of distinct ``(concept, sample_id)`` pairs."""
    est = estimated[KEY].astype(str).drop_duplicates()
    tru = truth[KEY].astype(str).drop_duplicates()
    tp = len(est.merge(tru, on=KEY))
    return {
        "true_positive": tp,
        "estimated": len(est),
        "true": len(tru),
        "precision": tp / max(len(est), 1),
        "recall": tp / max(len(tru), 1),
    }
