"""Write the §3 / appendix analysis notebooks (nbformat v4, kernel "wag", no outputs).

Usage: python scripts/make_analysis_notebooks.py [NAME ...] [--force]   (default: all of them)
A notebook that has gained cells from another part (more cells than its template) is skipped unless --force.
The notebooks are thin: every computation lives in wag.analysis, wag.plots and wag.artifacts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat as nbf
from wag.notebook import RELEASED_FILES_TAG

ROOT = Path(__file__).resolve().parents[1]

KERNEL = {"name": "wag", "display_name": "Python (wag)", "language": "python"}

COMMON_IMPORTS = """\
import pandas as pd
from wag.artifacts import paper_root
from wag.analysis import figures, fits, inputs
from wag import plots

A = P.analysis
root = paper_root(P)
print(f"released files: {root}")
print(f"pretraining sets: {A.pretraining}; models: {A.models}; bootstrap resamples: {A.n_boot}")"""


RELEASED = {"tags": [RELEASED_FILES_TAG]}  # every analysis cell reads the released files


def nb(section: str, intro: str, cells: list[tuple[str, str]]) -> nbf.NotebookNode:
    book = nbf.v4.new_notebook()
    book.metadata["kernelspec"] = KERNEL
    book.metadata["language_info"] = {"name": "python"}
    params = nbf.v4.new_code_cell('profile = "ci"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    book.cells = [
        nbf.v4.new_markdown_cell(intro),
        params,
        nbf.v4.new_code_cell(f'from wag.notebook import setup\n\nP, report = setup(profile, "{section}", out_dir)'),
        nbf.v4.new_code_cell(COMMON_IMPORTS, metadata=RELEASED),
    ]
    for kind, src in cells:
        book.cells.append(nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src, metadata=RELEASED))
    for i, cell in enumerate(book.cells):  # stable ids: regenerating gives identical files
        cell.id = f"{section.replace('_', '-')[:40]}-{i:02d}"
    return book


NOTEBOOKS: dict[str, nbf.NotebookNode] = {}

NOTEBOOKS["3_frequency_vs_performance"] = nb(
    "3_frequency_vs_performance",
    """\
# §3 Pretraining concept frequency vs. zero-shot performance

**Claim tested.** Zero-shot performance of CLIP models grows *log-linearly* with the pretraining frequency
of a concept: exponentially more examples buy linear gains, for classification and retrieval, for every
pretraining set and model.

**Reproduces** (paper v3 numbering, see `PAPER_MAP.md`): **Fig. 2** (classification with the `class`
prompt and retrieval t2i R@10, integrated counts, CC-3M / CC-12M / YFCC-15M / LAION-400M),
**Tab. 6** (mean accuracy per frequency bin; integrated counts, ensemble prompts, 18 sets),
**Fig. 25** (the same plots with the zero-count bin kept) and **Fig. 27** (95% confidence interval of every
binned point).

Two estimates are shown side by side: the paper's **binned** recipe (equal-width bins of ln count, bin
means at the right edge, paper slices, Pearson ρ, `**` for p < .05) and a **per-concept** regression of
performance on log10(count) over all concepts (slope per decade with a bootstrap 95% CI), which the paper
lacks. The `ci` profile uses a reduced selection of models and datasets.""",
    [
        ("code", """\
cls, cls_unmatched = inputs.classification(root, A, prompts="class")
ret, ret_unmatched = inputs.retrieval(root, A, directions="t2i", ks=10)
print(f"classification: {len(cls):,} (concept, model) pairs from {cls['dataset'].nunique()} datasets; "
      f"retrieval: {len(ret):,} pairs")
print("names without a partner (reported, not dropped silently):")
pd.concat([cls_unmatched.assign(task="classification"), ret_unmatched.assign(task="retrieval")]).groupby(["task", "dataset", "side"]).size()"""),
        ("md", "## Fig. 2: binned log-linear trends, with per-concept slopes"),
        ("code", """\
