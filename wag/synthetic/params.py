"""Profile section `synthetic:` (validated by pydantic; unknown keys are errors).

Every field has a default: the defaults are the small `ci` world. `params/default.yaml` and
`params/synthetic.yaml` enlarge it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from wag.schema import StrictModel


class WorldParams(StrictModel):
    """The synthetic image-caption world: concepts, their frequencies, rendering, captions, test sets."""

    n_concepts: int = Field(30, ge=2, le=5000, description="number of atomic concepts K")
    law: Literal["loguniform", "zipf", "explicit"] = Field(
        "loguniform", description="how per-concept image counts are set (log-uniform spreads them evenly in log space)"
    )
    min_count: int = Field(2, ge=0, description="smallest per-concept image count (loguniform / zipf floor)")
    max_count: int = Field(300, ge=1, description="largest per-concept image count")
    zipf_exponent: float = Field(1.0, gt=0, description="exponent s of count ∝ rank^-s when law = zipf")
    counts: list[int] | None = Field(None, description="explicit per-concept image counts (law = explicit), length n_concepts")
    concepts_per_image: list[float] = Field(
        [0.4, 0.35, 0.25], description="probabilities of 1, 2, 3 concepts in one pretraining image"
    )
    misalignment: float = Field(0.05, ge=0, le=1, description="fraction of captions with an error (absent concept named or present one missing)")
    filler_rate: float = Field(0.5, ge=0, le=1, description="probability that a caption gets filler words")
    noise: float = Field(0.08, ge=0, le=0.5, description="std of the per-pixel Gaussian noise (images in [0, 1])")
    n_test: int = Field(20, ge=1, description="held-out single-concept test images per concept (class-balanced)")
    n_retrieval: int = Field(200, ge=0, description="held-out image-caption pairs for retrieval evaluation")
    shard_size: int = Field(2000, ge=10, description="samples per WebDataset tar shard")

    @model_validator(mode="after")
    def _check(self) -> WorldParams:
        if self.min_count > self.max_count:
            raise ValueError(f"min_count ({self.min_count}) must be <= max_count ({self.max_count})")
        if self.law == "explicit":
            if self.counts is None or len(self.counts) != self.n_concepts:
                raise ValueError("law 'explicit' needs `counts`: a list of n_concepts non-negative integers")
        if self.counts is not None and any(c < 0 for c in self.counts):
            raise ValueError("`counts` must be non-negative integers")
        if len(self.concepts_per_image) != 3 or any(p < 0 for p in self.concepts_per_image) or sum(self.concepts_per_image) <= 0:
            raise ValueError("`concepts_per_image` must be three non-negative probabilities (for 1, 2, 3 concepts)")
        return self


class ModelParams(StrictModel):
    """Tiny open_clip models: one registered config ``wag-synth-w<width>`` per width (wag/synthetic/model_configs/)."""

    widths: list[Literal[32, 64, 128]] = Field([32, 64], min_length=1, description="model widths (configs wag-synth-w32/-w64/-w128)")
    headline_width: Literal[32, 64, 128] = Field(32, description="width used for the headline result and the experiments")

    @model_validator(mode="after")
    def _check(self) -> ModelParams:
        if self.headline_width not in self.widths:
            raise ValueError(f"headline_width {self.headline_width} must be one of widths {self.widths}")
        return self


class TrainParams(StrictModel):
    """CLIP training on CPU with open_clip's ClipLoss."""

    steps: int = Field(300, ge=1, description="optimizer steps")
    batch_size: int = Field(128, ge=2)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    warmup: int = Field(30, ge=0, description="linear warm-up steps, then cosine decay")
    loss: Literal["standard", "masked"] = Field("standard", description="standard ClipLoss, or same-concept pairs masked out of the negatives")
    threads: int = Field(1, ge=1, description="torch threads (OMP_WAIT_POLICY=PASSIVE is set too); 1 is fastest when cores are shared")


class InterventionParams(StrictModel):
    enabled: bool = True
    n_concepts: int = Field(6, ge=1, description="concepts whose frequency is changed")
    factor: float = Field(10.0, gt=0, description="their image counts are multiplied by this (10 = one decade up)")


class RebalanceParams(StrictModel):
    enabled: bool = True
    cap_quantile: float = Field(0.75, gt=0, le=1, description="head concepts are capped at this quantile of the counts")


class SimilarityParams(StrictModel):
    enabled: bool = True
    remove_fraction: float = Field(0.25, gt=0, lt=1, description="fraction of pretraining images removed, the most similar to any test image")


class LetItWagParams(StrictModel):
    enabled: bool = True
    k: int = Field(8, ge=1, description="tail concepts in the world's Let It Wag! benchmark")
    n_candidates: int = Field(30, ge=1, description="candidate images per tail concept before de-duplication")


class T2IParams(StrictModel):
    enabled: bool = True
    steps: int = Field(300, ge=1, description="diffusion training steps")
    batch_size: int = Field(64, ge=2)
    channels: list[int] = Field([32, 64], min_length=2, description="UNet2DModel block_out_channels")
    sample_steps: int = Field(20, ge=2, description="DDIM sampling steps")
    n_generated: int = Field(8, ge=1, description="generated images per concept")
    judge_steps: int = Field(300, ge=1, description="steps of the class-balanced judge classifier")


class CollisionParams(StrictModel):
    enabled: bool = True
    batch_sizes: list[int] = Field([32, 128], min_length=1, description="batch sizes of the sweep (same number of samples seen)")


class ExperimentParams(StrictModel):
    seeds: list[int] = Field([0], min_length=1, description="seeds of the headline world/training runs")
    n_bins: int = Field(8, ge=3, description="bins of the paper's binned recipe")
    bin_slice: list[int | None] = Field([None, None], description="kept bins [start, stop] (paper: [1, -1] for classification)")
    tagger_threshold: float = Field(0.5, ge=0, le=1, description="image-tag hit threshold for the synthetic tagger")
    n_boot: int = Field(300, ge=10, description="bootstrap resamples of the per-concept slope CI")
    intervention: InterventionParams = InterventionParams()
    rebalance: RebalanceParams = RebalanceParams()
    similarity: SimilarityParams = SimilarityParams()
    letitwag: LetItWagParams = LetItWagParams()
    t2i: T2IParams = T2IParams()
    collisions: CollisionParams = CollisionParams()

    @property
    def keep(self) -> slice:
        """The kept-bin slice as a Python slice."""
        return slice(*self.bin_slice)


class SyntheticParams(StrictModel):
    """Parameters of the synthetic stage. Every field has a default so small profiles can omit the section."""

    world: WorldParams = WorldParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    experiments: ExperimentParams = ExperimentParams()
