"""Evaluation data: classification sets (image folders, torchvision sets, WebDataset shards) and retrieval sets.

Every loader is offline (``download=False``); a missing dataset raises :class:`DatasetMissingError` with the
path expected and how to obtain it. Images that cannot be decoded are skipped by the evaluators, which report
their paths and count (see :func:`open_image`).
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from wag.artifacts import paper_root
from wag.core.errors import WagError
from wag.core.ids import content_key
from wag.core.io import read_json

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class DatasetMissingError(WagError, FileNotFoundError):
    """A dataset is not on disk; the message says where it was expected and how to get it."""


class UnknownDatasetError(WagError, KeyError):
    """A dataset name is not known."""

    def __str__(self) -> str:
        return str(self.args[0])


class CorruptImageError(WagError, OSError):
    """An image file cannot be decoded."""


def open_image(src: str | os.PathLike[str] | bytes, ref: str | None = None) -> Image.Image:
    """Decode an image (path or bytes) to RGB; a broken file raises :class:`CorruptImageError` naming it."""
    name = ref or (str(src) if not isinstance(src, bytes) else "<bytes>")
    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src) as im:
            im.load()
            return im if im.mode == "RGB" else im.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorruptImageError(f"cannot decode image {name}: {exc}") from None


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


def _files_fingerprint(paths: Sequence[Path]) -> str:
    return content_key([[str(p), st.st_size, st.st_mtime_ns] for p in paths for st in (p.stat(),)])


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
        raise WagError(f"{len(names)} class names given for {len(folders)} class folders in {r}")
    paths = [p for p, _ in samples]
    return ClassificationData(
        name=name or r.name,
        classnames=names,
        size=len(samples),
        getter=lambda i: (samples[i][0], samples[i][1]),
        refs=lambda i: str(samples[i][0]),
        fingerprint=f"folder:{r.resolve()}:{len(samples)}:{_files_fingerprint(paths)}",
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
        raise WagError(f"WebDataset label {max(labels)} out of range for {len(classnames)} class names")

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
        fingerprint=f"wds:{_files_fingerprint(files)}:{len(index)}",
        root=str(files[0].parent),
        labels=labels,
    )


# --------------------------------------------------------------------------------------------- torchvision


@dataclass(frozen=True)
class TorchvisionSpec:
    cls: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    sub: str = ""
    how: str = ""


TORCHVISION: dict[str, TorchvisionSpec] = {
    "cifar10": TorchvisionSpec(
        "CIFAR10", {"train": False}, "cifar10", "torchvision.datasets.CIFAR10(root, train=False, download=True)"
    ),
    "cifar100": TorchvisionSpec(
        "CIFAR100", {"train": False}, "cifar100", "torchvision.datasets.CIFAR100(root, train=False, download=True)"
    ),
    "food101": TorchvisionSpec(
        "Food101", {"split": "test"}, "food101", "torchvision.datasets.Food101(root, split='test', download=True)"
    ),
    "flowers102": TorchvisionSpec(
        "Flowers102",
        {"split": "test"},
        "flowers102",
        "torchvision.datasets.Flowers102(root, split='test', download=True)",
    ),
    "oxfordpets": TorchvisionSpec(
        "OxfordIIITPet",
        {"split": "test"},
        "oxfordpets",
        "torchvision.datasets.OxfordIIITPet(root, split='test', download=True)",
    ),
    "dtd": TorchvisionSpec(
        "DTD", {"split": "test"}, "dtd", "torchvision.datasets.DTD(root, split='test', download=True)"
    ),
    "eurosat": TorchvisionSpec(
        "EuroSAT",
        {},
        "eurosat",
        "torchvision.datasets.EuroSAT(root, download=True) (the whole set; the paper used the same)",
    ),
    "fgvcaircraft": TorchvisionSpec(
        "FGVCAircraft",
        {"split": "test"},
        "fgvcaircraft",
        "torchvision.datasets.FGVCAircraft(root, split='test', download=True)",
    ),
    "stanfordcars": TorchvisionSpec(
        "StanfordCars",
        {"split": "test"},
        "stanfordcars",
        "StanfordCars has no public download any more: get it from Kaggle and unpack under root/stanford_cars",
    ),
    "country211": TorchvisionSpec(
        "Country211",
        {"split": "test"},
        "country211",
        "torchvision.datasets.Country211(root, split='test', download=True)",
    ),
    "sun397": TorchvisionSpec("SUN397", {}, "sun397", "torchvision.datasets.SUN397(root, download=True)"),
    "caltech101": TorchvisionSpec(
        "Caltech101", {"target_type": "category"}, "caltech101", "torchvision.datasets.Caltech101(root, download=True)"
    ),
}

#: Image-folder datasets (root/<name>/<split>/<class>/*).
FOLDER_SETS: dict[str, str] = {
    "imagenet": "imagenet/val  (ILSVRC2012 validation images sorted into one folder per class; get them from image-net.org)",
    "imagenet-sketch": "imagenet-sketch/sketch  (from the ImageNet-Sketch release, one folder per class)",
    "imagenet-r": "imagenet-r  (from the ImageNet-R release, one folder per class)",
    "let_it_wag": "let_it_wag  (the Let It Wag! images, one folder per class; or use wag.evaluate.letitwag.load_released)",
}


def known_datasets() -> list[str]:
    """Names accepted by :func:`load_classification`."""
    return sorted([*TORCHVISION, *FOLDER_SETS])


def _paper_classnames(dataset: str, n: int) -> list[str] | None:
    """Class names in label order from the paper's released results (so our per-class rows use its names)."""
    try:
        root = paper_root()
    except Exception:  # released files not available: fall back to the dataset's own names
        return None
    f = Path(root) / "zero_shot_evaluations" / f"{dataset}_class_results.json"
    if not f.is_file():
        return None
    data = read_json(f)
    first = next(iter(data.values()))
    names = list(first["classwise"])
    return names if len(names) == n else None


