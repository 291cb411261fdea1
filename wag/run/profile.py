"""Profiles (``params/<name>.yaml``): schema, loading and one clear error per problem."""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from wag.analysis.params import AnalysisParams
from wag.core.checks import MAX_YAML_BYTES, load_yaml, read_utf8_text
from wag.core.errors import WagError, excerpt, one_line
from wag.core.paths import project_root, resolve
from wag.core.schema import StrictModel
from wag.evaluate.params import EvaluateParams
from wag.frequency.params import FrequencyParams
from wag.study.spec import StudySpec
from wag.synthetic.params import SyntheticParams


class ParamsError(WagError, ValueError):
    """A profile is missing, unreadable or does not match the schema."""


class Profile(StrictModel):
    """One run configuration. Sections are owned by the stage that reads them."""

    name: str
    description: str = ""
    seed: int = 0
    figures_dir: str = Field("figures", description="where figures and tables go, relative to the project root")
    paper_artifacts: str | None = Field(
        None, description="folder of the paper's released files (else $WAG_PAPER_ARTIFACTS, cache, download)"
    )
    neglected_tails: str | None = Field(
        None, description="folder of the NeglectedTails LAION estimates (else $WAG_NEGLECTED_TAILS, cache, download)"
    )
    download: bool = Field(
        True, description="allow downloading released files at the pinned commit when no local copy is found"
    )
    notebooks: list[str] | None = Field(
        None, description="notebooks `wag reproduce` runs for this profile (default: all)"
    )
    analysis: AnalysisParams = AnalysisParams()
    frequency: FrequencyParams = FrequencyParams()
    evaluate: EvaluateParams = EvaluateParams()
    synthetic: SyntheticParams = SyntheticParams()
    study: StudySpec | None = Field(
        None, description="your own study: corpus, concepts, tagger, models, test sets (wag study run)"
    )

    @model_validator(mode="after")
    def _source_has_a_study(self) -> Profile:
        if self.analysis.source == "study" and self.study is None:
            raise ValueError(
                "analysis.source is 'study' but the profile has no study: section; add one or set analysis.source: released"
            )
        return self

    @property
    def figures_path(self) -> Path:
        """Absolute folder for figures and tables of this profile."""
        return resolve(self.figures_dir)


def params_dir() -> Path:
    """The folder holding the profile YAML files."""
    return Path(os.environ.get("WAG_PARAMS_DIR", project_root() / "params"))


def available_profiles() -> list[str]:
    """Names of the profiles in ``params/``."""
    return sorted(p.stem for p in params_dir().glob("*.yaml"))


def _models_in(annotation: Any) -> list[Any]:
    """Pydantic models inside an annotation (``X | None``, ``list[X]``)."""
    args = getattr(annotation, "__args__", ())
    return [a for a in args if hasattr(a, "model_fields")] + [m for a in args for m in _models_in(a)]


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid profile {source}:"]
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "<top level>"
        if e["type"] == "extra_forbidden":
            parent: Any = Profile
            for part in e["loc"][:-1]:
                if isinstance(part, int):  # an item of a list section: stay on the item model
                    continue
                field = parent.model_fields.get(str(part)) if hasattr(parent, "model_fields") else None
                parent = field.annotation if field is not None else None
                # unwrap `Model | None` and `list[Model]` to the model
                parent = next((a for a in _models_in(parent)), parent)
            allowed = sorted(parent.model_fields) if hasattr(parent, "model_fields") else []
            lines.append(f"  unknown key '{loc}'; allowed keys here: {', '.join(allowed)}")
        else:
            lines.append(f"  '{loc}': {e['msg']} (got {excerpt(e.get('input'))})")
    return "\n".join(lines)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def coerce_overrides(value: Any) -> Mapping[str, Any] | None:
    """A notebook's ``overrides`` parameter as a mapping: a mapping as it is, ``"KEY=VALUE"`` or a list of them as
    ``--set`` reads them (papermill ``-p overrides "analysis.n_boot=50"``); anything else is one :class:`ParamsError`."""
    if value is None or isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return parse_set_options(list(value))
    raise ParamsError(
        f"overrides must map dotted profile keys to values, got {type(value).__name__} {excerpt(value)}; "
        'pass -y \'{"overrides": {"analysis.n_boot": 50}}\' or -p overrides analysis.n_boot=50'
    )


