"""Image embeddings stored on disk, and concept scores computed from them without decoding an image.

The layout is clip-retrieval's / img2dataset's (the one LAION and DataComp ship their CLIP embeddings in)::

    <folder>/img_emb/img_emb_{i}.npy          float16 or float32, (N_i, D), one row per sample
    <folder>/metadata/metadata_{i}.parquet    N_i rows in the same order; column ``key`` (configurable) = sample key
    <folder>/embeddings.json                  optional sidecar wag writes (model, dimension, a text-tower probe)

or Parquet files whose ``embedding_column`` holds each sample's vector beside its key column (each file one part).
``.npy`` parts are memory-mapped (``np.load(mmap_mode='r')``) and scored in blocks of rows, so a part of any size
costs one block of memory. The score is the open_clip tagger's (:class:`wag.evaluate.tagger.OpenClipTagger`):
``sigmoid(scale * (cos(img, concept) - cos(img, background)))`` with the same text matrix, so the pixel path and this
one agree to float precision when the embeddings were stored in float32.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from wag.core.errors import WagError, excerpt
from wag.core.io import atomic_path, read_json, write_json, write_parquet
from wag.frequency.tagging import TAG_COLUMNS, tag_frame

SIDECAR = "embeddings.json"
FORMAT = "wag-embeddings/1"
#: prompts whose text embeddings the sidecar stores: a model that encodes them differently is another model
PROBE_PROMPTS = ("a photo of a dog.", "a photo of a car.", "a diagram.", "an abstract painting.")
_PART = re.compile(r"img_emb_(\d+)\.npy$")


class EmbeddingsError(WagError, ValueError):
    """Stored embeddings that cannot be used as declared; the message names the problem and the fix."""


@dataclass(frozen=True)
class EmbeddingPart:
    """One file of embeddings and the file holding its keys (the same Parquet file when ``column`` is set)."""

    emb: Path
    meta: Path
    column: str | None = None

    @property
    def name(self) -> str:
        return self.emb.name


def find_parts(path: str | os.PathLike[str], embedding_column: str | None = None) -> list[EmbeddingPart]:
    """The parts of stored embeddings at ``path``: a clip-retrieval folder (``img_emb/`` + ``metadata/``), or, with
    ``embedding_column``, a Parquet file, a folder of them or a glob."""
    p = Path(os.path.expanduser(str(path)))
    if embedding_column is None:
        if not (p / "img_emb").is_dir():
            raise EmbeddingsError(
                f"study.tagger.embeddings: {p} has no img_emb/ folder; give a clip-retrieval / img2dataset embeddings "
                "folder (img_emb/img_emb_{i}.npy + metadata/metadata_{i}.parquet), or Parquet files with "
                "study.tagger.embedding_column"
            )
        numbered = [
            (int(m.group(1)), m.group(1), f)
            for f in (p / "img_emb").glob("img_emb_*.npy")
            if (m := _PART.search(f.name))
        ]
        parts = []
        for _, i, f in sorted(numbered):  # in number order; metadata_{i} spelled as img_emb_{i} is (zero-padded or not)
            meta = p / "metadata" / f"metadata_{i}.parquet"
            if not meta.is_file():
                raise EmbeddingsError(
                    f"study.tagger.embeddings: {f} has no keys file {meta}; each img_emb_{{i}}.npy needs its "
                    "metadata_{i}.parquet"
                )
            parts.append(EmbeddingPart(f, meta))
        if not parts:
            raise EmbeddingsError(f"study.tagger.embeddings: {p / 'img_emb'} holds no img_emb_<i>.npy file")
        return parts
    files = sorted(p.glob("*.parquet")) if p.is_dir() else sorted(Path(f) for f in glob.glob(str(p)))
    if not files:
        raise EmbeddingsError(f"study.tagger.embeddings: no Parquet file at {p}; give a file, a folder or a glob")
    return [EmbeddingPart(f, f, embedding_column) for f in files]


def part_keys(part: EmbeddingPart, key_column: str) -> list[str]:
    """The sample keys of a part, in row order (read from its key column only)."""
    names = pq.ParquetFile(part.meta).schema_arrow.names
    if key_column not in names:
        raise EmbeddingsError(
            f"study.tagger.key_column: {part.meta} has no column '{key_column}' (columns: {excerpt(', '.join(names))}); "
            "name the column that holds the corpus sample keys"
        )
    return [str(k) for k in pq.read_table(part.meta, columns=[key_column]).column(0).to_pylist()]


def load_part(part: EmbeddingPart) -> np.ndarray:
    """The embeddings of a part, (N, D): memory-mapped for ``.npy``, read whole from a Parquet column."""
    if part.column is None:
        try:
            arr = np.load(part.emb, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise EmbeddingsError(
                f"{part.emb} is not a plain .npy array ({exc}); store float16/float32 arrays"
            ) from None
        if arr.ndim != 2 or arr.dtype.kind != "f":
            raise EmbeddingsError(
                f"{part.emb}: expected a 2-d float array (samples x dimension), got {arr.dtype} {arr.shape}"
            )
        return arr
    names = pq.ParquetFile(part.emb).schema_arrow.names
    if part.column not in names:
        raise EmbeddingsError(
            f"study.tagger.embedding_column: {part.emb} has no column '{part.column}' (columns: {excerpt(', '.join(names))})"
        )
    col = pq.read_table(part.emb, columns=[part.column]).column(0).combine_chunks()
    if (
        not pa.types.is_list(col.type)
        and not pa.types.is_fixed_size_list(col.type)
        and not pa.types.is_large_list(col.type)
    ):
        raise EmbeddingsError(f"{part.emb}: column '{part.column}' is {col.type}, not a list of floats per sample")
    lengths = set(pa.compute.list_value_length(col).to_pylist())
    if len(lengths) > 1:
        raise EmbeddingsError(
            f"{part.emb}: column '{part.column}' holds vectors of several lengths {sorted(lengths)[:4]}"
        )
    d = lengths.pop() if lengths else 0
    return np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(col), d)


def part_shape(part: EmbeddingPart) -> tuple[int, int]:
    """(rows, dimension) of a part, without reading its vectors (``.npy``: the header only)."""
    if part.column is None:
        arr = load_part(part)
        return int(arr.shape[0]), int(arr.shape[1])
    return tuple(load_part(part).shape)  # type: ignore[return-value]


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The sidecar wag writes beside a layout (None where there is none: LAION's, DataComp's)."""
    f = Path(path) / SIDECAR
    return read_json(f) if f.is_file() else None


