"""Write notebooks/2_concepts_and_frequency.ipynb (nbformat v4, no outputs)."""

from pathlib import Path

import nbformat as nbf

SECTION = "2_concepts_and_frequency"
cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s))  # noqa: E731
code = lambda s, **kw: cells.append(nbf.v4.new_code_cell(s, **kw))  # noqa: E731

md("""# §2 Concepts and frequency: how concept counts are made, and how much the recipe matters

**Claim tested.** The paper's conclusions rest on per-concept counts in pretraining captions and images
(§2, Fig. 1). We test whether those counts are *measured correctly*: on a caption corpus with known
ground truth we compare our phrase search (one normaliser for queries and captions, adjectives,
digits and hyphens kept, "A or B" as OR) with a faithful re-implementation of the paper's noun-lemma
AND search, and show the long tail (Fig. 5 recipe), tagger-threshold effects (Fig. 24 mechanics) and
the misalignment degree with both of the paper's denominators (Tab. 3).

**Reproduces:** the counting method of §2 / Fig. 1 (not a plot in the paper), Fig. 5 (long tail, on our
corpus), Fig. 24 mechanics, Tab. 3 definition. Corpus: generated here from the paper's class names
(the synthetic world's corpus is used by `4-2_synthetic`).""")
code('profile = "ci"\nout_dir = None', metadata={"tags": ["parameters"]})
code(f'from wag.notebook import setup\n\nP, report = setup(profile, "{SECTION}", out_dir)')
code("""import altair as alt
import pandas as pd

from wag.frequency import demo, match_texts
from wag.frequency.misalignment import misalignment
from wag.frequency.tagging import image_counts

F = P.frequency
root = demo.find_paper_root(P)  # the paper's class names make the corpus realistic; made-up names otherwise
print(f"class names from: {root or 'made-up names (released files not available)'}")
corpus = demo.generated_corpus(F.generated_captions, F.generated_concepts, seed=P.seed, paper_root=root)
print(f"{len(corpus.captions):,} captions mentioning {len(corpus.names):,} concepts; {len(corpus.truth):,} true (concept, caption) pairs")
corpus.captions.head(8)""")
md("## The normaliser on the paper's hard cases\nSame function for class names and captions. Each row: which concepts each variant finds in one caption.")
code("""hard = ["A four-poster bed in a hotel room", "my bed", "Boeing 737-200 at the gate", "a Boeing 737 landing",
        "view over the sea", "red T-shirts for sale", "a kite (the toy) in the sky", "sports cars on a track"]
names = ["four-poster bed", "bed", "737-200", "Boeing 737", "Sea or Lake", "T-shirt", "kite (bird of prey)", "sports car"]
examples = pd.DataFrame({"caption": hard} | {v: [", ".join(m) for m in match_texts(hard, names, variant=v)] for v in F.variants})
report.table(examples, "hard_cases", paper="§2 (text search)", claim="Concepts found per caption by each count variant on the paper's known failure cases")
examples""")
md("## Counts per variant and accuracy against the ground truth")
code("""counts, hits = demo.counts_by_variant(corpus.root, corpus.names, list(F.variants), workers=F.workers, batch_size=F.batch_size)
acc = demo.accuracy(hits, corpus.truth)
report.table(acc, "accuracy_by_variant", paper="§2 (text search)", claim="Precision/recall of (concept, caption) hits against the generated ground truth")
acc""")
code("""summary = counts.groupby("variant")["count"].agg(concepts="size", zero=lambda c: int((c == 0).sum()), median="median", total="sum").reset_index()
report.table(summary, "counts_by_variant", paper="§2 (text search)", claim="Counts per variant on the generated corpus: zero-count concepts, median, total")
summary""")
md("## Paper variant vs ours: which concepts change, and why")
code("""cmp = demo.compare_variants(counts, corpus.truth, a="paper_lemmatized", b="phrase")
changed = cmp[cmp["reason"] != ""]
print(f"{len(changed):,} of {len(cmp):,} concepts get a different count; median |log ratio| over those: "
      f"{changed['ratio'].map(lambda r: abs(__import__('math').log(r))).median():.2f}")
report.table(changed.head(25), "paper_vs_phrase_examples", paper="§2 (text search)", claim="Concepts whose paper-variant count differs most from the phrase count, with the true count and the likely cause")
changed.groupby("reason").size().rename("concepts").reset_index()""")
code("""pts = cmp.assign(paper=cmp["paper_lemmatized"] + 1, ours=cmp["phrase"] + 1, truth1=cmp["truth"] + 1)
scatter = alt.Chart(pts).mark_circle(size=30, opacity=0.6).encode(
    x=alt.X("truth1:Q", scale=alt.Scale(type="log"), title="true count + 1"),
    y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="counted + 1"),
    color=alt.Color("variant:N", title="variant"),
    tooltip=["concept", "truth", "paper_lemmatized", "phrase", "reason"],
).transform_fold(["paper", "ours"], as_=["variant", "value"]).properties(width=360, height=300, title="Counted vs true concept frequency")
report.figure(scatter, "counted_vs_truth", paper="§2 / Fig. 1 (counting)", claim="Phrase counts sit on the diagonal; the paper's AND search over- and under-counts", data=pts)
scatter""")
md("## The long tail (Fig. 5 recipe on this corpus)")
code("""tail = demo.long_tail(counts)
tail_chart = alt.Chart(tail).mark_line().encode(
    x=alt.X("rank:Q", title="concept rank"), y=alt.Y("normalised_count:Q", scale=alt.Scale(type="log"), title="count / max"),
    color="variant:N").properties(width=360, height=260, title="Long tail of concept counts")
report.figure(tail_chart, "long_tail", paper="Fig. 5", claim="Concept counts are long-tailed under every count variant", data=tail)
tail_chart""")
md("""## Image tags: threshold effects and misalignment (Fig. 24 mechanics, Tab. 3 definition)
The generated corpus has no images, so we use a tagger with *known* behaviour: true concepts score
~Beta(8, 2), 10 % of them are swapped for another concept (misaligned pairs), and each image gets three
low-scoring distractors. The sweep shows how the threshold trades image hits; the misalignment
degree is computed with both of the paper's denominators and can be checked against the injected rate.""")
code("""tags = demo.simulated_tags(corpus.truth, corpus.captions["sample_id"], corpus.names, swap_rate=0.1, seed=P.seed)
sweep = image_counts(tags, F.tagger_thresholds, concepts=corpus.names, tagger="simulated", pretraining="generated")
sweep_sum = sweep.groupby("variant")["count"].agg(total="sum", zero=lambda c: int((c == 0).sum())).reset_index()
report.table(sweep_sum, "tagger_thresholds", paper="Fig. 24 (mechanics)", claim="Image hits and zero-count concepts per tagger threshold")
sweep_sum""")
code("""rows = []
for t in F.tagger_thresholds:
    m = misalignment(hits["phrase"], tags, threshold=t, n_samples=len(corpus.captions))
    rows.append({"threshold": t, **m})
mis = pd.DataFrame(rows)
mis["degree_fixed_percent"] = 100 * mis["degree_fixed"]
mis["degree_extracted_percent"] = 100 * mis["degree_extracted"]
report.table(mis, "misalignment", paper="Tab. 3 (definition)", claim="Misaligned pairs with both denominators (fixed corpus size; max of tagged images and captions with a concept)")
mis""")
code("""try:
    from wag.artifacts import read_misalignment
    released = read_misalignment(root).assign(
        degree_fixed_percent=lambda d: 100 * d["degree_fixed"], degree_extracted_percent=lambda d: 100 * d["degree_extracted"])
    report.table(released, "misalignment_released", paper="Tab. 3", claim="The paper's released misalignment degrees (percent)")
except Exception as exc:  # the released files are optional here
    released = f"released files not available: {exc}"
released""")
md("""## The synthetic world's corpus: real images, a real tagger, known truth
The same engine on the WebDataset shards of the synthetic world (`wag.synthetic`, made-up one-word concept
names, ~5 % of captions deliberately wrong), checked against the world's own truth. Text: caption hits per variant
vs the caption concepts. Images: the world's trained tagger (`wag.synthetic.tagger`, the RAM++ analogue: a
multi-label CNN trained on fresh labelled renders, never on this corpus) tags every image of the shards; its image
and integrated hits per threshold are checked against the true image / matched concepts (Fig. 24 with a real
tagger), and the misalignment degree is measured with it and with the true image concepts (Tab. 3).""")
code("""try:
    world_acc, world_mis, world_tags = demo.synthetic_world_check(P.synthetic, P.seed, list(F.variants), list(F.tagger_thresholds))
    report.table(world_acc, "synthetic_world_accuracy", paper="§2 (text search)", claim="Precision/recall of caption hits on the synthetic world's corpus against its caption truth")
    report.table(world_tags, "synthetic_world_tagger_thresholds", paper="Fig. 24 (synthetic world)", claim="Trained tagger on the world's images: image and integrated hits per threshold, precision/recall and rank agreement with the true counts")
    report.table(world_mis, "synthetic_world_misalignment", paper="Tab. 3 (synthetic world)", claim="Misalignment of the synthetic world from our counts with the trained tagger and with the true image concepts, and from its truth")
    display(world_acc, world_tags, world_mis)
except Exception as exc:  # the synthetic stage is optional for this section
    print(f"synthetic world not available: {type(exc).__name__}: {exc}")""")
nb = nbf.v4.new_notebook(cells=cells)
for i, cell in enumerate(nb.cells):  # stable ids: regenerating leaves unchanged cells unchanged
    cell.id = f"concepts-{i:02d}"
nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
out = Path(__file__).resolve().parents[1] / "notebooks" / f"{SECTION}.ipynb"
nbf.write(nb, out)
print(out)
