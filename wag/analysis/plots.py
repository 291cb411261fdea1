"""One altair theme and the shared chart builders (log-x frequency plots with ρ and slope legends)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from wag.analysis.errors import AnalysisError

THEME = "wag"
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
_RESULT_COLUMNS = {
    "method",
    "rho",
    "p",
    "slope",
    "slope_lo",
    "slope_hi",
    "n",
    "intercept",
    "r2",
    "n_bins_kept",
    "bin",
    "edge_left",
    "edge_right",
    "x",
    "mean",
    "std",
    "sem",
    "ci_lo",
    "ci_hi",
    "count_min",
    "count_max",
    "kept",
    "examples",
    "label",
}


def wag_theme() -> dict[str, Any]:
    """The project's chart style: serif type, light dotted grid, categorical palette (as the paper's figures)."""
    font = "serif"
    return {
        "config": {
            "font": font,
            "view": {"continuousWidth": 260, "continuousHeight": 200, "stroke": "#888"},
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "gridDash": [2, 3],
                "gridColor": "#ccc",
                "tickColor": "#888",
            },
            "legend": {
                "labelFontSize": 10,
                "titleFontSize": 11,
                "labelLimit": 640,
                "orient": "bottom",
                "direction": "vertical",
            },
            "title": {"fontSize": 13, "anchor": "start", "subtitleFontSize": 10, "subtitleColor": "#555"},
            "range": {"category": PALETTE},
            "line": {"strokeWidth": 2},
            "point": {"size": 40, "filled": True},
        }
    }


def enable_theme() -> None:
    """Register and enable the ``wag`` theme (altair >= 5.5 API, with a fallback for older versions)."""
    if hasattr(alt, "theme") and hasattr(alt.theme, "register"):
        alt.theme.register(THEME, enable=True)(wag_theme)
    else:  # pragma: no cover - altair < 5.5
        alt.themes.register(THEME, wag_theme)
        alt.themes.enable(THEME)


def stars(p: float) -> str:
    """``**`` when the two-sided p < 0.05 (the paper's marker), else empty."""
    return "**" if p == p and p < 0.05 else ""


def fit_label(
    name: str, binned: pd.Series | dict[str, Any] | None, per_concept: pd.Series | dict[str, Any] | None
) -> str:
    """Legend text naming which number is which: ``name: binned ρ=0.93** · per-concept slope +0.085/decade [0.080, 0.091]``
    (the paper's binned correlation beside our per-concept regression)."""
    parts = [str(name)]
    if binned is not None and binned["rho"] == binned["rho"]:
        parts.append(f"binned ρ={binned['rho']:.2f}{stars(binned['p'])}")
    if per_concept is not None and per_concept["slope"] == per_concept["slope"]:
        s = f"per-concept slope {per_concept['slope']:+.3f}/decade"
        if per_concept["slope_lo"] == per_concept["slope_lo"]:
            s += f" [{per_concept['slope_lo']:+.3f}, {per_concept['slope_hi']:+.3f}]"
        parts.append(s)
    return parts[0] + (": " + " · ".join(parts[1:]) if len(parts) > 1 else "")


def label_points(points: pd.DataFrame, fits: pd.DataFrame | None, color: str) -> pd.DataFrame:
    """Add a ``label`` column (the legend text of each point's group) built from ``fits``.

    Points and fits are matched on every group column they share (the identity columns plus any extra
    grouping such as ``seed`` or ``width``), so groups differing only in an extra column keep their own fit.
    """
    keys = [] if fits is None else [c for c in points.columns if c in fits.columns and c not in _RESULT_COLUMNS]
    out = points.copy()
    if fits is None or fits.empty or not keys:
        out["label"] = out[color].astype(str)
        return out
    cols = list(dict.fromkeys([*keys, color]))
    groups = out[cols].drop_duplicates()
    b = fits[fits["method"] == "binned"].drop_duplicates(keys)[keys + ["rho", "p"]]
    pc = fits[fits["method"] == "per_concept"].drop_duplicates(keys)[keys + ["slope", "slope_lo", "slope_hi"]]
    g = groups.merge(b, on=keys, how="left").merge(pc, on=keys, how="left")
    g["label"] = [
        fit_label(
            name,
            None if rho != rho else {"rho": rho, "p": p},
            None if slope != slope else {"slope": slope, "slope_lo": lo, "slope_hi": hi},
        )
        for name, rho, p, slope, lo, hi in zip(
            g[color].astype(str), g["rho"], g["p"], g["slope"], g["slope_lo"], g["slope_hi"]
        )
    ]
    return out.merge(g[[*cols, "label"]], on=cols, how="left")


def _panel(
    df: pd.DataFrame,
    *,
    x_title: str,
    y_title: str,
    title: str,
    tooltip: list[Any],
    ci: bool,
    x_domain: list[float],
    width: int,
    height: int,
    y_zero: bool,
) -> alt.LayerChart:
    order = list(dict.fromkeys(df["label"]))
    decades = [10.0**k for k in range(int(round(np.log10(x_domain[0]))), int(round(np.log10(x_domain[1]))) + 1)]
    x = alt.X(
        "x:Q", title=x_title, scale=alt.Scale(type="log", domain=x_domain), axis=alt.Axis(format="~s", values=decades)
    )
    y = alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=y_zero))
    c = alt.Color("label:N", title=None, sort=order, legend=alt.Legend(symbolType="stroke"))
    # encodings live once on the layer (shared by its marks): altair copies far less schema this way
    layers: list[alt.Chart] = [alt.Chart().mark_line(), alt.Chart().mark_point(filled=True)]
    if ci:
        layers.append(alt.Chart().mark_errorbar(ticks=True).encode(y=alt.Y("ci_lo:Q", title=y_title), y2="ci_hi:Q"))
    return alt.LayerChart(layer=layers, data=df, title=title, width=width, height=height).encode(
        x=x, y=y, color=c, tooltip=tooltip
    )


