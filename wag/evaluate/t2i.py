"""Text-to-image evaluation per concept: generate K images per prompt with fixed seeds and score them.

Scores per image: CLIP-score (open_clip; 100 · max(cos(image, prompt), 0), the torchmetrics convention) and,
when its weights are supplied, the LAION aesthetic predictor (linear or MLP head on normalised CLIP image
embeddings). Per prompt: expected (mean over the K images) and max; per concept: the mean over its prompts,
as in the paper's T2I files (metric names ``exp_clipscore``, ``max_clipscore``, ``exp_aesthetics``,
``max_aesthetics``; raw scales). With a *judge* (any classifier over the concepts with ``concepts`` and
``scores(images) -> (N, K)``, e.g. a tagger checkpoint or the open_clip zero-shot tagger), also
``judged_accuracy``: the fraction of a concept's generated images whose top-scoring concept is the prompted
one. Generated images are kept as PNG so an interrupted run resumes.

Pipelines: any diffusers pipeline (a ``save_pretrained`` folder or a hub name), and wag's own
:class:`wag.evaluate.class_pipeline.ClassConditionalPipeline` (class-conditional models prompted by class name).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from wag.core.errors import WagError
from wag.core.ids import slug
from wag.core.io import atomic_path, read_json
from wag.evaluate.models import LoadedModel, ModelWeightsMissingError, load_clip
from wag.evaluate.params import T2IParams

#: ``_class_name`` values of a local ``model_index.json`` that load wag's own pipeline classes (an allow-list: code
#: named by a user's file is never imported)
WAG_PIPELINES = ("ClassConditionalPipeline",)
JUDGED_ACCURACY = "judged_accuracy"


def pipeline_class_name(folder: str | os.PathLike[str]) -> str | None:
    """``_class_name`` of a local pipeline folder's ``model_index.json`` (None if there is none)."""
    index = Path(os.path.expanduser(str(folder))) / "model_index.json"
    if not index.is_file():
        return None
    cfg = read_json(index)
    return cfg.get("_class_name") if isinstance(cfg, dict) else None


def load_pipeline(
    name_or_path: str, *, device: str = "cpu", allow_download: bool = False, torch_dtype: Any = None
) -> Any:
    """A diffusers pipeline from a local folder (``save_pretrained`` layout) or a hub name (e.g.
    ``stabilityai/stable-diffusion-2-1``); without ``allow_download`` only already-cached weights are used.
    A local folder whose ``model_index.json`` names one of wag's pipelines (:data:`WAG_PIPELINES`) loads that class."""
    from diffusers import DiffusionPipeline

    from wag.evaluate.class_pipeline import ClassConditionalPipeline  # imports diffusers, as this function does

    local = Path(os.path.expanduser(name_or_path)).is_dir()
    cls: Any = DiffusionPipeline
    if local and pipeline_class_name(name_or_path) == "ClassConditionalPipeline":
        cls = ClassConditionalPipeline
    low_mem = (
        importlib.util.find_spec("accelerate") is not None
    )  # without accelerate diffusers warns and falls back anyway
    try:
        pipe = cls.from_pretrained(
            name_or_path,
            local_files_only=local or not allow_download,
            torch_dtype=torch_dtype,
            low_cpu_mem_usage=low_mem,
        )
    except AttributeError as exc:  # model_index.json names a class diffusers does not have
        raise ModelWeightsMissingError(
            f"diffusers pipeline '{name_or_path}' could not be loaded: its model_index.json names pipeline class "
            f"'{pipeline_class_name(name_or_path) if local else '?'}', which is neither a diffusers pipeline nor one of wag's "
            f"({', '.join(WAG_PIPELINES)}) ({str(exc)[:120]})"
        ) from None
    except (OSError, ValueError) as exc:
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
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        norm_num_groups=4,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=16,
    )
    d = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="wag_tiny_t2i_"))
    vocab, merges = _byte_vocab(d / "tokenizer")
    tok = CLIPTokenizer(str(vocab), str(merges), model_max_length=32)
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tok),
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            max_position_embeddings=32,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
    )
    sched = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=tok,
        unet=unet,
        scheduler=sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
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
            raise ModelWeightsMissingError(
                f"aesthetic predictor weights {p} not found (convert the LAION predictor .pth to safetensors)"
            )
        sd = load_file(str(p))
        prefixes = sorted(
            {k.rsplit(".", 1)[0] for k in sd if k.endswith(".weight")},
            key=lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)],
        )
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


def generate_images(
    pipe: Any, prompt: str, *, k: int, seed: int, steps: int, guidance_scale: float, out_dir: Path | None = None
) -> list[Any]:
    """K images for one prompt, image j from seed + j (reused from ``out_dir`` when already generated).

    The images not yet on disk are made in one pipeline call (``num_images_per_prompt`` and one generator per
    image, seeded seed + j): the same images as one call per seed.
    """
    from PIL import Image

    paths = [out_dir / f"{seed + j}.png" if out_dir is not None else None for j in range(k)]
    images: list[Any] = [Image.open(p).convert("RGB") if p is not None and p.is_file() else None for p in paths]
    todo = [j for j in range(k) if images[j] is None]
    if todo:
        gens = [torch.Generator("cpu").manual_seed(seed + j) for j in todo]
        made = pipe(
            prompt,
            num_inference_steps=steps,
            guidance_scale=guidance_scale,
            generator=gens,
            num_images_per_prompt=len(todo),
            output_type="pil",
        ).images
        for j, img in zip(todo, made, strict=True):
            if paths[j] is not None:
                with atomic_path(paths[j]) as tmp:
                    img.save(tmp, format="PNG")
            images[j] = img
    return images


