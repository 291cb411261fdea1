"""§5 of the paper from its released files: long tail (Fig. 5), misalignment (Tab. 3), and Spearman
correlations of concept frequencies between pretraining sets (Tab. 4)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from wag.analysis.correlation import spearman_matrix
from wag.analysis.errors import AnalysisError

#: The 17 classification sets of Fig. 5 (the paper's notebook comments ImageNet-Sketch out).
CLASSIFICATION_17 = [
    "imagenet",
    "cifar10",
    "cifar100",
    "caltech101",
    "caltech256",
    "sun397",
    "birdsnap",
    "country211",
    "cub",
    "dtd",
    "eurosat",
    "fgvcaircraft",
    "flowers102",
    "food101",
    "oxfordpets",
    "stanfordcars",
    "ucf101",
]
#: The count variant behind each count type in §5 (RAM++ threshold 0.7).
COUNT_VARIANTS = {"text": "lemmatized", "image": "rampp@0.7", "integrated": "integrated@0.7"}
TAB4_SETS = ["cc3m", "cc12m", "yfcc15m", "laion400m"]
PAPER_MIXED = "mixed_as_paper"
#: How each Tab. 4 join is labelled in tables and figures: the name join is our correction of the paper's recipe.
TAB4_VARIANT_LABELS = {
    "name": "ours (corrected): joined on concept name",
    "paper_position": "paper recipe: aligned by position",
}

#: Spearman ρ printed in the paper's notebook (correlations_between_pretraining_frequencies.ipynb at the pinned
#: commit; CC-3M integrated vs the others' image counts, position-aligned). Its cells ran out of order, so some
#: values come from an earlier kernel state; kept only to compare against, never used as a result.
PAPER_NOTEBOOK_TAB4 = pd.DataFrame(
    [
        ("cc3m", "cc12m", 0.7924258926755035),
        ("cc12m", "yfcc15m", 0.9637908005672169),
        ("cc3m", "laion400m", 0.6282374756265174),
        ("cc12m", "laion400m", 0.7353264196231468),
        ("yfcc15m", "laion400m", 0.7644588019322125),
    ],
    columns=["pretraining_a", "pretraining_b", "spearman_paper_notebook"],
)


def select_count_types(freq: pd.DataFrame, variants: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of ``freq`` whose variant is the §5 variant of their method (default: the paper's lemmatized,
    rampp@0.7, integrated@0.7; a study passes its own, ``wag.sources.Source.count_variants``)."""
    return freq[freq["variant"] == freq["method"].map(variants or COUNT_VARIANTS)]


