"""CLIP models by name: the paper's registry (``registry.yaml``) or a local open_clip checkpoint ``ARCH@/path``.

Loading goes through open_clip's own factory. Offline (``HF_HUB_OFFLINE=1`` or ``allow_download=False``), a
model whose weights are not on disk fails at once with a message naming the model and how to supply weights.
"""

from __future__ import annotations

import copy as copy_
import dataclasses
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wag.core.checks import PICKLE_HELP, checkpoint_format
from wag.core.errors import WagError
from wag.core.ids import stat_fingerprint

REGISTRY_PATH = Path(__file__).with_name("registry.yaml")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
#: inference precisions: ``fp32`` (the reference) and ``bf16`` (weights and activations in bfloat16: about 2x faster
#: on CPUs with AVX-512 BF16 or AMX and on GPUs; features agree to ~2e-3, see ``benchmarks/study.py``)
PRECISIONS = ("fp32", "bf16")


class UnknownModelError(WagError, KeyError):
    """A model name is neither in the registry nor an ``ARCH@/path`` checkpoint."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


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


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, dict[str, Any]]:
    """The model registry: name → entry (backbone, source, paper_key, sets, arch, pretrained | checkpoint)."""
    data = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    return dict(data["models"])


def registry_names(model_set: str | None = None) -> list[str]:
    """Registry names, optionally only those of one set (``main``, ``let_it_wag``, ...)."""
    return [k for k, v in registry().items() if model_set is None or model_set in v.get("sets", [])]


def resolve_name(name: str) -> str:
    """Registry name for ``name`` given as a registry name or a paper key (``backboneX_pretrainedY``)."""
    reg = registry()
    if name in reg:
        return name
    for k, v in reg.items():
        if v["paper_key"] == name:
            return k
    raise UnknownModelError(
        f"unknown model '{name}'. Known models: {', '.join(reg)}. "
        "Or give a local open_clip checkpoint as ARCH@/path/to/ckpt.safetensors (ARCH an open_clip config name)."
    )


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


def _weights_on_disk(arch: str, tag: str, cache_dir: str | None) -> bool:
    """Whether open_clip would find the weights of (arch, tag) without a download."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        return os.path.isfile(tag)
    if cfg.get("file"):
        return os.path.isfile(cfg["file"])
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        for fn in names:
            hit = try_to_load_from_cache(repo_id=repo, filename=fn, cache_dir=cache_dir)
            if isinstance(hit, str) and os.path.isfile(hit):
                return True
    url = cfg.get("url", "")
    if url:
        folder = cache_dir or os.path.expanduser("~/.cache/clip")
        return os.path.isfile(os.path.join(folder, os.path.basename(url)))
    return False


