"""Class-conditional pipelines, batched generation and the judged-accuracy metric of the T2I stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import example_study_data
from PIL import Image

from wag.evaluate import t2i as T
from wag.evaluate.class_pipeline import ClassConditionalPipeline, ClassPipelineError, class_index
from wag.evaluate.params import T2IParams

NAMES = ["dog", "hot dog", "cat"]


def tiny_class_pipeline(names=NAMES, patch: int = 2, seed: int = 0) -> ClassConditionalPipeline:
    """A random-init class-conditional pipeline on 8 px images (UNet on 4×4×12 pixel-unshuffled tensors)."""
    from diffusers import DDIMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(
        sample_size=8 // patch,
        in_channels=3 * patch * patch,
        out_channels=3 * patch * patch,
        layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("DownBlock2D",) * 2,
        up_block_types=("UpBlock2D",) * 2,
        num_class_embeds=len(names),
        norm_num_groups=4,
        add_attention=False,
    )
    sched = DDIMScheduler(num_train_timesteps=50, prediction_type="v_prediction", timestep_spacing="trailing")
    pipe = ClassConditionalPipeline(unet=unet.eval(), scheduler=sched, class_names=list(names), patch=patch)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def cpipe() -> ClassConditionalPipeline:
    return tiny_class_pipeline()


def _arr(images) -> np.ndarray:
    return np.stack([np.asarray(im) for im in images])


# -- prompt -> class --------------------------------------------------------------------------


def test_prompt_maps_to_the_longest_whole_word_class_name_case_insensitively():
    assert class_index("a photo of a dog.", NAMES) == 0
    assert class_index("A HOT DOG on a plate", NAMES) == 1  # longest match: 'hot dog', not 'dog'
    assert class_index("cat", NAMES) == 2
    assert class_index("a dog-like cat toy", ["dog-like cat", "cat"]) == 0
    with pytest.raises(
        ClassPipelineError,
        match=r"prompt 'a photo of dogs' names none of the pipeline's 3 classes \('dog', 'hot dog', 'cat'\)",
    ):
        class_index("a photo of dogs", NAMES)  # 'dogs' is not the word 'dog'
    with pytest.raises(ClassPipelineError, match="names none"):
        class_index("concatenate", NAMES)  # 'cat' inside a word


def test_pipeline_conditions_on_the_class_the_prompt_names(cpipe):
    def one(prompt: str) -> np.ndarray:
        return cpipe(
            prompt, num_inference_steps=3, generator=torch.Generator().manual_seed(5), output_type="np"
        ).images[0]

    assert np.array_equal(one("a photo of a dog"), one("DOG"))
    assert not np.allclose(one("a photo of a dog"), one("a photo of a cat"), atol=1e-3)
    assert not np.allclose(one("a photo of a dog"), one("a hot dog"), atol=1e-3)
    with pytest.raises(ClassPipelineError, match="no unconditional class.*guidance_scale 1"):
        cpipe("a dog", num_inference_steps=1, guidance_scale=7.5)
    with pytest.raises(ClassPipelineError, match="names none"):
        cpipe("a horse", num_inference_steps=1)
    img = cpipe("cat", num_inference_steps=2, num_images_per_prompt=2).images
    assert len(img) == 2 and img[0].size == (8, 8) and img[0].mode == "RGB"


def test_pipeline_needs_one_name_per_class_embedding():
    p = tiny_class_pipeline()
    with pytest.raises(ClassPipelineError, match="num_class_embeds=3, 2 class_names"):
        ClassConditionalPipeline(unet=p.unet, scheduler=p.scheduler, class_names=["a", "b"])
    with pytest.raises(ClassPipelineError, match="repeat a name"):
        ClassConditionalPipeline(unet=p.unet, scheduler=p.scheduler, class_names=["a", "b", "a"])


# -- save / load ------------------------------------------------------------------------------


def test_save_pretrained_round_trip_through_load_pipeline(tmp_path, cpipe):
    cpipe.save_pretrained(tmp_path / "pipe")
    index = json.loads((tmp_path / "pipe" / "model_index.json").read_text())
    assert index["_class_name"] == "ClassConditionalPipeline" and index["class_names"] == NAMES and index["patch"] == 2
    loaded = T.load_pipeline(str(tmp_path / "pipe"))
    assert type(loaded) is ClassConditionalPipeline
    assert loaded.config.class_names == NAMES and loaded.config.patch == 2
    for (k, a), (k2, b) in zip(cpipe.unet.state_dict().items(), loaded.unet.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b), k
    kw = {"num_inference_steps": 3, "output_type": "np"}
    a = cpipe("a hot dog", generator=torch.Generator().manual_seed(1), **kw).images
    b = loaded("a hot dog", generator=torch.Generator().manual_seed(1), **kw).images
    np.testing.assert_allclose(a, b, atol=1e-5)  # same weights and sampler (float kernels may differ in the last bits)
    c = loaded("a dog", generator=torch.Generator().manual_seed(1), **kw).images
    assert np.abs(a - c).max() > 1e-3  # the comparison can fail: another class gives other images


def test_a_user_folder_naming_another_class_is_not_imported(tmp_path, cpipe):
    cpipe.save_pretrained(tmp_path / "pipe")
    index = json.loads((tmp_path / "pipe" / "model_index.json").read_text())
    index["_class_name"] = "os.system"
    (tmp_path / "pipe" / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(
        T.ModelWeightsMissingError,
        match="names pipeline class 'os.system', which is neither a diffusers pipeline nor one of wag's",
    ):
        T.load_pipeline(str(tmp_path / "pipe"))


# -- batched generation -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sd():
    return T.tiny_pipeline()


@pytest.mark.parametrize("which", ["sd", "class"])
def test_one_batched_call_gives_the_images_of_one_call_per_seed(which, sd, cpipe, tmp_path, monkeypatch):
    pipe, prompt, gs = (sd, "a photo of a dog", 7.5) if which == "sd" else (cpipe, "a photo of a dog", 1.0)
    calls = []
    orig = type(pipe).__call__

    def spy(self, *a, **kw):
        calls.append(kw.get("num_images_per_prompt", 1))
        return orig(self, *a, **kw)

    per_seed = [
        orig(
            pipe,
            prompt,
            num_inference_steps=2,
            guidance_scale=gs,
            generator=torch.Generator().manual_seed(10 + j),
            output_type="pil",
        ).images[0]
        for j in range(3)
    ]
    monkeypatch.setattr(type(pipe), "__call__", spy)
    batched = T.generate_images(pipe, prompt, k=3, seed=10, steps=2, guidance_scale=gs, out_dir=tmp_path / "imgs")
    assert calls == [3]  # one call for the three images
    assert np.array_equal(_arr(batched), _arr(per_seed))
    assert len({_arr([im]).tobytes() for im in batched}) == 3  # distinct seeds, distinct images
    # resume: kept PNGs are reused as they are, only the missing one is made (alone, from its own seed)
    (tmp_path / "imgs" / "11.png").unlink()
    Image.new("RGB", batched[0].size, (255, 0, 0)).save(tmp_path / "imgs" / "10.png")
    calls.clear()
    again = T.generate_images(pipe, prompt, k=3, seed=10, steps=2, guidance_scale=gs, out_dir=tmp_path / "imgs")
    assert calls == [1]
    assert np.asarray(again[0]).tolist() == np.asarray(Image.new("RGB", batched[0].size, (255, 0, 0))).tolist()
    assert np.array_equal(np.asarray(again[1]), np.asarray(per_seed[1])) and np.array_equal(
        np.asarray(again[2]), np.asarray(per_seed[2])
    )


# -- judged accuracy --------------------------------------------------------------------------

COLOURS = {"red": (230, 20, 20), "green": (20, 230, 20), "blue": (20, 20, 230)}


class ColourPipeline:
    """Solid images: 'red' right, 'green' always wrong (red), 'blue' right on even seeds only (red on odd ones)."""

    def __call__(
        self, prompt, *, num_inference_steps, guidance_scale, generator, num_images_per_prompt, output_type="pil"
    ):
        from types import SimpleNamespace

        seeds = [g.initial_seed() for g in generator]
        colour = {"red": lambda s: "red", "green": lambda s: "red", "blue": lambda s: "blue" if s % 2 == 0 else "red"}[
            prompt
        ]
        return SimpleNamespace(images=[Image.new("RGB", (16, 16), COLOURS[colour(s)]) for s in seeds])


class ColourJudge:
    """Right by construction: the concept of the image's dominant channel."""

    concepts = ["blue", "red", "green"]  # not in prompt order: the metric must use the judge's own index

    def scores(self, images):
        m = np.stack([np.asarray(im, dtype=float).mean(axis=(0, 1)) for im in images])  # (N, 3) RGB
        return m[:, [2, 0, 1]]


