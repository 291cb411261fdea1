"""Least-squares lines of Fig. 6: models below / above an ImageNet-accuracy threshold, and all models."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wag.analysis.errors import AnalysisError

SEGMENT_COLUMNS = ["segment", "slope", "intercept", "n_models", "r2", "x_min", "x_max"]


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan")
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return float(slope), float(intercept), r2


def segment_fits(
    df: pd.DataFrame, x: str, y: str, threshold: float = 50.0, *, prefix: str = "imagenet"
) -> pd.DataFrame:
    """Ordinary least squares ``y = slope * x + intercept`` on three model sets (Fig. 6 contract).

    Segments: ``<prefix>_below_<t>`` (x < threshold), ``<prefix>_above_<t>`` (x >= threshold) and
    ``all``. ``x`` and ``y`` must be on the same scale as ``threshold`` (e.g. percent). A segment with
    fewer than two models (or constant x) gets NaN slope and intercept.
    """
    for col in (x, y):
        if col not in df.columns:
            raise AnalysisError(f"column {col!r} not in the table; columns are {list(df.columns)}")
    data = df[[x, y]].astype(float)
    if data.isna().any().any():
        bad = data[data.isna().any(axis=1)].index.tolist()[:5]
        raise AnalysisError(f"missing values in {x!r}/{y!r} (rows {bad}); drop or fill them first")
    xv, yv = data[x].to_numpy(), data[y].to_numpy()
    t = f"{threshold:g}"
    masks = {
        f"{prefix}_below_{t}": xv < threshold,
        f"{prefix}_above_{t}": xv >= threshold,
        "all": np.ones_like(xv, bool),
    }
    rows = []
    for seg, m in masks.items():
        slope, intercept, r2 = _line(xv[m], yv[m])
        rows.append(
            dict(
                segment=seg,
                slope=slope,
                intercept=intercept,
                n_models=int(m.sum()),
                r2=r2,
                x_min=float(xv[m].min()) if m.any() else float("nan"),
                x_max=float(xv[m].max()) if m.any() else float("nan"),
            )
        )
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
