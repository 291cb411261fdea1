"""Per-class zero-shot classification (paper §3) with the prompt styles of the paper.

Prompt styles: ``class`` ("{c}"), ``simple`` ("A photo of a {c}."), ``ensemble`` (the dataset's template list
in ``templates.yaml``), ``descriptions`` (CuPL-style: each class's descriptions, passed in: see
:mod:`wag.evaluate.descriptions`; never read implicitly). The classifier of a
class is the normalised mean of its normalised prompt embeddings; an image is assigned the class of highest
cosine similarity. Output: the performance table (fractions) and the paper's JSON schema (percent).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from wag.core.errors import WagError
from wag.core.io import read_json, write_json
from wag.evaluate.descriptions import DescriptionsError, descriptions_for
from wag.evaluate.features import encode_images, text_classifier
from wag.evaluate.models import LoadedModel

PROMPTS = ("class", "simple", "ensemble", "descriptions")
TEMPLATES_PATH = Path(__file__).with_name("templates.yaml")
PERFORMANCE_COLUMNS = ["concept", "dataset", "task", "model", "pretraining", "prompt", "metric", "value"]


@functools.lru_cache(maxsize=1)
def all_templates() -> dict[str, list[str]]:
    """Ensemble templates per dataset name (``default`` for others)."""
    return yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))


def templates_for(dataset: str) -> list[str]:
    """The ensemble templates of ``dataset`` (the 80 CLIP ImageNet templates when it has no own list)."""
    t = all_templates()
    return list(t.get(dataset, t["default"]))


def class_prompts(
    classnames: Sequence[str],
    prompt: str,
    dataset: str,
    *,
    templates: Sequence[str] | None = None,
    descriptions: dict[str, list[str]] | None = None,
) -> list[list[str]]:
    """The prompts of each class for a prompt style (``descriptions`` needs ``descriptions``: class -> texts)."""
    if prompt not in PROMPTS:
        raise WagError(f"unknown prompt style '{prompt}'; use one of {', '.join(PROMPTS)}")
    if prompt == "descriptions":
        if descriptions is None:
            raise DescriptionsError(
                f"prompt style 'descriptions' of '{dataset}' needs descriptions; pass descriptions= "
                "(wag.evaluate.descriptions.load_descriptions(FILE or 'paper', dataset)), or on the command line "
                "--descriptions FILE|paper"
            )
        return descriptions_for(classnames, descriptions, dataset)
    tpl = {"class": ["{c}"], "simple": ["A photo of a {c}."]}.get(prompt) or list(templates or templates_for(dataset))
    return [[t.replace("{c}", c) for t in tpl] for c in classnames]


def per_class_accuracy(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy per class, images per class); classes without images get NaN accuracy."""
    n = np.bincount(labels, minlength=n_classes).astype(float)
    hit = np.bincount(labels[pred == labels], minlength=n_classes).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hit / np.maximum(n, 1), np.nan), n


def evaluate_zeroshot(
    model: LoadedModel,
    data: Any,
    *,
    prompt: str = "class",
    dataset_name: str | None = None,
    batch_size: int = 256,
    cache: bool = True,
    templates: Sequence[str] | None = None,
    descriptions: dict[str, list[str]] | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Per-class zero-shot accuracy of ``model`` on ``data`` (a ``ClassificationData``) as a performance table.

    Columns: the performance contract (value = accuracy in [0, 1]) plus ``n_images``, ``model_key``
    (``backbone<arch>_pretrained<source>``) and ``skipped`` (undecodable images of the dataset, reported by
    path in ``df.attrs["skipped"]``). ``df.attrs["full"]`` is the overall accuracy.
    """
    name = dataset_name or data.name
    feats = encode_images(model, data, batch_size=batch_size, num_workers=num_workers, cache=cache, progress=progress)
    clf = text_classifier(
        model,
        class_prompts(data.classnames, prompt, name, templates=templates, descriptions=descriptions),
        batch_size=batch_size,
        cache=cache,
    )
    pred = (feats.features @ clf).argmax(dim=1).numpy()
    labels = feats.labels.astype(np.int64)
    acc, n = per_class_accuracy(pred, labels, len(data.classnames))
    df = pd.DataFrame(
        {
            "concept": list(data.classnames),
            "dataset": name,
            "task": "classification",
            "model": model.backbone,
            "pretraining": model.source,
            "prompt": prompt,
            "metric": "accuracy",
            "value": acc,
            "n_images": n.astype(int),
            "model_key": model.paper_key,
            "skipped": len(feats.skipped),
        }
    )
    empty = df.loc[df["n_images"] == 0, "concept"].tolist()
    df = df[df["n_images"] > 0].reset_index(drop=True)
    df.attrs.update(
        full=float((pred == labels).mean()),
        skipped=feats.skipped,
        classes_without_images=empty,
        from_cache=feats.from_cache,
    )
    if feats.skipped:
        import warnings

        warnings.warn(
            f"{len(feats.skipped)} undecodable images of {name} skipped (first: {feats.skipped[0]})", stacklevel=2
        )
    return df


def to_paper_json(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The paper's result schema: ``{model_key: {"full": %, "classwise": {class: %}}}`` (one dataset and prompt).

    ``full`` is the image-weighted mean of the per-class accuracies (equals overall accuracy).
    """
    if df.empty:
        raise WagError("empty performance table: nothing to convert")
    for col in ("dataset", "prompt"):
        if df[col].nunique() != 1:
            raise WagError(
                f"to_paper_json needs one {col} per call (one file per dataset and prompt); got {sorted(df[col].unique())}"
            )
    keys = df["model_key"] if "model_key" in df else "backbone" + df["model"] + "_pretrained" + df["pretraining"]
    out: dict[str, dict[str, Any]] = {}
    for key, g in df.assign(_key=keys).groupby("_key", sort=False):
        w = g["n_images"].to_numpy(float) if "n_images" in g else np.ones(len(g))
        full = float(np.sum(g["value"].to_numpy() * w) / np.sum(w))
        out[str(key)] = {
            "full": 100.0 * full,
            "classwise": {str(c): 100.0 * float(v) for c, v in zip(g["concept"], g["value"])},
        }
    return out


def paper_json_path(out_dir: str | os.PathLike[str], dataset: str, prompt: str) -> Path:
    """``<out_dir>/<dataset>_<prompt>_results.json`` as in the paper's zero_shot_evaluations/."""
    return Path(out_dir) / f"{dataset}_{prompt}_results.json"


def write_paper_json(df: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Merge ``df`` into ``<out_dir>/<dataset>_<prompt>_results.json`` files (atomic; other models kept)."""
    paths = []
    for (ds, pr), g in df.groupby(["dataset", "prompt"], sort=False):
        path = paper_json_path(out_dir, str(ds), str(pr))
        current = read_json(path) if path.is_file() else {}
        current.update(to_paper_json(g))
        write_json(path, current)
        paths.append(path)
    return paths


def logits(features: torch.Tensor, classifier: torch.Tensor) -> torch.Tensor:
    """Cosine similarity logits (scaled by 100 as in CLIP; argmax unchanged)."""
    return 100.0 * features @ classifier
