"""The conventions every committed notebook follows, as a checker returning the problems it finds.

The notebooks in ``notebooks/`` are the only source (edited in JupyterLab, committed without outputs);
``tests/test_notebook_conventions.py`` runs :func:`check_notebook` over each of them. From a shell::

    python -m wag.run.conventions notebooks/*.ipynb             # list problems, exit 1 if any
    python -m wag.run.conventions --fix-ids notebooks/X.ipynb   # give random cell ids readable ones

Rules (``docs/CONVENTIONS.md`` explains them):

1. nbformat 4.5+ and kernel ``wag``;
2. cell 1 is markdown: a ``#`` title and a bold **Claim** (or **Question**) paragraph saying what it reproduces;
3. cell 2 is the only cell tagged ``parameters`` and assigns ``profile = "ci"``, ``out_dir = None``, ``overrides = {}``;
4. cell 3 calls ``setup(profile, "<section>", out_dir, overrides)``;
5. no outputs and no execution counts;
6. every cell has an id that is unique in the notebook, readable and stable: letters, digits and single
   dashes (``<section-slug>-NN``, e.g. ``insights-04``), not the random 8-hex or UUID id an editor assigns;
7. no cell tests which kind of source it holds (``src.kind``, ``isinstance(src, StudySource)``): it asks the
   source (``wag.sources.Source``) instead.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

from wag.core.io import write_text
from wag.core.paths import project_root

KERNEL = "wag"
PARAMETERS_TAG = "parameters"
PARAMETER_DEFAULTS: dict[str, Any] = {"profile": "ci", "out_dir": None, "overrides": {}}
ID_PATTERN = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
RANDOM_ID = re.compile(r"^(?:[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
CLAIM = re.compile(r"\*\*\s*(claims?|question)\b", re.IGNORECASE)
#: Calls that return a source (``wag.sources``): a name bound to one may not have its kind tested.
SOURCE_CONSTRUCTORS = ("open_source", "ReleasedSource", "StudySource")


def _read(nb: nbformat.NotebookNode | str | Path) -> tuple[nbformat.NotebookNode, str]:
    if isinstance(nb, (str, Path)):
        return _load(Path(nb)), Path(nb).name
    return nb, "<notebook>"


def _load(path: Path) -> nbformat.NotebookNode:
    """The notebook as stored (no validation: nbformat's reader would silently replace repeated ids)."""
    from nbformat.v4.rwbase import rejoin_lines

    return rejoin_lines(nbformat.from_dict(json.loads(path.read_text(encoding="utf-8"))))


def _save(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write in nbformat's own layout (indent 1, sorted keys), atomically."""
    from nbformat.v4.nbjson import writes

    write_text(path, writes(nb) + "\n")


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _check_parameters(cell: Any) -> list[str]:
    tree = _parse(cell.source)
    if tree is None:
        return ["cell 2 (parameters) is not valid Python"]
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                values[node.targets[0].id] = ast.unparse(node.value)
    out = []
    for name, default in PARAMETER_DEFAULTS.items():
        if name not in values:
            out.append(f"cell 2 (parameters) must assign `{name} = {default!r}`")
        elif values[name] != default:
            out.append(
                f"cell 2 (parameters): `{name}` defaults to {values[name]!r}; the notebook default must be {default!r} (the ci profile)"
            )
    return out


def _check_setup(cell: Any) -> list[str]:
    tree = _parse(cell.source) if cell.cell_type == "code" else None
    calls = (
        [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "setup"
        ]
        if tree
        else []
    )
    if not calls:
        return [
            'cell 3 must call `setup(profile, "<section>", out_dir, overrides)` (from wag.run.notebook import setup)'
        ]
    passed = {a.id for a in calls[0].args if isinstance(a, ast.Name)} | {
        k.value.id for k in calls[0].keywords if isinstance(k.value, ast.Name)
    }
    missing = [p for p in PARAMETER_DEFAULTS if p not in passed]
    return [f"cell 3: setup(...) must receive the parameters {', '.join(missing)}"] if missing else []


def _callee(node: ast.Call) -> str | None:
    return getattr(node.func, "id", getattr(node.func, "attr", None))


def _check_source_kind(cells: list[Any]) -> list[str]:
    """Cells that test which kind of source a name bound to ``open_source(...)`` holds."""
    trees = [(i, _parse(c.source)) for i, c in enumerate(cells, start=1) if c.cell_type == "code"]
    trees = [(i, t) for i, t in trees if t is not None]
    sources = {
        target.id
        for _, tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and _callee(node.value) in SOURCE_CONSTRUCTORS
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    out = []
    for i, tree in trees:
        for node in ast.walk(tree):
            tested = None
            if isinstance(node, ast.Attribute) and node.attr == "kind" and getattr(node.value, "id", None) in sources:
                tested = f"{node.value.id}.kind"  # type: ignore[attr-defined]
            elif isinstance(node, ast.Call) and _callee(node) == "isinstance" and node.args:
                if getattr(node.args[0], "id", None) in sources:
                    tested = f"isinstance({node.args[0].id}, ...)"  # type: ignore[attr-defined]
            elif isinstance(node, ast.Call) and _callee(node) == "source_kind":
                tested = "source_kind(...)"
            if tested:
                out.append(
                    f"cell {i} tests which source it holds (`{tested}`); ask the source instead "
                    "(src.claim(...), src.count_type(...), src.missing(...): wag.sources.Source; study_source(P) for a study-only section)"
                )
                break
    return out


def check_notebook(nb: nbformat.NotebookNode | str | Path) -> list[str]:
    """Every way the notebook (object or path) breaks the conventions above, one line each; empty if none."""
    nb, name = _read(nb)
    problems: list[str] = []
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        problems.append(f"nbformat {nb.get('nbformat')}.{nb.get('nbformat_minor')}: save as 4.5+ so cells carry ids")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != KERNEL:
        problems.append(f"kernelspec name is {kernel!r}; it must be {KERNEL!r} (Kernel → Change Kernel → Python (wag))")
    cells = nb.get("cells", [])
    if len(cells) < 3:
        return problems + [f"only {len(cells)} cells: need the claim, the parameters and the setup cell"]

    first = cells[0]
    if first.cell_type != "markdown" or not first.source.lstrip().startswith("#") or not CLAIM.search(first.source):
        problems.append(
            "cell 1 must be markdown: a '#' title and a bold **Claim** (or **Question**) paragraph naming what it reproduces"
        )

    tagged = [i for i, c in enumerate(cells) if PARAMETERS_TAG in _tags(c)]
    if len(tagged) != 1:
        problems.append(
            f"exactly one cell must be tagged '{PARAMETERS_TAG}'; found {len(tagged)} (cells {', '.join(str(i + 1) for i in tagged) or 'none'})"
        )
    if cells[1].cell_type != "code" or PARAMETERS_TAG not in _tags(cells[1]):
        problems.append(f"cell 2 must be the code cell tagged '{PARAMETERS_TAG}'")
    else:
        problems += _check_parameters(cells[1])
    problems += _check_setup(cells[2])

    seen: dict[str, int] = {}
    for i, c in enumerate(cells, start=1):
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None):
            problems.append(
                f"cell {i} was committed with outputs or an execution count (install the nbstripout filter: make setup)"
            )
        cid = c.get("id")
        if not cid:
            problems.append(f"cell {i} has no id")
        elif not ID_PATTERN.match(cid) or len(cid) > 64:
            problems.append(f"cell {i}: id {cid!r} must be letters, digits and single dashes (e.g. 'insights-04')")
        elif RANDOM_ID.match(cid):
            problems.append(
                f"cell {i}: id {cid!r} looks random; give it a readable stable id (python -m wag.run.conventions --fix-ids {name})"
            )
        if cid and cid in seen:
            problems.append(f"cell {i}: id {cid!r} repeats cell {seen[cid]}")
        elif cid:
            seen[cid] = i
    problems += _check_source_kind(cells)
    return [f"{name}: {p}" for p in problems]


def id_prefix(cells: list[Any], fallback: str) -> str:
    """The notebook's id prefix: the part before ``-NN`` of its first readable id, else ``fallback``."""
    for c in cells:
        m = re.match(r"^(.+)-\d+$", c.get("id") or "")
        if m and not RANDOM_ID.match(c["id"]) and ID_PATTERN.match(c["id"]):
            return m.group(1)
    return fallback


def fix_ids(path: str | Path) -> list[tuple[str, str]]:
    """Give cells with a missing, random or repeated id the next free ``<prefix>-NN`` id; keep the others. Returns renames."""
    path = Path(path)
    nb = _load(path)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", path.stem.split("_", 1)[-1] if path.stem[:1].isdigit() else path.stem).strip(
        "-"
    )
    prefix = id_prefix(nb.cells, slug)
    keep = [c.get("id") for c in nb.cells if c.get("id") and ID_PATTERN.match(c["id"]) and not RANDOM_ID.match(c["id"])]
    used = set(keep)
    numbers = [int(m.group(1)) for cid in keep if (m := re.match(rf"^{re.escape(prefix)}-(\d+)$", cid))]
    nxt = max(numbers, default=-1) + 1
    renames: list[tuple[str, str]] = []
    seen: set[str] = set()
    for c in nb.cells:
        cid = c.get("id")
        if cid and cid in used and cid not in seen:
            seen.add(cid)
            continue
        while f"{prefix}-{nxt:02d}" in used:
            nxt += 1
        new = f"{prefix}-{nxt:02d}"
        used.add(new)
        seen.add(new)
        renames.append((cid or "", new))
        c["id"] = new
    if renames:
        _save(nb, path)
    return renames


def main(argv: list[str] | None = None) -> int:
    """Check notebooks (default: ``notebooks/*.ipynb``); ``--fix-ids`` first renames random ids."""
    parser = argparse.ArgumentParser(prog="python -m wag.run.conventions", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument(
        "--fix-ids", action="store_true", help="replace missing, random or repeated cell ids by <prefix>-NN"
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((project_root() / "notebooks").glob("*.ipynb"))
    problems = []
    for p in paths:
        if args.fix_ids:
            for old, new in fix_ids(p):
                print(f"{p.name}: cell id {old or '(none)'} → {new}")
        problems += check_notebook(p)
    print("\n".join(problems) or f"{len(paths)} notebooks follow the conventions")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