def _hf_repo_on_disk(repo: str, cache_dir: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    has_cfg = isinstance(
        try_to_load_from_cache(repo_id=repo, filename="open_clip_config.json", cache_dir=cache_dir), str
    )
    has_w = any(
        isinstance(try_to_load_from_cache(repo_id=repo, filename=fn, cache_dir=cache_dir), str)
        for fn in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
    )
    return has_cfg and has_w


def _register_arch(arch: str, ckpt: Path) -> None:
    """Make ``arch`` known to open_clip: a built-in config, ``<arch>.json`` / ``open_clip_config.json`` beside
    ``ckpt``, or a config wag ships in ``wag/*/model_configs/``."""
    import open_clip

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
    import json

    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    cfg = cfg.get("model_cfg", cfg) if isinstance(cfg, dict) else None
    return isinstance(cfg, dict) and "vision_cfg" in cfg and "text_cfg" in cfg


def _add_config_as(arch: str, path: Path) -> None:
    """Register the config in ``path`` (plain or HF ``{"model_cfg": ...}``) under the name ``arch``."""
    import json
    import tempfile

    import open_clip

    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg = cfg.get("model_cfg", cfg)
    tmp = Path(tempfile.mkdtemp(prefix="wag_oc_cfg_")) / f"{arch}.json"
    tmp.write_text(json.dumps(cfg), encoding="utf-8")
    open_clip.add_model_config(tmp)


def _file_fingerprint(path: Path) -> str:
    return ":".join(map(str, stat_fingerprint(path)))


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
    import open_clip

    if "@" in name:
        arch, _, path_s = name.partition("@")
        ckpt = Path(os.path.expanduser(path_s))
        if not ckpt.is_file():
            raise ModelWeightsMissingError(
                f"checkpoint of model '{name}' not found: {ckpt} (give ARCH@/path/to/existing/file)"
            )
        _register_arch(arch, ckpt)
        model, preprocess = _create_from_checkpoint(arch, ckpt)
        return as_loaded_model(
            model,
            preprocess,
            open_clip.get_tokenizer(arch),
            device,
            name=name,
            arch=arch,
            pretrained=str(ckpt),
            backbone=arch,
            source=source or ckpt.stem,
            fingerprint=f"{arch}@{_file_fingerprint(ckpt)}",
        )

    key = resolve_name(name)
    e = registry()[key]
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
        if offline and not _hf_repo_on_disk(repo, cache_dir):
            raise ModelWeightsMissingError(
                f"weights of model '{key}' (HF hub {repo}) are not cached and downloads are off. " + _supply_hint(key)
            )
        model, _, preprocess = _create(arch, None, cache_dir, key)
        tok = open_clip.get_tokenizer(arch)
        return as_loaded_model(
            model, preprocess, tok, device, arch=arch, pretrained=None, fingerprint=f"{arch}", **common
        )
    if offline and not _weights_on_disk(arch, tag, cache_dir):
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
    import open_clip

    model, preprocess = _create_from_checkpoint(arch, ckpt)
    return as_loaded_model(
        model,
        preprocess,
        open_clip.get_tokenizer(arch),
        device,
        arch=arch,
        pretrained=str(ckpt),
        fingerprint=f"{arch}@{_file_fingerprint(ckpt)}",
        **common,
    )


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


def _create_from_checkpoint(arch: str, ckpt: Path) -> tuple[Any, Any]:
    """open_clip model and preprocess for ``arch`` with weights from ``ckpt`` (tensors only, never pickled code).

    A pickle with Python objects is refused with how to convert it; a key or shape mismatch is summarised with
    both sides (checkpoint vs architecture).
    """
    import pickle

    import open_clip

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
    import open_clip

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


def _create(arch: str, tag: str | None, cache_dir: str | None, key: str) -> tuple[Any, Any, Any]:
    import open_clip

    try:
        return open_clip.create_model_and_transforms(arch, pretrained=tag, cache_dir=cache_dir)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelWeightsMissingError(
            f"could not load weights of model '{key}': {str(exc)[:300]}. " + _supply_hint(key)
        ) from None


def model_status(model_set: str | None = None, cache_dir: str | None = None) -> Any:
    """Registry as a table: name, paper_key, how it loads (open_clip tag, HF hub, checkpoint, slip) and whether
    its weights are on this machine (no network access)."""
    import pandas as pd

    rows = []
    for name in registry_names(model_set):
        e = registry()[name]
        if e.get("checkpoint"):
            how = "slip (not loadable)" if e.get("loader") == "slip" else f"checkpoint {e['checkpoint']}"
            d = os.environ.get("WAG_CHECKPOINTS")
            ok = bool(d) and (Path(d) / e["checkpoint"]).is_file() and e.get("loader") != "slip"
        elif e["arch"].startswith("hf-hub:"):
            how, ok = e["arch"], _hf_repo_on_disk(e["arch"][len("hf-hub:") :], cache_dir)
        else:
            how, ok = (
                f"open_clip {e['arch']} / {e['pretrained']}",
                _weights_on_disk(e["arch"], e["pretrained"], cache_dir),
            )
        rows.append(
            {
                "name": name,
                "paper_key": e["paper_key"],
                "sets": ",".join(e.get("sets", [])),
                "source": how,
                "on_disk": bool(ok),
            }
        )
    return pd.DataFrame(rows)