def judge_predictions(judge: Any, images: Sequence[Any]) -> np.ndarray:
    """Index (into ``judge.concepts``) of the top-scoring concept of each image."""
    return np.asarray(judge.scores(list(images))).argmax(axis=1)


def score_images(
    clip: LoadedModel, images: Sequence[Any], prompt: str, aesthetic: AestheticPredictor | None = None
) -> dict[str, np.ndarray]:
    """Per-image CLIP-score (100 · max(cos, 0)) and aesthetic score (if a predictor is given)."""
    with torch.inference_mode():
        f = torch.nn.functional.normalize(
            clip.encode_image(torch.stack([clip.preprocess(im) for im in images])), dim=-1
        )
        t = torch.nn.functional.normalize(
            clip.model.encode_text(clip.tokenizer([prompt]).to(clip.device)).float(), dim=-1
        )
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
    judge: Any = None,
    clipscore: bool = True,
) -> pd.DataFrame:
    """Per-concept expected/max CLIP-score (and aesthetics) of ``pipe`` on ``prompts`` ({concept: [prompts]}), and with a
    ``judge`` the judged accuracy.

    ``judge``: a classifier with ``concepts`` (names) and ``scores(PIL images) -> (N, len(concepts))``; every concept of
    ``prompts`` must be one of its concepts. ``clipscore=False`` skips CLIP-score and aesthetics (then a judge is needed).
    Returns the performance table (task=t2i, metric in exp_/max_ clipscore/aesthetics on their raw scale and
    ``judged_accuracy`` in [0, 1], pretraining and prompt empty as in ``wag.artifacts.read_t2i``) plus ``n_prompts``.
    """
    P = params or T2IParams()
    if not prompts:
        raise WagError("no concept prompts given")
    for concept, plist in prompts.items():
        if not plist or any(not str(p).strip() for p in plist):
            raise WagError(f"concept '{concept}' has an empty prompt; give at least one non-empty prompt per concept")
    if not clipscore and judge is None:
        raise WagError("nothing to score: give a judge or keep CLIP-score on")
    if judge is not None:
        unknown = [c for c in prompts if c not in set(judge.concepts)]
        if unknown:
            raise WagError(
                f"the judge does not know {len(unknown)} concept(s) ({', '.join(map(repr, unknown[:5]))}); "
                f"give a judge trained on (or prompted with) every concept (it knows {', '.join(map(repr, list(judge.concepts)[:5]))}, ...)"
            )
    if clipscore and clip is None:
        clip = load_clip(P.clip_model)
    aest = AestheticPredictor.from_safetensors(P.aesthetic_weights) if clipscore and P.aesthetic_weights else None
    name = model_name or getattr(getattr(pipe, "config", None), "_name_or_path", None) or type(pipe).__name__
    index = {c: i for i, c in enumerate(judge.concepts)} if judge is not None else {}
    rows = []
    for concept, plist in tqdm(list(prompts.items()), desc=f"t2i {name}", disable=not progress):
        per_prompt: dict[str, list[tuple[float, float]]] = {}
        hits, n_images = 0, 0
        for pi, prompt in enumerate(plist):
            sub = Path(image_dir) / slug(concept, 80) / f"p{pi}" if image_dir is not None else None
            imgs = generate_images(
                pipe,
                prompt,
                k=P.images_per_prompt,
                seed=P.seed,
                steps=P.steps,
                guidance_scale=P.guidance_scale,
                out_dir=sub,
            )
            if clipscore:
                for metric, vals in score_images(clip, imgs, prompt, aest).items():
                    per_prompt.setdefault(metric, []).append((float(vals.mean()), float(vals.max())))
            if judge is not None:
                hits += int((judge_predictions(judge, imgs) == index[concept]).sum())
                n_images += len(imgs)
        base = {
            "concept": concept,
            "dataset": dataset_name,
            "task": "t2i",
            "model": name,
            "pretraining": "",
            "prompt": "",
            "n_prompts": len(plist),
        }
        for metric, pairs in per_prompt.items():
            arr = np.array(pairs)
            for agg, col in (("exp", 0), ("max", 1)):
                rows.append({**base, "metric": f"{agg}_{metric}", "value": float(arr[:, col].mean())})
        if judge is not None:
            rows.append({**base, "metric": JUDGED_ACCURACY, "value": hits / n_images})
    cols = ["concept", "dataset", "task", "model", "pretraining", "prompt", "metric", "value", "n_prompts"]
    return pd.DataFrame(rows, columns=cols)
