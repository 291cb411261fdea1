"""Profile section `analysis:` (validated by pydantic; unknown keys are errors)."""

from __future__ import annotations

from wag.schema import StrictModel


class AnalysisParams(StrictModel):
    """Parameters of the analysis stage. Every field has a default so small profiles can omit the section."""
