"""CLIP models by name: the paper's registry (``registry.yaml``, :mod:`wag.evaluate.registry`) or a local open_clip
checkpoint ``ARCH@/path`` (:mod:`wag.evaluate.checkpoints`), loaded at an inference precision.

Loading goes through open_clip's own factory. Offline (``HF_HUB_OFFLINE=1`` or ``allow_download=False``), a
model whose weights are not on disk fails at once with a message naming the model and how to supply weights.
The registry's and the checkpoints' public names are importable from here too.
"""

from __future__ import annotations

import copy as copy_
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wag.core.errors import WagError
from wag.evaluate.checkpoints import (
    CHECKPOINT_SUFFIXES,
    CheckpointError,
    check_checkpoint,
    checkpoint_fingerprint,
    create_from_checkpoint,
    register_arch,
)
from wag.evaluate.registry import (
    REGISTRY_PATH,
    UnknownModelError,
    hf_repo_on_disk,
    model_status,
    registry,
    registry_entry,
    registry_names,
    resolve_name,
    weights_on_disk,
)

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "PRECISIONS",
    "REGISTRY_PATH",
    "CheckpointError",
    "LoadedModel",
    "ModelWeightsMissingError",
    "PrecisionError",
    "UnknownModelError",
    "as_loaded_model",
    "check_checkpoint",
    "check_precision",
    "load_clip",
    "model_status",
    "register_arch",
    "registry",
    "registry_names",
    "resolve_name",
    "with_precision",
]

#: inference precisions: ``fp32`` (the reference) and ``bf16`` (weights and activations in bfloat16: about 2x faster
#: on CPUs with AVX-512 BF16 or AMX and on GPUs; features agree to ~2e-3, see ``benchmarks/study.py``)
PRECISIONS = ("fp32", "bf16")


class ModelWeightsMissingError(WagError, FileNotFoundError):
    """The weights of a model are not on disk and may not (or cannot) be downloaded."""


@dataclass
class LoadedModel:
    """An open_clip model ready for evaluation (eval mode, on ``device``)."""

    model: Any
    preprocess: Any
    tokenizer: Any
    name: str
    arch: str
    pretrained: str | None
    backbone: str = ""
    source: str = ""
    fingerprint: str = ""
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)
    precision: str = "fp32"

    @property
    def dtype(self) -> Any:
        """The torch dtype of the model's weights and inputs."""
        import torch  # lazy: this module is imported by the CLI before any model is loaded

        return torch.bfloat16 if self.precision == "bf16" else torch.float32

    def encode_image(self, x: Any) -> Any:
        """Image features (float32, not normalised) of a preprocessed batch, at the model's device and precision."""
        return self.model.encode_image(x.to(self.device, dtype=self.dtype)).float()

    @property
    def paper_key(self) -> str:
        """Key of the paper's result files: ``backbone<backbone>_pretrained<source>``."""
        return f"backbone{self.backbone}_pretrained{self.source}"


def _offline(allow_download: bool | None) -> bool:
    if allow_download is not None:
        return not allow_download
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _supply_hint(name: str) -> str:
    return (
        f"To supply weights for '{name}': run once with internet (allow_download=True / HF_HUB_OFFLINE unset) so "
        "open_clip caches them, or copy the open_clip cache (~/.cache/huggingface, ~/.cache/clip) to this machine, "
        "or pass a local checkpoint as ARCH@/path/to/weights.safetensors."
    )


def as_loaded_model(
    model: Any, preprocess: Any, tokenizer: Any, device: str, precision: str = "fp32", **kw: Any
) -> LoadedModel:
    """Wrap an open_clip model (any weights) as a :class:`LoadedModel`: on ``device``, in eval mode, frozen, at ``precision``."""
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return with_precision(
        LoadedModel(model=model, preprocess=preprocess, tokenizer=tokenizer, device=device, **kw), precision, copy=False
    )


class PrecisionError(WagError, ValueError):
    """An inference precision wag does not know."""


