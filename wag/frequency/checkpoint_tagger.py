"""A trained multi-label image tagger saved as a checkpoint folder (the study's ``tagger.kind: checkpoint``).

Layout of a tagger checkpoint folder::

    tagger.json            {"format": "wag-tagger", "version": 1, "arch": "small_cnn", "width": 16,
                            "image_size": 32, "concepts": [...]}   (one sigmoid logit per concept, in order)
    tagger.safetensors     the network's state dict

Any multi-label classifier of this form works: train it on labelled images of your concepts (never on
the corpus it will tag, as the paper's RAM++), save it with :func:`save_tagger_checkpoint`, and declare
``tagger: {kind: checkpoint, model: path/to/folder}``. Architectures known here: ``small_cnn`` (a
BatchNorm CNN for small images, the synthetic world's tagger). The tagger scores the concepts it was
trained on; study concepts it does not know get no tags.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wag.core.errors import WagError
from wag.core.io import atomic_path, read_json, write_json
from wag.frequency.tagging import TAG_COLUMNS, batched, tag_frame

CONFIG = "tagger.json"
WEIGHTS = "tagger.safetensors"
FORMAT = "wag-tagger"
ARCHS = ("small_cnn",)


class TaggerCheckpointError(WagError, ValueError):
    """A tagger checkpoint folder is missing, incomplete or of an unknown architecture."""


def to_tensor(images: np.ndarray):
    """uint8 (N, H, W, 3) images -> float tensor (N, 3, H, W) in [-1, 1]."""
    import torch

    return torch.from_numpy(np.require(images, requirements=["C", "W"])).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def small_cnn(k: int, width: int = 16):
    """A BatchNorm CNN mapping (16–32)² RGB images to ``k`` logits (two poolings, four 3×3 conv blocks)."""
    import torch.nn as nn

    def block(i: int, o: int) -> list:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    w = width
    return nn.Sequential(
        *block(3, w),
        nn.MaxPool2d(2),
        *block(w, 2 * w),
        nn.MaxPool2d(2),
        *block(2 * w, 4 * w),
        *block(4 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * w, k),
    )


def predict(net, images: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Logits (N, k) of uint8 images, in eval mode, without gradients."""
    import torch

    net.eval()
    with torch.inference_mode():
        out = [net(to_tensor(images[a : a + batch])) for a in range(0, len(images), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, net[-1].out_features), np.float32)


class CheckpointTagger:
    """A multi-label image classifier as a :class:`wag.frequency.tagging.Tagger` (sigmoid score per concept)."""

    def __init__(
        self,
        net: Any,
        concepts: Sequence[str],
        *,
        image_size: int,
        info: dict | None = None,
        batch_size: int = 1024,
        min_score: float = 0.01,
    ) -> None:
        self.net = net.eval()
        self.concepts = list(concepts)
        self.image_size = int(image_size)
        self.info = dict(info or {})
        self.batch_size = batch_size
        self.min_score = min_score

    def scores_array(self, images: np.ndarray) -> np.ndarray:
        """(N, K) per-concept probabilities of uint8 (N, S, S, 3) images at the tagger's image size."""
        return 1.0 / (1.0 + np.exp(-predict(self.net, images, self.batch_size)))

    def scores(self, images: Sequence[Any]) -> np.ndarray:
        """(N, K) probabilities of PIL images (converted to RGB at the tagger's image size)."""
        s = self.image_size
        arr = (
            np.stack([np.asarray(im.convert("RGB").resize((s, s))) for im in images])
            if len(images)
            else np.zeros((0, s, s, 3), np.uint8)
        )
        return self.scores_array(arr)

    def tag(self, samples: Iterable[tuple[str, Any]]) -> pd.DataFrame:
        """(sample_id, PIL image) pairs -> tags ``sample_id, concept, score`` (scores below ``min_score`` dropped)."""
        parts = [
            tag_frame([s for s, _ in b], self.concepts, self.scores([im for _, im in b]), self.min_score)
            for b in batched(samples, self.batch_size)
        ]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)

    def restricted(self, concepts: Sequence[str]) -> CheckpointTagger:
        """The same tagger keeping only the scores of ``concepts`` it knows (order of the checkpoint)."""
        keep = set(concepts)
        return _Restricted(self, [c for c in self.concepts if c in keep])


