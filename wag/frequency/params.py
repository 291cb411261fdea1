"""Profile section `frequency:` (validated by pydantic; unknown keys are errors)."""

from __future__ import annotations

from wag.schema import StrictModel


class FrequencyParams(StrictModel):
    """Parameters of the frequency stage. Every field has a default so small profiles can omit the section."""
