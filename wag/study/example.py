"""A small study on disk, as a user would have it: caption+image WebDataset shards, an image-folder test set,
a retrieval set, an image pool for Let It Wag!, a concept file and a local open_clip checkpoint (safetensors).

``wag study example --out DIR`` writes it; ``params/example_study.yaml`` runs on it offline. Concepts follow
a Zipf-like long tail in the captions; each concept has its own mean colour in every image of it, so the
files look like a tiny real study. The checkpoint is the random-init ``wag-tiny-vit`` (``wag.evaluate.tiny``):
it proves the plumbing, not the paper's finding (no training happens here).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np

from wag.evaluate.tiny import save_tiny_checkpoint

CONCEPTS = ["dog", "cat", "horse", "bird", "fish", "frog", "deer", "truck", "ship", "airplane", "tractor", "kite"]
TEMPLATES = ["a photo of a {}", "my {} in the park", "a {} next to a tree", "the {} at sunset", "close-up of a {}"]
FILLERS = ["a blurry photo", "an old street", "some text on a wall", "a landscape at dawn"]


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _image(rng: np.random.Generator, colour: np.ndarray, size: int) -> np.ndarray:
    return np.clip(colour + rng.normal(0, 40, (size, size, 3)), 0, 255).astype(np.uint8)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def write_example(
    out: str | os.PathLike[str], *, n_samples: int = 240, n_shards: int = 2, size: int = 32, seed: int = 0
) -> Path:
    """Write the example study's input files under ``out`` (see the module docstring); returns ``out``."""
    root = Path(out)
    rng = np.random.default_rng(seed)
    colours = {c: rng.integers(30, 225, 3) for c in CONCEPTS}
    weights = 1.0 / np.arange(1, len(CONCEPTS) + 1) ** 1.1
    weights /= weights.sum()
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    per = -(-n_samples // n_shards)
    for s in range(n_shards):
        with tarfile.open(root / "corpus" / f"shard-{s:04d}.tar", "w") as tar:
            for i in range(s * per, min((s + 1) * per, n_samples)):
                key = f"{i:06d}"
                if rng.random() < 0.15:
                    caption, colour = str(rng.choice(FILLERS)), rng.integers(0, 255, 3)
                else:
                    c = CONCEPTS[int(rng.choice(len(CONCEPTS), p=weights))]
                    caption, colour = str(rng.choice(TEMPLATES)).format(c), colours[c]
                _add(tar, f"{key}.txt", caption.encode())
                _add(tar, f"{key}.png", _png(_image(rng, colour, size)))
    (root / "concepts.txt").write_text("\n".join(CONCEPTS) + "\n", encoding="utf-8")
    for c in CONCEPTS[:6]:  # the image-folder test set: six classes
        d = root / "testset" / c
        d.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            (d / f"{i:03d}.png").write_bytes(_png(_image(rng, colours[c], size)))
    for c in CONCEPTS:  # the Let It Wag! image pool: a folder per concept
        d = root / "pool" / c
        d.mkdir(parents=True, exist_ok=True)
        for i in range(6):
            (d / f"{i:03d}.png").write_bytes(_png(_image(rng, colours[c], size)))
    ann = []
    (root / "retrieval" / "images").mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(CONCEPTS[:8]):
        for j in range(2):
            fn = f"{i:02d}_{j}.png"
            (root / "retrieval" / "images" / fn).write_bytes(_png(_image(rng, colours[c], size)))
            ann.append({"image": fn, "caption": [t.format(c) for t in TEMPLATES[:2]]})
    (root / "retrieval" / "annotations.json").write_text(json.dumps(ann, indent=1), encoding="utf-8")
    (root / "models").mkdir(parents=True, exist_ok=True)
    save_tiny_checkpoint(root / "models" / "tiny.safetensors", seed=seed)
    return root
