"""Issue 10's quality bar: a study built the way a user would, run with `wag study run`, then notebooks 3 and 6
executed on it by `wag reproduce` with nothing but the profile YAML (zero lines of Python outside it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

PROFILE = """\
description: a user's study (test)
analysis: {{n_boot: 50}}
study:
  name: mine
  root: {root}
  output: study
  corpus: {{name: my-web, shards: ["corpus/*.tar"]}}
  concepts:
    - {{dataset: pets, file: concepts.txt}}
  tagger: {{kind: openclip, model: tiny, name: tiny, thresholds: [0.7]}}
  models:
    - {{name: tiny, model: "wag-tiny-vit@models/tiny.safetensors"}}
  datasets:
    - {{name: pets, kind: imagefolder, path: testset}}
  stages:
    evaluate: {{min_images: 1, cache_features: false, batch_size: 64}}
    letitwag: {{images: pool, k: 6, images_per_class: 4}}
"""


def _wag(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WAG_ROOT": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    out = subprocess.run(
        [sys.executable, "-m", "wag.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, f"wag {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user-study")
    _wag(
        "study", "example", "--out", str(tmp / "data")
    )  # shards with captions and images, an image folder, a pool, a checkpoint
    profile = tmp / "mine.yaml"
    profile.write_text(PROFILE.format(root=tmp / "data"), encoding="utf-8")
    _wag("study", "run", "--profile", str(profile))
    figs = tmp / "figs"
    out = _wag(
        "reproduce",
        "--profile",
        str(profile),
        "--only",
        "3_frequency_vs_performance",
        "6_let_it_wag",
        "--out",
        str(figs),
    )
    return figs, out


def test_notebook3_names_the_study_count_types_and_model(study_run):
    figs, _ = study_run
    fits = pd.read_csv(figs / "3_frequency_vs_performance" / "fig2_fits.csv")
    assert set(fits["count_type"]) == {"phrase", "tagger:tiny@0.7", "integrated:tiny@0.7"}
    assert (
        set(fits["model"]) == {"tiny"}
        and set(fits["pretraining"]) == {"my-web"}
        and set(fits["task"]) == {"classification"}
    )
    pts = pd.read_csv(figs / "3_frequency_vs_performance" / "fig2_data.csv")
    assert pts["examples"].str.contains(r"\(pets, ").any()  # the study's dataset name reaches the tooltips
    assert not pts["count_type"].str.contains("rampp|lemmatized").any()
    t6 = pd.read_csv(figs / "3_frequency_vs_performance" / "table6.csv")
    assert set(t6["count_type"]) == set(fits["count_type"])


def test_notebook3_says_the_study_has_no_retrieval_set(study_run):
    figs, _ = study_run
    nb = json.loads((figs / "notebooks" / "3_frequency_vs_performance.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "retrieval skipped: study 'mine' has no retrieval results" in text


def test_notebook6_uses_the_study_benchmark_not_imagenet(study_run):
    figs, _ = study_run
    pts = pd.read_csv(figs / "6_let_it_wag" / "fig6_data.csv")
    assert (
        pts["model"].tolist() == ["tiny"]
        and pts["reference_datasets"].tolist() == ["pets"]
        and pts["n_classes"].tolist() == [6]
    )
    assert "imagenet_accuracy" not in pts.columns
    assert ((pts["let_it_wag_accuracy"] >= 0) & (pts["let_it_wag_accuracy"] <= 100)).all()
