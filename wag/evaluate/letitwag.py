"""Let It Wag! (paper §6): a long-tailed test set of the least-frequent pretraining concepts.

Builder steps (each recorded in the datasheet with images kept/removed per class):
1. concepts: the ``k`` least-frequent concepts with a non-zero count, per pretraining set or across sets;
2. candidates: images of each concept from an image source (``<source>/<concept>/*`` folders or WebDataset
   shards of ``<key>.jpg`` + ``<key>.cls`` holding the concept name); undecodable files are removed;
3. de-duplication within class by perceptual hash (imagehash pHash, 64 bits): an image within
   ``phash_bits`` Hamming distance of an already kept image is removed (the paper: imagededup, 10 bits);
4. outliers by feature distance (optional, needs a CLIP model): cosine distance to the class centroid above
   mean + ``outlier_std`` · std of the class;
5. class balance: classes with at least ``images_per_class`` images are kept, and that many images sampled
   with ``seed`` (the paper: 450 per class; its script kept classes with strictly more than 450).
Output: ``<out_dir>/images/<concept>/*`` (an image folder :func:`wag.evaluate.datasets.image_folder` reads),
``datasheet.json`` and ``datasheet.md``; written to a temporary folder beside it and renamed, so nothing is
half-written, no rename crosses a filesystem and the folder gets the umask's mode. Step 4 skipped for want of a
model is said in a warning (and in the datasheet).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from wag.core.errors import WagError, WagWarning
from wag.core.ids import slug
from wag.core.io import atomic_dir, write_json, write_text
from wag.corpus import iter_wds_groups
from wag.evaluate.images import IMAGE_EXTS, CorruptImageError, open_image

RELEASED_HF_NAME = "bethgelab/Let-It-Wag"


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).lower()).strip()


def select_tail_concepts(
    freq: pd.DataFrame,
    *,
    k: int,
    source: str | Sequence[str] | None = None,
    method: str | None = None,
    variant: str | None = None,
    aggregate: str = "sum",
) -> pd.DataFrame:
    """The ``k`` least-frequent concepts with a non-zero count (ties broken by name).

    ``freq`` follows the frequencies contract. ``source``: one pretraining set, several, or None (all);
    with several sets a concept's count is aggregated across them (``sum`` or ``max``). A concept listed
    by several downstream datasets counts once (its largest count). Returns concept, count, rank.
    """
    need = {"concept", "pretraining", "count"}
    if missing := need - set(freq.columns):
        raise WagError(
            f"frequency table lacks columns {sorted(missing)} (the frequencies contract: concept, dataset, pretraining, method, variant, count)"
        )
    df = freq
    if source is not None:
        srcs = [source] if isinstance(source, str) else list(source)
        unknown = sorted(set(srcs) - set(df["pretraining"]))
        if unknown:
            raise WagError(
                f"pretraining set(s) {unknown} not in the frequency table; available: {sorted(df['pretraining'].unique())}"
            )
        df = df[df["pretraining"].isin(srcs)]
    for col, val in (("method", method), ("variant", variant)):
        if val is not None:
            if val not in set(df[col]):
                raise WagError(f"{col} '{val}' not in the frequency table; available: {sorted(df[col].unique())}")
            df = df[df[col] == val]
    if "method" in df and method is None and df["method"].nunique() > 1:
        raise WagError(
            f"the frequency table mixes count methods {sorted(df['method'].unique())}; pick one with method="
        )
    if aggregate not in ("sum", "max"):
        raise WagError(f"aggregate must be 'sum' or 'max', got {aggregate!r}")
    df = df.assign(_key=df["concept"].map(_norm))
    per_set = df.groupby(["_key", "pretraining"], as_index=False).agg(
        concept=("concept", "first"), count=("count", "max")
    )
    agg = per_set.groupby("_key", as_index=False).agg(concept=("concept", "first"), count=("count", aggregate))
    agg = agg[agg["count"] > 0].sort_values(["count", "concept"], kind="mergesort").head(k)
    if len(agg) < k:
        raise WagError(f"only {len(agg)} concepts have a non-zero count; asked for k={k}")
    return agg.assign(rank=np.arange(1, len(agg) + 1))[["concept", "count", "rank"]].reset_index(drop=True)


def _folder_candidates(root: Path, concepts: Sequence[str]) -> dict[str, list[tuple[str, bytes | Path]]]:
    by_norm = {_norm(d.name): d for d in root.iterdir() if d.is_dir()}
    out: dict[str, list[tuple[str, bytes | Path]]] = {}
    for c in concepts:
        d = by_norm.get(_norm(c)) or by_norm.get(_norm(slug(c)))
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS) if d is not None else []
        out[c] = [(str(p), p) for p in files]
    return out


def _wds_candidates(shards: Sequence[Path], concepts: Sequence[str]) -> dict[str, list[tuple[str, bytes | Path]]]:
    want = {_norm(c): c for c in concepts}
    out: dict[str, list[tuple[str, bytes | Path]]] = {c: [] for c in concepts}

    def keep(ext: str) -> bool:
        return "." + ext in IMAGE_EXTS or ext in ("cls", "txt")

    for f in shards:
        imgs: dict[str, tuple[str, bytes]] = {}
        labels: dict[str, str] = {}
        for key, parts in iter_wds_groups(f, keep):
            for ext, (member, blob) in parts.items():
                if "." + ext in IMAGE_EXTS:
                    imgs[key] = (f"{f}:{member}", blob)
                else:
                    labels[key] = blob.decode("utf-8", "replace").strip()
        for key in sorted(imgs):
            c = want.get(_norm(labels.get(key, "")))
            if c is not None:
                out[c].append(imgs[key])
    return out


def _candidates(images: str | os.PathLike[str], concepts: Sequence[str]) -> dict[str, list[tuple[str, bytes | Path]]]:
    p = Path(images)
    if p.is_dir() and not any(p.glob("*.tar")):
        return _folder_candidates(p, concepts)
    shards = sorted(p.glob("*.tar")) if p.is_dir() else sorted(p.parent.glob(p.name))
    if not shards:
        raise WagError(f"image source {p} is neither a folder of <concept>/ sub-folders nor WebDataset shards (*.tar)")
    return _wds_candidates(shards, concepts)


def dedup_phash(images: Sequence[Any], bits: int) -> tuple[list[int], list[int]]:
    """(kept, removed) indices: an image within ``bits`` Hamming distance of a kept one is a duplicate."""
    import imagehash

    hashes = [imagehash.phash(im) for im in images]
    kept: list[int] = []
    removed: list[int] = []
    for i, h in enumerate(hashes):
        if any(h - hashes[j] <= bits for j in kept):
            removed.append(i)
        else:
            kept.append(i)
    return kept, removed


def feature_outliers(features: np.ndarray, n_std: float) -> np.ndarray:
    """Boolean mask of rows whose cosine distance to the (normalised) centroid exceeds mean + n_std · std."""
    f = features / np.linalg.norm(features, axis=1, keepdims=True)
    c = f.mean(0)
    c = c / (np.linalg.norm(c) or 1.0)
    d = 1.0 - f @ c
    if len(d) < 3 or d.std() == 0:
        return np.zeros(len(d), bool)
    return d > d.mean() + n_std * d.std()


def build_let_it_wag(
    freq: pd.DataFrame,
    *,
    k: int,
    source: str | Sequence[str] | None,
    out_dir: str | os.PathLike[str],
    phash_bits: int = 10,
    images: str | os.PathLike[str] | None = None,
    images_per_class: int = 450,
    outlier_std: float | None = 3.0,
    model: Any = None,
    seed: int = 0,
    method: str | None = None,
    variant: str | None = None,
    progress: bool = True,
) -> Path:
    """Build a Let It Wag!-style test set; returns ``out_dir`` (image folder + datasheet.json/.md).

    ``images``: the image source (folders or WebDataset shards, see the module docstring). ``model``: a
    ``LoadedModel`` for outlier removal (None skips that step; the datasheet says so).
    """
    if images is None:
        raise WagError(
            "give images= (a folder of <concept>/ sub-folders or WebDataset shards) to assemble the test set from"
        )
    chosen = select_tail_concepts(freq, k=k, source=source, method=method, variant=variant)
    cands = _candidates(images, chosen["concept"].tolist())
    if model is None and outlier_std is not None:
        warnings.warn(
            f"Let It Wag!: the feature-outlier filter (outlier_std {outlier_std:g}) is skipped: no model is named to "
            "compute image features (in a study: stages.letitwag.outlier_model); name one to filter outliers as the "
            "paper did, or turn the filter off (outlier_std: null)",
            WagWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    steps: list[dict[str, Any]] = []
    with atomic_dir(out) as tmp:  # next to out: never renamed across filesystems; mode from the umask
        for row in tqdm(chosen.itertuples(), total=len(chosen), desc="Let It Wag!", disable=not progress):
            c = row.concept
            rec: dict[str, Any] = {"concept": c, "count": int(row.count), "candidates": len(cands[c])}
            decoded, refs, raw = [], [], []
            for ref, src in cands[c]:
                try:
                    decoded.append(open_image(src if isinstance(src, bytes) else Path(src), ref))
                    refs.append(ref)
                    raw.append(src)
                except CorruptImageError:
                    pass
            rec["undecodable_removed"] = len(cands[c]) - len(decoded)
            keep, dup = dedup_phash(decoded, phash_bits) if decoded else ([], [])
            rec["duplicates_removed"] = len(dup)
            if model is not None and outlier_std is not None and keep:
                feats = _encode(model, [decoded[i] for i in keep])
                mask = feature_outliers(feats, outlier_std)
                rec["outliers_removed"] = int(mask.sum())
                keep = [i for i, m in zip(keep, mask) if not m]
            else:
                rec["outliers_removed"] = None
            if len(keep) >= images_per_class:
                sel = sorted(rng.choice(keep, size=images_per_class, replace=False).tolist())
                rec["balance_removed"] = len(keep) - len(sel)
                rec["kept"] = len(sel)
                d = tmp / "images" / slug(c)
                d.mkdir(parents=True)
                for n, i in enumerate(sel):
                    src = raw[i]
                    if isinstance(src, bytes):
                        decoded[i].save(d / f"{n:05d}.png")
                    else:
                        shutil.copyfile(src, d / f"{n:05d}{Path(src).suffix.lower()}")
            else:
                rec["balance_removed"] = len(keep)
                rec["kept"] = 0
                rec["dropped"] = f"fewer than {images_per_class} images after filtering ({len(keep)})"
            steps.append(rec)
        table = pd.DataFrame(steps)
        kept_classes = table[table["kept"] > 0]
        counts = kept_classes["count"]
        sheet = {
            "name": "Let It Wag! (wag builder)",
            "source": source if isinstance(source, str) or source is None else list(source),
            "k": k,
            "images_per_class": images_per_class,
            "phash_bits": phash_bits,
            "outlier_std": outlier_std if model is not None else None,
            "outlier_step": "cosine distance to class centroid" if model is not None else "skipped (no model given)",
            "seed": seed,
            "classes_kept": int(len(kept_classes)),
            "images_kept": int(kept_classes["kept"].sum()),
            "frequency": {
                "min": int(counts.min()) if len(counts) else None,
                "median": float(counts.median()) if len(counts) else None,
                "max": int(counts.max()) if len(counts) else None,
            },
            "steps": steps,
        }
        write_json(tmp / "datasheet.json", sheet)
        write_text(tmp / "datasheet.md", _markdown(sheet, table))
    return out


def _encode(model: Any, images: Sequence[Any]) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model.encode_image(torch.stack([model.preprocess(im) for im in images])).cpu().numpy()


def _markdown(sheet: dict[str, Any], table: pd.DataFrame) -> str:
    cols = [
        "concept",
        "count",
        "candidates",
        "undecodable_removed",
        "duplicates_removed",
        "outliers_removed",
        "balance_removed",
        "kept",
    ]
    lines = [
        f"# {sheet['name']}",
        "",
        f"- pretraining source: {sheet['source']}; k = {sheet['k']} least-frequent non-zero concepts",
        f"- {sheet['classes_kept']} classes, {sheet['images_kept']} images ({sheet['images_per_class']} per class)",
        f"- de-duplication: pHash, {sheet['phash_bits']} bits; outliers: {sheet['outlier_step']}; seed {sheet['seed']}",
        f"- pretraining counts of kept classes: min {sheet['frequency']['min']}, median {sheet['frequency']['median']}, max {sheet['frequency']['max']}",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for r in table.reindex(columns=cols).itertuples(index=False):
        lines.append(
            "| " + " | ".join("" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v) for v in r) + " |"
        )
    return "\n".join(lines) + "\n"


def load_released(split: str = "train", *, cache_dir: str | None = None) -> Any:
    """The released Let It Wag! dataset through Hugging Face ``datasets`` (needs the package and, once, internet)."""
    try:
        import datasets
    except ImportError:
        raise WagError(
            f"loading the released Let It Wag! ({RELEASED_HF_NAME}) needs the `datasets` package: pip install datasets; "
            "or download it once and read the class folders with wag.evaluate.datasets.image_folder"
        ) from None
    try:
        return datasets.load_dataset(RELEASED_HF_NAME, split=split, cache_dir=cache_dir)
    except Exception as exc:  # offline, missing cache, renamed split
        raise WagError(
            f"could not load {RELEASED_HF_NAME} (split {split!r}): {str(exc)[:300]}. It needs internet once (HF_HUB_OFFLINE unset)."
        ) from None


def to_image_bytes(img: Any) -> bytes:
    """PNG bytes of a PIL image (helper for writing WebDataset shards in tests and examples)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
