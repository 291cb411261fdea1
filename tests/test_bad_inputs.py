"""The bad-input suite (issue 13): every bad input ends in ONE line naming the problem and the fix (issue 20's
cases, silently wrong numbers, limits and state, are in ``test_bad_inputs_data.py`` and ``test_bad_inputs_state.py``;
the helpers all share are in ``bad_inputs_support.py``).

Each CLI case runs ``wag.cli.main`` in-process and asserts the exit status, that stderr holds exactly one
line (``error: ...``, no traceback), that the line holds the words naming the problem and the fix, and that
nothing was left where the output would have gone. Library and notebook cases assert the same of the
exception message.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import socket
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from bad_inputs_support import Case, count_argv, quiet  # noqa: F401 - quiet: the suite's autouse fixture
from bad_inputs_support import concepts_file as _concepts
from bad_inputs_support import corpus as _corpus
from bad_inputs_support import error_line as _error_line
from bad_inputs_support import mkdir as _mkdir
from bad_inputs_support import write as _write

from wag.cli import main
from wag.core.errors import WagError, WagWarning


def _count(tmp: Path, *extra: str, corpus: Path | None = None, concepts: Path | None = None) -> list[str]:
    return count_argv(tmp, *extra, corpus_path=corpus, concepts=concepts)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny open_clip checkpoint, bad checkpoints and image folders (built once)."""
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    from wag.evaluate.tiny import make_image_folder, save_tiny_checkpoint

    d = tmp_path_factory.mktemp("tiny")
    ckpt = save_tiny_checkpoint(d / "tiny.safetensors")
    from safetensors.torch import load_file

    sd = load_file(str(ckpt))
    (d / "garbage.pt").write_bytes(b"this is not a checkpoint at all\n" * 10)
    (d / "garbage.safetensors").write_bytes(os.urandom(256))
    with (d / "plain.pt").open("wb") as fh:  # a bare pickle: refused before torch.load ever sees it
        pickle.dump({"weights": [1, 2, 3]}, fh)
    torch.save({"state_dict": sd, "args": argparse.Namespace(lr=0.1)}, d / "objects.pt")  # pickled objects
    save_file({"foo.weight": torch.zeros(2, 2)}, str(d / "wrongkeys.safetensors"))
    bad = dict(sd)
    key = "visual.proj" if "visual.proj" in bad else sorted(bad)[0]
    bad[key] = torch.zeros(3, 5)
    save_file({k: v.contiguous() for k, v in bad.items()}, str(d / "wrongshape.safetensors"))
    (d / "renamed.pt").write_bytes(ckpt.read_bytes())  # safetensors bytes under a .pt name
    folder = make_image_folder(d / "images", ["cat", "dog"], 2)
    corrupt = make_image_folder(d / "corrupt", ["cat", "dog"], 2)
    (corrupt / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (d / "noclasses").mkdir()
    Image.new("RGB", (8, 8)).save(d / "noclasses" / "loose.png")
    return {"dir": d, "ckpt": ckpt, "images": folder, "corrupt": corrupt}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _profile(tmp: Path, text: str, name: str = "bad.yaml") -> Path:
    p = tmp / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def _zs(tmp: Path, model: str, dataset: str, *extra: str) -> list[str]:
    return [
        "evaluate",
        "zeroshot",
        "--model",
        model,
        "--dataset",
        dataset,
        "--prompt",
        "class",
        "--out",
        str(tmp / "out"),
        *extra,
    ]


# ------------------------------------------------------------------------------------------------------
# command-line cases: name -> builder(tmp, tiny) -> Case
# ------------------------------------------------------------------------------------------------------

CLI: dict[str, Callable[[Path, dict[str, Path]], Case]] = {
    # --- option values and usage
    "no-command": lambda t, k: Case([], 2, ("required", "--help")),
    "unknown-command": lambda t, k: Case(["frobnicate"], 2, ("invalid choice", "frobnicate", "--help")),
    "unknown-option": lambda t, k: Case(_count(t, "--nope"), 2, ("unrecognized", "--nope", "--help"), t / "out"),
    "count-missing-out": lambda t, k: Case(["count", "--corpus", "x", "--concepts", "y"], 2, ("--out", "required")),
    "count-batch-size-zero": lambda t, k: Case(
        _count(t, "--batch-size", "0"), 2, ("--batch-size", "positive integer", "got 0", "1 or more"), t / "out"
    ),
    "count-batch-size-negative": lambda t, k: Case(
        _count(t, "--batch-size", "-5"), 2, ("--batch-size", "positive integer", "-5"), t / "out"
    ),
    "count-batch-size-text": lambda t, k: Case(
        _count(t, "--batch-size", "lots"), 2, ("--batch-size", "'lots'", "whole number"), t / "out"
    ),
    "count-workers-zero": lambda t, k: Case(
        _count(t, "--workers", "0"), 2, ("--workers", "positive integer"), t / "out"
    ),
    "count-variant-unknown": lambda t, k: Case(
        _count(t, "--variant", "fuzzy"), 2, ("--variant", "invalid choice", "fuzzy"), t / "out"
    ),
    "count-backend-unknown": lambda t, k: Case(
        _count(t, "--backend", "mpi"), 2, ("--backend", "invalid choice", "threads"), t / "out"
    ),
    "count-connect-timeout-zero": lambda t, k: Case(
        _count(t, "--connect-timeout", "0"), 2, ("--connect-timeout", "positive number"), t / "out"
    ),
    "count-connect-timeout-text": lambda t, k: Case(
        _count(t, "--connect-timeout", "soon"), 2, ("--connect-timeout", "not a number"), t / "out"
    ),
    "count-task-unknown": lambda t, k: Case(
        _count(t, "--task", "detection"), 2, ("--task", "invalid choice"), t / "out"
    ),
    "zeroshot-batch-size-zero": lambda t, k: Case(
        _zs(t, "x", "y", "--batch-size", "0"), 2, ("--batch-size", "positive integer"), t / "out"
    ),
    "zeroshot-prompt-unknown": lambda t, k: Case(
        _zs(t, "x", "y", "--prompt", "fancy"), 2, ("--prompt", "invalid choice", "fancy"), t / "out"
    ),
    "t2i-steps-zero": lambda t, k: Case(
        ["evaluate", "t2i", "--dataset", "d", "--concepts", "c", "--out", str(t / "out"), "--steps", "0"],
        2,
        ("--steps", "positive integer"),
        t / "out",
    ),
    "t2i-images-per-prompt-text": lambda t, k: Case(
        [
            "evaluate",
            "t2i",
            "--dataset",
            "d",
            "--concepts",
            "c",
            "--out",
            str(t / "out"),
            "--images-per-prompt",
            "many",
        ],
        2,
        ("--images-per-prompt", "whole number"),
        t / "out",
    ),
    "evaluate-no-subcommand": lambda t, k: Case(["evaluate"], 2, ("wag evaluate", "required")),
    "artifacts-unknown-subcommand": lambda t, k: Case(["artifacts", "fetch"], 2, ("invalid choice", "fetch")),
    # --- output folders
    "count-out-is-file": lambda t, k: Case(
        _count(t)[:-3] + ["--out", str(_concepts(t, "x", "out.txt")), "--quiet"],
        2,
        ("out.txt", "existing file", "give a folder"),
    ),
    "count-out-unwritable": lambda t, k: Case(
        _count(t)[:-3] + ["--out", "/proc/wag-out", "--quiet"], 2, ("/proc/wag-out", "not writable", "choose a folder")
    ),
    "count-out-under-file": lambda t, k: Case(
        _count(t)[:-3] + ["--out", str(_concepts(t, "x", "f.txt") / "sub"), "--quiet"],
        2,
        ("f.txt", "is a file", "another folder"),
    ),
    "zeroshot-out-is-file": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['ckpt']}", str(k["images"]))[:-2] + ["--out", str(_concepts(t, "x", "o.txt"))],
        2,
        ("o.txt", "existing file", "give a folder"),
    ),
    "retrieval-out-unwritable": lambda t, k: Case(
        [
            "evaluate",
            "retrieval",
            "--model",
            "m",
            "--dataset",
            "d",
            "--annotations",
            "a.json",
            "--images",
            "i",
            "--out",
            "/proc/wag-ret",
        ],
        2,
        ("/proc/wag-ret", "not writable"),
    ),
    "t2i-out-is-file": lambda t, k: Case(
        [
            "evaluate",
            "t2i",
            "--model",
            "m",
            "--dataset",
            "d",
            "--concepts",
            str(_concepts(t)),
            "--out",
            str(_concepts(t, "x", "o.txt")),
        ],
        2,
        ("o.txt", "existing file"),
    ),
    "reproduce-out-is-file": lambda t, k: Case(
        ["reproduce", "--profile", "ci", "--out", str(_concepts(t, "x", "o.txt"))],
        2,
        ("o.txt", "existing file", "give a folder"),
    ),
    "reproduce-out-unwritable": lambda t, k: Case(
        ["reproduce", "--profile", "ci", "--out", "/proc/wag-figs"], 2, ("/proc/wag-figs", "not writable")
    ),
    # --- profiles
    "profile-unknown-name": lambda t, k: Case(
        ["reproduce", "--profile", "no-such-profile", "--out", str(t / "out")],
        2,
        ("unknown profile", "no-such-profile", "available profiles"),
        t / "out",
    ),
    "profile-empty-file": lambda t, k: Case(["profiles", str(_profile(t, ""))], 2, ("bad.yaml", "empty", "add")),
    "profile-comments-only": lambda t, k: Case(
        ["profiles", str(_profile(t, "# nothing here\n"))], 2, ("bad.yaml", "empty")
    ),
    "profile-unknown-key": lambda t, k: Case(
        ["profiles", str(_profile(t, "name: x\nsead: 1\n"))], 2, ("unknown key 'sead'", "allowed keys", "seed")
    ),
    "profile-unknown-nested-key": lambda t, k: Case(
        ["profiles", str(_profile(t, "name: x\nfrequency:\n  varient: phrase\n"))],
        2,
        ("frequency.varient", "allowed keys"),
    ),
    "profile-wrong-type": lambda t, k: Case(
        ["profiles", str(_profile(t, "name: x\nseed: many\n"))], 2, ("'seed'", "many")
    ),
    "profile-bad-yaml": lambda t, k: Case(
        ["profiles", str(_profile(t, "name: [unclosed\n"))], 2, ("not valid yaml", "bad.yaml")
    ),
    "profile-not-mapping": lambda t, k: Case(
        ["profiles", str(_profile(t, "- a\n- b\n"))], 2, ("must be a mapping", "list")
    ),
    "profile-not-utf8": lambda t, k: Case(
        ["profiles", str(_profile(t, b"name: x\ndescription: caf\xe9\n"))],
        2,
        ("bad.yaml", "not utf-8", "line 2", "re-save"),
    ),
    "profile-missing-yaml-path": lambda t, k: Case(
        ["profiles", str(t / "nope.yaml")], 2, ("nope.yaml", "does not exist")
    ),
    "evaluate-bad-profile": lambda t, k: Case(
        _zs(t, "x", "y", "--profile", str(_profile(t, "evaluate:\n  modles: []\n"))),
        2,
        ("evaluate.modles", "allowed keys"),
        t / "out",
    ),
    # --- corpora
    "corpus-missing": lambda t, k: Case(
        _count(t, corpus=t / "nowhere"), 2, ("nowhere", "does not exist", "give a shard file"), t / "out"
    ),
    "corpus-empty-folder": lambda t, k: Case(
        _count(t, corpus=_mkdir(t / "empty")), 2, ("empty", "no shard files", "check the path"), t / "out"
    ),
    "corpus-glob-no-match": lambda t, k: Case(
        _count(t, corpus=t / "*.zzz.parquet"), 2, ("no files match", "check the pattern"), t / "out"
    ),
    "corpus-unknown-extension": lambda t, k: Case(
        _count(t, corpus=_write(t / "c.dat", "x")), 2, ("c.dat", "cannot tell the format", "--format"), t / "out"
    ),
    "corpus-format-unknown": lambda t, k: Case(
        _count(t, "--format", "xml"), 2, ("unknown corpus format", "xml", "parquet"), t / "out"
    ),
    "corpus-ragged-tsv": lambda t, k: Case(
        _count(t, corpus=_write(t / "c.tsv", "caption\turl\na dog\thttp://a\na\tcat\thttp://b\n")),
        2,
        ("no shard could be read", "c.tsv", "line 3", "3 tab-separated fields", "expected 2", "fix or delete"),
        t / "out",
    ),
    "corpus-tsv-column-order": lambda t, k: Case(
        _count(t, corpus=_write(t / "c.tsv", "a dog\tthe dog\n")), 2, ("c.tsv", "column order", "tsv-cc3m"), t / "out"
    ),
    "corpus-corrupt-parquet": lambda t, k: Case(
        _count(t, corpus=_write(t / "c.parquet", "PAR1 garbage")),
        2,
        ("no shard could be read", "c.parquet", "cannot read"),
        t / "out",
    ),
    "corpus-jsonl-bad-line": lambda t, k: Case(
        _count(t, corpus=_write(t / "c.jsonl", '{"caption": "a dog"}\n{oops\n')),
        2,
        ("c.jsonl", "line 2", "not json"),
        t / "out",
    ),
    "corpus-unknown-caption-column": lambda t, k: Case(
        _count(t, "--caption-column", "text_en"), 2, ("unknown caption column", "text_en", "columns are"), t / "out"
    ),
    # --- Dask scheduler
    "scheduler-without-dask": lambda t, k: Case(
        _count(t, "--scheduler", "tcp://127.0.0.1:8786"), 2, ("--scheduler", "--backend dask"), t / "out"
    ),
    "scheduler-refused": lambda t, k: Case(
        _count(t, "--backend", "dask", "--scheduler", f"tcp://127.0.0.1:{_closed_port()}", "--connect-timeout", "1"),
        2,
        ("dask scheduler", "127.0.0.1", "did not answer", "within 1 s", "--connect-timeout"),
        t / "out",
    ),
    "scheduler-bad-address": lambda t, k: Case(
        _count(t, "--backend", "dask", "--scheduler", "tcp://nohost"), 2, ("'tcp://nohost'", "host:port"), t / "out"
    ),
    # --- concept files
    "concepts-missing": lambda t, k: Case(
        _count(t, concepts=t / "nope.txt"), 2, ("nope.txt", "does not exist", "one name per line"), t / "out"
    ),
    "concepts-not-utf8": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.txt", b"dog\ncat\ncaf\xe9\n")),
        2,
        ("c.txt", "not utf-8", "line 3", "0xe9", "re-save"),
        t / "out",
    ),
    "concepts-csv-not-utf8": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.csv", b"concept\ndog\n\xff\xfe\n")), 2, ("c.csv", "line 3", "utf-8"), t / "out"
    ),
    "concepts-empty": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.txt", "\n# only a comment\n")),
        2,
        ("c.txt", "no concept names", "one concept name per line"),
        t / "out",
    ),
    "concepts-unknown-extension": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.yaml", "- dog")), 2, ("c.yaml", "unknown extension", ".txt"), t / "out"
    ),
    "concepts-bad-json": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.json", "[dog")), 2, ("c.json", "not valid json"), t / "out"
    ),
    "concepts-json-number": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.json", "42")), 2, ("c.json", "json list"), t / "out"
    ),
    "concepts-csv-no-column": lambda t, k: Case(
        _count(t, concepts=_write(t / "c.csv", "name\ndog\n")), 2, ("c.csv", "no 'concept' column", "name"), t / "out"
    ),
    "concepts-is-folder": lambda t, k: Case(
        _count(t, concepts=_mkdir(t / "c.txt")), 2, ("c.txt", "is a folder", "give a file"), t / "out"
    ),
    "t2i-concepts-not-utf8": lambda t, k: Case(
        [
            "evaluate",
            "t2i",
            "--model",
            "m",
            "--dataset",
            "d",
            "--concepts",
            str(_write(t / "c.txt", b"dog\n\xe9t\xe9\n")),
            "--out",
            str(t / "out"),
        ],
        2,
        ("concept list", "c.txt", "line 2", "utf-8"),
        t / "out",
    ),
    "retrieval-concepts-empty": lambda t, k: Case(
        [
            "evaluate",
            "retrieval",
            "--model",
            f"wag-tiny-vit@{k['ckpt']}",
            "--dataset",
            "d",
            "--annotations",
            "a.json",
            "--images",
            "i",
            "--concepts",
            str(_write(t / "c.txt", "\n\n")),
            "--out",
            str(t / "out"),
        ],
        2,
        ("c.txt", "no concept names"),
        t / "out",
    ),
    # --- checkpoints and devices
    "checkpoint-missing": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{t / 'none.safetensors'}", str(k["images"])),
        2,
        ("none.safetensors", "not found", "give arch@/path"),
        t / "out",
    ),
    "checkpoint-garbage-pt": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'garbage.pt'}", str(k["images"])),
        2,
        ("garbage.pt", "not a checkpoint", "safetensors"),
        t / "out",
    ),
    "checkpoint-garbage-safetensors": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'garbage.safetensors'}", str(k["images"])),
        2,
        ("garbage.safetensors", "not a checkpoint"),
        t / "out",
    ),
    "checkpoint-bare-pickle": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'plain.pt'}", str(k["images"])),
        2,
        ("plain.pt", "pickle", "never unpickles", "save_file", "safetensors"),
        t / "out",
    ),
    "checkpoint-pickled-objects": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'objects.pt'}", str(k["images"])),
        2,
        ("objects.pt", "pickled python objects", "tensors only", "safetensors"),
        t / "out",
    ),
    "checkpoint-wrong-keys": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'wrongkeys.safetensors'}", str(k["images"])),
        2,
        ("does not match", "wag-tiny-vit", "missing from the checkpoint", "foo.weight", "unknown to the model"),
        t / "out",
    ),
    "checkpoint-wrong-shape": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'wrongshape.safetensors'}", str(k["images"])),
        2,
        ("does not match", "shape mismatch", "checkpoint (3, 5) vs model"),
        t / "out",
    ),
    "checkpoint-misnamed-safetensors": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['dir'] / 'renamed.pt'}", str(k["images"])),
        2,
        ("renamed.pt", "safetensors file", "rename it to renamed.safetensors"),
        t / "out",
    ),
    "checkpoint-unknown-arch": lambda t, k: Case(
        _zs(t, f"no-such-arch@{k['ckpt']}", str(k["images"])),
        2,
        ("unknown open_clip architecture", "no-such-arch", "add_model_config"),
        t / "out",
    ),
    "model-unknown-name": lambda t, k: Case(
        _zs(t, "nope/nope", str(k["images"])), 2, ("unknown model 'nope/nope'", "known models"), t / "out"
    ),
    "device-cuda-unavailable": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['ckpt']}", str(k["images"]), "--device", "cuda"),
        2,
        ("'cuda'", "cuda is not available", "available devices: cpu", "--device cpu"),
        t / "out",
    ),
    "device-unknown": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['ckpt']}", str(k["images"]), "--device", "gpu9"),
        2,
        ("unknown device 'gpu9'", "available devices"),
        t / "out",
    ),
    # --- image folders and datasets
    "images-folder-missing": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['ckpt']}", str(t / "no" / "images")),
        2,
        ("image folder", "does not exist", "check the path"),
        t / "out",
    ),
    "images-no-class-folders": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['ckpt']}", str(k["dir"] / "noclasses")),
        2,
        ("noclasses", "no images in class sub-folders", "<class>"),
        t / "out",
    ),
    "dataset-unknown-name": lambda t, k: Case(
        _zs(t, f"wag-tiny-vit@{k['ckpt']}", "imagenet-99"),
        2,
        ("unknown dataset 'imagenet-99'", "known datasets"),
        t / "out",
    ),
    "retrieval-annotations-missing": lambda t, k: Case(
        [
            "evaluate",
            "retrieval",
            "--model",
            f"wag-tiny-vit@{k['ckpt']}",
            "--dataset",
            "d",
            "--annotations",
            str(t / "ann.json"),
            "--images",
            str(k["images"]),
            "--out",
            str(t / "out"),
        ],
        2,
        ("ann.json",),
        t / "out",
    ),
    "retrieval-annotations-corrupt": lambda t, k: Case(
        [
            "evaluate",
            "retrieval",
            "--model",
            f"wag-tiny-vit@{k['ckpt']}",
            "--dataset",
            "d",
            "--annotations",
            str(_write(t / "ann.json", "{not json")),
            "--images",
            str(k["images"]),
            "--out",
            str(t / "out"),
        ],
        2,
        ("ann.json", "corrupt json"),
        t / "out",
    ),
    "retrieval-images-missing": lambda t, k: Case(
        [
            "evaluate",
            "retrieval",
            "--model",
            f"wag-tiny-vit@{k['ckpt']}",
            "--dataset",
            "d",
            "--annotations",
            str(_write(t / "ann.json", json.dumps([{"image": "0.png", "caption": ["a dog"] * 5}]))),
            "--images",
            str(t / "noimg"),
            "--out",
            str(t / "out"),
        ],
        2,
        ("noimg", "not found"),
        t / "out",
    ),
    # --- released files
    "artifacts-locate-no-download": lambda t, k: Case(
        ["artifacts", "locate", "--profile", str(_profile(t, "name: x\ndownload: false\n"))],
        2,
        ("not found", "download: false", "WAG_PAPER_ARTIFACTS"),
        env={"WAG_PAPER_ARTIFACTS": "", "WAG_NEGLECTED_TAILS": "", "XDG_CACHE_HOME": str(t / "xdg")},
    ),
    "artifacts-locate-not-a-folder": lambda t, k: Case(
        ["artifacts", "locate"],
        2,
        ("paper", "not a folder", "WAG_PAPER_ARTIFACTS"),
        env={"WAG_PAPER_ARTIFACTS": str(_write(t / "f.txt", "x"))},
    ),
}


