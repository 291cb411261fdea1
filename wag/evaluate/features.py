"""Image and text features of a CLIP model, with an on-disk cache (safetensors, never pickle).

Image features are keyed by (model fingerprint, dataset fingerprint, preprocessing): a re-run with the same
model and files reads them back instead of decoding and encoding the images again. Undecodable images are
skipped; their paths are kept beside the features so a cached run reports the same skips.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from wag.core.errors import WagError
from wag.core.ids import content_key
from wag.core.io import atomic_path, write_json
from wag.core.paths import cache_dir
from wag.evaluate.images import CorruptImageError
from wag.evaluate.models import LoadedModel


class PromptError(WagError, ValueError):
    """Texts to encode are missing: no prompts at all, or a class without any."""


@dataclass
class ImageFeatures:
    """L2-normalised image features of the decodable samples, their dataset indices, labels and the skips."""

    features: torch.Tensor  # (N, D) float32, rows L2-normalised
    index: np.ndarray  # (N,) dataset indices of the rows
    labels: np.ndarray  # (N,) labels (-1 when the dataset has none)
    skipped: list[str] = field(default_factory=list)  # refs (paths) of undecodable images
    from_cache: bool = False


class _Encodable(torch.utils.data.Dataset):
    """Dataset → (tensor | None, label, index); decoding errors become None so the batch goes on."""

    def __init__(self, data: Any, transform: Any, labelled: bool) -> None:
        self.data, self.transform, self.labelled = data, transform, labelled

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor | None, int, int]:
        try:
            if self.labelled:
                img, label = self.data.get(i)
            else:
                img, label = self.data.get(i), -1
            return self.transform(img), label, i
        except CorruptImageError:
            return None, -1, i


def _collate(batch: list[tuple[Any, int, int]]) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, list[int]]:
    ok = [b for b in batch if b[0] is not None]
    bad = [b[2] for b in batch if b[0] is None]
    x = torch.stack([b[0] for b in ok]) if ok else None
    return (
        x,
        torch.tensor([b[1] for b in ok], dtype=torch.long),
        torch.tensor([b[2] for b in ok], dtype=torch.long),
        bad,
    )


def prefetched(items: Iterable[Any], fn: Callable[[Any], Any], threads: int) -> Iterator[Any]:
    """``fn(item)`` for each item, in order; with ``threads > 0`` up to ``threads + 1`` items are prepared ahead in a
    thread pool (PIL decoding and resizing release the GIL, so they run on other cores while the model encodes)."""
    if threads <= 0:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="wag-loader") as pool:
        pending: deque[Any] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _batches(
    ds: _Encodable, batch_size: int, num_workers: int, threads: int = 0
) -> Iterator[tuple[Any, torch.Tensor, torch.Tensor, list[int]]]:
    """Collated batches in dataset order: from a DataLoader of ``num_workers`` processes, else decoded in this
    process, by ``threads`` loader threads ahead of the model (0: in line, between forward passes)."""
    if num_workers > 0:
        yield from torch.utils.data.DataLoader(
            ds, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=_collate
        )
        return
    starts = range(0, len(ds), batch_size)
    yield from prefetched(starts, lambda s: _collate([ds[i] for i in range(s, min(s + batch_size, len(ds)))]), threads)


def feature_cache_path(model: LoadedModel, data: Any, kind: str = "image") -> Path:
    """Cache file of the image features of ``data`` under ``model`` (keyed by model, data, preprocessing)."""
    key = content_key(
        {
            "model": model.fingerprint,
            "data": data.fingerprint,
            "preprocess": repr(model.preprocess),
            "kind": kind,
            "v": 1,
        }
    )
    return cache_dir() / "features" / f"{key}.safetensors"


def _set_threads() -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if torch.get_num_threads() > 2:
        torch.set_num_threads(2)


def encode_images(
    model: LoadedModel,
    data: Any,
    *,
    batch_size: int = 256,
    num_workers: int = 0,
    cache: bool = True,
    progress: bool = True,
    labelled: bool = True,
    threads: int = 0,
) -> ImageFeatures:
    """Encode every decodable image of ``data`` (``ClassificationData`` or ``RetrievalData``); cached on disk.

    Images are decoded and preprocessed by ``num_workers`` DataLoader processes, else by ``threads`` loader
    threads that run ahead of the model, else in line (the default: on a busy 2-core machine loader threads
    were measured 12 % slower for a small model, the GIL and the forward pass compete for the same cores)."""
    from safetensors.torch import load_file, save_file

    path = feature_cache_path(model, data, "image" if labelled else "image-unlabelled")
    if cache and path.is_file():
        t = load_file(str(path))
        meta = (
            json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            if path.with_suffix(".json").is_file()
            else {}
        )
        return ImageFeatures(
            t["features"], t["index"].numpy(), t["labels"].numpy(), list(meta.get("skipped", [])), from_cache=True
        )
    _set_threads()
    ds = _Encodable(data, model.preprocess, labelled)
    feats, idx, labels, bad = [], [], [], []
    with torch.inference_mode():
        for x, y, i, b in tqdm(
            _batches(ds, batch_size, num_workers, threads),
            total=-(-len(ds) // batch_size),
            desc=f"encode {getattr(data, 'name', 'images')}",
            disable=not progress,
            leave=False,
        ):
            bad += b
            if x is None:
                continue
            f = model.encode_image(x)
            feats.append(torch.nn.functional.normalize(f, dim=-1).cpu())
            idx.append(i)
            labels.append(y)
    if not feats:
        raise CorruptImageError(
            f"no image of {getattr(data, 'name', 'the dataset')} could be decoded ({len(bad)} tried)"
        )
    out = ImageFeatures(torch.cat(feats), torch.cat(idx).numpy(), torch.cat(labels).numpy(), [data.ref(i) for i in bad])
    if cache:
        with atomic_path(path) as tmp:
            save_file(
                {
                    "features": out.features.contiguous(),
                    "index": torch.from_numpy(out.index),
                    "labels": torch.from_numpy(out.labels),
                },
                str(tmp),
            )
        write_json(path.with_suffix(".json"), {"model": model.name, "data": data.fingerprint, "skipped": out.skipped})
    return out


def encode_text_trimmed(m: Any, tokens: torch.Tensor) -> torch.Tensor:
    """``m.encode_text(tokens)`` computed only up to the last end-of-text token of the batch.

    For open_clip's CLIP text tower (causal mask, pooling at the argmax token = end-of-text) the padding after
    the end-of-text token cannot influence the pooled output, so dropping it gives the same features at a
    fraction of the cost (prompts are ~10 of 77 tokens). Other towers fall back to ``m.encode_text``.
    """
    import open_clip

    mask = getattr(m, "attn_mask", None)
    if (
        type(m) is not open_clip.CLIP
        or getattr(m, "text_pool_type", None) != "argmax"
        or mask is None
        or tokens.dim() != 2
    ):
        return m.encode_text(tokens)
    eot = tokens.argmax(dim=-1)
    n = int(eot.max()) + 1
    cast = m.transformer.get_cast_dtype()
    x = m.token_embedding(tokens[:, :n]).to(cast) + m.positional_embedding[:n].to(cast)
    x = m.ln_final(m.transformer(x, attn_mask=mask[:n, :n]))
    x = x[torch.arange(x.shape[0], device=x.device), eot]
    proj = m.text_projection
    if proj is not None:
        x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
    return x


def encode_texts(
    model: LoadedModel, texts: Sequence[str], *, batch_size: int = 256, progress: bool = False
) -> torch.Tensor:
    """L2-normalised text features (len(texts), D), encoded in batches."""
    _set_threads()
    out = []
    with torch.inference_mode():
        for s in tqdm(range(0, len(texts), batch_size), desc="encode texts", disable=not progress, leave=False):
            tok = model.tokenizer(list(texts[s : s + batch_size])).to(model.device)
            out.append(torch.nn.functional.normalize(encode_text_trimmed(model.model, tok).float(), dim=-1).cpu())
    if not out:
        raise PromptError("no texts to encode; give at least one prompt or concept")
    return torch.cat(out)


def text_classifier(
    model: LoadedModel,
    prompts: Sequence[Sequence[str]],
    *,
    batch_size: int = 256,
    progress: bool = False,
    cache: bool = False,
) -> torch.Tensor:
    """Zero-shot classifier (D, C): per class, the normalised mean of its normalised prompt embeddings.

    ``prompts[c]`` are the prompts of class c (any number per class). All prompts are encoded in batches
    across classes (not one forward pass per class). ``cache`` stores it keyed by (model, prompts).
    """
    from safetensors.torch import load_file, save_file

    flat = [p for ps in prompts for p in ps]
    if empty := [c for c, ps in enumerate(prompts) if len(ps) == 0]:
        raise PromptError(f"every class needs at least one prompt; class #{empty[0]} has none (check the templates)")
    path = (
        cache_dir()
        / "text"
        / f"{content_key({'model': model.fingerprint, 'prompts': [list(p) for p in prompts], 'v': 1})}.safetensors"
    )
    if cache and path.is_file():
        return load_file(str(path))["classifier"]
    clf = _text_classifier(model, prompts, flat, batch_size, progress)
    if cache:
        with atomic_path(path) as tmp:
            save_file({"classifier": clf}, str(tmp))
    return clf


def _text_classifier(
    model: LoadedModel, prompts: Sequence[Sequence[str]], flat: list[str], batch_size: int, progress: bool
) -> torch.Tensor:
    emb = encode_texts(model, flat, batch_size=batch_size, progress=progress)
    owner = torch.repeat_interleave(torch.arange(len(prompts)), torch.tensor([len(ps) for ps in prompts]))
    sums = torch.zeros(len(prompts), emb.shape[1]).index_add_(0, owner, emb)
    means = sums / torch.bincount(owner, minlength=len(prompts)).unsqueeze(1).float()
    return torch.nn.functional.normalize(means, dim=-1).T.contiguous()