def check_precision(precision: str) -> None:
    """One clear error for a precision that is not one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise PrecisionError(f"unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}")


def with_precision(model: LoadedModel, precision: str, *, copy: bool = True) -> LoadedModel:
    """``model`` at inference ``precision`` (``fp32`` or ``bf16``); the fingerprint names a non-fp32 precision, so
    cached features of one precision are never read back for another. The same precision returns ``model``;
    otherwise the weights are copied (``copy=False`` converts them in place, for a model nobody else holds)."""
    import torch  # lazy: see LoadedModel.dtype

    check_precision(precision)
    if precision == model.precision:
        return model
    if model.precision != "fp32":
        raise PrecisionError(f"model '{model.name}' is already at {model.precision}; load it again for {precision}")
    net = copy_.deepcopy(model.model) if copy else model.model
    return dataclasses.replace(
        model, model=net.to(torch.bfloat16), precision=precision, fingerprint=f"{model.fingerprint}|{precision}"
    )


def load_clip(
    name: str,
    *,
    device: str = "cpu",
    allow_download: bool | None = None,
    cache_dir: str | None = None,
    source: str | None = None,
    precision: str = "fp32",
) -> LoadedModel:
    """Load a CLIP model by registry name (``ViT-B-16/laion400m``), paper key, or ``ARCH@/path/to/ckpt``.

    ``allow_download=None`` follows ``HF_HUB_OFFLINE``; ``source`` overrides the pretraining label of a local
    checkpoint (default: the checkpoint file stem); ``precision`` is the inference precision (:data:`PRECISIONS`).
    """
    check_precision(precision)
    return with_precision(
        _load_clip(name, device=device, allow_download=allow_download, cache_dir=cache_dir, source=source),
        precision,
        copy=False,
    )


def _load_clip(
    name: str, *, device: str, allow_download: bool | None, cache_dir: str | None, source: str | None
) -> LoadedModel:
    import open_clip  # lazy: imports torch

    if "@" in name:
        arch, _, path_s = name.partition("@")
        ckpt = Path(os.path.expanduser(path_s))
        if not ckpt.is_file():
            raise ModelWeightsMissingError(
                f"checkpoint of model '{name}' not found: {ckpt} (give ARCH@/path/to/existing/file)"
            )
        register_arch(arch, ckpt)
        return _load_arch_ckpt(arch, ckpt, device, dict(name=name, backbone=arch, source=source or ckpt.stem))

    key, e = registry_entry(name)
    offline = _offline(allow_download)
    common = dict(name=key, backbone=e["backbone"], source=source or e["source"])
    if e.get("checkpoint"):
        ckpt_dir = os.environ.get("WAG_CHECKPOINTS")
        cand = Path(ckpt_dir) / e["checkpoint"] if ckpt_dir else None
        if e.get("loader") == "slip":
            raise ModelWeightsMissingError(
                f"model '{key}' is a SLIP-format checkpoint ({e['checkpoint']}; {e.get('origin', '')}); its model class is "
                "not open_clip and wag cannot load it. Convert it to an open_clip ViT-B-16 state dict and pass ARCH@/path."
            )
        if cand is not None and cand.is_file():
            return _load_arch_ckpt(e["arch"], cand, device, common)
        raise ModelWeightsMissingError(
            f"model '{key}' is not distributed through open_clip: it needs the checkpoint file {e['checkpoint']} "
            f"({e.get('origin', '')}). Put it in $WAG_CHECKPOINTS or pass {e['arch']}@/path/to/{e['checkpoint']}."
        )
    arch, tag = e["arch"], e.get("pretrained")
    if arch.startswith("hf-hub:"):
        repo = arch[len("hf-hub:") :]
        if offline and not hf_repo_on_disk(repo, cache_dir):
            raise ModelWeightsMissingError(
                f"weights of model '{key}' (HF hub {repo}) are not cached and downloads are off. " + _supply_hint(key)
            )
        model, _, preprocess = _create(arch, None, cache_dir, key)
        tok = open_clip.get_tokenizer(arch)
        return as_loaded_model(
            model, preprocess, tok, device, arch=arch, pretrained=None, fingerprint=f"{arch}", **common
        )
    if offline and not weights_on_disk(arch, tag, cache_dir):
        raise ModelWeightsMissingError(
            f"weights of model '{key}' (open_clip {arch} / {tag}) are not on disk and downloads are off. "
            + _supply_hint(key)
        )
    model, _, preprocess = _create(arch, tag, cache_dir, key)
    return as_loaded_model(
        model,
        preprocess,
        open_clip.get_tokenizer(arch),
        device,
        arch=arch,
        pretrained=tag,
        fingerprint=f"{arch}/{tag}",
        **common,
    )


def _load_arch_ckpt(arch: str, ckpt: Path, device: str, common: dict[str, Any]) -> LoadedModel:
    import open_clip  # lazy: imports torch

    model, preprocess = create_from_checkpoint(arch, ckpt)
    return as_loaded_model(
        model,
        preprocess,
        open_clip.get_tokenizer(arch),
        device,
        arch=arch,
        pretrained=str(ckpt),
        fingerprint=f"{arch}@{checkpoint_fingerprint(ckpt)}",
        **common,
    )


def _create(arch: str, tag: str | None, cache_dir: str | None, key: str) -> tuple[Any, Any, Any]:
    import open_clip  # lazy: imports torch

    try:
        return open_clip.create_model_and_transforms(arch, pretrained=tag, cache_dir=cache_dir)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelWeightsMissingError(
            f"could not load weights of model '{key}': {str(exc)[:300]}. " + _supply_hint(key)
        ) from None