cls_pts, cls_fits = figures.fit_and_bin(cls, task="classification", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
ret_pts, ret_fits = figures.fit_and_bin(ret, task="retrieval", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
fig2_points = pd.concat([cls_pts, ret_pts], ignore_index=True)
fig2_fits = figures.contract(pd.concat([cls_fits, ret_fits], ignore_index=True))
Y = {"classification": "Zero-shot accuracy (class prompt)", "retrieval": "Retrieval recall@10 (text→image)"}
fig2 = figures.stacked_chart(fig2_points, fig2_fits, row="task", y_title=Y,
                             title="Fig. 2: performance is log-linear in pretraining concept frequency (integrated counts)")
report.figure(fig2, "fig2", paper="Fig. 2",
              claim="Classification accuracy and retrieval recall grow log-linearly with integrated concept frequency",
              data=fig2_points, fits=fig2_fits)
fig2"""),
        ("code", "figures.summary(fig2_fits)"),
        ("md", "## Fig. 27: 95% confidence interval of each binned point (t-interval of the bin mean)"),
        ("code", """\
fig27 = figures.stacked_chart(fig2_points, fig2_fits, row="task", y_title=Y, ci=True,
                              title="Fig. 27: binned points with 95% confidence intervals")
report.figure(fig27, "fig27", paper="Fig. 27", claim="The binned log-linear trends hold within the 95% CIs of the bin means",
              data=fig2_points, fits=fig2_fits)
fig27"""),
        ("md", """\
## Fig. 25: zero-count concepts kept

The paper's slices drop the first bin, which holds the concepts with the minimum count (0 and 1 both
become ln 1 = 0). Here the slices start at bin 0; the per-concept fits always include every concept."""),
        ("code", """\
z_cls_pts, z_cls_fits = figures.fit_and_bin(cls, task="classification", n_boot=A.n_boot, seed=P.seed, keep_zero=True,
                                            ci_level=A.ci_level, per_concept=cls_fits)
z_ret_pts, z_ret_fits = figures.fit_and_bin(ret, task="retrieval", n_boot=A.n_boot, seed=P.seed, keep_zero=True,
                                            ci_level=A.ci_level, per_concept=ret_fits)
fig25_points = pd.concat([z_cls_pts, z_ret_pts], ignore_index=True)
fig25_fits = figures.contract(pd.concat([z_cls_fits, z_ret_fits], ignore_index=True))
fig25 = figures.stacked_chart(fig25_points, fig25_fits, row="task", y_title=Y,
                              title="Fig. 25: the trend with the zero-count bin kept")
report.figure(fig25, "fig25", paper="Fig. 25", claim="Keeping zero-count concepts does not remove the log-linear trend",
              data=fig25_points, fits=fig25_fits)
fig25"""),
        ("md", """\
## Tab. 6: mean accuracy per frequency bin

Integrated counts, `ensemble` prompts, the pooled classification sets. Bins are left-closed
(`1-10` = 1 ≤ count < 10); accuracy in percent; concepts with ≥ 10,000 occurrences are outside the
table, as in the paper."""),
        ("code", """\
ens, _ = inputs.classification(root, A, prompts="ensemble")
t6 = fits.table6(ens, edges=A.table6_edges)
table6 = t6[["pretraining", "model", "bin", "mean_accuracy", "n_concepts"]]
report.table(table6, "table6", paper="Tab. 6",
             claim="Mean zero-shot accuracy (%, ensemble prompts, integrated counts) rises with each tenfold increase in concept frequency")
table6.pivot_table(index=["pretraining", "model"], columns="bin", values="mean_accuracy", sort=False).round(2)"""),
    ],
)

NOTEBOOKS["A_prompting"] = nb(
    "A_prompting",
    """\
# Appendix A: prompting strategies

**Claim tested.** The log-linear relation between concept frequency and zero-shot accuracy does not depend
on the prompt: it holds for the plain `simple` prompt ("A photo of a {c}.") and the template `ensemble`,
not only for the bare class name used in Fig. 2.

**Reproduces:** **Fig. 8** (classification, integrated counts, `simple` and `ensemble` prompts; binned ρ
and per-concept slope with 95% CI).""",
    [
        ("code", """\
joined, unmatched = inputs.classification(root, A, prompts=A.prompts)
print(f"{len(joined):,} (concept, model, prompt) rows; unmatched names: {len(unmatched)}")
pts, fit = figures.fit_and_bin(joined, task="classification", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
fig8_fits = figures.contract(fit)
fig8 = figures.stacked_chart(pts, fig8_fits, row="prompt_or_metric", y_title=lambda p: f"Zero-shot accuracy ({p} prompt)",
                             row_title=lambda p: f"{p} prompt", title="Fig. 8: the log-linear trend across prompting strategies")
report.figure(fig8, "fig8", paper="Fig. 8", claim="The log-linear trend holds for simple and ensemble prompts",
              data=pts, fits=fig8_fits)
fig8"""),
        ("code", "figures.summary(fig8_fits)"),
    ],
)

NOTEBOOKS["B_retrieval_metrics"] = nb(
    "B_retrieval_metrics",
    """\
# Appendix B: retrieval metrics

**Claim tested.** Per-concept retrieval recall on COCO + Flickr rises log-linearly with pretraining
concept frequency for image→text and text→image retrieval at every k.

**Reproduces:** **Fig. 9** (image→text, recall@1/5/10) and **Fig. 10** (text→image, recall@1/5/10),
integrated counts, binned ρ (paper slice `[3:]` of 7 bins) and per-concept slopes with 95% CIs.""",
    [
        ("code", """\
ret, unmatched = inputs.retrieval(root, A)
print(f"{len(ret):,} rows; unmatched names per dataset:")
unmatched.groupby(["dataset", "side"]).size()"""),
        ("code", """\
pts, fit = figures.fit_and_bin(ret, task="retrieval", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
all_fits = figures.contract(fit)
names = {"i2t": ("fig9", "Fig. 9", "image→text"), "t2i": ("fig10", "Fig. 10", "text→image")}
charts = {}
for direction, (fig_id, paper, label) in names.items():
    d_pts = pts[pts["prompt_or_metric"].str.startswith(direction)]
    if d_pts.empty:
        print(f"{paper}: direction {direction} not selected in this profile")
        continue
    d_fits = all_fits[all_fits["prompt_or_metric"].str.startswith(direction)]
    charts[fig_id] = figures.stacked_chart(
        d_pts, d_fits, row="prompt_or_metric", y_title=lambda m: m.replace(direction + " ", "").replace("recall@", "Recall@"),
        row_title=lambda m: f"{label} {m.split()[-1]}", title=f"{paper}: {label} retrieval vs. concept frequency")
    report.figure(charts[fig_id], fig_id, paper=paper, claim=f"{label} recall@k grows log-linearly with concept frequency",
                  data=d_pts, fits=d_fits)
charts.get("fig9")"""),
        ("code", 'charts.get("fig10")'),
        ("code", "figures.summary(all_fits)"),
    ],
)

NOTEBOOKS["C_t2i"] = nb(
    "C_t2i",
    """\
# Appendix C: text-to-image generation

**Claim tested.** For 24 HEIM text-to-image models, per-concept generation quality rises with the
concept's frequency in LAION-Aesthetics (integrated counts).

**Reproduces:** **Fig. 3** (expected aesthetic score) and **Figs. 11–15** (the other T2I metrics), from
the metric files present in the released copy. Metrics whose files are missing (≥ 4 MB files, e.g.
expected/max aesthetics and CLIP score) are **reported as missing, never faked**; Fig. 3 therefore cannot
be regenerated from our copy. Binned recipe: 7 bins, the last 4 kept.""",
    [
        ("code", """\
from wag.artifacts import missing_t2i_metrics
missing = missing_t2i_metrics(root)
print("T2I metrics missing from the released copy:", missing or "none")
for m in missing:
    fig_id, paper = ("fig3", "Fig. 3 (expected aesthetic score)") if m == "exp_aesthetics" else (f"t2i_{m}", "Figs. 11–15")
    report.missing(fig_id, paper=paper, reason=f"t2i_evaluations/t2i_{m}.json is not in the released copy; nothing plotted")"""),
        ("code", """\
joined, unmatched = inputs.t2i(root, A)
print(f"{joined['model'].nunique()} models, {joined['concept'].nunique()} concepts, metrics: {sorted(joined['metric'].unique())}")
print(f"{len(unmatched)} T2I concept names without a partner:")
unmatched.groupby("side").size()"""),
        ("code", """\
pts, fit = figures.fit_and_bin(joined, task="t2i", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
t2i_fits = figures.contract(fit)
charts = {}
for metric, m_pts in pts.groupby("prompt_or_metric", sort=False):
    fig_id = "fig3" if metric == "exp_aesthetics" else f"t2i_{metric}"
    paper = "Fig. 3" if metric == "exp_aesthetics" else "Figs. 11–15"
    m_fits = t2i_fits[t2i_fits["prompt_or_metric"] == metric]
    charts[metric] = plots.log_linear_chart(m_pts, m_fits, color="model", y_title=metric.replace("_", " "),
                                            x_title="LAION-Aesthetics concept frequency", title=f"{paper}: {metric} vs. concept frequency")
    report.figure(charts[metric], fig_id, paper=paper, claim=f"T2I {metric} per concept vs. LAION-Aesthetics frequency",
                  data=m_pts, fits=m_fits)
list(charts)"""),
        ("code", "charts.get('human_align')"),
        ("code", "charts.get('human_aesthetics')"),
        ("code", "figures.summary(t2i_fits)"),
    ],
)

NOTEBOOKS["D_image_text_domains"] = nb(
    "D_image_text_domains",
    """\
# Appendix D: image-only and text-only counts

**Claim tested.** The log-linear trend is not an artefact of the integrated (image ∩ text) counts: it holds
when concepts are counted only in the images (RAM++ tags at threshold 0.7) or only in the captions
(lemmatized text search).

**Reproduces:** **Fig. 18** (image-only counts) and **Fig. 19** (text-only counts), for classification
(`class` prompt) and retrieval (text→image R@10).""",
    [
        ("code", """\
specs = {"fig18": ("Fig. 18", "image", "rampp@0.7", "image-only (RAM++ ≥ 0.7)"),
         "fig19": ("Fig. 19", "text", "lemmatized", "text-only (lemmatized captions)")}
Y = {"classification": "Zero-shot accuracy (class prompt)", "retrieval": "Retrieval recall@10 (text→image)"}
charts, all_fits = {}, []
for fig_id, (paper, method, variant, label) in specs.items():
    cls, u1 = inputs.classification(root, A, prompts="class", method=method, variant=variant)
    ret, u2 = inputs.retrieval(root, A, directions="t2i", ks=10, method=method, variant=variant)
    print(f"{paper} ({label}): {len(cls):,} classification rows, {len(ret):,} retrieval rows, {len(u1) + len(u2)} unmatched names")
    p1, f1 = figures.fit_and_bin(cls, task="classification", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
    p2, f2 = figures.fit_and_bin(ret, task="retrieval", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
    pts, fit = pd.concat([p1, p2], ignore_index=True), figures.contract(pd.concat([f1, f2], ignore_index=True))
    charts[fig_id] = figures.stacked_chart(pts, fit, row="task", y_title=Y, title=f"{paper}: {label} counts")
    report.figure(charts[fig_id], fig_id, paper=paper, claim=f"The log-linear trend holds with {label} counts", data=pts, fits=fit)
    all_fits.append(fit)
charts["fig18"]"""),
        ("code", 'charts["fig19"]'),
        ("code", "figures.summary(pd.concat(all_fits, ignore_index=True))"),
    ],
)

NOTEBOOKS["F_tagger_threshold"] = nb(
    "F_tagger_threshold",
    """\
# Appendix F: RAM++ tagging threshold

**Claim tested.** The log-linear trend with image-only counts does not hinge on the RAM++ threshold used
to decide that a concept is in an image: it holds at thresholds 0.5, 0.6 and 0.7.

**Reproduces:** **Fig. 24** (classification, `class` prompt, image-only counts at each threshold; binned ρ
and per-concept slopes with 95% CIs).""",
    [
        ("code", """\
variants = [f"rampp@{t:g}" for t in A.tagger_thresholds]
joined, unmatched = inputs.classification(root, A, prompts="class", method="image", variant=variants)
print(f"{len(joined):,} rows over thresholds {variants}; unmatched names: {len(unmatched)}")
joined.groupby(["pretraining", "variant"], sort=False).agg(
    datasets=("dataset", "nunique"), rows=("count", "size"), median_count=("count", "median"),
    zero_count_share=("count", lambda c: float((c == 0).mean())))"""),
        ("code", """\
pts, fit = figures.fit_and_bin(joined, task="classification", n_boot=A.n_boot, seed=P.seed, ci_level=A.ci_level)
fig24_fits = figures.contract(fit)
fig24 = figures.stacked_chart(pts, fig24_fits, row="count_type", y_title="Zero-shot accuracy (class prompt)",
                              row_title=lambda v: f"RAM++ threshold {v.split('@')[1]}",
                              x_title="Image-only concept frequency", title="Fig. 24: the trend at several RAM++ thresholds")
report.figure(fig24, "fig24", paper="Fig. 24", claim="The log-linear trend holds at RAM++ thresholds 0.5, 0.6 and 0.7",
              data=pts, fits=fig24_fits)
fig24"""),
        ("code", "figures.summary(fig24_fits)"),
    ],
)


def main(names: list[str]) -> None:
    force = "--force" in names
    names = [n for n in names if n != "--force"]
    for name in names or list(NOTEBOOKS):
        if name not in NOTEBOOKS:
            raise SystemExit(f"unknown notebook {name!r}; choose from {', '.join(NOTEBOOKS)}")
        path = ROOT / "notebooks" / f"{name}.ipynb"
        path.parent.mkdir(exist_ok=True)
        if path.is_file() and not force:
            existing = nbf.read(str(path), as_version=4)
            if len(existing.cells) > len(NOTEBOOKS[name].cells):
                # another part appended sections (e.g. F_tagger_threshold's own-counts section): never clobber them
                print(f"skipped {path.relative_to(ROOT)}: it has {len(existing.cells) - len(NOTEBOOKS[name].cells)} cells "
                      "added by others; edit it by hand or pass --force")
                continue
        nbf.validate(NOTEBOOKS[name])
        nbf.write(NOTEBOOKS[name], str(path))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
