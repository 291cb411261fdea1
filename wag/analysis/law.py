"""The law as a tool: fit ``performance = intercept + slope * log10(count)`` per concept, predict, invert.

:func:`fit_law` fits statsmodels OLS over concepts (``x`` = log10 count, zero counts at ``x = 0`` as
:func:`wag.analysis.per_concept.log10_counts` maps them). :meth:`Law.predict` gives, at any count, the predicted
performance, the confidence interval of the mean (``mean_ci_*``) and the **prediction interval** of a new
concept (``pi_*``: statsmodels ``get_prediction(...).summary_frame(alpha)``'s ``obs_ci_*``), which is what a
single concept's value should fall in. :meth:`Law.count_for` turns the law around (inverse prediction): the
count at which the fit predicts a target, with the interval of counts whose prediction band contains the target
(the Fieller / calibration interval; the roots of a quadratic in ``x``, see ``docs/law.md``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from wag.analysis.errors import AnalysisError
from wag.analysis.per_concept import log10_counts

PREDICT_COLUMNS = ("count", "log10_count", "predicted", "mean_ci_low", "mean_ci_high", "pi_low", "pi_high")


@dataclass(frozen=True)
class CountPlan:
    """The count at which a law predicts ``target``; ``[low, high]`` the counts whose prediction band holds it.

    ``high`` is ``inf`` when the band never leaves the target (the slope is not distinguishable from 0).
    ``reachable`` is False, with ``reason`` saying why, when the slope's interval spans 0 or the count lies
    beyond the largest count the law was fitted on.
    """

    target: float
    count: float
    low: float
    high: float
    reachable: bool
    reason: str


@dataclass(frozen=True)
class Law:
    """A fitted per-concept law (OLS of performance on log10 count), with intervals at level ``1 - alpha``."""

    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    n: int
    alpha: float
    x_min: float = float("nan")  # smallest log10 count fitted
    x_max: float = float("nan")  # largest log10 count fitted
    resid_sd: float = float("nan")  # residual standard deviation s
    _result: Any = field(default=None, repr=False, compare=False)

    @property
    def t(self) -> float:
        """The two-sided Student-t quantile of the intervals (``n - 2`` degrees of freedom)."""
        return float(special.stdtrit(self.n - 2, 1 - self.alpha / 2))

    def predict(self, counts: ArrayLike) -> pd.DataFrame:
        """Predicted performance at ``counts`` (raw counts; 0 sits at log10 = 0), with mean CI and prediction interval."""
        c = np.atleast_1d(np.asarray(counts, dtype=float))
        x = log10_counts(c)
        frame = self._result.get_prediction(add_constant(x, has_constant="add")).summary_frame(alpha=self.alpha)
        return pd.DataFrame(
            {
                "count": c,
                "log10_count": x,
                "predicted": frame["mean"].to_numpy(),
                "mean_ci_low": frame["mean_ci_lower"].to_numpy(),
                "mean_ci_high": frame["mean_ci_upper"].to_numpy(),
                "pi_low": frame["obs_ci_lower"].to_numpy(),
                "pi_high": frame["obs_ci_upper"].to_numpy(),
            }
        )

    def band_crossing(self, target: float) -> tuple[float, float]:
        """The log10 counts ``[lo, hi]`` where the prediction band contains ``target`` (``±inf`` when unbounded).

        Solves ``(a + b x - T)^2 <= t^2 s^2 (1 + 1/n + (x - x̄)^2 / Sxx)``, a quadratic in ``x`` whose leading
        coefficient ``b^2 - t^2 se_b^2`` is positive exactly when the slope's interval excludes 0.
        """
        x = self._result.model.exog[:, 1]
        xbar, sxx = float(x.mean()), float(((x - x.mean()) ** 2).sum())
        s2, t2 = self.resid_sd**2, self.t**2
        d = self.intercept - target
        qa = self.slope**2 - t2 * s2 / sxx
        qb = 2 * self.slope * d + 2 * t2 * s2 * xbar / sxx
        qc = d * d - t2 * s2 * (1 + 1 / self.n + xbar * xbar / sxx)
        if qa <= 0:
            return (-math.inf, math.inf)
        disc = max(qb * qb - 4 * qa * qc, 0.0)
        r1, r2 = (-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)
        return (min(r1, r2), max(r1, r2))

    def count_for(self, target: float) -> CountPlan:
        """The count where the law predicts ``target`` (a fraction in [0, 1]), its interval and whether it is reachable."""
        if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0.0 <= float(target) <= 1.0:
            raise AnalysisError(f"target {target!r} is not a fraction in [0, 1]; pass e.g. 0.6 for 60%")
        target = float(target)
        lo_s, hi_s = self.slope_ci
        x_star = (target - self.intercept) / self.slope if self.slope != 0 else math.inf
        lo_x, hi_x = self.band_crossing(target)
        low, high = _pow10(lo_x), _pow10(hi_x)
        count = _pow10(x_star)
        reason = ""
        if lo_s <= 0 <= hi_s:
            reason = (
                f"the slope's {1 - self.alpha:.0%} interval [{lo_s:.3g}, {hi_s:.3g}] spans 0: on these data frequency "
                "does not predict performance, so no count can be planned"
            )
        elif self.slope < 0:
            reason = f"performance falls with frequency on these data (slope {self.slope:.3g} per decade)"
        elif x_star > self.x_max:
            reason = (
                f"needs about {count:.3g} examples, beyond the largest count the law was fitted on "
                f"({_pow10(self.x_max):.3g}): unreachable within the data we have"
            )
        return CountPlan(target=target, count=count, low=low, high=high, reachable=not reason, reason=reason)

    def to_dict(self) -> dict[str, float | int | list[float]]:
        """The law's numbers (JSON-ready)."""
        return {
            "slope": self.slope,
            "intercept": self.intercept,
            "slope_ci": [self.slope_ci[0], self.slope_ci[1]],
            "n": self.n,
            "alpha": self.alpha,
            "resid_sd": self.resid_sd,
            "log10_count_range": [self.x_min, self.x_max],
        }