@pytest.mark.parametrize("name", list(CLI))
def test_cli_bad_input_is_one_line(
    name: str,
    tmp_path: Path,
    tiny: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if name == "device-cuda-unavailable":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    case = CLI[name](tmp_path, tiny)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main(case.argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and "Traceback" not in cap.out
    line = _error_line(cap.err)
    assert code == case.code, line
    for word in case.words:
        assert word.lower() in line.lower(), f"{word!r} not in {line!r}"
    if case.out is not None:
        assert not case.out.exists() or not any(case.out.iterdir()), (
            f"partial output left in {case.out}: {list(case.out.rglob('*'))}"
        )


# ------------------------------------------------------------------------------------------------------
# no silent changes of the user's data
# ------------------------------------------------------------------------------------------------------


def test_case_duplicate_concepts_are_merged_with_one_warning_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    pd.DataFrame({"sample_id": ["a", "b", "c"], "caption": ["a Dog", "the dog runs", "a cat"]}).to_parquet(
        corpus / "p.parquet"
    )
    concepts = _concepts(tmp_path, "dog\nDog\ncat\ndog \ncat\n")
    assert main(_count(tmp_path, corpus=corpus, concepts=concepts)) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("warning: "), err
    assert (
        "3 duplicate or case-duplicate names merged" in err[0]
        and "'dog' <- 'dog', 'Dog', 'dog'" in err[0]
        and "'cat' <- 'cat', 'cat'" in err[0]
    )
    counts = pd.read_parquet(tmp_path / "out" / "counts.parquet").set_index("concept")["count"].to_dict()
    assert counts == {"dog": 2, "cat": 1}


def test_concept_table_merges_aliases_of_duplicates() -> None:
    from wag.concepts import concept_table

    with pytest.warns(WagWarning, match="'Bed' <- 'Bed', 'bed'"):
        df = concept_table(["Bed", "bed", "lamp"], dataset="x", task="classification", aliases={"bed": ["cot"]})
    assert df["concept"].tolist() == ["Bed", "lamp"]
    assert df.loc[0, "aliases"] == ["bed", "cot"]


def test_distinct_concepts_raise_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    from wag.concepts import concept_table

    concept_table(["dog", "dogs", "hot dog"], dataset="x", task="classification")
    assert not [w for w in recwarn if issubclass(w.category, WagWarning)]


def test_empty_profile_is_an_error_in_the_library(tmp_path: Path) -> None:
    from wag.run.profile import ParamsError, load_profile

    with pytest.raises(ParamsError, match="is empty"):
        load_profile(_profile(tmp_path, "\n\n"))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_writes_follow_the_umask(tmp_path: Path, umask: int) -> None:
    from wag.core.io import write_json, write_parquet, write_text

    old = os.umask(umask)
    try:
        paths = [
            write_text(tmp_path / "a.txt", "x"),
            write_json(tmp_path / "b.json", {"a": 1}),
            write_parquet(tmp_path / "c.parquet", pd.DataFrame({"a": [1]})),
        ]
    finally:
        os.umask(old)
    for p in paths:
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, (p, oct(p.stat().st_mode))


def test_artifacts_verify_reports_every_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paper = _mkdir(tmp_path / "paper" / "search_counts").parent  # right marker, files absent
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(paper))
    monkeypatch.setenv("WAG_NEGLECTED_TAILS", str(tmp_path / "no-tails"))
    assert main(["artifacts", "verify"]) == 2
    cap = capsys.readouterr()
    line = _error_line(cap.err)
    assert (
        "the paper's released files at" in cap.out and "absent" in cap.out
    )  # checked although NeglectedTails is missing
    assert "the NeglectedTails LAION estimates: not found" in cap.out
    assert (
        "files of the paper's released files" in line
        and "NeglectedTails LAION estimates not found" in line
        and "WAG_NEGLECTED_TAILS" in line
    )


def test_failed_shard_line_is_on_stderr_and_good_shards_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    _write(corpus / "bad.jsonl", '{"caption": "a dog"}\nnot json\n')
    assert main(_count(tmp_path, corpus=corpus)) == 1
    line = _error_line(capsys.readouterr().err)
    assert "bad.jsonl" in line and "line 2" in line
    assert pd.read_parquet(tmp_path / "out" / "counts.parquet").set_index("concept")["count"].to_dict() == {
        "dog": 1,
        "cat": 1,
    }


def test_count_captions_rejects_batch_size_zero(tmp_path: Path) -> None:
    from wag.frequency import count_captions

    with pytest.raises(WagError, match="batch_size must be >= 1"):
        count_captions(str(_corpus(tmp_path)), ["dog"], batch_size=0, progress=False)


# ------------------------------------------------------------------------------------------------------
# the boundary itself: --debug, WAG_DEBUG, internal errors, Ctrl-C
# ------------------------------------------------------------------------------------------------------


def test_debug_flag_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _count(tmp_path, concepts=tmp_path / "nope.txt")
    assert main(["--debug", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ConceptError" in err
    assert err.strip().splitlines()[-1].startswith("error: concept file")
    assert main([*argv, "--debug"]) == 2  # allowed after the subcommand too
    assert "Traceback" in capsys.readouterr().err


def test_wag_debug_env_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAG_DEBUG", "1")
    assert main(_count(tmp_path, concepts=tmp_path / "nope.txt")) == 2
    assert "Traceback" in capsys.readouterr().err


def _raiser(exc: BaseException) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise exc

    return run


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (RuntimeError("boom"), 1, ("internal error: RuntimeError: boom", "--debug", "WAG_DEBUG=1")),
        (KeyError("k"), 1, ("internal error: KeyError", "--debug")),
        (KeyboardInterrupt(), 130, ("interrupted", "rerun")),
        (
            PermissionError(13, "Permission denied", "/data/x.parquet"),
            2,
            ("/data/x.parquet", "permission denied", "fix its permissions"),
        ),
        (FileNotFoundError(2, "No such file", "/data/y.tsv"), 2, ("/data/y.tsv", "does not exist", "check the path")),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, ("not utf-8", "re-save")),
        (WagError("first line\n  second line"), 2, ("first line second line",)),
    ],
)
def test_boundary_classifies_every_exception(
    exc: BaseException,
    code: int,
    words: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import wag.cli

    monkeypatch.setattr(wag.cli, "_cmd_profiles", _raiser(exc))
    assert main(["profiles", "ci"]) == code
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in cap.err, cap.err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])


