"""Checks of a study's declaration that need the file system or the registries, run before any stage.

:func:`check_inputs` (``wag study run`` and ``status`` call it first) finds every problem at once: shard globs that
match nothing, missing files and folders, unknown model, architecture and torchvision names, T2I pipelines that cannot
run as declared; one :class:`~wag.study.spec.StudyError` lists them all. The schema checks (unknown keys, bad kinds,
duplicate names) happen earlier, when the profile is loaded (:mod:`wag.study.spec`). :func:`check_resources` (``wag
study run``, for the stages about to run) checks what they need of this machine, as ``wag evaluate`` does at its door:
the torch device, the Dask schedulers (they answer), and the weights of registry and open_clip models when downloads
are off (``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import glob as globmod
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wag.core.checks import InputCheckError, check_device, check_scheduler
from wag.core.errors import WagError
from wag.core.tables import TableError, variant_name
from wag.corpus import CorpusError, iter_shards
from wag.evaluate.datasets import known_datasets
from wag.evaluate.descriptions import read_descriptions_file
from wag.evaluate.models import UnknownModelError, resolve_name
from wag.evaluate.registry import hf_repo_on_disk, registry_entry, weights_on_disk
from wag.frequency.checkpoint_tagger import checkpoint_problem
from wag.study.spec import StudyError, StudySpec, t2i_clip_model


def shard_files(spec: StudySpec) -> list[Path]:
    """The corpus shard files (raises :class:`StudyError` if a glob or path matches nothing)."""
    try:
        return [s.path for s in iter_shards([str(spec.path(s)) for s in spec.corpus.shards], spec.corpus.format)]
    except CorpusError as exc:
        raise StudyError(f"study.corpus.shards: {exc}") from None


def _model_problem(spec: StudySpec, where: str, value: str) -> str | None:
    s = spec.model_spec(value)
    if "@" in s:
        arch, _, p = s.partition("@")
        if not Path(p).is_file():
            return f"{where}: checkpoint {p} not found (give ARCH@path/to/checkpoint)"
        import open_clip  # lazy: torch, only for a model that is not in the registry

        if arch not in open_clip.list_models() and not (Path(p).parent / f"{arch}.json").is_file():
            return f"{where}: unknown open_clip architecture '{arch}' (put {arch}.json beside the checkpoint or use one of open_clip.list_models())"
        return None
    try:
        resolve_name(s)
        return None
    except UnknownModelError:
        pass
    if "/" in s:
        import open_clip  # lazy: torch, only for a model that is not in the registry

        arch, _, tag = s.partition("/")
        if (arch, tag) in set(open_clip.list_pretrained()):
            return None
    return f"{where}: unknown model '{value}'; use a registry name (wag evaluate models), an open_clip ARCH/pretrained-tag or ARCH@path/to/checkpoint"


def _t2i_problems(spec: StudySpec) -> list[str]:
    """Problems of the declared T2I pipelines, their CLIP-score model and judge."""
    if not spec.t2i:
        return []
    problems = []
    o = spec.stages.t2i
    for i, m in enumerate(spec.t2i):
        local = m.model.startswith((".", "/", "~")) or spec.path(m.model).exists()
        if local and not spec.path(m.model).is_dir():
            problems.append(
                f"study.t2i[{i}] ('{m.name}'): pipeline folder {spec.path(m.model)} not found (give a pipeline.save_pretrained() folder or a hub name)"
            )
        elif local and o.guidance_scale > 1 and _class_name(spec.path(m.model)) == "ClassConditionalPipeline":
            problems.append(
                f"study.t2i[{i}] ('{m.name}'): a class-conditional pipeline has no unconditional class, so classifier-free guidance "
                f"is impossible; set study.stages.t2i.guidance_scale to 1 (now {o.guidance_scale})"
            )
    clip = t2i_clip_model(spec)
    if clip is None and o.judge is None:
        problems.append(
            "study.stages.t2i.clip_model: T2I needs a CLIP model for CLIP-score or a judge; declare a model, set stages.t2i.clip_model or stages.t2i.judge"
        )
    elif clip is not None and (p := _model_problem(spec, "study.stages.t2i.clip_model", clip)) is not None:
        problems.append(p)
    j = o.judge
    if (
        j is not None
        and j.kind == "openclip"
        and (p := _model_problem(spec, "study.stages.t2i.judge.model", j.model)) is not None
    ):
        problems.append(p)
    if j is not None and j.kind == "checkpoint":
        if (why := checkpoint_problem(spec.path(j.model))) is not None:
            problems.append(f"study.stages.t2i.judge.model: {why}")
    if o.aesthetic_weights and not spec.path(o.aesthetic_weights).is_file():
        problems.append(f"study.stages.t2i.aesthetic_weights: {spec.path(o.aesthetic_weights)} not found")
    return problems


def _image_column_problem(shard: Path, column: str) -> str | None:
    """Why a Parquet shard's image column cannot hold encoded images (text: paths?), from its schema alone."""
    if shard.suffix.lower() not in (".parquet", ".pq"):
        return None
    try:
        schema = pq.read_schema(shard)
    except (OSError, ValueError):
        return None  # an unreadable shard is reported by the stage that reads it
    if column not in schema.names:
        return f"{shard} has no column '{column}' (columns: {', '.join(schema.names)})"
    typ = schema.field(column).type
    if pa.types.is_struct(typ):
        typ = typ.field("bytes").type if typ.get_field_index("bytes") >= 0 else typ
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return (
            f"column '{column}' of {shard} holds text (paths?), not encoded images; store each image file's bytes in it "
            "(a binary column, or Hugging Face {bytes, path} structs with the bytes filled in)"
        )
    return None


