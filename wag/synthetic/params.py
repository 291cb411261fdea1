"""Profile section `synthetic:` (validated by pydantic; unknown keys are errors).

Every field has a default: the defaults are the small `ci` world. `params/default.yaml` and
`params/synthetic.yaml` enlarge it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from wag.core.schema import StrictModel


class WorldParams(StrictModel):
    """The synthetic image-caption world: concepts, their frequencies, rendering, captions, test sets."""

    n_concepts: int = Field(30, ge=2, le=5000, description="number of atomic concepts K")
    law: Literal["loguniform", "zipf", "explicit"] = Field(
        "loguniform", description="how per-concept image counts are set (log-uniform spreads them evenly in log space)"
    )
    min_count: int = Field(2, ge=0, description="smallest per-concept image count (loguniform / zipf floor)")
    max_count: int = Field(300, ge=1, description="largest per-concept image count")
    zipf_exponent: float = Field(1.0, gt=0, description="exponent s of count ∝ rank^-s when law = zipf")
    counts: list[int] | None = Field(
        None, description="explicit per-concept image counts (law = explicit), length n_concepts"
    )
    concepts_per_image: list[float] = Field(
        [0.4, 0.35, 0.25], description="probabilities of 1, 2, 3 concepts in one pretraining image"
    )
    misalignment: float = Field(
        0.05, ge=0, le=1, description="fraction of captions with an error (absent concept named or present one missing)"
    )
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
        if (
            len(self.concepts_per_image) != 3
            or any(p < 0 for p in self.concepts_per_image)
            or sum(self.concepts_per_image) <= 0
        ):
            raise ValueError("`concepts_per_image` must be three non-negative probabilities (for 1, 2, 3 concepts)")
        return self


class ModelParams(StrictModel):
    """Tiny open_clip models: one registered config ``wag-synth-w<width>`` per width (wag/synthetic/model_configs/)."""

    widths: list[Literal[32, 64, 128]] = Field(
        [32, 64], min_length=1, description="model widths (configs wag-synth-w32/-w64/-w128)"
    )
    headline_width: Literal[32, 64, 128] = Field(
        32, description="width used for the headline result and the experiments"
    )
    scale_seeds: list[int] | None = Field(
        None, description="seeds trained at the other widths (default: every headline seed)"
    )

    @model_validator(mode="after")
    def _check(self) -> ModelParams:
        if self.headline_width not in self.widths:
            raise ValueError(f"headline_width {self.headline_width} must be one of widths {self.widths}")
        return self

    def widths_for(self, seed: int) -> list[int]:
        """The widths trained for ``seed``: every width for a scale seed, else the headline width only."""
        if self.scale_seeds is None or seed in self.scale_seeds:
            return list(self.widths)
        return [self.headline_width]


class TrainParams(StrictModel):
    """CLIP training on CPU with open_clip's ClipLoss."""

    steps: int = Field(300, ge=1, description="optimizer steps")
    batch_size: int = Field(128, ge=2)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    warmup: int = Field(30, ge=0, description="linear warm-up steps, then cosine decay")
    loss: Literal["standard", "masked"] = Field(
        "standard", description="standard ClipLoss, or same-concept pairs masked out of the negatives"
    )
    threads: int = Field(
        1,
        ge=1,
        description="torch threads of each training (CLIP and the world's tagger; OMP_WAIT_POLICY=PASSIVE is set too): "
        "part of the cache keys, since it changes the weights at float level; 1 is fastest when cores are shared, and keep "
        "threads × synthetic.jobs at most the number of cores",
    )
    fused_optimizer: bool = Field(
        True, description="fused AdamW kernel (several times faster on CPU; False: torch's per-tensor loop)"
    )


class TaggerParams(StrictModel):
    """The image tagger of the synthetic world's image and integrated counts (the paper's RAM++ role)."""

    kind: Literal["trained", "clip"] = Field(
        "trained",
        description="trained: a multi-label CNN trained on fresh labelled renders (the RAM++ analogue); "
        "clip: OpenClipTagger on the headline CLIP model itself",
    )
    per_concept: int = Field(
        60, ge=5, description="fresh training renders per concept (1-3 concepts per image, as the corpus)"
    )
    steps: int = Field(200, ge=1, description="training steps")
    batch_size: int = Field(128, ge=2)
    width: int = Field(16, ge=4, le=128, description="CNN width (channels of the first block)")
    pos_weight: float = Field(5.0, gt=0, description="BCE weight of positive labels (few of K concepts are present)")
    lr: float = Field(3e-3, gt=0, description="peak AdamW learning rate (one-cycle schedule)")
    n_val: int = Field(20, ge=1, description="held-out fresh renders per concept for the tagger's own validation")


class InterventionParams(StrictModel):
    enabled: bool = True
    n_concepts: int = Field(6, ge=1, description="concepts whose frequency is changed")
    factor: float = Field(10.0, gt=0, description="their image counts are multiplied by this (10 = one decade up)")


