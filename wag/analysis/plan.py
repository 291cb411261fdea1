"""The law turned around for a budget: how to add ``N`` samples across concepts (planner, uniform, balanced).

:func:`allocate` spreads a budget of new samples over concepts by one of three strategies and predicts each concept's
performance before and after with a fitted :class:`~wag.analysis.law.Law` (its prediction interval too):

- ``planner``: greedy marginal gain. The law predicts ``a + b * log10(count)`` (zero counts sit at ``x = 0``), so one
  more sample of a concept at count ``c`` gains about ``b / (ln 10 * c)``: the gain is concave in the count and the
  greedy choice (give the next chunk of samples to the concept whose predicted accuracy rises most per sample) is
  optimal for a concave separable objective, up to the chunk size (1 sample when the budget is at most
  ``max_steps``). Predictions are clipped at ``ceiling`` (accuracy cannot pass 1), so a concept whose predicted
  accuracy reaches it gets nothing more. A concept at count 0 takes its first step of 2 samples (``f(0) = f(1)``
  would otherwise make its first sample look worthless). With **one** law for every concept and no ceiling
  reached, maximising the mean predicted accuracy is water-filling on the counts: the planner then *is* the
  balanced allocation (it differs when concepts have different laws, or a ceiling binds).
- ``uniform``: the budget split evenly (``N // K`` each; the remainder one each to the rarest concepts).
- ``balanced``: MetaCLIP-style balancing within a budget: every concept below a threshold count ``t`` is raised to
  ``t``; ``t`` is the largest level whose fill fits the budget (found by bisection on integers), the rest of the
  budget raises concepts at ``t`` by one more, in the order given.

``cap`` (optional) is a count no concept is raised above (budget that cannot be placed is reported as unspent).
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from wag.analysis.errors import AnalysisError
from wag.analysis.law import Law

STRATEGIES = ("planner", "uniform", "balanced")

#: columns of :func:`allocate`'s table
COLUMNS = (
    "concept",
    "strategy",
    "count_before",
    "added",
    "count_after",
    "predicted_before",
    "predicted_after",
    "pi_low_after",
    "pi_high_after",
    "predicted_gain",
    "gain_low",
    "gain_high",
)


def check_budget(budget: object) -> int:
    """The budget as an int, or an :class:`AnalysisError` when it is not a positive integer."""
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or int(budget) <= 0:
        raise AnalysisError(
            f"budget {budget!r} is not a positive integer; pass the number of samples to add, e.g. 10000"
        )
    return int(budget)


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is known, else an :class:`AnalysisError` naming the known ones."""
    if strategy not in STRATEGIES:
        raise AnalysisError(f"unknown allocation strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    return strategy


def laws_for(law_or_laws: Law | Mapping[str, Law], concepts: Sequence[str]) -> list[Law]:
    """One law per concept: the same law for all, or each concept's from a mapping (every concept needs one)."""
    if isinstance(law_or_laws, Law):
        return [law_or_laws] * len(concepts)
    missing = [c for c in concepts if c not in law_or_laws]
    if missing:
        raise AnalysisError(f"no law for concept(s) {missing[:5]}; pass one law or a law for every concept")
    return [law_or_laws[c] for c in concepts]


def _check_counts(counts: pd.Series) -> np.ndarray:
    if not isinstance(counts, pd.Series) or counts.empty:
        raise AnalysisError("counts must be a non-empty pandas Series (concept -> count); pass at least one concept")
    c = pd.to_numeric(counts, errors="coerce").to_numpy(dtype=float)
    if np.isnan(c).any() or (c < 0).any() or not np.all(c == np.floor(c)):
        raise AnalysisError("counts must be non-negative integers without NaN; fix or drop those concepts' counts")
    if counts.index.has_duplicates:
        raise AnalysisError("counts name a concept twice; pass one count per concept")
    return c.astype(np.int64)


def _mean(law: Law, counts: np.ndarray, ceiling: float | None) -> np.ndarray:
    """The law's point prediction at ``counts`` (closed form, zero counts at x = 0), clipped at ``ceiling``."""
    x = np.log10(np.maximum(np.asarray(counts, dtype=float), 1.0))
    y = law.intercept + law.slope * x
    return np.minimum(y, ceiling) if ceiling is not None else y


def plan_uniform(c: np.ndarray, budget: int, cap: float) -> np.ndarray:
    """``budget // K`` each, the remainder one each to the rarest concepts; never above ``cap``."""
    k = len(c)
    added = np.full(k, budget // k, dtype=np.int64)
    added[np.argsort(c, kind="stable")[: budget % k]] += 1
    return np.minimum(added, np.maximum(cap - c, 0).astype(np.int64) if math.isfinite(cap) else added)


def balanced_level(c: np.ndarray, budget: int, cap: float) -> int:
    """The largest integer level ``t`` (at most ``cap``) with ``sum(max(0, t - c)) <= budget``."""
    hi = int(min(cap, c.min() + budget))
    lo = min(int(c.min()), hi)
    while lo < hi:  # invariant: fill(lo) <= budget
        mid = (lo + hi + 1) // 2
        if np.maximum(mid - c, 0).sum() <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def plan_balanced(c: np.ndarray, budget: int, cap: float) -> tuple[np.ndarray, int]:
    """(added per concept, threshold ``t``): raise every concept below ``t`` to ``t``, the rest one more each in order."""
    t = balanced_level(c, budget, cap)
    added = np.maximum(t - c, 0).astype(np.int64)
    rest = budget - int(added.sum())
    if rest > 0 and t + 1 <= cap:
        at = np.flatnonzero(c + added == t)[:rest]
        added[at] += 1
    return added, t


def plan_greedy(
    laws: list[Law], c: np.ndarray, budget: int, cap: float, ceiling: float | None, max_steps: int
) -> np.ndarray:
    """Greedy marginal gain in chunks of ``ceil(budget / max_steps)`` samples (1 when budget <= max_steps)."""
    chunk = max(1, math.ceil(budget / max_steps))
    added = np.zeros(len(c), dtype=np.int64)

    def step(i: int, left: int) -> tuple[float, int]:
        now = int(c[i] + added[i])
        s = min(max(chunk, 2 if now == 0 else 1), left, int(cap - now) if math.isfinite(cap) else left)
        if s <= 0:
            return 0.0, 0
        g = _mean(laws[i], np.array([now + s, now]), ceiling)
        return float(g[0] - g[1]) / s, s

    heap = []
    for i in range(len(c)):
        g, s = step(i, budget)
        if s > 0 and g > 0:
            heap.append((-g, i, s))
    heapq.heapify(heap)
    left = budget
    while heap and left > 0:
        neg, i, s = heapq.heappop(heap)
        if s > left:  # the chunk no longer fits: re-evaluate at what is left
            g, s = step(i, left)
            if s > 0 and g > 0:
                heapq.heappush(heap, (-g, i, s))
            continue
        added[i] += s
        left -= s
        g, s2 = step(i, left)
        if s2 > 0 and g > 0:
            heapq.heappush(heap, (-g, i, s2))
    return added


def allocate(
    law_or_laws: Law | Mapping[str, Law],
    counts: pd.Series,
    budget: int,
    strategy: str = "planner",
    cap: float | None = None,
    *,
    ceiling: float | None = 1.0,
    max_steps: int = 100_000,
) -> pd.DataFrame:
    """Add ``budget`` samples across the concepts of ``counts`` (concept -> count) by ``strategy``.

    One row per concept (in the order given): ``count_before``, ``added``, ``count_after``, the law's prediction
    before and after (clipped at ``ceiling``, the interval to ``[0, ceiling]``; None: unclipped) and the prediction
    interval after
    (``pi_low_after``, ``pi_high_after``: where a concept's observed value should fall), the predicted gain and its
    interval from the slope's interval (``gain_low``, ``gain_high``: slope bounds × the change in log10 count). The
    table's ``attrs`` hold ``budget``, ``unspent`` and, for ``balanced``, the ``threshold`` count.
    """
    budget = check_budget(budget)
    check_strategy(strategy)
    c = _check_counts(counts)
    laws = laws_for(law_or_laws, [str(k) for k in counts.index])
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, numbers.Real) or cap <= 0):
        raise AnalysisError(f"cap {cap!r} is not a positive count; pass the largest count a concept may reach")
    cap_ = math.inf if cap is None else float(cap)
    attrs: dict[str, object] = {"budget": budget, "strategy": strategy}
    if strategy == "uniform":
        added = plan_uniform(c, budget, cap_)
    elif strategy == "balanced":
        added, t = plan_balanced(c, budget, cap_)
        attrs["threshold"] = t
    else:
        added = plan_greedy(laws, c, budget, cap_, ceiling, max_steps)
    attrs["unspent"] = budget - int(added.sum())
    out = predict_allocation(law_or_laws, counts, added, strategy, ceiling=ceiling)
    out.attrs.update(attrs)
    return out


