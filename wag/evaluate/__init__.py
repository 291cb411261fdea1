"""evaluate stage of wag: per-concept zero-shot classification, retrieval and text-to-image evaluation.

Public API (imported lazily so ``wag.run.profile`` stays light):
``load_clip`` (models), ``image_folder`` / ``load_classification`` / ``load_retrieval`` (datasets),
``load_descriptions`` (descriptions: the declared input of the ``descriptions`` prompt style),
``evaluate_zeroshot`` / ``to_paper_json`` (zeroshot), ``evaluate_retrieval`` (retrieval),
``evaluate_t2i`` / ``load_pipeline`` (t2i), ``ClassConditionalPipeline`` (class_pipeline: class-conditional
diffusion models as a diffusers pipeline prompted by class name), ``OpenClipTagger`` (tagger: zero-shot image tags for the
frequency engine).
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "load_clip": "models",
    "LoadedModel": "models",
    "image_folder": "datasets",
    "load_classification": "datasets",
    "load_retrieval": "datasets",
    "webdataset_classification": "datasets",
    "load_descriptions": "descriptions",
    "evaluate_zeroshot": "zeroshot",
    "to_paper_json": "zeroshot",
    "write_paper_json": "zeroshot",
    "evaluate_retrieval": "retrieval",
    "evaluate_t2i": "t2i",
    "load_pipeline": "t2i",
    "ClassConditionalPipeline": "class_pipeline",
    "OpenClipTagger": "tagger",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"wag.evaluate.{_API[name]}"), name)
    raise AttributeError(f"module 'wag.evaluate' has no attribute {name!r}")
