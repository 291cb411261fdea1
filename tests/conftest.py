"""Test environment: offline hub, real released files from ../shared when present, private cache."""

from __future__ import annotations

import os
from pathlib import Path

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


def pytest_collection_modifyitems(config, items):
    """Skip notebook cells tagged ``released-files`` (wag.run.notebook.RELEASED_FILES_TAG) when those files are unavailable.

    The rest of each notebook (its synthetic-world and generated-corpus sections) still runs; CI has the files.
    """
    import pytest

    from wag.run.notebook import released_files_missing, skip_tags

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
