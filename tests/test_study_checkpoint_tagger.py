"""The study's ``tagger.kind: checkpoint``: a trained multi-label tagger folder, as a user (or the synthetic world) saves it."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import study_profile

from wag.cli import main
from wag.cli.study import load_study
from wag.frequency.checkpoint_tagger import (
    CONFIG,
    CheckpointTagger,
    TaggerCheckpointError,
    load_tagger_checkpoint,
    save_tagger_checkpoint,
    small_cnn,
)
from wag.study.example import CONCEPTS, write_example

KNOWN = CONCEPTS[:8] + ["zebra"]  # the tagger knows 8 of the study's 12 concepts, and one it does not have


def _net(k: int):
    import torch

    torch.manual_seed(0)
    return small_cnn(k, 4)


def _profile(root: Path, tmp: Path, tagger: dict) -> Path:
    """The example study with ``tagger`` and no Let It Wag! pool."""
    return study_profile(root, tmp / "study.yaml", tagger=tagger, **{"stages.letitwag.images": None})


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt")
    root = write_example(tmp / "inputs")
    save_tagger_checkpoint(root / "tagger", _net(len(KNOWN)), KNOWN, arch="small_cnn", width=4, image_size=32)
    prof = _profile(
        root, tmp, {"kind": "checkpoint", "model": "tagger", "name": "mycnn", "thresholds": [0.5], "min_score": 0.0}
    )
    err = io.StringIO()
    with contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["study", "run", "--profile", str(prof), "--quiet", "--stages", "tag", "integrate"]) == 0
    said = err.getvalue() + " ".join(str(w.message) for w in caught)
    assert "6 study concepts get no tags" in said  # the CLI names the concepts the tagger does not know
    return root, load_study(str(prof))


def test_checkpoint_round_trip_scores_identically(tmp_path):
    from PIL import Image

    net = _net(3)
    save_tagger_checkpoint(tmp_path / "t", net, ["a", "b", "c"], arch="small_cnn", width=4, image_size=32)
    t = load_tagger_checkpoint(tmp_path / "t" / CONFIG)
    assert isinstance(t, CheckpointTagger) and t.concepts == ["a", "b", "c"] and t.image_size == 32
    ims = [Image.new("RGB", (32, 32), (i * 40, 10, 200 - i * 40)) for i in range(4)]
    direct = CheckpointTagger(net, ["a", "b", "c"], image_size=32).scores(ims)
    assert direct.shape == (4, 3)
    assert (t.scores(ims) == direct).all()


def test_tags_are_the_checkpoints_scores_on_the_corpus_images_for_the_concepts_it_knows(tagged):
    from wag.corpus import iter_shards
    from wag.frequency.tagging import iter_shard_images

    root, spec = tagged
    tags = pd.read_parquet(spec.output_path / "tag" / "tags.parquet")
    assert set(tags["concept"]) <= set(
        CONCEPTS[:8]
    )  # 'zebra' is not a study concept, the last 4 are unknown to the tagger
    direct = load_tagger_checkpoint(root / "tagger", min_score=0.0).tag(
        iter_shard_images(iter_shards([str(p) for p in sorted((root / "corpus").glob("*.tar"))], fmt="wds"))
    )
    direct = direct[direct["concept"].isin(CONCEPTS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        tags.reset_index(drop=True)[["sample_id", "concept", "score"]],
        direct[["sample_id", "concept", "score"]],
        check_dtype=False,
    )
    freq = pd.read_parquet(spec.output_path / "tag" / "frequencies.parquet")
    assert set(freq["variant"]) == {"tagger:mycnn@0.5"}


@pytest.mark.parametrize(
    "folder, message",
    [("nowhere", "is not a tagger checkpoint folder"), ("badarch", "unknown tagger architecture 'resnet9'")],
)
def test_a_bad_tagger_checkpoint_is_one_clear_error_before_anything_is_written(tmp_path, capsys, folder, message):
    import json

    root = write_example(tmp_path / "inputs")
    (root / "badarch").mkdir()
    (root / "badarch" / "tagger.safetensors").write_bytes(b"")
    (root / "badarch" / CONFIG).write_text(json.dumps({"format": "wag-tagger", "arch": "resnet9", "concepts": ["dog"]}))
    prof = _profile(root, tmp_path, {"kind": "checkpoint", "model": folder})
    assert main(["study", "run", "--profile", str(prof), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "study.tagger.model" in err and message in err and "Traceback" not in err
    assert not (root / "study").exists()
    with pytest.raises(TaggerCheckpointError, match=message):
        load_tagger_checkpoint(root / folder)


def test_checkpoint_kind_needs_a_folder():
    from wag.study.spec import TaggerSpec

    with pytest.raises(ValueError, match="needs model: .the tagger checkpoint folder"):
        TaggerSpec(kind="checkpoint")
