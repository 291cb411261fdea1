"""Train tiny CLIP models on a synthetic world on CPU with open_clip's ``ClipLoss``.

The models are open_clip model configs (``model_configs/wag-synth-w<width>.json``, registered with
``open_clip.add_model_config``); a trained model is saved as ``open_clip_model.safetensors`` with its
config beside it, so ``wag.evaluate.models.load_clip("wag-synth-w64@/path/open_clip_model.safetensors")``
(or open_clip's ``local-dir:``) loads it like any pretrained open_clip model.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wag.core.errors import WagError
from wag.core.ids import content_key
from wag.core.io import atomic_path, read_json, write_json
from wag.core.lock import folder_lock
from wag.core.paths import cache_dir
from wag.synthetic.params import TrainParams
from wag.synthetic.world import World

CONFIG_DIR = Path(__file__).with_name("model_configs")
CHECKPOINT = "open_clip_model.safetensors"
TRAIN_VERSION = 1


class TrainingError(WagError):
    """A training that cannot run on what it was given (too few samples)."""


def arch_name(width: int) -> str:
    """The open_clip config name of the tiny model of ``width``."""
    return f"wag-synth-w{width}"


def register_model_configs() -> list[str]:
    """Register the tiny configs with open_clip (idempotent); returns their names."""
    import open_clip

    names = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
    if not all(n in open_clip.list_models() for n in names):
        open_clip.add_model_config(CONFIG_DIR)
    return names


@dataclass(frozen=True)
class TrainedModel:
    """A trained checkpoint: ``name`` is what :func:`wag.evaluate.models.load_clip` takes."""

    arch: str
    path: Path
    log: dict

    @property
    def name(self) -> str:
        return f"{self.arch}@{self.path}"


def configure_torch(threads: int) -> None:
    """CPU settings that keep torch fast when cores are shared."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads)


@contextmanager
def deterministic_training(seed: int, threads: int) -> Iterator[None]:
    """Train reproducibly: ``threads`` torch threads, deterministic algorithms, and the global torch RNG
    seeded with ``seed`` inside (so weight initialisation does not depend on what ran before in the
    process) and restored afterwards (so training does not shift later random draws)."""
    import torch

    configure_torch(threads)
    was_on, was_warn = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_on, warn_only=was_warn)


