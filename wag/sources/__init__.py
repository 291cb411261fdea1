"""A source hands the analysis the same tables whoever made them: the paper's released files or a study folder.

:func:`open_source` picks it from the profile: ``analysis.source`` (``released`` / ``study``; default
``auto`` = the study when the profile has a ``study:`` section, else the released files). Both answer every
call of the abstract :class:`~wag.sources.base.Source`, so a notebook never asks which one it holds:

* :meth:`~Source.classification` / :meth:`~Source.retrieval`: per-concept zero-shot accuracy / recall joined
  with counts (the input of :mod:`wag.analysis.fits`), plus the names without a partner;
* :meth:`~Source.count_types` / :meth:`~Source.count_type`: on the released files the paper's own labels
  (``integrated@0.7``); on a study the names of :func:`wag.core.tables.variant_name` (``phrase``,
  ``tagger:<name>@<t>``, ``integrated:<name>@<t>``) at the study's headline threshold;
* the labels, claims and table columns whose wording differs by source (``counts_label``, ``claim(id)``, ...);
* :meth:`~Source.missing`: why a section's inputs are absent (no retrieval set, no T2I, no Let It Wag! pool), or None;
* :attr:`~Source.binning`: the :class:`~wag.analysis.binned.Binning` of the profile (``analysis.binning``;
  ``auto``: the paper's recipe on the released files, equal-count bins on a study).

``base.py`` holds the abstract source, ``released.py`` and ``study.py`` the two implementations.
"""

from __future__ import annotations

from typing import Any

from wag.sources.base import KINDS, PAPER_THRESHOLD, SECTION_INPUTS, Source, SourceError, binning_of, source_kind
from wag.sources.released import ReleasedSource
from wag.sources.study import StudySource

__all__ = [
    "KINDS",
    "PAPER_THRESHOLD",
    "SECTION_INPUTS",
    "ReleasedSource",
    "Source",
    "SourceError",
    "StudySource",
    "binning_of",
    "made_from",
    "open_source",
    "source_kind",
    "study_source",
]


def open_source(profile: Any) -> Source:
    """The profile's source (see :func:`source_kind`)."""
    return StudySource(profile) if source_kind(profile) == "study" else ReleasedSource(profile)


def made_from(profile: Any) -> str:
    """What a profile's outputs are made from, for the output record: ``study 'NAME' (corpus 'CORPUS')`` on a study,
    else ``profile 'NAME'`` (the released files, the synthetic world and the generated corpus, as each output says)."""
    if source_kind(profile) == "study":
        return f"study '{profile.study.name}' (corpus '{profile.study.corpus.name}')"
    return f"profile '{profile.name}'"


def study_source(profile: Any) -> tuple[StudySource | None, str | None]:
    """``(the profile's study source, None)``, or ``(None, why there is none)`` when its source is the released files.

    For the notebook sections about a user's own corpus: they ask this instead of testing the source's kind.
    """
    if source_kind(profile) != "study":
        return None, "this profile declares no study: section; the released files' counts are analysed in notebook 5"
    return StudySource(profile), None
