"""Parameter counts of the registry's CLIP models from the installed model definitions, on PyTorch's ``meta`` device.

An architecture is built on the ``meta`` device (no weights read, no memory for them: 0.1-0.6 s each, importing
open_clip dominates) and its parameters are summed. Which definition counts a registry model (:func:`counting_config`):

* an open_clip built-in configuration: the registry's ``arch`` (``-quickgelu`` variants have the same parameters), or
  its backbone when ``arch`` is an ``hf-hub:`` repo whose configuration is not read offline;
* ``slip:CLIP_VITB16`` for SLIP/SynthCLIP checkpoints: SLIP's ``CLIP_VITB16`` (timm ``vit_base_patch16_224`` without
  its classifier head, a 768x512 image projection, and the CLIP text tower, which is open_clip ``ViT-B-16``'s).

Counts are cached (:func:`wag.core.cache.cached_table`) keyed by the torch, open_clip and timm versions and the bytes
of every configuration file counted, so a cached run imports neither torch nor open_clip.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from wag.core.cache import cached_table
from wag.core.errors import WagError
from wag.core.ids import file_sha256
from wag.evaluate.registry import registry

SLIP_VITB16 = "slip:CLIP_VITB16"
#: SLIP's CLIP_VITB16: timm vision trunk, image projection (vision width x embed dim), text tower of open_clip ViT-B-16
SLIP_PARTS = {"timm_model": "vit_base_patch16_224", "vision_width": 768, "embed_dim": 512, "text_config": "ViT-B-16"}
SIZE_COLUMNS = ["config", "params", "image_params"]
TABLE_COLUMNS = ["model", "backbone", "source", "config", "params", "image_params", "how", "paper_code"]
_CACHE_VERSION = 1


class ModelConfigError(WagError, KeyError):
    """An architecture name is not an installed open_clip configuration."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@lru_cache(maxsize=1)
def open_clip_configs() -> dict[str, Path]:
    """Built-in open_clip configuration name -> its JSON file, read from the installed package without importing it."""
    dist = metadata.distribution("open_clip_torch")
    out = {}
    for f in dist.files or []:
        s = str(f)
        if s.startswith("open_clip/model_configs/") and s.endswith(".json"):
            out[Path(s).stem] = Path(str(dist.locate_file(f)))
    return dict(sorted(out.items()))


def config_path(name: str) -> Path:
    """The JSON file of the built-in open_clip configuration ``name``."""
    path = open_clip_configs().get(name)
    if path is None:
        raise ModelConfigError(
            f"'{name}' is not an open_clip configuration installed here (open_clip {_version('open_clip_torch')}); "
            "use one of open_clip.list_models()"
        )
    return path


def config_json(name: str) -> dict[str, Any]:
    """The built-in open_clip configuration ``name`` as a dict."""
    return json.loads(config_path(name).read_text(encoding="utf-8"))


def config_difference(a: str, b: str) -> list[str]:
    """What configuration ``b`` changes from ``a``: ``["vision_cfg.image_size 224 -> 512", ...]`` (dotted keys)."""

    def flat(d: dict[str, Any], pre: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flat(v, f"{pre}{k}.") if isinstance(v, dict) else {f"{pre}{k}": v})
        return out

    fa, fb = flat(config_json(a)), flat(config_json(b))
    return [
        f"{k} {fa.get(k, '(none)')} -> {fb.get(k, '(none)')}"
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]


def variants(name: str) -> list[str]:
    """Other built-in configurations of the same model family: names extending ``name`` (``ViT-B-16-SigLIP`` ->
    ``ViT-B-16-SigLIP-256``, ``-384``, ``-512``, ...), QuickGELU twins left out (they have the same parameters)."""
    return [c for c in open_clip_configs() if c.startswith(f"{name}-") and not c.endswith("-quickgelu")]


