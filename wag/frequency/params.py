"""Profile section `frequency:` (validated by pydantic; unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wag.core.schema import StrictModel


class FrequencyParams(StrictModel):
    """Parameters of the frequency stage. Every field has a default so small profiles can omit the section."""

    variants: list[
        Literal["phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked"]
    ] = Field(
        ["phrase", "paper_lemmatized", "paper_lemmatized_chunked", "lowercased"],
        description="caption count variants computed by the notebook",
    )
    generated_captions: int = Field(20_000, ge=10, description="size of the generated caption corpus (notebook demo)")
    generated_concepts: int = Field(
        300, ge=2, description="how many of the paper's class names the generated corpus mentions"
    )
    workers: int = Field(1, ge=1, description="processes for counting")
    batch_size: int = Field(65_536, ge=1, description="captions per vectorised batch (memory bound)")
    tagger_thresholds: list[float] = Field(
        [0.5, 0.6, 0.7], description="image-tag probability thresholds (paper: 0.7 main, 0.5/0.6 ablation)"
    )
    tagger_threshold: float = Field(0.7, ge=0, le=1, description="threshold for integrated counts and misalignment")