def _class_name(folder: Path) -> str | None:
    """``_class_name`` of a pipeline folder's ``model_index.json`` (None without one or when unreadable)."""
    try:
        cfg = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cfg.get("_class_name") if isinstance(cfg, dict) else None


def check_inputs(spec: StudySpec) -> list[Path]:
    """Every input a study names exists and every name is known; returns the shard files. One :class:`StudyError` lists all problems."""
    problems: list[str] = []
    shards: list[Path] = []
    try:
        shards = shard_files(spec)
    except StudyError as exc:
        problems.append(str(exc))
    if spec.corpus.image_column and spec.corpus.format not in (None, "parquet"):
        problems.append(
            "study.corpus.image_column applies to Parquet shards only (WebDataset images are read from their .jpg/.png members)"
        )
    for i, c in enumerate(spec.concepts):
        if c.file and spec.path(c.file).exists() and not spec.path(c.file).is_file():
            problems.append(f"study.concepts[{i}].file: {spec.path(c.file)} is not a regular file (a folder or FIFO)")
        elif c.file and not spec.path(c.file).is_file():
            problems.append(f"study.concepts[{i}].file: {spec.path(c.file)} not found")
    for i, m in enumerate(spec.models):
        if (p := _model_problem(spec, f"study.models[{i}] ('{m.name}')", m.model)) is not None:
            problems.append(p)
    t = spec.tagger
    if t.kind in ("openclip", "embeddings") and t.model:
        if (p := _model_problem(spec, "study.tagger.model", t.model)) is not None:
            problems.append(p)
    if t.kind == "embeddings" and t.embeddings:
        e = spec.path(t.embeddings)
        if not e.exists() and not any(e.parent.glob(e.name)):
            problems.append(
                f"study.tagger.embeddings: {e} not found; give the stored embeddings' folder or Parquet files"
            )
    if t.kind == "rampp" and t.model and not spec.path(t.model).is_file():
        problems.append(f"study.tagger.model: RAM++ checkpoint {spec.path(t.model)} not found")
    if t.kind == "rampp" and not t.descriptions:
        problems.append("study.tagger.descriptions: RAM++ needs a JSON file of concept descriptions")
    if t.kind == "checkpoint" and t.model:
        if (why := checkpoint_problem(spec.path(t.model))) is not None:
            problems.append(f"study.tagger.model: {why}")
    if t.kind != "none":
        try:
            variant_name("image", tagger=spec.tagger_label, threshold=t.headline)
        except TableError as exc:
            problems.append(f"study.tagger.name: {exc}")
    if t.descriptions and not spec.path(t.descriptions).is_file():
        problems.append(f"study.tagger.descriptions: {spec.path(t.descriptions)} not found")
    elif t.descriptions:
        try:  # every value a list of texts (a string would be read letter by letter)
            read_descriptions_file(spec.path(t.descriptions))
        except WagError as exc:
            problems.append(f"study.tagger.descriptions: {exc}")
    if spec.corpus.image_column and shards and t.kind != "none":
        if (why := _image_column_problem(shards[0], spec.corpus.image_column)) is not None:
            problems.append(f"study.corpus.image_column: {why}")
    for i, d in enumerate(spec.datasets):
        where = f"study.datasets[{i}] ('{d.name}')"
        if d.kind == "torchvision":
            tv = d.torchvision or d.name
            if tv not in known_datasets():
                problems.append(f"{where}: unknown dataset name '{tv}'; known: {', '.join(known_datasets())}")
        elif d.kind in ("imagefolder", "retrieval") and not spec.path(d.path or "").is_dir():
            problems.append(f"{where}: folder {spec.path(d.path or '')} not found")
        elif d.kind == "wds" and not any(spec.path(d.path or "").glob("*.tar")):
            problems.append(f"{where}: no WebDataset shards (*.tar) in {spec.path(d.path or '')}")
        if d.kind == "retrieval" and d.annotations and not spec.path(d.annotations).is_file():
            problems.append(f"{where}: annotations {spec.path(d.annotations)} not found")
    problems += _t2i_problems(spec)
    lw = spec.stages.letitwag
    if lw.images:
        p = spec.path(lw.images)
        if not (p.is_dir() or globmod.glob(str(p))):
            problems.append(f"study.stages.letitwag.images: {p} not found")
    if problems:
        raise StudyError(f"study '{spec.name}' cannot run:\n  " + "\n  ".join(problems))
    return shards