def predict_allocation(
    law_or_laws: Law | Mapping[str, Law],
    counts: pd.Series,
    added: ArrayLike,
    strategy: str,
    *,
    ceiling: float | None = 1.0,
) -> pd.DataFrame:
    """The table of :func:`allocate` for any allocation ``added`` (one non-negative integer per concept of ``counts``),
    e.g. an intervention's: the law's predictions before and after, the prediction interval after, the gain."""
    c = _check_counts(counts)
    concepts = [str(k) for k in counts.index]
    laws = laws_for(law_or_laws, concepts)
    added = np.asarray(added, dtype=np.int64)
    if added.shape != c.shape or (added < 0).any():
        raise AnalysisError(f"added must be {len(c)} non-negative integers, one per concept; got shape {added.shape}")
    after = c + added
    pred_before = np.empty(len(c))
    pred_after, pi_lo, pi_hi = np.empty(len(c)), np.empty(len(c)), np.empty(len(c))
    lo_s, hi_s = np.empty(len(c)), np.empty(len(c))
    for law in {id(law): law for law in laws}.values():
        rows = np.array([lw is law for lw in laws])
        b = law.predict(c[rows])
        a = law.predict(after[rows])
        pred_before[rows], pred_after[rows] = b["predicted"], a["predicted"]
        pi_lo[rows], pi_hi[rows] = a["pi_low"], a["pi_high"]
        lo_s[rows], hi_s[rows] = law.slope_ci
    if ceiling is not None:  # a fraction: predictions at most the ceiling, intervals within [0, ceiling]
        pred_before, pred_after = np.minimum(pred_before, ceiling), np.minimum(pred_after, ceiling)
        pi_lo, pi_hi = np.clip(pi_lo, 0.0, ceiling), np.clip(pi_hi, 0.0, ceiling)
    dx = np.log10(np.maximum(after, 1)) - np.log10(np.maximum(c, 1))
    out = pd.DataFrame(
        {
            "concept": concepts,
            "strategy": strategy,
            "count_before": c,
            "added": added,
            "count_after": after,
            "predicted_before": pred_before,
            "predicted_after": pred_after,
            "pi_low_after": pi_lo,
            "pi_high_after": pi_hi,
            "predicted_gain": pred_after - pred_before,
            "gain_low": np.minimum(lo_s * dx, hi_s * dx),
            "gain_high": np.maximum(lo_s * dx, hi_s * dx),
        }
    )
    return out


