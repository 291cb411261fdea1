"""T2I analogue (paper App. C): a tiny class-conditional diffusion model trained on the world's frequencies.

The generator is a diffusers ``UNet2DModel`` with one class embedding per concept (the "prompt" is the
concept), trained with the DDPM noise-prediction loss on single-concept renders whose per-concept
numbers equal the world's true image counts (same long tail), sampled with DDIM. Quality per concept
= the fraction of its generated images that a *class-balanced* judge (a small CNN trained on equal
numbers of fresh renders of every concept, so it carries no frequency bias) assigns to that concept.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from wag.synthetic import generator as gen
from wag.synthetic.params import T2IParams
from wag.synthetic.train import configure_torch
from wag.synthetic.world import World, Streams


def _to_tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def judge_model(k: int):
    """A small CNN classifier of 32×32 images into ``k`` concepts."""
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, k),
    )


def train_judge(concepts: gen.Concepts, steps: int, seed: int, *, per_class: int = 40, noise: float = 0.08):
    """Train the balanced judge; returns (model, held-out accuracy on fresh balanced renders)."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng([seed, 77])
    k = len(concepts)
    labels = np.repeat(np.arange(k), per_class)
    x = _to_tensor(gen.render(gen.single_concept_grid(labels), concepts, gen.IMAGE_SIZE, noise, rng))
    y = torch.from_numpy(labels)
    torch.manual_seed(seed)
    net = judge_model(k)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        b = torch.randint(0, len(x), (128,), generator=g)
        loss = F.cross_entropy(net(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    tl = np.repeat(np.arange(k), 10)
    tx = _to_tensor(gen.render(gen.single_concept_grid(tl), concepts, gen.IMAGE_SIZE, noise, rng))
    net.eval()
    with torch.no_grad():
        acc = float((net(tx).argmax(1).numpy() == tl).mean())
    return net, acc


def run_t2i(world: World, tp: T2IParams, seed: int) -> tuple[pd.DataFrame, dict]:
    """Train the conditional UNet, generate ``n_generated`` images per concept, judge them.

    Returns per-concept rows (concept, count, value = judged accuracy of its generations) and info
    (judge accuracy, wall times, final loss).
    """
    import torch
    import torch.nn.functional as F
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

    configure_torch(1)
    info: dict = {}
    st = Streams.from_seed(world.info["seed"])
    concepts = gen.draw_concepts(world.info["params"]["n_concepts"], st.identity)  # same identities as the world
    if concepts.names != world.names:
        raise RuntimeError("the world's concepts could not be re-drawn from its seed")
    gt = world.ground_truth()
    counts = gt["image_count"].to_numpy()
    rng = np.random.default_rng([seed, 55])
    labels = np.repeat(np.arange(len(counts)), counts)
    x = _to_tensor(gen.render(gen.single_concept_grid(labels), concepts, gen.IMAGE_SIZE, world.info["params"]["noise"], rng))
    y = torch.from_numpy(labels)
    t0 = time.perf_counter()
    judge, info["judge_accuracy"] = train_judge(concepts, tp.judge_steps, seed, noise=world.info["params"]["noise"])
    info["judge_s"] = time.perf_counter() - t0
    torch.manual_seed(seed)
    ch = tuple(tp.channels)
    unet = UNet2DModel(sample_size=gen.IMAGE_SIZE, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=ch,
                       down_block_types=("DownBlock2D",) * len(ch), up_block_types=("UpBlock2D",) * len(ch),
                       num_class_embeds=len(counts), norm_num_groups=8)
    sched = DDPMScheduler(num_train_timesteps=1000)
    opt = torch.optim.AdamW(unet.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    losses = []
    for step in range(tp.steps):
        b = torch.randint(0, len(x), (min(tp.batch_size, len(x)),), generator=g)
        noise = torch.randn(x[b].shape, generator=g)
        t = torch.randint(0, 1000, (len(b),), generator=g)
        pred = unet(sched.add_noise(x[b], noise, t), t, class_labels=y[b]).sample
        loss = F.mse_loss(pred, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    info["train_s"] = time.perf_counter() - t0
    info["loss_last"] = float(np.mean(losses[-max(1, len(losses) // 10):]))
    t0 = time.perf_counter()
    ddim = DDIMScheduler(num_train_timesteps=1000)
    ddim.set_timesteps(tp.sample_steps)
    k = len(counts)
    gl = torch.from_numpy(np.repeat(np.arange(k), tp.n_generated))
    sample = torch.randn((len(gl), 3, gen.IMAGE_SIZE, gen.IMAGE_SIZE), generator=g)
    unet.eval()
    with torch.no_grad():
        for t in ddim.timesteps:
            eps = torch.cat([unet(sample[a:a + 512], t, class_labels=gl[a:a + 512]).sample for a in range(0, len(gl), 512)])
            sample = ddim.step(eps, t, sample).prev_sample
        pred = judge(sample.clamp(-1, 1)).argmax(1).numpy()
    info["sample_s"] = time.perf_counter() - t0
    hit = pred == gl.numpy()
    acc = np.bincount(gl.numpy()[hit], minlength=k) / tp.n_generated
    info["images"] = ((sample[: min(len(sample), 64)].clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    return pd.DataFrame({"concept": world.names, "count": counts, "value": acc}), info
