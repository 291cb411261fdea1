"""Test environment: offline hub, real released files from ../shared when present, private cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("WAG_ROOT", str(ROOT))
if (SHARED / "paper-artifacts").is_dir():
    os.environ.setdefault("WAG_PAPER_ARTIFACTS", str(SHARED / "paper-artifacts"))
if (SHARED / "neglected-tails-counts").is_dir():
    os.environ.setdefault("WAG_NEGLECTED_TAILS", str(SHARED / "neglected-tails-counts"))


#: The example study's profile: the base of every study profile the tests write.
EXAMPLE_PROFILE = ROOT / "params" / "example_study.yaml"


def _set(d: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for k in parents:
        d = d.setdefault(k, {})
    d[leaf] = value


def example_study_data(root: Path | str | None = None, **study: Any) -> dict[str, Any]:
    """The example study's profile as a dict, its ``study.root`` at ``root``, with ``study`` keys set (dotted keys reach
    inside: ``**{"stages.letitwag.images": None}``)."""
    data = yaml.safe_load(EXAMPLE_PROFILE.read_text(encoding="utf-8"))
    if root is not None:
        data["study"]["root"] = str(root)
    for key, value in study.items():
        _set(data["study"], key, value)
    return data


def write_profile(path: Path, content: dict[str, Any] | str | bytes) -> Path:
    """Write a profile (a dict as YAML; text or bytes as they are, for bad-input cases) at ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = yaml.safe_dump(content)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def study_profile(root: Path | str, path: Path, **study: Any) -> Path:
    """The example study's profile pointed at ``root`` with ``study`` keys set, written at ``path``."""
    return write_profile(path, example_study_data(root, **study))


def xdist_groups(items: list[Any]) -> None:
    """Mark each test with its pytest-xdist group (``make test`` runs ``--dist loadgroup``): one group per file, so a
    module's fixtures are built once and a notebook's cells run in order in one kernel, and one group for the notebooks
    that share the synthetic world (:func:`wag.run.reproduce.shares_world`: the same cache and study folders, one writer
    at a time), which then run one after another as in a serial run. Without xdist the marks do nothing."""
    import nbformat

    from wag.run.reproduce import shares_world

    world: dict[Path, bool] = {}
    for it in items:
        path = Path(str(it.path))
        group = path.name
        if path.suffix == ".ipynb":
            if path not in world:
                world[path] = shares_world(nbformat.read(str(path), as_version=4))
            group = "synthetic-world-notebooks" if world[path] else group
        it.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config):
    """The marks this suite uses (pytest-xdist registers ``xdist_group`` too; without it the marks are inert)."""
    config.addinivalue_line("markers", "xdist_group(name): tests of one group run on one pytest-xdist worker, in order")
    config.addinivalue_line("markers", "slow: a test that takes more than ~10 s of CPU (still run by `make test`)")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups in the same hook
def pytest_collection_modifyitems(config, items):
    """Group the tests for pytest-xdist (:func:`xdist_groups`); skip notebook cells tagged ``released-files`` (wag.run.notebook.RELEASED_FILES_TAG) when those files are unavailable.

    The rest of each notebook (its synthetic-world and generated-corpus sections) still runs; CI has the files.
    """
    from wag.run.notebook import released_files_missing, skip_tags

    xdist_groups(items)
    tags = set(skip_tags())  # nbval runs the notebooks' ci defaults: the released files are their source
    tagged = [it for it in items if tags & set((getattr(it, "cell", None) or {}).get("metadata", {}).get("tags", []))]
    if not tagged:
        return
    reason = released_files_missing()
    if reason is None:
        return
    skip = pytest.mark.skip(
        reason=f"{reason} (set WAG_PAPER_ARTIFACTS / WAG_NEGLECTED_TAILS, or put ../shared beside the clone)"
    )
    for it in tagged:
        it.add_marker(skip)