def compare(
    law_or_laws: Law | Mapping[str, Law],
    counts: pd.Series,
    budget: int,
    strategies: Sequence[str] = STRATEGIES,
    cap: float | None = None,
    *,
    ceiling: float | None = 1.0,
) -> pd.DataFrame:
    """:func:`allocate` for each strategy, stacked (long table; ``attrs['runs']`` holds each run's attrs)."""
    budget = check_budget(budget)
    for s in strategies:
        check_strategy(s)
    parts = [allocate(law_or_laws, counts, budget, s, cap, ceiling=ceiling) for s in strategies]
    out = pd.concat(parts, ignore_index=True)
    out.attrs["runs"] = {s: dict(p.attrs) for s, p in zip(strategies, parts, strict=True)}
    return out


def plan_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: samples added, concepts raised, mean predicted performance before/after and the predicted mean
    gain with its interval (the mean of the per-concept gain bounds; exact for one law, conservative for several)."""
    rows = []
    runs = table.attrs.get("runs", {})
    for s, g in table.groupby("strategy", sort=False):
        run = runs.get(s, {})
        rows.append(
            {
                "strategy": s,
                "added": int(g["added"].sum()),
                "unspent": run.get("unspent", np.nan),
                "concepts_raised": int((g["added"] > 0).sum()),
                "threshold": run.get("threshold", np.nan),
                "mean_before": g["predicted_before"].mean(),
                "mean_after": g["predicted_after"].mean(),
                "predicted_gain": g["predicted_gain"].mean(),
                "gain_low": g["gain_low"].mean(),
                "gain_high": g["gain_high"].mean(),
            }
        )
    return pd.DataFrame(rows)
