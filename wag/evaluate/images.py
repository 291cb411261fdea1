"""Image files of the evaluation sets: extensions, decoding, file fingerprints, and the errors of evaluation data."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from wag.core.errors import WagError
from wag.core.ids import content_key

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class DatasetMissingError(WagError, FileNotFoundError):
    """A dataset is not on disk; the message says where it was expected and how to get it."""


class DatasetError(WagError, ValueError):
    """A dataset's files or arguments do not fit together (class names vs folders, labels, captions, annotations)."""


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


def files_fingerprint(paths: Sequence[Path]) -> str:
    """Content key of the files' (path, size, mtime): a changed, added or removed file changes it."""
    return content_key([[str(p), st.st_size, st.st_mtime_ns] for p in paths for st in (p.stat(),)])
