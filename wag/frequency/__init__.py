"""The frequency engine: caption counts (several variants), image tags, integrated counts, misalignment."""

from wag.frequency.count import VARIANTS, CountResult, FrequencyError, count_captions, match_texts

__all__ = ["VARIANTS", "CountResult", "FrequencyError", "count_captions", "match_texts"]