# ------------------------------------------------------------------------------------------------------
# notebooks: setup() with bad input, and the short IPython message
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, ("unknown profile 'no-such-profile'", "available profiles")),
        ("", ("is empty", "description")),
        ("name: x\nanalysis:\n  nope: 1\n", ("unknown key 'analysis.nope'", "allowed keys")),
        ("seed: [1\n", ("not valid yaml",)),
    ],
)
def test_notebook_setup_with_a_bad_profile(tmp_path: Path, text: str | None, words: tuple[str, ...]) -> None:
    from wag.run.notebook import setup

    profile = "no-such-profile" if text is None else str(_profile(tmp_path, text))
    with pytest.raises(WagError) as info:
        setup(profile, "x", out_dir=tmp_path / "out")
    msg = str(info.value).lower()
    for w in words:
        assert w.lower() in msg
    assert not (tmp_path / "out").exists()


def test_ipython_shows_wag_errors_as_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from wag.run.notebook import install_error_handler

    shell = InteractiveShell.instance()
    try:
        assert install_error_handler() is True
        res = shell.run_cell("from wag.run.profile import load_profile\nload_profile('no-such-profile')")
        out = capsys.readouterr()
        assert isinstance(res.error_in_exec, WagError)  # the cell still fails (papermill stops there)
        text = out.out + out.err
        assert "Traceback" not in text and "ParamsError: unknown profile 'no-such-profile'" in text
        assert len([ln for ln in text.splitlines() if ln.strip()]) == 1
        res = shell.run_cell("1 / 0")  # not a user-input error: the full traceback stays
        assert isinstance(res.error_in_exec, ZeroDivisionError)
        assert "ZeroDivisionError" in capsys.readouterr().out
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()


