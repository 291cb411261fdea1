"""Run manifests record the versions of every pinned package wag imports (``wag.core.manifest.PACKAGES``)."""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path

from wag.core.manifest import PACKAGES, package_versions

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_names(path: Path = ROOT / "requirements.txt") -> set[str]:
    """Distribution names of a requirements file (extras, versions, markers and comments dropped)."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.add(_norm(re.match(r"[A-Za-z0-9_.\-]+", line).group(0)))
    return out


def imported_modules(package: Path = ROOT / "wag") -> set[str]:
    """Top-level names of every module imported anywhere in the package (module level and inside functions)."""
    out = set()
    for f in package.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                out.add(node.module.split(".")[0])
    return out


def imported_distributions(modules: set[str]) -> set[str]:
    """Installed distributions that provide these top-level modules."""
    dists = metadata.packages_distributions()
    return {_norm(d) for m in modules for d in dists.get(m, [])}


def unrecorded(packages: tuple[str, ...] = PACKAGES) -> set[str]:
    """Names pinned in requirements.txt whose modules wag imports, missing from ``packages``."""
    used = imported_distributions(imported_modules()) & pinned_names()
    assert {
        "torch",
        "pandas",
        "pandera",
        "altair",
        "anywidget",
        "ipywidgets",
        "vl-convert-python",
    } <= used  # the scan sees them
    return used - {_norm(p) for p in packages}


def test_every_pinned_package_the_code_imports_is_in_the_manifest():
    missing = unrecorded()
    assert not missing, (
        f"pinned in requirements.txt and imported by wag, but not recorded in run manifests: {sorted(missing)}; add them to wag.core.manifest.PACKAGES"
    )


def test_the_check_names_a_package_left_out():
    assert unrecorded(tuple(p for p in PACKAGES if p not in ("pandera", "ipywidgets"))) == {"pandera", "ipywidgets"}


def test_package_versions_are_the_installed_ones():
    v = package_versions()
    assert set(v) == set(PACKAGES)
    assert v["pandera"] == metadata.version("pandera") and v["anywidget"] == metadata.version("anywidget")
    assert package_versions(("no-such-package-wag",)) == {"no-such-package-wag": None}
