"""The paper's released files and the NeglectedTails LAION estimates: locating (local folder, cache or
pinned, checksummed download), readers to tidy tables, and concept-name reconciliation.

Modules: :mod:`~wag.artifacts.locate` (where the files are), :mod:`~wag.artifacts.names` (file names, model keys,
concept keys), one reader module per file family (:mod:`~wag.artifacts.counts`, :mod:`~wag.artifacts.evaluations`,
:mod:`~wag.artifacts.misalignment`, :mod:`~wag.artifacts.letitwag`, :mod:`~wag.artifacts.descriptions`,
:mod:`~wag.artifacts.neglected_tails`) over :mod:`~wag.artifacts.files` (what they share), and
:mod:`~wag.artifacts.join` (counts joined with performance).
"""

from wag.artifacts.counts import read_search_counts, search_counts_coverage, search_counts_files
from wag.artifacts.descriptions import read_descriptions
from wag.artifacts.errors import ArtifactNameError, ArtifactsRequestError
from wag.artifacts.evaluations import (
    missing_t2i_metrics,
    read_retrieval,
    read_t2i,
    read_zero_shot,
    read_zero_shot_full,
    t2i_metrics_expected,
)
from wag.artifacts.join import join_counts_performance, unmatched_names
from wag.artifacts.letitwag import (
    read_imagenet_accuracy,
    read_let_it_wag,
    read_let_it_wag_classes,
    read_let_it_wag_summary,
)
from wag.artifacts.locate import (
    NEGLECTED_TAILS,
    PAPER,
    ArtifactsMissingError,
    cache_root,
    load_registry,
    locate_paper_root,
    neglected_tails_root,
    paper_root,
    verify,
)
from wag.artifacts.misalignment import FIXED_DATASET_SIZES, read_misalignment
from wag.artifacts.names import (
    ALIASES,
    NEGLECTED_TAILS_DATASETS,
    normalize_name,
    parse_model_key,
    parse_search_counts_name,
    reconcile_key,
)
from wag.artifacts.neglected_tails import read_neglected_tails

__all__ = [
    "ALIASES",
    "FIXED_DATASET_SIZES",
    "NEGLECTED_TAILS",
    "NEGLECTED_TAILS_DATASETS",
    "PAPER",
    "ArtifactNameError",
    "ArtifactsMissingError",
    "ArtifactsRequestError",
    "cache_root",
    "join_counts_performance",
    "load_registry",
    "locate_paper_root",
    "missing_t2i_metrics",
    "neglected_tails_root",
    "normalize_name",
    "paper_root",
    "parse_model_key",
    "parse_search_counts_name",
    "read_descriptions",
    "read_imagenet_accuracy",
    "read_let_it_wag",
    "read_let_it_wag_classes",
    "read_let_it_wag_summary",
    "read_misalignment",
    "read_neglected_tails",
    "read_retrieval",
    "read_search_counts",
    "read_t2i",
    "read_zero_shot",
    "read_zero_shot_full",
    "reconcile_key",
    "search_counts_coverage",
    "search_counts_files",
    "t2i_metrics_expected",
    "unmatched_names",
    "verify",
]
