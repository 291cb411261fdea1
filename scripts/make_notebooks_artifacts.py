"""Write the notebooks built on the released files' §5/§6 results: 5_insights, G_misalignment, 6_let_it_wag,
agreement (nbformat v4, kernel "wag", no outputs).

    python scripts/make_notebooks_artifacts.py            # write only the notebooks that do not exist yet
    python scripts/make_notebooks_artifacts.py NAME ...   # (re)write these, overwriting

Other people append sections to some of these notebooks (G_misalignment: our own counts), so an existing
notebook is never overwritten unless named explicitly."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from wag.notebook import RELEASED_FILES_TAG

ROOT = Path(__file__).resolve().parents[1]


def _nb(section: str, claim_md: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params = new_code_cell('profile = "ci"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell(claim_md),
        params,
        new_code_cell(f'from wag.notebook import setup\n\nP, report = setup(profile, "{section}", out_dir)'),
    ]
    for kind, src in cells:  # every content cell reads the released files
        nb.cells.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src, metadata={"tags": [RELEASED_FILES_TAG]}))
    return nb


NOTEBOOKS = {
    "5_insights": (
        """# §5 Additional insights: long tail, misalignment, correlated frequencies

**Claims tested.** (i) Concept frequencies in every pretraining set follow a long tail (paper **Fig. 5**);
(ii) a large share of image-text pairs are misaligned (paper **Tab. 3**); (iii) concept frequencies are
strongly correlated across pretraining sets (paper **Tab. 4**).

Inputs: the paper's released files (`search_counts/`, `misalignment_metrics/`). Tab. 4 is given twice:
joined on the concept name (correct), and aligned by position as the paper's notebook did, including the
notebook's own mix of count types (CC-3M integrated vs the other sets' image counts), labelled.""",
        [
            ("code", "import wag.artifacts as A\nfrom wag import insights\n\nroot = A.paper_root(P)\nfreq = A.read_search_counts(root)\nfreq.groupby([\"method\", \"variant\"]).size()"),
            ("md", "## Fig. 5 — long tail\nCounts of the 17 classification sets' classes (text = lemmatized, image = RAM++ ≥ 0.7, integrated = both), divided by the maximum, zeros removed, sorted."),
            ("code", 'points = insights.long_tail(freq)\nplotted = insights.thin_ranks(points, 400)  # log-spaced ranks: exact at the head, quick to render\nchart = insights.long_tail_chart(plotted)\nreport.figure(chart, "fig5", paper="Fig. 5", claim="Concept frequencies of the classification concepts are long-tailed in every pretraining set and count type", data=plotted)\nchart'),
            ("code", 'zero_share = (\n    insights.select_count_types(freq[freq.dataset.isin(insights.CLASSIFICATION_17) & freq.pretraining.isin(insights.TAB4_SETS)])\n    .assign(zero=lambda d: d["count"] == 0)\n    .groupby(["pretraining", "method"])["zero"].mean().unstack()\n)\nzero_share  # share of classification concepts with count 0 (removed from Fig. 5)'),
            ("md", "## Tab. 3 — misalignment degree\nMisaligned pairs divided by the paper's fixed dataset size; the files store fractions labelled \"percent\", shown here in percent. `G_misalignment` gives both denominators in detail."),
            ("code", 't3 = insights.table3(A.read_misalignment(root))\nreport.table(t3, "table3", paper="Tab. 3", claim="A large fraction of image-text pairs share no concept between image tags and caption")\nt3'),
            ("md", "## Tab. 4 — Spearman correlation of concept frequencies between pretraining sets\n`join = name`: counts aligned on the reconciled concept name (correct). `join = paper_position`: vectors aligned by position in the paper's file order, as its notebook did; `count_type = mixed_as_paper` also mixes CC-3M integrated counts with the other sets' image counts, exactly like that notebook."),
            ("code", 't4 = insights.table4(freq)\nreport.table(t4, "table4", paper="Tab. 4", claim="Concept frequencies are strongly correlated across pretraining sets (name-joined; the paper\'s position-aligned variant labelled)")\nheat = insights.spearman_heatmap(t4)\nreport.figure(heat, "table4_heatmap", paper="Tab. 4", claim="Spearman ρ between pretraining sets per count type and join", data=t4)\nheat'),
            ("code", 'mixed = t4[t4.count_type == insights.PAPER_MIXED]\ncomparison = mixed.merge(insights.PAPER_NOTEBOOK_TAB4, on=["pretraining_a", "pretraining_b"], how="left")\nreport.table(comparison, "table4_vs_paper_notebook", paper="Tab. 4", claim="Our rerun of the paper\'s position-aligned, mixed-type recipe next to the values printed in its notebook (which ran cells out of order)")\ncomparison'),
        ],
    ),
    "G_misalignment": (
        """# App. G — image-text misalignment (Tab. 3 details)

