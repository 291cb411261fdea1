"""What every source answers: the abstract :class:`Source` a notebook talks to, and the profile's choice of one.

A notebook asks a source for its tables, its count types, the labels and claims whose wording depends on where
the tables come from, and why an input is absent; it never asks which kind of source it holds.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from wag.analysis import claims
from wag.analysis.binned import Binning
from wag.core.errors import WagError

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

KINDS = ("released", "study")
#: The RAM++ threshold of the paper's headline image and integrated counts.
PAPER_THRESHOLD = 0.7
#: Columns of :meth:`Source.examples`: one example sample of a concept (``image``: where its image is, or "").
EXAMPLE_COLUMNS = ["concept", "sample_id", "caption", "image"]
#: The section inputs :meth:`Source.missing` answers for.
SECTION_INPUTS = (
    "classification",
    "retrieval",
    "t2i",
    "misalignment",
    "letitwag",
    "pretraining_correlation",
    "paper",  # the paper's own numbers: the cells that compare with what the paper printed
)


class SourceError(WagError, ValueError):
    """The profile's source cannot be opened (no study section, study not run yet, ...)."""


@dataclass(frozen=True)
class NewCounts:
    """Concepts counted on the fly (:meth:`Source.count_new`): frequencies rows (with ``key``) and their caption hits
    (``concept, sample_id``); both None, with ``why``, when the source has no corpus to count in."""

    counts: pd.DataFrame | None
    hits: pd.DataFrame | None
    why: str | None = None


def as_list(x: str | int | Iterable[Any] | None) -> list[Any] | None:
    """``None`` stays None; one value becomes a one-element list."""
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


def binning_of(profile: Any, auto: str) -> Binning:
    """The profile's ``analysis.binning`` as a :class:`Binning`; ``auto`` is the recipe ``recipe: auto`` stands for."""
    b = profile.analysis.binning
    recipe = b.recipe if b.recipe != "auto" else auto
    keep = slice(*b.keep) if b.keep is not None else None
    return Binning(recipe=recipe, n_bins=b.n_bins, min_per_bin=b.min_concepts_per_bin, keep=keep)


