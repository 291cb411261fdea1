"""Counts joined with performance, and fitted through :mod:`wag.analysis` (the paper's binned recipe, per-concept fits)."""

from __future__ import annotations

import pandas as pd

from wag.analysis.fits import binned_points, fit_table
from wag.synthetic.params import SyntheticParams

POOLED, POOLED_COMMON = -1, -2  # ``seed`` labels of pooled fits: all seeds / seeds trained at every width


def join(freq: pd.DataFrame, perf: pd.DataFrame) -> pd.DataFrame:
    """Performance rows with the count of the same concept for each count type (concept names are exact here)."""
    return perf.merge(freq[["concept", "method", "variant", "count", "true_count"]], on="concept", how="inner")


def fits_and_points(joined: pd.DataFrame, sp: SyntheticParams, by: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binned (paper recipe) and per-concept fits, and the binned points, per group."""
    ex = sp.experiments
    out_f, out_p = [], []
    for task, sub in joined.groupby("task"):
        kw = dict(task=str(task), keep=ex.keep, n_bins=ex.n_bins)
        out_f.append(fit_table(sub, by=by, n_boot=ex.n_boot, seed=0, **kw))
        out_p.append(binned_points(sub, by=by, **kw))
    return pd.concat(out_f, ignore_index=True), pd.concat(out_p, ignore_index=True)


def join_seeds(counts: pd.DataFrame, perf: pd.DataFrame) -> pd.DataFrame:
    """Join counts and performance per seed (concept names are unique within a seed's world)."""
    frames = []
    for seed, p in perf.groupby("seed"):
        f = counts[counts["seed"] == seed].drop(columns=["seed"])
        frames.append(join(f, p))
    return pd.concat(frames, ignore_index=True)