**Claim tested.** Many pretraining pairs are misaligned: the image's tags (RAM++ ≥ 0.7) and the caption's
concepts are both non-empty but disjoint (paper Alg. 1, **Tab. 3**).

The degree depends on the denominator. The paper divides the misaligned pairs by a fixed, conservative
dataset size (CC-3M 3,318,333; CC-12M 12,423,374; YFCC-15M 14,825,236; LAION-400M 414,080,000;
LAION-Aesthetics 161,100,000); the released files also give the degree over the *extracted* size
(max of #images with a tag and #captions with a concept, implied by pairs / degree). Both are shown.
The files label fractions as "percent"; values below are percent.""",
        [
            ("code", "import wag.artifacts as A\nfrom wag import insights\n\nroot = A.paper_root(P)\nmis = A.read_misalignment(root)\ndetails = insights.misalignment_details(mis)\ndetails"),
            ("code", 'report.table(details, "tableG_misalignment", paper="Tab. 3 (App. G)", claim="Misalignment degree under the paper\'s fixed dataset size and under the extracted size")\nchart = insights.misalignment_chart(details)\nreport.figure(chart, "figG_misalignment", paper="Tab. 3 (App. G)", claim="Misalignment degree per pretraining set under both denominators", data=details)\nchart'),
            ("md", "Does the conclusion depend on the denominator? Rank the pretraining sets (1 = most misaligned) under each and compare."),
            ("code", 'ranks = details.set_index("pretraining")[["misalignment_degree_percent", "degree_percent_extracted_size"]].rank(ascending=False).astype(int)\nsmaller = (details.extracted_size < details.fixed_size).sum()\nprint(f"extracted size < fixed size for {smaller} of {len(details)} sets (then the extracted-size degree is the larger one)")\nprint("same ranking under both denominators:", bool((ranks.iloc[:, 0] == ranks.iloc[:, 1]).all()))\nprint("most / least misaligned (fixed):", ranks.iloc[:, 0].idxmin(), "/", ranks.iloc[:, 0].idxmax(), "; (extracted):", ranks.iloc[:, 1].idxmin(), "/", ranks.iloc[:, 1].idxmax())\nranks'),
        ],
    ),
    "6_let_it_wag": (
        """# §6 Let It Wag! — long-tail concepts lag behind ImageNet (Fig. 6, Tab. 9)

**Claim tested.** On Let It Wag! (290 rare LAION-400M concepts) every one of 40 CLIP models is far below
its ImageNet accuracy, and the gap does not close with ImageNet accuracy (paper **Fig. 6**, **Tab. 9**).

x: ImageNet zero-shot accuracy (ensemble prompts; 20 models from `zero_shot_evaluations/imagenet_ensemble_results.json`
— its LAION-200M similarity-control model is not a Let It Wag! model — and 20 from `imagenet_accuracy_extra.csv`);
y: Let It Wag! accuracy (`let_it_wag_datasets/evaluations/`). Least-squares lines for ImageNet < 50 %, ≥ 50 % and all models.""",
        [
            ("code", "import wag.artifacts as A\nfrom wag import let_it_wag_results as liw\n\nroot = A.paper_root(P)\npoints = liw.fig6_points(root)\nfits = liw.fig6_fits(points)\nfits"),
            ("code", 'chart = liw.fig6_chart(points, fits)\nreport.figure(chart, "fig6", paper="Fig. 6", claim="Let It Wag! accuracy trails ImageNet accuracy for all 40 models; two least-squares segments split at 50% ImageNet accuracy", data=points, fits=fits[liw.FIG6_FITS_COLUMNS])\nchart'),
            ("code", 't9 = liw.table9(points)\nreport.table(t9, "table9", paper="Tab. 9", claim="ImageNet vs Let It Wag! accuracy (percent) of the 40 models and their gap")\nt9'),
            ("code", 'print(f"gap ImageNet − Let It Wag!: min {t9.gap.min():.1f}, median {t9.gap.median():.1f}, max {t9.gap.max():.1f} points; "\n      f"models with Let It Wag! ≥ ImageNet: {(t9.gap <= 0).sum()} of {len(t9)}")'),
        ],
    ),
    "agreement": (
        """# Beyond the paper: do two independent LAION-400M frequency estimates agree?

**Question.** The paper's LAION-400M text counts (spaCy lemmas in an inverted index) against the
NeglectedTails estimates (Parashar et al., CVPR 2024: captions matching any synonym, before and after an
LLM relevance filter), per dataset they share: Spearman ρ, zero counts on each side, and the classes they
disagree about most, with both names. Not a paper figure; it tests how much the paper's x-axis depends on
the counting method (PAPER_MAP §2 lists the text search's known defects).

Classes are paired by class index (both sources keep each dataset's class order) and every pair is checked
by name; pairs whose names differ are flagged, not dropped.""",
        [
            ("code", 'import wag.artifacts as A\nfrom wag.artifacts import agreement as ag\n\ncounts = A.read_search_counts(A.paper_root(P), pretraining="laion400m", variant="lemmatized")\nnt = A.read_neglected_tails(A.neglected_tails_root(P), corpus="laion400m")\nmatched = ag.match_neglected_tails(counts[counts.dataset.isin(set(nt.dataset))], nt)\nmatched.name_match.value_counts()'),
            ("code", 'summary = ag.agreement_summary(matched)\nsummary_relevant = ag.agreement_summary(matched, nt_col="nt_relevant_total")\ntable = summary.merge(summary_relevant[["dataset", "n_classes", "spearman", "nt_zeros"]], on="dataset", suffixes=("", "_relevant_total"))\nreport.table(table, "agreement_summary", paper="beyond the paper", claim="Spearman ρ and zero counts: paper LAION-400M text counts vs NeglectedTails estimates, per dataset")\ntable'),
            ("code", 'chart = ag.agreement_chart(matched, summary)\nreport.figure(chart, "agreement_scatter", paper="beyond the paper", claim="Per-class LAION-400M counts of the paper against NeglectedTails, log-log, per dataset", data=matched)\nchart'),
            ("code", 'worst = ag.largest_disagreements(matched, n=5)\nreport.table(worst, "agreement_disagreements", paper="beyond the paper", claim="The five classes per dataset whose two LAION-400M counts differ most (log10 ratio of count + 1)")\nworst'),
            ("md", "Which of the paper's LAION-400M count types agrees best with NeglectedTails? Spearman ρ per dataset for every released count variant (text lemmatized / lowercased, RAM++ image at each threshold, integrated)."),
            ("code", 'all_counts = A.read_search_counts(A.paper_root(P), pretraining="laion400m")\nby_variant = ag.agreement_by_variant(all_counts, nt)\nreport.table(by_variant, "agreement_by_variant", paper="beyond the paper", claim="Spearman ρ between each of the paper\'s LAION-400M count variants and NeglectedTails, per dataset")\nby_variant.pivot(index="dataset", columns="variant", values="spearman").round(2)'),
            ("code", 'differ = matched[matched.name_match == "none"][["dataset", "class_index", "paper_concept", "nt_concept", "paper_count", "nt_actual_freq"]]\nreport.table(differ, "agreement_name_differences", paper="beyond the paper", claim="Class pairs whose names differ between the two sources (same class index)")\ndiffer'),
        ],
    ),
}


def main(names: list[str]) -> None:
    if unknown := set(names) - set(NOTEBOOKS):
        raise SystemExit(f"unknown notebook(s) {', '.join(sorted(unknown))}; choose from {', '.join(NOTEBOOKS)}")
    for name in names or list(NOTEBOOKS):
        claim, cells = NOTEBOOKS[name]
        path = ROOT / "notebooks" / f"{name}.ipynb"
        if not names and path.exists():
            print(f"kept {path} (exists; name it to overwrite)")
            continue
        path.parent.mkdir(exist_ok=True)
        nbformat.write(_nb(name, claim, cells), str(path))
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