class Source(abc.ABC):
    """Tables, count types, labels and claims for the notebooks, from the paper's released files or a study."""

    #: ``released`` or ``study``: for logs and :func:`source_kind`; notebooks ask the methods below instead.
    kind: ClassVar[str]
    #: The binning recipe of ``analysis.binning.recipe: auto`` on this source.
    default_binning: ClassVar[str]
    #: How the §3 facets split the panels: one panel per value of this column.
    facet: ClassVar[str]

    def __init__(self, profile: Any) -> None:
        self.profile = profile
        self.params = profile.analysis
        self.binning = binning_of(profile, self.default_binning)

    # -- what the source is ----------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A short name of the source for titles."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the tables come from and what they hold (printed by each notebook)."""

    @abc.abstractmethod
    def paper_root(self) -> Path | None:
        """The folder of the paper's released files, for the cells that compare with the paper; None on a study."""

    # -- count types -----------------------------------------------------------------------------
    @abc.abstractmethod
    def count_types(self) -> list[str]:
        """The count types (``variant`` values) the §3 figures show."""

    @abc.abstractmethod
    def count_type(self, method: str, threshold: float | None = None) -> str | None:
        """The count type of ``method`` (text / image / integrated) at ``threshold`` (default: the headline one);
        None when the source has no such counts."""

    @abc.abstractmethod
    def thresholds(self) -> list[float]:
        """The image-tagger thresholds the source compares (empty without a tagger)."""

    def count_variants(self) -> dict[str, str]:
        """The count type of each method (text / image / integrated) at the headline threshold, as §5 uses them."""
        out = {m: self.count_type(m) for m in ("text", "image", "integrated")}
        return {m: v for m, v in out.items() if v is not None}

    # -- labels, claims and columns whose wording differs by source ------------------------------
    @property
    @abc.abstractmethod
    def counts_label(self) -> str:
        """How the §3 titles name the counts shown."""

    @property
    @abc.abstractmethod
    def tagger_label(self) -> str:
        """How titles name the image tagger (App. F)."""

    @property
    @abc.abstractmethod
    def reference_label(self) -> str:
        """How §6 names the accuracy Let It Wag! is compared with."""

    @abc.abstractmethod
    def count_label(self, method: str) -> str:
        """How App. D names the counts of one method (e.g. ``image-only (RAM++ ≥ 0.7)``)."""

    @abc.abstractmethod
    def claim_subject(self, output_id: str) -> str:
        """What the claim of a section output is about, in this source's words (``fig2``, ``table6``, ``fig24``,
        ``fig6``, ``table9``); :meth:`claim` computes the rest from the numbers."""

    def claim_note(self, output_id: str) -> str:
        """A fixed description appended to a computed claim (how the figure is drawn); empty by default."""
        return ""

    def claim(self, output_id: str, result: pd.DataFrame | None = None) -> str:
        """The claim of a section output, computed from the numbers it sits on (:mod:`wag.analysis.claims`).

        ``result`` is the output's fits (``fig2``, ``fig24``: the law holds only where every per-concept slope is
        positive with its CI above zero; otherwise the text says where it does not and why it may not, with this
        source's :meth:`count_caveats`), its bins table (``table6``: rises bin over bin?) or its Let It Wag! points
        (``fig6``: on how many models Let It Wag! trails; ``table9``: describes them).
        """
        subject = self.claim_subject(output_id)
        if output_id in ("fig2", "fig24"):
            text = claims.law_claim(self._need(result, output_id, "fits"), subject, caveats=self.count_caveats)
        elif output_id == "table6":
            text = claims.rises_claim(self._need(result, output_id, "table"), subject)
        elif output_id == "fig6":
            text = claims.trails_claim(self._need(result, output_id, "points"), self.reference_label)
        else:  # table9: a description of the points
            n = len(self._need(result, output_id, "points"))
            text = f"{subject} of the {n} model{'s' if n != 1 else ''} and their gap"
        note = self.claim_note(output_id)
        return f"{text}; {note}" if note else text

    def _need(self, result: pd.DataFrame | None, output_id: str, what: str) -> pd.DataFrame:
        if result is None:
            raise SourceError(
                f"the claim of {output_id!r} is computed from its numbers: pass its {what}, e.g. src.claim({output_id!r}, {what})"
            )
        return result

    def count_caveats(self, count_type: str) -> list[str]:
        """Why the counts of ``count_type`` may not be trusted (e.g. an image tagger that cannot tell the concepts
        apart); empty when nothing is known against them. Claims that a law does not hold name these."""
        return []

    def title(self, prefix: str, fits: pd.DataFrame, datasets: Iterable[str] | None = None) -> str:
        """A figure title that states the law only where ``fits`` support it and names the corpus, datasets, models
        and count types it was made from (:func:`wag.analysis.claims.law_title`)."""
        return claims.law_title(prefix, fits, datasets=datasets)

    @abc.abstractmethod
    def columns(self, output_id: str) -> list[str]:
        """The columns of a section table that differ by source (``table6``)."""

    def chart_column(self, row: str | None = None) -> str | None:
        """The facet column of a chart whose rows are ``row``: None when the panels would repeat the rows."""
        return None if self.facet == row else self.facet

    # -- tables ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def frequencies(self) -> pd.DataFrame:
        """Every count of the source's concepts (frequencies contract + ``key``)."""

    def counts_by_variant(self) -> pd.DataFrame:
        """One count per (concept key, pretraining, count type) (a concept shared by two datasets once)."""
        f = self.frequencies()
        return f.drop_duplicates(["key", "pretraining", "method", "variant"]).reset_index(drop=True)[
            ["concept", "key", "pretraining", "method", "variant", "count"]
        ]

    @abc.abstractmethod
    def misalignment(self) -> pd.DataFrame:
        """The misalignment table with the paper's columns (``fixed_size``, ``extracted_size``, ...)."""

    @abc.abstractmethod
    def classification_datasets(self) -> list[str] | None:
        """The classification datasets §5 reads (None: the paper's 17)."""

    @abc.abstractmethod
    def pretrainings(self) -> list[str] | None:
        """The pretraining sets §5 reads (None: the paper's four)."""

    @abc.abstractmethod
    def classification(
        self, *, prompts: str | Iterable[str] = "class", count_types: Iterable[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per-concept zero-shot accuracy joined with counts, and the names without a partner."""

    @abc.abstractmethod
    def retrieval(
        self,
        *,
        directions: str | Iterable[str] | None = None,
        ks: int | Iterable[int] | None = None,
        count_types: Iterable[str] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per-concept retrieval recall joined with counts, and the names without a partner."""

    def missing(self, what: str) -> str | None:
        """Why a section input (:data:`SECTION_INPUTS`) cannot be analysed on this source, or None."""
        if what not in SECTION_INPUTS:
            raise SourceError(f"unknown section input {what!r}; use {', '.join(SECTION_INPUTS)}")
        return self._why_missing(what)

    @abc.abstractmethod
    def _why_missing(self, what: str) -> str | None:
        """:meth:`missing` for a known section input."""

    # -- one concept looked up (`wag lookup`, :mod:`wag.sources.lookup`) --------------------------
    @abc.abstractmethod
    def input_files(self) -> list[Path]:
        """The files the source's tables are read from: their fingerprints key the cached lookup tables."""

    @abc.abstractmethod
    def examples(
        self, concepts: list[str], *, n: int, seed: int, hits: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, str | None]:
        """Up to ``n`` example samples per concept (:data:`EXAMPLE_COLUMNS`), drawn reproducibly (``seed``) from the
        caption hits (the source's own, or ``hits`` of :meth:`count_new`); ``(empty table, why)`` without samples."""

    @abc.abstractmethod
    def count_new(self, names: list[str]) -> NewCounts:
        """Count concepts the source does not know in its own corpus with its main text count type."""

    # -- §6 Let It Wag! --------------------------------------------------------------------------
    @abc.abstractmethod
    def letitwag_points(self) -> pd.DataFrame:
        """One row per model: its reference accuracy, its Let It Wag! accuracy and the gap (percent)."""

    @abc.abstractmethod
    def letitwag_fits(self, points: pd.DataFrame) -> pd.DataFrame:
        """Least-squares lines of Let It Wag! on the reference accuracy (below / above 50 %, all)."""

    @abc.abstractmethod
    def letitwag_chart(self, points: pd.DataFrame, fits: pd.DataFrame) -> alt.TopLevelMixin:
        """The Fig. 6 chart."""

    @abc.abstractmethod
    def letitwag_table(self, points: pd.DataFrame) -> pd.DataFrame:
        """The Tab. 9 table."""

    @abc.abstractmethod
    def letitwag_tail(self) -> pd.DataFrame | None:
        """Counts of the Let It Wag! classes beside the other concepts (None where the source has none)."""

    def _unknown(self, what: str, output_id: str, known: Iterable[str]) -> SourceError:
        return SourceError(f"no {what} for output {output_id!r} on a {self.kind} source; known: {', '.join(known)}")
