"""Base class for every parameter section: strict (unknown keys are errors) and immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and cannot be mutated after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)
