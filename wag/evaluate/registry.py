"""The model registry (``registry.yaml``): the paper's CLIP models by name, resolution of registry names and paper
keys, and which models have their weights on this machine (no network access)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from wag.core.errors import WagError

REGISTRY_PATH = Path(__file__).with_name("registry.yaml")


class UnknownModelError(WagError, KeyError):
    """A model name is neither in the registry nor an ``ARCH@/path`` checkpoint."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


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


def registry_entry(name: str) -> tuple[str, dict[str, Any]]:
    """(registry name, entry) of ``name`` given as a registry name or a paper key."""
    key = resolve_name(name)
    return key, registry()[key]


def weights_on_disk(arch: str, tag: str, cache_dir: str | None) -> bool:
    """Whether open_clip would find the weights of (arch, tag) without a download."""
    import open_clip  # lazy: imports torch

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


def hf_repo_on_disk(repo: str, cache_dir: str | None) -> bool:
    """Whether the open_clip config and weights of HF hub repo ``repo`` are in the hub cache."""
    from huggingface_hub import try_to_load_from_cache

    has_cfg = isinstance(
        try_to_load_from_cache(repo_id=repo, filename="open_clip_config.json", cache_dir=cache_dir), str
    )
    has_w = any(
        isinstance(try_to_load_from_cache(repo_id=repo, filename=fn, cache_dir=cache_dir), str)
        for fn in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
    )
    return has_cfg and has_w


def model_status(model_set: str | None = None, cache_dir: str | None = None) -> Any:
    """Registry as a table: name, paper_key, how it loads (open_clip tag, HF hub, checkpoint, slip) and whether
    its weights are on this machine (no network access)."""

    rows = []
    for name in registry_names(model_set):
        e = registry()[name]
        if e.get("checkpoint"):
            how = "slip (not loadable)" if e.get("loader") == "slip" else f"checkpoint {e['checkpoint']}"
            d = os.environ.get("WAG_CHECKPOINTS")
            ok = bool(d) and (Path(d) / e["checkpoint"]).is_file() and e.get("loader") != "slip"
        elif e["arch"].startswith("hf-hub:"):
            how, ok = e["arch"], hf_repo_on_disk(e["arch"][len("hf-hub:") :], cache_dir)
        else:
            how, ok = (
                f"open_clip {e['arch']} / {e['pretrained']}",
                weights_on_disk(e["arch"], e["pretrained"], cache_dir),
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
