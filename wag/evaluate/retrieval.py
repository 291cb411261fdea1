"""Per-concept image-text retrieval recall@k (paper §3, the definitions of its retrieval_eval.py).

Similarity = cosine of L2-normalised features. Text→image: caption t is correct at k when its own image is
among the k images most similar to it. Image→text: image i is correct at k when any of its captions is among
the k captions most similar to it. Per concept: t2i recall = mean over the captions whose concepts include
it; i2t recall = mean over the images whose concepts (the union of their captions' concepts) include it.
Concepts found in fewer than ``min_images`` images are dropped (the paper: 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from wag.core.errors import WagError
from wag.evaluate.features import encode_images, encode_texts
from wag.evaluate.models import LoadedModel
from wag.frequency import match_texts


def caption_concepts(captions: Sequence[str], concepts: Sequence[str], *, variant: str = "phrase") -> list[list[str]]:
    """Concepts of each caption via the frequency engine's matcher (``wag.frequency.match_texts``)."""
    return [list(c) for c in match_texts(list(captions), list(concepts), variant=variant)]


def recall_hits(
    sim_t2i: torch.Tensor, caption_image: np.ndarray, image_captions: np.ndarray, ks: Sequence[int]
) -> dict[str, dict[int, np.ndarray]]:
    """Boolean hits per caption (t2i) and per image (i2t) for each k, from the (captions × images) similarity.

    Uses top-k selection (memory and time O(n·k) beyond the similarity matrix, unlike a full sort).
    """
    kmax = min(max(ks), sim_t2i.shape[1])
    t2i_rank = sim_t2i.topk(kmax, dim=1).indices.numpy()
    i2t_rank = sim_t2i.T.topk(min(max(ks), sim_t2i.shape[0]), dim=1).indices.numpy()
    out: dict[str, dict[int, np.ndarray]] = {"t2i": {}, "i2t": {}}
    for k in ks:
        out["t2i"][k] = (t2i_rank[:, :k] == caption_image[:, None]).any(axis=1)
        top = i2t_rank[:, :k]  # (images, k) caption indices
        out["i2t"][k] = (top[:, :, None] == image_captions[:, None, :]).any(axis=(1, 2))
    return out


def per_concept_recall(
    hits: dict[str, dict[int, np.ndarray]],
    caption_concepts_: Sequence[Sequence[str]],
    image_concepts: Sequence[Sequence[str]],
    keep: set[str],
) -> pd.DataFrame:
    """Rows (concept, direction, k, value, n) of per-concept recall over the samples containing each concept."""
    rows = []
    for direction, per_sample in (("t2i", caption_concepts_), ("i2t", image_concepts)):
        members: dict[str, list[int]] = {}
        for s, cs in enumerate(per_sample):
            for c in set(cs):
                if c in keep:
                    members.setdefault(c, []).append(s)
        for k, h in hits[direction].items():
            for c in sorted(members):  # concept order fixed (set order varies with PYTHONHASHSEED: reruns must match)
                idx = members[c]
                rows.append(
                    {"concept": c, "direction": direction, "k": k, "value": float(h[idx].mean()), "n": len(idx)}
                )
    return pd.DataFrame(rows, columns=["concept", "direction", "k", "value", "n"])