def expand_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Dotted keys to nested mappings: ``{"analysis.n_boot": 200}`` → ``{"analysis": {"n_boot": 200}}``.

    Nested mappings are accepted as well and merged key by key; a key given twice (``"analysis"`` as a
    value and ``"analysis.n_boot"``) is an error naming it.
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ParamsError(
            f"overrides must be a mapping of dotted profile keys to values (e.g. {{'analysis.n_boot': 200}}), got {type(overrides).__name__} {excerpt(overrides)}"
        )
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise ParamsError(f"override key {key!r} is not a dotted profile key like 'analysis.n_boot'")
        *parents, leaf = key.split(".")
        node = out
        for i, part in enumerate(parents):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ParamsError(
                    f"override '{key}' conflicts with override '{'.'.join(parents[: i + 1])}' (given twice)"
                )
            node = child
        if isinstance(value, Mapping):
            value = expand_overrides(value)
            if isinstance(node.get(leaf), dict):
                value = _deep_merge(node[leaf], value)
        elif leaf in node:
            raise ParamsError(f"override '{key}' is given twice")
        node[leaf] = value
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field annotation (``Model`` or ``Model | None``), else None."""
    candidates = [annotation, *typing.get_args(annotation)]
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def check_override_keys(nested: Mapping[str, Any], model: type[BaseModel] = Profile, prefix: str = "") -> None:
    """Raise one :class:`ParamsError` naming the first override key the schema does not have (and the allowed keys)."""
    for key, value in nested.items():
        dotted = f"{prefix}{key}"
        field = model.model_fields.get(key)
        if field is None:
            where = f"under '{prefix[:-1]}'" if prefix else "at the top level"
            raise ParamsError(
                f"unknown key '{dotted}' in overrides; allowed keys {where}: {', '.join(sorted(model.model_fields))}"
            )
        sub = _model_of(field.annotation)
        if sub is not None and isinstance(value, Mapping):
            check_override_keys(value, sub, f"{dotted}.")


def parse_set_options(pairs: list[str] | None) -> dict[str, Any]:
    """``["analysis.n_boot=200", ...]`` (the CLI's ``--set``) → ``{"analysis.n_boot": 200}``; values are YAML (safe)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ParamsError(
                f"--set {excerpt(pair)}: expected KEY=VALUE with a dotted profile key, e.g. --set analysis.n_boot=200"
            )
        try:
            out[key.strip()] = load_yaml(text, f"--set {key.strip()}")
        except yaml.YAMLError as exc:
            raise ParamsError(
                f"--set {excerpt(pair)}: the value is not valid YAML ({exc.__class__.__name__}); quote it"
            ) from None
    return out


def is_profile_name(name_or_path: str | os.PathLike[str]) -> bool:
    """Whether ``name_or_path`` names a profile in ``params/`` (``ci``) rather than a YAML file (``./my.yaml``)."""
    text = str(name_or_path)
    return not (text.endswith((".yaml", ".yml")) or Path(text).is_file())


def profile_path(name_or_path: str | os.PathLike[str]) -> Path:
    """The absolute YAML file of a profile given by name (``params/<name>.yaml``) or by path.

    A relative path is read from the current folder, else from the project root (``params/example_study.yaml``
    works from any folder); the result is absolute, so a notebook kernel running elsewhere reads the same file.
    One :class:`ParamsError` naming the profile when there is no such file.
    """
    text = str(name_or_path)
    if is_profile_name(text):
        path = params_dir() / f"{text}.yaml"
        if not path.is_file():
            raise ParamsError(
                f"unknown profile '{text}'; available profiles: {', '.join(available_profiles()) or '(none)'}"
                f" (files in {params_dir()})"
            )
        return path.resolve()
    path = Path(text).expanduser()
    if not path.is_absolute() and not path.is_file() and (project_root() / path).is_file():
        path = project_root() / path
    if not path.is_file():
        raise ParamsError(
            f"profile file {path} does not exist (looked in {Path.cwd()}"
            f"{'' if path.is_absolute() else f' and {project_root()}'}); check the path, or give a profile name: "
            f"{', '.join(available_profiles()) or '(none)'}"
        )
    return path.resolve()


def profile_argument(name_or_path: str | os.PathLike[str]) -> str:
    """The profile as a notebook parameter: a name as it is, a YAML path made absolute (:func:`profile_path`), so
    the notebook's kernel, whose working folder is ``notebooks/``, reads the file the command was given."""
    return str(name_or_path) if is_profile_name(name_or_path) else str(profile_path(name_or_path))


def load_profile(name_or_path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> Profile:
    """Load and validate a profile by name (``params/<name>.yaml``) or path, then apply ``overrides``.

    ``overrides`` maps dotted keys (``{"analysis.n_boot": 200}``) or nested mappings to values; they are
    deep-merged into the file and validated by the same schema. A problem in the file is reported as the
    file's, a problem an override introduces as that override's (one message naming the key).
    """
    path = profile_path(name_or_path)
    try:  # size and aliases limited before anything is built (a YAML alias bomb is refused)
        data = load_yaml(read_utf8_text(path, "profile", MAX_YAML_BYTES), f"profile {path}")
    except yaml.YAMLError as exc:
        raise ParamsError(f"profile {path} is not valid YAML: {one_line(str(exc))[:300]}") from None
    if data is None:
        raise ParamsError(
            f"profile {path} is empty (no keys); add at least `description: ...`, or start from a copy of params/ci.yaml"
        )
    if not isinstance(data, dict):
        raise ParamsError(f"profile {path} must be a mapping of keys to values, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ParamsError(_format_validation_error(exc, str(path))) from None
    nested = expand_overrides(overrides)
    if not nested:
        return profile
    check_override_keys(nested)
    try:
        return Profile.model_validate(_deep_merge(data, nested))
    except ValidationError as exc:
        problems = [
            f"'{'.'.join(str(x) for x in e['loc']) or '<top level>'}': {e['msg']} (got {excerpt(e.get('input'))})"
            for e in exc.errors()
        ]
        raise ParamsError(f"invalid override for profile '{profile.name}': {'; '.join(problems)}") from None
