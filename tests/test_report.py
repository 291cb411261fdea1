"""Report: figures in three formats plus data, tables in CSV and Markdown, the index, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from wag.core.io import InputFileError, atomic_path, read_json
from wag.report import Report, read_cell_record
from wag.run.profile import load_profile


@pytest.fixture()
def report(tmp_path: Path) -> Report:
    return Report("3_test", load_profile("ci"), out_dir=tmp_path)


def test_figure_writes_all_formats_and_index(report: Report, tmp_path: Path) -> None:
    data = pd.DataFrame({"count": [1, 10, 100], "acc": [0.1, 0.2, 0.3]})
    chart = alt.Chart(data).mark_point().encode(x=alt.X("count", scale=alt.Scale(type="log")), y="acc")
    fits = pd.DataFrame({"slope": [0.1]})
    report.figure(chart, "fig2", paper="Fig. 2", claim="accuracy grows with log count", data=data, fits=fits)
    d = tmp_path / "3_test"
    for name in ["fig2.png", "fig2.svg", "fig2.html", "fig2_data.csv", "fig2_fits.csv"]:
        assert (d / name).stat().st_size > 0, name
    assert (d / "fig2.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (d / "fig2.svg").read_text()
    html = (d / "fig2.html").read_text()
    assert 'src="../_vendor/vega-bundle.js"' in html and '"acc"' in html
    assert "window.vegaEmbed" in (tmp_path / "_vendor" / "vega-bundle.js").read_text()
    pd.testing.assert_frame_equal(pd.read_csv(d / "fig2_data.csv"), data)
    idx = json.loads((d / "index.json").read_text())
    assert idx["entries"][0]["paper"] == "Fig. 2"
    readme = (tmp_path / "README.md").read_text()
    assert "Fig. 2" in readme and "3_test/fig2.png" in readme and "| ci |" in readme
    assert not list(d.glob("*.tmp")) and not list(d.glob(".*"))


def test_table_markdown_names_paper_id(report: Report, tmp_path: Path) -> None:
    df = pd.DataFrame({"pretraining": ["cc3m"], "spearman": [0.123456]})
    report.table(df, "table4", paper="Tab. 4", claim="frequencies correlate across sets")
    md = (tmp_path / "3_test" / "table4.md").read_text()
    assert md.startswith("# table4 — reproduces Tab. 4")
    assert "| pretraining" in md and "0.1235" in md
    assert pd.read_csv(tmp_path / "3_test" / "table4.csv").equals(df)


def test_missing_is_listed_separately(report: Report, tmp_path: Path) -> None:
    report.missing("fig3", paper="Fig. 3", reason="t2i_exp_aesthetics.json is not in the released copy")
    readme = (tmp_path / "README.md").read_text()
    assert "Not reproduced" in readme and "t2i_exp_aesthetics.json" in readme


def test_empty_figure_is_refused(report: Report, tmp_path: Path) -> None:
    chart = alt.Chart(pd.DataFrame({"a": []})).mark_point()
    with pytest.raises(ValueError, match="no plotted points"):
        report.figure(chart, "empty", paper="Fig. 0", claim="-", data=pd.DataFrame({"a": []}))
    assert not (tmp_path / "3_test" / "empty.png").exists()


def test_atomic_path_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_read_json_names_file_on_corruption(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(InputFileError, match="corrupt JSON in .*bad.json"):
        read_json(p)
    with pytest.raises(InputFileError, match="missing file"):
        read_json(tmp_path / "absent.json")


def test_outputs_record_the_cell_that_wrote_them(report: Report, tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1]})
    report.cell_started("t-03")
    report.table(df, "t1", paper="Tab. 1", claim="c")
    report.cell_finished("t-03")
    report.cell_started("t-04")  # ran and wrote nothing
    report.cell_finished("t-04")
    report.cell_started("t-05")  # failed: not recorded as having run
    report.missing("t2", paper="Tab. 2", reason="input absent")
    report.cell_finished("t-05", success=False)
    idx = json.loads((tmp_path / "3_test" / "index.json").read_text())
    assert [(e["id"], e["cell"]) for e in idx["entries"]] == [("t1", "t-03"), ("t2", "t-05")]
    assert idx["cells"] == ["t-03", "t-04"]
    record = read_cell_record(tmp_path, "3_test")
    assert record is not None and record.knows("t-04") and record.outputs_of("t-04") == []
    assert [e["id"] for e in record.outputs_of("t-03")] == ["t1"] and record.knows("t-05")
    assert not record.knows("t-06") and read_cell_record(tmp_path, "other_notebook") is None
    readme = (tmp_path / "README.md").read_text()
    assert "| notebook | cell | profile |" in readme and "| `notebooks/3_test.ipynb` | `t-03` | ci |" in readme
    assert "| 3_test/t2 | Tab. 2 | input absent | `notebooks/3_test.ipynb` | `t-05` |" in readme


def test_outside_a_notebook_the_cell_is_none_and_nothing_is_recorded(report: Report, tmp_path: Path) -> None:
    report.table(pd.DataFrame({"a": [1]}), "t1", paper="Tab. 1", claim="c")
    idx = json.loads((tmp_path / "3_test" / "index.json").read_text())
    assert idx["entries"][0]["cell"] is None and idx["cells"] == []
    assert read_cell_record(tmp_path, "3_test") is None  # no cell ids: a run cannot say what a cell makes
