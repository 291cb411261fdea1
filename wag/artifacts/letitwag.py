"""Let It Wag! in the released files: its class list, per-class and whole-set accuracy of the 40 models, and their
ImageNet accuracy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from wag.artifacts.files import PERFORMANCE_COLUMNS, model_fields, performance_rows, results
from wag.artifacts.names import parse_model_key
from wag.core.io import InputFileError

_LIW_RESULTS = "let_it_wag_datasets/evaluations/let_it_wag_ensemble_results.json"


def read_let_it_wag_classes(root: str | Path) -> list[str]:
    """The 290 Let It Wag! class names (one JSON string per line in the file)."""
    p = Path(root) / "let_it_wag_datasets" / "let_it_wag_class_list.txt"
    if not p.is_file():
        raise InputFileError(f"missing file {p}")
    out = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line) if line.strip().startswith('"') else line.strip())
            except json.JSONDecodeError as exc:
                raise InputFileError(f"{p}, line {i}: {exc}") from None
    return out


def read_let_it_wag(root: str | Path) -> pd.DataFrame:
    """Per-class Let It Wag! accuracy of the 40 models (performance contract, dataset=let_it_wag, prompt=ensemble)."""
    return pd.DataFrame(
        performance_rows(
            Path(root) / _LIW_RESULTS, "let_it_wag", "classification", "ensemble", "accuracy", "classwise", 100.0
        ),
        columns=PERFORMANCE_COLUMNS,
    )


def read_let_it_wag_summary(root: str | Path) -> pd.DataFrame:
    """Whole-dataset Let It Wag! accuracy per model (percent): model_key, model, pretraining, let_it_wag_accuracy."""
    p = Path(root) / _LIW_RESULTS
    rows = []
    for mk, res in results(p, "classwise").items():
        arch, source = model_fields(mk, p)
        rows.append({"model_key": mk, "model": arch, "pretraining": source, "let_it_wag_accuracy": float(res["full"])})
    return pd.DataFrame(rows, columns=["model_key", "model", "pretraining", "let_it_wag_accuracy"])


def read_imagenet_accuracy(root: str | Path) -> pd.DataFrame:
    """ImageNet zero-shot accuracy (percent, ensemble prompts) of the 40 Let It Wag! models.

    20 come from ``zero_shot_evaluations/imagenet_ensemble_results.json`` (its LAION-200M similarity-control
    model is not a Let It Wag! model and is left out), 20 from ``imagenet_accuracy_extra.csv``. A Let It Wag!
    model without an ImageNet accuracy is an error. Columns: model_key, model, pretraining, imagenet_accuracy, source.
    """
    liw = set(read_let_it_wag_summary(root)["model_key"])
    rows = []
    p = Path(root) / "zero_shot_evaluations" / "imagenet_ensemble_results.json"
    for mk, res in results(p, "classwise").items():
        if mk in liw:
            rows.append({"model_key": mk, "imagenet_accuracy": float(res["full"]), "source": p.name})
    extra = Path(root) / "imagenet_accuracy_extra.csv"
    if not extra.is_file():
        raise InputFileError(
            f"missing file {extra}: ImageNet accuracies of 20 Let It Wag! models (not in the upstream repository; "
            "from open_clip's docs/openclip_classification_results.csv). Use the reference folder that has it."
        )
    with extra.open(encoding="utf-8", newline="") as fh:
        for i, rec in enumerate(csv.DictReader(fh), 2):
            try:
                rows.append(
                    {
                        "model_key": rec["model_key"],
                        "imagenet_accuracy": float(rec["imagenet_zero_shot_accuracy"]),
                        "source": extra.name,
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InputFileError(
                    f"{extra}, line {i}: expected columns model_key, imagenet_zero_shot_accuracy ({exc})"
                ) from None
    df = pd.DataFrame(rows)
    dup = df["model_key"][df["model_key"].duplicated()]
    if len(dup):
        raise InputFileError(f"ImageNet accuracy given twice for {', '.join(dup)} ({p.name} and {extra.name})")
    if lacking := sorted(liw - set(df["model_key"])):
        raise InputFileError(f"no ImageNet accuracy for Let It Wag! models {', '.join(lacking)} (add them to {extra})")
    df = df[df["model_key"].isin(liw)]
    df[["model", "pretraining"]] = [parse_model_key(k) for k in df["model_key"]]
    return df[["model_key", "model", "pretraining", "imagenet_accuracy", "source"]].reset_index(drop=True)