def _pow10(x: float) -> float:
    if x == math.inf:
        return math.inf
    if x == -math.inf:
        return 0.0
    return float(10.0**x) if x < 308 else math.inf


def fit_law(log10_counts: ArrayLike, performance: ArrayLike, *, alpha: float = 0.05) -> Law:
    """Fit the per-concept law on ``log10_counts`` (see :func:`wag.analysis.per_concept.log10_counts`) and performance.

    Rows with a NaN on either side are dropped. Needs at least 3 concepts and more than one distinct count;
    ``alpha`` in (0, 1) sets every interval's level (``1 - alpha``).
    """
    if not (0.0 < float(alpha) < 1.0):
        raise AnalysisError(f"alpha {alpha!r} is not in (0, 1); pass e.g. 0.05 for 95% intervals")
    x = np.asarray(log10_counts, dtype=float).ravel()
    y = np.asarray(performance, dtype=float).ravel()
    if x.shape != y.shape:
        raise AnalysisError(
            f"log10 counts and performance differ in length ({len(x)} vs {len(y)}); pass one per concept"
        )
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0:
        raise AnalysisError(
            f"a law needs at least 3 concepts with different counts (got {len(x)}); fit on more concepts"
        )
    res = OLS(y, add_constant(x, has_constant="add")).fit()
    lo, hi = (float(v) for v in res.conf_int(alpha=alpha)[1])
    return Law(
        slope=float(res.params[1]),
        intercept=float(res.params[0]),
        slope_ci=(lo, hi),
        n=int(len(x)),
        alpha=float(alpha),
        x_min=float(x.min()),
        x_max=float(x.max()),
        resid_sd=float(np.sqrt(res.scale)),
        _result=res,
    )


def fit_law_counts(counts: ArrayLike, performance: ArrayLike, *, alpha: float = 0.05) -> Law:
    """:func:`fit_law` on raw counts (transformed by :func:`wag.analysis.per_concept.log10_counts`)."""
    return fit_law(log10_counts(counts), performance, alpha=alpha)
