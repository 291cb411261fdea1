"""The frequency engine: caption counts (several variants), image tags, integrated counts, misalignment.

Caption counting, by job: :mod:`~wag.frequency.spec` (variants and what each searches), :mod:`~wag.frequency.engines`
(the matching engines), :mod:`~wag.frequency.shard` (one shard, resumable), :mod:`~wag.frequency.count` (a corpus).
"""

from wag.frequency.count import BACKENDS, CountResult, count_captions, match_texts
from wag.frequency.spec import VARIANTS, FrequencyError, Spec, as_concept_table, build_spec, check_variant

__all__ = [
    "BACKENDS",
    "VARIANTS",
    "CountResult",
    "FrequencyError",
    "Spec",
    "as_concept_table",
    "build_spec",
    "check_variant",
    "count_captions",
    "match_texts",
]
