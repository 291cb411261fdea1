"""The classification sets wag knows by name: torchvision test splits and image-folder sets (ImageNet and its
variants, Let It Wag!), never downloaded; their class names come from the package data (:mod:`wag.evaluate.classnames`)
when it lists the set, else from the dataset itself."""

from __future__ import annotations

import inspect
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wag.core.errors import WagError, WagWarning
from wag.evaluate.classification import ClassificationData, image_folder, webdataset_classification
from wag.evaluate.classnames import package_classnames
from wag.evaluate.images import DatasetError, DatasetMissingError


class UnknownDatasetError(WagError, KeyError):
    """A dataset name is not known."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class TorchvisionSpec:
    """A torchvision test split: class name, constructor arguments, folder under the data root, how to obtain it."""

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


_WNID = re.compile(r"n\d{8}")


def _named(dataset: str, own: list[str]) -> list[str]:
    """The package-data class names of ``dataset`` when it lists the set with as many classes as ``own`` (the
    dataset's own names, label order), else ``own``; a count mismatch is warned about."""
    names = package_classnames(dataset)
    if names is None:
        return own
    if len(names) != len(own):
        warnings.warn(
            f"dataset '{dataset}' has {len(own)} classes on disk but wag's class-name list has {len(names)}; using "
            "the dataset's own class names (check that the folder holds the whole set)",
            WagWarning,
            stacklevel=3,
        )
        return own
    return names


def _tv_classnames(ds: Any) -> list[str]:
    for attr in ("classes", "categories"):
        c = getattr(ds, attr, None)
        if c:
            return [str(x).replace("_", " ") for x in c]
    raise DatasetError(f"{type(ds).__name__} exposes no class names; load the set as an image folder instead")


def load_torchvision(name: str, root: str | os.PathLike[str]) -> ClassificationData:
    """A torchvision test split (never downloads); missing data → the path expected and how to get it."""
    import torchvision.datasets as tvd  # lazy: imports torch

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
    names = _named(name, _tv_classnames(ds))

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
        if all(_WNID.fullmatch(c) for c in data.classnames):  # ImageNet's layout: WordNet-id folders, label order
            data.classnames = _named(name, data.classnames)
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
