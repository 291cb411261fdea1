"""`wag reproduce` without the released files: tagged cells are skipped like the tests do, what they make is listed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from wag.cli import main
from wag.report import CellRecord
from wag.run.notebook import RELEASED_FILES_TAG
from wag.run.reproduce import UNRECORDED, SkippedOutput, skip_tagged_cells, skipped_outputs

ROOT = Path(__file__).resolve().parents[1]


def _hide_released_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point both inputs at an empty folder: wag.artifacts.locate then refuses before any download."""
    empty = tmp_path / "no-released-files"
    empty.mkdir()
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(empty))
    monkeypatch.setenv("WAG_NEGLECTED_TAILS", str(empty))


def test_skipped_outputs_come_from_the_record() -> None:
    record = CellRecord("x", cells=["x-02", "x-03"], outputs={"x-03": [{"id": "t1", "paper": "Tab. 1"}]})
    assert skipped_outputs(record, "x-02") == []  # it ran and wrote nothing
    assert skipped_outputs(record, "x-03") == [SkippedOutput("t1", "Tab. 1", "x-03")]
    unknown = [SkippedOutput("unknown outputs of cell x-04", UNRECORDED, "x-04")]
    assert skipped_outputs(record, "x-04") == unknown and skipped_outputs(None, "x-04") == unknown


def test_skip_tagged_cells_replaces_only_tagged_cells() -> None:
    nb = nbformat.v4.new_notebook()
    keep = nbformat.v4.new_code_cell("x = 1", id="t-01")
    tagged = nbformat.v4.new_code_cell(
        'raise RuntimeError\nreport.table(df, "t1", paper="Tab. 1", claim="c")', id="t-02"
    )
    tagged.metadata["tags"] = [RELEASED_FILES_TAG]
    nb.cells = [keep, tagged]
    record = CellRecord("t", cells=["t-01", "t-02"], outputs={"t-02": [{"id": "t1", "paper": "Tab. 1"}]})
    out, skipped, made = skip_tagged_cells(nb, "files not found", record=record)
    assert skipped == ["t-02"] and [(o.id, o.paper, o.cell) for o in made] == [("t1", "Tab. 1", "t-02")]
    assert (
        out.cells[0].source == "x = 1"
        and out.cells[1].id == "t-02"
        and RELEASED_FILES_TAG in out.cells[1].metadata.tags
    )
    assert "RuntimeError" not in out.cells[1].source
    assert "report.missing('t1', paper='Tab. 1', reason='files not found')" in out.cells[1].source
    assert "RuntimeError" in nb.cells[1].source  # the source notebook is untouched


