"""Readers: every file family of the released results -> the tidy tables of DESIGN.md.

All readers take the folder returned by :func:`wag.artifacts.paper_root` (or
:func:`wag.artifacts.neglected_tails_root`). A malformed file raises :class:`wag.core.io.InputFileError`
naming the file and what is wrong with it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from wag.artifacts.locate import PAPER, load_registry
from wag.artifacts.names import (
    ALIASES,
    NAMES_VERSION,
    NEGLECTED_TAILS_DATASETS,
    parse_model_key,
    parse_search_counts_name,
    reconcile_key,
)
from wag.core.cache import cached_table, file_fingerprint
from wag.core.io import InputFileError, read_json

#: Dataset sizes the paper divides misaligned pairs by (Tab. 3, "fixed conservative dataset size").
FIXED_DATASET_SIZES: dict[str, int] = {
    "cc3m": 3_318_333,
    "cc12m": 12_423_374,
    "yfcc15m": 14_825_236,
    "laion400m": 414_080_000,
    "laion_aesthetics": 161_100_000,
}

PROMPTS = ("class", "simple", "ensemble")
_ZS_RE = re.compile(r"^(?P<dataset>.+)_(?P<prompt>class|simple|ensemble)_results\.json$")
_RET_RE = re.compile(r"^(?P<dataset>[^_]+)_(?P<direction>i2t|t2i)_k=(?P<k>\d+)_results\.json$")
_T2I_RE = re.compile(r"^t2i_(?P<metric>.+)\.json$")

PERFORMANCE_COLUMNS = [
    "concept",
    "key",
    "dataset",
    "task",
    "model",
    "pretraining",
    "prompt",
    "metric",
    "value",
    "model_key",
]
FREQUENCY_COLUMNS = ["concept", "key", "dataset", "pretraining", "method", "variant", "source_variant", "count"]


def _as_set(x: str | Iterable[str] | None) -> set[str] | None:
    if x is None:
        return None
    return {x} if isinstance(x, str) else set(x)


def _folder(root: str | Path, sub: str) -> Path:
    p = Path(root) / sub
    if not p.is_dir():
        raise InputFileError(
            f"{p} is missing: is {root} the folder of the paper's released files (see wag.artifacts.paper_root)?"
        )
    return p


def _check_unknown(requested: set[str] | None, available: set[str], what: str) -> None:
    if requested is not None and (unknown := requested - available):
        raise ValueError(f"unknown {what}: {', '.join(sorted(unknown))}; available: {', '.join(sorted(available))}")


@lru_cache(maxsize=200_000)
def _key(name: str, dataset: str) -> str:
    return reconcile_key(name, dataset)


# ---------------------------------------------------------------------------------------------- counts


def search_counts_files(root: str | Path) -> pd.DataFrame:
    """One row per ``search_counts`` file: path, dataset, pretraining, method, variant, source_variant."""
    rows = []
    for p in sorted(_folder(root, "search_counts").glob("*_search_counts.json")):
        info = parse_search_counts_name(p.name)
        rows.append({"path": str(p), **info.__dict__})
    return pd.DataFrame(rows, columns=["path", "dataset", "pretraining", "method", "variant", "source_variant"])


def _read_counts_file(path: Path) -> dict[str, int]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a JSON object mapping concept -> count, got {type(data).__name__}")
    for name, val in data.items():
        if isinstance(val, bool) or not isinstance(val, (int, float)) or val < 0:
            raise InputFileError(f"{path}: count of {name!r} is {val!r}; counts must be non-negative numbers")
    return data


def _load_counts(files: pd.DataFrame) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {c: [] for c in FREQUENCY_COLUMNS}
    for f in files.itertuples(index=False):
        data = _read_counts_file(Path(f.path))
        n = len(data)
        cols["concept"].extend(data.keys())
        cols["key"].extend(_key(name, f.dataset) for name in data)
        cols["count"].extend(int(v) for v in data.values())
        for c in ("dataset", "pretraining", "method", "variant", "source_variant"):
            cols[c].extend([getattr(f, c)] * n)
    df = pd.DataFrame(cols, columns=FREQUENCY_COLUMNS)
    df["count"] = df["count"].astype("int64")
    return df


def read_search_counts(
    root: str | Path,
    *,
    downstream: str | Iterable[str] | None = None,
    pretraining: str | Iterable[str] | None = None,
    method: str | Iterable[str] | None = None,
    variant: str | Iterable[str] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Concept counts (frequencies contract + ``key``, ``source_variant``), filtered before reading.

    ``downstream``: dataset names (``cifar10``, ``coco``, ``t2i`` ...); ``pretraining``: ``cc3m`` ...;
    ``method``: ``text`` | ``image`` | ``integrated``; ``variant``: ``lemmatized``, ``rampp@0.7`` ...
    Results are cached (Parquet) keyed by the selected files' names, sizes and mtimes.
    """
    files = search_counts_files(root)
    for col, want in (("dataset", downstream), ("pretraining", pretraining), ("method", method), ("variant", variant)):
        wanted = _as_set(want)
        _check_unknown(wanted, set(files[col]), f"{col} for search counts")
        if wanted is not None:
            files = files[files[col].isin(wanted)]
    if files.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else "object") for c in FREQUENCY_COLUMNS})
    if not cache:
        return _load_counts(files)
    parts = {"v": NAMES_VERSION, "aliases": ALIASES, "files": [(str(p), file_fingerprint(p)) for p in files["path"]]}
    return cached_table("artifacts_search_counts", parts, lambda: _load_counts(files))