def scores(emb: np.ndarray, text: np.ndarray, scale: float, block_rows: int = 8192) -> np.ndarray:
    """(N, C) probabilities of ``emb`` (N, D; any float dtype, normalised here) against ``text`` (D, C+1: the concepts'
    unit text embeddings and the background prompt's, last), in blocks of ``block_rows`` rows."""
    n = emb.shape[0]
    out = np.empty((n, text.shape[1] - 1), dtype=np.float32)
    t = np.asarray(text, dtype=np.float32)
    for s in range(0, n, block_rows):
        x = np.asarray(emb[s : s + block_rows], dtype=np.float32)
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norm > 0, norm, 1.0)
        sims = x @ t
        z = out[s : s + block_rows]
        np.subtract(sims[:, :-1], sims[:, -1:], out=z)
        z *= -scale
        with np.errstate(over="ignore"):  # exp(-z) past float32's range is inf: a score of 0, as it should be
            np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)
    return out


def score_part(
    part: EmbeddingPart,
    key_column: str,
    text: np.ndarray,
    scale: float,
    concepts: Sequence[str],
    *,
    min_score: float = 0.01,
    block_rows: int = 8192,
    keep: Container[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Tags (``sample_id, concept, score`` at or above ``min_score``) of one part, and the rows scored; ``keep``: only
    these keys (the corpus's, less its exclusions)."""
    keys = np.asarray(part_keys(part, key_column), dtype=object)
    emb = load_part(part)
    if len(keys) != emb.shape[0]:
        raise EmbeddingsError(
            f"{part.emb} has {emb.shape[0]} rows but {part.meta} {len(keys)} keys; the two files must match row for row"
        )
    rows = np.arange(len(keys)) if keep is None else np.flatnonzero([k in keep for k in keys])
    frames = []
    for s in range(0, len(rows), block_rows):
        idx = rows[s : s + block_rows]
        sub = emb[idx[0] : idx[-1] + 1] if len(idx) and idx[-1] - idx[0] + 1 == len(idx) else emb[idx]
        frames.append(tag_frame(list(keys[idx]), concepts, scores(sub, text, scale, block_rows), min_score))
    tags = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TAG_COLUMNS)
    return tags, int(len(rows))


def write_part(
    folder: str | os.PathLike[str], i: int, keys: Sequence[str], emb: np.ndarray, key_column: str = "key"
) -> None:
    """Part ``i`` of the layout: ``img_emb/img_emb_{i}.npy`` (float32) and ``metadata/metadata_{i}.parquet`` (keys),
    each written atomically."""
    folder = Path(folder)
    with atomic_path(folder / "img_emb" / f"img_emb_{i}.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(emb, dtype=np.float32), allow_pickle=False)
    write_parquet(folder / "metadata" / f"metadata_{i}.parquet", pd.DataFrame({key_column: [str(k) for k in keys]}))


def write_sidecar(
    folder: str | os.PathLike[str], *, model: str, fingerprint: str, dim: int, probe: np.ndarray, **extra: Any
) -> None:
    """``embeddings.json``: the model that wrote the layout, its dimension and its text tower's embeddings of
    :data:`PROBE_PROMPTS` (how a later read tells another model of the same dimension)."""
    write_json(
        Path(folder) / SIDECAR,
        {
            "format": FORMAT,
            "model": model,
            "fingerprint": fingerprint,
            "dim": int(dim),
            "normalized": True,
            "probe_prompts": list(PROBE_PROMPTS),
            "probe": np.round(np.asarray(probe, dtype=np.float64), 6).tolist(),
            **extra,
        },
    )


def probe_agreement(sidecar: dict[str, Any], probe: np.ndarray) -> float:
    """The smallest cosine between the sidecar's probe text embeddings and ``probe`` (the declared model's): 1 for the
    same text tower, far below for another model."""
    a = np.asarray(sidecar.get("probe") or [], dtype=np.float64)
    b = np.asarray(probe, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        return -1.0
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())
