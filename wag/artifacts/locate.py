"""Find the paper's released files and the NeglectedTails estimates on disk, or download them (pooch).

Order: explicit ``path`` > ``profile.paper_artifacts`` > ``$WAG_PAPER_ARTIFACTS`` > a complete copy in
the user cache > download at the pinned commit with per-file sha256 checksums (if ``profile.download``).
:func:`locate_paper_root` is the same search without the download: the folder, or None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from wag.core.errors import WagError
from wag.core.ids import file_sha256
from wag.core.io import write_text
from wag.core.paths import resolve


class ArtifactsMissingError(WagError, FileNotFoundError):
    """The released files could not be found; the message names the three ways to provide them."""


@dataclass(frozen=True)
class Source:
    """One pinned upstream source of data files."""

    label: str
    repo: str
    commit: str
    upstream_prefix: str  # folder inside the upstream repo that maps to the local root
    registry_file: str  # name inside wag/data
    profile_key: str
    env_var: str
    marker: str  # a file or folder that must exist in a valid local root

    @property
    def base_url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.upstream_prefix}"


PAPER = Source(
    label="the paper's released files",
    repo="bethgelab/frequency_determines_performance",
    commit="11ef009f9d0d9c0d190b4ede58e07d378ef79d32",
    upstream_prefix="",
    registry_file="paper_artifacts_registry.txt",
    profile_key="paper_artifacts",
    env_var="WAG_PAPER_ARTIFACTS",
    marker="search_counts",
)
NEGLECTED_TAILS = Source(
    label="the NeglectedTails LAION estimates",
    repo="shubhamprshr27/NeglectedTailsVLM",
    commit="1ca33df119c1bfb48ae0738a7a12c6d4e65867e5",
    upstream_prefix="analysis/laion/",
    registry_file="neglected_tails_registry.txt",
    profile_key="neglected_tails",
    env_var="WAG_NEGLECTED_TAILS",
    marker="imagenet_1k",
)


@dataclass(frozen=True)
class Registry:
    """Files of a source with their sha256; files known to be missing from our copy; files not upstream."""

    files: dict[str, str]
    missing: list[str]
    local_only: list[str]


def load_registry(source: Source) -> Registry:
    """Parse ``wag/data/<registry_file>``: ``<path> <sha256>`` lines and ``# missing <path>`` comments."""
    text = resources.files("wag").joinpath("data", source.registry_file).read_text(encoding="utf-8")
    files: dict[str, str] = {}
    missing: list[str] = []
    local_only: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("# missing "):
            missing.append(line[len("# missing ") :].split()[0])
        elif line.startswith("# local-only "):
            local_only.append(line[len("# local-only ") :].split()[0])
        elif line and not line.startswith("#"):
            path, digest = line.split()[:2]
            files[path] = digest
    return Registry(files, missing, local_only)


def cache_root(source: Source) -> Path:
    """User-cache folder of a source at its pinned commit (``pooch.os_cache('wag')/<name>-<commit>``)."""
    import pooch

    name = "paper-artifacts" if source is PAPER else "neglected-tails"
    return Path(pooch.os_cache("wag")) / f"{name}-{source.commit[:12]}"


_COMPLETE = ".wag-complete"


def _missing_message(source: Source, reason: str) -> str:
    return (
        f"{source.label} not found ({reason}). Provide them in one of three ways:\n"
        f"  1. set `{source.profile_key}: /path/to/folder` in your profile (params/<profile>.yaml);\n"
        f"  2. set the environment variable {source.env_var}=/path/to/folder;\n"
        f"  3. allow the download (`download: true` in the profile, the default) and be online: the files are "
        f"fetched from {source.base_url} with sha256 checksums into {cache_root(source)}."
    )


def _check_dir(path: Path, source: Source, how: str) -> Path:
    if not path.is_dir():
        raise ArtifactsMissingError(_missing_message(source, f"{how} points to {path}, which is not a folder"))
    if not (path / source.marker).exists():
        raise ArtifactsMissingError(
            _missing_message(
                source, f"{how} points to {path}, which has no `{source.marker}` inside: is it the right folder?"
            )
        )
    return path


def _download(source: Source, target: Path) -> Path:
    """Fetch every registry file into ``target`` with pooch (sha256-checked), then mark the copy complete."""
    import pooch
    from tqdm.auto import tqdm

    pooch.get_logger().setLevel("WARNING")  # one tqdm bar instead of a log line per file
    reg = load_registry(source)
    fetcher = pooch.create(path=target, base_url=source.base_url, registry=dict(reg.files), retry_if_failed=2)
    for rel in tqdm(sorted(reg.files), desc=f"downloading {source.label}", unit="file"):
        fetcher.fetch(rel)
    write_text(target / _COMPLETE, f"{source.repo}@{source.commit}\n")
    return target


def _resolve_root(
    source: Source, profile: Any = None, path: str | os.PathLike[str] | None = None, *, download: bool = True
) -> Path:
    if path is not None:
        return _check_dir(resolve(path), source, "the explicit path")
    prof_value = getattr(profile, source.profile_key, None) if profile is not None else None
    if prof_value:
        return _check_dir(resolve(prof_value), source, f"profile key `{source.profile_key}`")
    env = os.environ.get(source.env_var)
    if env:
        return _check_dir(resolve(env), source, f"${source.env_var}")
    cached = cache_root(source)
    if (cached / _COMPLETE).is_file():
        return cached
    allow = bool(getattr(profile, "download", True)) if profile is not None else True
    if not download:
        raise ArtifactsMissingError(_missing_message(source, "no local folder given and no complete copy in the cache"))
    if not allow:
        raise ArtifactsMissingError(
            _missing_message(source, "no local folder given and the profile sets `download: false`")
        )
    try:
        return _download(source, cached)
    except Exception as exc:  # network errors, checksum mismatches: one message with the fix
        raise ArtifactsMissingError(_missing_message(source, f"download failed: {type(exc).__name__}: {exc}")) from exc


def paper_root(profile: Any = None, path: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the paper's released files (explicit path > profile > $WAG_PAPER_ARTIFACTS > cache > download)."""
    return _resolve_root(PAPER, profile, path)


def locate_paper_root(profile: Any = None) -> Path | None:
    """The local folder of the paper's released files (profile > $WAG_PAPER_ARTIFACTS > a complete cached copy), or
    None when there is none or the one named is not that folder: for code that has a fallback (e.g. made-up concept
    names); never downloads, never raises."""
    try:
        return _resolve_root(PAPER, profile, download=False)
    except ArtifactsMissingError:
        return None


def neglected_tails_root(profile: Any = None, path: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the NeglectedTails estimates (explicit path > profile > $WAG_NEGLECTED_TAILS > cache > download)."""
    return _resolve_root(NEGLECTED_TAILS, profile, path)


def verify(root: str | os.PathLike[str], source: Source = PAPER) -> dict[str, list[str]]:
    """Check a local copy against the registry: ``{"ok": [...], "changed": [...], "absent": [...]}`` (paths)."""
    reg = load_registry(source)
    out: dict[str, list[str]] = {"ok": [], "changed": [], "absent": []}
    for rel, digest in sorted(reg.files.items()):
        p = Path(root) / rel
        if not p.is_file():
            out["absent"].append(rel)
            continue
        out["ok" if file_sha256(p) == digest else "changed"].append(rel)
    return out
