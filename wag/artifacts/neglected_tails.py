"""The NeglectedTails per-class LAION frequency estimates (Parashar et al., CVPR 2024)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from wag.artifacts.files import as_set, check_unknown, concept_key
from wag.artifacts.names import NEGLECTED_TAILS_DATASETS
from wag.core.io import InputFileError, read_json


def _nt_file(folder: Path, corpus: str) -> Path | None:
    tag = {"laion400m": "LAION400M", "laion2b": "LAION2B"}.get(corpus.lower(), corpus)
    for cand in (f"metrics-{tag}.json", f"metrics-{tag}-satellite.json"):
        if (folder / cand).is_file():
            return folder / cand
    return None


def read_neglected_tails(
    root: str | Path, *, datasets: str | Iterable[str] | None = None, corpus: str = "laion400m"
) -> pd.DataFrame:
    """NeglectedTails per-class LAION frequency estimates.

    ``datasets`` accepts our names (``cub``) or theirs (``cub2011``). Columns: concept, key, dataset (ours),
    nt_dataset, class_index, most_common_name, actual_freq (captions matching any synonym), relevant_total (after
    their LLM relevance filter; empty for EuroSAT, whose file lacks it), llama_relevance_ratio, synonyms (their alternate names), corpus, source_file.
    """
    back = {v: k for k, v in NEGLECTED_TAILS_DATASETS.items()}
    want = as_set(datasets)
    if want is not None:
        want = {back.get(d, d) for d in want}
        check_unknown(want, set(NEGLECTED_TAILS_DATASETS), "NeglectedTails datasets")
    rows = []
    for nt, ours in NEGLECTED_TAILS_DATASETS.items():
        if want is not None and nt not in want:
            continue
        folder = Path(root) / nt
        if want is None and not folder.is_dir():
            continue  # all datasets requested: read those present
        p = _nt_file(folder, corpus)
        if p is None:
            raise InputFileError(f"no metrics-{corpus} file in {folder} (is {root} the NeglectedTails folder?)")
        data = read_json(p)
        for idx, rec in data.items():
            try:
                rows.append(
                    {
                        "concept": rec["name"],
                        "key": concept_key(rec["name"], ours),
                        "dataset": ours,
                        "nt_dataset": nt,
                        "class_index": int(idx),
                        "most_common_name": rec.get("most_common_name"),
                        "actual_freq": int(rec["actual_freq"]),
                        "relevant_total": int(rec["relevant_total"]) if rec.get("relevant_total") is not None else None,
                        "llama_relevance_ratio": rec.get("llama_relevance_ratio"),
                        "synonyms": list(rec.get("alternates") or {}),
                        "corpus": corpus,
                        "source_file": p.name,
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InputFileError(f"{p}: class {idx} lacks a valid field {exc}") from None
    if not rows:
        raise InputFileError(f"no NeglectedTails dataset folders ({', '.join(NEGLECTED_TAILS_DATASETS)}) in {root}")
    df = pd.DataFrame(rows)
    if not df.empty:
        df["relevant_total"] = df["relevant_total"].astype("Int64")
    return df
