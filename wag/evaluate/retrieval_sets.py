"""Retrieval sets: images with their captions, from COCO captions JSON, Karpathy split files or a simple list."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from wag.core.ids import content_key
from wag.core.io import read_json
from wag.evaluate.images import DatasetError, DatasetMissingError, files_fingerprint, open_image


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
    raise DatasetError(
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
        raise DatasetError(
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
        fingerprint=f"retrieval:{fp}:{files_fingerprint([Path(p) for p in images])}",
    )
