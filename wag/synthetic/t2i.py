"""T2I analogue (paper App. C): a tiny class-conditional diffusion model trained on the world's frequencies.

The generator is a diffusers ``UNet2DModel`` with one class embedding per concept (the "prompt" is the
concept), trained with the DDPM loss (``prediction`` = epsilon / sample / v_prediction) on
single-concept renders whose per-concept numbers equal the world's true image counts (same long
tail, the variable under study), sampled with DDIM. Images are fed to the UNet losslessly as
``patch``×``patch`` pixel-unshuffled tensors, which makes the CPU budget go further.

Deliberate simplification of the analogue: the images the T2I model is trained on (and therefore the
images that are generated and judged) are *not* the world's cluttered renders (random pose and
position, noisy coloured background, 32×32) but "studio shots" of the same concept identities
(shape harmonics, palette, texture from :mod:`wag.synthetic.generator`): one centred object at large
scale with little pose jitter, on a plain grey background with faint pixel noise, at ``resolution``
pixels (16 by default). With the world's backgrounds a CPU-budget diffusion model spends its few
epochs on the backgrounds and never draws objects; the studio-shot distribution is learnable within
minutes, so what is left to vary between concepts is only how often each was seen.

Quality per concept = the fraction of its generated images that a *class-balanced* judge assigns to
that concept. The judge is a small BatchNorm CNN trained on equal numbers of fresh studio renders of
every concept (its own random stream: it never sees the diffusion model's training images and
carries no frequency bias); its held-out accuracy on fresh balanced renders is ``judge_accuracy``.

The world only trains: :func:`run_t2i` writes what a user with a class-conditional model would have, a
diffusers pipeline folder (:class:`wag.evaluate.class_pipeline.ClassConditionalPipeline`, prompted by the
concept name) and the judge as a tagger checkpoint folder; generating and judging the images is the public
study stage ``t2i`` (``stages.t2i.judge``, metric ``judged_accuracy``), run by
:func:`wag.experiments.run_t2i_experiment`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wag.core.ids import content_key
from wag.core.io import read_json, write_json
from wag.core.lock import folder_lock
from wag.frequency.checkpoint_tagger import save_tagger_checkpoint, small_cnn, to_tensor
from wag.synthetic import generator as gen
from wag.synthetic.params import T2IParams
from wag.synthetic.train import configure_torch
from wag.synthetic.world import World


@dataclass(frozen=True)
class View:
    """How the T2I analogue's "studio shots" are rendered (see the module docstring)."""

    size: int = 16  # pixels
    radius: float = 0.42  # object radius as a fraction of ``size``
    scale_jitter: float = 0.08  # radius × U(1 - j, 1 + j)
    rotation: float = 0.25  # pose angle ~ U(-rotation, rotation) radians
    shift: float = 0.5  # centre offset ~ U(-shift, shift) pixels
    noise: float = 0.02  # pixel noise std (images in [0, 1])
    background: float = 0.5  # plain grey level

    @classmethod
    def of(cls, tp: T2IParams) -> View:
        return cls(
            size=tp.resolution,
            radius=tp.radius,
            scale_jitter=tp.scale_jitter,
            rotation=tp.rotation,
            shift=tp.shift,
            noise=tp.render_noise,
        )


def render_studio(
    labels: np.ndarray, cs: gen.Concepts, view: View, rng: np.random.Generator, chunk: int = 2048
) -> np.ndarray:
    """One centred object per image on a plain background: uint8 (N, S, S, 3).

    Drawn by the world's shape renderer (:func:`wag.synthetic.generator.draw_objects`: the concepts' boundary
    harmonics, palette with rim colour and texture); only the pose, scale, background and noise differ.
    """
    labels = np.asarray(labels)
    s = view.size
    out = np.empty((len(labels), s, s, 3), dtype=np.uint8)
    for a0 in range(0, len(labels), chunk):
        c = labels[a0 : a0 + chunk]
        n = len(c)
        r = view.radius * s * rng.uniform(1 - view.scale_jitter, 1 + view.scale_jitter, size=n)
        cx = s / 2 + rng.uniform(-view.shift, view.shift, size=n)
        cy = s / 2 + rng.uniform(-view.shift, view.shift, size=n)
        th = rng.uniform(-view.rotation, view.rotation, size=n)
        canvas = np.full((n, s, s, 3), view.background, dtype=np.float32)
        img = gen.draw_objects(canvas, c, cs, cx, cy, r, th, boundary="angles")
        out[a0 : a0 + n] = gen.to_uint8(img, view.noise, rng)
    return out


