"""A source hands the analysis the same tables whoever made them: the paper's released files or a study folder.

:func:`open_source` picks it from the profile: ``analysis.source`` (``released`` / ``study``; default
``auto`` = the study when the profile has a ``study:`` section, else the released files). Both kinds answer
the same calls, returning *joined* tables (performance rows with the ``count`` of the same concept, the
input of :mod:`wag.analysis.fits`) plus the names without a partner:

* :meth:`classification` / :meth:`retrieval`: per-concept zero-shot accuracy / recall joined with counts;
* :meth:`count_types`: the count types (``variant`` values) the §3 figures show: on the released files the
  paper's own labels (``integrated@0.7``); on a study the names of :func:`wag.core.tables.variant_name`
  (``phrase``, ``tagger:<name>@<t>``, ``integrated:<name>@<t>``) at the study's headline threshold;
* :meth:`missing`: why a section's inputs are absent (no retrieval set, no T2I, no Let It Wag! pool), or None;
* :attr:`binning`: the :class:`~wag.analysis.binned.Binning` of the profile (``analysis.binning``; ``auto``:
  the paper's recipe on the released files, equal-count bins on a study).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from wag.analysis import inputs
from wag.analysis.binned import Binning
from wag.artifacts import join_counts_performance, paper_root, read_misalignment, read_search_counts
from wag.core import tables
from wag.core.errors import WagError
from wag.study.run import load_tables

KINDS = ("released", "study")
#: The RAM++ threshold of the paper's headline image and integrated counts.
PAPER_THRESHOLD = 0.7


class SourceError(WagError, ValueError):
    """The profile's source cannot be opened (no study section, study not run yet, ...)."""


def _as_list(x: str | Iterable[Any] | None) -> list[Any] | None:
    return None if x is None else ([x] if isinstance(x, (str, int)) else list(x))


def source_kind(profile: Any) -> str:
    """``released`` or ``study`` for a profile (``analysis.source``; ``auto`` follows the ``study:`` section)."""
    kind = profile.analysis.source
    if kind == "auto":
        return "study" if getattr(profile, "study", None) is not None else "released"
    if kind == "study" and getattr(profile, "study", None) is None:
        raise SourceError(
            f"profile '{profile.name}' sets analysis.source: study but has no study: section; add one or set analysis.source: released"
        )
    return kind


def binning_of(profile: Any, kind: str) -> Binning:
    """The profile's ``analysis.binning`` as a :class:`Binning` for a source of ``kind``."""
    b = profile.analysis.binning
    recipe = b.recipe if b.recipe != "auto" else ("paper" if kind == "released" else "quantile")
    keep = slice(*b.keep) if b.keep is not None else None
    return Binning(recipe=recipe, n_bins=b.n_bins, min_per_bin=b.min_concepts_per_bin, keep=keep)


class Source:
    """What every source answers (see the module docstring)."""

    kind: str = ""

    def __init__(self, profile: Any) -> None:
        self.profile = profile
        self.params = profile.analysis
        self.binning = binning_of(profile, self.kind)

    def describe(self) -> str:
        raise NotImplementedError

    def missing(self, what: str) -> str | None:
        """Why ``what`` (classification, retrieval, t2i, letitwag) cannot be analysed, or None."""
        return None

    def count_variants(self) -> dict[str, str]:
        """The count type of each method (text / image / integrated) at the headline threshold, as §5 uses them."""
        out = {m: self.count_type(m) for m in ("text", "image", "integrated")}  # type: ignore[attr-defined]
        return {m: v for m, v in out.items() if v is not None}

    def chart_column(self) -> str:
        """The facet of the §3 panels: one panel per pretraining set (released) or per count type (a study)."""
        return "pretraining" if self.kind == "released" else "count_type"