def long_tail(
    freq: pd.DataFrame,
    *,
    datasets: list[str] | None = None,
    pretrainings: list[str] | None = None,
    variants: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Fig. 5: per pretraining set and count type, counts of all classification concepts (one per dataset and
    class, as in the paper) divided by the max, zeros removed, sorted descending.

    Returns pretraining, count_type, rank (1 = most frequent), normalized_count, count, concept, dataset.
    A (pretraining, count type) lacking any of the datasets is left out rather than drawn from fewer concepts.
    """
    ds = datasets or CLASSIFICATION_17
    df = select_count_types(
        freq[freq["dataset"].isin(ds) & freq["pretraining"].isin(pretrainings or TAB4_SETS)], variants
    )
    parts = []
    for (pt, method), g in df.groupby(["pretraining", "method"], sort=True):
        if set(g["dataset"]) != set(ds):
            continue
        mx = g["count"].max()
        g = g[g["count"] > 0].sort_values("count", ascending=False, kind="stable")
        parts.append(
            pd.DataFrame(
                {
                    "pretraining": pt,
                    "count_type": method,
                    "rank": range(1, len(g) + 1),
                    "normalized_count": g["count"].to_numpy() / mx,
                    "count": g["count"].to_numpy(),
                    "concept": g["concept"].to_numpy(),
                    "dataset": g["dataset"].to_numpy(),
                }
            )
        )
    if not parts:
        raise AnalysisError(
            f"no pretraining set has counts for all of {', '.join(ds)}; choose datasets one pretraining set counts"
        )
    return pd.concat(parts, ignore_index=True)


def thin_ranks(points: pd.DataFrame, n: int = 400) -> pd.DataFrame:
    """Keep about ``n`` log-spaced ranks per curve (always the first and last), so the plotted curves stay
    exact at the head, where they change fastest, and rendering stays quick."""
    import numpy as np

    parts = []
    for _, g in points.groupby(["pretraining", "count_type"], sort=False):
        keep = np.unique(np.r_[np.geomspace(1, len(g), n).round().astype(int), len(g)])
        parts.append(g[g["rank"].isin(keep)])
    return pd.concat(parts, ignore_index=True)


def long_tail_chart(points: pd.DataFrame, *, log_y: bool = False) -> alt.Chart:
    """Fig. 5 as lines: x = concept rank, y = normalised frequency; one panel per count type."""
    y_scale = alt.Scale(type="log") if log_y else alt.Scale()
    return (
        alt.Chart(points)
        .mark_line()
        .encode(
            x=alt.X("rank:Q", title="Concept rank (descending frequency)"),
            y=alt.Y("normalized_count:Q", title="Normalised frequency", scale=y_scale),
            color=alt.Color("pretraining:N", title="Pretraining set"),
            tooltip=["pretraining", "count_type", "rank", "concept", "dataset", "count"],
        )
        .properties(width=240, height=190)
        .facet(column=alt.Column("count_type:N", title=None, sort=["text", "image", "integrated"]))
    )


def table3(misalignment: pd.DataFrame) -> pd.DataFrame:
    """Tab. 3 in percent: misaligned pairs over the paper's fixed dataset size, and over the extracted size."""
    order = {pt: i for i, pt in enumerate(["cc3m", "cc12m", "yfcc15m", "laion_aesthetics", "laion400m"])}
    t = misalignment.sort_values("pretraining", key=lambda s: s.map(order).fillna(99), kind="stable")
    return pd.DataFrame(
        {
            "pretraining": t["pretraining"].to_numpy(),
            "misaligned_pairs": t["misaligned_pairs"].to_numpy(),
            "misalignment_degree_percent": (100 * t["degree_fixed"]).to_numpy(),
            "degree_percent_extracted_size": (100 * t["degree_extracted"]).to_numpy(),
        }
    )


def paper_mixed_counts(freq: pd.DataFrame) -> pd.DataFrame:
    """The count vectors of the paper's Tab. 4 notebook: CC-3M integrated@0.7 counts, the other sets RAM++@0.7
    image counts, de-duplicated by the raw concept name (no ``key``), labelled ``count_type = mixed_as_paper``."""
    cc3m = freq[(freq["pretraining"] == "cc3m") & (freq["variant"] == "integrated@0.7")]
    rest = freq[freq["pretraining"].isin(["cc12m", "yfcc15m", "laion400m"]) & (freq["variant"] == "rampp@0.7")]
    out = pd.concat([cc3m, rest], ignore_index=True).drop(columns=["key"], errors="ignore")
    return out.assign(method=PAPER_MIXED, variant=PAPER_MIXED)


def table4(freq: pd.DataFrame, *, pretrainings: list[str] | None = None) -> pd.DataFrame:
    """Tab. 4 long form: name-joined Spearman ρ for text, image and integrated counts (correct), each count type
    aligned by position as the paper's notebook did, and the paper's own mixed-type position variant."""
    sets = pretrainings or TAB4_SETS
    sel = select_count_types(freq[freq["pretraining"].isin(sets)])
    parts = []
    for join in ("name", "paper_position"):
        for ct in COUNT_VARIANTS:
            parts.append(spearman_matrix(sel, count_type=ct, join=join, pretrainings=sets))
    mixed = paper_mixed_counts(freq[freq["pretraining"].isin(sets)])
    parts.append(
        spearman_matrix(
            mixed,
            count_type=PAPER_MIXED,
            join="paper_position",
            pretrainings=[s for s in sets if s in set(mixed["pretraining"])],
        )
    )
    out = pd.concat(parts, ignore_index=True)
    return out.assign(variant=out["join"].map(TAB4_VARIANT_LABELS))


def spearman_heatmap(table: pd.DataFrame) -> alt.Chart:
    """Tab. 4 as heatmaps: one panel per (join, count type)."""
    label = (
        table["join"]
        .map({"name": "ours (corrected), name join", "paper_position": "paper recipe, by position"})
        .fillna(table["join"])
    )
    t = table.assign(panel=label + " · " + table["count_type"], rho=table["spearman"].round(3))
    order = [
        s
        for s in [*TAB4_SETS, *sorted(set(t.pretraining_a) | set(t.pretraining_b))]
        if s in set(t.pretraining_a) | set(t.pretraining_b)
    ]
    order = list(dict.fromkeys(order))
    base = alt.Chart(t).encode(
        x=alt.X("pretraining_a:N", title=None, sort=order),
        y=alt.Y("pretraining_b:N", title=None, sort=order),
        tooltip=["count_type", "join", "pretraining_a", "pretraining_b", "spearman", "n_concepts"],
    )
    heat = base.mark_rect().encode(
        color=alt.Color("spearman:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="Spearman ρ")
    )
    text = base.mark_text(fontSize=10).encode(text=alt.Text("rho:Q", format=".2f"))
    return (heat + text).properties(width=150, height=120).facet(facet=alt.Facet("panel:N", title=None), columns=4)


def misalignment_details(misalignment: pd.DataFrame) -> pd.DataFrame:
    """App. G / Tab. 3 details: both denominators of the misalignment degree, in percent, side by side."""
    t = table3(misalignment).merge(misalignment[["pretraining", "fixed_size", "extracted_size"]], on="pretraining")
    t["extracted_over_fixed_size"] = t["extracted_size"] / t["fixed_size"]
    return t[
        [
            "pretraining",
            "misaligned_pairs",
            "fixed_size",
            "extracted_size",
            "extracted_over_fixed_size",
            "misalignment_degree_percent",
            "degree_percent_extracted_size",
        ]
    ]


def misalignment_chart(details: pd.DataFrame) -> alt.Chart:
    """Grouped bars: misalignment degree (%) per pretraining set under each denominator."""
    long = details.melt(
        id_vars=["pretraining", "misaligned_pairs"],
        value_vars=["misalignment_degree_percent", "degree_percent_extracted_size"],
        var_name="denominator",
        value_name="degree_percent",
    )
    long["denominator"] = long["denominator"].map(
        {
            "misalignment_degree_percent": "fixed dataset size (paper)",
            "degree_percent_extracted_size": "extracted size (max tagged / captioned)",
        }
    )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("pretraining:N", title=None, sort=list(details["pretraining"])),
            xOffset="denominator:N",
            y=alt.Y("degree_percent:Q", title="Misaligned image-text pairs (%)"),
            color=alt.Color("denominator:N", title="Denominator"),
            tooltip=["pretraining", "denominator", alt.Tooltip("degree_percent:Q", format=".2f"), "misaligned_pairs"],
        )
        .properties(width=380, height=240)
    )