def train_judge(
    concepts: gen.Concepts,
    steps: int,
    seed: int,
    *,
    view: View = View(),
    per_class: int = 60,
    batch_size: int = 128,
    lr: float = 3e-3,
    n_test: int = 20,
):
    """Train the balanced judge on fresh studio renders; returns (model in eval mode, held-out accuracy on fresh balanced renders).

    Every concept gets ``per_class`` training renders and ``n_test`` held-out ones, all from the
    judge's own random stream.
    """
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng([seed, 77])
    k = len(concepts)
    labels = np.repeat(np.arange(k), per_class)
    x = to_tensor(render_studio(labels, concepts, view, rng))
    y = torch.from_numpy(labels)
    torch.manual_seed(seed)
    net = small_cnn(k)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        b = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=g)
        loss = F.cross_entropy(net(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    tl = np.repeat(np.arange(k), n_test)
    tx = to_tensor(render_studio(tl, concepts, view, rng))
    net.eval()
    with torch.no_grad():
        acc = float((net(tx).argmax(1).numpy() == tl).mean())
    return net, acc


def t2i_summary(counts: np.ndarray, acc: np.ndarray) -> dict:
    """Spearman of per-concept judged accuracy with log count, top vs bottom count quartile means, chance."""
    from scipy.stats import spearmanr

    counts = np.asarray(counts)
    acc = np.asarray(acc, dtype=float)
    order = np.argsort(counts, kind="stable")
    q = max(1, len(counts) // 4)
    rho = (
        spearmanr(np.log(np.maximum(counts, 1)), acc).statistic
        if np.ptp(acc) > 0 and np.ptp(counts) > 0
        else float("nan")
    )
    return {
        "spearman_log_count": float(rho),
        "accuracy_mean": float(acc.mean()),
        "accuracy_top_quartile": float(acc[order[-q:]].mean()),
        "accuracy_bottom_quartile": float(acc[order[:q]].mean()),
        "chance": 1.0 / len(counts),
    }


T2I_VERSION = 1  # 1: the trained pipeline and judge as folders, generated and judged by the public t2i stage


@dataclass(frozen=True)
class T2IModels:
    """What :func:`run_t2i` writes: the pipeline folder, the judge checkpoint folder and the training info."""

    pipeline: Path
    judge: Path
    info: dict


def t2i_dir(world: World, tp: T2IParams, seed: int) -> Path:
    """``<world>/t2i/<key>``: the T2I analogue's pipeline and judge for ``tp`` and ``seed``."""
    return world.root / "t2i" / content_key({"v": T2I_VERSION, "t2i": tp.model_dump(), "seed": seed})


def run_t2i(world: World, tp: T2IParams, seed: int) -> T2IModels:
    """Train the class-balanced judge and the conditional UNet (or reuse them), and write them as a user would have them.

    ``<t2i_dir>/pipeline``: a ``ClassConditionalPipeline`` (``save_pretrained``: the UNet, the DDIM sampler of
    ``sample_steps`` trailing steps, ``class_names`` = the world's concept names, ``patch``); ``<t2i_dir>/judge``: the
    judge as a tagger checkpoint (``small_cnn``, one logit per concept); ``info.json`` (written last): judge accuracy on
    fresh balanced renders, wall times, final loss.
    """
    configure_torch(1)  # one torch thread, also for the generation that follows (same kernels whatever the machine)
    out = t2i_dir(world, tp, seed)
    if not (out / "info.json").is_file():  # two processes at once: one trains, the other waits and reads
        with folder_lock(out, f"training the T2I analogue seed {seed}", wait=True):
            return _run_t2i(world, tp, seed, out)
    return _run_t2i(world, tp, seed, out)


def _run_t2i(world: World, tp: T2IParams, seed: int, out: Path) -> T2IModels:
    """:func:`run_t2i` without the lock."""
    if (out / "info.json").is_file():
        return T2IModels(out / "pipeline", out / "judge", read_json(out / "info.json"))
    import torch
    import torch.nn.functional as F
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

    from wag.evaluate.class_pipeline import ClassConditionalPipeline  # imports diffusers

    info: dict = {}
    concepts = world.identities()  # same identities as the world
    view = View.of(tp)
    gt = world.ground_truth()
    counts = gt["image_count"].to_numpy()
    k = len(counts)
    rng = np.random.default_rng([seed, 55])
    labels = np.repeat(np.arange(k), counts)
    x = torch.from_numpy(render_studio(labels, concepts, view, rng)).permute(0, 3, 1, 2)  # uint8, converted per batch
    y = torch.from_numpy(labels)
    t0 = time.perf_counter()
    judge, info["judge_accuracy"] = train_judge(concepts, tp.judge_steps, seed, view=view, per_class=tp.judge_per_class)
    info["judge_s"] = time.perf_counter() - t0
    torch.manual_seed(seed)
    ch = tuple(tp.channels)
    p = tp.patch
    size = view.size // p
    unet = UNet2DModel(
        sample_size=size,
        in_channels=3 * p * p,
        out_channels=3 * p * p,
        layers_per_block=1,
        block_out_channels=ch,
        down_block_types=("DownBlock2D",) * len(ch),
        up_block_types=("UpBlock2D",) * len(ch),
        num_class_embeds=k,
        norm_num_groups=8,
        add_attention=False,
    )

    def net(z, t, c):
        return F.pixel_shuffle(unet(F.pixel_unshuffle(z, p), t, class_labels=c).sample, p)

    n_t = tp.train_timesteps
    sched = DDPMScheduler(num_train_timesteps=n_t, beta_schedule=tp.beta_schedule, prediction_type=tp.prediction)
    opt = torch.optim.AdamW(unet.parameters(), lr=tp.lr, fused=True)
    warm = max(1, tp.steps // 20)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, tp.steps) / tp.steps))
    )
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    losses = []
    unet.train()
    for _ in range(tp.steps):
        b = torch.randint(0, len(x), (min(tp.batch_size, len(x)),), generator=g)
        x0 = x[b].float().div_(127.5).sub_(1.0)
        noise = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, n_t, (len(b),), generator=g)
        pred = net(sched.add_noise(x0, noise, t), t, y[b])
        target = {"epsilon": noise, "sample": x0}.get(tp.prediction)
        if target is None:
            target = sched.get_velocity(x0, noise, t)
        loss = F.mse_loss(pred, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        lr_sched.step()
        losses.append(loss.item())
    info["train_s"] = time.perf_counter() - t0
    info["loss_last"] = float(np.mean(losses[-max(1, len(losses) // 10) :]))
    ddim = DDIMScheduler(
        num_train_timesteps=n_t,
        beta_schedule=tp.beta_schedule,
        prediction_type=tp.prediction,
        timestep_spacing="trailing",
    )
    ClassConditionalPipeline(unet=unet.eval(), scheduler=ddim, class_names=list(world.names), patch=p).save_pretrained(
        out / "pipeline"
    )
    save_tagger_checkpoint(
        out / "judge",
        judge,
        world.names,
        arch="small_cnn",
        width=judge[0].out_channels,
        image_size=view.size,
        info={"accuracy": info["judge_accuracy"]},
    )
    write_json(out / "info.json", info)
    return T2IModels(out / "pipeline", out / "judge", info)
