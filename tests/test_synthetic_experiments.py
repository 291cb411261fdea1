"""Summaries of the synthetic experiments on hand-made tables (fast; the chain itself is in test_synthetic_train.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.experiments import collision_summary, intervention_summary, rebalance_summary


def test_intervention_difference_in_differences():
    df = pd.DataFrame(
        {
            "concept": list("abcdef"),
            "group": ["treated"] * 2 + ["control"] * 4,
            "accuracy_before": [0.1, 0.2, 0.3, 0.3, 0.5, 0.5],
            "accuracy_after": [0.4, 0.4, 0.35, 0.25, 0.55, 0.55],
            "predicted_change": [0.2, 0.2, 0, 0, 0, 0],
        }
    )
    df["observed_change"] = df["accuracy_after"] - df["accuracy_before"]
    s = intervention_summary(df).set_index("group")
    assert s.at["treated", "observed_change"] == pytest.approx(0.25)
    assert s.at["control", "observed_change"] == pytest.approx(0.025)
    assert s.at["treated − control", "observed_change"] == pytest.approx(0.225)
    assert s.at["treated − control", "predicted_change"] == pytest.approx(0.2)
    assert s.at["treated − control", "se"] > 0


def test_rebalance_summary_parts_and_budget():
    df = pd.DataFrame(
        {
            "concept": list("abc"),
            "part": ["tail", "middle", "head"],
            "count_before": [1, 10, 100],
            "count_after": [30, 40, 41],
            "accuracy_before": [0.0, 0.5, 0.9],
            "accuracy_after": [0.3, 0.5, 0.8],
        }
    )
    s = rebalance_summary(df).set_index("part")
    assert s.at["tail", "gain"] == pytest.approx(0.3) and s.at["head", "gain"] == pytest.approx(-0.1)
    assert s.at["all", "occurrences_before"] == 111 and s.at["all", "occurrences_after"] == 111


def test_collision_summary_detects_a_high_frequency_plateau():
    counts = np.round(np.exp(np.linspace(0, np.log(1000), 40)))
    x = np.log10(counts)
    linear = 0.1 + 0.25 * x
    plateau = np.minimum(linear, 0.1 + 0.25 * np.quantile(x, 0.6))
    rows = []
    for name, y in (("masked", linear), ("standard", plateau)):
        rows.append(
            pd.DataFrame(
                {
                    "concept": range(40),
                    "count": counts,
                    "value": y,
                    "variant": name,
                    "loss": name,
                    "batch_size": 64,
                    "expected_partners": 63 * counts / counts.sum(),
                }
            )
        )
    s = collision_summary(pd.concat(rows)).set_index("variant")
    assert s.at["masked", "high_frequency_dip"] == pytest.approx(0, abs=1e-9)
    assert s.at["standard", "high_frequency_dip"] < -0.05


def test_t2i_summary_head_vs_tail():
    from wag.synthetic.t2i import t2i_summary

    counts = np.array([1, 2, 5, 10, 50, 100, 500, 1000])
    acc = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9])
    s = t2i_summary(counts, acc)
    assert s["spearman_log_count"] == pytest.approx(1.0)
    assert s["accuracy_top_quartile"] == pytest.approx(0.85) and s["accuracy_bottom_quartile"] == pytest.approx(0.025)
    assert s["chance"] == pytest.approx(1 / 8)


def test_t2i_judge_beats_chance_on_a_tiny_world():
    from wag.synthetic import generator as gen
    from wag.synthetic.t2i import train_judge
    from wag.synthetic.train import configure_torch

    configure_torch(1)
    concepts = gen.draw_concepts(10, np.random.default_rng(0))
    _, acc = train_judge(concepts, 60, 0, per_class=20, batch_size=64, n_test=10)
    assert acc >= 0.6  # chance is 0.1


def test_t2i_studio_renders_are_deterministic_centred_objects():
    from wag.synthetic import generator as gen
    from wag.synthetic.t2i import View, render_studio

    concepts = gen.draw_concepts(5, np.random.default_rng(0))
    view = View()
    a = render_studio(np.arange(5), concepts, view, np.random.default_rng(1))
    b = render_studio(np.arange(5), concepts, view, np.random.default_rng(1))
    assert a.dtype == np.uint8 and a.shape == (5, view.size, view.size, 3)
    assert np.array_equal(a, b)
    corner = a[:, 0, 0].astype(float)
    centre = (
        a[:, view.size // 2 - 2 : view.size // 2 + 2, view.size // 2 - 2 : view.size // 2 + 2]
        .astype(float)
        .mean((1, 2))
    )
    assert np.all(np.abs(corner - 255 * view.background) < 30)  # plain background
    assert np.abs(centre - 255 * view.background).max(1).min() > 10  # every image shows an object in the middle


# ------------------------------------------------------------------------------------------- the registry


TINY = {
    "world": {"n_concepts": 8, "min_count": 2, "max_count": 40, "n_test": 2, "n_retrieval": 0},
    "model": {"widths": [32], "headline_width": 32},
    "train": {"steps": 2, "batch_size": 8, "warmup": 1},
    "experiments": {
        "seeds": [0],
        "tagger": {"per_concept": 6, "steps": 2, "n_val": 2},
        "collisions": {"batch_sizes": [16]},
    },
}


def _sp(**experiments):
    """The tiny world's params with some ``synthetic.experiments`` blocks replaced."""
    from wag.synthetic.params import SyntheticParams

    return SyntheticParams.model_validate({**TINY, "experiments": {**TINY["experiments"], **experiments}})


