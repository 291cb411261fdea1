"""Issue 20, point 4: nothing silently wrong. Every case gives the right numbers, or one line naming the file, key
or value and the fix (exit 2, nothing partial). Each asserts the exit status, the one line (``error:`` or
``warning:``) and the data: the right count, or nothing written.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from bad_inputs_support import (
    captions,
    concepts_file,
    count_argv,
    counts_of,
    error_line,
    mkdir,
    png,
    quiet,  # noqa: F401 - the suite's autouse fixture
    study_profile,
    warning_lines,
    wds_shard,
    write,
)

from wag.cli import main
from wag.core.errors import WagError, WagWarning


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``wag <argv>`` in-process: (status, stdout, stderr); never a traceback."""
    capsys.readouterr()
    code = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and "Traceback" not in cap.out, cap.err
    return code, cap.out, cap.err


def study_run(prof: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    return run(["study", "run", "--profile", str(prof), "--quiet", *extra], capsys)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-init open_clip checkpoint (``wag-tiny-vit@<path>``)."""
    from wag.evaluate.tiny import save_tiny_checkpoint

    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


def _cut(path: Path, data: bytes) -> Path:
    """``data`` cut in half, written to ``path`` (an interrupted download)."""
    return write(path, data[: len(data) // 2])


# ------------------------------------------------------------------------------------------------------
# corpora: cut, scattered, mis-encoded shards
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_a_wds_shard_cut_in_half_is_named_and_none_of_it_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gz: bool
) -> None:
    corp = tmp_path / "corpus"
    wds_shard(corp / "a.tar", captions(10))
    name = "b.tar.gz" if gz else "b.tar"
    _cut(corp / name, wds_shard(tmp_path / "whole" / name, captions(200, 10, images=True), gz=gz).read_bytes())
    code, _, err = run(count_argv(tmp_path, corpus_path=corp), capsys)
    line = error_line(err)
    assert code == 1 and name in line and "cut short" in line and "download or copy it again" in line
    assert counts_of(tmp_path / "out") == {"dog": 5, "cat": 5}  # shard a only: no prefix of b
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["n_captions"] == 10


def test_a_study_stops_at_a_cut_shard_or_leaves_it_out_when_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wds_shard(tmp_path / "corpus" / "a.tar", captions(10))
    _cut(tmp_path / "corpus" / "b.tar", wds_shard(tmp_path / "b-whole.tar", captions(40, 10, images=True)).read_bytes())
    code, _, err = study_run(study_profile(tmp_path), capsys)
    line = error_line(err)
    assert code == 2 and "b.tar" in line and "cut short" in line and "study.corpus.on_corrupt: skip" in line
    assert not (tmp_path / "study" / "records").exists() and not (tmp_path / "study" / "count" / "corpus.json").exists()

    code, _, err = study_run(study_profile(tmp_path, corpus={"on_corrupt": "skip"}), capsys)
    lost = [w for w in warning_lines(err) if "unreadable shard" in w]
    assert code == 0 and len(lost) == 1 and "1 unreadable shard(s) left out" in lost[0] and "b.tar" in lost[0]
    rec = json.loads((tmp_path / "study" / "count" / "corpus.json").read_text())
    assert rec["n_captions"] == 10 and rec["n_shards_skipped"] == 1
    assert rec["skipped_shards"][0]["shard"].endswith("b.tar") and "cut short" in rec["skipped_shards"][0]["reason"]
    freq = pd.read_parquet(tmp_path / "study" / "count" / "frequencies.parquet")
    assert freq.set_index("concept")["count"].to_dict() == {"dog": 5, "cat": 5}


def test_a_tar_whose_members_are_apart_reads_each_sample_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wag.corpus import iter_samples, iter_shards

    corp = tmp_path / "corpus"
    wds_shard(corp / "s.tar", captions(20, images=True), order="txt-first")  # tar cf s.tar *.txt *.png
    code, _, err = run(count_argv(tmp_path, corpus_path=corp), capsys)
    assert code == 0 and not err.strip()
    assert counts_of(tmp_path / "out") == {"dog": 10, "cat": 10}
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["n_captions"] == 20
    samples = list(iter_samples(iter_shards(corp / "s.tar")[0]))
    assert [s["sample_id"] for s in samples] == [f"{i:05d}" for i in range(20)]
    assert all(s["image"] == png(i) for i, s in enumerate(samples))  # each with its own image


def test_a_compressed_tar_whose_members_are_apart_says_how_to_repack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corp = tmp_path / "corpus"
    wds_shard(corp / "a.tar", captions(4))
    wds_shard(corp / "s.tar.gz", captions(6, 4, images=True), order="txt-first", gz=True)
    code, _, err = run(count_argv(tmp_path, corpus_path=corp), capsys)
    line = error_line(err)
    assert code == 1 and "s.tar.gz" in line and "not together" in line and "tar --sort=name" in line
    assert counts_of(tmp_path / "out") == {"dog": 2, "cat": 2}


@pytest.mark.parametrize("fmt", ["tar", "tsv", "jsonl"])
def test_a_latin1_caption_is_the_same_error_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    corp = tmp_path / "corpus"
    if fmt == "tar":
        wds_shard(corp / "s.tar", [("000", "a dog", None), ("001", b"a caf\xe9 dog", None)])
        where = "member 001.txt"
    elif fmt == "tsv":
        write(corp / "s.tsv", b"caption\turl\na dog\thttp://a\na caf\xe9 dog\thttp://b\n")
        where = "line 3"
    else:
        write(corp / "s.jsonl", b'{"caption": "a dog"}\n{"caption": "a caf\xe9 dog"}\n')
        where = "line 2"
    code, _, err = run(count_argv(tmp_path, corpus_path=corp), capsys)
    line = error_line(err)
    assert code == 2 and where in line and "is not UTF-8 text (byte 0xe9" in line and "iconv -f latin1" in line
    assert not (tmp_path / "out" / "counts.parquet").exists()


def test_a_byte_order_mark_is_not_part_of_a_caption_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corp = tmp_path / "corpus"
    write(corp / "s.tsv", "\ufeffcaption\turl\na dog\thttp://a\n")
    write(corp / "s.jsonl", '\ufeff{"caption": "a cat"}\n')
    code, _, _ = run(count_argv(tmp_path, corpus_path=corp), capsys)
    assert code == 0 and counts_of(tmp_path / "out") == {"dog": 1, "cat": 1}


# ------------------------------------------------------------------------------------------------------
# concept files
# ------------------------------------------------------------------------------------------------------


def _captions(tmp: Path, *texts: str) -> Path:
    d = mkdir(tmp / "corpus")
    pd.DataFrame({"caption": list(texts)}).to_parquet(d / "p.parquet")
    return d


def test_a_json_alias_given_as_a_string_is_one_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corp = _captions(tmp_path, "a puppy", "p u y", "a u turn", "a cat")
    concepts = write(tmp_path / "c.json", json.dumps({"dog": "puppy", "cat": None}))
    code, _, err = run(count_argv(tmp_path, corpus_path=corp, concepts=concepts), capsys)
    assert code == 0 and not err.strip()
    assert counts_of(tmp_path / "out") == {"dog": 1, "cat": 1}  # "p u y" and "u turn" are not dog
    hits = pd.read_parquet(tmp_path / "out" / "hits.parquet")
    assert hits[hits["concept"] == "dog"]["sample_id"].tolist() == ["p.parquet:0"]


def test_a_json_alias_that_is_a_number_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    concepts = write(tmp_path / "c.json", json.dumps({"dog": 5}))
    code, _, err = run(count_argv(tmp_path, concepts=concepts), capsys)
    line = error_line(err)
    assert code == 2 and "c.json" in line and "aliases of 'dog' are 5" in line and "list of strings" in line
    assert not (tmp_path / "out").exists()


def test_a_concept_written_as_an_emoji_says_why_it_counts_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corp = _captions(tmp_path, "a \U0001f436 runs", "a dog")
    code, _, err = run(
        count_argv(tmp_path, corpus_path=corp, concepts=concepts_file(tmp_path, "dog\n\U0001f436\n")), capsys
    )
    (line,) = warning_lines(err)
    assert code == 0 and "'\U0001f436'" in line and "can never be counted" in line and "name them in words" in line
    assert counts_of(tmp_path / "out") == {"dog": 1, "\U0001f436": 0}


@pytest.mark.parametrize("name", ["c.txt", "c.csv"])
def test_a_byte_order_mark_is_not_part_of_the_first_concept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    text = "\ufeffdog\ncat\n" if name == "c.txt" else "\ufeffconcept\ndog\ncat\n"
    code, _, _ = run(count_argv(tmp_path, concepts=write(tmp_path / name, text)), capsys)
    assert code == 0 and counts_of(tmp_path / "out") == {"dog": 1, "cat": 1}


def test_a_blank_csv_cell_is_not_the_concept_nan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corp = _captions(tmp_path, "a dog", "nan bread", "a cat")
    concepts = write(tmp_path / "c.csv", "concept,note\ndog,a\n,b\ncat,c\n")
    code, _, _ = run(count_argv(tmp_path, corpus_path=corp, concepts=concepts), capsys)
    assert code == 0 and counts_of(tmp_path / "out") == {"dog": 1, "cat": 1}


def test_a_concept_file_that_is_a_fifo_is_refused_without_waiting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "c.txt"
    os.mkfifo(fifo)
    code, _, err = run(count_argv(tmp_path, concepts=fifo), capsys)
    line = error_line(err)
    assert code == 2 and "c.txt" in line and "not a regular file" in line and "give a regular file" in line
    assert not (tmp_path / "out").exists()
    os.mkfifo(tmp_path / "s.parquet")
    code, _, err = run(count_argv(tmp_path, corpus_path=tmp_path / "s.parquet"), capsys)
    line = error_line(err)
    assert code == 2 and "s.parquet is not a regular file" in line and not (tmp_path / "out").exists()


def test_a_huge_concept_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wag.concepts.table as table

    monkeypatch.setattr(table, "MAX_CONCEPT_FILE_BYTES", 10)
    with pytest.raises(WagError, match=r"c\.txt is 17 bytes, more than the limit of 10 bytes"):
        table.read_concepts(str(concepts_file(tmp_path, "dog\ncat\nbird\nfox\n", "c.txt")))


# ------------------------------------------------------------------------------------------------------
# study declarations: values refused, inputs checked at the door
# ------------------------------------------------------------------------------------------------------


def test_recall_at_k_below_one_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = study_profile(tmp_path, stages={"count": {"variants": ["phrase"]}, "evaluate": {"ks": [0, -1]}})
    code, _, err = study_run(prof, capsys)
    line = error_line(err)
    assert code == 2 and "stages.evaluate.ks" in line and "k >= 1" in line and "[0, -1]" in line
    assert not (tmp_path / "study").exists()


def _tagged(tmp: Path, ckpt: Path, **study: object) -> Path:
    """A study profile tagging with the tiny open_clip model."""
    tagger = {"kind": "openclip", "model": f"wag-tiny-vit@{ckpt}", **study.pop("tagger", {})}  # type: ignore[dict-item]
    return study_profile(tmp, tagger=tagger, **study)


def test_tagger_descriptions_given_as_strings_are_refused_at_the_door(
    tmp_path: Path, tiny_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wds_shard(tmp_path / "corpus" / "a.tar", captions(4, images=True))
    write(tmp_path / "desc.json", json.dumps({"dog": "a photo of a dog", "cat": ["a cat"]}))
    prof = _tagged(tmp_path, tiny_ckpt, tagger={"descriptions": "desc.json"})
    code, _, err = study_run(prof, capsys)
    line = error_line(err)
    assert code == 2 and "study.tagger.descriptions" in line and "'dog'" in line and "not a list of strings" in line
    assert not (tmp_path / "study" / "records").exists()  # refused before the count stage ran


def test_a_truncated_png_in_a_shard_is_skipped_named_and_counted(
    tmp_path: Path, tiny_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = captions(6, images=True)
    key, cap, img = samples[3]
    samples[3] = (key, cap, img[: len(img) // 2])  # "image file is truncated"
    wds_shard(tmp_path / "corpus" / "a.tar", samples)
    code, _, err = study_run(_tagged(tmp_path, tiny_ckpt), capsys)
    bad = [w for w in warning_lines(err) if "could not be decoded" in w]
    assert code == 0 and len(bad) == 1 and "1 image(s)" in bad[0] and "a.tar:00003.png" in bad[0]
    summary = json.loads((tmp_path / "study" / "tag" / "summary.json").read_text())
    assert summary["images_tagged"] == 5 and summary["undecodable_skipped"] == 1
    assert summary["undecodable"][0].startswith(f"{tmp_path / 'corpus' / 'a.tar'}:00003.png (")
    tags = pd.read_parquet(tmp_path / "study" / "tag" / "tags.parquet")
    assert "00003" not in set(tags["sample_id"])


def test_a_parquet_image_column_of_paths_says_what_it_expects(
    tmp_path: Path, tiny_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = mkdir(tmp_path / "corpus")
    pd.DataFrame({"caption": ["a dog", "a cat"], "image": ["img/0.png", "img/1.png"]}).to_parquet(d / "p.parquet")
    prof = _tagged(tmp_path, tiny_ckpt, shards="corpus/*.parquet", corpus={"image_column": "image"})
    code, _, err = study_run(prof, capsys)
    line = error_line(err)
    assert code == 2 and "study.corpus.image_column" in line and "holds text (paths?)" in line
    assert "store each image file's bytes" in line and not (tmp_path / "study" / "records").exists()


def test_a_device_that_is_not_here_is_refused_before_any_stage(
    tmp_path: Path, tiny_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    wds_shard(tmp_path / "corpus" / "a.tar", captions(4, images=True))
    prof = _tagged(tmp_path, tiny_ckpt, stages={"count": {"variants": ["phrase"]}, "evaluate": {"device": "cuda:7"}})
    code, _, err = study_run(prof, capsys)
    line = error_line(err)
    assert code == 2 and "study.stages.evaluate.device" in line and "'cuda:7'" in line and "set it to cpu" in line
    assert not (tmp_path / "study" / "records").exists()


def test_an_unreachable_dask_scheduler_is_refused_before_any_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wds_shard(tmp_path / "corpus" / "a.tar", captions(4))
    count = {"variants": ["phrase"], "backend": "dask", "scheduler": f"tcp://127.0.0.1:{port}"}
    code, _, err = study_run(study_profile(tmp_path, stages={"count": count}), capsys)
    line = error_line(err)
    assert (
        code == 2
        and "study.stages.count.scheduler" in line
        and f"127.0.0.1:{port}" in line
        and "did not answer" in line
    )
    assert not (tmp_path / "study" / "records").exists()


def test_a_registry_model_without_weights_is_refused_before_any_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wag.evaluate.registry import model_status

    st = model_status()
    missing = st[~st["on_disk"] & st["source"].str.startswith("open_clip")]["name"].tolist()
    if not missing or os.environ.get("HF_HUB_OFFLINE") != "1":
        pytest.skip("every open_clip registry model has weights here, or downloads are on")
    from wag.evaluate.tiny import make_image_folder

    wds_shard(tmp_path / "corpus" / "a.tar", captions(4))
    make_image_folder(tmp_path / "test", ["dog", "cat"], 1)
    prof = study_profile(
        tmp_path,
        models=[{"name": "m", "model": missing[0]}],
        datasets=[{"name": "animals", "kind": "imagefolder", "path": "test"}],
    )
    code, _, err = study_run(prof, capsys)
    line = error_line(err)
    assert code == 2 and "study.models[0] ('m')" in line and "not on this machine" in line and "HF_HUB_OFFLINE" in line
    assert not (tmp_path / "study" / "records").exists()


# ------------------------------------------------------------------------------------------------------
# test sets
# ------------------------------------------------------------------------------------------------------


def _zeroshot(tmp: Path, ckpt: Path, folder: Path) -> list[str]:
    return [
        "evaluate",
        "zeroshot",
        "--model",
        f"wag-tiny-vit@{ckpt}",
        "--dataset",
        str(folder),
        "--prompt",
        "class",
        "--out",
        str(tmp / "out"),
    ]


def test_an_empty_class_folder_is_not_a_class(
    tmp_path: Path, tiny_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wag.evaluate.tiny import make_image_folder

    folder = make_image_folder(tmp_path / "test", ["cat", "dog"], 2)
    mkdir(folder / "zebra")
    code, _, err = run(_zeroshot(tmp_path, tiny_ckpt, folder), capsys)
    (line,) = [ln for ln in err.splitlines() if ln.startswith(("warning:", "error:"))]  # besides progress bars
    assert code == 0 and "1 class folder(s) hold no images" in line and "zebra" in line
    df = pd.read_parquet(next((tmp_path / "out" / "zeroshot").rglob("*.parquet")))
    assert sorted(df["concept"]) == ["cat", "dog"] and int(df["n_images"].sum()) == 4


def test_an_empty_class_folder_can_be_kept_as_an_answer() -> None:
    import tempfile

    from wag.evaluate.datasets import image_folder
    from wag.evaluate.tiny import make_image_folder

    with tempfile.TemporaryDirectory() as d:
        folder = make_image_folder(Path(d) / "t", ["cat", "dog"], 1)
        mkdir(folder / "zebra")
        assert image_folder(folder, empty_classes="keep").classnames == ["cat", "dog", "zebra"]


def test_a_one_class_test_set_says_its_accuracy_is_meaningless(
    tmp_path: Path, tiny_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wag.evaluate.tiny import make_image_folder

    folder = make_image_folder(tmp_path / "test", ["cat"], 3)
    code, _, err = run(_zeroshot(tmp_path, tiny_ckpt, folder), capsys)
    line = error_line(err)
    assert code == 2 and "1 class (cat)" in line and "always 1" in line and "at least two classes" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.parquet"))


# ------------------------------------------------------------------------------------------------------
# Let It Wag!: what the builder says
# ------------------------------------------------------------------------------------------------------


def _pool(root: Path, concepts: list[str], n: int) -> Path:
    for ci, c in enumerate(concepts):
        for i in range(n):
            write(root / c / f"{i}.png", png(100 * ci + i))
    return root


def _freq(concepts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "concept": concepts,
            "dataset": "x",
            "pretraining": "web",
            "method": "text",
            "variant": "phrase",
            "count": list(range(1, len(concepts) + 1)),
        }
    )


def test_an_outlier_filter_without_a_model_says_it_is_skipped(tmp_path: Path) -> None:
    from wag.evaluate.letitwag import build_let_it_wag

    pool = _pool(tmp_path / "pool", ["ant", "bee"], 2)
    with pytest.warns(WagWarning, match=r"feature-outlier filter \(outlier_std 3\) is skipped: no model"):
        build_let_it_wag(
            _freq(["ant", "bee"]),
            k=2,
            source="web",
            out_dir=tmp_path / "a",
            images=pool,
            images_per_class=2,
            phash_bits=0,
            progress=False,
        )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", WagWarning)  # asked for no filter: nothing to say
        build_let_it_wag(
            _freq(["ant", "bee"]),
            k=2,
            source="web",
            out_dir=tmp_path / "b",
            images=pool,
            images_per_class=2,
            phash_bits=0,
            outlier_std=None,
            progress=False,
        )
    assert json.loads((tmp_path / "b" / "datasheet.json").read_text())["classes_kept"] == 2


def test_a_dropped_class_hint_never_advises_lowering_one_bit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wds_shard(tmp_path / "corpus" / "a.tar", [("0", "an ant", None), ("1", "a bee", None)])
    concepts_file(tmp_path, "ant\nbee\n")
    _pool(tmp_path / "pool", ["ant", "bee"], 1)
    prof = study_profile(
        tmp_path,
        stages={
            "count": {"variants": ["phrase"]},
            "letitwag": {"images": "pool", "k": 2, "images_per_class": 3, "outlier_std": None},
        },
    )
    code, _, err = run(["letitwag", "build", "--profile", str(prof), "--quiet"], capsys)
    line = error_line(err)  # 32 px images: phash_bits auto is 1
    assert code == 2 and "kept 0 classes" in line and "images_per_class (now 3)" in line and "phash_bits" not in line
    assert not (tmp_path / "study" / "letitwag" / "benchmark").exists()


# ------------------------------------------------------------------------------------------------------
# limits, full disks, notebooks' parameters, closed pipes
# ------------------------------------------------------------------------------------------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)  # 9 anchors, each nine of the one before: 9^9 values in under 500 bytes


def test_a_yaml_alias_bomb_is_refused_before_it_is_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(BOMB) < 500  # expands to 9^9 values
    code, _, err = run(["profiles", str(write(tmp_path / "bomb.yaml", BOMB))], capsys)
    line = error_line(err)
    assert code == 2 and "bomb.yaml" in line and "expands to more than 200,000 values" in line and len(line) < 300


def test_a_message_quotes_only_an_excerpt_of_a_large_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = "name: x\n" + BOMB.split("d:")[0] + "description: [*c, *c, *c, *c]\n"  # within the limit, wrong type
    code, _, err = run(["profiles", str(write(tmp_path / "p.yaml", small))], capsys)
    line = error_line(err)
    assert code == 2 and "'description': Input should be a valid string" in line and "(4 items)" in line
    assert len(line) < 1500


def test_n_boot_beyond_its_limit_is_refused_with_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["reproduce", "--profile", "ci", "--set", "analysis.n_boot=1000000000000", "--out", str(tmp_path / "out")]
    code, _, err = run(argv, capsys)
    line = error_line(err)
    assert code == 2 and "analysis.n_boot" in line and "less than or equal to 1000000" in line
    assert not (tmp_path / "out").exists()


def test_a_full_disk_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(self: Path, *a: object, **k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    code, _, err = run(count_argv(tmp_path), capsys)
    line = error_line(err)
    assert code == 2 and "no space left on the device writing" in line and str(tmp_path / "out") in line
    assert "free some space" in line and not list((tmp_path / "out").rglob("*.tmp"))


@pytest.mark.parametrize(
    ("overrides", "out", "words"),
    [
        ("a.b=5", None, ("unknown key 'a'", "allowed keys")),
        (["analysis.nope=1"], None, ("unknown key 'analysis.nope'",)),
        (5, None, ("overrides must map dotted profile keys", "got int 5", "-p overrides analysis.n_boot=50")),
        ({}, "file", ("out_dir", "existing file", "give a folder")),
        ({}, "/proc/wag-notebook-out", ("out_dir", "not writable")),
    ],
)
def test_notebook_parameters_are_checked_before_the_analysis(
    tmp_path: Path, overrides: object, out: str | None, words: tuple[str, ...]
) -> None:
    from wag.run.notebook import setup

    out_dir = write(tmp_path / "taken", "a file") if out == "file" else (out or tmp_path / "out")
    with pytest.raises(WagError) as info:
        setup("ci", "x", out_dir, overrides)
    msg = str(info.value)
    assert "\n" not in msg.strip() or len(msg) < 500
    for w in words:
        assert w in msg, (w, msg)


def test_notebook_overrides_as_key_value_text_are_read_as_set(tmp_path: Path) -> None:
    from wag.run.notebook import setup

    P, report = setup("ci", "x", tmp_path / "out", ["analysis.n_boot=7", "seed=3"])
    assert (P.analysis.n_boot, P.seed) == (7, 3) and report.dir == tmp_path / "out" / "x"


def test_a_closed_pipe_ends_quietly(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import wag.cli

    def broken(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(wag.cli, "_cmd_profiles", broken)
    code, _, err = run(["profiles"], capsys)
    assert code == 141 and not err.strip()


def test_wag_into_a_closed_pipe_ends_quietly_in_a_real_process() -> None:
    """``wag profiles | head -0``: the reader is gone before wag writes; no error, no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wag.cli", "profiles"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "WAG_DEBUG": ""},
    )
    proc.stdout.close()  # type: ignore[union-attr]
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    assert proc.wait(timeout=300) == 141 and err == "", err


def _labelled_shard(path: Path, labels: list[str]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i, lab in enumerate(labels):
            for name, data in ((f"{i:04d}.png", png(i)), (f"{i:04d}.cls", lab.encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    write(path.parent / "classnames.txt", "cat\ndog\n")
    return write(path, buf.getvalue()).read_bytes()


def test_a_webdataset_test_set_cut_short_is_an_error_not_fewer_images(tmp_path: Path) -> None:
    from wag.evaluate.datasets import webdataset_classification

    data = _labelled_shard(tmp_path / "test" / "s.tar", ["0", "1"] * 20)
    assert len(webdataset_classification(tmp_path / "test")) == 40
    write(tmp_path / "test" / "s.tar", data[: len(data) // 2])
    with pytest.raises(WagError, match=r"s\.tar: the tar shard is cut short"):
        webdataset_classification(tmp_path / "test")


def test_a_webdataset_label_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    from wag.evaluate.datasets import webdataset_classification

    _labelled_shard(tmp_path / "test" / "s.tar", ["0", "dog"])
    with pytest.raises(WagError, match=r"label member 0001\.cls holds 'dog', not a class number"):
        webdataset_classification(tmp_path / "test")
