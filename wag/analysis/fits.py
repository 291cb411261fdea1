"""Fit tables (the ``_fits.csv`` contract), binned points for plotting, and Tab. 6, from joined tables.

A *joined* table is what :func:`wag.artifacts.join_counts_performance` returns: performance rows
(``concept, dataset, task, model, pretraining, prompt, metric, value``) with the ``count`` of the same
concept (``method``/``variant`` name the count type). Every group of one model, one count type and one
prompt/metric is fitted twice: the paper's binned recipe and the per-concept regression.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from wag.analysis.binned import BinnedResult, Binning, binned_slope, paper_binned, paper_n_bins, paper_slice
from wag.analysis.errors import AnalysisError
from wag.analysis.per_concept import fit_log_linear

FIT_COLUMNS = [
    "task",
    "pretraining",
    "model",
    "count_type",
    "prompt_or_metric",
    "method",
    "rho",
    "p",
    "slope",
    "slope_lo",
    "slope_hi",
    "n",
    "intercept",
    "r2",
    "n_bins_kept",
]
IDENTITY = ["task", "pretraining", "model", "count_type", "prompt_or_metric"]
_GROUP_SOURCE = ["task", "pretraining", "model", "method", "variant", "prompt", "metric"]


def count_type_of(row: pd.Series | dict[str, Any]) -> str:
    """``variant`` (e.g. ``integrated@0.7``, ``rampp@0.5``, ``lemmatized``), else ``method``."""
    v = row.get("variant")
    return str(v) if v is not None and v == v and v != "" else str(row.get("method", ""))


def prompt_or_metric_of(row: pd.Series | dict[str, Any]) -> str:
    """Classification: the prompt (``class``); retrieval: ``t2i recall@10``; T2I: the metric."""
    parts = [row.get("prompt"), row.get("metric")]
    parts = [str(p) for p in parts if p is not None and p == p and p != "" and p != "accuracy"]
    return " ".join(parts)


def _check(joined: pd.DataFrame, task: str) -> None:
    paper_n_bins(task)
    missing = {"count", "value", "pretraining", "model"} - set(joined.columns)
    if missing:
        raise AnalysisError(
            f"joined table lacks columns {sorted(missing)}; build it with wag.artifacts.join_counts_performance"
        )
    if joined.empty:
        raise AnalysisError(
            "joined table is empty: no concept has both a count and a performance value; check that both sides name the same datasets and concepts (wag artifacts names)"
        )


def iter_groups(
    joined: pd.DataFrame, *, task: str, by: list[str] | None = None
) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """Yield (identity, rows) per model × count type × prompt/metric (plus any extra ``by`` columns)."""
    _check(joined, task)
    keys = [c for c in dict.fromkeys([*_GROUP_SOURCE, *(by or [])]) if c in joined.columns]
    unknown = [c for c in (by or []) if c not in joined.columns]
    if unknown:
        raise AnalysisError(
            f"cannot group by {unknown}: not columns of the joined table; group by some of {list(joined.columns)}"
        )
    filled = joined.assign(**{k: joined[k].astype("object").where(joined[k].notna(), "") for k in keys})
    for vals, rows in filled.groupby(keys, sort=False, dropna=False):
        g = dict(zip(keys, vals if isinstance(vals, tuple) else (vals,)))
        ident = {
            "task": task,
            "pretraining": g.get("pretraining", ""),
            "model": g.get("model", ""),
            "count_type": count_type_of(g),
            "prompt_or_metric": prompt_or_metric_of(g),
        }
        ident.update({k: g[k] for k in (by or []) if k not in ident})
        yield ident, rows


def _keep_for(task: str, pretraining: str, keep: slice | None, keep_zero: bool) -> slice:
    return keep if keep is not None else paper_slice(task, pretraining, keep_zero=keep_zero)


def _binned(
    rows: pd.DataFrame,
    task: str,
    ident: dict[str, Any],
    keep: slice | None,
    keep_zero: bool,
    n_bins: int | None,
    ci_level: float,
    binning: Binning | None = None,
) -> BinnedResult:
    if binning is not None:
        return binning.bin(
            rows["count"].to_numpy(),
            rows["value"].to_numpy(),
            task=task,
            pretraining=ident["pretraining"],
            keep_zero=keep_zero,
            ci_level=ci_level,
        )
    return paper_binned(
        rows["count"].to_numpy(),
        rows["value"].to_numpy(),
        n_bins=n_bins or paper_n_bins(task),
        keep=_keep_for(task, ident["pretraining"], keep, keep_zero),
        ci_level=ci_level,
    )


def fit_table(
    joined: pd.DataFrame,
    *,
    by: list[str] | None = None,
    task: str,
    n_boot: int = 1000,
    seed: int = 0,
    keep: slice | None = None,
    keep_zero: bool = False,
    n_bins: int | None = None,
    ci_level: float = 0.95,
    methods: tuple[str, ...] = ("binned", "per_concept"),
    binning: Binning | None = None,
) -> pd.DataFrame:
    """Binned (paper) and per-concept fits of every group, in the ``_fits.csv`` contract.

    Binned rows: ``rho, p`` = Pearson over the kept bins, ``slope``/``intercept`` = OLS of the kept bin
    means on log10(count) (no CI), ``n`` = concepts pooled, ``n_bins_kept``. Per-concept rows: ``slope``
    per decade with bootstrap CI, ``rho`` = Pearson r of value and log10(count), ``p`` of the slope,
    ``r2``, ``n`` = concepts. ``keep`` overrides the paper's slice; ``keep_zero`` starts it at bin 0.
    ``binning`` (a :class:`~wag.analysis.binned.Binning`) replaces ``keep``/``n_bins`` (default: the paper's recipe).
    """
    unknown = set(methods) - {"binned", "per_concept"}
    if unknown:
        raise AnalysisError(f"unknown fit methods {sorted(unknown)}; use 'binned' and/or 'per_concept'")
    rows = []
    for ident, g in iter_groups(joined, task=task, by=by):
        if "binned" in methods:
            b = _binned(g, task, ident, keep, keep_zero, n_bins, ci_level, binning)
            bs, bi = binned_slope(b)
            rows.append(
                {
                    **ident,
                    "method": "binned",
                    "rho": b.rho,
                    "p": b.p,
                    "slope": bs,
                    "slope_lo": np.nan,
                    "slope_hi": np.nan,
                    "n": int(len(g)),
                    "intercept": bi,
                    "r2": b.rho**2,
                    "n_bins_kept": int(b.points["kept"].sum()),
                }
            )
        if "per_concept" not in methods:
            continue
        f = fit_log_linear(g["count"].to_numpy(), g["value"].to_numpy(), n_boot=n_boot, seed=seed, ci_level=ci_level)
        r = float(np.sign(f["slope"]) * np.sqrt(f["r2"])) if f["r2"] == f["r2"] else np.nan
        rows.append(
            {
                **ident,
                "method": "per_concept",
                "rho": r,
                "p": f["p"],
                "slope": f["slope"],
                "slope_lo": f["slope_lo"],
                "slope_hi": f["slope_hi"],
                "n": f["n"],
                "intercept": f["intercept"],
                "r2": f["r2"],
                "n_bins_kept": np.nan,
            }
        )
    extra = [c for c in (by or []) if c not in FIT_COLUMNS]
    return pd.DataFrame(rows, columns=[*FIT_COLUMNS, *extra])


def _examples(rows: pd.DataFrame, idx: np.ndarray, n_bins: int, k: int) -> list[str]:
    name = rows["concept"].to_numpy() if "concept" in rows.columns else np.full(len(rows), "?")
    ds = rows["dataset"].to_numpy() if "dataset" in rows.columns else np.full(len(rows), "")
    cnt = rows["count"].to_numpy()
    out = []
    for i in range(n_bins):
        sel = np.flatnonzero(idx == i)
        sel = sel[np.argsort(-cnt[sel], kind="stable")][:k]
        out.append("; ".join(f"{name[j]} ({ds[j]}, {int(cnt[j])})" for j in sel))
    return out


def binned_points(
    joined: pd.DataFrame,
    *,
    by: list[str] | None = None,
    task: str,
    keep: slice | None = None,
    keep_zero: bool = False,
    n_bins: int | None = None,
    ci_level: float = 0.95,
    n_examples: int = 4,
    binning: Binning | None = None,
) -> pd.DataFrame:
    """One row per bin and group (identity columns + :func:`paper_binned` points + ``examples``: the
    highest-count concepts of the bin with dataset and count, for tooltips)."""
    frames = []
    for ident, g in iter_groups(joined, task=task, by=by):
        b = _binned(g, task, ident, keep, keep_zero, n_bins, ci_level, binning)
        nb = len(b.points)
        x = np.log(np.where(g["count"].to_numpy(float) > 0, g["count"].to_numpy(float), 1.0))
        idx = np.digitize(x, b.points["edge_right"].to_numpy(), right=True)
        pts = b.points.assign(examples=_examples(g, idx, nb, n_examples), **ident)
        frames.append(pts)
    out = pd.concat(frames, ignore_index=True)
    front = [*IDENTITY, *[c for c in (by or []) if c not in IDENTITY]]
    return out[front + [c for c in out.columns if c not in front]]


def table6(joined: pd.DataFrame, *, edges: list[int] | None = None, percent: bool = True) -> pd.DataFrame:
    """Tab. 6: mean accuracy per frequency bin (``0``, ``1-10``, ``10-100``, ...; left-closed) per model.

    Columns ``pretraining, model, bin, mean_accuracy, n_concepts`` (+ ``count_type, prompt``). Accuracy
    in percent like the paper (``percent=False``: fraction). Concepts at or above the last edge are not in
    any bin, as in the paper; empty bins have NaN accuracy and ``n_concepts`` 0.
    """
    edges = list(edges or [0, 1, 10, 100, 1000, 10000])
    if edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise AnalysisError(
            f"edges must start at 0 and increase strictly, got {edges}; pass e.g. [0, 1, 10, 100, 1000]"
        )
    labels = ["0" if (a == 0 and b == 1) else f"{a}-{b}" for a, b in zip(edges, edges[1:])]
    _check(joined, "classification")
    rows = []
    keys = [c for c in ("pretraining", "model", "variant", "prompt") if c in joined.columns]
    scale = 100.0 if percent else 1.0
    for vals, g in joined.groupby(keys, sort=False):
        ident = dict(zip(keys, vals))
        c = g["count"].to_numpy(float)
        for lab, a, b in zip(labels, edges, edges[1:]):
            m = (c >= a) & (c < b)
            rows.append(
                {
                    "pretraining": ident["pretraining"],
                    "model": ident["model"],
                    "bin": lab,
                    "mean_accuracy": float(g["value"].to_numpy()[m].mean() * scale) if m.any() else np.nan,
                    "n_concepts": int(m.sum()),
                    "count_type": ident.get("variant", ""),
                    "prompt": ident.get("prompt", ""),
                }
            )
    return pd.DataFrame(
        rows, columns=["pretraining", "model", "bin", "mean_accuracy", "n_concepts", "count_type", "prompt"]
    )
