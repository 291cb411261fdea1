"""Image tags: a ``Tagger`` protocol, a RAM++ adapter, threshold sweeps (the open_clip zero-shot tagger is
:class:`wag.evaluate.tagger.OpenClipTagger`: it runs a model of the evaluation harness).

Tags are a table ``sample_id, concept, score`` (score = probability that the concept is in the
image). A hit at threshold t is ``score >= t`` (paper: RAM++ at 0.7; 0.5 / 0.6 ablation).
"""

from __future__ import annotations

import io
import os
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from wag.core.errors import WagError
from wag.core.io import write_parquet
from wag.corpus import iter_samples

TAG_COLUMNS = ["sample_id", "concept", "score"]
BACKGROUND_PROMPT = "a photo."


class TaggerUnavailableError(WagError, RuntimeError):
    """A tagger's package or checkpoint is missing; the message names both and how to get them."""


@runtime_checkable
class Tagger(Protocol):
    """Anything that scores concepts on images."""

    concepts: Sequence[str]

    def tag(self, samples: Iterable[tuple[str, Any]]) -> pd.DataFrame:
        """``samples`` = (sample_id, PIL image) pairs -> DataFrame(sample_id, concept, score)."""
        ...


def batched(samples: Iterable[tuple[str, Any]], n: int) -> Iterator[list[tuple[str, Any]]]:
    """``samples`` in lists of ``n`` (the last one shorter)."""
    buf: list[tuple[str, Any]] = []
    for s in samples:
        buf.append(s)
        if len(buf) == n:
            yield buf
            buf = []
    if buf:
        yield buf


def tag_frame(ids: list[str], concepts: Sequence[str], scores: np.ndarray, min_score: float) -> pd.DataFrame:
    """The tags (``sample_id, concept, score``) of a score matrix (images x concepts) at or above ``min_score``."""
    r, c = np.nonzero(scores >= min_score)
    return pd.DataFrame(
        {
            "sample_id": np.asarray(ids, dtype=object)[r],
            "concept": np.asarray(concepts, dtype=object)[c],
            "score": scores[r, c].astype(np.float32),
        }
    )


class RamPlusPlusTagger:
    """RAM++ (recognize-anything) open-set tagger, as the paper ran it: per-tag sigmoid probabilities.

    Needs the ``ram`` package with logits output (the paper's patched copy in
    bethgelab/frequency_determines_performance ``ram_model/ram``, or recognize-anything) and the
    checkpoint ``ram_plus_swin_large_14m.pth``; ``descriptions`` = concept -> LLM descriptions
    (the paper's ``gpt_descriptions/rampp_overall.json``).
    """

    CHECKPOINT = "ram_plus_swin_large_14m.pth"

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None,
        concepts: Sequence[str],
        descriptions: Mapping[str, Sequence[str]],
        *,
        image_size: int = 384,
        device: str = "cpu",
        batch_size: int = 16,
        min_score: float = 0.01,
    ) -> None:
        try:
            import ram  # noqa: F401
            from ram.models import ram_plus
            from ram.utils import build_openset_llm_label_embedding
        except ImportError:
            raise TaggerUnavailableError(
                "RAM++ needs the 'ram' package: pip install git+https://github.com/xinyu1205/recognize-anything "
                "(or put the paper's patched copy ram_model/ram on PYTHONPATH), and the checkpoint "
                f"{self.CHECKPOINT} (given: {checkpoint or 'none'}). Use OpenClipTagger to tag without it."
            ) from None
        ckpt = Path(os.path.expanduser(str(checkpoint))) if checkpoint else None
        if ckpt is None or not ckpt.is_file():
            raise TaggerUnavailableError(
                f"RAM++ checkpoint not found: {ckpt or '(none given)'}; download {self.CHECKPOINT} (recognize-anything release) and pass its path"
            )
        import torch
        from torch import nn
        from torchvision.transforms import Compose, Normalize, Resize, ToTensor

        missing = [c for c in concepts if c not in descriptions]
        if missing:
            raise WagError(
                f"RAM++ needs LLM descriptions for every concept; missing for {len(missing)} (e.g. {missing[:3]})"
            )
        self.concepts = list(concepts)
        model = ram_plus(pretrained=str(ckpt), image_size=image_size, vit="swin_l")
        emb, cats = build_openset_llm_label_embedding({c: list(descriptions[c]) for c in self.concepts})
        model.tag_list = np.array(cats)
        model.label_embed = nn.Parameter(emb.float())
        model.num_class = len(cats)
        model.class_threshold = torch.ones(model.num_class) * 0.5
        self.model = model.eval().to(device)
        self.device, self.batch_size, self.min_score = device, batch_size, min_score
        self.order = [list(cats).index(c) for c in self.concepts]
        self.transform = Compose(
            [
                lambda im: im.convert("RGB"),
                Resize((image_size, image_size)),
                ToTensor(),
                Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
            ]
        )

    def tag(self, samples: Iterable[tuple[str, Any]]) -> pd.DataFrame:
        import torch
        from ram import inference_ram_openset

        parts = []
        for batch in batched(samples, self.batch_size):
            x = torch.stack([self.transform(im) for _, im in batch]).to(self.device)
            with torch.inference_mode():
                try:
                    _, logits = inference_ram_openset(x, self.model, return_logits=True)
                except TypeError:
                    raise TaggerUnavailableError(
                        "this 'ram' package does not return probabilities (return_logits); use the paper's patched ram_model/ram"
                    ) from None
            probs = np.asarray(logits.float().cpu())[:, self.order]
            parts.append(tag_frame([s for s, _ in batch], self.concepts, probs, self.min_score))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TAG_COLUMNS)