def search_counts_coverage(root: str | Path) -> pd.DataFrame:
    """Per count file: how many of the dataset's concepts (union over its files, by key) it has.

    Some released files are incomplete, e.g. every ``yfcc15m_lowercased`` file of birdsnap, fgvcaircraft,
    imagenet-sketch and ucf101 lacks most concepts; ``missing`` counts them so they are not mistaken for zeros.
    """
    counts = read_search_counts(root)
    expected = counts.groupby("dataset")["key"].nunique().rename("n_expected")
    got = (
        counts.groupby(["dataset", "pretraining", "source_variant"])["key"].nunique().rename("n_concepts").reset_index()
    )
    out = got.join(expected, on="dataset")
    out["missing"] = out["n_expected"] - out["n_concepts"]
    return out.sort_values(
        ["missing", "dataset", "pretraining", "source_variant"],
        ascending=[False, True, True, True],
        kind="stable",
        ignore_index=True,
    )


# ------------------------------------------------------------------------------------- performance


def _model_fields(model_key: str, path: Path) -> tuple[str, str]:
    try:
        return parse_model_key(model_key)
    except ValueError as exc:
        raise InputFileError(f"{path}: {exc}") from None


def _results(path: Path, inner: str) -> dict[str, dict[str, Any]]:
    """A results file: ``{model_key: {"full": x, inner: {concept: value}}}``, validated."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a JSON object of model results, got {type(data).__name__}")
    for mk, res in data.items():
        if not isinstance(res, dict) or not isinstance(res.get(inner), dict):
            raise InputFileError(f"{path}: model {mk!r} has no '{inner}' mapping of concept -> value")
    return data


def _performance_rows(
    path: Path, dataset: str, task: str, prompt: Any, metric: str, inner: str, scale: float
) -> list[dict[str, Any]]:
    rows = []
    for mk, res in _results(path, inner).items():
        arch, source = _model_fields(mk, path)
        for name, val in res[inner].items():
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise InputFileError(f"{path}: value of {name!r} for {mk} is {val!r}, not a number")
            v = float(val) / scale
            if not -1e-9 <= v <= 1 + 1e-9:
                raise InputFileError(f"{path}: value of {name!r} for {mk} is {val!r}, outside the expected range")
            rows.append(
                {
                    "concept": name,
                    "key": _key(name, dataset),
                    "dataset": dataset,
                    "task": task,
                    "model": arch,
                    "pretraining": source,
                    "prompt": prompt,
                    "metric": metric,
                    "value": v,
                    "model_key": mk,
                }
            )
    return rows


def _zero_shot_files(root: str | Path, datasets: Any, prompts: Any) -> list[tuple[Path, str, str]]:
    found = []
    for p in sorted(_folder(root, "zero_shot_evaluations").glob("*_results.json")):
        if m := _ZS_RE.match(p.name):
            found.append((p, m.group("dataset"), m.group("prompt")))
    ds, pr = _as_set(datasets), _as_set(prompts)
    _check_unknown(ds, {d for _, d, _ in found}, "zero-shot datasets")
    _check_unknown(pr, set(PROMPTS), "prompts")
    return [f for f in found if (ds is None or f[1] in ds) and (pr is None or f[2] in pr)]


def _cached_rows(name: str, paths: list[Path], compute: Any, cache: bool) -> pd.DataFrame:
    if not cache or not paths:
        return compute()
    return cached_table(
        name, {"v": NAMES_VERSION, "aliases": ALIASES, "files": [(str(p), file_fingerprint(p)) for p in paths]}, compute
    )


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
            rows += _performance_rows(p, ds, "classification", prompt, "accuracy", "classwise", 100.0)
        return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)

    return _cached_rows("artifacts_zero_shot", [f[0] for f in files], compute, cache)


def read_zero_shot_full(
    root: str | Path, *, datasets: str | Iterable[str] | None = None, prompts: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """Whole-dataset zero-shot accuracy (``full`` field, fraction): dataset, prompt, model_key, model, pretraining, value."""
    rows = []
    for p, ds, prompt in _zero_shot_files(root, datasets, prompts):
        for mk, res in _results(p, "classwise").items():
            arch, source = _model_fields(mk, p)
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
    for p in sorted(_folder(root, "retrieval_evaluations").glob("*_results.json")):
        if m := _RET_RE.match(p.name):
            found.append((p, m.group("dataset"), m.group("direction"), int(m.group("k"))))
    ds, dirs = _as_set(datasets), _as_set(directions)
    kset = None if ks is None else ({int(ks)} if isinstance(ks, int) else {int(k) for k in ks})
    _check_unknown(ds, {f[1] for f in found}, "retrieval datasets")
    _check_unknown(dirs, {"i2t", "t2i"}, "retrieval directions")
    _check_unknown({str(k) for k in kset} if kset else None, {str(f[3]) for f in found}, "recall k")
    chosen = [
        f
        for f in found
        if (ds is None or f[1] in ds) and (dirs is None or f[2] in dirs) and (kset is None or f[3] in kset)
    ]

    def compute() -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for p, d, direction, k in chosen:
            rows += _performance_rows(p, d, "retrieval", direction, f"recall@{k}", "conceptwise", 1.0)
        return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)

    return _cached_rows("artifacts_retrieval", [f[0] for f in chosen], compute, cache)


# --------------------------------------------------------------------------------------------- T2I


def t2i_metrics_expected() -> list[str]:
    """T2I metric names the paper reports: files in the registry plus the known-missing ones."""
    reg = load_registry(PAPER)
    paths = [p for p in [*reg.files, *reg.missing] if p.startswith("t2i_evaluations/")]
    return sorted(m.group("metric") for p in paths if (m := _T2I_RE.match(Path(p).name)))


def missing_t2i_metrics(root: str | Path) -> list[str]:
    """T2I metrics the paper reports whose file is absent from ``root`` (e.g. exp/max aesthetics, CLIP score)."""
    folder = Path(root) / "t2i_evaluations"
    return [m for m in t2i_metrics_expected() if not (folder / f"t2i_{m}.json").is_file()]


def read_t2i(root: str | Path, *, metrics: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Per-concept T2I scores: task=t2i, dataset=t2i, model=HEIM model, metric=file metric, value=mean of
    per-prompt scores (raw scale of the metric, not a fraction), ``n_prompts``; ``pretraining`` is empty
    (the paper compares every HEIM model against LAION-Aesthetics counts), ``prompt`` is empty."""
    found = {
        m.group("metric"): p
        for p in sorted(_folder(root, "t2i_evaluations").glob("t2i_*.json"))
        if (m := _T2I_RE.match(p.name))
    }
    want = _as_set(metrics)
    _check_unknown(want, set(found), "T2I metrics present (missing ones: see missing_t2i_metrics)")
    rows = []
    for metric, p in found.items():
        if want is not None and metric not in want:
            continue
        for model, res in _results(p, "classwise").items():
            for name, scores in res["classwise"].items():
                vals = scores if isinstance(scores, list) else [scores]
                if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals):
                    raise InputFileError(
                        f"{p}: scores of {name!r} for {model} are {scores!r}; expected a non-empty list of numbers"
                    )
                rows.append(
                    {
                        "concept": name,
                        "key": _key(name, "t2i"),
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


# ---------------------------------------------------------------------------------- misalignment


def read_misalignment(root: str | Path) -> pd.DataFrame:
    """Tab. 3 inputs: pretraining, misaligned_pairs, degree_fixed, degree_extracted (fractions; the files say
    "percent"), fixed_size (the paper's denominator) and extracted_size (implied by the file: pairs / degree)."""
    rows = []
    for p in sorted(_folder(root, "misalignment_metrics").glob("*_misalignment_degree.json")):
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


# ------------------------------------------------------------------------------------ Let It Wag!

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
        _performance_rows(
            Path(root) / _LIW_RESULTS, "let_it_wag", "classification", "ensemble", "accuracy", "classwise", 100.0
        ),
        columns=PERFORMANCE_COLUMNS,
    )


def read_let_it_wag_summary(root: str | Path) -> pd.DataFrame:
    """Whole-dataset Let It Wag! accuracy per model (percent): model_key, model, pretraining, let_it_wag_accuracy."""
    p = Path(root) / _LIW_RESULTS
    rows = []
    for mk, res in _results(p, "classwise").items():
        arch, source = _model_fields(mk, p)
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
    for mk, res in _results(p, "classwise").items():
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


# ------------------------------------------------------------------------------------- descriptions


def read_descriptions(root: str | Path, dataset: str) -> dict[str, list[str]]:
    """GPT descriptions per concept of a dataset (``gpt_descriptions/<dataset>_descriptions.json``)."""
    p = Path(root) / "gpt_descriptions" / f"{dataset}_descriptions.json"
    if not p.is_file():
        rel = f"gpt_descriptions/{dataset}_descriptions.json"
        if rel in load_registry(PAPER).missing:
            raise InputFileError(
                f"{p} is one of the files of 4 MB and more missing from the reference copy (see its README)"
            )
        raise InputFileError(f"missing file {p}")
    data = read_json(p)
    out: dict[str, list[str]] = {}
    for name, val in data.items():
        if isinstance(val, dict):
            out[name] = [s for lst in val.values() for s in lst]
        elif isinstance(val, list):
            out[name] = list(val)
        else:
            raise InputFileError(f"{p}: descriptions of {name!r} are {type(val).__name__}, expected a list or mapping")
    return out


# --------------------------------------------------------------------------------- NeglectedTails


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
    want = _as_set(datasets)
    if want is not None:
        want = {back.get(d, d) for d in want}
        _check_unknown(want, set(NEGLECTED_TAILS_DATASETS), "NeglectedTails datasets")
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
                        "key": _key(rec["name"], ours),
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