def normalise(images: np.ndarray):
    """uint8 images (N, S, S, 3) as the float tensor (N, 3, S, S) the models take (OpenAI CLIP mean and std)."""
    import torch
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    x = torch.from_numpy(np.array(images, dtype=np.uint8, copy=True)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


class MaskedClipLoss:
    """ClipLoss with same-concept pairs removed from the negatives (needs the ground truth; an analysis tool)."""

    def __init__(self, multi_hot):
        self.multi_hot = multi_hot  # (N, K) float tensor of the images' true concepts

    def __call__(self, image_features, text_features, logit_scale, idx):
        import torch
        import torch.nn.functional as F

        m = self.multi_hot[idx]
        same = (m @ m.T) > 0
        same.fill_diagonal_(False)
        logits = logit_scale * image_features @ text_features.T
        logits = logits.masked_fill(same, float("-inf"))
        labels = torch.arange(len(idx))
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def train_key(world: World, width: int, tp: TrainParams, seed: int, subset: np.ndarray | None) -> str:
    sub = None if subset is None else content_key({"subset": np.asarray(subset).tolist()})
    return content_key(
        {
            "v": TRAIN_VERSION,
            "world": world.root.name,
            "width": width,
            "train": tp.model_dump(),
            "seed": seed,
            "subset": sub,
        }
    )


def train_clip(
    world: World,
    width: int,
    tp: TrainParams,
    seed: int,
    *,
    subset: np.ndarray | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> TrainedModel:
    """Train ``wag-synth-w<width>`` on the world's pretraining pairs (or the ``subset`` of sample indices).

    Cached: a finished checkpoint for the same world, width, params, seed and subset is reused. Two processes asking
    for the same one at once (notebooks run side by side): one trains it, the other waits and reads it.
    """
    out = (
        Path(out_dir)
        if out_dir is not None
        else cache_dir() / "synthetic" / "models" / train_key(world, width, tp, seed, subset)
    )
    if not ((out / "train_log.json").is_file() and (out / CHECKPOINT).is_file()):
        with folder_lock(out, f"training {arch_name(width)} seed {seed}", wait=True):
            return _train_clip(world, width, tp, seed, subset=subset, out_dir=out, progress=progress)
    return _train_clip(world, width, tp, seed, subset=subset, out_dir=out, progress=progress)  # reads the cache


def _train_clip(
    world: World,
    width: int,
    tp: TrainParams,
    seed: int,
    *,
    subset: np.ndarray | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> TrainedModel:
    """:func:`train_clip` without the lock (it reads a finished checkpoint, else trains one)."""
    import open_clip
    import torch
    from open_clip.loss import ClipLoss
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    arch = arch_name(width)
    register_model_configs()
    out = (
        Path(out_dir)
        if out_dir is not None
        else cache_dir() / "synthetic" / "models" / train_key(world, width, tp, seed, subset)
    )
    if (out / "train_log.json").is_file() and (out / CHECKPOINT).is_file():
        return TrainedModel(arch, out / CHECKPOINT, read_json(out / "train_log.json"))
    with deterministic_training(seed, tp.threads):  # seeded init and batch order, fixed threads
        meta = world.metadata()
        images = np.asarray(world.images())
        idx_all = np.arange(len(meta)) if subset is None else np.asarray(subset, dtype=np.int64)
        if len(idx_all) < 2:
            raise TrainingError(
                f"cannot train on {len(idx_all)} samples: the world (or subset) needs at least 2; "
                "raise synthetic.world.min_count or n_concepts"
            )
        x = normalise(images[idx_all])
        tokenizer = open_clip.get_tokenizer(arch)
        tokens = tokenizer(meta["caption"].iloc[idx_all].tolist())
        model = open_clip.create_model(arch)
        model.train()
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "logit_scale" not in n]
        no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "logit_scale" in n]
        # fused: one kernel per step instead of a loop over tensors (7x faster optimiser step on CPU here: the
        # 49,408-token embedding of open_clip's tokenizer dominates these tiny models' parameters)
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": tp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=tp.lr,
            fused=tp.fused_optimizer,
        )

        def lr_at(step: int) -> float:
            if step < tp.warmup:
                return tp.lr * (step + 1) / tp.warmup
            t = (step - tp.warmup) / max(1, tp.steps - tp.warmup)
            return tp.lr * 0.5 * (1 + math.cos(math.pi * t))

        if tp.loss == "masked":
            names = world.names
            pos = {n: i for i, n in enumerate(names)}
            mh = torch.zeros(len(idx_all), len(names))
            for r, cs in enumerate(meta["image_concepts"].iloc[idx_all]):
                for c in cs:
                    mh[r, pos[c]] = 1.0
            masked = MaskedClipLoss(mh)
        clip_loss = ClipLoss()
        gen = torch.Generator().manual_seed(seed)
        n = len(idx_all)
        bs = min(tp.batch_size, n)
        order = torch.randperm(n, generator=gen)
        cursor = 0
        losses: list[float] = []
        t0 = time.perf_counter()
        for step in tqdm(range(tp.steps), desc=f"train {arch} seed {seed}", disable=not progress, mininterval=2):
            if cursor + bs > n:
                order = torch.randperm(n, generator=gen)
                cursor = 0
            b = order[cursor : cursor + bs]
            cursor += bs
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            img_f = model.encode_image(x[b], normalize=True)
            txt_f = model.encode_text(tokens[b], normalize=True)
            scale = model.logit_scale.exp()
            loss = masked(img_f, txt_f, scale, b) if tp.loss == "masked" else clip_loss(img_f, txt_f, scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            losses.append(loss.item())
        wall = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out / CHECKPOINT) as tmp:
        save_file(state, str(tmp))
    shutil.copyfile(CONFIG_DIR / f"{arch}.json", out / f"{arch}.json")
    cfg = json.loads((CONFIG_DIR / f"{arch}.json").read_text())
    write_json(out / "open_clip_config.json", {"model_cfg": cfg, "preprocess_cfg": {}})
    log = {
        "arch": arch,
        "seed": seed,
        "steps": tp.steps,
        "batch_size": bs,
        "loss": tp.loss,
        "n_samples": n,
        "wall_s": wall,
        "samples_per_s": tp.steps * bs / wall,
        "loss_first": float(np.mean(losses[: max(1, len(losses) // 10)])),
        "loss_last": float(np.mean(losses[-max(1, len(losses) // 10) :])),
        "losses": losses[:: max(1, len(losses) // 100)],
    }
    write_json(out / "train_log.json", log)
    return TrainedModel(arch, out / CHECKPOINT, log)