def test_notebook_cell_with_bad_input_fails_with_the_short_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end through papermill and the `wag` kernel: the cell fails, the output holds no traceback."""
    import nbformat

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "wag"\n')
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "ci.yaml").write_text("name: ci\nfigures_dir: figs\n")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "wag", "display_name": "Python (wag)", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "ci"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("from wag.run.notebook import setup\nP, report = setup(profile, 'x', out_dir)"),
        nbformat.v4.new_code_cell("setup('no-such-profile', 'x', out_dir)"),
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "x_bad.ipynb")
    monkeypatch.setenv("WAG_ROOT", str(tmp_path))
    out = tmp_path / "run"
    assert main(["reproduce", "--profile", "ci", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "ParamsError: unknown profile 'no-such-profile'" in err and "Traceback" not in err
    executed = nbformat.read(out / "notebooks" / "x_bad.ipynb", as_version=4)
    errors = [
        o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert len(errors) == 1 and errors[0].ename == "ParamsError"
    assert len(errors[0].traceback) == 1 and "available profiles: ci" in errors[0].traceback[0]


def test_corrupt_image_is_skipped_and_named(
    tmp_path: Path, tiny: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_zs(tmp_path, f"wag-tiny-vit@{tiny['ckpt']}", str(tiny["corrupt"]))) == 0
    cap = capsys.readouterr()
    assert "1 undecodable images skipped" in cap.out and "broken.png" in cap.out and "Traceback" not in cap.err
    df = pd.read_parquet(next((tmp_path / "out" / "zeroshot").rglob("*.parquet")))
    assert int(df["n_images"].sum()) == 4  # the 4 good images, the broken one left out


@pytest.mark.parametrize(
    ("validator", "text", "words"),
    [
        ("positive_int", "0", ("positive integer", "got 0")),
        ("positive_int", "2.5", ("'2.5'", "whole number")),
        ("positive_float", "-1", ("positive number",)),
        ("positive_float", "inf", ("positive number",)),
        ("unit_float", "1.5", ("between 0 and 1", "1.5")),
        ("unit_float", "-0.1", ("between 0 and 1",)),
        ("unit_float", "half", ("'half'", "not a number")),
    ],
)
def test_option_validators_name_the_value_and_the_range(validator: str, text: str, words: tuple[str, ...]) -> None:
    import wag.core.checks

    with pytest.raises(argparse.ArgumentTypeError) as info:
        getattr(wag.core.checks, validator)(text)
    for w in words:
        assert w in str(info.value)


def test_option_validators_accept_good_values() -> None:
    from wag.core.checks import positive_float, positive_int, unit_float

    assert (positive_int("3"), positive_float("0.5"), unit_float("0"), unit_float("1"), unit_float("0.25")) == (
        3,
        0.5,
        0.0,
        1.0,
        0.25,
    )


def test_count_captions_checks_out_dir_before_counting(tmp_path: Path) -> None:
    from wag.frequency import count_captions

    target = _write(tmp_path / "taken", "a file")
    with pytest.raises(WagError, match="out_dir .*taken is an existing file"):
        count_captions(str(_corpus(tmp_path)), ["dog"], out_dir=target, progress=False)


def test_dask_scheduler_timeout_is_short_and_names_the_address() -> None:
    from wag.core.checks import InputCheckError, check_scheduler

    with (
        socket.socket() as srv
    ):  # listening but never accepting beyond the backlog is still an answer: use a closed port
        srv.bind(("127.0.0.1", 0))
        port = srv.getsockname()[1]
    with pytest.raises(InputCheckError, match=f"127.0.0.1:{port} did not answer within 0.5 s"):
        check_scheduler(f"127.0.0.1:{port}", timeout=0.5)
    with pytest.raises(InputCheckError, match="not host:port"):
        check_scheduler("http://example.org:80")


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_saved_state_dict_still_loads(tmp_path: Path, tiny: dict[str, Path], legacy: bool) -> None:
    """Refusing pickles must not refuse a plain tensor state dict written by torch.save (zip or legacy format)."""
    import torch
    from safetensors.torch import load_file

    from wag.core.checks import checkpoint_format
    from wag.evaluate.models import load_clip

    target = tmp_path / "tiny.pt"
    torch.save(load_file(str(tiny["ckpt"])), target, _use_new_zipfile_serialization=not legacy)
    assert checkpoint_format(target) == ("torch-legacy" if legacy else "torch-zip")
    model = load_clip(f"wag-tiny-vit@{target}")
    assert model.arch == "wag-tiny-vit" and model.source == "tiny"


def test_reproduce_checks_the_profile_figures_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "wag"\n')
    (tmp_path / "params").mkdir()
    (tmp_path / "taken").write_text("a file where the figures folder would go")
    (tmp_path / "params" / "ci.yaml").write_text("name: ci\nfigures_dir: taken\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("WAG_ROOT", str(tmp_path))
    assert main(["reproduce", "--profile", "ci"]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "figures_dir of profile 'ci'" in line and "existing file" in line and "give a folder" in line
    assert not (tmp_path / "runs").exists()


def test_console_entry_point_exits_with_the_status_and_one_line(tmp_path: Path) -> None:
    """One real process (the others run in-process): exit status and stderr as a user sees them."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "wag.cli", *_count(tmp_path, "--batch-size", "0")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WAG_DEBUG": ""},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: wag count: argument --batch-size: must be a positive integer (got 0); give 1 or more; see `wag count --help`"
    ]
    assert not (tmp_path / "out").exists()
