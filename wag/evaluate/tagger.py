"""An open_clip zero-shot multi-label tagger: the ``wag.frequency.tagging.Tagger`` protocol on a model of the
evaluation harness (``wag.evaluate.models.load_clip``).

The tagger's probability for concept c is a two-way softmax between the concept's text embedding (mean of
its prompts or of its GPT descriptions) and a generic background prompt:
``p = sigmoid(logit_scale * (cos(img, c) - cos(img, background)))``; concepts are scored independently
(multi-label), like RAM++'s per-tag sigmoid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from wag.core.errors import WagError
from wag.evaluate.features import encode_texts, prefetched, text_classifier
from wag.frequency.embeddings import PROBE_PROMPTS
from wag.frequency.tagging import BACKGROUND_PROMPT, TAG_COLUMNS, batched, tag_frame


class OpenClipTagger:
    """Zero-shot multi-label tagger on an open_clip model (``wag.evaluate.models.load_clip`` result).

    ``descriptions``: concept -> texts (e.g. the paper's ``gpt_descriptions/``); concepts without
    descriptions use ``templates``. ``min_score`` drops tiny scores to keep the table small; ``loader_threads``
    threads decode and preprocess the next batches while the model encodes the current one.
    """

    def __init__(
        self,
        model: Any,
        concepts: Sequence[str],
        *,
        descriptions: Mapping[str, Sequence[str]] | None = None,
        templates: Sequence[str] = ("a photo of a {}.",),
        batch_size: int = 64,
        min_score: float = 0.01,
        progress: bool = False,
        loader_threads: int = 0,
    ) -> None:
        if not concepts:
            raise WagError("OpenClipTagger needs at least one concept")
        self.model = model
        self.concepts = list(concepts)
        self.batch_size = batch_size
        self.min_score = min_score
        self.progress = progress
        self.loader_threads = loader_threads
        descriptions = descriptions or {}
        prompts = [list(descriptions.get(c) or [t.format(c) for t in templates]) for c in self.concepts]
        with torch.no_grad():
            self.text = text_classifier(model, [*prompts, [BACKGROUND_PROMPT]])  # (D, C+1)
            scale = getattr(model.model, "logit_scale", None)
            self.scale = float(scale.exp()) if scale is not None else 100.0

    def preprocess(self, batch: Sequence[tuple[str, Any]]) -> tuple[list[str], torch.Tensor]:
        """(ids, image tensor) of a batch of (sample_id, PIL image): decoding and preprocessing, run ahead of the model."""
        return [s for s, _ in batch], torch.stack([self.model.preprocess(im.convert("RGB")) for _, im in batch])

    def embed_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Unit image embeddings (N, D, float32) of a preprocessed image batch: what stored embeddings hold."""
        with torch.inference_mode():
            f = self.model.encode_image(x)
            return f / f.norm(dim=-1, keepdim=True)

    def score_embeddings(self, f: torch.Tensor) -> np.ndarray:
        """(N, C) probabilities of unit image embeddings."""
        with torch.inference_mode():
            sims = f @ self.text.to(f.device).float()
            z = self.scale * (sims[:, :-1] - sims[:, -1:])
            return torch.sigmoid(z).cpu().numpy()

    def score_tensor(self, x: torch.Tensor) -> np.ndarray:
        """(N, C) probabilities for a preprocessed image batch."""
        return self.score_embeddings(self.embed_tensor(x))

    def scores(self, images: Sequence[Any]) -> np.ndarray:
        """(N, C) probabilities for PIL images."""
        return self.score_tensor(self.preprocess([("", im) for im in images])[1])

    def tag(self, samples: Iterable[tuple[str, Any]]) -> pd.DataFrame:
        """Tags of every sample; ``loader_threads`` threads decode and preprocess the next batches while the model runs."""
        parts = []
        batches = prefetched(batched(samples, self.batch_size), self.preprocess, self.loader_threads)
        for ids, x in tqdm(batches, desc="tagging", unit="batch", disable=not self.progress):
            parts.append(tag_frame(ids, self.concepts, self.score_tensor(x), self.min_score))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)

    def tag_and_embed(self, samples: Iterable[tuple[str, Any]]) -> tuple[pd.DataFrame, list[str], np.ndarray]:
        """:meth:`tag` and the unit image embeddings it scored (ids, (N, D) float32), encoding each image once."""
        parts, ids, embs = [], [], []
        batches = prefetched(batched(samples, self.batch_size), self.preprocess, self.loader_threads)
        for b_ids, x in tqdm(batches, desc="tagging", unit="batch", disable=not self.progress):
            f = self.embed_tensor(x)
            parts.append(tag_frame(b_ids, self.concepts, self.score_embeddings(f), self.min_score))
            ids += b_ids
            embs.append(f.cpu().numpy().astype(np.float32))
        tags = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)
        return tags, ids, np.concatenate(embs) if embs else np.zeros((0, self.text.shape[0]), np.float32)

    @property
    def text_matrix(self) -> np.ndarray:
        """(D, C+1) unit text embeddings of the concepts and, last, the background prompt."""
        return self.text.float().cpu().numpy()


def text_probe(model: Any) -> np.ndarray:
    """The model's unit text embeddings of :data:`wag.frequency.embeddings.PROBE_PROMPTS` (a text-tower fingerprint)."""
    return encode_texts(model, list(PROBE_PROMPTS)).numpy()
