"""A user-style study with known truth, unlike the example study: the corpus a new user would bring, and its truth.

Every image shows one concept or nothing (a bare background); per-concept image counts span two to three decades
(log-uniform between ``min_count`` and ``max_count``); about ``misalignment`` of the concept images carry a caption
naming another concept (a swap); captions come in several templates of their own (not the world's nor the example
study's), and images of nothing get captions that name no concept. The files are the world's layout
(:mod:`wag.synthetic.world`: WebDataset shards, ``metadata.parquet``, ``images.npy``, ``world.json``), so
:func:`wag.synthetic.train.train_clip` trains the user's own tiny CLIP on it, and :func:`user_study_spec` declares it
as a study (the public stages run it: ``wag.study.run.run_study`` or ``wag study run``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from wag.core.io import atomic_path, write_json, write_parquet, write_text
from wag.study.spec import ConceptSpec, CorpusSpec, CountOptions, StageOptions, StudySpec, TaggerSpec
from wag.synthetic import generator as gen
from wag.synthetic.world import World

TEMPLATES = [
    "my {} on the table",
    "a snapshot of the {}",
    "{} spotted downtown",
    "best {} ever",
    "an old picture of a {}",
    "our {} this morning",
]
NOTHING = ["an empty frame", "plain wallpaper", "nothing much happening", "a blurry test shot", "background only"]
CORPUS = "userset"


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def build_user_study(
    out: str | Path,
    *,
    n_concepts: int = 16,
    min_count: int = 3,
    max_count: int = 1200,
    nothing_rate: float = 0.15,
    misalignment: float = 0.05,
    noise: float = 0.06,
    shard_size: int = 1000,
    seed: int = 0,
) -> World:
    """Write the user-style corpus under ``out`` (see the module docstring); returns it as a :class:`World`."""
    root = Path(out)
    if (root / "world.json").is_file():
        return World(root)
    rng = np.random.default_rng([seed, 18])
    words = {w for t in TEMPLATES + NOTHING for w in t.replace("{}", " ").split()}
    names: list[str] = []
    while len(names) < n_concepts:  # the world's name generator, minus words of these templates
        names = [n for n in gen.made_up_names(n_concepts + 4, rng) if n not in words][:n_concepts]
    concepts = gen.draw_concepts(n_concepts, rng)
    concepts = dataclasses.replace(concepts, names=names)
    counts = np.round(np.exp(np.linspace(np.log(min_count), np.log(max_count), n_concepts))).astype(np.int64)
    counts = counts[rng.permutation(n_concepts)]
    n_nothing = int(round(counts.sum() * nothing_rate / (1 - nothing_rate)))
    img_concept = np.concatenate([np.repeat(np.arange(n_concepts), counts), np.full(n_nothing, -1)])
    rng.shuffle(img_concept)
    n = len(img_concept)
    cap_concept = img_concept.copy()
    swap = (img_concept >= 0) & (rng.random(n) < misalignment)
    other = (img_concept + rng.integers(1, n_concepts, n)) % n_concepts
    cap_concept[swap] = other[swap]
    tmpl = rng.integers(0, len(TEMPLATES), n)
    fill = rng.integers(0, len(NOTHING), n)
    captions = [TEMPLATES[t].format(names[c]) if c >= 0 else NOTHING[f] for c, t, f in zip(cap_concept, tmpl, fill)]
    grid = np.full((n, 3), -1, dtype=np.int64)
    grid[:, 0] = img_concept
    images = gen.render(grid, concepts, gen.IMAGE_SIZE, noise, rng)
    ids = [f"u{i:06d}" for i in range(n)]
    meta = pd.DataFrame(
        {
            "sample_id": ids,
            "caption": captions,
            "shard": [f"shard-{i // shard_size:05d}.tar" for i in range(n)],
            "image_concepts": [[names[c]] if c >= 0 else [] for c in img_concept],
            "caption_concepts": [[names[c]] if c >= 0 else [] for c in cap_concept],
        }
    )
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    for s in range(-(-n // shard_size)):
        with atomic_path(root / "corpus" / f"shard-{s:05d}.tar") as tmp:
            with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
                for i in range(s * shard_size, min((s + 1) * shard_size, n)):
                    _add(tar, f"{ids[i]}.png", _png(images[i]))
                    _add(tar, f"{ids[i]}.txt", captions[i].encode())
    write_parquet(root / "corpus" / "metadata.parquet", meta)
    with atomic_path(root / "images.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, images)
    write_text(root / "concepts.txt", "\n".join(names) + "\n")
    img_n = pd.Series(img_concept[img_concept >= 0]).value_counts()
    cap_n = pd.Series(cap_concept[cap_concept >= 0]).value_counts()
    write_parquet(
        root / "ground_truth.parquet",
        pd.DataFrame(
            {
                "concept": names,
                "image_count": [int(img_n.get(i, 0)) for i in range(n_concepts)],
                "caption_count": [int(cap_n.get(i, 0)) for i in range(n_concepts)],
                "matched_count": [int(((img_concept == i) & (cap_concept == i)).sum()) for i in range(n_concepts)],
            }
        ),
    )
    params = {"n_concepts": n_concepts, "min_count": min_count, "max_count": max_count, "nothing_rate": nothing_rate}
    params |= {"misalignment": misalignment, "noise": noise, "kind": "user_study"}
    write_json(root / "world.json", {"seed": seed, "params": params, "names": names, "n_samples": n})
    return World(root)


def user_study_spec(
    world: World,
    model: str,
    *,
    calibration: str = "captions",
    name: str = "main",
    thresholds: list[float] | None = None,
) -> StudySpec:
    """The study a user would declare on it: the corpus, its concept file and their own CLIP (``model``: an
    ``ARCH@checkpoint`` spec) as an open_clip tagger named ``mine``."""
    return StudySpec(
        name=f"user-{name}",
        root=str(world.root),
        output=f"study/{name}",
        corpus=CorpusSpec(name=CORPUS, shards=["corpus/shard-*.tar"], format="wds"),
        concepts=[ConceptSpec(dataset=CORPUS, file="concepts.txt")],
        tagger=TaggerSpec(
            kind="openclip",
            model=model,
            name="mine",
            thresholds=thresholds or [0.5, 0.7],
            batch_size=512,
            calibration=calibration,
        ),
        stages=StageOptions(count=CountOptions(variants=["phrase"])),
    )


def truth_pairs(world: World, column: str) -> pd.DataFrame:
    """``concept, sample_id`` pairs of the truth: ``image_concepts`` (what the images show) or ``caption_concepts``."""
    meta = world.metadata()
    return pd.DataFrame(
        [(c, s) for s, cs in zip(meta["sample_id"], meta[column]) for c in cs], columns=["concept", "sample_id"]
    )


def describe(world: World) -> str:
    """One line: samples, concepts, count range and the misaligned share (for logs and reports)."""
    gt = pd.read_parquet(world.root / "ground_truth.parquet")
    info = json.loads((world.root / "world.json").read_text(encoding="utf-8"))
    return (
        f"user-style study: {info['n_samples']} samples, {len(gt)} concepts, image counts "
        f"{gt['image_count'].min()}-{gt['image_count'].max()}, {int((gt['image_count'] - gt['matched_count']).sum())} "
        "misaligned concept images"
    )
