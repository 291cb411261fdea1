"""Where a concept sits on its law: the concepts of one fit, the fitted line, its prediction band, the concept marked.

The chart of a concept card (``wag lookup --html``, notebook ``E_concept_lookup``): x is log10 of the count (a zero
count at 0, as the fit places it), y the performance; the band is the prediction interval of a new concept
(:meth:`wag.analysis.law.Law.predict`), so about 95% of the concepts fall inside it.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from wag.analysis.errors import AnalysisError
from wag.analysis.law import Law
from wag.analysis.per_concept import log10_counts

#: At most this many background concepts are drawn (a seeded sample), so a card stays small.
MAX_POINTS = 1000


def law_band(law: Law, x_max: float, n: int = 60) -> pd.DataFrame:
    """The law's prediction and bands on a grid of log10 counts from 0 to ``x_max``."""
    grid = np.linspace(0.0, max(x_max, 1.0), n)
    return law.predict(10.0**grid).assign(log10_count=grid)


def law_chart(
    points: pd.DataFrame,
    law: Law,
    marks: pd.DataFrame,
    *,
    title: str,
    y_title: str = "performance",
    seed: int = 0,
) -> alt.LayerChart:
    """The concepts of one law (``points``: ``count, value``), its line and prediction band, and ``marks``
    (``concept, count, value, predicted``; a mark without a measured value is drawn at its prediction, hollow)."""
    for name, df, need in (("points", points, {"count", "value"}), ("marks", marks, {"concept", "count", "predicted"})):
        if missing := need - set(df.columns):
            raise AnalysisError(f"law chart: {name} lack columns {sorted(missing)}")
    shown = points if len(points) <= MAX_POINTS else points.sample(MAX_POINTS, random_state=seed)
    bg = pd.DataFrame({"log10_count": log10_counts(shown["count"]), "value": shown["value"].to_numpy(dtype=float)})
    m = marks.assign(log10_count=log10_counts(marks["count"]))
    m = m.assign(y=m["value"].where(m["value"].notna(), m["predicted"]) if "value" in m else m["predicted"])
    m = m.assign(measured=np.where(m["value"].notna(), "measured", "predicted") if "value" in m else "predicted")
    band = law_band(law, float(max(bg["log10_count"].max(), m["log10_count"].max()) + 0.3))
    x = alt.X("log10_count:Q", title="log10 pretraining count (0 = none)")
    note = f" ({len(shown)} of {len(points)} concepts drawn)" if len(shown) < len(points) else ""
    subtitle = (
        f"slope {law.slope:+.3f} per decade [{law.slope_ci[0]:.3f}, {law.slope_ci[1]:.3f}], n = {law.n}{note}; "
        f"band: {1 - law.alpha:.0%} prediction interval; red: the concepts looked up (hollow: predicted only)"
    )
    base = (
        alt.Chart(bg).mark_circle(size=8, opacity=0.18, color="#7f7f7f").encode(x=x, y=alt.Y("value:Q", title=y_title))
    )
    area = (
        alt.Chart(band)
        .mark_area(opacity=0.18, color="#1f77b4")
        .encode(x=x, y=alt.Y("pi_low:Q", title=y_title), y2="pi_high:Q")
    )
    line = alt.Chart(band).mark_line(color="#1f77b4").encode(x=x, y="predicted:Q")
    dots = (
        alt.Chart(m)
        .mark_point(size=90, strokeWidth=2, color="#d62728")
        .encode(
            x=x,
            y="y:Q",
            shape=alt.Shape("measured:N", legend=None),
            fill=alt.condition("datum.measured == 'measured'", alt.value("#d62728"), alt.value("white")),
            tooltip=["concept", "count", "predicted", "y"],
        )
    )
    labels = alt.Chart(m).mark_text(dx=8, dy=-8, align="left", color="#d62728").encode(x=x, y="y:Q", text="concept")
    return alt.layer(base, area, line, dots, labels).properties(
        width=380, height=240, title=alt.TitleParams(title, subtitle=subtitle)
    )
