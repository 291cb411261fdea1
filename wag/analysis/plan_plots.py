"""Charts of budget allocations (:mod:`wag.analysis.plan`): where each strategy puts the samples, and predicted
against observed gains."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


def allocation_chart(table: pd.DataFrame, *, title: str = "Where each strategy adds samples") -> alt.Chart:
    """Samples added per concept against its count today (both log), one colour per strategy (:func:`~wag.analysis.
    plan.compare`'s table); concepts that get nothing are left out."""
    d = table[table["added"] > 0][
        ["concept", "strategy", "count_before", "added", "predicted_before", "predicted_after"]
    ]
    d = d.assign(count_before=np.maximum(d["count_before"], 1))
    return (
        alt.Chart(d, title=title)
        .mark_point(filled=True, opacity=0.7)
        .encode(
            x=alt.X("count_before:Q", scale=alt.Scale(type="log"), title="count today (0 shown at 1)"),
            y=alt.Y("added:Q", scale=alt.Scale(type="log"), title="samples added"),
            color=alt.Color("strategy:N", title="strategy"),
            shape=alt.Shape("strategy:N"),
            tooltip=["concept", "strategy", "count_before", "added", "predicted_before", "predicted_after"],
        )
        .properties(width=360, height=240)
    )


def gain_chart(
    summary: pd.DataFrame, *, title: str = "Mean accuracy gain: predicted by the law vs observed"
) -> alt.Chart:
    """Per strategy, the law's predicted mean gain (interval from the slope's) beside the observed one (± its standard
    deviation over seeds; no bar with one seed), from :func:`wag.experiments.planning_summary`-shaped rows."""
    pred = summary[["strategy", "predicted_gain", "gain_low", "gain_high"]].rename(
        columns={"predicted_gain": "gain", "gain_low": "low", "gain_high": "high"}
    )
    sd = summary["observed_sd"].fillna(0.0)
    obs = pd.DataFrame(
        {
            "strategy": summary["strategy"],
            "gain": summary["observed_gain"],
            "low": summary["observed_gain"] - sd,
            "high": summary["observed_gain"] + sd,
        }
    )
    d = pd.concat([pred.assign(kind="predicted (law)"), obs.assign(kind="observed (retrained)")], ignore_index=True)
    order = list(summary["strategy"])
    base = alt.Chart(d).encode(
        x=alt.X("strategy:N", sort=order, title=None),
        xOffset=alt.XOffset("kind:N"),
        color=alt.Color("kind:N", title=None),
    )
    bars = base.mark_bar(opacity=0.8).encode(y=alt.Y("gain:Q", title="mean accuracy gain"))
    err = base.mark_rule(color="black").encode(y="low:Q", y2="high:Q")
    return (bars + err).properties(title=title, width=320, height=240)
