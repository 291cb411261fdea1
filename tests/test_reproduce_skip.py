"""`wag reproduce` without the released files: tagged cells are skipped like the tests do, what they make is listed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from wag.cli import main
from wag.run.notebook import RELEASED_FILES_TAG
from wag.run.reproduce import outputs_of_cell, skip_tagged_cells

ROOT = Path(__file__).resolve().parents[1]


def _hide_released_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point both inputs at an empty folder: wag.artifacts.locate then refuses before any download."""
    empty = tmp_path / "no-released-files"
    empty.mkdir()
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(empty))
    monkeypatch.setenv("WAG_NEGLECTED_TAILS", str(empty))


def test_outputs_of_cell_reads_literal_looped_and_computed_ids() -> None:
    src = (
        'report.figure(chart, "fig2", paper="Fig. 2", claim="c", data=d)\n'
        'report.table(df, table_id="table6", paper="Tab. 6", claim="c")\n'
        'specs = {"fig18": ("Fig. 18", "image"), "fig19": ("Fig. 19", "text")}\n'
        "for fig_id, (paper, method) in specs.items():\n"
        "    report.figure(c, fig_id, paper=paper, claim=method, data=d)\n"
        "for metric in data:\n"
        '    fid = "fig3" if metric == "a" else f"t2i_{metric}"\n'
        '    report.figure(c, fid, paper="Fig. 3" if metric == "a" else "Figs. 11-15", claim="c", data=d)\n'
        "    report.figure(c, metric.upper(), paper=metric, claim='c', data=d)\n"
        "other.figure(c, 'not_a_report', paper='x')\n"
    )
    got = [(o.id, o.paper) for o in outputs_of_cell(src, "x-03")]
    assert got == [
        ("fig2", "Fig. 2"),
        ("table6", "Tab. 6"),
        ("fig18", "Fig. 18"),
        ("fig19", "Fig. 19"),
        ("fig3", "Fig. 3"),
        ("t2i_{metric}", "Figs. 11-15"),
        ("x-03:metric.upper()", "computed at run time"),
    ]


def test_skip_tagged_cells_replaces_only_tagged_cells() -> None:
    nb = nbformat.v4.new_notebook()
    keep = nbformat.v4.new_code_cell("x = 1", id="t-01")
    tagged = nbformat.v4.new_code_cell(
        'raise RuntimeError\nreport.table(df, "t1", paper="Tab. 1", claim="c")', id="t-02"
    )
    tagged.metadata["tags"] = [RELEASED_FILES_TAG]
    nb.cells = [keep, tagged]
    out, skipped, made = skip_tagged_cells(nb, "files not found")
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
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "ci"\nout_dir = None\noverrides = {}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params]
    for source, released in cells:
        cell = nbformat.v4.new_code_cell(source)
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
    (root / "params" / "ci.yaml").write_text("name: ci\nfigures_dir: figs\ndownload: false\n")
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
    assert main(["reproduce", "--profile", "ci", "--only", "x_mixed"]) == 0  # nothing that could run failed
    out = capsys.readouterr().out
    assert "not produced (1; cells tagged released-files were skipped)" in out and "x_mixed: table7 (Tab. 7)" in out
    assert (project / "figs" / "x_mixed" / "own.csv").is_file()  # the rest of the notebook ran
    assert not (project / "figs" / "x_mixed" / "table7.csv").exists()
    manifest = json.loads((project / "runs" / "ci" / "manifest.json").read_text())
    assert (
        manifest["released_files"]["available"] is False
        and "no `search_counts` inside" in manifest["released_files"]["reason"]
    )
    [run] = manifest["notebooks"]
    assert run["status"] == "ok" and len(run["skipped_cells"]) == 1
    assert [(n["notebook"], n["id"], n["paper"]) for n in manifest["not_produced"]] == [("x_mixed", "table7", "Tab. 7")]
    readme = (project / "figs" / "README.md").read_text()
    assert "## Not reproduced (inputs missing)" in readme and "| x_mixed/table7 | Tab. 7 |" in readme
    executed = nbformat.read(project / "runs" / "ci" / "x_mixed.ipynb", as_version=4)
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
    """A project notebook whose every analysis cell reads the released files: it runs, and its figure is named as skipped."""
    _hide_released_files(monkeypatch, tmp_path)
    out = tmp_path / "out"
    assert main(["reproduce", "--profile", "ci", "--only", "A_prompting", "--out", str(out)]) == 0
    assert "A_prompting: fig8 (Fig. 8), cell A-prompting-04" in capsys.readouterr().out
    manifest = json.loads((out / "notebooks" / "manifest.json").read_text())
    assert [(n["id"], n["paper"]) for n in manifest["not_produced"]] == [("fig8", "Fig. 8")]
    assert "| A_prompting/fig8 | Fig. 8 |" in (out / "README.md").read_text()
