"""Parameter counts from the installed model definitions (meta device) and Tab. 9's parameter rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from wag.analysis import scorecard as sc
from wag.analysis.sections import model_sizes as sections
from wag.evaluate import model_sizes as ms


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAG_CACHE", str(tmp_path / "cache"))


def test_counts_from_open_clip_configs_and_slip_parts() -> None:
    t = ms.count_parameters(["RN50", "ViT-B-16", ms.SLIP_VITB16]).set_index("config")
    assert t.loc["RN50", "params"] == 102_007_137 and t.loc["RN50", "image_params"] == 38_316_896
    assert t.loc["ViT-B-16", "params"] == 149_620_737
    # SLIP: timm ViT-B/16 trunk (85,798,656: patch-embedding bias, no ln_pre) + 768x512 projection + ViT-B-16's text tower
    text = t.loc["ViT-B-16", "params"] - t.loc["ViT-B-16", "image_params"]
    assert t.loc[ms.SLIP_VITB16, "image_params"] == 85_798_656 + 768 * 512
    assert t.loc[ms.SLIP_VITB16, "params"] == 85_798_656 + 768 * 512 + text == 149_619_969


def test_counts_are_cached_by_their_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ms.count_parameters(["RN50"])

    def no_build(name: str) -> tuple[int, int]:
        raise AssertionError(f"{name} rebuilt although cached")

    monkeypatch.setattr(ms, "_count_open_clip", no_build)
    assert ms.count_parameters(["RN50"]).equals(first)
    with pytest.raises(AssertionError, match="rebuilt"):
        ms.count_parameters(["RN101"])  # another input: another key


def test_unknown_config_is_one_clear_error() -> None:
    with pytest.raises(ms.ModelConfigError, match="not an open_clip configuration"):
        ms.count_parameters(["ViT-Nope-99"])
    with pytest.raises(ms.ModelConfigError, match="no installed model definition"):
        ms.counting_config({"backbone": "X", "source": "y", "arch": "hf-hub:org/x"})


def test_configs_are_chosen_from_the_registry_entry() -> None:
    assert ms.counting_config({"arch": "ViT-B-32-quickgelu", "pretrained": "openai"})[0] == "ViT-B-32-quickgelu"
    hub = {"arch": "hf-hub:thaottn/OpenCLIP-resnet50-CC12M", "backbone": "RN50", "source": "cc12m"}
    assert ms.counting_config(hub)[0] == "RN50"
    assert ms.counting_config({"loader": "slip", "checkpoint": "x.pt"})[0] == ms.SLIP_VITB16
    assert "ViT-B-16-SigLIP-512" in ms.variants("ViT-B-16-SigLIP")
    assert ms.config_difference("ViT-B-16-SigLIP", "ViT-B-16-SigLIP-512")[0] == "vision_cfg.image_size 224 -> 512"


def test_table9_counts_match_the_paper_but_siglip_b16_which_is_its_512px_variant() -> None:
    t = sections.table9_params()
    assert len(t) == 40 and t["model"].is_unique
    differs = t[t["status"] != sc.MATCH]
    assert list(differs["model"]) == ["ViT-B-16/siglip"]
    r = differs.iloc[0]
    assert r["params"] == 203_155_970 and r["paper_M"] == pytest.approx(203.79)
    # the printed count is that of the same towers at 512 px: 768 x (32^2 - 14^2) more position embeddings
    assert "ViT-B-16-SigLIP-512 (203,791,874 parameters)" in r["how"]
    assert f"{768 * (32**2 - 14**2):+,}" in r["how"]
    slip = t.set_index("model").loc["ViT-B-16/cc3m"]
    assert slip["config"] == ms.SLIP_VITB16 and slip["status"] == sc.MATCH
    rows = sc.rows_frame(sections.table9_param_rows(t)).set_index("id")
    assert len(rows) == 40 and rows.loc["tab9/laion2b/ViT-bigG-14/params", "ours"] == pytest.approx(2539.567105)
    rep = sc.paper_reported().by_id()
    judged = [rep[i].judge(v)[0] for i, v in rows["ours"].items()]
    assert (
        judged.count(sc.MATCH) == 39
        and rep["tab9/siglip/ViT-B-16/params"].judge(rows.loc["tab9/siglip/ViT-B-16/params", "ours"])[0] == sc.DIFFERS
    )
