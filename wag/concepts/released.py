"""The concept lists of the paper's downstream sets, read from its released evaluation files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from wag.concepts.errors import ConceptError
from wag.concepts.table import concept_table


def released_concepts(root: str, *, datasets: Iterable[str] | None = None) -> pd.DataFrame:
    """Concept tables of the paper's downstream sets, with the exact strings of its released evaluation files.

    Classification: class names of ``zero_shot_evaluations/<ds>_class_results.json`` (CIFAR-10's
    "plane" renamed "airplane" and ImageNet-R's underscores replaced, as the paper's search did);
    retrieval: ``retrieval_evaluations/<coco|flickr>_i2t_k=1_results.json`` concepts (empty name
    dropped); T2I: ``t2i_evaluations/t2i_human_aesthetics.json`` concepts.
    """
    r = Path(root)
    if not (r / "zero_shot_evaluations").is_dir():
        raise ConceptError(
            f"{r} is not the paper's released files folder (no zero_shot_evaluations/); see wag.artifacts.paper_root"
        )
    want = set(datasets) if datasets is not None else None
    tables = []

    def first_model(path: Path, key: str) -> list[str]:
        d = json.loads(path.read_text(encoding="utf-8"))
        return list(next(iter(d.values()))[key].keys())

    for f in sorted((r / "zero_shot_evaluations").glob("*_class_results.json")):
        ds = f.name[: -len("_class_results.json")]
        if want is not None and ds not in want:
            continue
        names = first_model(f, "classwise")
        if ds == "cifar10" and names and names[0] == "plane":
            names[0] = "airplane"
        if ds == "imagenet-r":
            names = [n.replace("_", " ") for n in names]
        tables.append(concept_table(names, dataset=ds, task="classification"))
    for ds in ("coco", "flickr"):
        f = r / "retrieval_evaluations" / f"{ds}_i2t_k=1_results.json"
        if f.is_file() and (want is None or ds in want):
            tables.append(
                concept_table([n for n in first_model(f, "conceptwise") if n.strip()], dataset=ds, task="retrieval")
            )
    f = r / "t2i_evaluations" / "t2i_human_aesthetics.json"
    if f.is_file() and (want is None or "t2i" in want):
        tables.append(concept_table([n for n in first_model(f, "classwise") if n.strip()], dataset="t2i", task="t2i"))
    if not tables:
        raise ConceptError(f"no concept lists found in {r} for datasets {sorted(want or [])}")
    return pd.concat(tables, ignore_index=True)
