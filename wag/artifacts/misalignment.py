"""The misalignment degrees of the released files (Tab. 3)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wag.artifacts.files import folder
from wag.core.io import InputFileError, read_json

#: Dataset sizes the paper divides misaligned pairs by (Tab. 3, "fixed conservative dataset size").
FIXED_DATASET_SIZES: dict[str, int] = {
    "cc3m": 3_318_333,
    "cc12m": 12_423_374,
    "yfcc15m": 14_825_236,
    "laion400m": 414_080_000,
    "laion_aesthetics": 161_100_000,
}


def read_misalignment(root: str | Path) -> pd.DataFrame:
    """Tab. 3 inputs: pretraining, misaligned_pairs, degree_fixed, degree_extracted (fractions; the files say
    "percent"), fixed_size (the paper's denominator) and extracted_size (implied by the file: pairs / degree)."""
    rows = []
    for p in sorted(folder(root, "misalignment_metrics").glob("*_misalignment_degree.json")):
        d = read_json(p)
        pt = p.name[: -len("_misalignment_degree.json")]
        try:
            pairs = int(d["misalignment_counts"])
            extracted = float(d["misalignment_degree (percent); extracted dataset size"])
            fixed = float(d["misalignment_degree (percent); fixed conservative dataset size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{p}: missing or non-numeric field {exc}") from None
        rows.append(
            {
                "pretraining": pt,
                "misaligned_pairs": pairs,
                "degree_fixed": fixed,
                "degree_extracted": extracted,
                "fixed_size": FIXED_DATASET_SIZES.get(pt),
                "extracted_size": round(pairs / extracted) if extracted else None,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["pretraining", "misaligned_pairs", "degree_fixed", "degree_extracted", "fixed_size", "extracted_size"],
    )
