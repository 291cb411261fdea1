"""Dotted-key overrides (papermill `overrides`, `wag reproduce --set`): expanded, deep-merged, one clear error each."""

from __future__ import annotations

import pytest

from wag.cli import main
from wag.run.profile import ParamsError, expand_overrides, load_profile, parse_set_options


def test_dotted_keys_expand_and_deep_merge() -> None:
    assert expand_overrides({"analysis.n_boot": 3, "synthetic.train.steps": 5, "seed": 1}) == {
        "analysis": {"n_boot": 3},
        "synthetic": {"train": {"steps": 5}},
        "seed": 1,
    }
    assert expand_overrides({"analysis.n_boot": 3, "analysis": {"ci_level": 0.9}}) == {
        "analysis": {"n_boot": 3, "ci_level": 0.9}
    }
    ci = load_profile("ci")
    p = load_profile("ci", {"analysis.n_boot": 7, "synthetic.train.steps": 11})
    assert p.analysis.n_boot == 7 and p.synthetic.train.steps == 11
    # everything else is the file's: siblings of an overridden key are kept
    assert (
        p.analysis.pretraining == ci.analysis.pretraining
        and p.synthetic.train.batch_size == ci.synthetic.train.batch_size
    )
    assert (
        p.model_dump()
        == load_profile("ci", {"analysis": {"n_boot": 7}, "synthetic": {"train": {"steps": 11}}}).model_dump()
    )


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"analysis.nboot": 3}, r"unknown key 'analysis.nboot' in overrides; allowed keys under 'analysis': .*n_boot"),
        ({"bogus": 1}, r"unknown key 'bogus' in overrides; allowed keys at the top level: .*analysis"),
        (
            {"synthetic.train.stepz": 1},
            r"unknown key 'synthetic.train.stepz'.*allowed keys under 'synthetic.train': .*steps",
        ),
        (
            {"analysis.n_boot": "many"},
            r"invalid override for profile 'ci': 'analysis.n_boot': Input should be a valid integer",
        ),
        ({"analysis.ci_level": 2}, r"'analysis.ci_level'"),
        ({"analysis": 3, "analysis.n_boot": 1}, r"override 'analysis.n_boot' conflicts with override 'analysis'"),
        ({"analysis..n_boot": 1}, r"not a dotted profile key"),
    ],
)
def test_bad_override_is_one_error_naming_the_key(overrides, match) -> None:
    with pytest.raises(ParamsError, match=match) as info:
        load_profile("ci", overrides)
    assert "\n" not in str(info.value)


def test_set_options_parse_yaml_values() -> None:
    assert parse_set_options(
        ["analysis.n_boot=200", "analysis.prompts=[class, simple]", "download=false", "name=x=y"]
    ) == {"analysis.n_boot": 200, "analysis.prompts": ["class", "simple"], "download": False, "name": "x=y"}
    with pytest.raises(ParamsError, match="expected KEY=VALUE"):
        parse_set_options(["analysis.n_boot"])


def test_reproduce_rejects_a_bad_set_before_running_anything(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        main(
            ["reproduce", "--profile", "ci", "--only", "A_prompting", "--out", str(out), "--set", "analysis.n_boots=3"]
        )
        == 2
    )
    assert "unknown key 'analysis.n_boots' in overrides" in capsys.readouterr().err
    assert not out.exists()