def _tv_classnames(ds: Any) -> list[str]:
    for attr in ("classes", "categories"):
        c = getattr(ds, attr, None)
        if c:
            return [str(x).replace("_", " ") for x in c]
    raise WagError(f"{type(ds).__name__} exposes no class names")


def load_torchvision(name: str, root: str | os.PathLike[str]) -> ClassificationData:
    """A torchvision test split (never downloads); missing data → the path expected and how to get it."""
    import inspect

    import torchvision.datasets as tvd

    spec = TORCHVISION[name]
    folder = Path(root) / spec.sub
    cls = getattr(tvd, spec.cls)
    kwargs = dict(spec.kwargs)
    by_path = "loader" in inspect.signature(cls.__init__).parameters
    if by_path:
        kwargs["loader"] = str  # return the path; we decode (and report corrupt files) ourselves
    try:
        ds = cls(str(folder), download=False, **kwargs)
    except (RuntimeError, FileNotFoundError, OSError) as exc:
        raise DatasetMissingError(
            f"dataset '{name}' not found under {folder} ({str(exc)[:160]}). To obtain it (needs internet): {spec.how} "
            f"with root={folder}, then point evaluate.data_root at {Path(root)}."
        ) from None
    n = len(ds)
    names = _paper_classnames(name, len(_tv_classnames(ds))) or _tv_classnames(ds)

    def getter(i: int) -> tuple[Any, int]:
        x, y = ds[i]
        return x, int(y)

    def refs(i: int) -> str:
        if by_path:
            for attr in ("_image_files", "_samples", "samples", "imgs"):
                seq = getattr(ds, attr, None)
                if seq is not None:
                    item = seq[i]
                    return str(item[0] if isinstance(item, tuple) else item)
        return f"{name}[{i}]"

    return ClassificationData(
        name=name,
        classnames=names,
        size=n,
        getter=getter,
        refs=refs,
        fingerprint=f"torchvision:{name}:{folder.resolve()}:{n}",
        root=str(folder),
    )


def load_classification(name: str, root: str | os.PathLike[str] | None = None) -> ClassificationData:
    """A classification set by name (see :func:`known_datasets`) under ``root``, or an image folder path."""
    base = Path(root) if root is not None else Path("data")
    if name in TORCHVISION:
        return load_torchvision(name, base)
    if name in FOLDER_SETS:
        rel = FOLDER_SETS[name].split()[0]
        folder = base / rel
        if not folder.is_dir():
            raise DatasetMissingError(
                f"dataset '{name}' not found: expected an image folder at {folder} ({FOLDER_SETS[name]})"
            )
        data = image_folder(folder, name=name)
        n = len(data.classnames)
        data.classnames = _paper_classnames(name, n) or data.classnames
        return data
    p = Path(name)
    if p.is_dir():
        if any(p.glob("*.tar")):
            return webdataset_classification(p)
        return image_folder(p)
    if os.sep in name or "/" in name or p.exists():
        raise DatasetMissingError(
            f"image folder {p} does not exist or is not a folder (expected {p}/<class>/<image>.jpg|png); check the path"
        )
    raise UnknownDatasetError(
        f"unknown dataset '{name}'. Known datasets: {', '.join(known_datasets())}; or give a path to an image folder "
        "(<root>/<class>/*.jpg) or a folder of WebDataset shards (*.tar with <key>.jpg + <key>.cls, classnames.txt)."
    )