def test_judged_accuracy_is_the_fraction_of_images_judged_as_the_prompted_concept():
    P = T2IParams(images_per_prompt=4, seed=0, steps=1, guidance_scale=1.0)
    prompts = {c: [c] for c in COLOURS}
    df = T.evaluate_t2i(
        ColourPipeline(), prompts, params=P, judge=ColourJudge(), clipscore=False, progress=False, model_name="colours"
    )
    assert set(df["metric"]) == {"judged_accuracy"}
    assert df.set_index("concept")["value"].to_dict() == {"red": 1.0, "green": 0.0, "blue": 0.5}
    # two prompts per concept: the fraction is over all its images
    df2 = T.evaluate_t2i(
        ColourPipeline(), {"blue": ["blue", "blue"]}, params=P, judge=ColourJudge(), clipscore=False, progress=False
    )
    assert df2["value"].tolist() == [0.5] and df2["n_prompts"].tolist() == [2]
    with pytest.raises(T.WagError, match=r"judge does not know 1 concept\(s\) \('yellow'\)"):
        T.evaluate_t2i(
            ColourPipeline(), {"yellow": ["yellow"]}, params=P, judge=ColourJudge(), clipscore=False, progress=False
        )
    with pytest.raises(T.WagError, match="nothing to score"):
        T.evaluate_t2i(ColourPipeline(), prompts, params=P, clipscore=False, progress=False)


