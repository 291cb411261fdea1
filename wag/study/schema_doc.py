"""Every field of a profile's ``study:`` section as text: name, type, default and meaning (``wag study schema``).

Walks the pydantic models of :mod:`wag.study.spec`, so the printout is the schema itself: a field added there with a
``description`` appears here with no other change (``tests/test_study_schema.py`` checks every field has one).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from wag.study.spec import StudySpec


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``Model``, ``Model | None`` or ``list[Model]`` (None when there is none)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def type_name(annotation: Any) -> str:
    """A short, YAML-minded name of a field's type: ``str``, ``list[float]``, ``one of: a, b``, ``int | auto``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [type_name(a) for a in args if a is not type(None)]
        text = " | ".join(parts)
        return f"{text} | null" if type(None) in args else text
    if origin is list:
        return f"list[{type_name(args[0])}]" if args else "list"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default if field.default is not PydanticUndefined else field.default_factory()
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "default: null"
    if isinstance(value, bool):
        return f"default: {str(value).lower()}"
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        return "default: []"
    return f"default: {value!r}".replace("'", "")


def schema_rows(model: type[BaseModel] = StudySpec, prefix: str = "study") -> Iterator[tuple[str, str, str, str]]:
    """``(dotted key, type, default, meaning)`` of every field under ``model``, depth first; list items as ``key[]``."""
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}"
        sub = _model_in(field.annotation)
        is_list = typing.get_origin(field.annotation) is list or any(
            typing.get_origin(a) is list for a in typing.get_args(field.annotation)
        )
        yield key, type_name(field.annotation), _default(field), field.description or ""
        if sub is not None:
            yield from schema_rows(sub, f"{key}[]" if is_list else key)


def schema_text(width: int = 120) -> str:
    """The ``study:`` schema as indented text, one field a paragraph: ``key: type (default)`` then its meaning."""
    import textwrap

    lines = [
        "The study: section of a profile (params/*.yaml); relative paths are under study.root, itself relative to the "
        "project root. Items of a list are shown as key[].",
        "",
    ]
    for key, typ, default, meaning in schema_rows():
        depth = key.count(".") - 1
        indent = "  " * depth
        lines.append(f"{indent}{key.split('.')[-1]}: {typ}  ({default})")
        for part in textwrap.wrap(meaning, width=max(40, width - len(indent) - 4)) or ["(no description)"]:
            lines.append(f"{indent}    {part}")
    return "\n".join(lines) + "\n"
