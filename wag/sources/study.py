"""A study folder as a source (``wag study run``): its count types, labels and claims, its own Let It Wag!."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from wag.artifacts import join_counts_performance
from wag.core import tables
from wag.sources.base import EXAMPLE_COLUMNS, NewCounts, Source, SourceError, as_list
from wag.sources.samples import corpus_samples, count_in_corpus, draw_examples
from wag.study.run import load_tables

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

#: Why a study lacks a task's results: the kind of dataset to declare.
_TASK_DATASETS = {
    "classification": "classification (image folder / torchvision)",
    "retrieval": "retrieval",
    "t2i": "text-to-image",
}
_LETITWAG_COLUMNS = [
    "model",
    "pretraining",
    "reference_accuracy",
    "let_it_wag_accuracy",
    "gap",
    "reference_datasets",
    "n_classes",
]


class StudySource(Source):
    """A study folder written by ``wag study run`` (``wag.study.run.load_tables``): one panel per count type."""

    kind = "study"
    default_binning = "quantile"
    facet = "count_type"
    reference_label = "reference"

    def __init__(self, profile: Any) -> None:
        super().__init__(profile)
        self.spec = profile.study
        if not self.spec.output_path.is_dir():
            raise SourceError(
                f"study folder {self.spec.output_path} does not exist; run `wag study run --profile {profile.name}` first"
            )
        self.tables = load_tables(self.spec)
        for name in ("frequencies", "performance", "concepts"):
            if name not in self.tables:
                raise SourceError(
                    f"study folder {self.spec.output_path} has no {name} table; run `wag study run --profile {profile.name}`"
                )
            tables.validate(self.tables[name], name)

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> str:
        perf, freq = self.tables["performance"], self.tables["frequencies"]
        return (
            f"study '{self.spec.name}': {self.spec.output_path}\npretraining: {', '.join(freq['pretraining'].unique())}; "
            f"models: {', '.join(perf['model'].unique())}; datasets: {', '.join(perf['dataset'].unique())}; "
            f"count types: {', '.join(self.count_types())}{self._headline_note()}; bootstrap resamples: {self.params.n_boot}"
        )

    def _headline_note(self) -> str:
        """Which tagger threshold the image and integrated count types are at, and where that is set."""
        t = self.spec.tagger
        if t.kind == "none":
            return ""
        how = "study.tagger.threshold" if t.threshold is not None else "the first of study.tagger.thresholds"
        return f" (headline threshold {t.headline:g}: {how}; thresholds {', '.join(f'{x:g}' for x in t.thresholds)})"

    def paper_root(self) -> None:
        """None: a study is not compared with the paper's files."""
        return None

    # -- count types -----------------------------------------------------------------------------
    def count_types(self) -> list[str]:
        """The study's main text variant, and its tagger and integrated counts at the headline threshold (when tagged)."""
        have = set(self.tables["frequencies"]["variant"])
        out = [self.count_type(m) for m in ("text", "image", "integrated")]
        return [v for v in out if v is not None and v in have]

    def count_type(self, method: str, threshold: float | None = None) -> str | None:
        """The variant name of a count type of this study (:func:`wag.core.tables.variant_name`); None for image or
        integrated counts when the study has no tagger. ``threshold`` defaults to the study's headline."""
        if method == "text":
            return tables.variant_name("text", text=self.spec.stages.count.variants[0])
        if self.spec.tagger.kind == "none":
            return None
        return tables.variant_name(
            method,
            tagger=self.spec.tagger_label,
            threshold=self.spec.tagger.headline if threshold is None else threshold,
        )

    def thresholds(self) -> list[float]:
        """The study's tagger thresholds (empty without a tagger)."""
        return [] if self.spec.tagger.kind == "none" else list(self.spec.tagger.thresholds)

    # -- labels, claims, columns -----------------------------------------------------------------
    @property
    def counts_label(self) -> str:
        return ", ".join(self.count_types())

    @property
    def tagger_label(self) -> str:
        return f"tagger {self.spec.tagger_label}"

    def count_label(self, method: str) -> str:
        return f"{method}-only ({self.count_type(method)})"

    def claim_subject(self, output_id: str) -> str:
        thresholds = ", ".join(f"{t:g}" for t in self.thresholds())
        subjects = {
            "fig2": f"Zero-shot performance on study '{self.spec.name}'",
            "table6": f"Mean zero-shot accuracy (%, {self.counts_label})",
            "fig24": f"Zero-shot accuracy with image-only counts at {self.tagger_label} thresholds {thresholds}",
            "fig6": "Let It Wag! vs the study's classification sets",
            "table9": "Reference (the study's classification sets) vs Let It Wag! accuracy (percent)",
        }
        if output_id not in subjects:
            raise self._unknown("claim", output_id, subjects)
        return subjects[output_id]

    def claim_note(self, output_id: str) -> str:
        if output_id == "fig6":
            return "reference = each model's mean accuracy on the study's classification sets"
        return ""

    def columns(self, output_id: str) -> list[str]:
        if output_id != "table6":
            raise self._unknown("columns", output_id, ["table6"])
        return ["pretraining", "model", "count_type", "bin", "mean_accuracy", "n_concepts"]

    # -- tables ----------------------------------------------------------------------------------
    def frequencies(self) -> pd.DataFrame:
        """The study's counts of its concepts (every count type; the Let It Wag! classes left out)."""
        f = self.tables["frequencies"]
        return f[f["dataset"] != "letitwag"].reset_index(drop=True)

    def misalignment(self) -> pd.DataFrame:
        """The study's misalignment at its headline threshold, with the paper's columns (``fixed_size`` = samples,
        ``extracted_size`` = the larger of images tagged and captions hit)."""
        path = self.spec.output_path / "misalignment" / "misalignment.parquet"
        if not path.is_file():
            raise SourceError(
                f"study '{self.spec.name}' has no misalignment table; it needs an image tagger (study.tagger) and `wag study run`"
            )
        m = pd.read_parquet(path)
        m = m[m["image_variant"] == self.count_type("image")]
        return m.assign(
            fixed_size=m["n_samples"], extracted_size=m[["n_images_tagged", "n_captions_hit"]].max(axis=1)
        ).reset_index(drop=True)

    def classification_datasets(self) -> list[str]:
        """The study's classification datasets (``task == classification``, Let It Wag! aside)."""
        c = self.tables["concepts"]
        return sorted(set(c.loc[c["task"] == "classification", "dataset"]) - {"letitwag"})

    def pretrainings(self) -> list[str]:
        return sorted(self.tables["frequencies"]["pretraining"].unique())

    def _perf(self, task: str) -> pd.DataFrame:
        perf = self.tables["performance"]
        return perf[(perf["task"] == task) & (perf["dataset"] != "letitwag")]

    def _why_missing(self, what: str) -> str | None:
        name = self.spec.name
        if what in _TASK_DATASETS:
            if self._perf(what).empty:
                return f"study '{name}' has no {what} results (declare a {_TASK_DATASETS[what]} dataset under study.datasets and run `wag study run`)"
            return None
        if what == "misalignment":
            if not (self.spec.output_path / "misalignment" / "misalignment.parquet").is_file():
                return f"study '{name}' has no misalignment table (it needs an image tagger, study.tagger, and `wag study run`)"
            return None
        if what == "letitwag":
            if not (self.tables["performance"]["dataset"] == "letitwag").any():
                return f"study '{name}' has no Let It Wag! results (declare study.stages.letitwag.images, an image pool, and run `wag study run`)"
            return None
        if what == "paper":
            return (
                f"study '{name}' is not the paper's released files: the comparisons with the numbers the paper printed "
                "do not apply"
            )
        sets = self.pretrainings()  # pretraining_correlation: a study has one corpus
        return f"it correlates the paper's pretraining sets; this study has {len(sets)} ({', '.join(sets)})"

    def _join(self, perf: pd.DataFrame, count_types: Iterable[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        want = list(count_types) if count_types is not None else self.count_types()
        freq = self.tables["frequencies"]
        unknown = sorted(set(want) - set(freq["variant"]))
        if unknown:
            raise SourceError(
                f"study '{self.spec.name}' has no counts of type {unknown}; it has {sorted(freq['variant'].unique())}"
            )
        freq = freq[freq["variant"].isin(want) & freq["dataset"].isin(perf["dataset"].unique())]
        joined, unmatched = join_counts_performance(freq, perf)
        order = {v: i for i, v in enumerate(want)}
        joined = joined.assign(_o=joined["variant"].map(order)).sort_values(
            ["_o", "model", "prompt", "metric"], kind="stable"
        )
        return joined.drop(columns="_o").reset_index(drop=True), unmatched

    def classification(
        self, *, prompts: str | Iterable[str] = "class", count_types: Iterable[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        perf = self._perf("classification")
        got = perf[perf["prompt"].isin(as_list(prompts))]
        if got.empty and not perf.empty:  # a study evaluates with its own prompts: use them rather than nothing
            got = perf
        return self._join(got, count_types)

    def retrieval(
        self,
        *,
        directions: str | Iterable[str] | None = None,
        ks: int | Iterable[int] | None = None,
        count_types: Iterable[str] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        perf = self._perf("retrieval")
        if directions is not None:
            perf = perf[perf["prompt"].isin(as_list(directions))]
        if ks is not None:
            perf = perf[perf["metric"].isin([f"recall@{k}" for k in as_list(ks)])]
        return self._join(perf, count_types)

    # -- one concept looked up -------------------------------------------------------------------
    def input_files(self) -> list[Path]:
        """The study's tables (every Parquet file under its output folder)."""
        return sorted(self.spec.output_path.rglob("*.parquet"))

    def _main_hits(self) -> pd.DataFrame | None:
        h = self.tables.get("hits")
        if h is None:
            return None
        return h[(h["method"] == "text") & (h["variant"] == self.spec.stages.count.variants[0])]

    def examples(
        self, concepts: list[str], *, n: int, seed: int, hits: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, str | None]:
        """Up to ``n`` caption hits per concept (main text count type), drawn with ``seed``, with their captions and
        where their images are (``<shard>:<member>`` in a WebDataset, ``<shard>:<image column>[<id>]`` in Parquet)."""
        hits = self._main_hits() if hits is None else hits
        if hits is None:
            return pd.DataFrame(columns=EXAMPLE_COLUMNS), (
                f"study '{self.spec.name}' has no hits table; run `wag study run --profile {self.profile.name}`"
            )
        picked = draw_examples(hits, concepts, n=n, seed=seed)
        if picked.empty:
            return pd.DataFrame(columns=EXAMPLE_COLUMNS), None
        found = corpus_samples(self.spec, set(picked["sample_id"]))
        caption = picked["sample_id"].map(lambda i: found.get(i, ("", ""))[0])
        image = picked["sample_id"].map(lambda i: found.get(i, ("", ""))[1])
        return picked.assign(caption=caption, image=image)[EXAMPLE_COLUMNS].reset_index(drop=True), None

    def count_new(self, names: list[str]) -> NewCounts:
        """Count ``names`` in the study's corpus with its main text count type (the phrase engine; cached by the shards,
        names and options); the samples of ``study.corpus.exclude`` are left out as the count stage leaves them."""
        counts, hits = count_in_corpus(self.spec, names)
        return NewCounts(counts, hits)

    # -- §6: the study's own Let It Wag! against its classification sets -------------------------
    def letitwag_points(self) -> pd.DataFrame:
        """Per-model Let It Wag! accuracy beside the mean accuracy on the study's classification sets (percent).

        Columns ``model, pretraining, reference_accuracy, let_it_wag_accuracy, gap, reference_datasets, n_classes``.
        """
        perf = self.tables["performance"]
        liw = perf[perf["dataset"] == "letitwag"]
        ref = self._perf("classification")
        rows = []
        for (model, pt), g in liw.groupby(["model", "pretraining"], sort=False):
            r = ref[ref["model"] == model]
            ra = float(r["value"].mean() * 100) if len(r) else float("nan")
            la = float(g["value"].mean() * 100)
            rows.append(
                {
                    "model": model,
                    "pretraining": pt,
                    "reference_accuracy": ra,
                    "let_it_wag_accuracy": la,
                    "gap": ra - la,
                    "reference_datasets": ", ".join(r["dataset"].unique()),
                    "n_classes": int(len(g)),
                }
            )
        return pd.DataFrame(rows, columns=_LETITWAG_COLUMNS)

    def letitwag_fits(self, points: pd.DataFrame) -> pd.DataFrame:
        from wag.analysis.sections import let_it_wag_results as liw  # lazy: it imports altair (~1.5 s)

        return liw.study_fits(points)

    def letitwag_chart(self, points: pd.DataFrame, fits: pd.DataFrame) -> alt.LayerChart:
        from wag.analysis.sections import let_it_wag_results as liw  # lazy: it imports altair

        refs = ", ".join(points["reference_datasets"].unique())
        return liw.study_chart(points, title=f"§6 on study '{self.spec.name}': Let It Wag! vs {refs}")

    def letitwag_table(self, points: pd.DataFrame) -> pd.DataFrame:
        """The points themselves: reference vs Let It Wag! accuracy and the gap per model."""
        return points

    def letitwag_tail(self) -> pd.DataFrame:
        """Counts of the Let It Wag! classes (main text variant) beside the study's other concepts, for the §6 tail check."""
        freq = self.tables["frequencies"]
        main = self.count_types()[0]
        f = freq[freq["variant"] == main]
        return f.assign(set=f["dataset"].map(lambda d: "Let It Wag!" if d == "letitwag" else "study concepts"))[
            ["concept", "dataset", "set", "variant", "count"]
        ]
