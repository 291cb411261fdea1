"""The committed notebooks follow the conventions (wag.run.conventions), and the checker catches each break."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from wag.run.conventions import check_notebook, fix_ids

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_follows_conventions(path: Path) -> None:
    assert check_notebook(path) == []


def test_there_are_notebooks_and_no_generators() -> None:
    assert len(NOTEBOOKS) >= 10
    generators = [
        p.name
        for p in (ROOT / "scripts").glob("*.py")
        if "notebook" in p.read_text(encoding="utf-8").lower() and "nbformat" in p.read_text(encoding="utf-8")
    ]
    assert generators == [], f"notebooks are the source; scripts writing notebooks came back: {generators}"


def _good() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
    claim = nbformat.v4.new_markdown_cell("# §9 Test\n\n**Claim tested.** Reproduces Fig. 9.", id="test-00")
    params = nbformat.v4.new_code_cell('profile = "ci"\nout_dir = None\noverrides = {}', id="test-01")
    params.metadata["tags"] = ["parameters"]
    setup = nbformat.v4.new_code_cell(
        'from wag.run.notebook import setup\n\nP, report = setup(profile, "9_test", out_dir, overrides)', id="test-02"
    )
    body = nbformat.v4.new_code_cell("x = 1", id="test-03")
    nb.cells = [claim, params, setup, body]
    return nb


def _broken(change) -> nbformat.NotebookNode:
    nb = copy.deepcopy(_good())
    change(nb)
    return nb


def _with_output(nb):
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]


def _with_count(nb):
    nb.cells[3].execution_count = 4


def _two_parameter_cells(nb):
    nb.cells[3].metadata["tags"] = ["parameters"]


def _no_setup(nb):
    nb.cells[2].source = "import wag"


def _setup_without_overrides(nb):
    nb.cells[2].source = 'from wag.run.notebook import setup\nP, report = setup(profile, "9_test", out_dir)'


def _no_overrides_param(nb):
    nb.cells[1].source = 'profile = "ci"\nout_dir = None'


def _default_profile_param(nb):
    nb.cells[1].source = 'profile = "default"\nout_dir = None\noverrides = {}'


def _no_claim(nb):
    nb.cells[0] = nbformat.v4.new_code_cell("print('hi')", id="test-00")


def _claim_without_claim(nb):
    nb.cells[0].source = "# Notes"


def _kernel(nb):
    nb.metadata["kernelspec"]["name"] = "python3"


def _random_id(nb):
    nb.cells[3]["id"] = "3e3ba6ee"


def _uuid_id(nb):
    nb.cells[3]["id"] = "0b7c8f0e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"


def _duplicate_id(nb):
    nb.cells[3]["id"] = "test-01"


def _missing_id(nb):
    del nb.cells[3]["id"]


def _old_nbformat(nb):
    nb.nbformat_minor = 4


def _tests_source_kind(nb):
    nb.cells[3].source = "from wag.sources import open_source\n\nsrc = open_source(P)"
    nb.cells.append(
        nbformat.v4.new_code_cell('label = "integrated counts" if src.kind == "released" else "counts"', id="test-04")
    )


def _isinstance_source(nb):
    nb.cells[3].source = "s = wag.sources.open_source(P)\nif isinstance(s, StudySource):\n    print(s.name)"


def _source_kind_call(nb):
    nb.cells[3].source = "from wag.sources import source_kind\nif source_kind(P) != 'study':\n    print('no study')"


@pytest.mark.parametrize(
    "change,expected",
    [
        (_with_output, "cell 4 was committed with outputs"),
        (_with_count, "cell 4 was committed with outputs or an execution count"),
        (_two_parameter_cells, "exactly one cell must be tagged 'parameters'; found 2"),
        (_no_setup, "cell 3 must call `setup("),
        (_setup_without_overrides, "setup(...) must receive the parameters overrides"),
        (_no_overrides_param, "must assign `overrides = {}`"),
        (_default_profile_param, "`profile` defaults to 'default'"),
        (_no_claim, "cell 1 must be markdown"),
        (_claim_without_claim, "cell 1 must be markdown"),
        (_kernel, "kernelspec name is 'python3'"),
        (_random_id, "id '3e3ba6ee' looks random"),
        (_uuid_id, "looks random"),
        (_duplicate_id, "id 'test-01' repeats cell 2"),
        (_missing_id, "cell 4 has no id"),
        (_old_nbformat, "save as 4.5+"),
        (_tests_source_kind, "cell 5 tests which source it holds (`src.kind`)"),
        (_isinstance_source, "cell 4 tests which source it holds (`isinstance(s, ...)`)"),
        (_source_kind_call, "cell 4 tests which source it holds (`source_kind(...)`)"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] if callable(v) else "",
)
def test_checker_catches_each_broken_convention(change, expected: str) -> None:
    assert check_notebook(_good()) == []
    problems = check_notebook(_broken(change))
    assert any(expected in p for p in problems), problems


def test_kind_of_other_objects_is_not_a_source_test() -> None:
    nb = _good()
    nb.cells[3].source = "src = open_source(P)\nprint(src.spec.tagger.kind, P.study.tagger.kind)\nkind = 'x'"
    assert check_notebook(nb) == []


def test_fix_ids_renames_only_random_ids(tmp_path: Path) -> None:
    nb = _good()
    nb.cells.append(nbformat.v4.new_code_cell("y = 2", id="9f8e7d6c"))
    nb.cells.append(nbformat.v4.new_code_cell("z = 3", id="test-01"))  # a copy-pasted cell repeats an id
    path = tmp_path / "9_test.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")  # raw: nbformat.write would itself replace the repeated id
    assert fix_ids(path) == [("9f8e7d6c", "test-04"), ("test-01", "test-05")]
    fixed = nbformat.read(path, as_version=4)
    assert [c.id for c in fixed.cells] == ["test-00", "test-01", "test-02", "test-03", "test-04", "test-05"]
    assert check_notebook(path) == []
    assert fix_ids(path) == []  # stable: a second run renames nothing


def test_git_filter_strips_outputs_and_keeps_ids_and_tags(tmp_path: Path) -> None:
    """`make git-filter` in a fresh repository: a notebook saved with outputs is staged exactly as committed."""
    import json
    import shutil
    import subprocess
    import sys

    nbstripout = Path(sys.prefix) / "bin" / "nbstripout"
    if shutil.which("git") is None or shutil.which("make") is None or not nbstripout.exists():
        pytest.skip("needs git, make and nbstripout (pip install -r requirements-dev.txt)")
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    for name in ("Makefile", ".gitattributes"):
        shutil.copy(ROOT / name, repo / name)
    clean = ROOT / "notebooks" / "5_insights.ipynb"
    run = lambda *cmd: subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True)  # noqa: E731
    run("git", "init", "-q")
    out = run("make", "--no-print-directory", "git-filter", f"VENV={sys.prefix}").stdout
    assert "filter installed" in out
    nb = json.loads(clean.read_text(encoding="utf-8"))
    nb["metadata"]["papermill"] = {"duration": 1.0}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.2", "mimetype": "text/x-python"}
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            c["execution_count"] = i
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
            c["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    saved = repo / "notebooks" / clean.name
    saved.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    assert check_notebook(saved) != []  # the working copy has outputs ...
    run("git", "add", "notebooks")
    staged = tmp_path / "staged.ipynb"
    staged.write_text(run("git", "show", f":notebooks/{clean.name}").stdout, encoding="utf-8")
    assert check_notebook(staged) == []  # ... the staged one does not, and keeps ids and tags
    assert staged.read_text(encoding="utf-8") == clean.read_text(encoding="utf-8")
