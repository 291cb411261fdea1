"""wag.evaluate.t2i: a tiny diffusers pipeline end to end (no download), seeds, CLIP-score and aesthetics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wag.evaluate import t2i as T
from wag.evaluate.params import T2IParams
from wag.evaluate.tiny import TINY_ARCH, save_tiny_checkpoint


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from wag.evaluate.models import load_clip

    return load_clip(f"{TINY_ARCH}@{save_tiny_checkpoint(tmp_path_factory.mktemp('c') / 'tiny.safetensors')}")


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    return T.tiny_pipeline(tmp_path_factory.mktemp("p"))


def test_tiny_pipeline_end_to_end_with_aesthetics(tmp_path, pipe, clip):
    from safetensors.torch import save_file

    w = torch.arange(32, dtype=torch.float32).reshape(1, 32) / 32
    save_file({"layers.0.weight": w, "layers.0.bias": torch.tensor([5.0])}, str(tmp_path / "aest.safetensors"))
    P = T2IParams(images_per_prompt=2, steps=1, seed=3, aesthetic_weights=str(tmp_path / "aest.safetensors"))
    prompts = {"dog": ["a dog", "a photo of a dog"]}
    df = T.evaluate_t2i(
        pipe, prompts, params=P, clip=clip, image_dir=tmp_path / "imgs", model_name="tiny", progress=False
    )
    assert set(df["metric"]) == {"exp_clipscore", "max_clipscore", "exp_aesthetics", "max_aesthetics"}
    assert set(df["task"]) == {"t2i"} and (df["n_prompts"] == 2).all()
    files = sorted((tmp_path / "imgs" / "dog").rglob("*.png"))
    assert [f.relative_to(tmp_path / "imgs" / "dog").as_posix() for f in files] == [
        "p0/3.png",
        "p0/4.png",
        "p1/3.png",
        "p1/4.png",
    ]
    # recompute every score by hand from the saved images
    from PIL import Image

    pred = T.AestheticPredictor.from_safetensors(tmp_path / "aest.safetensors")
    per_prompt = {"clipscore": [], "aesthetics": []}
    for pi, prompt in enumerate(prompts["dog"]):
        ims = [Image.open(tmp_path / "imgs" / "dog" / f"p{pi}" / f"{s}.png").convert("RGB") for s in (3, 4)]
        with torch.no_grad():
            f = torch.nn.functional.normalize(
                clip.model.encode_image(torch.stack([clip.preprocess(i) for i in ims])), dim=-1
            )
            t = torch.nn.functional.normalize(clip.model.encode_text(clip.tokenizer([prompt])), dim=-1)
        cs = (100 * (f @ t.T).squeeze(1)).clamp(min=0).numpy()
        ae = (f @ w.T).squeeze(1).numpy() + 5.0
        np.testing.assert_allclose(ae, pred(f).detach().numpy(), rtol=1e-5)
        per_prompt["clipscore"].append((cs.mean(), cs.max()))
        per_prompt["aesthetics"].append((ae.mean(), ae.max()))
    got = df.set_index("metric")["value"]
    for m, pairs in per_prompt.items():
        assert got[f"exp_{m}"] == pytest.approx(np.mean([p[0] for p in pairs]), rel=1e-4, abs=1e-4)
        assert got[f"max_{m}"] == pytest.approx(np.mean([p[1] for p in pairs]), rel=1e-4, abs=1e-4)
    assert got["max_aesthetics"] >= got["exp_aesthetics"]
    # fixed seeds: regenerating image seed 3 gives the saved pixels
    again = T.generate_images(pipe, "a dog", k=1, seed=3, steps=1, guidance_scale=P.guidance_scale)[0]
    assert np.array_equal(
        np.asarray(again), np.asarray(Image.open(tmp_path / "imgs" / "dog" / "p0" / "3.png").convert("RGB"))
    )


def test_t2i_bad_input(pipe, clip):
    with pytest.raises(Exception, match="empty prompt"):
        T.evaluate_t2i(pipe, {"dog": [" "]}, params=T2IParams(images_per_prompt=1, steps=1), clip=clip, progress=False)
    with pytest.raises(T.ModelWeightsMissingError, match="save_pretrained"):
        T.load_pipeline("no-such-org/no-such-pipeline")
    with pytest.raises(T.ModelWeightsMissingError, match="aesthetic"):
        T.AestheticPredictor.from_safetensors("/nonexistent/aest.safetensors")


def test_cli_t2i_with_a_saved_local_pipeline(tmp_path, pipe, clip):
    from wag.cli import main

    pipe.save_pretrained(tmp_path / "pipe")
    (tmp_path / "concepts.txt").write_text("dog\ncat\n")
    ckpt = clip.pretrained
    argv = [
        "evaluate",
        "t2i",
        "--model",
        str(tmp_path / "pipe"),
        "--dataset",
        "toy",
        "--concepts",
        str(tmp_path / "concepts.txt"),
        "--clip-model",
        f"{TINY_ARCH}@{ckpt}",
        "--images-per-prompt",
        "1",
        "--steps",
        "1",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(argv) == 0
    import pandas as pd

    (table,) = (tmp_path / "out" / "t2i" / "toy").glob("*.parquet")
    df = pd.read_parquet(table)
    assert set(df["concept"]) == {"dog", "cat"} and set(df["metric"]) == {"exp_clipscore", "max_clipscore"}
    assert len(list((tmp_path / "out" / "t2i" / "toy").rglob("*.png"))) == 2
