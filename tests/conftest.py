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
