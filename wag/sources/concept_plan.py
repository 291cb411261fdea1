"""The law turned around for one concept (``wag plan --concept C --target T``), on any source.

:func:`plan_concept` looks the concept up (:func:`wag.sources.lookup.lookup`) and, for every model and dataset it
was evaluated on, inverts that model's per-concept law (:meth:`wag.analysis.law.Law.count_for`): the count at which
the law predicts the target, its interval, the factor over today's count, whether it is reachable within the data,
and the concept's own path (its residual kept). ``docs/law.md`` gives the maths.
"""

from __future__ import annotations

import math

import pandas as pd

from wag.analysis.law import Law
from wag.core.errors import excerpt
from wag.sources.base import Source
from wag.sources.lookup import LAW_GROUP, ROW_COLUMNS, ConceptLookupError, LookupTables, lookup

PLAN_COLUMNS = [
    *ROW_COLUMNS,
    "predicted_now",
    "target",
    "planned_count",
    "low",
    "high",
    "factor",
    "factor_low",
    "factor_high",
    "reachable",
    "reason",
    "anchored_count",
    "anchored_low",
    "anchored_high",
    "status",
]


def _anchored(law: Law, today: float, value: float, target: float) -> dict[str, float]:
    """The concept's own path: its residual kept, ``target`` reached at ``today * 10**((target - value) / slope)``,
    with the interval of the slope's CI (``inf`` when the CI reaches 0); NaN without a measured value."""
    nan = float("nan")
    if value != value or law.slope <= 0:
        return {"anchored_count": nan, "anchored_low": nan, "anchored_high": nan}
    delta = target - value
    lo_s, hi_s = law.slope_ci
    ends = [today * 10 ** (delta / s) if s > 0 else (math.inf if delta > 0 else 0.0) for s in (hi_s, lo_s)]
    return {
        "anchored_count": today * 10 ** (delta / law.slope),
        "anchored_low": min(ends),
        "anchored_high": max(ends),
    }


def plan_concept(
    src: Source,
    name: str,
    target: float,
    *,
    model: str | None = None,
    alpha: float = 0.05,
    tables: LookupTables | None = None,
) -> pd.DataFrame:
    """The count at which each model's law predicts ``target`` for concept ``name`` (:data:`PLAN_COLUMNS`).

    ``planned_count`` is where the law (the mean over concepts) predicts ``target``, ``low``/``high`` where its
    prediction band crosses it (:meth:`wag.analysis.law.Law.count_for`), ``factor*`` the same over today's count; a
    row is unreachable, with its reason, when the law's interval says so. ``anchored_*``: the concept's own path
    (its residual kept, the law's slope and slope interval), where it has a measured value. ``status``: ``already
    there``, ``unreachable``, ``lags its law`` (the law reaches the target below today's count: more data of the
    kind counted is not what it lacks) or ``reachable``. One row per performance row (a concept in two datasets: two rows).
    """
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0.0 <= float(target) <= 1.0:
        raise ConceptLookupError(f"target {target!r} is not a fraction in [0, 1]; pass e.g. 0.6 for 60%")
    res = lookup(src, [name], model=model, n_examples=0, alpha=alpha, tables=tables)
    card = res.cards[0]
    if not card["performance"]:
        near = f"; nearest known: {', '.join(card['nearest'])}" if card["nearest"] else ""
        why = card["note"] or "no model was evaluated on it"
        raise ConceptLookupError(f"cannot plan concept {excerpt(name, 60)}: {why}{near}")
    rows = []
    for r in card["performance"]:
        group = tuple(r[c] for c in LAW_GROUP)
        law = res.laws.get(group)
        now = float(r["count"])
        base = {
            "concept": name,
            "dataset": r["dataset"],
            **{c: r[c] for c in LAW_GROUP},
            "count": int(now),
            "value": r["value"],
            "predicted_now": r["predicted"],
            "target": float(target),
        }
        if law is None:
            rows.append({**base, "reachable": False, "reason": "too few concepts to fit a law"})
            continue
        cp = law.count_for(float(target))
        today = max(now, 1.0)  # a zero count sits at log10 = 0, as in the fit
        anchored = _anchored(law, today, float(r["value"]), float(target))
        if r["value"] == r["value"] and r["value"] >= target:
            status = "already there"
        elif not cp.reachable:
            status = "unreachable"
        elif cp.count <= today and r["value"] == r["value"]:
            status = "lags its law"  # the law reaches the target below today's count: the concept underperforms it
        else:
            status = "reachable"
        rows.append(
            {
                **base,
                "planned_count": cp.count,
                "low": cp.low,
                "high": cp.high,
                "factor": cp.count / today,
                "factor_low": cp.low / today,
                "factor_high": cp.high / today if math.isfinite(cp.high) else math.inf,
                "reachable": cp.reachable,
                "reason": cp.reason,
                **anchored,
                "status": status,
            }
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)
