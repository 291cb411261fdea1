"""Every error wag raises for bad input is a WagError (one line at the error boundary, exit 2).

Two checks: every exception class defined under ``wag`` derives from ``WagError`` unless it is listed below as
internal with a reason; and the data, engine and analysis packages raise no bare built-in exception (``ValueError``,
``KeyError``, ...) outside the listed internal invariants.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import wag
from wag.core.errors import WagError

ROOT = Path(wag.__file__).resolve().parent

#: Exception classes under wag that are not for user input: "module.Class" -> why.
INTERNAL: dict[str, str] = {}

#: Packages whose user-facing errors are all WagErrors; built-in exceptions raised there must be listed here.
CHECKED_PACKAGES = (
    "core",
    "concepts",
    "corpus",
    "artifacts",
    "frequency",
    "evaluate",
    "study",
    "synthetic",
    "analysis",
    "experiments",
    "sources",
    "report",
    "run",
    "cli",
)
BUILTIN = {
    "Exception",
    "ValueError",
    "KeyError",
    "LookupError",
    "IndexError",
    "TypeError",
    "RuntimeError",
    "OSError",
    "FileNotFoundError",
    "AssertionError",
}
#: (file relative to wag/, exception) -> why a built-in exception is right there.
BUILTIN_ALLOWED: dict[tuple[str, str], str] = {
    ("concepts/lexicon.py", "RuntimeError"): "internal invariant: the layout of lemminflect's lexicon file",
    ("study/run.py", "RuntimeError"): "internal invariant: a stage wrote an output it does not declare (a bug in wag)",
    ("experiments/experiment.py", "TypeError"): "programming error: an experiment without a cached table asked for it",
    ("experiments/t2i.py", "RuntimeError"): "internal invariant: the t2i stage judged every concept of the world",
    ("experiments/world_counts.py", "RuntimeError"): "internal invariant: integrated hits equal text and image hits",
}


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class (warnings aside) defined in a module of ``wag``, by ``module.qualname``."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(wag.__path__, "wag."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and not issubclass(obj, Warning)
                and obj.__module__ == module.__name__
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_exception_class_of_wag_is_a_wag_error():
    classes = _exception_classes()
    assert {
        "wag.concepts.errors.ConceptError",
        "wag.corpus.shards.CorpusError",
        "wag.artifacts.errors.ArtifactsRequestError",
        "wag.evaluate.descriptions.DescriptionsError",
        "wag.analysis.errors.AnalysisError",
    } <= set(classes)  # the walk reaches every package
    not_wag = {name for name, cls in classes.items() if not issubclass(cls, WagError)}
    unexplained = not_wag - set(INTERNAL)
    assert not unexplained, f"exception classes for user input must derive from WagError: {sorted(unexplained)}"


def _in_validators(tree: ast.AST) -> set[int]:
    """Line numbers of the raises inside pydantic validators (``@field_validator`` / ``@model_validator``): pydantic
    turns their ValueError into a ValidationError, which ``load_profile`` reports as one WagError line."""
    lines = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and any(
            "validator" in ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in fn.decorator_list
        ):
            lines |= {n.lineno for n in ast.walk(fn) if isinstance(n, ast.Raise)}
    return lines


def _builtin_raises(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    validators = _in_validators(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None and node.lineno not in validators:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in BUILTIN:
                out.append((node.lineno, exc.id))
    return sorted(out)


def test_data_engine_and_analysis_packages_raise_no_bare_builtin_errors():
    bad = []
    for pkg in CHECKED_PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            bad += [
                f"{rel}:{line} raises {name}"
                for line, name in _builtin_raises(path)
                if (rel, name) not in BUILTIN_ALLOWED
            ]
    assert not bad, (
        "raise a WagError subclass (problem and fix in one line), or list it in BUILTIN_ALLOWED: " + "; ".join(bad)
    )


def test_the_raise_scan_sees_builtin_raises(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f(x):\n    if x:\n        raise ValueError('bad')\n    raise KeyError\n")
    assert _builtin_raises(f) == [(3, "ValueError"), (4, "KeyError")]