def evaluate_retrieval(
    model: LoadedModel,
    data: Any,
    *,
    concepts: Sequence[str] | Sequence[Sequence[str]],
    ks: Sequence[int] = (1, 5, 10),
    min_images: int = 10,
    variant: str = "phrase",
    dataset_name: str | None = None,
    batch_size: int = 256,
    cache: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Per-concept recall@k, image→text and text→image, of ``model`` on ``data`` (a ``RetrievalData``).

    ``concepts``: a concept list (matched in each caption with ``wag.frequency.match_texts``) or per-caption
    concept lists (one list per caption, in image-major order: image 0's captions first).
    Returns the performance table (task=retrieval, prompt=i2t|t2i, metric=recall@k, value in [0, 1]) plus
    ``n`` (captions or images holding the concept) and ``model_key``; ``df.attrs["full"]`` holds overall recall.
    """
    name = dataset_name or data.name
    n_img = len(data.images)
    cpi = {len(c) for c in data.captions}
    if len(cpi) != 1:
        raise WagError(f"every image needs the same number of captions; got counts {sorted(cpi)}")
    per = cpi.pop()
    texts = [c for caps in data.captions for c in caps]
    if any(not isinstance(t, str) or not t.strip() for t in texts):
        bad = next(i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip())
        raise WagError(
            f"caption {bad} (image {bad // per}: {data.images[bad // per]}) is empty; fix the annotation file"
        )
    if len(concepts) and all(isinstance(c, str) for c in concepts):
        cap_concepts = caption_concepts(texts, list(concepts), variant=variant)  # type: ignore[arg-type]
    else:
        cap_concepts = [list(c) for c in concepts]
        if len(cap_concepts) != len(texts):
            raise WagError(f"{len(cap_concepts)} per-caption concept lists given for {len(texts)} captions")
    img_concepts = [sorted({c for j in range(i * per, (i + 1) * per) for c in cap_concepts[j]}) for i in range(n_img)]
    counts: dict[str, int] = {}
    for cs in img_concepts:
        for c in cs:
            counts[c] = counts.get(c, 0) + 1
    keep = {c for c, n in counts.items() if n >= min_images}

    feats = encode_images(model, data, batch_size=batch_size, cache=cache, progress=progress, labelled=False)
    if feats.skipped:
        raise WagError(
            f"{len(feats.skipped)} retrieval images cannot be decoded (first: {feats.skipped[0]}); retrieval needs every image"
        )
    order = np.argsort(feats.index)
    img = feats.features[order]
    txt = encode_texts(model, texts, batch_size=batch_size, progress=progress)
    caption_image = np.repeat(np.arange(n_img), per)
    image_captions = np.arange(n_img * per).reshape(n_img, per)
    hits = recall_hits(txt @ img.T, caption_image, image_captions, ks)
    pc = per_concept_recall(hits, cap_concepts, img_concepts, keep)
    df = pd.DataFrame(
        {
            "concept": pc["concept"],
            "dataset": name,
            "task": "retrieval",
            "model": model.backbone,
            "pretraining": model.source,
            "prompt": pc["direction"],
            "metric": "recall@" + pc["k"].astype(str),
            "value": pc["value"],
            "n": pc["n"],
            "model_key": model.paper_key,
        }
    )
    df.attrs["full"] = {f"{d}@{k}": float(h.mean()) for d, hk in hits.items() for k, h in hk.items()}
    df.attrs["dropped_concepts"] = sorted(set(counts) - keep)
    df.attrs["model_key"] = model.paper_key
    return df


def to_paper_json(df: pd.DataFrame, full: dict[str, float] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Paper schema per (direction, k): ``{"i2t_k=1": {model_key: {"full": r, "conceptwise": {c: r}}}}`` (fractions).

    ``full`` (overall recall, e.g. ``df.attrs["full"]``) fills ``full``; without it the per-caption/image
    mean is not recoverable from per-concept values and ``full`` is omitted.
    """
    full = full if full is not None else df.attrs.get("full")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    keys = list(df["model_key"].unique()) or ([df.attrs["model_key"]] if df.attrs.get("model_key") else [])
    combos = {(str(d), f"recall@{k}") for d, k in (x.split("@") for x in full)} if full else set()
    combos |= set(zip(df["prompt"].astype(str), df["metric"].astype(str)))
    for key in keys:
        for direction, metric in sorted(combos, key=lambda t: (t[0], int(t[1].split("@")[1]))):
            k = metric.split("@")[1]
            g = df[(df["model_key"] == key) & (df["prompt"] == direction) & (df["metric"] == metric)]
            entry: dict[str, Any] = {}
            if full and f"{direction}@{k}" in full:
                entry["full"] = full[f"{direction}@{k}"]
            entry["conceptwise"] = {str(c): float(v) for c, v in zip(g["concept"], g["value"])}
            out.setdefault(f"{direction}_k={k}", {})[str(key)] = entry
    return out
