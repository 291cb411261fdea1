"""A budget of new samples over a concept list, on any source (``wag plan --budget``).

One model's law (Fig. 2's: its classification accuracy, class prompt, against the headline count type, fitted over
every concept it was evaluated on; :class:`wag.sources.lookup.Laws`) and each concept's count today; the budget
spread by :func:`wag.analysis.plan.compare` (planner, uniform, balanced), one row per concept and strategy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from wag.analysis.law import Law
from wag.analysis.plan import STRATEGIES, check_budget, check_strategy, compare, plan_summary
from wag.core.errors import excerpt
from wag.sources.base import Source
from wag.sources.lookup import LAW_GROUP, ConceptLookupError, Laws, LookupTables, lookup_tables, resolve, select_model


@dataclass(frozen=True)
class BudgetPlan:
    """The answer of :func:`plan_budget`: per-concept rows (:func:`wag.analysis.plan.allocate`'s columns, stacked
    over strategies), the per-strategy summary, the law and the group it was fitted on."""

    table: pd.DataFrame
    summary: pd.DataFrame
    law: Law
    group: dict[str, Any]
    budget: int


def law_group(laws: Laws, t: LookupTables, model: str | None) -> tuple[Any, ...]:
    """The law group of ``model`` (default: the first evaluated model): its classification law on the headline count
    type when it has one, else its first."""
    perf = select_model(t.performance[t.performance["count_type"] == t.law_count_type], model)
    if perf.empty:
        raise ConceptLookupError("the source has no per-concept performance to fit a law on; check its inputs")
    first = perf.iloc[0]
    groups = [g for g in laws.groups(t.law_count_type) if (g[1], g[2]) == (first["pretraining"], first["model"])]
    cls = [g for g in groups if g[0] == "classification"]
    if not (cls or groups):
        raise ConceptLookupError(f"no law for model {first['pretraining']}/{first['model']}; pick another with --model")
    return (cls or groups)[0]


def concept_counts(t: LookupTables, rows: pd.DataFrame, names: Sequence[str] | None) -> pd.Series:
    """Each concept's count today (display name -> count) among the law's rows; ``names``: only those (each known)."""
    known = rows.drop_duplicates("key").set_index("key")
    if names is None:
        return pd.Series(known["count"].astype("int64").to_numpy(), index=known["concept"].astype(str).to_numpy())
    keys, bad = [], []
    for n in names:
        key, ok, near = resolve(t, n)
        if not ok or key not in known.index:
            hint = f" (nearest: {', '.join(near)})" if near else ""
            bad.append(f"{excerpt(n, 40)}{hint}")
        elif key not in keys:
            keys.append(key)
    if bad:
        raise ConceptLookupError(
            f"concept(s) without a count and a measured value for this model: {'; '.join(bad[:10])}; "
            "fix the names in the concept list or drop them"
        )
    sel = known.loc[keys]
    return pd.Series(sel["count"].astype("int64").to_numpy(), index=sel["concept"].astype(str).to_numpy())


def plan_budget(
    src: Source,
    budget: int,
    *,
    concepts: Sequence[str] | None = None,
    model: str | None = None,
    alpha: float = 0.05,
    cap: float | None = None,
    strategies: Sequence[str] = STRATEGIES,
    tables: LookupTables | None = None,
) -> BudgetPlan:
    """Spread ``budget`` new samples over ``concepts`` (default: every concept the model was evaluated on) by each
    strategy, with the model's law's predictions before and after and their intervals."""
    budget = check_budget(budget)
    for s in strategies:
        check_strategy(s)
    t = tables or lookup_tables(src)
    laws = Laws(t.performance, alpha=alpha)
    group = law_group(laws, t, model)
    law = laws.get(group)
    if law is None:
        raise ConceptLookupError(
            f"too few concepts to fit a law for {'/'.join(map(str, group[1:3]))}; pick another model"
        )
    counts = concept_counts(t, laws.rows(group), concepts)
    table = compare(law, counts, budget, strategies, cap)
    return BudgetPlan(
        table=table, summary=plan_summary(table), law=law, group=dict(zip(LAW_GROUP, group)), budget=budget
    )
