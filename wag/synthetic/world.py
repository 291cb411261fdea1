"""Build and load a synthetic world on disk, in the formats the real pipeline reads.

Layout of a world folder::

    world.json                 params, seed, concept names (written last: marks the world complete)
    concepts.parquet           concept, key, concept_id, texture, target_count
    ground_truth.parquet       concept, target_count, image_count, caption_count, matched_count
    corpus/shard-00000.tar     WebDataset shards: <sample_id>.png, <sample_id>.txt, <sample_id>.json
    corpus/metadata.parquet    sample_id, caption, shard, image_concepts, caption_concepts
    images.npy                 uint8 (N, S, S, 3) pretraining images (same order as metadata)
    test/<concept>/<i>.png     held-out, class-balanced single-concept test images (image folder)
    retrieval/                 held-out image-caption pairs: images/<sample_id>.png, annotations.json, captions.parquet
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from wag.core.errors import WagError
from wag.core.ids import content_key
from wag.core.io import atomic_path, read_json, write_json, write_parquet
from wag.core.lock import folder_lock
from wag.core.paths import cache_dir
from wag.synthetic import generator as gen
from wag.synthetic.params import WorldParams

FORMAT_VERSION = 1
DATASET = "synthetic"


class WorldError(WagError):
    """A world folder is missing or incomplete, or its concepts cannot be re-drawn from its seed."""


@dataclass(frozen=True)
class Streams:
    """Independent random streams of one world seed (identities and test sets stay fixed when counts change)."""

    identity: np.random.Generator
    counts: np.random.Generator
    assign: np.random.Generator
    render: np.random.Generator
    captions: np.random.Generator
    test: np.random.Generator
    retrieval: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int, sample_seed: int | None = None) -> Streams:
        """``seed`` fixes concepts, counts and test sets; ``sample_seed`` (default ``seed``) the pretraining samples."""
        fixed = np.random.SeedSequence([seed, 0]).spawn(4)
        sampled = np.random.SeedSequence([seed if sample_seed is None else sample_seed, 1]).spawn(3)
        g = [np.random.default_rng(s) for s in fixed + sampled]
        return cls(identity=g[0], counts=g[1], test=g[2], retrieval=g[3], assign=g[4], render=g[5], captions=g[6])


@dataclass(frozen=True)
class World:
    """A synthetic world on disk."""

    root: Path

    @cached_property
    def info(self) -> dict:
        return read_json(self.root / "world.json")

    @property
    def names(self) -> list[str]:
        return list(self.info["names"])

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def shards(self) -> list[Path]:
        return sorted(self.corpus_dir.glob("shard-*.tar"))

    @property
    def metadata_path(self) -> Path:
        return self.corpus_dir / "metadata.parquet"

    @property
    def test_dir(self) -> Path:
        return self.root / "test"

    @property
    def retrieval_dir(self) -> Path:
        return self.root / "retrieval"

    def metadata(self) -> pd.DataFrame:
        return pd.read_parquet(self.metadata_path)

    def ground_truth(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "ground_truth.parquet")

    def concepts(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "concepts.parquet")

    def images(self) -> np.ndarray:
        return np.load(self.root / "images.npy", mmap_mode="r")

    def identities(self) -> gen.Concepts:
        """The concepts' visual identities, re-drawn from the world's seed (for renderers beyond the corpus)."""
        concepts = gen.draw_concepts(self.info["params"]["n_concepts"], Streams.from_seed(self.info["seed"]).identity)
        if concepts.names != self.names:
            raise WorldError(
                f"{self.root}: the world's concepts could not be re-drawn from its seed (built by another generator "
                "version?); delete the folder and build it again"
            )
        return concepts

    def image_concept_ids(self) -> list[list[int]]:
        """Per pretraining sample, the ids of the concepts in its image (ground truth)."""
        index = {n: i for i, n in enumerate(self.names)}
        return [[index[c] for c in cs] for cs in self.metadata()["image_concepts"]]


def load_world(root: str | Path) -> World:
    """Open a world folder; raises :class:`WorldError` if it is missing or incomplete."""
    root = Path(root)
    if not (root / "world.json").is_file():
        raise WorldError(
            f"{root} is not a complete synthetic world (no world.json); build it with wag.synthetic.world.build_world"
        )
    return World(root)


def world_key(p: WorldParams, seed: int, sample_seed: int | None = None) -> str:
    return content_key({"v": FORMAT_VERSION, "world": p.model_dump(), "seed": seed, "sample_seed": sample_seed})


def build_world(
    p: WorldParams,
    seed: int,
    out_dir: str | Path | None = None,
    *,
    sample_seed: int | None = None,
    progress: bool = True,
) -> World:
    """Generate the world of ``p`` and ``seed`` (cached under the cache folder unless ``out_dir`` is given).

    ``seed`` fixes concept identities, names, the frequency law's assignment to concepts and the
    held-out test sets; ``sample_seed`` (default: ``seed``) the pretraining images and captions, so
    worlds that differ only in counts share concepts and test sets.
    """
    root = (
        Path(out_dir) if out_dir is not None else cache_dir() / "synthetic" / "worlds" / world_key(p, seed, sample_seed)
    )
    if (root / "world.json").is_file():
        return World(root)
    with folder_lock(root, "synthetic world", wait=True):  # two processes (notebooks) asking at once: one builds it
        if not (root / "world.json").is_file():
            _build(p, seed, sample_seed, root, progress)
    return World(root)


def _build(p: WorldParams, seed: int, sample_seed: int | None, root: Path, progress: bool) -> None:
    st = Streams.from_seed(seed, sample_seed)
    concepts = gen.draw_concepts(p.n_concepts, st.identity)
    counts = gen.target_counts(p, st.counts)
    grid = gen.assign_concepts(counts, p.concepts_per_image, st.assign)
    captions, named = gen.captions_for(grid, concepts, p, st.captions)
    images = gen.render(grid, concepts, gen.IMAGE_SIZE, p.noise, st.render)
    names = concepts.names
    ids = [f"s{i:07d}" for i in range(len(grid))]
    img_sets = [[names[c] for c in row if c >= 0] for row in grid]
    cap_sets = [[names[c] for c in row] for row in named]
    n_shards = max(1, -(-len(ids) // p.shard_size))
    meta = pd.DataFrame(
        {
            "sample_id": ids,
            "caption": captions,
            "shard": [f"shard-{i // p.shard_size:05d}.tar" for i in range(len(ids))],
            "image_concepts": img_sets,
            "caption_concepts": cap_sets,
        }
    )
    _write_shards(root / "corpus", meta, images, p.shard_size, n_shards, progress)
    write_parquet(root / "corpus" / "metadata.parquet", meta)
    with atomic_path(root / "images.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, images)
    write_parquet(root / "ground_truth.parquet", ground_truth(names, counts, img_sets, cap_sets))
    write_parquet(
        root / "concepts.parquet",
        pd.DataFrame(
            {
                "concept": names,
                "key": names,
                "concept_id": np.arange(len(names)),
                "texture": [gen.TEXTURES[t] for t in concepts.texture],
                "target_count": counts,
            }
        ),
    )
    _write_test_set(root / "test", concepts, p, st.test)
    _write_retrieval_set(root / "retrieval", concepts, p, st.retrieval)
    write_json(
        root / "world.json",
        {
            "format_version": FORMAT_VERSION,
            "seed": seed,
            "sample_seed": sample_seed,
            "params": p.model_dump(),
            "names": names,
            "n_samples": len(ids),
        },
    )


def ground_truth(
    names: list[str], targets: np.ndarray, img_sets: list[list[str]], cap_sets: list[list[str]]
) -> pd.DataFrame:
    """Per concept: target count, true image count, true caption count, true matched (both) count."""
    img = pd.Series([c for s in img_sets for c in s], dtype=object).value_counts()
    cap = pd.Series([c for s in cap_sets for c in set(s)], dtype=object).value_counts()
    both = pd.Series([c for a, b in zip(img_sets, cap_sets) for c in set(a) & set(b)], dtype=object).value_counts()
    df = pd.DataFrame({"concept": names, "target_count": np.asarray(targets, dtype=np.int64)})
    for col, s in (("image_count", img), ("caption_count", cap), ("matched_count", both)):
        df[col] = df["concept"].map(s).fillna(0).astype(np.int64)
    return df


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # reproducible bytes
    tar.addfile(info, io.BytesIO(data))


def _write_shards(
    folder: Path, meta: pd.DataFrame, images: np.ndarray, shard_size: int, n_shards: int, progress: bool
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sample_ids, captions = meta["sample_id"].tolist(), meta["caption"].tolist()
    for s in tqdm(range(n_shards), desc="writing shards", disable=not progress):
        lo, hi = s * shard_size, min((s + 1) * shard_size, len(meta))
        with atomic_path(folder / f"shard-{s:05d}.tar") as tmp:
            with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
                for i, key, caption in zip(range(lo, hi), sample_ids[lo:hi], captions[lo:hi], strict=True):
                    _add(tar, f"{key}.png", _png(images[i]))
                    _add(tar, f"{key}.txt", caption.encode())
                    _add(tar, f"{key}.json", json.dumps({"sample_id": key}).encode())


def _write_test_set(folder: Path, concepts: gen.Concepts, p: WorldParams, rng: np.random.Generator) -> None:
    labels = np.repeat(np.arange(len(concepts)), p.n_test)
    images = gen.render(gen.single_concept_grid(labels), concepts, gen.IMAGE_SIZE, p.noise, rng)
    write_image_folder(folder, [concepts.names[c] for c in labels], images)


def write_image_folder(folder: Path, labels: list[str], images: np.ndarray) -> None:
    """Write ``folder/<label>/<i>.png`` (the image-folder layout of the evaluation harness)."""
    counters: dict[str, int] = {}
    for lab, im in zip(labels, images):
        i = counters.get(lab, 0)
        counters[lab] = i + 1
        path = folder / lab / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_bytes(_png(im))


def _write_retrieval_set(folder: Path, concepts: gen.Concepts, p: WorldParams, rng: np.random.Generator) -> None:
    if p.n_retrieval == 0:
        return
    k = len(concepts)
    per = max(1, -(-p.n_retrieval // k))
    counts = np.full(k, per, dtype=np.int64)  # balanced: every concept in `per` images
    grid = gen.assign_concepts(counts, p.concepts_per_image, rng)
    clean = p.model_copy(update={"misalignment": 0.0})
    captions, _ = gen.captions_for(grid, concepts, clean, rng)
    images = gen.render(grid, concepts, gen.IMAGE_SIZE, p.noise, rng)
    ids = [f"r{i:06d}" for i in range(len(grid))]
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for sid, im in zip(ids, images):
        with atomic_path(folder / "images" / f"{sid}.png") as tmp:
            tmp.write_bytes(_png(im))
    write_parquet(
        folder / "captions.parquet",
        pd.DataFrame(
            {
                "sample_id": ids,
                "image": [f"images/{s}.png" for s in ids],
                "caption": captions,
                "concepts": [[concepts.names[c] for c in row if c >= 0] for row in grid],
            }
        ),
    )
    # the annotation format of wag.evaluate.datasets.load_retrieval: a list of {image, caption}
    write_json(folder / "annotations.json", [{"image": f"{s}.png", "caption": [c]} for s, c in zip(ids, captions)])
