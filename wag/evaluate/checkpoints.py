"""Local open_clip checkpoints (``ARCH@/path``): format recognised from the bytes before any work, the architecture
registered with open_clip, weights loaded as tensors only (never pickled code), mismatches summarised."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from wag.core.checks import PICKLE_HELP, checkpoint_format
from wag.core.errors import WagError
from wag.core.ids import stat_fingerprint
from wag.evaluate.registry import UnknownModelError

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")


class CheckpointError(WagError, ValueError):
    """A checkpoint file is not a checkpoint, holds a pickle, or does not match its architecture."""


def check_checkpoint(ckpt: str | os.PathLike[str]) -> str:
    """Recognise a checkpoint's format from its bytes (``safetensors``, ``torch-zip``, ``pickle``) before any work.

    The format must agree with the file name, since open_clip picks the loader by suffix.
    """
    p = Path(ckpt)
    fmt = checkpoint_format(p)
    if fmt == "safetensors" and p.suffix != ".safetensors":
        raise CheckpointError(
            f"checkpoint {p} is a safetensors file named {p.suffix or 'without a suffix'}; rename it to {p.stem}.safetensors"
        )
    if fmt != "safetensors" and p.suffix == ".safetensors":
        raise CheckpointError(
            f"checkpoint {p} is named .safetensors but holds a PyTorch pickle archive; rename it to {p.stem}.pt, or "
            + PICKLE_HELP
        )
    if fmt == "pickle":
        raise CheckpointError(
            f"checkpoint {p} is a bare Python pickle, not a safetensors file or a torch.save archive; wag never unpickles "
            "arbitrary objects (a pickle can run code when loaded). " + PICKLE_HELP.replace("IN.pt", str(p))
        )
    return fmt


def register_arch(arch: str, ckpt: Path) -> None:
    """Make ``arch`` known to open_clip: a built-in config, ``<arch>.json`` / ``open_clip_config.json`` beside
    ``ckpt``, or a config wag ships in ``wag/*/model_configs/``."""
    import open_clip  # lazy: imports torch

    if arch in open_clip.list_models():
        return
    shipped = sorted(
        Path(__file__).resolve().parents[1].glob(f"*/model_configs/{arch}.json")
    )  # configs wag ships (synthetic world)
    for cand in (ckpt.parent / f"{arch}.json", ckpt.parent / "open_clip_config.json", *shipped):
        if cand.is_file() and _is_model_config(cand):
            open_clip.add_model_config(cand) if cand.stem == arch else _add_config_as(arch, cand)
            if arch in open_clip.list_models():
                return
    raise UnknownModelError(
        f"unknown open_clip architecture '{arch}' for checkpoint {ckpt}. Register its config first "
        f"(open_clip.add_model_config('/path/{arch}.json')) or put {arch}.json beside the checkpoint. "
        f"Known architectures include: {', '.join(open_clip.list_models()[:40])}, ..."
    )


def _is_model_config(path: Path) -> bool:

    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    cfg = cfg.get("model_cfg", cfg) if isinstance(cfg, dict) else None
    return isinstance(cfg, dict) and "vision_cfg" in cfg and "text_cfg" in cfg


def _add_config_as(arch: str, path: Path) -> None:
    """Register the config in ``path`` (plain or HF ``{"model_cfg": ...}``) under the name ``arch``."""

    import open_clip  # lazy: imports torch

    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg = cfg.get("model_cfg", cfg)
    tmp = Path(tempfile.mkdtemp(prefix="wag_oc_cfg_")) / f"{arch}.json"
    tmp.write_text(json.dumps(cfg), encoding="utf-8")
    open_clip.add_model_config(tmp)


def checkpoint_fingerprint(path: Path) -> str:
    """The (path, size, mtime) fingerprint of a checkpoint file, as one string."""
    return ":".join(map(str, stat_fingerprint(path)))


def create_from_checkpoint(arch: str, ckpt: Path) -> tuple[Any, Any]:
    """open_clip model and preprocess for ``arch`` with weights from ``ckpt`` (tensors only, never pickled code).

    A pickle with Python objects is refused with how to convert it; a key or shape mismatch is summarised with
    both sides (checkpoint vs architecture).
    """

    import open_clip  # lazy: imports torch

    check_checkpoint(ckpt)
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=str(ckpt), weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        first = next(
            (ln for ln in lines if "Unsupported global" in ln or "WeightsUnpickler" in ln),
            lines[0] if lines else type(exc).__name__,
        )[:200]
        raise CheckpointError(
            f"checkpoint {ckpt} holds pickled Python objects besides tensors ({first}); wag loads tensors only and never "
            "runs pickled code. " + PICKLE_HELP.replace("IN.pt", str(ckpt))
        ) from None
    except Exception as exc:  # noqa: BLE001 - any load failure becomes a named mismatch
        raise CheckpointError(
            f"checkpoint {ckpt} does not match open_clip architecture '{arch}': {_mismatch_summary(arch, ckpt, exc)}; "
            "pass the architecture the checkpoint was trained with (ARCH@path) or the checkpoint of this architecture"
        ) from None
    return model, preprocess


def _mismatch_summary(arch: str, ckpt: Path, exc: BaseException) -> str:
    """Missing keys, unexpected keys and shape mismatches between ``ckpt`` and a fresh ``arch`` model."""
    import open_clip  # lazy: imports torch

    try:
        from open_clip.factory import load_state_dict

        sd = load_state_dict(str(ckpt), weights_only=True)
        want = open_clip.create_model(arch, pretrained=None).state_dict()
    except Exception:  # noqa: BLE001 - fall back to the loader's own message
        return f"{type(exc).__name__}: {str(exc).strip()[:300]}"

    def few(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (f", ... ({len(keys)} in all)" if len(keys) > 3 else "")

    missing = sorted(set(want) - set(sd))
    unexpected = sorted(set(sd) - set(want))
    shapes = [
        f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(want[k].shape)}"
        for k in sorted(set(sd) & set(want))
        if hasattr(sd[k], "shape") and tuple(sd[k].shape) != tuple(want[k].shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} of the model's {len(want)} keys missing from the checkpoint ({few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} checkpoint keys unknown to the model ({few(unexpected)})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches ({'; '.join(shapes[:3])}{', ...' if len(shapes) > 3 else ''})")
    return "; ".join(parts) or f"{type(exc).__name__}: {str(exc).strip()[:300]}"