class _Restricted(CheckpointTagger):
    def __init__(self, base: CheckpointTagger, concepts: list[str]) -> None:
        super().__init__(
            base.net,
            base.concepts,
            image_size=base.image_size,
            info=base.info,
            batch_size=base.batch_size,
            min_score=base.min_score,
        )
        self._idx = np.array([base.concepts.index(c) for c in concepts], dtype=np.int64)
        self.concepts = concepts

    def scores_array(self, images: np.ndarray) -> np.ndarray:
        return super().scores_array(images)[:, self._idx]


def save_tagger_checkpoint(
    folder: str | os.PathLike[str],
    net: Any,
    concepts: Sequence[str],
    *,
    arch: str,
    width: int,
    image_size: int,
    info: dict | None = None,
) -> Path:
    """Write ``folder/tagger.safetensors`` and ``folder/tagger.json`` (config last: marks the checkpoint complete)."""
    from safetensors.torch import save_file

    if arch not in ARCHS:
        raise TaggerCheckpointError(f"unknown tagger architecture '{arch}'; known: {', '.join(ARCHS)}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS) as tmp:
        save_file({n: v.detach().contiguous() for n, v in net.state_dict().items()}, str(tmp))
    write_config(out, concepts, arch=arch, width=width, image_size=image_size, info=info)
    return out


def write_config(
    folder: Path, concepts: Sequence[str], *, arch: str, width: int, image_size: int, info: dict | None = None
) -> Path:
    """Write (only) the ``tagger.json`` of a checkpoint folder whose weights are already there."""
    return write_json(
        Path(folder) / CONFIG,
        {
            "format": FORMAT,
            "version": 1,
            "arch": arch,
            "width": int(width),
            "image_size": int(image_size),
            "concepts": list(concepts),
            "info": dict(info or {}),
        },
    )


def checkpoint_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why ``folder`` is not a loadable tagger checkpoint (None if it is); reads only the config."""
    p = Path(folder)
    if p.is_file() and p.name == CONFIG:
        p = p.parent
    if not (p / CONFIG).is_file() or not (p / WEIGHTS).is_file():
        return f"{p} is not a tagger checkpoint folder (needs {CONFIG} and {WEIGHTS}; write one with wag.frequency.checkpoint_tagger.save_tagger_checkpoint)"
    cfg = read_json(p / CONFIG)
    if cfg.get("format") != FORMAT:
        return f"{p / CONFIG}: not a wag tagger config (format must be '{FORMAT}')"
    if cfg.get("arch") not in ARCHS:
        return f"{p / CONFIG}: unknown tagger architecture '{cfg.get('arch')}'; known: {', '.join(ARCHS)}"
    if not cfg.get("concepts"):
        return f"{p / CONFIG}: lists no concepts"
    return None


def load_tagger_checkpoint(
    folder: str | os.PathLike[str], *, batch_size: int = 1024, min_score: float = 0.01
) -> CheckpointTagger:
    """Load a tagger checkpoint folder (or its ``tagger.json``)."""
    from safetensors.torch import load_file

    p = Path(folder)
    if p.is_file() and p.name == CONFIG:
        p = p.parent
    if (why := checkpoint_problem(p)) is not None:
        raise TaggerCheckpointError(why)
    cfg = read_json(p / CONFIG)
    net = small_cnn(len(cfg["concepts"]), int(cfg["width"]))
    net.load_state_dict(load_file(str(p / WEIGHTS)))
    return CheckpointTagger(
        net,
        cfg["concepts"],
        image_size=int(cfg["image_size"]),
        info=cfg.get("info"),
        batch_size=batch_size,
        min_score=min_score,
    )
