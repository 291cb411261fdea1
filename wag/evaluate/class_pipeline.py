"""A diffusers pipeline for class-conditional image diffusion models, prompted by class name.

:class:`ClassConditionalPipeline` wraps a ``UNet2DModel`` with ``num_class_embeds`` (one embedding per class)
and a scheduler (e.g. DDIM) so that a class-conditional model can be evaluated by the same T2I code as a
text-to-image pipeline (``wag evaluate t2i``, the study's ``t2i`` stage): the prompt is mapped to the class
whose name it contains (word-bounded, case-insensitive, the longest name found), so the templates
``"{c}"`` or ``"a photo of a {c}."`` both work. ``patch`` > 1 means the UNet sees pixel-unshuffled images
(``patch``×``patch`` pixel blocks as channels), as small-image models trained that way do.

Written with ``save_pretrained`` (``model_index.json`` names the class, ``class_names`` and ``patch`` are
its config), read with ``ClassConditionalPipeline.from_pretrained`` or :func:`wag.evaluate.t2i.load_pipeline`.

The UNet has no unconditional ("null") class, so classifier-free guidance is impossible: a
``guidance_scale`` above 1 is an error rather than silently ignored (0 or 1 mean no guidance, as in
diffusers' text-to-image pipelines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline, ImagePipelineOutput, UNet2DModel
from diffusers.schedulers import SchedulerMixin
from diffusers.utils.torch_utils import randn_tensor

from wag.core.errors import WagError


class ClassPipelineError(WagError, ValueError):
    """A class-conditional pipeline was built or called with something it cannot use."""


def class_index(prompt: str, class_names: Sequence[str]) -> int:
    """Index of the class whose name occurs in ``prompt`` as whole words (case-insensitive); the longest match wins.

    Raises :class:`ClassPipelineError` naming the prompt and the known names when no name occurs.
    """
    best, best_len = -1, -1
    for i, name in enumerate(class_names):
        n = name.strip()
        if n and len(n) > best_len and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", prompt, flags=re.IGNORECASE):
            best, best_len = i, len(n)
    if best < 0:
        shown = ", ".join(repr(n) for n in list(class_names)[:12]) + (", ..." if len(class_names) > 12 else "")
        raise ClassPipelineError(
            f"prompt {prompt!r} names none of the pipeline's {len(class_names)} classes ({shown}); "
            "put a class name in the prompt (e.g. the template '{c}')"
        )
    return best


class ClassConditionalPipeline(DiffusionPipeline):
    """Class-conditional diffusion in pixel space: ``pipe("a photo of a dog", num_images_per_prompt=4).images``.

    Components: ``unet`` (a ``UNet2DModel`` with ``num_class_embeds == len(class_names)``) and ``scheduler``;
    config: ``class_names`` (class index -> name) and ``patch`` (pixel-unshuffle factor of the UNet's input).
    """

    model_cpu_offload_seq = "unet"

    def __init__(
        self, unet: UNet2DModel, scheduler: SchedulerMixin, class_names: list[str] | None = None, patch: int = 1
    ) -> None:
        super().__init__()
        names = [str(n) for n in (class_names or [])]
        n_embeds = getattr(unet.config, "num_class_embeds", None)
        if not names or n_embeds != len(names):
            raise ClassPipelineError(
                f"ClassConditionalPipeline needs one class name per class embedding of the UNet "
                f"(num_class_embeds={n_embeds}, {len(names)} class_names given)"
            )
        if len(set(names)) != len(names):
            raise ClassPipelineError("ClassConditionalPipeline class_names repeat a name; give each class its own name")
        if int(patch) < 1 or unet.config.in_channels % (int(patch) ** 2):
            raise ClassPipelineError(
                f"patch {patch} does not divide the UNet's {unet.config.in_channels} input channels into patch² blocks"
            )
        self.register_modules(unet=unet, scheduler=scheduler)
        self.register_to_config(class_names=names, patch=int(patch))

    def class_index(self, prompt: str) -> int:
        """The class a prompt names (see :func:`class_index`)."""
        return class_index(prompt, self.config.class_names)

    def _denoise(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        p = self.config.patch
        if p == 1:
            return self.unet(x, t, class_labels=labels).sample
        return F.pixel_shuffle(self.unet(F.pixel_unshuffle(x, p), t, class_labels=labels).sample, p)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        num_inference_steps: int = 50,
        guidance_scale: float = 1.0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        num_images_per_prompt: int = 1,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> ImagePipelineOutput | tuple:
        """``num_images_per_prompt`` images of the class each prompt names (a generator list: one per image, in order).

        ``guidance_scale`` must be 0 or 1 (no classifier-free guidance: the UNet has no null class).
        ``output_type``: ``pil`` (PIL images), ``np`` (float array N×H×W×3 in [0, 1]) or ``pt`` (tensor N×3×H×W in [0, 1]).
        """
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if guidance_scale > 1:
            raise ClassPipelineError(
                f"guidance_scale {guidance_scale}: a ClassConditionalPipeline has no unconditional class, so "
                "classifier-free guidance is impossible; use guidance_scale 1 (or 0)"
            )
        if output_type not in ("pil", "np", "pt"):
            raise ClassPipelineError(f"output_type '{output_type}' unknown; use pil, np or pt")
        labels = [self.class_index(p) for p in prompts for _ in range(num_images_per_prompt)]
        n = len(labels)
        if isinstance(generator, list) and len(generator) != n:
            raise ClassPipelineError(
                f"{len(generator)} generators for {n} images; give one generator per image (or one for all)"
            )
        p = self.config.patch
        size = self.unet.config.sample_size
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        shape = (n, self.unet.config.in_channels // (p * p), h * p, w * p)
        device = self._execution_device
        x = randn_tensor(shape, generator=generator, device=device, dtype=self.unet.dtype)
        y = torch.tensor(labels, device=device)
        self.scheduler.set_timesteps(num_inference_steps)
        for t in self.progress_bar(self.scheduler.timesteps):
            x = self.scheduler.step(self._denoise(x, t, y), t, x).prev_sample
        images = (x / 2 + 0.5).clamp(0, 1)
        if output_type != "pt":
            images = images.cpu().permute(0, 2, 3, 1).float().numpy()
            if output_type == "pil":
                images = self.numpy_to_pil(images)
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=images) if return_dict else (images,)
