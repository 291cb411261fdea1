"""Labelled image sets: the :class:`ClassificationData` every evaluator reads, from an image folder
(``root/<class>/*.jpg``) or WebDataset shards (``<key>.jpg`` + ``<key>.cls``)."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from wag.evaluate.images import IMAGE_EXTS, DatasetError, DatasetMissingError, files_fingerprint, open_image


@dataclass
class ClassificationData:
    """A labelled image set: ``get(i)`` returns (RGB image, label); ``ref(i)`` names the sample (path)."""

    name: str
    classnames: list[str]
    size: int
    getter: Callable[[int], tuple[Any, int]]
    refs: Callable[[int], str]
    fingerprint: str
    root: str = ""
    labels: list[int] | None = None  # known up front for folders and shards

    def __len__(self) -> int:
        return self.size

    def get(self, i: int) -> tuple[Image.Image, int]:
        """The i-th image (RGB) and label; :class:`CorruptImageError` if it cannot be decoded."""
        src, label = self.getter(i)
        img = src if isinstance(src, Image.Image) else open_image(src, self.refs(i))
        return img.convert("RGB") if img.mode != "RGB" else img, int(label)

    def ref(self, i: int) -> str:
        return self.refs(i)


def image_folder(
    root: str | os.PathLike[str], *, name: str | None = None, classnames: Sequence[str] | None = None
) -> ClassificationData:
    """``root/<class>/*.png|jpg|...`` as a classification set (classes sorted by folder name).

    ``classnames`` optionally gives display names in folder order (default: the folder names with ``_`` → space).
    """
    r = Path(root)
    if not r.is_dir():
        raise DatasetMissingError(f"image folder {r} does not exist (expected {r}/<class>/<image>.jpg|png)")
    folders = sorted(d for d in r.iterdir() if d.is_dir() and not d.name.startswith("."))
    samples: list[tuple[Path, int]] = []
    for label, d in enumerate(folders):
        samples += [
            (p, label) for p in sorted(d.iterdir()) if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".")
        ]
    if not samples:
        raise DatasetMissingError(
            f"image folder {r} has no images in class sub-folders (expected {r}/<class>/<image>.jpg|png); put each class's images in its own sub-folder"
        )
    names = list(classnames) if classnames is not None else [d.name.replace("_", " ") for d in folders]
    if len(names) != len(folders):
        raise DatasetError(f"{len(names)} class names given for {len(folders)} class folders in {r}")
    paths = [p for p, _ in samples]
    return ClassificationData(
        name=name or r.name,
        classnames=names,
        size=len(samples),
        getter=lambda i: (samples[i][0], samples[i][1]),
        refs=lambda i: str(samples[i][0]),
        fingerprint=f"folder:{r.resolve()}:{len(samples)}:{files_fingerprint(paths)}",
        root=str(r),
        labels=[lab for _, lab in samples],
    )


def webdataset_classification(
    shards: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    classnames: Sequence[str] | None = None,
    name: str | None = None,
) -> ClassificationData:
    """WebDataset tar shards of ``<key>.<jpg|png|webp>`` + ``<key>.cls`` (integer label).

    Class names: ``classnames`` or ``classnames.txt`` next to the shards (one per line, label order), as in
    CLIP_benchmark's WebDataset layout. Members are indexed once (tar offsets) for random access.
    """
    if isinstance(shards, (str, os.PathLike)):
        p = Path(shards)
        files = sorted(p.glob("*.tar")) if p.is_dir() else sorted(Path(p.parent).glob(p.name))
    else:
        files = [Path(s) for s in shards]
    if not files or not all(f.is_file() for f in files):
        raise DatasetMissingError(
            f"no WebDataset shards found at {shards} (expected *.tar files with <key>.jpg and <key>.cls)"
        )
    index: list[tuple[int, int, int, str]] = []  # (shard, offset_data, size, ref), label separately
    labels: list[int] = []
    for si, f in enumerate(files):
        imgs: dict[str, tarfile.TarInfo] = {}
        cls: dict[str, int] = {}
        with tarfile.open(f) as tf:
            for m in tf:
                if not m.isfile():
                    continue
                key, _, ext = m.name.partition(".")
                if "." + ext.lower() in IMAGE_EXTS:
                    imgs[key] = m
                elif ext == "cls":
                    cls[key] = int(tf.extractfile(m).read().decode().strip())  # type: ignore[union-attr]
        for key in sorted(imgs):
            if key in cls:
                m = imgs[key]
                index.append((si, m.offset_data, m.size, f"{f}:{m.name}"))
                labels.append(cls[key])
    if not index:
        raise DatasetMissingError(f"WebDataset shards {files[0].parent} hold no <key>.<image> with a <key>.cls label")
    if classnames is None:
        cn = files[0].parent / "classnames.txt"
        if not cn.is_file():
            raise DatasetMissingError(
                f"class names missing: put classnames.txt (one per line, label order) in {cn.parent} or pass classnames="
            )
        classnames = [line.strip() for line in cn.read_text(encoding="utf-8").splitlines() if line.strip()]
    if max(labels) >= len(classnames):
        raise DatasetError(f"WebDataset label {max(labels)} out of range for {len(classnames)} class names")

    def getter(i: int) -> tuple[bytes, int]:
        si, off, size, _ = index[i]
        with open(files[si], "rb") as fh:
            fh.seek(off)
            return fh.read(size), labels[i]

    return ClassificationData(
        name=name or files[0].parent.name,
        classnames=list(classnames),
        size=len(index),
        getter=getter,
        refs=lambda i: index[i][3],
        fingerprint=f"wds:{files_fingerprint(files)}:{len(index)}",
        root=str(files[0].parent),
        labels=labels,
    )
