"""Charts: log x axis, legend with ρ/** and slope CI, tooltips, theme."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from wag.analysis import plots
from wag.analysis.errors import AnalysisError
from wag.analysis.fits import binned_points, fit_table


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 300
    c = rng.integers(0, 100_000, n)
    frames = []
    for pt, model, s in [("cc3m", "RN50", 0.1), ("cc3m", "ViT-B-16", 0.0), ("cc12m", "RN50", 0.05)]:
        v = 0.2 + s * np.log10(np.maximum(c, 1)) + rng.normal(0, 0.05, n)
        frames.append(
            pd.DataFrame(
                dict(
                    concept=[f"concept{i}" for i in range(n)],
                    dataset="cifar10",
                    task="classification",
                    model=model,
                    pretraining=pt,
                    prompt="class",
                    metric="accuracy",
                    value=v,
                    method="integrated",
                    variant="integrated@0.7",
                    count=c,
                )
            )
        )
    j = pd.concat(frames, ignore_index=True)
    return binned_points(j, task="classification"), fit_table(j, task="classification", n_boot=100)


def _all_values(spec: object, key: str) -> list[object]:
    out = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == key:
                out.append(v)
            out += _all_values(v, key)
    elif isinstance(spec, list):
        for v in spec:
            out += _all_values(v, key)
    return out


def test_legend_labels_have_rho_stars_and_slope_ci():
    pts, fits = _data()
    labelled = plots.label_points(pts, fits, "model")
    lab = dict(zip(labelled["model"] + "/" + labelled["pretraining"], labelled["label"]))
    b = fits[fits["method"] == "binned"].set_index(["pretraining", "model"])
    assert (
        lab["RN50/cc3m"].startswith("RN50: binned ρ=") and "**" in lab["RN50/cc3m"] and "/decade [" in lab["RN50/cc3m"]
    )
    flat = b.loc[("cc3m", "ViT-B-16")]
    assert ("**" in lab["ViT-B-16/cc3m"]) == (flat["p"] < 0.05)
    assert f"ρ={flat['rho']:.2f}" in lab["ViT-B-16/cc3m"]
    assert "per-concept slope " in lab["RN50/cc3m"]  # the legend says which number is which


def test_chart_spec_log_x_tooltips_and_panels():
    pts, fits = _data()
    ch = plots.log_linear_chart(pts, fits, color="model", column="pretraining", title="t", ci=True)
    spec = ch.to_dict()
    assert len(spec["hconcat"]) == 2  # one panel per pretraining set, each with its own legend
    assert "log" in [s.get("type") for s in _all_values(spec, "scale") if isinstance(s, dict)]
    tips = {
        t["field"]
        for t in _all_values(spec, "tooltip")
        for t in (t if isinstance(t, list) else [t])
        if isinstance(t, dict)
    }
    assert {"examples", "count_min", "count_max", "n", "model"} <= tips
    data = json.dumps(spec["datasets"])
    assert "concept" in data and "cifar10" in data  # hover text names concept, dataset and count
    assert "ci_lo" in json.dumps(spec)  # Fig. 27 error bars


def test_only_kept_bins_are_plotted_by_default():
    pts, fits = _data()
    spec = plots.log_linear_chart(pts, fits, color="model").to_dict()
    rows = [r for d in spec["datasets"].values() for r in d]
    assert len(rows) == int(pts["kept"].sum())
    assert sorted(r["x"] for r in rows) == sorted(pts.loc[pts["kept"], "x"])


def test_theme_and_errors(tmp_path):
    plots.enable_theme()
    assert alt.theme.active == "wag"
    pts, fits = _data()
    with pytest.raises(AnalysisError, match="column 'nope'"):
        plots.log_linear_chart(pts, fits, color="nope")
    with pytest.raises(AnalysisError, match="no kept bins"):
        plots.log_linear_chart(pts.assign(kept=False), fits)
    path = tmp_path / "c.html"
    plots.log_linear_chart(pts, fits).save(str(path))
    assert "vega" in path.read_text()


def test_labels_follow_extra_group_columns():
    pts, fits = _data()
    pts = pd.concat([pts.assign(seed=0), pts.assign(seed=1)], ignore_index=True)
    f1 = fits.assign(seed=1)
    f1.loc[f1["method"] == "binned", "rho"] = 0.123456
    labelled = plots.label_points(pts, pd.concat([fits.assign(seed=0), f1]), "model")
    seed1 = labelled[(labelled["seed"] == 1) & (labelled["model"] == "RN50") & (labelled["pretraining"] == "cc3m")]
    seed0 = labelled[(labelled["seed"] == 0) & (labelled["model"] == "RN50") & (labelled["pretraining"] == "cc3m")]
    assert seed1["label"].str.contains("ρ=0.12").all()
    assert not seed0["label"].str.contains("ρ=0.12").any()
    assert len(labelled) == len(pts)
