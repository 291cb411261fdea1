"""Tab. 6 (App. J) by the paper's own binning, beside our corrected table with the bins its header states.

How the paper binned (found from the released files, see notebook ``3_frequency_vs_performance``, table ``table6_binning_evidence``): counts of
0 become 1, the decade is ``floor(ln(count) / ln(10))`` in floating point, and the ``Freq=0`` column holds
every concept with ln(count) = 0. So ``Freq=0`` holds counts 0 **and 1**, ``1-10`` holds 2–9, and, because
``ln(1000) / ln(10) = 2.9999999999999996``, ``100-1000`` holds 100–1000 and ``1000-10000`` 1001–9999.
Pooled over the 17 classification sets + ImageNet-Sketch, ``ensemble`` prompts, integrated counts (RAM++ 0.7),
this reproduces all 50 printed cells: 41 are ours rounded to two decimals, the other 9 ours truncated
(the paper truncated some values instead of rounding them). The corrected table (:func:`wag.analysis.fits.table6`) uses the header's
bins: 0, [1, 10), [10, 100), [100, 1000), [1000, 10000).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from wag.analysis.errors import AnalysisError
from wag.analysis.fits import table6

PAPER_LABELS = ["0", "1-10", "10-100", "100-1000", "1000-10000"]
PAPER_RECIPE = "paper recipe: decade floor(ln c / ln 10) after 0 → 1 (Freq=0 holds counts 0 and 1)"
CORRECTED_RECIPE = "ours (corrected): bins as the header states, 0 / [1,10) / [10,100) / …"
COLUMNS = ["recipe", "pretraining", "model", "bin", "mean_accuracy", "n_concepts", "count_type", "prompt"]


def paper_bin_index(counts: object) -> np.ndarray:
    """Column of Tab. 6 (0 = ``Freq=0`` … 4 = ``1000-10000``, 5+ = outside) of every count, as the paper computed it."""
    c = np.asarray(counts, dtype=float)
    if (c < 0).any() or np.isnan(c).any():
        raise AnalysisError("counts must be non-negative numbers; fix the count table")
    x = np.log(np.where(c > 0, c, 1.0)) / np.log(10)  # not np.log10: the paper's float division puts 1000 below 3
    return np.where(x == 0, 0, np.floor(x).astype(int) + 1)


def table6_paper(joined: pd.DataFrame, *, percent: bool = True) -> pd.DataFrame:
    """Tab. 6 by the paper's binning: ``pretraining, model, bin, mean_accuracy, n_concepts, count_type, prompt``."""
    if joined.empty or not {"count", "value", "pretraining", "model"} <= set(joined.columns):
        raise AnalysisError(
            "joined table is empty or lacks count/value/pretraining/model; build it with wag.analysis.inputs"
        )
    keys = [c for c in ("pretraining", "model", "variant", "prompt") if c in joined.columns]
    scale = 100.0 if percent else 1.0
    rows = []
    for vals, g in joined.groupby(keys, sort=False):
        ident = dict(zip(keys, vals))
        idx = paper_bin_index(g["count"].to_numpy())
        v = g["value"].to_numpy(float)
        for i, lab in enumerate(PAPER_LABELS):
            m = idx == i
            rows.append(
                {
                    "pretraining": ident["pretraining"],
                    "model": ident["model"],
                    "bin": lab,
                    "mean_accuracy": float(v[m].mean() * scale) if m.any() else np.nan,
                    "n_concepts": int(m.sum()),
                    "count_type": ident.get("variant", ""),
                    "prompt": ident.get("prompt", ""),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS[1:])


def table6_both(joined: pd.DataFrame, *, edges: list[int] | None = None) -> pd.DataFrame:
    """The paper-recipe table and our corrected one, stacked, with a ``recipe`` column naming which is which."""
    return pd.concat(
        [table6_paper(joined).assign(recipe=PAPER_RECIPE), table6(joined, edges=edges).assign(recipe=CORRECTED_RECIPE)],
        ignore_index=True,
    )[COLUMNS]


def _conventions(c: np.ndarray) -> dict[str, np.ndarray]:
    """Column index (0-4, else outside) of each count under each candidate reading of the header."""
    c1 = np.where(c > 0, c, 1.0)
    dec = np.floor(np.log10(c1))
    edges = np.array([1, 10, 100, 1000, 10000])
    return {
        "header, left-closed: 0 | [1,10) | [10,100) | …": np.where(c == 0, 0, np.searchsorted(edges, c, side="right")),
        "header, right-closed: 0 | (0,10] | (10,100] | …": np.where(
            c == 0, 0, np.searchsorted(edges, c, side="left") + (c <= 1)
        ),
        "0 → 1, then decade floor(np.log10 c); Freq=0 = {0, 1}": np.where(c1 == 1, 0, dec + 1),
        "0 → 1, then decade floor(ln c / ln 10) (float); Freq=0 = {0, 1}": paper_bin_index(c),
    }


def convention_search(joined: pd.DataFrame, printed: dict[tuple[str, str, str], tuple[float, int]]) -> pd.DataFrame:
    """How many printed Tab. 6 cells each candidate binning reproduces.

    ``printed`` maps (pretraining, model, bin label) to (value, decimals) as printed. A cell counts as
    ``exact`` when ours rounds to it and ``within_print`` when ours rounded or truncated is it (the scorecard's match).
    """
    rows = []
    groups = list(joined.groupby(["pretraining", "model"], sort=False))
    for name in _conventions(np.array([0.0])):
        exact = within = total = 0
        for (pt, model), g in groups:
            idx = _conventions(g["count"].to_numpy(float))[name]
            v = 100.0 * g["value"].to_numpy(float)
            for i, lab in enumerate(PAPER_LABELS):
                if (pt, model, lab) not in printed:
                    continue
                val, dec = printed[(pt, model, lab)]
                m = idx == i
                ours = v[m].mean() if m.any() else np.nan
                total += 1
                exact += bool(abs(ours - val) <= 0.5 * 10.0**-dec * (1 + 1e-9))
                trunc = math.trunc(ours * 10.0**dec * (1 + 1e-12)) / 10.0**dec if ours == ours else np.nan
                within += bool(
                    abs(ours - val) <= 0.5 * 10.0**-dec * (1 + 1e-9) or abs(trunc - val) <= 1e-9 * max(1.0, abs(val))
                )
        rows.append({"binning": name, "cells": total, "exact": exact, "within_print": within})
    return pd.DataFrame(rows)