class RebalanceParams(StrictModel):
    enabled: bool = True
    cap_quantile: float = Field(0.75, gt=0, le=1, description="head concepts are capped at this quantile of the counts")


class PlanningParams(StrictModel):
    enabled: bool = True
    budget: int | None = Field(
        None,
        ge=1,
        description="samples added per world (None: as many as the intervention adds, so the ×10 intervention is the "
        "first point of the comparison at the same budget)",
    )
    strategies: list[Literal["planner", "uniform", "balanced"]] = Field(
        ["planner", "uniform", "balanced"], min_length=1, description="allocations retrained (wag.analysis.plan)"
    )
    seeds: list[int] | None = Field(
        None, min_length=1, description="worlds retrained per allocation (default: every seed of experiments.seeds)"
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="level of the law's prediction intervals (1 - alpha)")


class SimilarityParams(StrictModel):
    enabled: bool = True
    remove_fraction: float = Field(
        0.25, gt=0, lt=1, description="fraction of pretraining images removed, the most similar to any test image"
    )


class LetItWagParams(StrictModel):
    enabled: bool = True
    k: int = Field(8, ge=1, description="tail concepts in the world's Let It Wag! benchmark")
    n_candidates: int = Field(30, ge=1, description="candidate images per tail concept before de-duplication")


class T2IParams(StrictModel):
    enabled: bool = True
    steps: int = Field(300, ge=1, description="diffusion training steps")
    batch_size: int = Field(64, ge=2)
    channels: list[int] = Field([32, 64], min_length=2, description="UNet2DModel block_out_channels")
    sample_steps: int = Field(10, ge=2, description="DDIM sampling steps")
    train_timesteps: int = Field(200, ge=10, description="DDPM num_train_timesteps (also the DDIM schedule)")
    beta_schedule: Literal["linear", "squaredcos_cap_v2"] = Field(
        "linear",
        description="DDPM noise schedule (linear betas 1e-4..0.02 over train_timesteps; measured better than cosine here)",
    )
    n_generated: int = Field(8, ge=1, description="generated images per concept")
    judge_steps: int = Field(250, ge=1, description="steps (batch 128) of the class-balanced judge classifier")
    judge_per_class: int = Field(60, ge=2, description="fresh training renders per concept for the judge")
    patch: Literal[1, 2, 4] = Field(
        1, description="pixel-unshuffle factor: the UNet sees (resolution/patch)² × 3·patch² tensors"
    )
    prediction: Literal["epsilon", "sample", "v_prediction"] = Field("v_prediction", description="DDPM training target")
    lr: float = Field(3e-3, gt=0, description="peak AdamW learning rate (linear warmup, cosine decay)")
    resolution: Literal[8, 16, 32] = Field(
        16, description="pixels of the T2I analogue's studio renders (generated and judged)"
    )
    radius: float = Field(0.42, gt=0, le=0.5, description="object radius as a fraction of the image size")
    scale_jitter: float = Field(0.08, ge=0, lt=1, description="radius × U(1-j, 1+j)")
    rotation: float = Field(0.25, ge=0, description="pose angle ~ U(-rotation, rotation) radians")
    shift: float = Field(0.5, ge=0, description="object centre offset ~ U(-shift, shift) pixels")
    render_noise: float = Field(0.02, ge=0, description="pixel noise std of the studio renders (images in [0, 1])")


class CollisionParams(StrictModel):
    enabled: bool = True
    batch_sizes: list[int] = Field(
        [32, 128], min_length=1, description="batch sizes of the sweep (same number of samples seen)"
    )


class ExperimentParams(StrictModel):
    seeds: list[int] = Field([0], min_length=1, description="seeds of the headline world/training runs")
    n_bins: int = Field(8, ge=3, description="bins of the paper's binned recipe")
    bin_slice: list[int | None] = Field(
        [None, None], description="kept bins [start, stop] (paper: [1, -1] for classification)"
    )
    tagger_threshold: float = Field(0.5, ge=0, le=1, description="image-tag hit threshold for the synthetic tagger")
    tagger: TaggerParams = TaggerParams()
    n_boot: int = Field(
        300, ge=10, le=1_000_000, description="bootstrap resamples of the per-concept slope CI (at most 10^6)"
    )
    intervention: InterventionParams = InterventionParams()
    rebalance: RebalanceParams = RebalanceParams()
    planning: PlanningParams = PlanningParams()
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
    jobs: int = Field(
        1,
        ge=1,
        le=64,
        description="worker processes that train a notebook's independent models (CLIP, taggers) at the same time "
        "before its experiments run (wag.synthetic.jobs); 1 trains each one in the notebook's process when first needed. "
        "Never part of a cache key: the results depend on the other params only (each training uses train.threads threads)",
    )
