"""`wag evaluate ...`: thin CLI over wag.evaluate, resumable, with one clear error for bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from wag.evaluate.tiny import TINY_ARCH, make_image_folder, save_tiny_checkpoint


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))


def _main(argv):
    from wag.cli import main

    return main(argv)


def test_zeroshot_cli_writes_tables_and_paper_json_and_resumes(tmp_path, capsys):
    ckpt = save_tiny_checkpoint(tmp_path / "m" / "tiny.safetensors")
    folder = make_image_folder(tmp_path / "toy", ["cat", "dog"], 3)
    model = f"{TINY_ARCH}@{ckpt}"
    argv = [
        "evaluate",
        "zeroshot",
        "--model",
        model,
        "--dataset",
        str(folder),
        "--prompt",
        "class",
        "simple",
        "--out",
        str(tmp_path / "out"),
    ]
    assert _main(argv) == 0
    tables = sorted((tmp_path / "out" / "zeroshot").rglob("*.parquet"))
    assert len(tables) == 2
    df = pd.read_parquet(tables[0])
    assert set(df["concept"]) == {"cat", "dog"} and df["value"].between(0, 1).all()
    js = json.loads((tmp_path / "out" / "zero_shot_evaluations" / "toy_class_results.json").read_text())
    assert list(js) == [f"backbone{TINY_ARCH}_pretrainedtiny"] and set(js[list(js)[0]]["classwise"]) == {"cat", "dog"}
    capsys.readouterr()
    assert _main(argv) == 0
    assert "2 of 2 results already" in capsys.readouterr().out


def test_unknown_model_and_dataset_are_one_line_errors(tmp_path, capsys):
    assert _main(["evaluate", "zeroshot", "--model", "nope/nope", "--dataset", "cifar10", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'nope/nope'" in err and "ViT-B-16/laion400m" in err and "Traceback" not in err
    ckpt = save_tiny_checkpoint(tmp_path / "m" / "tiny.safetensors")
    assert (
        _main(
            [
                "evaluate",
                "zeroshot",
                "--model",
                f"{TINY_ARCH}@{ckpt}",
                "--dataset",
                "no-such-set",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "unknown dataset 'no-such-set'" in capsys.readouterr().err


def test_retrieval_cli(tmp_path, capsys):
    from PIL import Image

    ckpt = save_tiny_checkpoint(tmp_path / "m" / "tiny.safetensors")
    (tmp_path / "im").mkdir()
    ann = []
    for i in range(3):
        Image.new("RGB", (32, 32), (80 * i, 0, 0)).save(tmp_path / "im" / f"{i}.png")
        ann.append({"image": f"{i}.png", "caption": [f"a red dog {i}", "a dog", "the dog", "dog here", "one dog"]})
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    (tmp_path / "concepts.txt").write_text("dog\ncat\n")
    code = _main(
        [
            "evaluate",
            "retrieval",
            "--model",
            f"{TINY_ARCH}@{ckpt}",
            "--dataset",
            "toy",
            "--annotations",
            str(tmp_path / "ann.json"),
            "--images",
            str(tmp_path / "im"),
            "--concepts",
            str(tmp_path / "concepts.txt"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    js = json.loads((tmp_path / "out" / "retrieval_evaluations" / "toy_t2i_k=1_results.json").read_text())
    entry = js[f"backbone{TINY_ARCH}_pretrainedtiny"]
    assert set(entry) == {"full", "conceptwise"}
    # every image holds "dog" but only 3 < min_images=10 images: the paper's filter drops it
    assert entry["conceptwise"] == {}


def test_models_listing(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("WAG_CHECKPOINTS", raising=False)
    assert _main(["evaluate", "models", "--set", "main"]) == 0
    out = capsys.readouterr().out
    assert "ViT-L-14/laion400m" in out and "slip (not loadable)" in out and "of 10 models have weights" in out


def test_zeroshot_cli_descriptions_are_a_declared_input_checked_at_the_door(tmp_path, capsys):
    ckpt = save_tiny_checkpoint(tmp_path / "m" / "tiny.safetensors")
    folder = make_image_folder(tmp_path / "toy", ["cat", "dog"], 2)
    base = ["evaluate", "zeroshot", "--model", f"{TINY_ARCH}@{ckpt}", "--dataset", str(folder), "--prompt"]
    out = tmp_path / "out"
    assert _main([*base, "descriptions", "--out", str(out)]) == 2
    assert "needs descriptions: pass --descriptions FILE" in capsys.readouterr().err
    desc = tmp_path / "desc.json"
    desc.write_text(json.dumps({"cat": ["a small feline"]}))
    assert _main([*base, "descriptions", "--descriptions", str(desc), "--out", str(out)]) == 2
    assert "no descriptions for 1 of the 2 classes of 'toy'" in capsys.readouterr().err
    assert not (out / "zeroshot").exists()  # refused before any model ran
    desc.write_text(json.dumps({"cat": ["a small feline"], "dog": ["a loyal canine", "a pet that barks"]}))
    assert _main([*base, "descriptions", "class", "--descriptions", str(desc), "--out", str(out)]) == 0
    (table,) = [p for p in (out / "zeroshot").rglob("*.parquet") if p.parent.name == "descriptions"]
    df = pd.read_parquet(table)
    assert set(df["concept"]) == {"cat", "dog"} and set(df["prompt"]) == {"descriptions"}
