"""§6 from the released results: ImageNet vs Let It Wag! accuracy of 40 models (Fig. 6, Tab. 9)."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from wag.analysis.errors import AnalysisError
from wag.analysis.segments import segment_fits
from wag.artifacts import read_imagenet_accuracy, read_let_it_wag_summary

FIG6_FITS_COLUMNS = ["segment", "slope", "intercept", "n_models"]


def fig6_points(root: str | Path) -> pd.DataFrame:
    """One row per Let It Wag! model: model_key, model, pretraining, imagenet_accuracy, let_it_wag_accuracy
    (both percent, ensemble prompts), gap = ImageNet − Let It Wag!, imagenet_source."""
    im = read_imagenet_accuracy(root)
    liw = read_let_it_wag_summary(root)
    df = liw.merge(im[["model_key", "imagenet_accuracy", "source"]], on="model_key", how="left", validate="one_to_one")
    if df["imagenet_accuracy"].isna().any():
        raise AnalysisError(
            f"no ImageNet accuracy for {', '.join(df.loc[df.imagenet_accuracy.isna(), 'model_key'])}; add them to imagenet_accuracy_extra.csv"
        )
    df["gap"] = df["imagenet_accuracy"] - df["let_it_wag_accuracy"]
    df = df.rename(columns={"source": "imagenet_source"})
    return df.sort_values(["imagenet_accuracy", "model_key"], kind="stable", ignore_index=True)[
        ["model_key", "model", "pretraining", "imagenet_accuracy", "let_it_wag_accuracy", "gap", "imagenet_source"]
    ]


def fig6_fits(points: pd.DataFrame, threshold: float = 50.0) -> pd.DataFrame:
    """Least-squares lines y = slope·x + intercept for ImageNet < 50, ≥ 50 and all models (fig6_fits contract + r2)."""
    fits = segment_fits(points, "imagenet_accuracy", "let_it_wag_accuracy", threshold=threshold)
    return fits[[*FIG6_FITS_COLUMNS, "r2", "x_min", "x_max"]]


def table9(points: pd.DataFrame) -> pd.DataFrame:
    """Tab. 9: pretraining, model, model_key, imagenet_accuracy, let_it_wag_accuracy, gap (percent), by ImageNet accuracy."""
    return points[["pretraining", "model", "model_key", "imagenet_accuracy", "let_it_wag_accuracy", "gap"]].reset_index(
        drop=True
    )


def fig6_chart(points: pd.DataFrame, fits: pd.DataFrame) -> alt.LayerChart:
    """Scatter of the 40 models with the three fitted lines drawn over each segment's x range."""
    lines = []
    for r in fits.itertuples():
        if np.isfinite(r.slope):
            for x in (r.x_min, r.x_max):
                lines.append(
                    {
                        "segment": f"{r.segment}: y = {r.slope:.2f}x {r.intercept:+.1f}",
                        "x": x,
                        "y": r.slope * x + r.intercept,
                    }
                )
    pts = (
        alt.Chart(points)
        .mark_point(filled=True, size=60)
        .encode(
            x=alt.X("imagenet_accuracy:Q", title="ImageNet zero-shot accuracy (%)", scale=alt.Scale(zero=False)),
            y=alt.Y("let_it_wag_accuracy:Q", title="Let It Wag! accuracy (%)"),
            color=alt.Color("pretraining:N", title="Pretraining", scale=alt.Scale(scheme="tableau20")),
            tooltip=["model_key", "model", "pretraining", "imagenet_accuracy", "let_it_wag_accuracy", "gap"],
        )
    )
    fit = (
        alt.Chart(pd.DataFrame(lines))
        .mark_line(color="black")
        .encode(
            x="x:Q",
            y="y:Q",
            strokeDash=alt.StrokeDash("segment:N", title="Least-squares fit"),
            strokeWidth=alt.value(1.5),
            tooltip=["segment"],
        )
    )
    return (
        (pts + fit)
        .resolve_legend(color="independent")
        .properties(width=420, height=320, title="Fig. 6: ImageNet vs Let It Wag! accuracy (40 models)")
    )


# ---------------------------------------------------------------------------------------------
# §6 on a study: the study's own Let It Wag! (built from its image pool) vs its classification sets
# ---------------------------------------------------------------------------------------------


def study_fits(points: pd.DataFrame, threshold: float = 50.0) -> pd.DataFrame:
    """Least-squares lines of Let It Wag! accuracy on the reference accuracy (the study's classification sets),
    for models below / above ``threshold`` % and all (NaN slope with fewer than two models)."""
    ok = points.dropna(subset=["reference_accuracy"])
    fits = segment_fits(ok, "reference_accuracy", "let_it_wag_accuracy", threshold=threshold, prefix="reference")
    return fits[[*FIG6_FITS_COLUMNS, "r2", "x_min", "x_max"]]


def study_chart(points: pd.DataFrame, title: str = "") -> alt.LayerChart:
    """Scatter of the study's models: reference accuracy (its classification sets) vs its Let It Wag! accuracy, with y = x."""
    lo = float(min(points["reference_accuracy"].min(), points["let_it_wag_accuracy"].min(), 0.0))
    hi = float(max(points["reference_accuracy"].max(), points["let_it_wag_accuracy"].max(), 1.0))
    pts = (
        alt.Chart(points)
        .mark_point(filled=True, size=80)
        .encode(
            x=alt.X("reference_accuracy:Q", title="Accuracy on the study's classification sets (%)"),
            y=alt.Y("let_it_wag_accuracy:Q", title="Let It Wag! accuracy (%)"),
            color=alt.Color("model:N", title="Model"),
            tooltip=[
                "model",
                "pretraining",
                "reference_datasets",
                "reference_accuracy",
                "let_it_wag_accuracy",
                "gap",
                "n_classes",
            ],
        )
    )
    diag = (
        alt.Chart(pd.DataFrame({"x": [lo, hi], "y": [lo, hi]}))
        .mark_line(color="grey", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    return (pts + diag).properties(
        width=420, height=320, title=title or "§6 on the study: Let It Wag! vs the study's classification sets"
    )