# --------------------------------------------------------------------------------------------- retrieval


@dataclass
class RetrievalData:
    """Images with their captions: ``captions[i]`` are the captions of image ``images[i]`` (same count each)."""

    name: str
    images: list[str]
    captions: list[list[str]]
    fingerprint: str

    def __len__(self) -> int:
        return len(self.images)

    def get(self, i: int) -> Image.Image:
        return open_image(self.images[i])

    def ref(self, i: int) -> str:
        return self.images[i]


def _pairs_from_annotations(data: Any, ann: Path) -> list[tuple[str, list[str]]]:
    """(image file, captions) from COCO captions JSON, Karpathy dataset_*.json, or a list of {image, caption}."""
    if isinstance(data, dict) and "annotations" in data and "images" in data:  # COCO captions format
        files = {im["id"]: im["file_name"] for im in data["images"]}
        caps: dict[Any, list[str]] = {}
        for a in data["annotations"]:
            caps.setdefault(a["image_id"], []).append(a["caption"])
        return [(files[i], caps.get(i, [])) for i in files]
    if isinstance(data, dict) and "images" in data:  # Karpathy split file
        out = []
        for im in data["images"]:
            if im.get("split", "test") != "test":
                continue
            fn = os.path.join(im.get("filepath", ""), im["filename"])
            out.append((fn, [s["raw"] for s in im.get("sentences", [])]))
        return out
    if isinstance(data, list) and data and isinstance(data[0], dict) and "image" in data[0]:
        return [(d["image"], list(d["caption"]) if isinstance(d["caption"], list) else [d["caption"]]) for d in data]
    raise WagError(
        f"unrecognised retrieval annotation file {ann}: expected COCO captions JSON (images + annotations), a Karpathy "
        'dataset_*.json (images with sentences), or a JSON list of {"image": path, "caption": [..]}'
    )


def load_retrieval(
    annotations: str | os.PathLike[str],
    images_root: str | os.PathLike[str],
    *,
    name: str | None = None,
    captions_per_image: int = 5,
) -> RetrievalData:
    """COCO / Flickr style retrieval set: an annotation file plus an image folder.

    Keeps the first ``captions_per_image`` captions of each image (the paper keeps 5); images with fewer
    captions are rejected with a message (the recall definition assumes the same count per image).
    """
    ann = Path(annotations)
    root = Path(images_root)
    if not ann.is_file():
        raise DatasetMissingError(
            f"retrieval annotations {ann} not found. COCO-5K / Flickr-1K test splits: Karpathy split files "
            "(dataset_coco.json / dataset_flickr30k.json) with the COCO val2014 / Flickr30k images."
        )
    if not root.is_dir():
        raise DatasetMissingError(
            f"retrieval image folder {root} not found; check --images (the folder the annotation paths are relative to)"
        )
    data = read_json(ann)  # a parse error names the file (InputFileError)
    pairs = _pairs_from_annotations(data, ann)
    short = [fn for fn, caps in pairs if len(caps) < captions_per_image]
    if short:
        raise WagError(
            f"{len(short)} images have fewer than {captions_per_image} captions in {ann} (e.g. {short[0]}); lower captions_per_image"
        )
    images = [str(root / fn) for fn, _ in pairs]
    missing = [p for p in images if not Path(p).is_file()]
    if missing:
        raise DatasetMissingError(f"{len(missing)} images listed in {ann} are missing under {root} (e.g. {missing[0]})")
    captions = [[str(c) for c in caps[:captions_per_image]] for _, caps in pairs]
    fp = content_key([images, captions])
    return RetrievalData(
        name=name or ann.stem,
        images=images,
        captions=captions,
        fingerprint=f"retrieval:{fp}:{_files_fingerprint([Path(p) for p in images])}",
    )
