"""`wag reproduce` on a throw-away project: outputs, manifest, failure reporting, --out, notebook hygiene."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from wag.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _notebook(body: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "ci"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, nbformat.v4.new_code_cell(body)]
    return nb


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "wag"\n')
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "ci.yaml").write_text("name: ci\nfigures_dir: figs\n")
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    ok = (
        "import pandas as pd\nfrom wag.run.notebook import setup\n"
        "P, report = setup(profile, 'x_ok', out_dir)\n"
        "report.table(pd.DataFrame({'a': [1, 2]}), 'table1', paper='Tab. 1', claim='a table')\n"
    )
    nbformat.write(_notebook(ok), nbdir / "x_ok.ipynb")
    nbformat.write(_notebook("raise ValueError('boom in cell')"), nbdir / "y_bad.ipynb")
    monkeypatch.setenv("WAG_ROOT", str(tmp_path))
    return tmp_path


def test_reproduce_runs_writes_manifest_and_reports_failure(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["reproduce", "--profile", "ci"])
    assert code == 1
    err = capsys.readouterr().err
    assert "y_bad.ipynb" in err and "ValueError: boom in cell" in err
    assert (project / "figs" / "x_ok" / "table1.csv").is_file()
    assert "Tab. 1" in (project / "figs" / "README.md").read_text()
    manifest = json.loads((project / "runs" / "ci" / "manifest.json").read_text())
    status = {n["notebook"]: n["status"] for n in manifest["notebooks"]}
    assert status == {"x_ok": "ok", "y_bad": "failed"}
    assert manifest["profile"]["name"] == "ci" and manifest["environment"]["packages"]["pandas"]
    assert (project / "runs" / "ci" / "x_ok.ipynb").is_file()


def test_reproduce_only_and_out(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert main(["reproduce", "--profile", "ci", "--only", "x_ok", "--out", str(out)]) == 0
    assert (out / "x_ok" / "table1.md").is_file()
    assert (out / "notebooks" / "x_ok.ipynb").is_file() and (out / "notebooks" / "manifest.json").is_file()
    assert not (project / "figs").exists()


def test_reproduce_unknown_notebook_and_profile(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--profile", "ci", "--only", "nope"]) == 2
    assert "unknown notebook(s) nope" in capsys.readouterr().err
    assert main(["reproduce", "--profile", "nosuch"]) == 2
    assert "available profiles: ci" in capsys.readouterr().err


def test_project_notebooks_are_clean_and_parametrised() -> None:
    nbs = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in nbs:
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
        assert 'profile = "ci"' in tagged[0].source, f"{path.name}: parameter default must be the ci profile"
        assert nb.cells[0].cell_type == "markdown", f"{path.name}: first cell must state the claim"
        for c in nb.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{path.name}: committed with outputs"


def test_reproduce_jobs_run_in_parallel_in_selection_order(project: Path) -> None:
    """Two notebooks that each wait for the other's file can only finish when they run at once; the manifest keeps
    the order of the selection, and ``--jobs 1`` gives the same outcomes."""
    nbdir = project / "notebooks"
    for me, other in (("a_ping", "b_pong"), ("b_pong", "a_ping")):
        body = (
            "import pathlib, time\n"
            f"pathlib.Path({str(project)!r}, {me!r}).touch()\n"
            "t0 = time.time()\n"
            f"while not pathlib.Path({str(project)!r}, {other!r}).exists():\n"
            "    assert time.time() - t0 < 120, 'the other notebook did not run at the same time'\n"
            "    time.sleep(0.1)\n"
        )
        nbformat.write(_notebook(body), nbdir / f"{me}.ipynb")
    assert main(["reproduce", "--profile", "ci", "--only", "b_pong", "a_ping", "x_ok", "--jobs", "2"]) == 0
    manifest = json.loads((project / "runs" / "ci" / "manifest.json").read_text())
    assert [n["notebook"] for n in manifest["notebooks"]] == ["b_pong", "a_ping", "x_ok"]
    assert manifest["jobs"] == 2
    assert main(["reproduce", "--profile", "ci", "--only", "x_ok", "y_bad", "--jobs", "1"]) == 1
    manifest = json.loads((project / "runs" / "ci" / "manifest.json").read_text())
    assert {n["notebook"]: n["status"] for n in manifest["notebooks"]} == {"x_ok": "ok", "y_bad": "failed"}
    assert manifest["jobs"] == 1


def test_reproduce_jobs_must_be_positive(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--profile", "ci", "--jobs", "0"]) == 2
    assert "--jobs must be at least 1, got 0" in capsys.readouterr().err
    assert not (project / "runs").exists()  # checked before any work


def test_schedule_starts_the_longest_first() -> None:
    from wag.run.reproduce import schedule, shares_world

    world = _notebook("import wag.experiments as E\nE.prepare(P.synthetic, ['headline'])")
    big_world = _notebook("import wag.experiments as E\nE.prepare(P.synthetic, ['headline'])\nE.run_headline(sp)")
    other = _notebook("from wag.analysis import fits\n" * 20)
    assert shares_world(world) and shares_world(_notebook("from wag.experiments import figures as F"))
    assert not shares_world(other) and not shares_world(_notebook("import wag.experimental_thing"))
    names = ["2_w", "3_o", "4-1_w", "4-2_w", "5_o"]
    sources = {"2_w": world, "3_o": other, "4-1_w": world, "4-2_w": big_world, "5_o": other}
    # unknown durations: the synthetic-world notebooks first (they train), each group by code size, ties in order
    assert schedule(names, sources, {}) == ["4-2_w", "2_w", "4-1_w", "3_o", "5_o"]
    # known durations (the previous run's manifest): longest first, ties in selection order
    secs = {"2_w": 10, "3_o": 50, "4-1_w": 10, "4-2_w": 20, "5_o": 50}
    assert schedule(names, sources, secs) == ["3_o", "5_o", "4-2_w", "2_w", "4-1_w"]
    assert schedule(names, sources, {"3_o": 50}) == schedule(names, sources, {})  # partly known: as unknown
