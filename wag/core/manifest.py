"""Run manifests: what a run used (params, package versions, input checksums) and how it went."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from wag.core.ids import file_sha256
from wag.core.paths import project_root

#: Distributions that shape results or their rendering, recorded in every run manifest (pip names). Every name
#: pinned in requirements.txt that wag imports is here (``tests/test_manifest.py`` derives the list and checks).
PACKAGES = (
    "wag",
    # models, features, generation
    "torch",
    "torchvision",
    "open_clip_torch",
    "diffusers",
    "transformers",
    "huggingface_hub",
    "safetensors",
    # tables, counting, fits
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "statsmodels",
    "pandera",
    "pydantic",
    "pyyaml",
    "regex",
    "lemminflect",
    "dask",
    "distributed",
    # images (decoding, de-duplication)
    "pillow",
    "imagehash",
    # charts, tables and notebooks as rendered
    "altair",
    "vl-convert-python",
    "anywidget",
    "ipywidgets",
    "tabulate",
    "papermill",
    "nbformat",
    "ipykernel",
    "ipython",
    # downloads of the released files, progress
    "pooch",
    "tqdm",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages that shape results (None when absent)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def folder_checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` keyed by its relative path (sorted)."""
    return {str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def git_commit() -> str | None:
    """The project's current commit (with ``+dirty`` when the tree has changes), or None outside git."""
    try:
        root = project_root()
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def environment() -> dict[str, Any]:
    """Interpreter, platform and package versions."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_commit": git_commit(),
    }
