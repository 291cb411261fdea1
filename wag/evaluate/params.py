"""Profile section `evaluate:` (validated by pydantic; unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wag.core.schema import StrictModel


class ZeroShotParams(StrictModel):
    """Per-class zero-shot classification."""

    prompts: list[Literal["class", "simple", "ensemble", "descriptions"]] = Field(
        ["class"],
        description="prompt styles to evaluate: class '{c}', simple 'A photo of a {c}.', ensemble (per-dataset templates), descriptions (class descriptions: see descriptions)",
    )
    descriptions: str | None = Field(
        None,
        description="descriptions of the 'descriptions' prompt style: a JSON file (class name -> list of descriptions) or 'paper' (the paper's released gpt_descriptions); required by that style, never read otherwise",
    )
    batch_size: int = Field(256, ge=1, description="images (and prompts) per forward pass")


class RetrievalParams(StrictModel):
    """Per-concept image-text retrieval (paper §3)."""

    ks: list[int] = Field([1, 5, 10], description="recall@k cut-offs")
    captions_per_image: int = Field(5, ge=1, description="captions kept per image (the paper keeps the first 5)")
    min_images: int = Field(10, ge=1, description="keep concepts found in at least this many images (the paper: 10)")
    variant: str = Field("phrase", description="concept matching variant passed to wag.frequency.match_texts")


class T2IParams(StrictModel):
    """Text-to-image generation and scoring."""

    images_per_prompt: int = Field(4, ge=1, description="K images generated per prompt")
    seed: int = Field(0, description="seed of the first image; image j of a prompt uses seed + j")
    steps: int = Field(50, ge=1, description="denoising steps (the paper: 50)")
    guidance_scale: float = Field(7.5, ge=0, description="classifier-free guidance scale")
    clip_model: str = Field(
        "ViT-L-14/openai", description="open_clip model (registry name or ARCH@ckpt) for CLIP-score"
    )
    aesthetic_weights: str | None = Field(
        None, description="path of the LAION aesthetic predictor weights (safetensors); absent → no aesthetics"
    )


class LetItWagParams(StrictModel):
    """The Let It Wag! builder (paper §6)."""

    k: int = Field(290, ge=1, description="number of least-frequent non-zero concepts")
    images_per_class: int = Field(450, ge=1, description="class-balanced images per concept")
    phash_bits: int = Field(
        10,
        ge=0,
        le=64,
        description="perceptual-hash Hamming distance (bits) under which two images of a class are duplicates",
    )
    outlier_std: float = Field(
        3.0,
        gt=0,
        description="drop images whose feature distance to the class centroid exceeds mean + outlier_std * std",
    )


class EvaluateParams(StrictModel):
    """Parameters of the evaluate stage. Every field has a default so small profiles can omit the section."""

    models: list[str] = Field(
        [], description="models to evaluate: registry names (e.g. ViT-B-16/laion400m) or ARCH@/path/to/ckpt"
    )
    datasets: list[str] = Field(
        [], description="datasets to evaluate (names known to wag.evaluate.datasets, or image-folder paths)"
    )
    data_root: str = Field("data", description="root folder of downstream datasets (relative to the project root)")
    device: str = Field("cpu", description="torch device")
    num_workers: int = Field(0, ge=0, description="DataLoader workers (0 = in the main process)")
    allow_download: bool = Field(
        False, description="let open_clip / diffusers download weights; False fails fast when weights are absent"
    )
    cache_features: bool = Field(True, description="cache image features keyed by (model, dataset, preprocessing)")
    zeroshot: ZeroShotParams = ZeroShotParams()
    retrieval: RetrievalParams = RetrievalParams()
    t2i: T2IParams = T2IParams()
    let_it_wag: LetItWagParams = LetItWagParams()