def _count_open_clip(name: str) -> tuple[int, int]:
    """(all parameters, image-tower parameters) of open_clip configuration ``name``, built on the meta device."""
    import open_clip  # lazy: torch and open_clip are heavy, and only a cache miss needs them
    import torch  # lazy: see above

    with torch.device("meta"):
        model = open_clip.create_model(name, pretrained=None, device="meta")
    total = sum(p.numel() for p in model.parameters())
    return total, sum(p.numel() for p in model.visual.parameters())


def _count_slip_vitb16() -> tuple[int, int]:
    """(all, image-tower) parameters of SLIP's ``CLIP_VITB16`` rebuilt from its parts (see the module docstring)."""
    import timm  # lazy: see _count_open_clip
    import torch  # lazy: see _count_open_clip

    with torch.device("meta"):
        trunk = timm.create_model(SLIP_PARTS["timm_model"], pretrained=False, num_classes=0)
    image = sum(p.numel() for p in trunk.parameters()) + SLIP_PARTS["vision_width"] * SLIP_PARTS["embed_dim"]
    total, clip_image = _count_open_clip(SLIP_PARTS["text_config"])
    return image + (total - clip_image), image


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def count_parameters(configs: list[str]) -> pd.DataFrame:
    """``config, params, image_params`` of each configuration (open_clip names or ``slip:CLIP_VITB16``), cached."""
    configs = list(dict.fromkeys(configs))
    read = sorted({SLIP_PARTS["text_config"] if c == SLIP_VITB16 else c for c in configs})
    files = {c: file_sha256(config_path(c)) for c in read}
    parts = {
        "version": _CACHE_VERSION,
        "configs": configs,
        "files": files,
        "slip": SLIP_PARTS,
        **{d: _version(d) for d in ("torch", "open_clip_torch", "timm")},
    }

    def compute() -> pd.DataFrame:
        rows = []
        for c in configs:
            total, image = _count_slip_vitb16() if c == SLIP_VITB16 else _count_open_clip(c)
            rows.append({"config": c, "params": total, "image_params": image})
        return pd.DataFrame(rows, columns=SIZE_COLUMNS)

    return cached_table("param_counts", parts, compute)


def counting_config(entry: dict[str, Any]) -> tuple[str, str]:
    """(configuration, how it was chosen) that counts the registry entry ``entry``'s parameters."""
    arch = entry.get("arch")
    if entry.get("loader") == "slip":
        return SLIP_VITB16, f"SLIP checkpoint {entry.get('checkpoint')}: SLIP's CLIP_VITB16 rebuilt from its parts"
    if arch and arch in open_clip_configs():
        return arch, f"open_clip {arch}" + (f" (weights {entry['pretrained']})" if entry.get("pretrained") else "")
    if arch and arch.startswith("hf-hub:") and entry.get("backbone") in open_clip_configs():
        backbone = entry["backbone"]
        return backbone, f"{arch} is an open_clip {backbone}; its hub configuration is not read offline"
    raise ModelConfigError(f"no installed model definition counts '{entry.get('backbone')}/{entry.get('source')}'")


def parameter_table(model_set: str = "let_it_wag") -> pd.DataFrame:
    """One row per registry model of ``model_set``: the configuration counted, its parameters, how it was chosen and
    (``paper_code``) what the paper's code loaded where the registry records it."""
    entries = {k: v for k, v in registry().items() if model_set in v.get("sets", [])}
    chosen = {k: counting_config(v) for k, v in entries.items()}
    sizes = count_parameters([c for c, _ in chosen.values()]).set_index("config")
    rows = [
        {
            "model": k,
            "backbone": v["backbone"],
            "source": v["source"],
            "config": chosen[k][0],
            "params": int(sizes.loc[chosen[k][0], "params"]),
            "image_params": int(sizes.loc[chosen[k][0], "image_params"]),
            "how": chosen[k][1],
            "paper_code": str(v.get("paper_code") or ""),
        }
        for k, v in entries.items()
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
