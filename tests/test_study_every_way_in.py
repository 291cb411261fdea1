"""Issue 20 point 1: the example study, run every way a user would, with a profile path relative to where the command
runs: plain papermill (the notebooks whose released-files cells raised TypeError on a study: they now say why and do
nothing) and `wag reproduce` (only the notebooks that analyse the study; notebook 2's generated-data cells skipped;
outputs labelled with the study; the scorecard says the notebooks ran). No error output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import study_profile

from wag.run.profile import load_profile, profile_argument, profile_path
from wag.run.reproduce import select_notebooks, study_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOT_THE_PAPER = "study 'example' is not the paper's released files"


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WAG_ROOT": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _wag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "wag.cli", *args], cwd)


def _no_error_output(text: str) -> None:
    low = text.lower()
    for bad in ("traceback", "error:", "typeerror", "exception"):
        assert bad not in low, f"{bad!r} in the output:\n{text[-3000:]}"


def _outputs(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return "".join(
        "".join(o.get("text", "")) + "".join(o.get("traceback", [])) for c in nb["cells"] for o in c.get("outputs", [])
    )


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """A folder holding the example study's data and ``mine.yaml``, the study run from there by a relative path."""
    tmp = tmp_path_factory.mktemp("every-way-in")
    _wag("study", "example", "--out", str(tmp / "data"), cwd=tmp)
    study_profile(tmp / "data", tmp / "mine.yaml")
    _wag("study", "run", "--profile", "mine.yaml", "--quiet", cwd=tmp)  # relative to the command's folder
    return tmp


def test_a_relative_profile_path_is_read_from_the_current_folder_or_the_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_profile("params/example_study.yaml").name == "example_study"  # not under cwd: the project root's
    assert profile_path("params/example_study.yaml") == (ROOT / "params" / "example_study.yaml").resolve()
    (tmp_path / "my.yaml").write_text("description: mine\n", encoding="utf-8")
    assert load_profile("./my.yaml").name == "my" and profile_argument("./my.yaml") == str(tmp_path / "my.yaml")
    assert profile_argument("ci") == "ci"  # a name stays a name
    with pytest.raises(Exception, match=r"profile file .*nope\.yaml does not exist"):
        load_profile("nope.yaml")


def test_on_a_study_reproduce_selects_the_notebooks_that_analyse_it():
    study = load_profile("example_study")
    picked = select_notebooks(study, None)
    assert picked == study_notebooks()
    assert {"3_frequency_vs_performance", "6_let_it_wag", "2_concepts_and_frequency", "G_misalignment"} <= set(picked)
    assert not {"4-1_similarity_control", "4-2_synthetic", "C_t2i", "agreement"} & set(picked)  # only when asked
    assert select_notebooks(study, ["4-2_synthetic"]) == ["4-2_synthetic"]
    assert "4-2_synthetic" in select_notebooks(load_profile("ci"), None)  # other profiles: every notebook


def test_plain_papermill_runs_notebooks_3_and_6_on_a_relative_study_profile(study_dir: Path):
    for name in ("3_frequency_vs_performance", "6_let_it_wag"):
        out = study_dir / f"pm-{name}.ipynb"
        res = _run(
            [
                sys.executable,
                "-m",
                "papermill",
                str(ROOT / "notebooks" / f"{name}.ipynb"),
                str(out),
                "-k",
                "wag",
                "-p",
                "profile",
                "mine.yaml",  # relative: papermill's kernel runs in this folder
                "-p",
                "out_dir",
                str(study_dir / "pm-figs"),
                "--no-progress-bar",
            ],
            study_dir,
        )
        _no_error_output(res.stderr + _outputs(out))
        text = _outputs(out)
        assert f"scorecard rows skipped: {NOT_THE_PAPER}" in text, name
    index = json.loads((study_dir / "pm-figs" / "3_frequency_vs_performance" / "index.json").read_text())
    claims = {e["id"]: e["claim"] for e in index["entries"]}
    assert "log-linearly" in claims["fig2"] and "Zero-shot performance on study 'example'" in claims["fig2"]
    if "does not grow" not in claims["fig2"]:  # a law claimed only over slopes whose CI is above zero
        assert "CI above zero" in claims["fig2"]
    assert (
        claims["scorecard_rows"] == f"{NOT_THE_PAPER}: the comparisons with the numbers the paper printed do not apply"
    )


def test_wag_reproduce_on_a_relative_study_profile(study_dir: Path):
    res = _wag(
        "reproduce",
        "--profile",
        "mine.yaml",
        "--only",
        "2_concepts_and_frequency",
        "5_insights",
        "--out",
        "figs",
        cwd=study_dir,
    )
    _no_error_output(res.stderr.replace("reproduce [", ""))
    figs = study_dir / "figs"  # --out relative to the command's folder
    assert "notebooks run: 2_concepts_and_frequency, 5_insights" in res.stdout
    assert "generated demonstration data (generated corpus, synthetic world) do not apply" in res.stdout
    nb2 = nbformat.read(figs / "notebooks" / "2_concepts_and_frequency.ipynb", as_version=4)
    assert (
        "Counts per count type on study 'example'" in _outputs(figs / "notebooks" / "2_concepts_and_frequency.ipynb")
        or (figs / "2_concepts_and_frequency" / "study_counts_by_variant.csv").is_file()
    )
    assert not (figs / "2_concepts_and_frequency" / "accuracy_by_variant.csv").exists()  # the generated corpus: skipped
    assert any("skipped cell concepts-07" in o.get("text", "") for c in nb2.cells for o in c.get("outputs", []))
    for section in ("2_concepts_and_frequency", "5_insights"):
        index = json.loads((figs / section / "index.json").read_text(encoding="utf-8"))
        assert index["made_from"] == "study 'example' (corpus 'example-web')"
    assert "| mine: study 'example' (corpus 'example-web') |" in (figs / "README.md").read_text(encoding="utf-8")
    card = (figs / "scorecard.md").read_text(encoding="utf-8")
    assert "notebook 5_insights ran without its scorecard cell" in card
    assert "notebook 5_insights did not run" not in card
    assert "notebook 6_let_it_wag did not run" in card  # not asked for: said so
    t3 = json.loads((figs / "5_insights" / "index.json").read_text(encoding="utf-8"))
    [claim] = [e["claim"] for e in t3["entries"] if e["id"] == "table3"]
    assert (
        claim.startswith("Image-text pairs whose image tags and caption share no concept") and "(example-web)" in claim
    )
