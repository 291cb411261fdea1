"""The released evaluations as the performance table: zero-shot (per class), retrieval (per concept), T2I."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from wag.artifacts.files import (
    PERFORMANCE_COLUMNS,
    as_set,
    cached_rows,
    check_unknown,
    concept_key,
    folder,
    model_fields,
    performance_rows,
    results,
)
from wag.artifacts.locate import PAPER, load_registry
from wag.core.io import InputFileError

PROMPTS = ("class", "simple", "ensemble")
_ZS_RE = re.compile(r"^(?P<dataset>.+)_(?P<prompt>class|simple|ensemble)_results\.json$")
_RET_RE = re.compile(r"^(?P<dataset>[^_]+)_(?P<direction>i2t|t2i)_k=(?P<k>\d+)_results\.json$")
_T2I_RE = re.compile(r"^t2i_(?P<metric>.+)\.json$")


def _zero_shot_files(root: str | Path, datasets: Any, prompts: Any) -> list[tuple[Path, str, str]]:
    found = []
    for p in sorted(folder(root, "zero_shot_evaluations").glob("*_results.json")):
        if m := _ZS_RE.match(p.name):
            found.append((p, m.group("dataset"), m.group("prompt")))
    ds, pr = as_set(datasets), as_set(prompts)
    check_unknown(ds, {d for _, d, _ in found}, "zero-shot datasets")
    check_unknown(pr, set(PROMPTS), "prompts")
    return [f for f in found if (ds is None or f[1] in ds) and (pr is None or f[2] in pr)]


def read_zero_shot(
    root: str | Path,
    *,
    datasets: str | Iterable[str] | None = None,
    prompts: str | Iterable[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Per-class zero-shot accuracy (performance contract; percent in the files -> fraction) + ``key``, ``model_key``."""
    files = _zero_shot_files(root, datasets, prompts)

    def compute() -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for p, ds, prompt in files:
            rows += performance_rows(p, ds, "classification", prompt, "accuracy", "classwise", 100.0)
        return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)

    return cached_rows("artifacts_zero_shot", [f[0] for f in files], compute, cache)


def read_zero_shot_full(
    root: str | Path, *, datasets: str | Iterable[str] | None = None, prompts: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """Whole-dataset zero-shot accuracy (``full`` field, fraction): dataset, prompt, model_key, model, pretraining, value."""
    rows = []
    for p, ds, prompt in _zero_shot_files(root, datasets, prompts):
        for mk, res in results(p, "classwise").items():
            arch, source = model_fields(mk, p)
            rows.append(
                {
                    "dataset": ds,
                    "prompt": prompt,
                    "model_key": mk,
                    "model": arch,
                    "pretraining": source,
                    "value": float(res["full"]) / 100,
                }
            )
    return pd.DataFrame(rows, columns=["dataset", "prompt", "model_key", "model", "pretraining", "value"])


def read_retrieval(
    root: str | Path,
    *,
    datasets: str | Iterable[str] | None = None,
    directions: str | Iterable[str] | None = None,
    ks: int | Iterable[int] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Per-concept retrieval recall (performance contract: task=retrieval, prompt=i2t|t2i, metric=recall@k)."""
    found = []
    for p in sorted(folder(root, "retrieval_evaluations").glob("*_results.json")):
        if m := _RET_RE.match(p.name):
            found.append((p, m.group("dataset"), m.group("direction"), int(m.group("k"))))
    ds, dirs = as_set(datasets), as_set(directions)
    kset = None if ks is None else ({int(ks)} if isinstance(ks, int) else {int(k) for k in ks})
    check_unknown(ds, {f[1] for f in found}, "retrieval datasets")
    check_unknown(dirs, {"i2t", "t2i"}, "retrieval directions")
    check_unknown({str(k) for k in kset} if kset else None, {str(f[3]) for f in found}, "recall k")
    chosen = [
        f
        for f in found
        if (ds is None or f[1] in ds) and (dirs is None or f[2] in dirs) and (kset is None or f[3] in kset)
    ]

    def compute() -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for p, d, direction, k in chosen:
            rows += performance_rows(p, d, "retrieval", direction, f"recall@{k}", "conceptwise", 1.0)
        return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)

    return cached_rows("artifacts_retrieval", [f[0] for f in chosen], compute, cache)


def t2i_metrics_expected() -> list[str]:
    """T2I metric names the paper reports: files in the registry plus the known-missing ones."""
    reg = load_registry(PAPER)
    paths = [p for p in [*reg.files, *reg.missing] if p.startswith("t2i_evaluations/")]
    return sorted(m.group("metric") for p in paths if (m := _T2I_RE.match(Path(p).name)))


def missing_t2i_metrics(root: str | Path) -> list[str]:
    """T2I metrics the paper reports whose file is absent from ``root`` (e.g. exp/max aesthetics, CLIP score)."""
    t2i_dir = Path(root) / "t2i_evaluations"
    return [m for m in t2i_metrics_expected() if not (t2i_dir / f"t2i_{m}.json").is_file()]


def read_t2i(root: str | Path, *, metrics: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Per-concept T2I scores: task=t2i, dataset=t2i, model=HEIM model, metric=file metric, value=mean of
    per-prompt scores (raw scale of the metric, not a fraction), ``n_prompts``; ``pretraining`` is empty
    (the paper compares every HEIM model against LAION-Aesthetics counts), ``prompt`` is empty."""
    found = {
        m.group("metric"): p
        for p in sorted(folder(root, "t2i_evaluations").glob("t2i_*.json"))
        if (m := _T2I_RE.match(p.name))
    }
    want = as_set(metrics)
    check_unknown(want, set(found), "T2I metrics present (missing ones: see missing_t2i_metrics)")
    rows = []
    for metric, p in found.items():
        if want is not None and metric not in want:
            continue
        for model, res in results(p, "classwise").items():
            for name, scores in res["classwise"].items():
                vals = scores if isinstance(scores, list) else [scores]
                if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals):
                    raise InputFileError(
                        f"{p}: scores of {name!r} for {model} are {scores!r}; expected a non-empty list of numbers"
                    )
                rows.append(
                    {
                        "concept": name,
                        "key": concept_key(name, "t2i"),
                        "dataset": "t2i",
                        "task": "t2i",
                        "model": model,
                        "pretraining": None,
                        "prompt": None,
                        "metric": metric,
                        "value": sum(vals) / len(vals),
                        "model_key": model,
                        "n_prompts": len(vals),
                    }
                )
    return pd.DataFrame(rows, columns=[*PERFORMANCE_COLUMNS, "n_prompts"])
