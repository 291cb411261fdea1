"""Per-concept log-linear regression (what the paper lacks): performance on log10(count), all concepts.

Slope is "performance gained per tenfold more pretraining examples", fitted by statsmodels OLS; its 95%
interval comes from a seeded, vectorised pairs bootstrap over concepts.
"""

from __future__ import annotations

import numpy as np
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from wag.analysis.errors import AnalysisError

FIT_KEYS = ("slope", "slope_lo", "slope_hi", "intercept", "r2", "p", "n")


def log10_counts(counts: object) -> np.ndarray:
    """log10 of counts with 0 → 1 (so zero-count concepts sit at x = 0)."""
    c = np.asarray(counts, dtype=float)
    if np.isnan(c).any() or (c < 0).any():
        raise AnalysisError("counts must be non-negative numbers without NaN; fix or drop those concepts' counts")
    return np.log10(np.where(c > 0, c, 1.0))


def bootstrap_slopes(x: np.ndarray, y: np.ndarray, *, n_boot: int, seed: int, chunk: int = 256) -> np.ndarray:
    """OLS slopes of ``n_boot`` pairs-bootstrap resamples (rows resampled with replacement), vectorised.

    Each resample is summarised by how often it drew each concept (a row of counts ``W``); the slope then
    follows from the weighted sums ``W @ [1, x, y, x², xy]`` (one matrix product per chunk). ``x`` and
    ``y`` are centred first for numerical stability (the slope is shift-invariant).
    """
    rng = np.random.default_rng(seed)
    n = len(x)
    xc, yc = x - x.mean(), y - y.mean()
    design = np.column_stack([np.ones(n), xc, yc, xc * xc, xc * yc])
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        k = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(k, n))
        flat = (np.arange(k)[:, None] * n + idx).ravel()
        w = np.bincount(flat, minlength=k * n).reshape(k, n).astype(float)
        s1, sx, sy, sxx, sxy = (w @ design).T
        den = s1 * sxx - sx * sx
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + k] = np.where(den > 1e-12 * s1 * s1, (s1 * sxy - sx * sy) / den, np.nan)
    return out


def fit_log_linear(
    counts: object, values: object, *, n_boot: int = 1000, seed: int = 0, ci_level: float = 0.95
) -> dict[str, float]:
    """Fit ``value = intercept + slope * log10(count)`` over concepts.

    Returns ``slope, slope_lo, slope_hi`` (percentile bootstrap interval, ``n_boot`` resamples, seeded),
    ``intercept, r2, p`` (two-sided p of the slope, statsmodels OLS) and ``n``. Fewer than 3 concepts or
    constant counts give NaN statistics (``n`` is still reported). ``n_boot=0`` skips the bootstrap.
    """
    x = log10_counts(counts)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape:
        raise AnalysisError(f"counts and values differ in length ({x.shape} vs {y.shape}); pass one value per count")
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    n = int(len(x))
    nan = float("nan")
    if n < 3 or np.ptp(x) == 0:
        return dict(slope=nan, slope_lo=nan, slope_hi=nan, intercept=nan, r2=nan, p=nan, n=n)
    res = OLS(y, add_constant(x)).fit()
    lo = hi = nan
    if n_boot > 0:
        boots = bootstrap_slopes(x, y, n_boot=n_boot, seed=seed)
        a = (1 - ci_level) / 2
        lo, hi = (float(q) for q in np.nanquantile(boots, [a, 1 - a]))
    return dict(
        slope=float(res.params[1]),
        slope_lo=lo,
        slope_hi=hi,
        intercept=float(res.params[0]),
        r2=float(res.rsquared),
        p=float(res.pvalues[1]),
        n=n,
    )
