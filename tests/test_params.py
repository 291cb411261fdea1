"""Profiles: every shipped profile validates; each kind of bad input gives one clear error."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from wag.run.profile import ParamsError, available_profiles, load_profile


def test_shipped_profiles_validate() -> None:
    names = available_profiles()
    assert {"ci", "default", "paper"} <= set(names)
    for name in names:
        assert load_profile(name).name == name


def test_unknown_profile_lists_available() -> None:
    with pytest.raises(ParamsError) as err:
        load_profile("no_such_profile")
    msg = str(err.value)
    assert "unknown profile 'no_such_profile'" in msg
    assert "ci" in msg and "default" in msg


def test_unknown_top_level_key_names_key_and_allowed(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\nseeed: 3\n")
    with pytest.raises(ParamsError) as err:
        load_profile(p)
    msg = str(err.value)
    assert "unknown key 'seeed'" in msg
    assert "seed" in msg.split("allowed keys here:")[1]


def test_unknown_nested_key_lists_section_keys(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\nanalysis:\n  no_such_option: 1\n")
    with pytest.raises(ParamsError) as err:
        load_profile(p)
    assert "unknown key 'analysis.no_such_option'" in str(err.value)


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\nseed: not-a-number\n")
    with pytest.raises(ParamsError) as err:
        load_profile(p)
    assert "'seed'" in str(err.value) and "not-a-number" in str(err.value)


def test_malformed_yaml_and_non_mapping(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_profile(p)
    q = tmp_path / "list.yaml"
    q.write_text("- a\n- b\n")
    with pytest.raises(ParamsError, match="must be a mapping"):
        load_profile(q)


def test_overrides_are_deep_merged_and_validated() -> None:
    p = load_profile("ci", {"seed": 7})
    assert p.seed == 7 and p.name == "ci"
    with pytest.raises(ParamsError, match="unknown key 'bogus'"):
        load_profile("ci", {"bogus": 1})


def test_profiles_are_immutable() -> None:
    p = load_profile("ci")
    with pytest.raises(pydantic.ValidationError):
        p.seed = 3  # type: ignore[misc]
