"""The synthetic world's image tagger: the analogue of the paper's RAM++ (an independent, supervised tagger).

RAM++ is trained on its own labelled images, not on the pretraining set it tags, and gives a sigmoid
probability per tag. Here a small multi-label CNN (:func:`wag.synthetic.convnet.small_cnn`, one BCE
logit per concept) is trained on *fresh* renders of the world's concept identities (1-3 concepts per
image, every concept equally often, the world's noise and backgrounds, its own random stream): it
never sees the pretraining corpus and carries no frequency bias. :class:`WorldTagger` implements the
:class:`wag.frequency.tagging.Tagger` protocol, so the frequency engine tags the corpus shards with it
exactly as it would with RAM++ or the open_clip tagger.

Trained taggers are cached (safetensors + JSON) keyed by the world, the params and the seed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wag.cache import cache_key
from wag.io import atomic_path, read_json, write_json
from wag.paths import cache_dir
from wag.synthetic import generator as gen
from wag.synthetic.convnet import predict, small_cnn, to_tensor
from wag.synthetic.params import TaggerParams
from wag.synthetic.world import World

TAGGER_VERSION = 2  # 2: weights initialised from the seed (were drawn from whatever global RNG state the process had)
WEIGHTS = "tagger.safetensors"


def labelled_renders(world: World, per_concept: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Fresh renders of the world's concepts, each in ``per_concept`` images: uint8 images and a (N, K) multi-hot."""
    p = world.info["params"]
    concepts = world.identities()
    k = len(concepts)
    grid = gen.assign_concepts(np.full(k, per_concept, dtype=np.int64), p["concepts_per_image"], rng)
    images = gen.render(grid, concepts, gen.IMAGE_SIZE, p["noise"], rng)
    labels = np.zeros((len(grid), k), dtype=bool)
    rows, cols = np.nonzero(grid >= 0)
    labels[rows, grid[rows, cols]] = True
    return images, labels


def precision_recall(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """Precision and recall of the (image, concept) hits ``scores >= threshold`` against a multi-hot truth."""
    hit = scores >= threshold
    tp = int((hit & labels).sum())
    return tp / max(int(hit.sum()), 1), tp / max(int(labels.sum()), 1)


class WorldTagger:
    """A trained multi-label tagger of the world's concepts (``Tagger`` protocol: ``concepts``, ``tag``)."""

    def __init__(self, net: Any, concepts: Sequence[str], *, info: dict | None = None, batch_size: int = 1024, min_score: float = 0.01) -> None:
        self.net = net.eval()
        self.concepts = list(concepts)
        self.info = dict(info or {})
        self.batch_size = batch_size
        self.min_score = min_score

    def scores_array(self, images: np.ndarray) -> np.ndarray:
        """(N, K) per-concept probabilities of uint8 (N, 32, 32, 3) images."""
        return 1.0 / (1.0 + np.exp(-predict(self.net, images, self.batch_size)))

    def scores(self, images: Sequence[Any]) -> np.ndarray:
        """(N, K) probabilities of PIL images (converted to RGB at the world's image size)."""
        arr = np.stack([np.asarray(im.convert("RGB").resize((gen.IMAGE_SIZE, gen.IMAGE_SIZE))) for im in images]) if len(images) else np.zeros((0, gen.IMAGE_SIZE, gen.IMAGE_SIZE, 3), np.uint8)
        return self.scores_array(arr)

    def tag(self, samples: Iterable[tuple[str, Any]]) -> pd.DataFrame:
        """(sample_id, PIL image) pairs -> tags ``sample_id, concept, score`` (scores below ``min_score`` dropped)."""
        from wag.frequency.tagging import TAG_COLUMNS, _batches, _tag_frame

        parts = [_tag_frame([s for s, _ in b], self.concepts, self.scores([im for _, im in b]), self.min_score) for b in _batches(samples, self.batch_size)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)


def tagger_key(world: World, tp: TaggerParams, seed: int) -> str:
    return cache_key({"v": TAGGER_VERSION, "world": world.root.name, "tagger": tp.model_dump(), "seed": seed})


def train_world_tagger(world: World, tp: TaggerParams, seed: int, *, threads: int = 1, out_dir: str | Path | None = None) -> WorldTagger:
    """Train (or load from the cache) the world's tagger; ``info`` holds its validation precision/recall on fresh renders."""
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file

    from wag.synthetic.train import deterministic_training

    out = Path(out_dir) if out_dir is not None else cache_dir() / "synthetic" / "taggers" / tagger_key(world, tp, seed)
    k = len(world.names)
    if (out / WEIGHTS).is_file() and (out / "info.json").is_file():
        net = small_cnn(k, tp.width)
        net.load_state_dict(load_file(str(out / WEIGHTS)))
        return WorldTagger(net, world.names, info=read_json(out / "info.json"))
    rng = np.random.default_rng([world.info["seed"], 4242, seed])  # the tagger's own stream: never the corpus
    images, labels = labelled_renders(world, tp.per_concept, rng)
    x, y = to_tensor(images), torch.from_numpy(labels.astype(np.float32))
    t0 = time.perf_counter()
    with deterministic_training(seed, threads):  # seeded init and batch order, fixed threads, deterministic kernels
        net = small_cnn(k, tp.width)
        opt = torch.optim.AdamW(net.parameters(), lr=tp.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tp.lr, total_steps=tp.steps, pct_start=0.15)
        pos_weight = torch.full((k,), float(tp.pos_weight))
        g = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(tp.steps):
            b = torch.randint(0, len(x), (min(tp.batch_size, len(x)),), generator=g)
            loss = F.binary_cross_entropy_with_logits(net(x[b]), y[b], pos_weight=pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    info: dict = {"train_s": time.perf_counter() - t0, "n_train_images": len(x), "loss_last": float(loss.item())}
    val_images, val_labels = labelled_renders(world, tp.n_val, rng)
    tagger = WorldTagger(net, world.names)
    val = tagger.scores_array(val_images)
    for t in (0.5, 0.7, 0.9):
        info[f"val_precision@{t:g}"], info[f"val_recall@{t:g}"] = precision_recall(val, val_labels, t)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS) as tmp:
        save_file({n: v.detach().contiguous() for n, v in net.state_dict().items()}, str(tmp))
    write_json(out / "info.json", info)
    tagger.info = info
    return tagger
