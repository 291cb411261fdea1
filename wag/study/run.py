"""Run a study's stages in order, resumably: a stage whose inputs are unchanged since its last run is skipped.

Each finished stage leaves ``records/<stage>.json`` in the study folder: the digest of its inputs
(files by path, size and mtime; the stage's parameters; the digests of the stages it reads), the
inputs themselves, the wag version, its outputs and its run time. :func:`study_status` compares the
current digest with the record: ``done`` (same digest, outputs present and readable), ``stale`` (inputs
changed, or an output is gone or unreadable, e.g. a truncated Parquet file), ``missing`` (never run), ``off``
(the study declares nothing for it).

:func:`run_study` holds the study folder's lock (:func:`wag.core.lock.folder_lock`: a second run on the same study
stops with one line naming the first; a lock left by a killed run is taken over, saying so), removes the temporary
files an interrupted run left there, and checks what the stages to run need of this machine (device, Dask scheduler,
model weights; :func:`wag.study.checks.check_resources`) before any stage runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

import wag
from wag.core.errors import WagError
from wag.core.ids import content_key
from wag.core.io import clean_temp_files, read_json, write_json
from wag.core.lock import folder_lock
from wag.study.checks import check_inputs, check_resources
from wag.study.context import Context
from wag.study.spec import StudyError, StudySpec
from wag.study.stages import STAGES


@dataclass
class StageState:
    """One row of ``wag study status``."""

    stage: str
    state: str  # done | stale | missing | off
    reason: str
    key: str | None


def _record_path(ctx: Context, stage: str):
    return ctx.out / "records" / f"{stage}.json"


def _keys(ctx: Context) -> dict[str, tuple[str, dict[str, Any]]]:
    """Current (digest, inputs) of every enabled stage; a stage's inputs include its upstream digests."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, st in STAGES.items():
        if not st.enabled(ctx.spec):
            continue
        inputs = dict(st.inputs(ctx))
        inputs["upstream"] = {d: out[d][0] for d in st.upstream if d in out}
        out[name] = (content_key(inputs), inputs)
    return out


def _states(ctx: Context, keys: dict[str, tuple[str, dict[str, Any]]]) -> list[StageState]:
    rows = []
    for name, st in STAGES.items():
        if name not in keys:
            rows.append(StageState(name, "off", st.why_off, None))
            continue
        key = keys[name][0]
        rec_path = _record_path(ctx, name)
        if not rec_path.is_file():
            rows.append(StageState(name, "missing", "never run", key))
            continue
        try:
            rec = read_json(rec_path)
        except WagError:  # a damaged record: the stage is rerun
            rows.append(StageState(name, "stale", f"record {rec_path.name} is unreadable", key))
            continue
        gone = [o for o in rec.get("outputs", []) if not (ctx.out / o).exists()]
        broken = [o for o in rec.get("outputs", []) if o not in gone and _unreadable(ctx.out / o)]
        if rec.get("key") != key:
            changed = sorted(
                k
                for k in set(keys[name][1]) | set(rec.get("inputs", {}))
                if keys[name][1].get(k) != rec.get("inputs", {}).get(k)
            )
            rows.append(StageState(name, "stale", f"inputs changed: {', '.join(changed)}", key))
        elif gone:
            rows.append(StageState(name, "stale", f"output missing: {gone[0]}", key))
        elif broken:
            rows.append(
                StageState(name, "stale", f"output unreadable: {broken[0]} ({_unreadable(ctx.out / broken[0])})", key)
            )
        else:
            rows.append(StageState(name, "done", f"{rec.get('finished', '')}", key))
    return rows


