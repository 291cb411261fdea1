"""The synthetic world's image tagger: the analogue of the paper's RAM++ (an independent, supervised tagger).

RAM++ is trained on its own labelled images, not on the pretraining set it tags, and gives a sigmoid
probability per tag. Here a small multi-label CNN (:func:`wag.frequency.checkpoint_tagger.small_cnn`, one BCE
logit per concept) is trained on *fresh* renders of the world's concept identities (1-3 concepts per
image, every concept equally often, the world's noise and backgrounds, its own random stream): it
never sees the pretraining corpus and carries no frequency bias. :class:`WorldTagger` implements the
:class:`wag.frequency.tagging.Tagger` protocol, so the frequency engine tags the corpus shards with it
exactly as it would with RAM++ or the open_clip tagger.

Trained taggers are cached keyed by the world, the params and the seed, as tagger checkpoint folders
(:mod:`wag.frequency.checkpoint_tagger`): a study declares one with ``tagger: {kind: checkpoint, model: <folder>}``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wag.core.ids import content_key
from wag.core.io import atomic_path, read_json, write_json
from wag.core.lock import folder_lock
from wag.core.paths import cache_dir
from wag.frequency.checkpoint_tagger import CONFIG, CheckpointTagger, small_cnn, to_tensor, write_config
from wag.synthetic import generator as gen
from wag.synthetic.params import TaggerParams
from wag.synthetic.train import deterministic_training
from wag.synthetic.world import World

TAGGER_VERSION = 3  # 2: weights initialised from the seed (were drawn from whatever global RNG state the process had); 3: threads in the key
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


class WorldTagger(CheckpointTagger):
    """A trained multi-label tagger of the world's concepts: a :class:`CheckpointTagger` of the ``small_cnn`` architecture."""

    def __init__(
        self,
        net: Any,
        concepts: Sequence[str],
        *,
        info: dict | None = None,
        batch_size: int = 1024,
        min_score: float = 0.01,
    ) -> None:
        super().__init__(
            net, concepts, image_size=gen.IMAGE_SIZE, info=info, batch_size=batch_size, min_score=min_score
        )


def tagger_key(world: World, tp: TaggerParams, seed: int, threads: int = 1) -> str:
    """Cache key of a trained tagger: the torch thread count is part of it (it changes the weights at float level)."""
    return content_key(
        {"v": TAGGER_VERSION, "world": world.root.name, "tagger": tp.model_dump(), "seed": seed, "threads": threads}
    )


def tagger_dir(world: World, tp: TaggerParams, seed: int, threads: int = 1) -> Path:
    """The cached tagger checkpoint folder of ``world``, ``tp``, ``seed`` and the training ``threads``."""
    return cache_dir() / "synthetic" / "taggers" / tagger_key(world, tp, seed, threads)


def train_world_tagger(
    world: World, tp: TaggerParams, seed: int, *, threads: int = 1, out_dir: str | Path | None = None
) -> WorldTagger:
    """Train (or load from the cache) the world's tagger; ``info`` holds its validation precision/recall on fresh renders.
    Two processes asking for the same one at once: one trains it, the other waits and reads it."""
    out = Path(out_dir) if out_dir is not None else tagger_dir(world, tp, seed, threads)
    if not ((out / WEIGHTS).is_file() and (out / "info.json").is_file()):
        with folder_lock(out, f"training the world's tagger seed {seed}", wait=True):
            return _train_world_tagger(world, tp, seed, threads=threads, out_dir=out)
    return _train_world_tagger(world, tp, seed, threads=threads, out_dir=out)


def _train_world_tagger(
    world: World, tp: TaggerParams, seed: int, *, threads: int = 1, out_dir: str | Path | None = None
) -> WorldTagger:
    """:func:`train_world_tagger` without the lock."""
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file

    out = Path(out_dir) if out_dir is not None else tagger_dir(world, tp, seed, threads)
    k = len(world.names)
    if (out / WEIGHTS).is_file() and (out / "info.json").is_file():
        net = small_cnn(k, tp.width)
        net.load_state_dict(load_file(str(out / WEIGHTS)))
        info = read_json(out / "info.json")
        if not (out / CONFIG).is_file():  # cached before tagger checkpoints had a config
            write_config(out, world.names, arch="small_cnn", width=tp.width, image_size=gen.IMAGE_SIZE, info=info)
        return WorldTagger(net, world.names, info=info)
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
    write_config(
        out, world.names, arch="small_cnn", width=tp.width, image_size=gen.IMAGE_SIZE, info=info
    )  # last: a complete tagger checkpoint
    tagger.info = info
    return tagger