# -- the study stage --------------------------------------------------------------------------

QUIET = {"progress": False, "log": lambda *_: None}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from wag.study.example import write_example

    return write_example(tmp_path_factory.mktemp("inputs"), n_samples=40, n_shards=1)


def _spec(root: Path, out: Path, t2i_concepts: list[str], **over):
    from wag.study.spec import StudySpec

    data = example_study_data()["study"]
    (root / "t2i_concepts.txt").write_text("\n".join(t2i_concepts) + "\n")
    data.update(root=str(root), output=str(out), datasets=[], models=[], tagger={"kind": "none"})
    data["concepts"] = [{"dataset": "t2i-set", "file": "t2i_concepts.txt", "task": "t2i"}]
    data["stages"] = {"count": {"variants": ["phrase"]}}
    data.update(over)
    return StudySpec.model_validate(data)


def _colour_judge(folder: Path) -> Path:
    """A small-CNN tagger checkpoint trained on noisy solid colours (knows an extra concept, in its own order)."""
    from wag.frequency.checkpoint_tagger import save_tagger_checkpoint, small_cnn, to_tensor

    names = ["purple", "blue", "red", "green"]
    rgb = {"purple": (150, 20, 150), **COLOURS}
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 40)
    x = np.clip(
        np.array([rgb[names[i]] for i in y], dtype=float)[:, None, None, :] + rng.normal(0, 12, (len(y), 16, 16, 3)),
        0,
        255,
    ).astype(np.uint8)
    torch.manual_seed(0)
    net = small_cnn(4, 8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = to_tensor(x), torch.from_numpy(y)
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return save_tagger_checkpoint(folder, net.eval(), names, arch="small_cnn", width=8, image_size=16)


def test_t2i_stage_with_a_checkpoint_judge_and_no_clip_model(inputs, tmp_path, monkeypatch):
    from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
    from wag.study.run import run_study, study_status

    judge = _colour_judge(tmp_path / "judge")
    assert [
        load_tagger_checkpoint(judge).concepts[i]
        for i in load_tagger_checkpoint(judge)
        .scores([Image.new("RGB", (16, 16), c) for c in COLOURS.values()])
        .argmax(1)
    ] == list(COLOURS)  # the judge is right on pure colours
    monkeypatch.setattr(T, "load_pipeline", lambda *a, **k: ColourPipeline())
    stages = {
        "count": {"variants": ["phrase"]},
        "t2i": {
            "templates": ["{c}"],
            "images_per_prompt": 4,
            "steps": 1,
            "guidance_scale": 1.0,
            "judge": {"kind": "checkpoint", "model": str(judge)},
        },
    }
    spec = _spec(
        inputs, tmp_path / "out", list(COLOURS), t2i=[{"name": "colours", "model": "colour-pipeline"}], stages=stages
    )
    run_study(spec, ["t2i"], **QUIET)
    perf = pd.read_parquet(spec.output_path / "t2i" / "performance.parquet")
    assert (
        set(perf["metric"]) == {"judged_accuracy"}
        and set(perf["dataset"]) == {"t2i-set"}
        and set(perf["model"]) == {"colours"}
    )
    assert perf.set_index("concept")["value"].to_dict() == {"red": 1.0, "green": 0.0, "blue": 0.5}
    assert len(list((spec.output_path / "t2i" / "images").rglob("*.png"))) == 12
    # the judge is part of the stage's key: another judge makes the stage stale
    other = _colour_judge(tmp_path / "judge2")
    stages["t2i"]["judge"]["model"] = str(other)
    spec2 = _spec(
        inputs, tmp_path / "out", list(COLOURS), t2i=[{"name": "colours", "model": "colour-pipeline"}], stages=stages
    )
    st = study_status(spec2).set_index("stage")
    assert st.loc["t2i", "state"] == "stale" and "judge" in st.loc["t2i", "reason"]
    # a concept the judge does not know: one error before any image is made
    spec3 = _spec(
        inputs,
        tmp_path / "out3",
        ["red", "yellow"],
        t2i=[{"name": "colours", "model": "colour-pipeline"}],
        stages=stages,
    )
    with pytest.raises(Exception, match=r"judge checkpoint does not know 1 T2I concept\(s\) \('yellow'\)"):
        run_study(spec3, ["t2i"], **QUIET)
    assert not list((tmp_path / "out3").rglob("*.png"))


def test_t2i_stage_runs_a_class_conditional_pipeline_folder(inputs, tmp_path, cpipe):
    from wag.frequency.checkpoint_tagger import load_tagger_checkpoint
    from wag.study.run import run_study

    cpipe.save_pretrained(tmp_path / "pipe")
    judge = _colour_judge(tmp_path / "judge")
    names = ["dog", "cat"]
    ck = load_tagger_checkpoint(judge)
    from wag.frequency.checkpoint_tagger import save_tagger_checkpoint

    save_tagger_checkpoint(
        tmp_path / "judge-dc", ck.net, ["x", "cat", "dog", "y"], arch="small_cnn", width=8, image_size=16
    )
    stages = {
        "count": {"variants": ["phrase"]},
        "t2i": {
            "templates": ["a photo of a {c}"],
            "images_per_prompt": 3,
            "steps": 2,
            "guidance_scale": 1.0,
            "seed": 4,
            "judge": {"kind": "checkpoint", "model": str(tmp_path / "judge-dc")},
        },
    }
    spec = _spec(inputs, tmp_path / "out", names, t2i=[{"name": "cc", "model": str(tmp_path / "pipe")}], stages=stages)
    run_study(spec, ["t2i"], **QUIET)
    perf = pd.read_parquet(spec.output_path / "t2i" / "performance.parquet").set_index("concept")["value"]
    # recompute from the saved images: generated from seeds 4..6 and judged among the T2I concepts only
    judge_dc = load_tagger_checkpoint(tmp_path / "judge-dc").restricted(names)
    for c in names:
        files = sorted((spec.output_path / "t2i" / "images").rglob(f"{c}/p0/*.png"))
        assert [f.name for f in files] == ["4.png", "5.png", "6.png"]
        imgs = [Image.open(f).convert("RGB") for f in files]
        fresh = cpipe(
            f"a photo of a {c}",
            num_inference_steps=2,
            num_images_per_prompt=3,
            generator=[torch.Generator().manual_seed(s) for s in (4, 5, 6)],
        ).images
        assert np.array_equal(_arr(imgs), _arr(fresh))
        pred = [judge_dc.concepts[i] for i in judge_dc.scores(imgs).argmax(1)]
        assert perf[c] == pytest.approx(np.mean([p == c for p in pred]))


def test_bad_judge_or_guidance_is_one_error_before_anything_is_written(inputs, tmp_path, cpipe):
    from wag.study.run import run_study
    from wag.study.spec import StudyError

    cpipe.save_pretrained(tmp_path / "pipe")
    t2i = [{"name": "cc", "model": str(tmp_path / "pipe")}]
    base = {"templates": ["{c}"], "images_per_prompt": 1, "steps": 1, "guidance_scale": 1.0}
    cases = [
        (
            {**base, "judge": {"kind": "checkpoint", "model": str(tmp_path / "nope")}},
            r"study.stages.t2i.judge.model: .*nope is not a tagger checkpoint folder",
        ),
        (
            {**base, "judge": {"kind": "openclip", "model": "no-such-model"}},
            r"study.stages.t2i.judge.model: unknown model 'no-such-model'",
        ),
        (
            {
                **base,
                "guidance_scale": 7.5,
                "judge": {"kind": "checkpoint", "model": str(_colour_judge(tmp_path / "j"))},
            },
            r"no unconditional class.*set study.stages.t2i.guidance_scale to 1 \(now 7.5\)",
        ),
        (base, r"T2I needs a CLIP model for CLIP-score or a judge"),
    ]
    for i, (opts, words) in enumerate(cases):
        spec = _spec(
            inputs, tmp_path / f"out{i}", NAMES, t2i=t2i, stages={"count": {"variants": ["phrase"]}, "t2i": opts}
        )
        with pytest.raises(StudyError, match=words) as info:
            run_study(spec, ["t2i"], **QUIET)
        assert "\n" not in str(info.value).split(":\n  ", 1)[-1], str(info.value)  # one problem, one line
        assert not (tmp_path / f"out{i}").exists()
    for bad, words in [
        ({"kind": "none", "model": "x"}, "openclip"),
        ({"kind": "checkpoint"}, "model"),
        ({"kind": "openclip", "model": "m", "templates": ["a photo"]}, "must contain"),
        ({"kind": "checkpoint", "model": "x", "extra": 1}, "extra"),
    ]:
        with pytest.raises(ValueError, match=words):
            _spec(inputs, tmp_path / "never", NAMES, t2i=t2i, stages={"t2i": {**base, "judge": bad}})
    assert not (tmp_path / "never").exists()


def test_t2i_stage_with_an_openclip_judge_and_clip_score(inputs, tmp_path, monkeypatch):
    from wag.evaluate.models import load_clip
    from wag.evaluate.tagger import OpenClipTagger
    from wag.study.run import run_study

    monkeypatch.setattr(T, "load_pipeline", lambda *a, **k: ColourPipeline())
    data = example_study_data()["study"]
    stages = {
        "count": {"variants": ["phrase"]},
        "t2i": {
            "templates": ["{c}"],
            "images_per_prompt": 2,
            "steps": 1,
            "guidance_scale": 1.0,
            "judge": {"kind": "openclip", "model": "tiny", "templates": ["a {} square"]},
        },
    }
    spec = _spec(
        inputs,
        tmp_path / "out",
        list(COLOURS),
        t2i=[{"name": "colours", "model": "colour-pipeline"}],
        stages=stages,
        models=data["models"],
    )
    run_study(spec, ["t2i"], **QUIET)
    perf = pd.read_parquet(spec.output_path / "t2i" / "performance.parquet")
    assert set(perf["metric"]) == {"exp_clipscore", "max_clipscore", "judged_accuracy"}
    got = perf[perf["metric"] == "judged_accuracy"].set_index("concept")["value"]
    judge = OpenClipTagger(load_clip(spec.model_spec("tiny")), list(COLOURS), templates=("a {} square",))
    for c in COLOURS:
        imgs = [
            Image.open(f).convert("RGB") for f in sorted((spec.output_path / "t2i" / "images").rglob(f"{c}/p0/*.png"))
        ]
        assert len(imgs) == 2
        assert got[c] == pytest.approx(np.mean([judge.concepts[i] == c for i in judge.scores(imgs).argmax(1)]))
