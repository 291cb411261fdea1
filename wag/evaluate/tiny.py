"""A tiny random-init open_clip model and tiny image folders, for tests, benchmarks and the ci profile.

``register_tiny()`` adds the ``wag-tiny-vit`` config (ViT width 64, 2 layers, 32 px images, embed 32) to
open_clip; ``save_tiny_checkpoint(path)`` writes a random-init checkpoint (safetensors) and its config JSON
beside it, so ``load_clip(f"wag-tiny-vit@{path}")`` works in a fresh process too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TINY_ARCH = "wag-tiny-vit"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny(folder: str | os.PathLike[str] | None = None) -> Path:
    """Write ``wag-tiny-vit.json`` (to ``folder`` or a temp dir) and register it with open_clip."""
    import tempfile

    import open_clip

    d = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="wag_tiny_"))
    d.mkdir(parents=True, exist_ok=True)
    cfg = d / f"{TINY_ARCH}.json"
    cfg.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    open_clip.add_model_config(cfg)
    return cfg


def save_tiny_checkpoint(path: str | os.PathLike[str], seed: int = 0) -> Path:
    """A random-init tiny CLIP checkpoint (safetensors) with ``wag-tiny-vit.json`` beside it."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    p = Path(path)
    register_tiny(p.parent)
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_ARCH)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(p))
    return p


def make_image_folder(
    root: str | os.PathLike[str], classes: Sequence[str], per_class: int, *, size: int = 32, seed: int = 0
) -> Path:
    """``root/<class>/<i>.png`` random-colour images (each class a different mean colour)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    r = Path(root)
    for c in classes:
        (r / c).mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, 3)
        for i in range(per_class):
            arr = np.clip(base + rng.normal(0, 40, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(r / c / f"{i:04d}.png")
    return r
