"""Assemble the §3 log-linear figures: fit + bin every group, stack panels, summarise fits.

Used by the notebooks so that each figure is one or two calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import altair as alt
import pandas as pd

from wag.analysis import plots
from wag.analysis.binned import Binning
from wag.analysis.fits import FIT_COLUMNS, binned_points, fit_table

#: The fit table a figure returns: every fit column but the count of kept bins (the figure shows its bins).
CONTRACT = [c for c in FIT_COLUMNS if c != "n_bins_kept"]


def fit_and_bin(
    joined: pd.DataFrame,
    *,
    task: str,
    n_boot: int,
    seed: int,
    keep_zero: bool = False,
    ci_level: float = 0.95,
    by: list[str] | None = None,
    per_concept: pd.DataFrame | None = None,
    binning: Binning | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, fits) of every model × count type × prompt/metric group of one task.

    ``per_concept``: per-concept fit rows already computed on the same joined table (they do not depend
    on the bin slice), reused instead of bootstrapping again. ``binning``: how to bin (default: the paper's recipe).
    """
    pts = binned_points(joined, task=task, keep_zero=keep_zero, ci_level=ci_level, by=by, binning=binning)
    if per_concept is None:
        fits = fit_table(
            joined, task=task, n_boot=n_boot, seed=seed, keep_zero=keep_zero, ci_level=ci_level, by=by, binning=binning
        )
    else:
        binned = fit_table(
            joined, task=task, keep_zero=keep_zero, ci_level=ci_level, by=by, methods=("binned",), binning=binning
        )
        pc = per_concept[(per_concept["method"] == "per_concept") & (per_concept["task"] == task)]
        fits = pd.concat([binned, pc[[c for c in binned.columns if c in pc.columns]]], ignore_index=True)
        fits = fits.sort_values(
            [c for c in ("pretraining", "model", "count_type", "prompt_or_metric") if c in fits],
            kind="stable",
            key=lambda s: s.map({v: i for i, v in enumerate(dict.fromkeys(s))}),
        )
    return pts, fits


def contract(fits: pd.DataFrame) -> pd.DataFrame:
    """The ``_fits.csv`` columns (plus intercept and r2), in order."""
    return fits[CONTRACT].reset_index(drop=True)


def stacked_chart(
    points: pd.DataFrame,
    fits: pd.DataFrame,
    *,
    row: str,
    y_title: str | Mapping[str, str] | Callable[[str], str],
    row_title: Callable[[str], str] | None = None,
    column: str | None = "pretraining",
    color: str = "model",
    ci: bool = False,
    title: str = "",
    x_title: str = "Pretraining concept frequency",
) -> alt.TopLevelMixin:
    """One row of panels per value of ``row`` (e.g. task or metric), one panel per ``column`` value."""
    charts = []
    for value, g in points.groupby(row, sort=False):
        yt = (
            y_title(value)
            if callable(y_title)
            else y_title.get(value, str(value))
            if isinstance(y_title, Mapping)
            else y_title
        )
        charts.append(
            plots.log_linear_chart(
                g,
                fits,
                color=color,
                column=column,
                y_title=yt,
                x_title=x_title,
                ci=ci,
                title=row_title(value) if row_title else str(value),
            )
        )
    return (
        charts[0].properties(title=title)
        if len(charts) == 1 and title and column is None
        else plots.stack(charts, title=title)
    )


def summary(fits: pd.DataFrame) -> pd.DataFrame:
    """One line per group: binned ρ (with ** when p < .05) and per-concept slope per decade [95% CI]."""
    keys = ["task", "pretraining", "model", "count_type", "prompt_or_metric"]
    b = fits[fits["method"] == "binned"].set_index(keys)
    pc = fits[fits["method"] == "per_concept"].set_index(keys)
    out = pd.DataFrame(index=b.index)
    out["binned_rho"] = [f"{r:.3f}{plots.stars(p)}" for r, p in zip(b["rho"], b["p"])]
    out["per_concept_slope"] = [
        f"{s:+.4f} [{lo:+.4f}, {hi:+.4f}]" for s, lo, hi in zip(pc["slope"], pc["slope_lo"], pc["slope_hi"])
    ]
    out["per_concept_r2"] = pc["r2"].round(3).to_numpy()
    out["n_concepts"] = pc["n"].to_numpy()
    return out.reset_index()