def test_each_experiment_is_declared_once_with_its_own_params_in_its_key():
    import wag.experiments as E

    assert list(E.EXPERIMENTS) == [
        "count_check",
        "headline",
        "intervention",
        "rebalance",
        "collisions",
        "similarity",
        "letitwag",
        "t2i",
        "taggers",
    ]
    assert all(name == e.name for name, e in E.EXPERIMENTS.items())
    sp = _sp()
    blocks = {e.params for e in E.EXPERIMENTS.values()} - {None}
    for e in E.EXPERIMENTS.values():
        own = set(e.key(sp)["experiments"]) & blocks
        assert own == ({e.params} if e.params else set()), e.name
    # tuning one experiment changes its own key only: the headline and the others stay cached
    tuned = _sp(rebalance={"cap_quantile": 0.5})
    changed = {n for n, e in E.EXPERIMENTS.items() if e.key(sp) != e.key(tuned)}
    assert changed == {"rebalance"}
    assert E.EXPERIMENTS["headline"].table == "synthetic/headline-counts"


def test_training_jobs_read_the_registry(tmp_path, monkeypatch):
    import wag.experiments as E
    from wag.core.cache import cache_path
    from wag.core.io import write_parquet
    from wag.synthetic.jobs import ClipJob, TaggerJob

    monkeypatch.setenv("WAG_CACHE", str(tmp_path))
    sp = _sp()
    iv = E.training_jobs(sp, ["intervention"])
    assert [type(j) for j in iv] == [ClipJob, TaggerJob, ClipJob]
    assert iv[0].world != iv[2].world  # the intervened world's model
    both = E.training_jobs(sp, ["headline", "collisions"])
    assert both[:2] == iv[:2] and len(both) == 4  # shared trainings once; the masked-loss and batch-16 models
    assert {j.train.loss for j in both[2:]} == {"masked", "standard"}
    assert E.training_jobs(_sp(intervention={"enabled": False}), ["intervention"]) == []
    e = E.EXPERIMENTS["intervention"]
    write_parquet(cache_path(e.table, e.key(sp)), pd.DataFrame({"x": [1]}))  # cached: nothing to train
    assert E.training_jobs(sp, ["intervention"]) == []
    assert [type(j) for j in E.training_jobs(sp, ["count_check"], seed=3)] == [TaggerJob]
    assert E.training_jobs(sp, ["count_check"], seed=3)[0].seed == 3  # the notebook's seed (only count_check reads it)


def test_count_variant_names_the_profiles_tagger():
    import wag.experiments as E

    sp = _sp()
    assert E.count_variant("text", sp) == "phrase" and E.count_variant("truth", sp) == "ground truth"
    assert E.count_variant("image", sp) == "tagger:tagger@0.5"
    clip = _sp(tagger={"kind": "clip"}, tagger_threshold=0.7)
    assert E.count_variant("integrated", clip) == "integrated:clip@0.7"


def test_requirements_missing_names_the_absent_package(monkeypatch):
    import importlib.util

    import wag.experiments as E

    assert E.requirements_missing() is None  # pinned in requirements.txt
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "diffusers" else real(name, *a))
    why = E.requirements_missing()
    assert why is not None and why.startswith("diffusers not installed") and "make setup" in why