def _unreadable(path: Path) -> str | None:
    """Why an output cannot be read (a Parquet file without its footer, JSON that does not parse), else None."""
    try:
        if path.suffix == ".parquet":
            pq.read_metadata(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # Arrow's errors are OSError / ValueError subclasses
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return None


def _context(spec: StudySpec, progress: bool) -> Context:
    shards = check_inputs(spec)  # every problem of the declaration, before anything is written
    return Context(spec, shards, progress=progress)


def study_status(spec: StudySpec) -> pd.DataFrame:
    """``stage, state, reason`` for every stage (states: done, stale, missing, off)."""
    ctx = _context(spec, progress=False)
    return pd.DataFrame([{"stage": s.stage, "state": s.state, "reason": s.reason} for s in _states(ctx, _keys(ctx))])


def _closure(names: list[str]) -> list[str]:
    need: set[str] = set()

    def add(n: str) -> None:
        if n not in need:
            need.add(n)
            for d in STAGES[n].upstream:
                add(d)

    for n in names:
        add(n)
    return [n for n in STAGES if n in need]


def run_study(
    spec: StudySpec,
    stages: list[str] | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    log=print,
    wait: bool = False,
) -> pd.DataFrame:
    """Run the stale and missing stages (of ``stages`` and what they read; default: all) and return the final status.

    A stage is rerun when its inputs or an upstream stage changed; ``force`` reruns the selected stages anyway.
    Another process running the same study is an error, or with ``wait`` awaited (its fresh stages are then skipped).
    """
    unknown = sorted(set(stages or []) - set(STAGES))
    if unknown:
        raise StudyError(f"unknown stage(s) {unknown}; stages are: {', '.join(STAGES)}")
    ctx = _context(spec, progress)
    with folder_lock(ctx.out, f"study '{spec.name}'", wait=wait) as lock:
        if (took := lock.describe_stale()) is not None:
            log(took)
        removed = clean_temp_files(ctx.out)
        if removed:
            log(f"removed {len(removed)} temporary file(s) an interrupted run left in {ctx.out}")
        return _run_locked(ctx, stages, force, log)


def _run_locked(ctx: Context, stages: list[str] | None, force: bool, log: Any) -> pd.DataFrame:
    keys = _keys(ctx)
    wanted = _closure(list(stages)) if stages else list(STAGES)
    off = [n for n in (stages or []) if n not in keys]
    if off:
        raise StudyError("; ".join(f"stage '{n}' is off: {STAGES[n].why_off}" for n in off))
    states = {s.stage: s for s in _states(ctx, keys)}
    to_run: set[str] = set()  # stale or missing, forced, or reading a stage that reruns
    for name in wanted:
        if name not in keys:
            continue
        explicit = stages is not None and name in stages
        if (
            states[name].state != "done"
            or (force and (explicit or stages is None))
            or (set(STAGES[name].upstream) & to_run)
        ):
            to_run.add(name)
    check_resources(ctx.spec, [n for n in wanted if n in to_run])  # device, scheduler, weights: before any stage
    for name in wanted:
        if name not in keys:
            continue
        st = states[name]
        if name not in to_run:
            log(f"[{name}] up to date")
            continue
        log(f"[{name}] running ({st.reason if st.state != 'done' else 'forced'})")
        t0 = time.perf_counter()
        outputs = STAGES[name].run(ctx)
        secs = time.perf_counter() - t0
        undeclared = sorted(set(outputs) - set(STAGES[name].outputs))
        if undeclared:  # a bug in the stage, not a user error
            raise RuntimeError(f"stage {name} wrote undeclared outputs {undeclared}; add them to its Stage.outputs")
        write_json(
            _record_path(ctx, name),
            {
                "stage": name,
                "key": keys[name][0],
                "inputs": keys[name][1],
                "outputs": outputs,
                "wag_version": wag.__version__,
                "seconds": round(secs, 3),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
        )
        log(f"[{name}] done in {secs:.1f} s: {', '.join(outputs)}")
    return pd.DataFrame([{"stage": s.stage, "state": s.state, "reason": s.reason} for s in _states(ctx, keys)])


def load_tables(spec: StudySpec) -> dict[str, pd.DataFrame]:
    """The study's tables, each concatenated over the stages that wrote it: concepts, frequencies, hits, performance."""
    out = spec.output_path
    tables: dict[str, pd.DataFrame] = {}
    if (out / "concepts.parquet").is_file():
        tables["concepts"] = pd.read_parquet(out / "concepts.parquet")
    for name in ("frequencies", "hits", "performance"):
        files = sorted(out.glob(f"*/{name}.parquet"))
        if files:
            tables[name] = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return tables


def count_quality(spec: StudySpec) -> pd.DataFrame | None:
    """The study's count-quality table (``tag/count_quality.parquet``, written by the tag stage), None before it ran
    or without a tagger."""
    path = spec.output_path / "tag" / "count_quality.parquet"
    if spec.tagger.kind == "none" or not path.is_file() or _unreadable(path):
        return None
    return pd.read_parquet(path)
