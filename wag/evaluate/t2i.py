"""Text-to-image evaluation per concept: generate K images per prompt with fixed seeds and score them.

Scores per image: CLIP-score (open_clip; 100 · max(cos(image, prompt), 0), the torchmetrics convention) and,
when its weights are supplied, the LAION aesthetic predictor (linear or MLP head on normalised CLIP image
embeddings). Per prompt: expected (mean over the K images) and max; per concept: the mean over its prompts,
as in the paper's T2I files (metric names ``exp_clipscore``, ``max_clipscore``, ``exp_aesthetics``,
``max_aesthetics``; raw scales). Generated images are kept as PNG so an interrupted run resumes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from wag.errors import WagError
from wag.evaluate.models import LoadedModel, ModelWeightsMissingError, load_clip
from wag.evaluate.params import T2IParams
from wag.io import atomic_path


def load_pipeline(name_or_path: str, *, device: str = "cpu", allow_download: bool = False, torch_dtype: Any = None) -> Any:
    """A diffusers pipeline from a local folder (``save_pretrained`` layout) or a hub name (e.g.
    ``stabilityai/stable-diffusion-2-1``); without ``allow_download`` only already-cached weights are used."""
    from diffusers import DiffusionPipeline

    local = Path(os.path.expanduser(name_or_path)).is_dir()
    try:
        pipe = DiffusionPipeline.from_pretrained(name_or_path, local_files_only=local or not allow_download, torch_dtype=torch_dtype)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise ModelWeightsMissingError(
            f"diffusers pipeline '{name_or_path}' could not be loaded ({str(exc)[:200]}). Give a local folder written by "
            "pipeline.save_pretrained(), or allow downloads (evaluate.allow_download: true) on a machine with internet."
        ) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _byte_vocab(folder: Path) -> tuple[Path, Path]:
    """vocab.json / merges.txt of a character-level CLIP BPE (no merges): enough for an offline tiny tokenizer."""
    import json

    from open_clip.tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return folder / "vocab.json", folder / "merges.txt"


def tiny_pipeline(folder: str | os.PathLike[str] | None = None, *, seed: int = 0) -> Any:
    """A random-init Stable-Diffusion-style pipeline built from configs only (no download): tiny UNet2DCondition,
    AutoencoderKL, CLIP text encoder and a character tokenizer; 16 px images. For tests and the ci profile."""
    import tempfile

    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, norm_num_groups=4, attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4, sample_size=16,
    )
    d = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="wag_tiny_t2i_"))
    vocab, merges = _byte_vocab(d / "tokenizer")
    tok = CLIPTokenizer(str(vocab), str(merges), model_max_length=32)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_attention_heads=2,
                                        num_hidden_layers=2, max_position_embeddings=32, bos_token_id=tok.bos_token_id,
                                        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class AestheticPredictor(torch.nn.Module):
    """LAION aesthetic predictor: a chain of linear layers (v1: one; v2: five, no activations) on normalised CLIP
    image embeddings. Built from the layer shapes in a safetensors file (keys ``*.weight`` / ``*.bias``)."""

    def __init__(self, layers: Sequence[torch.nn.Linear]) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x.squeeze(-1)

    @classmethod
    def from_safetensors(cls, path: str | os.PathLike[str]) -> AestheticPredictor:
        from safetensors.torch import load_file

        p = Path(path)
        if not p.is_file():
            raise ModelWeightsMissingError(f"aesthetic predictor weights {p} not found (convert the LAION predictor .pth to safetensors)")
        sd = load_file(str(p))
        prefixes = sorted({k.rsplit(".", 1)[0] for k in sd if k.endswith(".weight")}, key=lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)])
        if not prefixes:
            raise WagError(f"{p} holds no '*.weight' tensors of linear layers")
        layers = []
        for pre in prefixes:
            w = sd[f"{pre}.weight"]
            lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=f"{pre}.bias" in sd)
            lin.weight.data.copy_(w)
            if lin.bias is not None:
                lin.bias.data.copy_(sd[f"{pre}.bias"])
            layers.append(lin)
        return cls(layers).eval()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "x"


def generate_images(pipe: Any, prompt: str, *, k: int, seed: int, steps: int, guidance_scale: float, out_dir: Path | None = None) -> list[Any]:
    """K images for one prompt, image j from seed + j (reused from ``out_dir`` when already generated)."""
    from PIL import Image

    images = []
    for j in range(k):
        path = out_dir / f"{seed + j}.png" if out_dir is not None else None
        if path is not None and path.is_file():
            images.append(Image.open(path).convert("RGB"))
            continue
        gen = torch.Generator("cpu").manual_seed(seed + j)
        img = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance_scale, generator=gen, output_type="pil").images[0]
        if path is not None:
            with atomic_path(path) as tmp:
                img.save(tmp, format="PNG")
        images.append(img)
    return images


def score_images(clip: LoadedModel, images: Sequence[Any], prompt: str, aesthetic: AestheticPredictor | None = None) -> dict[str, np.ndarray]:
    """Per-image CLIP-score (100 · max(cos, 0)) and aesthetic score (if a predictor is given)."""
    with torch.inference_mode():
        f = torch.nn.functional.normalize(clip.encode_image(torch.stack([clip.preprocess(im) for im in images])), dim=-1)
        t = torch.nn.functional.normalize(clip.model.encode_text(clip.tokenizer([prompt]).to(clip.device)).float(), dim=-1)
        out = {"clipscore": (100 * (f @ t.T).squeeze(1).clamp(min=0)).cpu().numpy()}
        if aesthetic is not None:
            out["aesthetics"] = aesthetic(f.cpu()).numpy()
    return out


def evaluate_t2i(
    pipe: Any,
    prompts: Mapping[str, Sequence[str]],
    *,
    dataset_name: str = "t2i",
    model_name: str | None = None,
    params: T2IParams | None = None,
    clip: LoadedModel | None = None,
    image_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Per-concept expected/max CLIP-score (and aesthetics) of ``pipe`` on ``prompts`` ({concept: [prompts]}).

    Returns the performance table (task=t2i, metric in exp_/max_ clipscore/aesthetics, raw scale, pretraining and
    prompt empty as in ``wag.artifacts.read_t2i``) plus ``n_prompts``.
    """
    P = params or T2IParams()
    if clip is None:
        clip = load_clip(P.clip_model)
    aest = AestheticPredictor.from_safetensors(P.aesthetic_weights) if P.aesthetic_weights else None
    name = model_name or getattr(getattr(pipe, "config", None), "_name_or_path", None) or type(pipe).__name__
    if not prompts:
        raise WagError("no concept prompts given")
    rows = []
    for concept, plist in tqdm(list(prompts.items()), desc=f"t2i {name}", disable=not progress):
        if not plist or any(not str(p).strip() for p in plist):
            raise WagError(f"concept '{concept}' has an empty prompt; give at least one non-empty prompt per concept")
        per_prompt: dict[str, list[tuple[float, float]]] = {}
        for pi, prompt in enumerate(plist):
            sub = Path(image_dir) / _slug(concept) / f"p{pi}" if image_dir is not None else None
            imgs = generate_images(pipe, prompt, k=P.images_per_prompt, seed=P.seed, steps=P.steps, guidance_scale=P.guidance_scale, out_dir=sub)
            for metric, vals in score_images(clip, imgs, prompt, aest).items():
                per_prompt.setdefault(metric, []).append((float(vals.mean()), float(vals.max())))
        for metric, pairs in per_prompt.items():
            arr = np.array(pairs)
            for agg, col in (("exp", 0), ("max", 1)):
                rows.append({"concept": concept, "dataset": dataset_name, "task": "t2i", "model": name, "pretraining": "",
                             "prompt": "", "metric": f"{agg}_{metric}", "value": float(arr[:, col].mean()), "n_prompts": len(pairs)})
    return pd.DataFrame(rows)