def log_linear_chart(
    points: pd.DataFrame,
    fits: pd.DataFrame | None = None,
    *,
    color: str = "model",
    column: str | None = None,
    x_title: str = "Pretraining concept frequency",
    y_title: str = "Zero-shot accuracy",
    title: str = "",
    tooltip: Sequence[str] | None = None,
    ci: bool = False,
    kept_only: bool = True,
    width: int = 240,
    height: int = 190,
    columns: int = 4,
    y_zero: bool = False,
) -> alt.TopLevelMixin:
    """Binned log-linear plot (paper style): log x axis of frequency, one line per ``color`` group.

    ``points``: :func:`wag.analysis.fits.binned_points` output; ``fits``: :func:`wag.analysis.fits.fit_table`
    output for the legend (ρ with ``**`` when p < .05, per-concept slope per decade with its CI). One panel
    per ``column`` value, each with its own legend; ``ci=True`` adds the 95% CI of each bin mean (Fig. 27).
    Hovering a point shows the group, the bin's count range, number of concepts and example concepts
    (name, dataset, count). Layers share one inline dataset per panel (keeps specs small and fast).
    """
    for col in [color, *([column] if column else [])]:
        if col not in points.columns:
            raise AnalysisError(f"column {col!r} not in points; pass one of {list(points.columns)}")
    df = points[points["kept"]] if kept_only and "kept" in points.columns else points
    if df.empty:
        raise AnalysisError("no kept bins to plot; pass kept_only=False or bin more concepts")
    df = label_points(df, fits, color)
    tip = (
        list(tooltip)
        if tooltip is not None
        else [
            c
            for c in [
                color,
                column,
                "count_type",
                "prompt_or_metric",
                "bin",
                "n",
                "count_min",
                "count_max",
                "mean",
                "ci_lo",
                "ci_hi",
                "examples",
            ]
            if c and c in df.columns
        ]
    )
    tooltip_enc = [
        alt.Tooltip(t, format=".3f")
        if t in ("mean", "ci_lo", "ci_hi")
        else alt.Tooltip(t, format=",.0f")
        if t in ("count_min", "count_max")
        else t
        for t in tip
    ]
    lo, hi = float(df["x"].min()), float(df["x"].max())
    x_domain = [10 ** np.floor(np.log10(max(lo, 1.0))), 10 ** np.ceil(np.log10(max(hi, 1.0) * 1.0001))]
    kw = dict(
        x_title=x_title,
        y_title=y_title,
        tooltip=tooltip_enc,
        ci=ci,
        x_domain=x_domain,
        width=width,
        height=height,
        y_zero=y_zero,
    )
    fields = [f for f in dict.fromkeys(["x", "mean", "ci_lo", "ci_hi", "label", *tip]) if f in df.columns]
    df = df[fields + ([column] if column and column not in fields else [])]  # keep the embedded data small
    if column is None:
        return _panel(df, title=title, **kw)
    panels = [_panel(g, title=str(v), **kw) for v, g in df.groupby(column, sort=False)]
    independent = alt.Resolve(scale=alt.ScaleResolveMap(color="independent"))
    head = {"title": alt.TitleParams(title, anchor="start")} if title else {}
    rows = [panels[i : i + columns] for i in range(0, len(panels), columns)]
    if len(rows) == 1:
        return alt.HConcatChart(hconcat=rows[0], resolve=independent, **head)
    return alt.VConcatChart(
        vconcat=[alt.HConcatChart(hconcat=r, resolve=independent) for r in rows], resolve=independent, **head
    )


def stack(charts: Sequence[alt.TopLevelMixin], title: str = "") -> alt.TopLevelMixin:
    """Stack several charts vertically (independent legends), e.g. one row per metric."""
    head = {"title": alt.TitleParams(title, anchor="start")} if title else {}
    return alt.VConcatChart(
        vconcat=list(charts), resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent")), **head
    )


def bar_table_chart(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    column: str | None = None,
    title: str = "",
    tooltip: Sequence[str] | None = None,
) -> alt.TopLevelMixin:
    """Grouped bars (e.g. Tab. 6: mean accuracy per frequency bin and model)."""
    enc = dict(
        x=alt.X(f"{x}:N", sort=list(dict.fromkeys(df[x])), title=x),
        y=alt.Y(f"{y}:Q", title=y),
        color=alt.Color(f"{color}:N"),
        xOffset=f"{color}:N",
        tooltip=list(tooltip or df.columns),
    )
    ch = alt.Chart(df).mark_bar().encode(**enc).properties(width=220, height=160)
    if column:
        ch = ch.facet(column=alt.Column(f"{column}:N", title=None, sort=list(dict.fromkeys(df[column]))))
    return ch.properties(title=title) if title else ch
