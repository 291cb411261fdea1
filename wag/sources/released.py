"""The paper's released files as a source: the paper's count types, labels and claims, its Let It Wag! results."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from wag.analysis import inputs
from wag.artifacts import paper_root, read_misalignment, read_search_counts
from wag.sources.base import EXAMPLE_COLUMNS, PAPER_THRESHOLD, NewCounts, Source, SourceError

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

_CLAIM_SUBJECTS = {
    "fig2": "Zero-shot performance (classification accuracy, retrieval recall)",
    "table6": "Ours (corrected), the header's bins: mean zero-shot accuracy (%, ensemble prompts, integrated counts)",
    "fig24": "Zero-shot accuracy with image-only counts at RAM++ thresholds 0.5, 0.6 and 0.7",
    "fig6": "Let It Wag! vs ImageNet accuracy",
    "table9": "ImageNet vs Let It Wag! accuracy (percent)",
}
NO_SAMPLES = (
    "the released files hold counts only, no captions or sample ids (the paper did not release its hits), so no "
    "example captions can be shown"
)
_CLAIM_NOTES = {"fig6": "two least-squares segments split at 50% ImageNet accuracy"}
_COLUMNS = {"table6": ["pretraining", "model", "bin", "mean_accuracy", "n_concepts"]}
_COUNT_LABELS = {
    "text": "text-only (lemmatized captions)",
    "image": f"image-only (RAM++ ≥ {PAPER_THRESHOLD:g})",
    "integrated": f"integrated (RAM++ ≥ {PAPER_THRESHOLD:g} and lemmatized captions)",
}


class ReleasedSource(Source):
    """The paper's released files (``wag.artifacts``): one panel per pretraining set, the paper's recipe."""

    kind = "released"
    default_binning = "paper"
    facet = "pretraining"
    counts_label = "integrated counts"
    tagger_label = "RAM++"
    reference_label = "ImageNet"

    def __init__(self, profile: Any) -> None:
        super().__init__(profile)
        self.root = paper_root(profile)

    @property
    def name(self) -> str:
        return "released files"

    def describe(self) -> str:
        A = self.params
        return f"released files: {self.root}\npretraining sets: {A.pretraining}; models: {A.models}; bootstrap resamples: {A.n_boot}"

    def paper_root(self) -> Path:
        return self.root

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

    def count_label(self, method: str) -> str:
        if method not in _COUNT_LABELS:
            raise SourceError(f"unknown count method {method!r}; use one of {', '.join(_COUNT_LABELS)}")
        return _COUNT_LABELS[method]

    def claim_subject(self, output_id: str) -> str:
        if output_id not in _CLAIM_SUBJECTS:
            raise self._unknown("claim", output_id, _CLAIM_SUBJECTS)
        return _CLAIM_SUBJECTS[output_id]

    def claim_note(self, output_id: str) -> str:
        return _CLAIM_NOTES.get(output_id, "")

    def columns(self, output_id: str) -> list[str]:
        if output_id not in _COLUMNS:
            raise self._unknown("columns", output_id, _COLUMNS)
        return list(_COLUMNS[output_id])

    def frequencies(self) -> pd.DataFrame:
        """Every released count (``wag.artifacts.read_search_counts``)."""
        return read_search_counts(self.root)

    def misalignment(self) -> pd.DataFrame:
        """The released misalignment table (``wag.artifacts.read_misalignment``)."""
        return read_misalignment(self.root)

    def classification_datasets(self) -> None:
        """None: the paper's 17 classification sets of §5."""
        return None

    def pretrainings(self) -> None:
        """None: the paper's four pretraining sets of §5."""
        return None

    def _why_missing(self, what: str) -> None:
        return None  # the released files hold every section's inputs

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

    # -- one concept looked up -------------------------------------------------------------------
    def input_files(self) -> list[Path]:
        """Every released file (the counts and evaluations a lookup reads)."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())

    def examples(
        self, concepts: list[str], *, n: int, seed: int, hits: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, str | None]:
        """None: the released files hold counts, not captions or sample ids."""
        return pd.DataFrame(columns=EXAMPLE_COLUMNS), NO_SAMPLES

    def count_new(self, names: list[str]) -> NewCounts:
        """None: the released files hold the paper's counts, not the pretraining corpora to count a new concept in."""
        return NewCounts(
            None,
            None,
            "the released files hold the paper's counts of its concepts only, not the pretraining captions to count a "
            "new concept in; count it on your own corpus (`wag count`, or a study: `wag lookup --profile STUDY`)",
        )

    # -- §6: the 40 models of the paper, ImageNet as the reference -------------------------------
    def letitwag_points(self) -> pd.DataFrame:
        from wag.analysis.sections import let_it_wag_results as liw  # lazy: it imports altair (~1.5 s)

        return liw.fig6_points(self.root)

    def letitwag_fits(self, points: pd.DataFrame) -> pd.DataFrame:
        from wag.analysis.sections import let_it_wag_results as liw  # lazy: it imports altair

        return liw.fig6_fits(points)

    def letitwag_chart(self, points: pd.DataFrame, fits: pd.DataFrame) -> alt.LayerChart:
        from wag.analysis.sections import let_it_wag_results as liw  # lazy: it imports altair

        return liw.fig6_chart(points, fits)

    def letitwag_table(self, points: pd.DataFrame) -> pd.DataFrame:
        from wag.analysis.sections import let_it_wag_results as liw  # lazy: it imports altair

        return liw.table9(points)

    def letitwag_tail(self) -> None:
        """None: the released files hold no counts of the Let It Wag! classes beside the others."""
        return None
