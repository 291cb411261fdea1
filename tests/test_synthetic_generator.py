"""The synthetic world's generator: concepts, counts, assignment, captions, rendering (pure numpy, fast)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from wag.experiments import rebalanced_counts
from wag.synthetic import generator as gen
from wag.synthetic.params import ModelParams, SyntheticParams, WorldParams


def test_made_up_names_are_distinct_and_never_nested():
    names = gen.made_up_names(300, np.random.default_rng(0))
    assert len(set(names)) == 300
    assert not any(n.endswith("s") for n in names)
    assert not any(a != b and a in b for a in names for b in names)
    assert all(n.isalpha() and n.islower() for n in names)


def test_loguniform_counts_span_three_decades_and_are_permuted():
    p = WorldParams(n_concepts=100, min_count=1, max_count=1000)
    c = gen.target_counts(p, np.random.default_rng(0))
    assert c.min() == 1 and c.max() == 1000
    assert not np.all(np.diff(c) >= 0)  # assigned to concept ids at random, not sorted
    # evenly spread in log space: every decade holds about a third of the concepts
    dec = np.histogram(np.log10(c), bins=[0, 1, 2, 3.01])[0]
    assert dec.min() >= 30


def test_zipf_and_explicit_counts():
    z = gen.target_counts(
        WorldParams(n_concepts=10, law="zipf", max_count=1000, min_count=1, zipf_exponent=1.0), np.random.default_rng(0)
    )
    assert sorted(z, reverse=True)[:3] == [1000, 500, 333]
    e = gen.target_counts(WorldParams(n_concepts=3, law="explicit", counts=[5, 0, 7]), np.random.default_rng(0))
    assert e.tolist() == [5, 0, 7]


def test_assignment_is_exact_and_has_no_duplicates():
    rng = np.random.default_rng(1)
    counts = np.array([400, 300, 5, 1, 0, 77, 120, 9])
    grid = gen.assign_concepts(counts, [0.3, 0.3, 0.4], rng)
    assert np.bincount(grid[grid >= 0], minlength=len(counts)).tolist() == counts.tolist()
    for row in grid:
        present = row[row >= 0]
        assert 1 <= len(present) <= 3
        assert len(set(present.tolist())) == len(present)


def test_captions_name_exactly_the_image_concepts_without_misalignment():
    rng = np.random.default_rng(2)
    cs = gen.draw_concepts(12, rng)
    grid = gen.assign_concepts(np.full(12, 30), [0.4, 0.3, 0.3], rng)
    caps, named = gen.captions_for(grid, cs, WorldParams(n_concepts=12, misalignment=0.0), rng)
    for row, text, ids in zip(grid, caps, named):
        assert sorted(ids) == sorted(int(c) for c in row if c >= 0)
        words = set(text.replace(",", " ").replace(":", " ").split())
        assert {cs.names[i] for i in ids} <= words


def test_misalignment_rate_changes_the_named_concepts():
    rng = np.random.default_rng(3)
    cs = gen.draw_concepts(20, rng)
    grid = gen.assign_concepts(np.full(20, 50), [0.4, 0.3, 0.3], rng)
    _, named = gen.captions_for(grid, cs, WorldParams(n_concepts=20, misalignment=1.0), rng)
    differ = np.mean([sorted(n) != sorted(int(c) for c in r if c >= 0) for r, n in zip(grid, named)])
    assert differ > 0.95


def test_render_is_deterministic_and_concept_specific():
    cs = gen.draw_concepts(5, np.random.default_rng(4))
    grid = gen.single_concept_grid(np.repeat(np.arange(5), 4))
    a = gen.render(grid, cs, 32, 0.05, np.random.default_rng(9))
    b = gen.render(grid, cs, 32, 0.05, np.random.default_rng(9))
    c = gen.render(grid, cs, 32, 0.05, np.random.default_rng(10))
    assert a.shape == (20, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # an object is drawn: images differ from a flat background (pixel spread well above the noise)
    assert a.reshape(20, -1).std(axis=1).min() > 0.1 * 255


def test_one_shape_renderer_both_boundary_paths_draw_the_same_shape():
    """``draw_objects`` is the world's and the T2I studio's renderer; its two float paths of the boundary (kept for
    byte-identical images) draw the same objects up to float rounding, where the object is and nowhere else."""
    cs = gen.draw_concepts(6, np.random.default_rng(4))
    n, s = 6, 24
    pose = dict(
        cx=np.full(n, s / 2, dtype=np.float32),
        cy=np.full(n, s / 2, dtype=np.float32),
        r=np.full(n, 0.3 * s, dtype=np.float32),
        th=np.linspace(0, 3, n).astype(np.float32),
    )
    canvas = np.full((n, s, s, 3), 0.5, dtype=np.float32)
    powers = gen.draw_objects(canvas, np.arange(n), cs, **pose)
    angles = gen.draw_objects(canvas, np.arange(n), cs, **pose, boundary="angles")
    assert canvas.min() == canvas.max() == 0.5  # the canvas is not drawn on in place
    assert np.abs(powers - angles).max() < 1e-4
    assert np.abs(powers[:, s // 2, s // 2] - 0.5).max(axis=1).min() > 0.02  # an object in the middle of every image
    assert np.array_equal(powers[:, 0, 0], canvas[:, 0, 0])  # the corners are background
    other = gen.draw_objects(canvas, np.arange(1, n + 1) % n, cs, **pose)
    assert all(not np.array_equal(powers[i], other[i]) for i in range(n))  # each concept looks different


def test_rebalanced_counts_keep_the_budget_and_lift_the_tail():
    c = np.round(np.exp(np.linspace(0, np.log(1000), 50))).astype(int)
    r = rebalanced_counts(c, 0.75)
    assert abs(int(r.sum()) - int(c.sum())) <= 1
    assert r.max() <= np.quantile(c, 0.75) + 1
    assert r.min() > c.min() * 10


@pytest.mark.parametrize(
    "bad, needle",
    [
        (dict(world=dict(law="explicit")), "needs `counts`"),
        (dict(world=dict(min_count=10, max_count=5)), "min_count"),
        (dict(model=dict(widths=[32], headline_width=64)), "headline_width"),
        (dict(world=dict(colour="red")), "colour"),
        (dict(model=dict(widths=[48])), "widths"),
    ],
)
def test_bad_params_give_one_clear_error(bad, needle):
    with pytest.raises(ValidationError, match=needle):
        SyntheticParams.model_validate(bad)


def test_profiles_validate():
    from wag.run.profile import load_profile

    for name in ("ci", "default", "synthetic"):
        sp = load_profile(name).synthetic
        assert isinstance(sp.model, ModelParams)
        assert len(sp.experiments.seeds) >= 1
