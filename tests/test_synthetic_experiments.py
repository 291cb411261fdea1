"""Summaries of the synthetic experiments on hand-made tables (fast; the chain itself is in test_synthetic_train.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wag.experiments import (
    PLANNED_INTERVENTION,
    collision_summary,
    intervention_summary,
    planning_claims,
    planning_summary,
    rebalance_summary,
)


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


def _planning_table(observed: dict[str, list[float]]) -> pd.DataFrame:
    """Two seeds × strategies × 4 concepts; concept 0 raised by every strategy, its observed change given."""
    rows = []
    for seed in (0, 1):
        for s, changes in observed.items():
            for i, ch in enumerate(changes):
                rows.append(
                    {
                        "seed": seed,
                        "strategy": s,
                        "concept": f"c{i}",
                        "budget": 90,
                        "added": 90 if i == 0 else 0,
                        "predicted_gain": 0.2 if i == 0 else 0.0,
                        "gain_low": 0.1 if i == 0 else 0.0,
                        "gain_high": 0.3 if i == 0 else 0.0,
                        "accuracy_before": 0.5,
                        "accuracy_after": 0.5 + ch + 0.01 * seed,
                        "pi_low_after": 0.3,
                        "pi_high_after": 0.8,
                    }
                )
    return pd.DataFrame(rows)


def test_planning_summary_gains_and_coverage():
    df = _planning_table({PLANNED_INTERVENTION: [0.4, 0.0, 0.0, 0.0], "planner": [0.2, 0.0, -0.4, 0.0]})
    s = planning_summary(df).set_index("strategy")
    assert list(s.index) == [PLANNED_INTERVENTION, "planner"]
    iv = s.loc[PLANNED_INTERVENTION]
    assert iv["seeds"] == 2 and iv["budget"] == 90 and iv["concepts_raised"] == 1
    assert iv["predicted_gain"] == pytest.approx(0.05)  # 0.2 on one concept of four
    assert iv["observed_gain"] == pytest.approx(0.1 + 0.005)
    assert iv["observed_minus_predicted"] == pytest.approx(0.055)
    assert iv["observed_sd"] == pytest.approx(np.std([0.1, 0.11], ddof=1))
    assert iv["pi_coverage"] == pytest.approx(6 / 8)  # 0.9 (seed 0) and 0.91 (seed 1) above the interval's 0.8
    assert iv["pi_coverage_raised"] == pytest.approx(0.0)
    assert s.at["planner", "pi_coverage"] == pytest.approx(6 / 8)  # 0.1 below 0.3 on both seeds


def test_planning_claims_say_when_the_planner_loses_and_by_how_much_the_law_misses():
    df = _planning_table({"planner": [0.2, -0.1, -0.1, -0.1], "uniform": [0.1, 0.05, 0.05, 0.05]})
    text = " ".join(planning_claims(planning_summary(df)))
    assert "the planner does not beat uniform" in text and "Why, in these numbers" in text
    assert "the concepts the planner left alone changed by -0.095" in text  # -0.1 on seed 0, -0.09 on seed 1
    assert "over-predicts the mean gain by 0.070" in text  # planner: observed -0.02 over the seeds, predicted 0.05
    df = _planning_table({"planner": [0.6, 0.0, 0.0, 0.0], "uniform": [0.1, 0.0, 0.0, 0.0]})
    text = " ".join(planning_claims(planning_summary(df)))
    assert "the planner beats uniform" in text and "Why, in these numbers" not in text
    assert "under-predicts the mean gain by 0.105" in text


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
        "planning",
    ]
    assert all(name == e.name for name, e in E.EXPERIMENTS.items())
    sp = _sp()
    blocks = {e.params for e in E.EXPERIMENTS.values()} - {None}
    for e in E.EXPERIMENTS.values():
        own = set(e.key(sp)["experiments"]) & blocks
        assert own == ({e.params, *e.uses} if e.params else set()), e.name
    # tuning one experiment changes its own key only: the headline and the others stay cached
    tuned = _sp(rebalance={"cap_quantile": 0.5})
    changed = {n for n, e in E.EXPERIMENTS.items() if e.key(sp) != e.key(tuned)}
    assert changed == {"rebalance"}
    # the planning experiment's budget is the intervention's: it depends on that block too
    tuned = _sp(intervention={"factor": 3.0})
    assert {n for n, e in E.EXPERIMENTS.items() if e.key(sp) != e.key(tuned)} == {"intervention", "planning"}
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


def test_planning_retrains_each_allocation_at_the_interventions_budget(tmp_path, monkeypatch):
    """End to end on the tiny world (2 training steps): every allocation spends the intervention's budget (the
    planner at most), identical worlds are shared, and the planner's world is the one its allocation asks for."""
    import wag.experiments as E
    from wag.synthetic.jobs import ClipJob

    monkeypatch.setenv("WAG_CACHE", str(tmp_path))
    sp = _sp(intervention={"n_concepts": 2})
    jobs = E.training_jobs(sp, ["planning"])
    assert sum(isinstance(j, ClipJob) for j in jobs) == 4  # the seed's model, intervened, uniform, balanced worlds
    df = E.run_planning(sp)
    assert list(df["strategy"].unique()) == [E.PLANNED_INTERVENTION, "planner", "uniform", "balanced"]
    added = df.groupby("strategy", sort=False)["added"].sum()
    budget = int(df["budget"].iloc[0])
    assert added[E.PLANNED_INTERVENTION] == budget == added["uniform"] == added["balanced"]
    assert 0 <= added["planner"] <= budget
    assert (df["count_realised"] == df["count_after"]).all()  # the world was built with the planned counts
    assert df["accuracy_after"].between(0, 1).all() and df["accuracy_before"].between(0, 1).all()
    s = E.planning_summary(df)
    assert s["pi_coverage"].between(0, 1).all() and len(E.planning_claims(s)) >= 4