def _notebook(*cells: tuple[str, bool]) -> nbformat.NotebookNode:
    """A notebook with readable cell ids ``x-NN`` (the claim is x-00, the parameters x-01)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "ci"\nout_dir = None\noverrides = {}', id="x-01")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test", id="x-00"), params]
    for i, (source, released) in enumerate(cells, start=2):
        cell = nbformat.v4.new_code_cell(source, id=f"x-{i:02d}")
        if released:
            cell.metadata["tags"] = [RELEASED_FILES_TAG]
        nb.cells.append(cell)
    return nb


SETUP = (
    "import pandas as pd\nfrom wag.run.notebook import setup\nP, report = setup(profile, '{name}', out_dir, overrides)"
)
PAPER_CELL = (
    "from wag.artifacts import paper_root\nroot = paper_root(P)\n"
    "report.table(pd.DataFrame({'a': [1]}), 'table7', paper='Tab. 7', claim='needs the released files')"
)
OWN_CELL = "report.table(pd.DataFrame({'b': [2]}), 'own', paper='§9', claim='runs anywhere')"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "params").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "wag"\n')
    (root / "params" / "ci.yaml").write_text("name: ci\nfigures_dir: figures\ndownload: false\n")
    nbdir = root / "notebooks"
    nbdir.mkdir()
    nbformat.write(
        _notebook((SETUP.format(name="x_mixed"), False), (PAPER_CELL, True), (OWN_CELL, False)), nbdir / "x_mixed.ipynb"
    )
    nbformat.write(
        _notebook((SETUP.format(name="y_broken"), False), (PAPER_CELL, True), ("1 / 0", False)),
        nbdir / "y_broken.ipynb",
    )
    monkeypatch.setenv("WAG_ROOT", str(root))
    _hide_released_files(monkeypatch, tmp_path)
    return root


def test_reproduce_skips_released_file_cells_and_lists_what_they_make(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nbdir = project / "notebooks"
    # 1. a run where the cell could run: the committed record (figures/, the profile's figures_dir) names its cell
    made_here = PAPER_CELL.replace("from wag.artifacts import paper_root\nroot = paper_root(P)\n", "")
    nbformat.write(
        _notebook((SETUP.format(name="x_mixed"), False), (made_here, False), (OWN_CELL, False)), nbdir / "x_mixed.ipynb"
    )
    assert main(["reproduce", "--profile", "ci", "--only", "x_mixed"]) == 0
    index = json.loads((project / "figures" / "x_mixed" / "index.json").read_text())
    assert {e["id"]: e["cell"] for e in index["entries"]} == {"table7": "x-03", "own": "x-04"}
    assert index["cells"] == ["x-02", "x-03", "x-04"]  # papermill (wag's engine) sent each cell's id
    assert "| `notebooks/x_mixed.ipynb` | `x-03` | ci |" in (project / "figures" / "README.md").read_text()

    # 2. the cell now needs the released files (absent) and a new tagged cell no record knows: run into --out
    nbformat.write(
        _notebook((SETUP.format(name="x_mixed"), False), (PAPER_CELL, True), (OWN_CELL, False), ("x = 1", True)),
        nbdir / "x_mixed.ipynb",
    )
    capsys.readouterr()
    out = project / "elsewhere"
    for run in range(2):  # the second run reads the record the first wrote into --out
        assert main(["reproduce", "--profile", "ci", "--only", "x_mixed", "--out", str(out)]) == 0  # nothing failed
        printed = capsys.readouterr().out
        assert "not produced (2; their cells were skipped): " in printed, run
        assert "x_mixed: table7 (Tab. 7), cell x-03" in printed, run
        assert "x_mixed: unknown outputs of cell x-05 (not recorded), cell x-05" in printed, run
    assert (out / "x_mixed" / "own.csv").is_file()  # the rest of the notebook ran
    assert not (out / "x_mixed" / "table7.csv").exists()
    manifest = json.loads((out / "notebooks" / "manifest.json").read_text())
    assert (
        manifest["released_files"]["available"] is False
        and "no `search_counts` inside" in manifest["released_files"]["reason"]
    )
    [run] = manifest["notebooks"]
    assert run["status"] == "ok" and run["skipped_cells"] == ["x-03", "x-05"]
    assert [(n["notebook"], n["id"], n["paper"], n["cell"]) for n in manifest["not_produced"]] == [
        ("x_mixed", "table7", "Tab. 7", "x-03"),
        ("x_mixed", "unknown outputs of cell x-05", UNRECORDED, "x-05"),
    ]
    readme = (out / "README.md").read_text()
    assert "## Not reproduced (inputs missing)" in readme and "| x_mixed/table7 | Tab. 7 |" in readme
    assert "| `notebooks/x_mixed.ipynb` | `x-03` |" in readme
    executed = nbformat.read(out / "notebooks" / "x_mixed.ipynb", as_version=4)
    assert any("skipped cell" in o.get("text", "") for c in executed.cells for o in c.get("outputs", []))


def test_reproduce_fails_when_a_cell_that_could_run_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--profile", "ci"]) == 1
    err = capsys.readouterr().err
    assert "y_broken.ipynb" in err and "ZeroDivisionError" in err
    status = {
        n["notebook"]: n["status"]
        for n in json.loads((project / "runs" / "ci" / "manifest.json").read_text())["notebooks"]
    }
    assert status == {"x_mixed": "ok", "y_broken": "failed"}


def test_real_notebook_on_ci_without_released_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project notebook whose every analysis cell reads the released files: it runs, and its figure is named as
    skipped from the committed record (``figures/A_prompting/index.json``: the cell that made it)."""
    _hide_released_files(monkeypatch, tmp_path)
    out = tmp_path / "out"
    assert main(["reproduce", "--profile", "ci", "--only", "A_prompting", "--out", str(out)]) == 0
    assert "A_prompting: fig8 (Fig. 8), cell A-prompting-04" in capsys.readouterr().out
    manifest = json.loads((out / "notebooks" / "manifest.json").read_text())
    assert [(n["id"], n["paper"]) for n in manifest["not_produced"]] == [("fig8", "Fig. 8")]
    assert "| A_prompting/fig8 | Fig. 8 |" in (out / "README.md").read_text()
