"""The paper's binned log-linear recipe (PAPER_MAP.md §3), reproduced exactly.

Recipe (official notebooks ``*_search_results.ipynb``): counts of 0 become 1; ``x = ln(count)``;
``edges = np.linspace(min x, max x, NB)`` (NB *edges*, not NB bins); ``idx = np.digitize(x, edges,
right=True)`` so index 0 holds only the concepts at the minimum (usually the zero-count ones) and index
``i >= 1`` holds ``edges[i-1] < x <= edges[i]``; the mean performance of index ``i`` is plotted at
``exp(edges[i])`` (its right edge). The plotted points are then sliced (``keep``), e.g. ``[1:-1]`` for
classification, and ρ is Pearson's correlation between ``edges[i]`` (= ln of the plotted x) and the bin
means over the kept bins, with a two-sided p-value.

Deviation: the paper's code crashes on an empty bin; here an empty bin gets ``n = 0``, NaN mean and is
never kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

N_BINS = {"classification": 12, "retrieval": 7, "t2i": 7}
TASKS = tuple(N_BINS)


@dataclass(frozen=True)
class BinnedResult:
    """Binned points (one row per bin index) and Pearson ρ / two-sided p over the kept bins."""

    points: pd.DataFrame
    rho: float
    p: float
    keep: slice

    @property
    def kept(self) -> pd.DataFrame:
        """Only the bins that enter ρ (the ones the paper plots)."""
        return self.points[self.points["kept"]]


def paper_n_bins(task: str) -> int:
    """NB of the paper: 12 for classification, 7 for retrieval and text-to-image."""
    try:
        return N_BINS[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}") from None


def paper_slice(task: str, pretraining: str | None = None, *, keep_zero: bool = False) -> slice:
    """The paper's slice of plotted bins: classification ``[1:-1]`` (LAION-400M ``[2:-1]``, SynthCI-30M
    ``[0:-4]``), retrieval ``[3:]``, text-to-image the last 4.

    ``keep_zero=True`` starts at bin 0 (the minimum-count bin, i.e. zero-count concepts; Fig. 25) and
    keeps the paper's end.
    """
    paper_n_bins(task)
    if task == "classification":
        s = {"laion400m": slice(2, -1), "synthci30m": slice(0, -4)}.get(str(pretraining).lower(), slice(1, -1))
    elif task == "retrieval":
        s = slice(3, None)
    else:
        s = slice(-4, None)
    return slice(0, s.stop) if keep_zero else s


def _as_counts(counts: object) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1:
        raise ValueError(f"counts must be one-dimensional, got shape {c.shape}")
    if np.isnan(c).any():
        raise ValueError("counts contain NaN; every concept needs a count (0 is allowed)")
    if (c < 0).any():
        raise ValueError(f"counts must be >= 0, got minimum {c.min()}")
    return np.where(c > 0, c, 1.0)


def bin_edges(counts: object, n_bins: int) -> np.ndarray:
    """``linspace(min ln c, max ln c, n_bins)`` after zero → 1 (the paper's ``bins``)."""
    x = np.log(_as_counts(counts))
    return np.linspace(x.min(), x.max(), num=n_bins)


def assign_bins(counts: object, n_bins: int) -> np.ndarray:
    """Bin index (0 … n_bins-1) of every concept: ``np.digitize(ln c, edges, right=True)``."""
    x = np.log(_as_counts(counts))
    return np.digitize(x, bin_edges(counts, n_bins), right=True)


def paper_binned(counts: object, values: object, *, n_bins: int, keep: slice, ci_level: float = 0.95) -> BinnedResult:
    """Bin (count, performance) pairs as the paper did and correlate over the kept bins.

    ``points`` has one row per bin index: ``bin, edge_left, edge_right, x (= exp(edge_right)), mean, n,
    std (population, as the paper), sem, ci_lo, ci_hi`` (t-interval of the bin mean, Fig. 27),
    ``count_min, count_max`` (raw counts of the members) and ``kept``.
    """
    c = np.asarray(counts, dtype=float)
    v = np.asarray(values, dtype=float)
    if c.shape != v.shape:
        raise ValueError(f"counts and values differ in length ({c.shape} vs {v.shape})")
    if len(c) == 0:
        raise ValueError("no (count, value) pairs to bin")
    if np.isnan(v).any():
        raise ValueError("values contain NaN; drop those concepts first")
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    cc = _as_counts(c)
    x = np.log(cc)
    if x.min() == x.max():
        raise ValueError("all counts are equal (after 0 → 1); the paper's equal-width bins are undefined")
    edges = np.linspace(x.min(), x.max(), num=n_bins)
    idx = np.digitize(x, edges, right=True)
    rows = []
    for i in range(n_bins):
        m = idx == i
        n = int(m.sum())
        vals = v[m]
        mean = float(vals.mean()) if n else float("nan")
        std = float(vals.std()) if n else float("nan")
        sem = float(vals.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        half = float(stats.t.ppf(0.5 + ci_level / 2, n - 1) * sem) if n > 1 else float("nan")
        rows.append(dict(
            bin=i, edge_left=float(edges[i - 1]) if i else float(edges[0]), edge_right=float(edges[i]),
            x=float(np.exp(edges[i])), mean=mean, n=n, std=std, sem=sem, ci_lo=mean - half, ci_hi=mean + half,
            count_min=float(c[m].min()) if n else float("nan"), count_max=float(c[m].max()) if n else float("nan"),
        ))
    points = pd.DataFrame(rows)
    in_slice = np.zeros(n_bins, dtype=bool)
    in_slice[np.arange(n_bins)[keep]] = True
    points["kept"] = in_slice & (points["n"].to_numpy() > 0)
    kept = points[points["kept"]]
    if len(kept) >= 3:
        res = stats.pearsonr(kept["edge_right"], kept["mean"])
        rho, p = float(res.statistic), float(res.pvalue)
    else:
        rho, p = float("nan"), float("nan")
    return BinnedResult(points=points, rho=rho, p=p, keep=keep)


def binned_slope(result: BinnedResult) -> tuple[float, float]:
    """OLS slope and intercept of the kept bin means on log10 of the plotted x (per decade of count)."""
    k = result.kept
    if len(k) < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(k["edge_right"] / np.log(10), k["mean"], 1)
    return float(slope), float(intercept)
