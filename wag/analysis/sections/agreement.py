"""The paper's LAION-400M counts against the independent NeglectedTails estimates (beyond the paper).

Both sources list each dataset's classes in the dataset's own class order (the paper's count files in
file order, NeglectedTails by class index), but spell them differently ("boxer" / "boxer dog",
"Black_footed_Albatross" / "Black-footed Albatross"). Classes are therefore paired by class position
and every pair is checked by name (exact key, loose key, or one of NeglectedTails' synonyms); pairs
whose names do not agree are kept and flagged, never dropped.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from wag.analysis.errors import AnalysisError
from wag.artifacts.names import normalize_name

_STOP = {"and", "or", "the", "a", "an", "of"}


def loose_key(name: str) -> str:
    """Order-, plural- and filler-insensitive form: no parentheses, no and/or/of, tokens sorted."""
    text = re.sub(r"\(.*?\)", " ", normalize_name(name)).replace("/", " ")
    toks = [t[:-1] if t.endswith("s") and len(t) > 3 else t for t in text.split() if t not in _STOP]
    return " ".join(sorted(toks))


def _name_match(paper: str, nt_name: str, synonyms: list[str]) -> str:
    if normalize_name(paper) == normalize_name(nt_name):
        return "exact"
    lp = loose_key(paper)
    if lp == loose_key(nt_name):
        return "loose"
    if any(normalize_name(paper) == normalize_name(s) or lp == loose_key(s) for s in synonyms):
        return "synonym"
    return "none"


def match_neglected_tails(
    counts: pd.DataFrame, nt: pd.DataFrame, synonyms: dict[tuple[str, int], list[str]] | None = None
) -> pd.DataFrame:
    """Pair the paper's counts (one pretraining set and count variant) with NeglectedTails classes.

    ``counts``: rows of :func:`wag.artifacts.read_search_counts` for one ``source_variant`` per dataset,
    in file order. ``nt``: :func:`wag.artifacts.read_neglected_tails`. ``synonyms``: optional
    ``{(dataset, class_index): [names]}`` added to NeglectedTails' own ``synonyms`` for the name check. Returns one row per class: dataset,
    class_index, paper_concept, nt_concept, paper_count, nt_actual_freq, nt_relevant_total, name_match
    (exact | loose | synonym | none). A dataset whose class numbers differ raises ``ValueError``.
    """
    rows = []
    for ds, g_nt in nt.groupby("dataset", sort=True):
        g_p = counts[counts["dataset"] == ds]
        if g_p.empty:
            continue
        if g_p["source_variant"].nunique() != 1 or g_p["pretraining"].nunique() != 1:
            raise AnalysisError(f"{ds}: pass counts of exactly one pretraining set and one count variant")
        if len(g_p) != len(g_nt):
            raise AnalysisError(
                f"{ds}: {len(g_p)} classes in the paper's counts but {len(g_nt)} in NeglectedTails; cannot pair by class index; pass the counts of the dataset version NeglectedTails used"
            )
        g_nt = g_nt.sort_values("class_index", kind="stable")
        for pos, (p, n) in enumerate(zip(g_p.itertuples(index=False), g_nt.itertuples(index=False))):
            syn = [*(synonyms or {}).get((ds, int(n.class_index)), []), *(getattr(n, "synonyms", None) or [])]
            if n.most_common_name:
                syn = [*syn, n.most_common_name]
            rows.append(
                {
                    "dataset": ds,
                    "class_index": pos,
                    "paper_concept": p.concept,
                    "nt_concept": n.concept,
                    "paper_count": int(p.count),
                    "nt_actual_freq": int(n.actual_freq),
                    "nt_relevant_total": n.relevant_total,
                    "name_match": _name_match(p.concept, n.concept, syn),
                }
            )
    return pd.DataFrame(rows)


def agreement_summary(matched: pd.DataFrame, *, nt_col: str = "nt_actual_freq") -> pd.DataFrame:
    """Per dataset: n_classes, Spearman ρ and p between paper counts and ``nt_col``, zero counts on each side,
    pairs whose names differ (same class position, other spelling or synonym not listed), and the median log10 ratio (paper+1)/(NeglectedTails+1)."""
    rows = []
    for ds, g in matched.groupby("dataset", sort=True):
        a = g["paper_count"].to_numpy(float)
        b = pd.to_numeric(g[nt_col], errors="coerce").to_numpy(float)
        ok = ~np.isnan(b)
        if ok.sum() >= 3 and np.ptp(a[ok]) > 0 and np.ptp(b[ok]) > 0:
            res = stats.spearmanr(a[ok], b[ok])
            rho, p = float(res.statistic), float(res.pvalue)
        else:
            rho, p = float("nan"), float("nan")
        rows.append(
            {
                "dataset": ds,
                "nt_measure": nt_col,
                "n_classes": int(ok.sum()),
                "spearman": rho,
                "p": p,
                "paper_zeros": int((a[ok] == 0).sum()),
                "nt_zeros": int((b[ok] == 0).sum()),
                "both_zero": int(((a[ok] == 0) & (b[ok] == 0)).sum()),
                "names_differ": int((g["name_match"] == "none").sum()),
                "median_log10_ratio": float(np.median(np.log10((a[ok] + 1) / (b[ok] + 1))))
                if ok.any()
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def largest_disagreements(matched: pd.DataFrame, *, n: int = 5, nt_col: str = "nt_actual_freq") -> pd.DataFrame:
    """Per dataset the ``n`` classes with the largest |log10((paper+1)/(NeglectedTails+1))|, with both names."""
    df = matched.copy()
    df["log10_ratio"] = np.log10((df["paper_count"] + 1) / (pd.to_numeric(df[nt_col], errors="coerce") + 1))
    df["abs"] = df["log10_ratio"].abs()
    keys = ["dataset", "abs", *(c for c in ("class_index",) if c in df)]  # class position breaks ties
    top = df.sort_values(keys, ascending=[True, False, True][: len(keys)], kind="stable").groupby("dataset").head(n)
    return top.drop(columns="abs").reset_index(drop=True)


def agreement_chart(matched: pd.DataFrame, summary: pd.DataFrame | None = None):
    """Log-log scatter per dataset: the paper's count + 1 against the NeglectedTails count + 1, with both names on hover."""
    import altair as alt

    df = matched.assign(paper_count_p1=matched["paper_count"] + 1, nt_actual_freq_p1=matched["nt_actual_freq"] + 1)
    if summary is not None:
        lab = {r.dataset: f"{r.dataset} (ρ = {r.spearman:.2f}, n = {r.n_classes})" for r in summary.itertuples()}
        df["panel"] = df["dataset"].map(lab)
    else:
        df["panel"] = df["dataset"]
    log = alt.Scale(type="log")
    return (
        alt.Chart(df)
        .mark_point(filled=True, size=18, opacity=0.6)
        .encode(
            x=alt.X("nt_actual_freq_p1:Q", scale=log, title="NeglectedTails count + 1"),
            y=alt.Y("paper_count_p1:Q", scale=log, title="Paper text count + 1"),
            color=alt.Color("name_match:N", title="Names"),
            tooltip=[
                "dataset",
                "paper_concept",
                "nt_concept",
                "paper_count",
                "nt_actual_freq",
                "nt_relevant_total",
                "name_match",
            ],
        )
        .properties(width=200, height=170)
        .facet(facet=alt.Facet("panel:N", title=None), columns=3)
    )


def agreement_by_variant(counts: pd.DataFrame, nt: pd.DataFrame, *, nt_col: str = "nt_actual_freq") -> pd.DataFrame:
    """Spearman ρ with NeglectedTails for every count variant of one pretraining set (text lemmatized /
    lowercased, image, integrated): which of the paper's counts agrees best with an independent estimate.
    Variants whose files do not cover a dataset's classes (e.g. truncated files) are skipped for that dataset."""
    rows = []
    for variant, g in counts[counts["dataset"].isin(set(nt["dataset"]))].groupby("variant", sort=True):
        for ds, gd in g.groupby("dataset", sort=True):
            sub_nt = nt[nt["dataset"] == ds]
            if len(gd) != len(sub_nt):
                continue
            s = agreement_summary(match_neglected_tails(gd, sub_nt), nt_col=nt_col).iloc[0]
            rows.append(
                {
                    "variant": variant,
                    "method": gd["method"].iloc[0],
                    "dataset": ds,
                    "spearman": s.spearman,
                    "paper_zeros": s.paper_zeros,
                    "n_classes": s.n_classes,
                }
            )
    return pd.DataFrame(rows)
