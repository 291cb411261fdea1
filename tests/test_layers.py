"""The import contract (``[tool.importlinter]`` in pyproject.toml): wag's floors, checked by import-linter.

Each module imports only from floors below it, in-function imports included; every module directly under
``wag/`` has a floor. Two tests break a temporary copy of the package on purpose and check that the contract
then fails, naming the import.

Besides the floors: the module-level import graph (what runs when a module is imported: top-level statements,
class bodies, ``try``/``if`` blocks, not function bodies nor ``if TYPE_CHECKING:``) has no cycle, neither between
the top-level packages and modules of ``wag`` nor inside a package, so no in-function import is there to dodge one.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package and pyproject.toml under ``root`` (no cache written)."""
    if not LINT.is_file():
        pytest.fail(f"{LINT} not found: install the dev requirements (pip install -r requirements-dev.txt)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "wag", tmp_path / "wag", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_layers_kept():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " kept, 0 broken" in r.stdout


def test_an_upward_import_in_a_function_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    io = root / "wag" / "core" / "io.py"
    io.write_text(
        io.read_text(encoding="utf-8") + "\n\ndef _hidden():\n    from wag.analysis import fits  # noqa: F401\n",
        encoding="utf-8",
    )
    r = lint(root)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and "wag.core.io -> wag.analysis.fits" in r.stdout, r.stdout


def test_a_module_without_a_floor_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    (root / "wag" / "unplaced.py").write_text('"""A new module nobody put on a floor."""\n', encoding="utf-8")
    r = lint(root)
    assert r.returncode != 0
    assert "wag.unplaced" in r.stdout, r.stdout


# ---------------------------------------------------------------------------------------------
# No module-level cycles (the graph of what runs at import time)
# ---------------------------------------------------------------------------------------------


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported name, line) of the import statements that run when the module is imported."""
    out: list[tuple[str, int]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                out.extend((a.name, node.lineno) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolved against this module's package
                    pkg = module.split(".") if is_package else module.split(".")[:-1]
                    base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
                out.extend(
                    (f"{base}.{a.name}", node.lineno) for a in node.names
                )  # a submodule, else (trimmed) the module
            elif isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if test not in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try | ast.With):
                visit(node.body)
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))
            elif isinstance(node, ast.ClassDef):
                visit(node.body)

    visit(tree.body)
    return out


def module_level_graph(root: Path, package: str = "wag") -> grimp.ImportGraph:
    """The import graph of ``package`` under ``root`` built from module-level imports only (function bodies left out)."""
    files = {_module_name(root, f): f for f in sorted((root / package).rglob("*.py"))}
    graph = grimp.ImportGraph()
    for m in files:
        graph.add_module(m)
    for m, f in files.items():
        for name, line in _top_level_imports(ast.parse(f.read_text(encoding="utf-8")), m, f.name == "__init__.py"):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != m and name != package:
                graph.add_import(importer=m, imported=name, line_number=line, line_contents="")
    return graph


def module_level_cycles(root: Path, package: str = "wag") -> list[str]:
    """Each module-level cycle as text: between the children of ``package`` and inside every subpackage."""
    graph = module_level_graph(root, package)
    cycles = []
    for pkg in sorted(m for m in graph.modules if graph.find_children(m)):
        for importer, imported in sorted(graph.nominate_cycle_breakers(pkg)):
            back = graph.find_shortest_chain(importer=imported, imported=importer) or (imported, "...", importer)
            cycles.append(f"{importer} -> {' -> '.join(back)} (inside {pkg})")
    return cycles


def test_no_module_level_import_cycle():
    assert module_level_cycles(ROOT) == [], (
        "module-level import cycles (move the shared code to the lower module, or pass it in)"
    )


def test_a_module_level_cycle_is_found_and_a_function_level_import_is_not(tmp_path):
    root = copy_of_package(tmp_path)
    io = root / "wag" / "core" / "io.py"
    text = io.read_text(encoding="utf-8")
    io.write_text(text + "\n\ndef _later():\n    from wag.analysis import fits  # noqa: F401\n", encoding="utf-8")
    assert module_level_cycles(root) == []  # an in-function import runs later: no module-level cycle
    errors = root / "wag" / "core" / "errors.py"
    errors.write_text(
        errors.read_text(encoding="utf-8") + "\nfrom wag.core import io  # noqa: E402,F401\n", encoding="utf-8"
    )  # io imports errors
    found = module_level_cycles(root)
    assert found and all("wag.core.errors" in c and "wag.core.io" in c for c in found), found
    (root / "wag" / "study" / "spec.py").write_text(
        (root / "wag" / "study" / "spec.py").read_text(encoding="utf-8")
        + "\nfrom wag.study import run  # noqa: E402,F401\n",
        encoding="utf-8",
    )
    assert any("inside wag.study" in c and "wag.study.spec" in c for c in module_level_cycles(root))


# ---------------------------------------------------------------------------------------------
# No module imports another module's private name; notebooks call public names only
# ---------------------------------------------------------------------------------------------


def private_imports(paths: list[Path]) -> list[str]:
    """``file:line name`` of every ``from wag.x import _name`` (a private name of another module)."""
    out = []
    for f in paths:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wag"):
                where = f.relative_to(ROOT) if f.is_relative_to(ROOT) else f.name
                out += [f"{where}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("_")]
    return out


def test_no_module_imports_a_private_name_of_another():
    files = [*sorted((ROOT / "wag").rglob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py"))]
    assert private_imports(files) == [], "make the name public (drop the underscore) or keep its use inside its module"


def test_the_private_import_check_can_fail(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from wag.core.io import _hidden, write_text\nfrom wag.core import io\n", encoding="utf-8")
    assert private_imports([f]) == ["m.py:1 _hidden"]


def notebook_private_calls(path: Path) -> list[str]:
    """``cell: name`` of every attribute access to a private name of a wag module alias in a notebook's code cells."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("wag")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wag"):
                aliases |= {a.asname or a.name for a in node.names}
                out += [f"{cell.get('id')}: {a.name}" for a in node.names if a.name.startswith("_")]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and (base.id in aliases or base.id in NOTEBOOK_MODULE_ALIASES):
                    out.append(f"{cell.get('id')}: {base.id}.{node.attr}")
    return out


#: Module aliases the notebooks bind in one cell and use in later ones.
NOTEBOOK_MODULE_ALIASES = {
    "E",
    "F",
    "S",
    "demo",
    "liw",
    "ag",
    "sc",
    "A",
    "plots",
    "figures",
    "fits",
    "inputs",
    "scorecard",
}


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_call_public_names_only(nb):
    assert notebook_private_calls(nb) == []


def test_the_notebook_check_finds_a_private_call(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import wag.experiments as E\nE._variant('text', sp)", id="x-01")]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert notebook_private_calls(tmp_path / "n.ipynb") == ["x-01: E._variant"]
