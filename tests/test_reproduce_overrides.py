"""`wag reproduce --set`, plain `papermill -y '{"overrides": ...}'` and an equivalent profile file give the same tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wag.cli import main
from wag.run.notebook import released_files_missing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "A_prompting"  # the fastest notebook with tables; it reads the released files
OVERRIDES = {"analysis.n_boot": 25, "analysis.prompts": ["simple"]}


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.name: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}


def test_set_papermill_and_profile_file_agree(tmp_path: Path) -> None:
    reason = released_files_missing()
    if reason is not None:
        pytest.skip(f"{NOTEBOOK} reads the released files: {reason}")
    via_set, via_pm, via_file = tmp_path / "set", tmp_path / "papermill", tmp_path / "file"

    args = [a for k, v in OVERRIDES.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    assert main(["reproduce", "--profile", "ci", "--only", NOTEBOOK, "--out", str(via_set), *args]) == 0
    manifest = json.loads((via_set / "notebooks" / "manifest.json").read_text())
    assert manifest["overrides"] == OVERRIDES and manifest["profile"]["analysis"]["n_boot"] == 25

    # the README's plain papermill command
    subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb"),
            str(tmp_path / "out.ipynb"),
            "-k",
            "wag",
            "--cwd",
            str(ROOT / "notebooks"),
            "-p",
            "profile",
            "ci",
            "-p",
            "out_dir",
            str(via_pm),
            "-y",
            json.dumps({"overrides": OVERRIDES}),
        ],
        check=True,
        capture_output=True,
    )

    profile = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    profile["analysis"].update(n_boot=25, prompts=["simple"])
    path = tmp_path / "ci.yaml"  # same name as the original, so every recorded field matches
    path.write_text(yaml.safe_dump(profile))
    assert main(["reproduce", "--profile", str(path), "--only", NOTEBOOK, "--out", str(via_file)]) == 0

    tables = {name: _tables(d / NOTEBOOK) for name, d in (("set", via_set), ("papermill", via_pm), ("file", via_file))}
    assert set(tables["set"]) >= {"fig8_data.csv", "fig8_fits.csv"}
    for other in ("papermill", "file"):
        assert set(tables[other]) == set(tables["set"])
        for name, df in tables["set"].items():
            pd.testing.assert_frame_equal(tables[other][name], df, obj=f"{other}: {name}")
    # the overrides took effect: only the overridden prompt was plotted (ci alone plots simple and ensemble)
    assert set(tables["set"]["fig8_data.csv"]["prompt_or_metric"]) == {"simple"}
