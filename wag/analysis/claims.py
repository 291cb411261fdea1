"""Titles and claims computed from the numbers they sit on: no sentence states a result its fit does not support.

The law of the paper ("performance grows log-linearly with concept frequency") *holds* in a panel only when the
per-concept regression's slope is positive and its confidence interval excludes zero (``slope_lo > 0``). Otherwise
the text says it does not hold here and why it may not: the interval spans zero, the slope is negative, too few
concepts, counts that cannot be trusted (a source's ``count_caveats(count_type)``). The binned ρ is never the
evidence: on a handful of bins it is close to ±1 by construction.

Inputs are the fits contract (``wag.analysis.figures.CONTRACT``: one ``per_concept`` and one ``binned`` row per
panel), the Tab. 6 bins table, the misalignment table and the Let It Wag! points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

#: Fewer concepts than this in a panel: the per-concept fit is too weak to say the law does not hold.
MIN_CONCEPTS = 20
#: The columns naming a panel of a fits table (those present are used).
PANEL_KEYS = ("task", "pretraining", "model", "count_type", "prompt_or_metric", "width", "seed")
#: At most this many values of a column are named in a title; more are counted ("10 models").
MAX_NAMED = 3

Caveats = Callable[[str], Sequence[str]] | Mapping[str, Sequence[str]] | None


@dataclass(frozen=True)
class PanelVerdict:
    """Whether the law holds in one panel, the fit that says so, and why it may not hold."""

    panel: str
    holds: bool
    slope: float
    slope_lo: float
    slope_hi: float
    n: int
    reasons: list[str] = field(default_factory=list)

    def fit_text(self) -> str:
        """``slope +0.099/decade [+0.094, +0.104], 1,000 concepts``."""
        ci = f" [{_num(self.slope_lo)}, {_num(self.slope_hi)}]" if self.slope_lo == self.slope_lo else " [no CI]"
        return f"per-concept slope {_num(self.slope)}/decade{ci}, {self.n:,} concepts"


def _num(x: float) -> str:
    """A slope for text: three significant digits, and no ``-2.06e-15`` for what is zero at that precision."""
    return f"{x:+.3g}" if abs(x) >= 5e-4 else f"{0.0:+.3f}"


def _caveats_of(caveats: Caveats, count_type: str) -> list[str]:
    if caveats is None or not count_type:
        return []
    got = caveats(count_type) if callable(caveats) else caveats.get(count_type, ())
    return [str(c) for c in got or ()]


def panel_name(row: Mapping[str, object], keys: Iterable[str] = PANEL_KEYS) -> str:
    """``classification · cc3m · RN50 · integrated@0.7 · class`` from the panel columns of one fit row."""
    return " · ".join(str(row[k]) for k in keys if k in row and row[k] == row[k] and str(row[k]) != "")


def verdicts(fits: pd.DataFrame, *, caveats: Caveats = None, min_concepts: int = MIN_CONCEPTS) -> list[PanelVerdict]:
    """One :class:`PanelVerdict` per ``per_concept`` row of ``fits`` (rows of other methods are ignored)."""
    pc = fits[fits["method"] == "per_concept"] if "method" in fits else fits
    varying = [k for k in PANEL_KEYS if k in pc and pc[k].nunique(dropna=False) > 1]  # what tells the panels apart
    out = []
    for row in pc.to_dict("records"):
        slope, lo, hi = (float(row.get(k, float("nan"))) for k in ("slope", "slope_lo", "slope_hi"))
        n = int(row.get("n", 0) or 0)
        holds = slope == slope and slope > 0 and lo == lo and lo > 0
        reasons = []
        if not holds:
            if slope != slope:
                reasons.append("no per-concept fit")
            elif slope <= 0:
                reasons.append("the slope is negative" if slope < 0 else "the slope is zero")
            if slope == slope and lo == lo and lo <= 0 <= hi:
                reasons.append("its CI spans zero")
            elif slope == slope and lo != lo:
                reasons.append("no CI")
        if n < min_concepts:
            reasons.append(f"too few concepts ({n} < {min_concepts})")
        reasons += [f"counts may not be trusted: {c}" for c in _caveats_of(caveats, str(row.get("count_type", "")))]
        out.append(PanelVerdict(panel_name(row, varying) or "the panel", holds, slope, lo, hi, n, reasons))
    return out


def law_holds(fits: pd.DataFrame, *, min_concepts: int = MIN_CONCEPTS) -> bool:
    """Whether the law holds in every panel of ``fits`` (and there is at least one)."""
    v = verdicts(fits, min_concepts=min_concepts)
    return bool(v) and all(p.holds for p in v)


def _failures(failing: list[PanelVerdict], limit: int = 3) -> str:
    parts = [f"{p.panel}: {p.fit_text()}; {', '.join(p.reasons)}" for p in failing[:limit]]
    more = f"; and {len(failing) - limit} more" if len(failing) > limit else ""
    return "; ".join(parts) + more


def law_claim(
    fits: pd.DataFrame,
    subject: str,
    *,
    trend: str = "grows log-linearly with concept frequency",
    caveats: Caveats = None,
    min_concepts: int = MIN_CONCEPTS,
) -> str:
    """The claim of a figure of the law: ``subject`` + ``trend`` when every panel's per-concept slope is positive with
    its CI above zero; otherwise in how many panels it holds and, for those where it does not, the fit and why it may
    not (CI spans zero, negative slope, too few concepts, untrusted counts)."""
    v = verdicts(fits, caveats=caveats, min_concepts=min_concepts)
    if not v:
        return f"{subject}: no per-concept fit to test whether it {trend}"
    held = [p for p in v if p.holds]
    failing = [p for p in v if not p.holds]
    slopes = sorted(p.slope for p in held)
    span = (
        "" if not slopes else _num(slopes[0]) if slopes[0] == slopes[-1] else f"{_num(slopes[0])} to {_num(slopes[-1])}"
    )
    if not failing:
        panels = "the panel" if len(v) == 1 else f"all {len(v)} panels"
        text = f"{subject} {trend}: per-concept slope {span}/decade, CI above zero in {panels}"
        notes = sorted({r for p in v for r in p.reasons})
        return text + (f" (caveats: {'; '.join(notes)})" if notes else "")
    if not held:
        where = "here" if len(v) == 1 else f"in any of the {len(v)} panels here"
        return f"{subject} does not grow log-linearly with concept frequency {where} ({_failures(failing)})"
    return (
        f"{subject} {trend} in {len(held)} of {len(v)} panels (per-concept slope {span}/decade, CI above zero); "
        f"not in the others ({_failures(failing)})"
    )


def _named(values: Iterable[object], noun: str, plural: str | None = None) -> str:
    vals = [str(x) for x in dict.fromkeys(values) if x == x and str(x) != ""]
    if not vals:
        return ""
    if len(vals) > MAX_NAMED:
        return f"{len(vals)} {plural or noun + 's'}"
    return ", ".join(vals)


def inputs_label(fits: pd.DataFrame, *, datasets: Iterable[str] | None = None, corpus_noun: str = "corpus") -> str:
    """What a figure was made from: corpus (pretraining), dataset(s), model(s) and count type(s), named (or counted)."""
    parts = []
    for col, noun, plural in (
        ("pretraining", corpus_noun, "corpora" if corpus_noun == "corpus" else None),
        (None, "dataset", None),
        ("model", "model", None),
        ("count_type", "count type", None),
    ):
        if col is None:
            named = _named(datasets or [], noun, plural)
        else:
            named = _named(fits[col], noun, plural) if col in fits else ""
        if named:
            parts.append(named if named[0].isdigit() else f"{noun} {named}")
    return "; ".join(parts)


def law_title(
    prefix: str,
    fits: pd.DataFrame,
    *,
    datasets: Iterable[str] | None = None,
    subject: str = "performance",
    min_concepts: int = MIN_CONCEPTS,
) -> str:
    """A figure title that states the law only where its per-concept fits support it, and names what it was made
    from: ``Fig. 2: performance is log-linear in concept frequency (corpus cc3m; 17 datasets; model RN50; ...)``."""
    v = verdicts(fits, min_concepts=min_concepts)
    held = sum(p.holds for p in v)
    if v and held == len(v):
        verdict = f"{subject} is log-linear in concept frequency"
    elif held:
        verdict = f"{subject} log-linear in concept frequency in {held} of {len(v)} panels"
    elif v:
        verdict = f"{subject} vs concept frequency: no log-linear law here (per-concept CI not above zero)"
    else:
        verdict = f"{subject} vs concept frequency"
    made = inputs_label(fits, datasets=datasets)
    return f"{prefix}: {verdict}" + (f" ({made})" if made else "")


def rises_claim(table: pd.DataFrame, subject: str, *, value: str = "mean_accuracy", bin_col: str = "bin") -> str:
    """Tab. 6: whether ``value`` rises from each frequency bin to the next, per row (every column but the bin and the
    values), computed from the table: "rises with each tenfold increase ... in k of n rows"."""
    keys = [c for c in table.columns if c not in (bin_col, value, "n_concepts")]
    rows = 0
    rising = 0
    for _, g in table.groupby(keys, sort=False) if keys else [((), table)]:
        vals = g[value].dropna().to_numpy()
        if len(vals) < 2:
            continue
        rows += 1
        rising += bool((vals[1:] > vals[:-1]).all())
    if rows == 0:
        return f"{subject}: too few filled frequency bins to tell whether it rises with frequency"
    if rising == rows:
        return f"{subject} rises with each tenfold increase in concept frequency ({'the row' if rows == 1 else f'all {rows} rows'})"
    if rising == 0:
        return f"{subject} does not rise with each tenfold increase in concept frequency in any of the {rows} rows"
    return f"{subject} rises with each tenfold increase in concept frequency in {rising} of {rows} rows only"


def misalignment_claim(table: pd.DataFrame, *, value: str = "misalignment_degree_percent") -> str:
    """Tab. 3: the range of the misalignment degree, computed from the table (no "large fraction" unless it is)."""
    vals = table[["pretraining", value]].dropna()
    if vals.empty:
        return "No misalignment degree could be computed"
    lo = vals.loc[vals[value].idxmin()]
    hi = vals.loc[vals[value].idxmax()]
    share = (
        f"{lo[value]:.2f}% ({lo['pretraining']})"
        if len(vals) == 1
        else f"{lo[value]:.2f}% ({lo['pretraining']}) to {hi[value]:.2f}% ({hi['pretraining']})"
    )
    size = "a large fraction: " if vals[value].min() >= 10 else ""
    return f"Image-text pairs whose image tags and caption share no concept: {size}{share} of the pairs"


def trails_claim(points: pd.DataFrame, reference: str, *, gap: str = "gap", model: str = "model") -> str:
    """§6: on how many models Let It Wag! accuracy trails the reference accuracy, computed from the per-model gap."""
    g = points[gap].dropna()
    n, below = len(g), int((g > 0).sum())
    if n == 0:
        return f"No model has both a {reference} and a Let It Wag! accuracy"
    if below == n:
        who = "the model" if n == 1 else f"all {n} models"
        return f"Let It Wag! accuracy trails {reference} accuracy for {who} (gap {g.min():.1f} to {g.max():.1f} points)"
    if below == 0:
        return f"Let It Wag! accuracy does not trail {reference} accuracy for any of the {n} models here"
    return f"Let It Wag! accuracy trails {reference} accuracy for {below} of {n} models only"
