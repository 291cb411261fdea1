"""Profile section `analysis:` (validated by pydantic; unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from wag.core.schema import StrictModel

PAPER_CLASSIFICATION_DATASETS = [
    "imagenet",
    "sun397",
    "ucf101",
    "caltech101",
    "eurosat",
    "cub",
    "caltech256",
    "flowers102",
    "dtd",
    "birdsnap",
    "food101",
    "stanfordcars",
    "fgvcaircraft",
    "oxfordpets",
    "country211",
    "cifar10",
    "cifar100",
    "imagenet-sketch",
]
PAPER_MODELS = [
    "cc3m/RN50",
    "cc3m/ViT-B-16",
    "cc12m/RN50",
    "cc12m/ViT-B-16",
    "yfcc15m/RN50",
    "yfcc15m/RN101",
    "yfcc15m/ViT-B-16",
    "laion400m/ViT-B-32",
    "laion400m/ViT-B-16",
    "laion400m/ViT-L-14",
]


class BinningParams(StrictModel):
    """How the §3 analyses bin (count, performance) pairs (``wag.analysis.binned.Binning``)."""

    recipe: Literal["auto", "paper", "quantile"] = Field(
        "auto",
        description="paper: the paper's equal-width bins and slices (exact on the released files); quantile: equal-count "
        "bins that work for any number of concepts; auto: paper on the released files, quantile on a study",
    )
    n_bins: int | None = Field(
        None,
        ge=2,
        description="paper: NB (default 12 classification, 7 retrieval/T2I); quantile: most bins (default 12)",
    )
    min_concepts_per_bin: int = Field(
        5, ge=1, description="quantile: about this many concepts per bin (3 bins at least)"
    )
    keep: tuple[int | None, int | None] | None = Field(
        None, description="[start, stop] slice of bins entering ρ (default: the paper's slice, or all bins)"
    )


class AnalysisParams(StrictModel):
    """Parameters of the analysis stage. Every field has a default so small profiles can omit the section."""

    n_boot: int = Field(
        1000,
        ge=0,
        le=1_000_000,
        description="bootstrap resamples for the per-concept slope CI (0 = no CI; at most 10^6)",
    )
    ci_level: float = Field(0.95, gt=0, lt=1, description="level of every confidence interval")
    pretraining: list[str] = Field(
        ["cc3m", "cc12m", "yfcc15m", "laion400m"], description="pretraining sets shown in the §3 figures"
    )
    models: list[str] = Field(PAPER_MODELS, description="models as '<pretraining>/<arch>' (the paper's 10)")
    classification_datasets: list[str] = Field(
        PAPER_CLASSIFICATION_DATASETS, description="pooled classification sets (17 + ImageNet-Sketch)"
    )
    retrieval_datasets: list[str] = Field(["coco", "flickr"], description="pooled retrieval sets")
    retrieval_directions: list[str] = Field(["i2t", "t2i"], description="retrieval directions (Figs. 9-10)")
    retrieval_ks: list[int] = Field([1, 5, 10], description="recall@k values (Figs. 9-10)")
    prompts: list[str] = Field(
        ["simple", "ensemble"], description="prompt strategies of Fig. 8 (the main figures use 'class')"
    )
    t2i_pretraining: str = Field("laion_aesthetics", description="counts the T2I models are compared with")
    t2i_models: list[str] | None = Field(None, description="HEIM models to plot (None = all 24)")
    tagger_thresholds: list[float] = Field([0.5, 0.6, 0.7], description="RAM++ thresholds of Fig. 24")
    table6_edges: list[int] = Field([0, 1, 10, 100, 1000, 10000], description="Tab. 6 bins: 0, [1,10), [10,100), ...")
    source: Literal["auto", "released", "study"] = Field(
        "auto",
        description="where the notebooks read their tables (wag.sources): released = the paper's files; study = the "
        "profile's study: folder (written by `wag study run`); auto = study when the profile has a study: section",
    )
    binning: BinningParams = Field(
        BinningParams(), description="how the §3 analyses bin concepts (wag.analysis.binned)"
    )

    @field_validator("models")
    @classmethod
    def _models_have_pretraining(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m.count("/") != 1 or not all(m.split("/"))]
        if bad:
            raise ValueError(f"models must look like 'cc3m/RN50' (pretraining/arch); got {bad}")
        return v

    @field_validator("table6_edges")
    @classmethod
    def _edges_increasing(cls, v: list[int]) -> list[int]:
        if len(v) < 2 or any(b <= a for a, b in zip(v, v[1:])) or v[0] != 0:
            raise ValueError(f"table6_edges must start at 0 and increase strictly, got {v}")
        return v

    def model_pairs(self, pretraining: list[str] | None = None) -> list[tuple[str, str]]:
        """(pretraining, arch) of the selected models, restricted to ``pretraining`` sets if given."""
        sets = self.pretraining if pretraining is None else pretraining
        return [(p, a) for p, a in (m.split("/") for m in self.models) if p in sets]
