"""The import contract (``[tool.importlinter]`` in pyproject.toml): wag's floors, checked by import-linter.

Each module imports only from floors below it, in-function imports included; every module directly under
``wag/`` has a floor. The last two tests break a temporary copy of the package on purpose and check that the
contract then fails, naming the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package and pyproject.toml under ``root`` (no cache written)."""
    if not LINT.is_file():
        pytest.fail(f"{LINT} not found: install the dev requirements (pip install -r requirements-dev.txt)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_of_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "wag", tmp_path / "wag", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_layers_kept():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 kept, 0 broken" in r.stdout


def test_an_upward_import_in_a_function_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    io = root / "wag" / "io.py"
    io.write_text(io.read_text(encoding="utf-8") + "\n\ndef _hidden():\n    from wag.analysis import fits  # noqa: F401\n",
                  encoding="utf-8")
    r = lint(root)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and "wag.io -> wag.analysis.fits" in r.stdout, r.stdout


def test_a_module_without_a_floor_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    (root / "wag" / "unplaced.py").write_text('"""A new module nobody put on a floor."""\n', encoding="utf-8")
    r = lint(root)
    assert r.returncode != 0
    assert "wag.unplaced" in r.stdout, r.stdout