def iter_shard_images(shards: Iterable[Any], skip: Container[str] = frozenset()) -> Iterator[tuple[str, Any]]:
    """(sample_id, PIL image) of every sample with an image in WebDataset shards (``wag.corpus`` shards), except the
    sample ids in ``skip`` (never opened, so never decoded or tagged)."""
    from PIL import Image, UnidentifiedImageError

    for shard in shards:
        for s in iter_samples(shard, with_images=True):
            if "image" in s and str(s["sample_id"]) not in skip:
                try:
                    yield s["sample_id"], Image.open(io.BytesIO(s["image"]))
                except UnidentifiedImageError:
                    continue


def image_counts(
    tags: pd.DataFrame,
    thresholds: Sequence[float],
    *,
    concepts: Sequence[str] | None = None,
    tagger: str = "tagger",
    dataset: str = "custom",
    pretraining: str = "corpus",
) -> pd.DataFrame:
    """Frequencies table (method ``image``, variant ``<tagger>@<t>``): images with score >= t, per threshold."""
    names = list(concepts) if concepts is not None else sorted(tags["concept"].unique())
    rows = []
    for t in thresholds:
        c = tags.loc[tags["score"] >= t].groupby("concept")["sample_id"].nunique()
        rows.append(
            pd.DataFrame(
                {
                    "concept": names,
                    "dataset": dataset,
                    "pretraining": pretraining,
                    "method": "image",
                    "variant": f"{tagger}@{t:g}",
                    "count": c.reindex(names, fill_value=0).to_numpy().astype("int64"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def image_hits(tags: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """(concept, sample_id) pairs of tags at or above ``threshold``."""
    return tags.loc[tags["score"] >= threshold, ["concept", "sample_id"]].drop_duplicates(ignore_index=True)


def write_tags(path: str | os.PathLike[str], tags: pd.DataFrame) -> Path:
    """Store tags as Parquet ``sample_id (str), concept (str), score (float32)`` (+ ``raw_score`` when the scores are
    calibrated) (atomic write)."""
    miss = [c for c in TAG_COLUMNS if c not in tags.columns]
    if miss:
        raise WagError(f"tags lack column(s) {miss}; expected {TAG_COLUMNS}")
    out = pd.DataFrame(
        {
            "sample_id": tags["sample_id"].astype(str),
            "concept": tags["concept"].astype(str),
            "score": tags["score"].astype("float32"),
        }
    )
    if "raw_score" in tags.columns:  # calibrated tags (wag.frequency.calibration) keep the tagger's own score
        out["raw_score"] = tags["raw_score"].astype("float32")
    return write_parquet(path, out)
