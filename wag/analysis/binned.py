"""The paper's binned log-linear recipe (docs/PAPER_MAP.md §3), reproduced exactly.

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
from scipy import special

from wag.analysis.errors import AnalysisError

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
        raise AnalysisError(f"unknown task {task!r}; use one of {', '.join(TASKS)}") from None


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
        raise AnalysisError(f"counts must be one-dimensional, got shape {c.shape}; pass one count per concept")
    if np.isnan(c).any():
        raise AnalysisError("counts contain NaN; every concept needs a count (0 is allowed)")
    if (c < 0).any():
        raise AnalysisError(f"counts must be >= 0, got minimum {c.min()}; fix the count table")
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
    c, v, x = _log_pairs(counts, values, n_bins, min_bins=2)
    if x.min() == x.max():
        raise AnalysisError(
            "all counts are equal (after 0 → 1): the paper's equal-width bins are undefined; use the quantile recipe or more concepts"
        )
    edges = np.linspace(x.min(), x.max(), num=n_bins)
    idx = np.digitize(x, edges, right=True)
    lefts = np.concatenate([edges[:1], edges[:-1]])
    return _result(c, v, idx, lefts, edges, keep, ci_level)


def _log_pairs(
    counts: object, values: object, n_bins: int, *, min_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, values, ln count with 0 → 1) as float arrays, checked, for ``n_bins`` >= ``min_bins`` bins."""
    c = np.asarray(counts, dtype=float)
    v = np.asarray(values, dtype=float)
    _check_pairs(c, v)
    if n_bins < min_bins:
        raise AnalysisError(f"n_bins must be >= {min_bins}, got {n_bins}")
    return c, v, np.log(_as_counts(c))


def _check_pairs(c: np.ndarray, v: np.ndarray) -> None:
    if c.shape != v.shape:
        raise AnalysisError(f"counts and values differ in length ({c.shape} vs {v.shape}); pass one value per count")
    if len(c) == 0:
        raise AnalysisError("no (count, value) pairs to bin; give at least one concept")
    if np.isnan(v).any():
        raise AnalysisError("values contain NaN; drop those concepts first")


def _result(
    c: np.ndarray,
    v: np.ndarray,
    idx: np.ndarray,
    lefts: np.ndarray,
    rights: np.ndarray,
    keep: slice,
    ci_level: float,
    min_n: int = 1,
) -> BinnedResult:
    """Points of bins ``0 … len(rights)-1`` (members ``idx == i``), kept = in ``keep`` and ``n >= min_n``; Pearson ρ over the kept."""
    n_bins = len(rights)
    rows = []
    for i in range(n_bins):
        m = idx == i
        n = int(m.sum())
        vals = v[m]
        mean = float(vals.mean()) if n else float("nan")
        std = float(vals.std()) if n else float("nan")
        sem = float(vals.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        half = float(special.stdtrit(n - 1, 0.5 + ci_level / 2) * sem) if n > 1 else float("nan")
        rows.append(
            dict(
                bin=i,
                edge_left=float(lefts[i]),
                edge_right=float(rights[i]),
                x=float(np.exp(rights[i])),
                mean=mean,
                n=n,
                std=std,
                sem=sem,
                ci_lo=mean - half,
                ci_hi=mean + half,
                count_min=float(c[m].min()) if n else float("nan"),
                count_max=float(c[m].max()) if n else float("nan"),
            )
        )
    points = pd.DataFrame(rows)
    in_slice = np.zeros(n_bins, dtype=bool)
    in_slice[np.arange(n_bins)[keep]] = True
    points["kept"] = in_slice & (points["n"].to_numpy() >= max(1, min_n))
    kept = points[points["kept"]]
    if len(kept) >= 3:
        from scipy import stats  # lazy: scipy.stats takes seconds to import, and only fits need it

        res = stats.pearsonr(kept["edge_right"], kept["mean"])
        rho, p = float(res.statistic), float(res.pvalue)
    else:
        rho, p = float("nan"), float("nan")
    return BinnedResult(points=points, rho=rho, p=p, keep=keep)


def quantile_n_bins(n_concepts: int, *, min_per_bin: int = 5, max_bins: int = 12) -> int:
    """Bins for ``n_concepts`` equal-count bins: ``n // min_per_bin`` within ``[3, max_bins]``, never more than the concepts."""
    return int(max(1, min(n_concepts, max_bins, max(3, n_concepts // max(1, min_per_bin)))))


def quantile_binned(
    counts: object,
    values: object,
    *,
    n_bins: int,
    keep: slice = slice(None),
    min_per_bin: int = 1,
    ci_level: float = 0.95,
) -> BinnedResult:
    """Equal-count bins of ln count (quantile edges; ties merge bins), for any number of concepts.

    Bin ``i`` holds ``edges[i] < x <= edges[i+1]`` (the first also its left edge); points are plotted at the
    right edge like the paper's, and ρ is Pearson's over the bins in ``keep`` holding ``>= min_per_bin`` concepts.
    """
    c, v, x = _log_pairs(counts, values, n_bins, min_bins=1)
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    idx = np.digitize(x, edges[1:-1], right=True)
    return _result(c, v, idx, edges[:-1], edges[1:], keep, ci_level, min_n=min_per_bin)


@dataclass(frozen=True)
class Binning:
    """How (count, performance) pairs are binned: ``paper`` (equal-width ln-count bins, the paper's NB and
    slices; exact on the released files) or ``quantile`` (equal-count bins for any number of concepts).

    ``n_bins``: the paper's NB (``paper``) or the most bins (``quantile``; default: enough for
    ``min_per_bin`` concepts each, 3 to 12); ``keep``: the slice of bins that enter ρ (default: the paper's
    slice, or every bin holding ``>= min_per_bin`` concepts).
    """

    recipe: str = "paper"
    n_bins: int | None = None
    min_per_bin: int = 5
    keep: slice | None = None

    def __post_init__(self) -> None:
        if self.recipe not in ("paper", "quantile"):
            raise AnalysisError(f"unknown binning recipe {self.recipe!r}; use 'paper' or 'quantile'")

    def bin(
        self,
        counts: object,
        values: object,
        *,
        task: str,
        pretraining: str | None = None,
        keep_zero: bool = False,
        ci_level: float = 0.95,
    ) -> BinnedResult:
        """Bin one group of one task."""
        if self.recipe == "paper":
            keep = self.keep if self.keep is not None else paper_slice(task, pretraining, keep_zero=keep_zero)
            return paper_binned(counts, values, n_bins=self.n_bins or paper_n_bins(task), keep=keep, ci_level=ci_level)
        paper_n_bins(task)
        n = quantile_n_bins(len(np.asarray(counts)), min_per_bin=self.min_per_bin, max_bins=self.n_bins or 12)
        keep = self.keep if self.keep is not None else slice(None)
        return quantile_binned(counts, values, n_bins=n, keep=keep, ci_level=ci_level)


def binned_slope(result: BinnedResult) -> tuple[float, float]:
    """OLS slope and intercept of the kept bin means on log10 of the plotted x (per decade of count)."""
    k = result.kept
    if len(k) < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(k["edge_right"] / np.log(10), k["mean"], 1)
    return float(slope), float(intercept)
