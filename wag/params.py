"""Profiles (``params/<name>.yaml``): schema, loading and one clear error per problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from wag.analysis.params import AnalysisParams
from wag.errors import WagError
from wag.evaluate.params import EvaluateParams
from wag.frequency.params import FrequencyParams
from wag.paths import project_root, resolve
from wag.schema import StrictModel
from wag.synthetic.params import SyntheticParams


class ParamsError(WagError, ValueError):
    """A profile is missing, unreadable or does not match the schema."""


class Profile(StrictModel):
    """One run configuration. Sections are owned by the stage that reads them."""

    name: str
    description: str = ""
    seed: int = 0
    figures_dir: str = Field("figures", description="where figures and tables go, relative to the project root")
    paper_artifacts: str | None = Field(None, description="folder of the paper's released files (else $WAG_PAPER_ARTIFACTS, cache, download)")
    neglected_tails: str | None = Field(None, description="folder of the NeglectedTails LAION estimates (else $WAG_NEGLECTED_TAILS, cache, download)")
    download: bool = Field(True, description="allow downloading released files at the pinned commit when no local copy is found")
    notebooks: list[str] | None = Field(None, description="notebooks `wag reproduce` runs for this profile (default: all)")
    analysis: AnalysisParams = AnalysisParams()
    frequency: FrequencyParams = FrequencyParams()
    evaluate: EvaluateParams = EvaluateParams()
    synthetic: SyntheticParams = SyntheticParams()

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


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid profile {source}:"]
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "<top level>"
        if e["type"] == "extra_forbidden":
            parent: Any = Profile
            for part in e["loc"][:-1]:
                field = parent.model_fields.get(str(part)) if hasattr(parent, "model_fields") else None
                parent = field.annotation if field is not None else None
            allowed = sorted(parent.model_fields) if hasattr(parent, "model_fields") else []
            lines.append(f"  unknown key '{loc}'; allowed keys here: {', '.join(allowed)}")
        else:
            lines.append(f"  '{loc}': {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_profile(name_or_path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> Profile:
    """Load and validate a profile by name (``params/<name>.yaml``) or path; ``overrides`` are deep-merged first."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if not (text_name.endswith((".yaml", ".yml")) or path.is_file()):
        path = params_dir() / f"{text_name}.yaml"
        if not path.is_file():
            raise ParamsError(
                f"unknown profile '{text_name}'; available profiles: {', '.join(available_profiles()) or '(none)'}"
                f" (files in {params_dir()})"
            )
    if not path.is_file():
        raise ParamsError(f"profile file {path} does not exist; check the path, or give a profile name: {', '.join(available_profiles()) or '(none)'}")
    try:
        from wag.checks import read_utf8_text

        data = yaml.safe_load(read_utf8_text(path, "profile"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"profile {path} is not valid YAML: {exc}") from None
    if data is None:
        raise ParamsError(f"profile {path} is empty (no keys); add at least `description: ...`, or start from a copy of params/ci.yaml")
    if not isinstance(data, dict):
        raise ParamsError(f"profile {path} must be a mapping of keys to values, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ParamsError(_format_validation_error(exc, str(path))) from None