#: Stages that run models on the study's device (the tagger only when it is a model).
_DEVICE_STAGES = ("zeroshot", "retrieval", "t2i", "letitwag")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _weights_problem(spec: StudySpec, where: str, value: str) -> str | None:
    """Why a registry or open_clip ``ARCH/tag`` model cannot load here with downloads off (None: it can, or it is a
    checkpoint file, checked by :func:`check_inputs`)."""
    s = spec.model_spec(value)
    if "@" in s or not _offline():
        return None
    try:
        key, e = registry_entry(s)
    except UnknownModelError:
        arch, _, tag = s.partition("/")
        if tag and not weights_on_disk(arch, tag, None):
            return f"{where}: the weights of open_clip {arch} / {tag} are not on this machine and downloads are off (HF_HUB_OFFLINE); download them once with internet, or give ARCH@path/to/checkpoint"
        return None
    if e.get("checkpoint"):
        d = os.environ.get("WAG_CHECKPOINTS")
        if e.get("loader") == "slip" or not (d and (Path(d) / e["checkpoint"]).is_file()):
            return f"{where}: model '{key}' needs its checkpoint file {e['checkpoint']} in $WAG_CHECKPOINTS (see wag evaluate models)"
        return None
    arch = e["arch"]
    ok = (
        hf_repo_on_disk(arch[len("hf-hub:") :], None)
        if arch.startswith("hf-hub:")
        else weights_on_disk(arch, e["pretrained"], None)
    )
    if not ok:
        return f"{where}: the weights of model '{key}' are not on this machine and downloads are off (HF_HUB_OFFLINE); run once with internet so open_clip caches them (wag evaluate models lists what is on disk)"
    return None


def check_resources(spec: StudySpec, stages: list[str]) -> None:
    """What ``stages`` (about to run) need of this machine: the device, the Dask schedulers, model weights. One
    :class:`~wag.study.spec.StudyError` lists every problem, before any stage runs."""
    problems: list[str] = []
    t = spec.tagger
    tags_with_model = "tag" in stages and t.kind in ("openclip", "embeddings", "rampp")
    device = spec.stages.evaluate.device
    if device != "cpu" and (tags_with_model or any(s in stages for s in _DEVICE_STAGES)):
        try:
            check_device(device)
        except InputCheckError as exc:
            problems.append(
                f"study.stages.evaluate.device: {str(exc).replace('; pass --device cpu', '; set it to cpu')}"
            )
    for stage, o in (("count", spec.stages.count), ("tag", spec.stages.tag)):
        if stage in stages and o.backend == "dask" and o.scheduler:
            try:
                check_scheduler(o.scheduler)
            except InputCheckError as exc:
                why = str(exc).split("; ")[0]
                problems.append(
                    f"study.stages.{stage}.scheduler: {why}; start it, fix the address, or remove it to use a local cluster"
                )
    models: list[tuple[str, str]] = []
    if any(s in stages for s in ("zeroshot", "retrieval", "letitwag")):
        models += [(f"study.models[{i}] ('{m.name}')", m.model) for i, m in enumerate(spec.models)]
    if "tag" in stages and t.kind in ("openclip", "embeddings") and t.model:
        models.append(("study.tagger.model", t.model))
    if "t2i" in stages:
        o = spec.stages.t2i
        if (clip := t2i_clip_model(spec)) is not None:
            models.append(("study.stages.t2i.clip_model", clip))
        if o.judge is not None and o.judge.kind == "openclip":
            models.append(("study.stages.t2i.judge.model", o.judge.model))
    seen: set[str] = set()
    for where, value in models:
        if spec.model_spec(value) in seen:
            continue
        seen.add(spec.model_spec(value))
        if (p := _weights_problem(spec, where, value)) is not None:
            problems.append(p)
    if problems:
        raise StudyError(f"study '{spec.name}' cannot run here:\n  " + "\n  ".join(problems))
