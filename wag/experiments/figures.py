"""Figure data and charts of the §4 notebooks: Fig. 4 from the released files, and the synthetic world's figures."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from wag import artifacts
from wag.analysis.fits import binned_points, fit_table
from wag.analysis.plots import log_linear_chart
from wag.core.io import InputFileError
from wag.synthetic.params import SyntheticParams

FIG4_METHODS = {"image": "rampp@0.7", "text": "lemmatized", "integrated": "integrated@0.7"}


def released_fig4(
    root, pretraining: str, methods: Sequence[str], *, datasets: Sequence[str] | None, n_boot: int, title: str
) -> tuple[pd.DataFrame, pd.DataFrame, alt.TopLevelMixin]:
    """Fig. 4 panel from the paper's released files: zero-shot accuracy (``class`` prompt, pooled sets) of the
    ``pretraining`` model vs its concept counts, one line per count type, the paper's binned recipe and slice
    (SynthCI-30M ``[0:-4]``) plus the per-concept fit. Returns (points, fits, chart)."""
    perf = artifacts.read_zero_shot(root, datasets=list(datasets) if datasets else None, prompts="class")
    perf = perf[perf["pretraining"] == pretraining]
    if perf.empty:
        raise InputFileError(
            f"no zero-shot results of a model pretrained on '{pretraining}' in {root} for these datasets: "
            "check the released files with `wag artifacts verify`"
        )
    frames = []
    for m in methods:
        freq = artifacts.read_search_counts(
            root,
            downstream=list(datasets) if datasets else None,
            pretraining=pretraining,
            method=m,
            variant=FIG4_METHODS[m],
        )
        joined, _ = artifacts.join_counts_performance(freq, perf)
        frames.append(joined)
    joined = pd.concat(frames, ignore_index=True)
    fits = fit_table(joined, task="classification", n_boot=n_boot)
    points = binned_points(joined, task="classification")
    chart = log_linear_chart(points, fits, color="count_type", title=title)
    return points, fits, chart


def headline_chart(
    points: pd.DataFrame,
    fits: pd.DataFrame,
    sp: SyntheticParams,
    *,
    task: str = "classification",
    count_types: Sequence[str] = ("phrase",),
    metric: str | None = None,
) -> alt.TopLevelMixin:
    """Fig. 2 style for the synthetic world: accuracy vs count, one line per seed (pooled as seed -1), headline width."""
    sel = (
        (points["task"] == task)
        & (points["count_type"].isin(count_types))
        & (points["width"] == sp.model.headline_width)
        & (points["seed"] >= -1)
    )
    fsel = (
        (fits["task"] == task)
        & (fits["count_type"].isin(count_types))
        & (fits["width"] == sp.model.headline_width)
        & (fits["seed"] >= -1)
    )
    if metric is not None:
        sel &= points["prompt_or_metric"] == metric
        fsel &= fits["prompt_or_metric"] == metric
    p = points[sel].assign(run=lambda d: np.where(d["seed"] == -1, "all seeds pooled", "seed " + d["seed"].astype(str)))
    f = fits[fsel].assign(run=lambda d: np.where(d["seed"] == -1, "all seeds pooled", "seed " + d["seed"].astype(str)))
    y = "Zero-shot accuracy" if task == "classification" else f"Retrieval {metric}"
    return log_linear_chart(
        p,
        f,
        color="run",
        column="count_type" if len(count_types) > 1 else None,
        y_title=y,
        x_title="Pretraining concept frequency (synthetic world)",
    )


def by_column_chart(
    points: pd.DataFrame, fits: pd.DataFrame, color: str, *, title: str, y_title: str = "Zero-shot accuracy"
) -> alt.TopLevelMixin:
    """Binned log-linear chart with one line per value of ``color`` (e.g. width, count type, training variant)."""
    return log_linear_chart(
        points.assign(**{color: points[color].astype(str)}),
        fits.assign(**{color: fits[color].astype(str)}),
        color=color,
        title=title,
        y_title=y_title,
        x_title="Pretraining concept frequency (synthetic world)",
    )


def scatter_change(df: pd.DataFrame, *, x: str, y: str, color: str, title: str) -> alt.Chart:
    """Per-concept scatter on a log x axis (e.g. accuracy change vs baseline count, coloured by group)."""
    return (
        alt.Chart(df)
        .mark_point(filled=True)
        .encode(
            x=alt.X(f"{x}:Q", scale=alt.Scale(type="log")), y=f"{y}:Q", color=f"{color}:N", tooltip=list(df.columns)
        )
        .properties(title=title, width=320, height=220)
    )


def letitwag_chart(df: pd.DataFrame) -> alt.TopLevelMixin:
    """Fig. 6 style: tail-benchmark accuracy vs full test-set accuracy per model, with y = x and a least-squares line."""
    base = alt.Chart(df)
    pts = base.mark_point(filled=True, size=70).encode(
        x=alt.X("full_accuracy:Q", title="Accuracy on the full test set", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("letitwag_accuracy:Q", title="Accuracy on the world's Let It Wag!", scale=alt.Scale(domain=[0, 1])),
        color="width:N",
        tooltip=list(df.columns),
    )
    diag = (
        alt.Chart(pd.DataFrame({"full_accuracy": [0.0, 1.0], "letitwag_accuracy": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x="full_accuracy:Q", y="letitwag_accuracy:Q")
    )
    layers = [diag, pts]
    if len(df) >= 3:  # a least-squares line needs a few models
        layers.append(
            base.transform_regression("full_accuracy", "letitwag_accuracy")
            .mark_line()
            .encode(x="full_accuracy:Q", y="letitwag_accuracy:Q")
        )
    return alt.layer(*layers).properties(
        width=320, height=260, title="Let It Wag! analogue (Fig. 6 style): y = x dashed"
    )


def taggers_chart(table: pd.DataFrame) -> alt.TopLevelMixin:
    """The tagger comparison (:func:`wag.experiments.taggers.compare_taggers`): precision, recall and Spearman against
    the true image counts per tagger (bars), beside the measured and true misalignment (percent)."""
    quality = table.melt(
        id_vars=["tagger"], value_vars=["precision", "recall", "spearman_vs_true"], var_name="measure"
    ).dropna()
    bars = (
        alt.Chart(quality)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="against the world's truth", scale=alt.Scale(domain=[-1, 1])),
            y=alt.Y("tagger:N", sort=list(table["tagger"]), title=None),
            color=alt.Color("tagger:N", legend=None),
            row=alt.Row("measure:N", title=None),
            tooltip=["tagger", "measure", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=300, height=90)
    )
    mis = table.melt(
        id_vars=["tagger"], value_vars=["misalignment_percent", "true_misalignment_percent"], var_name="measure"
    )
    points = (
        alt.Chart(mis)
        .mark_point(filled=True, size=80)
        .encode(
            x=alt.X("value:Q", title="misalignment (% of samples)"),
            y=alt.Y("tagger:N", sort=list(table["tagger"]), title=None),
            shape=alt.Shape("measure:N", title=None),
            color=alt.Color("measure:N", title=None),
            tooltip=["tagger", "measure", alt.Tooltip("value:Q", format=".2f")],
        )
        .properties(width=260, height=120, title="misalignment: measured vs true")
    )
    th = float(table["threshold"].iloc[0])
    return alt.hconcat(bars, points).properties(
        title=f"Image taggers on the synthetic world's images against its truth (threshold {th:g})"
    )
