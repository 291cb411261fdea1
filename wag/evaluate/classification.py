"""Labelled image sets: the :class:`ClassificationData` every evaluator reads, from an image folder
(``root/<class>/*.jpg``) or WebDataset shards (``<key>.jpg`` + ``<key>.cls``)."""

from __future__ import annotations

import os
import tarfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from wag.core.errors import WagWarning, excerpt
from wag.corpus import whole_tar_members
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


def _images_in(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))


def empty_class_folders(root: str | os.PathLike[str]) -> list[str]:
    """The class folders of an image folder that hold no image (sorted names; none when ``root`` is not a folder)."""
    r = Path(root)
    if not r.is_dir():
        return []
    return [d.name for d in sorted(r.iterdir()) if d.is_dir() and not d.name.startswith(".") and not _images_in(d)]


def require_classes(n: int, where: str, names: Sequence[str]) -> None:
    """A classification set needs two classes: among one, zero-shot accuracy is 1 whatever the model (meaningless)."""
    if n < 2:
        raise DatasetError(
            f"{where} has {n} class{'' if n == 1 else 'es'} ({', '.join(names) or 'none'}): zero-shot accuracy among "
            "one class is always 1 whatever the model, so it measures nothing; give at least two classes"
        )


def image_folder(
    root: str | os.PathLike[str],
    *,
    name: str | None = None,
    classnames: Sequence[str] | None = None,
    empty_classes: str = "skip",
) -> ClassificationData:
    """``root/<class>/*.png|jpg|...`` as a classification set (classes sorted by folder name).

    A class folder without images is not a class (``empty_classes="skip"``, with a warning naming it), unless
    ``empty_classes="keep"`` (zero-shot over a full label space: such classes compete as answers but have no test
    image). One class is an error (1-way accuracy is meaningless). ``classnames`` optionally gives display names in
    the order of the class folders used (default: the folder names with ``_`` → space).
    """
    r = Path(root)
    if not r.is_dir():
        raise DatasetMissingError(f"image folder {r} does not exist (expected {r}/<class>/<image>.jpg|png)")
    if empty_classes not in ("skip", "keep"):
        raise DatasetError(f"empty_classes must be 'skip' or 'keep', got {empty_classes!r}")
    folders = sorted(d for d in r.iterdir() if d.is_dir() and not d.name.startswith("."))
    images = {d: _images_in(d) for d in folders}
    empty = [d.name for d in folders if not images[d]]
    if empty and empty_classes == "skip" and len(empty) < len(folders):
        warnings.warn(
            f"image folder {r}: {len(empty)} class folder(s) hold no images and are not classes "
            f"({', '.join(empty[:5])}{', ...' if len(empty) > 5 else ''}); put images in them or remove them "
            "(or, in a study, set empty_classes: keep to keep them as answers)",
            WagWarning,
            stacklevel=2,
        )
        folders = [d for d in folders if images[d]]
    samples: list[tuple[Path, int]] = [(p, label) for label, d in enumerate(folders) for p in images[d]]
    if not samples:
        raise DatasetMissingError(
            f"image folder {r} has no images in class sub-folders (expected {r}/<class>/<image>.jpg|png); put each class's images in its own sub-folder"
        )
    names = list(classnames) if classnames is not None else [d.name.replace("_", " ") for d in folders]
    if len(names) != len(folders):
        raise DatasetError(f"{len(names)} class names given for {len(folders)} class folders in {r}")
    require_classes(len(names), f"image folder {r}", names)
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
        try:
            tf = tarfile.open(f)
        except tarfile.ReadError as exc:
            raise DatasetError(f"{f} is not a readable tar file ({exc}); check the WebDataset test set") from None
        with tf:
            for m in whole_tar_members(tf, f):  # a shard cut short is an error, not fewer test images
                key, _, ext = m.name.partition(".")
                if "." + ext.lower() in IMAGE_EXTS:
                    imgs[key] = m
                elif ext == "cls":
                    text = tf.extractfile(m).read().decode("utf-8", "replace").strip()  # type: ignore[union-attr]
                    if not text.lstrip("-").isdigit():
                        raise DatasetError(f"{f}: label member {m.name} holds {excerpt(text)}, not a class number")
                    cls[key] = int(text)
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
    require_classes(len(classnames), f"WebDataset test set {files[0].parent}", list(classnames))

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