class ReleasedSource(Source):
    """The paper's released files (today's behaviour, unchanged)."""

    kind = "released"

    def __init__(self, profile: Any) -> None:
        super().__init__(profile)
        self.root = paper_root(profile)

    def describe(self) -> str:
        A = self.params
        return f"released files: {self.root}\npretraining sets: {A.pretraining}; models: {A.models}; bootstrap resamples: {A.n_boot}"

    def count_types(self) -> list[str]:
        """The paper's headline count type (its own label)."""
        return [self.count_type("integrated")]

    def count_type(self, method: str, threshold: float | None = None) -> str:
        """The paper's label of a count type: ``lemmatized`` (text), ``rampp@<t>`` (image), ``integrated@<t>`` (default t: 0.7)."""
        t = PAPER_THRESHOLD if threshold is None else threshold
        labels = {"text": "lemmatized", "image": f"rampp@{t:g}", "integrated": f"integrated@{t:g}"}
        if method not in labels:
            raise SourceError(f"unknown count method {method!r}; use one of {', '.join(labels)}")
        return labels[method]

    def thresholds(self) -> list[float]:
        """The RAM++ thresholds the profile compares (``analysis.tagger_thresholds``)."""
        return list(self.params.tagger_thresholds)

    def frequencies(self) -> pd.DataFrame:
        """Every released count (``wag.artifacts.read_search_counts``)."""
        return read_search_counts(self.root)

    def misalignment(self) -> pd.DataFrame:
        """The released misalignment table (``wag.artifacts.read_misalignment``)."""
        return read_misalignment(self.root)

    def classification_datasets(self) -> list[str] | None:
        """None: the paper's 17 classification sets of §5."""
        return None

    def pretrainings(self) -> list[str] | None:
        """None: the paper's four pretraining sets of §5."""
        return None

    @staticmethod
    def _variant_kw(count_types: Iterable[str] | None) -> dict[str, Any]:
        if count_types is None:
            return {}
        ct = list(count_types)
        methods = {
            "image" if v.startswith("rampp@") else "integrated" if v.startswith("integrated@") else "text" for v in ct
        }
        if len(methods) != 1:
            raise SourceError(f"count types {ct} mix count methods; ask for one method at a time on the released files")
        return {"method": methods.pop(), "variant": ct}

    def classification(
        self, *, prompts: str | Iterable[str] = "class", count_types: Iterable[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        return inputs.classification(self.root, self.params, prompts=prompts, **self._variant_kw(count_types))

    def retrieval(
        self,
        *,
        directions: str | Iterable[str] | None = None,
        ks: int | Iterable[int] | None = None,
        count_types: Iterable[str] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        return inputs.retrieval(self.root, self.params, directions=directions, ks=ks, **self._variant_kw(count_types))


class StudySource(Source):
    """A study folder written by ``wag study run`` (``wag.study.run.load_tables``)."""

    kind = "study"

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
            f"count types: {', '.join(self.count_types())}; bootstrap resamples: {self.params.n_boot}"
        )

    def count_types(self) -> list[str]:
        """The study's main text variant, and its tagger and integrated counts at the headline threshold (when tagged)."""
        freq = self.tables["frequencies"]
        have = set(freq["variant"])
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

    def frequencies(self) -> pd.DataFrame:
        """The study's counts of its concepts (every count type; the Let It Wag! classes left out)."""
        f = self.tables["frequencies"]
        return f[f["dataset"] != "letitwag"].reset_index(drop=True)

    def counts_by_variant(self) -> pd.DataFrame:
        """One count per (concept key, count type) of the study's corpus (a concept shared by two datasets once)."""
        f = self.frequencies()
        return f.drop_duplicates(["key", "pretraining", "method", "variant"]).reset_index(drop=True)[
            ["concept", "key", "pretraining", "method", "variant", "count"]
        ]

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

    def missing(self, what: str) -> str | None:
        if what in ("classification", "retrieval", "t2i"):
            if self._perf(what).empty:
                kind = {
                    "classification": "classification (image folder / torchvision)",
                    "retrieval": "retrieval",
                    "t2i": "text-to-image",
                }[what]
                return f"study '{self.spec.name}' has no {what} results (declare a {kind} dataset under study.datasets and run `wag study run`)"
            return None
        if what == "misalignment":
            if not (self.spec.output_path / "misalignment" / "misalignment.parquet").is_file():
                return f"study '{self.spec.name}' has no misalignment table (it needs an image tagger, study.tagger, and `wag study run`)"
            return None
        if what == "letitwag":
            perf = self.tables["performance"]
            if not (perf["dataset"] == "letitwag").any():
                return f"study '{self.spec.name}' has no Let It Wag! results (declare study.stages.letitwag.images, an image pool, and run `wag study run`)"
            return None
        raise SourceError(
            f"unknown section input {what!r}; use classification, retrieval, t2i, misalignment or letitwag"
        )

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
        want = _as_list(prompts)
        got = perf[perf["prompt"].isin(want)]
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
            perf = perf[perf["prompt"].isin(_as_list(directions))]
        if ks is not None:
            perf = perf[perf["metric"].isin([f"recall@{k}" for k in _as_list(ks)])]
        return self._join(perf, count_types)

    def letitwag(self) -> pd.DataFrame:
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
        return pd.DataFrame(
            rows,
            columns=[
                "model",
                "pretraining",
                "reference_accuracy",
                "let_it_wag_accuracy",
                "gap",
                "reference_datasets",
                "n_classes",
            ],
        )

    def letitwag_counts(self) -> pd.DataFrame:
        """Counts of the Let It Wag! classes (main text variant) beside the study's other concepts, for the §6 tail check."""
        freq = self.tables["frequencies"]
        main = self.count_types()[0]
        f = freq[freq["variant"] == main]
        return f.assign(set=f["dataset"].map(lambda d: "Let It Wag!" if d == "letitwag" else "study concepts"))[
            ["concept", "dataset", "set", "variant", "count"]
        ]


def open_source(profile: Any) -> Source:
    """The profile's source (see :func:`source_kind`)."""
    kind = source_kind(profile)
    return StudySource(profile) if kind == "study" else ReleasedSource(profile)
