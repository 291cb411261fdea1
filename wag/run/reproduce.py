"""Execute the notebooks headlessly with papermill for one profile and write a run manifest."""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from wag.analysis.scorecard import SCORECARD_ENTRY
from wag.artifacts import neglected_tails_root, paper_root
from wag.core.checks import check_output_dir
from wag.core.errors import WagError
from wag.core.io import write_json
from wag.core.manifest import environment, folder_checksums
from wag.core.paths import project_root, resolve
from wag.report import CellRecord, read_cell_record
from wag.report.scorecard_page import write_index_with_scorecard
from wag.run.notebook import (
    GENERATED_TAG,
    RELEASED_FILES_TAG,
    SOURCE_TAG,
    STUDY_TAG,
    released_files_missing,
    skip_tags,
)
from wag.run.profile import Profile, load_profile, profile_argument
from wag.sources import source_kind
from wag.study.run import run_study

KERNEL_NAME = "wag"
#: The first line of a cell ``wag reproduce`` skipped (:func:`skip_tagged_cells`).
SKIPPED_MARK = "# `wag reproduce` skipped this cell"
#: The paper reference of a skipped cell's outputs when no record names them.
UNRECORDED = "not recorded"
#: The committed outputs (the default profile's ``figures_dir``): the record of last resort of what a cell makes.
COMMITTED_FIGURES = "figures"


@dataclass
class NotebookRun:
    """Outcome of one executed notebook."""

    notebook: str
    status: str  # ok | failed
    seconds: float
    output: str
    error: str | None = None
    skipped_cells: list[str] = field(default_factory=list)  # ids of cells not run (their inputs are unavailable)
    not_produced: list[dict[str, str]] = field(
        default_factory=list
    )  # {"id", "paper", "cell"} of the outputs those cells make


@dataclass
class SkippedOutput:
    """A figure or table a skipped cell would have written, as the notebook's record names it."""

    id: str
    paper: str
    cell: str
    reason: str = ""


def notebooks_dir() -> Path:
    """The folder of the project's notebooks."""
    return project_root() / "notebooks"


def available_notebooks() -> list[str]:
    """Notebook names (without ``.ipynb``) in paper order: sections first, then appendices."""
    return sorted(p.stem for p in notebooks_dir().glob("*.ipynb"))


def cell_tags(nb: nbformat.NotebookNode) -> set[str]:
    """Every tag of the notebook's cells."""
    return {t for c in nb.cells for t in c.get("metadata", {}).get("tags", [])}


def applies_to_study(nb: nbformat.NotebookNode) -> bool:
    """Whether a notebook analyses a study: it has cells tagged ``source`` (they read ``wag.sources``) or ``study``."""
    return bool(cell_tags(nb) & {SOURCE_TAG, STUDY_TAG})


def study_notebooks() -> list[str]:
    """The notebooks that analyse a study (:func:`applies_to_study`), in paper order."""
    return [
        n
        for n in available_notebooks()
        if applies_to_study(nbformat.read(str(notebooks_dir() / f"{n}.ipynb"), as_version=4))
    ]


def select_notebooks(profile: Profile, only: list[str] | None) -> list[str]:
    """The notebooks to run: ``only`` if given, else the profile's ``notebooks:``, else all of them, or, when the
    profile's source is a study, those that analyse it (:func:`study_notebooks`: the synthetic world of 4-1 and 4-2
    and the released-files notebooks run on a study only when asked by name). Unknown names are an error."""
    known = available_notebooks()
    if only or profile.notebooks:
        wanted = only or profile.notebooks or []
    else:
        wanted = study_notebooks() if source_kind(profile) == "study" else known
    unknown = [n.removesuffix(".ipynb") for n in wanted if n.removesuffix(".ipynb") not in known]
    if unknown:
        raise WagError(f"unknown notebook(s) {', '.join(unknown)}; available: {', '.join(known)}")
    return [n.removesuffix(".ipynb") for n in wanted]


#: A notebook whose code imports one of these uses the synthetic world (it builds worlds and trains models, the work
#: that takes longest): it is started first when no previous run measured the notebooks.
SHARED_WORLD_MODULES = ("wag.experiments",)


def default_jobs() -> int:
    """Notebooks run at once by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def shares_world(nb: nbformat.NotebookNode) -> bool:
    """Whether the notebook's code imports the synthetic world's experiments (:data:`SHARED_WORLD_MODULES`)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return any(f"import {m}" in code or f"from {m} " in code or f"from {m}." in code for m in SHARED_WORLD_MODULES)


def previous_seconds(manifest: Path) -> dict[str, float]:
    """Each notebook's seconds in the previous run's manifest (none when there is none or it cannot be read)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {str(n["notebook"]): float(n["seconds"]) for n in data.get("notebooks", [])}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def code_size(nb: nbformat.NotebookNode) -> int:
    """Characters of the notebook's code: the stand-in for its run time when no previous run measured it."""
    return sum(len(c.source) for c in nb.cells if c.cell_type == "code")


def schedule(
    names: Sequence[str], sources: Mapping[str, nbformat.NotebookNode], seconds: Mapping[str, float]
) -> list[str]:
    """The order in which parallel workers take the notebooks: longest first, so the last to finish is a short one.

    Longest: by the previous run's ``seconds`` when every notebook has them; else the notebooks that share the
    synthetic world first (:func:`shares_world`: they train its models), each group by its code size. Ties keep the
    selection order. Notebooks that share the world may run at the same time: its worlds, trainings and studies are
    built by one process while another that needs the same one waits, then reads it (``folder_lock(wait=True)``)."""
    if all(n in seconds for n in names):
        return sorted(names, key=lambda n: -seconds[n])  # stable: ties keep the selection order
    return sorted(names, key=lambda n: (not shares_world(sources[n]), -code_size(sources[n])))


def skip_plan(profile: Profile, sources: Mapping[str, nbformat.NotebookNode]) -> list[tuple[tuple[str, ...], str]]:
    """Which tagged cells this run skips, and why: ``(tags, reason)`` pairs.

    Cells that need the released files (:func:`wag.run.notebook.skip_tags`) when those cannot be had or do not apply
    (a study), and, on a study, the cells tagged ``generated`` (notebook 2's generated corpus and the synthetic world:
    the project's own demonstration data, not the study's)."""
    plan: list[tuple[tuple[str, ...], str]] = []
    present = set().union(*(cell_tags(nb) for nb in sources.values())) if sources else set()
    tags = skip_tags(profile)
    if present & set(tags):
        reason = released_files_missing(profile)
        if reason is not None:
            plan.append((tags, reason))
    if source_kind(profile) == "study" and GENERATED_TAG in present:
        plan.append(
            (
                (GENERATED_TAG,),
                f"the profile's source is study '{profile.study.name}': cells on the project's generated demonstration "
                "data (generated corpus, synthetic world) do not apply",
            )
        )
    return plan


def ensure_kernel() -> str:
    """Make sure the ``wag`` Jupyter kernel exists (installed into this interpreter's prefix if not)."""
    from jupyter_client.kernelspec import find_kernel_specs

    if KERNEL_NAME not in find_kernel_specs():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ipykernel",
                "install",
                "--sys-prefix",
                "--name",
                KERNEL_NAME,
                "--display-name",
                "Python (wag)",
            ],
            check=True,
            capture_output=True,
        )
    return KERNEL_NAME


def kernel_options() -> dict:
    """Papermill options for one notebook's kernel. On POSIX the kernel talks over IPC sockets at a fresh path
    under the temp folder (no TCP port, so ipykernel has no "running over TCP without encryption" warning to
    print once per notebook, and concurrent runs never share a socket); elsewhere TCP stays and the kernel
    application logs only errors."""
    if os.name == "posix":
        import tempfile
        import uuid

        from traitlets.config import Config

        ip = os.path.join(tempfile.gettempdir(), f"wag-kernel-{uuid.uuid4().hex[:16]}")
        return {"config": Config({"KernelManager": {"transport": "ipc", "ip": ip}})}
    return {"extra_arguments": ["--IPKernelApp.log_level=ERROR"]}


def skipped_outputs(record: CellRecord | None, cell_id: str) -> list[SkippedOutput]:
    """What a skipped cell would have made: the outputs the record names for it (none when it ran and wrote
    none); a cell the record does not know is listed as ``unknown outputs of cell <id>``."""
    if record is None or not record.knows(cell_id):
        return [SkippedOutput(f"unknown outputs of cell {cell_id}", UNRECORDED, cell_id)]
    return [SkippedOutput(e["id"], e["paper"], cell_id) for e in record.outputs_of(cell_id)]


def notebook_record(name: str, roots: list[Path]) -> CellRecord | None:
    """The first record of notebook ``name`` among the output roots (the run's own, then the committed ``figures/``)."""
    for root in dict.fromkeys(roots):
        record = read_cell_record(root, name)
        if record is not None:
            return record
    return None


def skip_tagged_cells(
    nb: nbformat.NotebookNode,
    reason: str,
    tag: str | tuple[str, ...] = RELEASED_FILES_TAG,
    record: CellRecord | None = None,
) -> tuple[nbformat.NotebookNode, list[str], list[SkippedOutput]]:
    """A copy of ``nb`` whose cells tagged ``tag`` (or any of several tags) print why they were skipped and record what they would have made.

    Each replacement keeps the cell's id and tags and calls ``report.missing(id, paper=, reason=)`` for every
    figure or table the notebook's ``record`` says the cell writes (:func:`skipped_outputs`), so
    ``figures/README.md`` lists them as not reproduced and the next run's record still knows them.
    """
    out = copy.deepcopy(nb)
    skipped: list[str] = []
    outputs: list[SkippedOutput] = []
    tags = (tag,) if isinstance(tag, str) else tuple(tag)
    for i, cell in enumerate(out.cells):
        hit = [t for t in tags if t in cell.get("metadata", {}).get("tags", [])]
        if cell.cell_type != "code" or not hit or str(cell.source).startswith(SKIPPED_MARK):
            continue
        cid = cell.get("id") or f"cell-{i + 1}"
        made = skipped_outputs(record, cid)
        if "report.scorecard(" in str(cell.source) and all(o.id != SCORECARD_ENTRY for o in made):
            made.append(SkippedOutput(SCORECARD_ENTRY, "scorecard", cid))  # the card says why the rows are absent
        lines = [
            f"{SKIPPED_MARK} (tag {hit[0]}): its inputs are unavailable or do not apply.",
            f"print({f'skipped cell {cid}: {reason}'!r})",
        ]
        lines += [f"report.missing({o.id!r}, paper={o.paper!r}, reason={reason!r})" for o in made]
        cell.source = "\n".join(lines)
        skipped.append(cid)
        outputs += [SkippedOutput(o.id, o.paper, o.cell, reason) for o in made]
    return out, skipped, outputs


def _input_checksums(profile: Profile) -> dict[str, dict[str, str] | str]:
    """Checksums of the released files this run read (when a local folder was found; never downloads)."""
    out: dict[str, dict[str, str] | str] = {}
    profile = profile.model_copy(update={"download": False})  # reproduce already fetched what it could
    for label, finder in (("paper_artifacts", paper_root), ("neglected_tails", neglected_tails_root)):
        try:
            root = Path(finder(profile))
        except Exception as exc:  # noqa: BLE001 - recorded, not fatal: a run may not need this input
            out[label] = f"not available: {exc}"
            continue
        out[label] = {"root": str(root), **folder_checksums(root)}
    return out


def run_stale_study(profile: Profile, *, progress: bool = True) -> list[dict[str, str]] | None:
    """Run the stale and missing stages of the profile's ``study:`` section (none: nothing to do); the final status rows."""
    if profile.study is None:
        return None
    log = print if progress else (lambda *_: None)
    return run_study(profile.study, progress=progress, log=log).to_dict("records")


def run_notebooks(
    profile_name: str,
    *,
    only: list[str] | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    overrides: Mapping[str, Any] | None = None,
    jobs: int | None = None,
) -> tuple[list[NotebookRun], Path]:
    """Execute the selected notebooks for a profile; return their outcomes and the manifest path.

    ``overrides`` (dotted profile keys → values) are validated with the profile before any notebook runs
    and passed to every notebook as its ``overrides`` parameter. Figures and tables go to ``out`` (default:
    the profile's ``figures_dir``), executed notebooks to ``out/notebooks`` (default: ``runs/<profile>/``),
    the manifest beside them. When the released files cannot be had, the cells tagged ``released-files``
    are skipped (as the tests do) and the figures and tables they would have written are listed as not
    produced, with the reason, in each run, the manifest and ``figures/README.md``. A profile with a ``study:``
    section first runs the study's stale and missing stages (:func:`run_stale_study`).

    ``jobs`` notebooks run at once (default :func:`default_jobs`), each in its own kernel, longest first
    (:func:`schedule`).
    The outcomes, the manifest and the index are in the order of the selection whichever finished first.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    from wag.run.engine import cell_id_engine  # lazy: papermill, as above

    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise WagError(f"--jobs must be at least 1, got {jobs}: the number of notebooks run at once")
    overrides = dict(overrides or {})
    profile = load_profile(profile_name, overrides)
    names = select_notebooks(profile, only)
    sources = {name: nbformat.read(str(notebooks_dir() / f"{name}.ipynb"), as_version=4) for name in names}
    fig_root = resolve(out) if out else profile.figures_path
    run_dir = fig_root / "notebooks" if out else project_root() / "runs" / profile.name
    check_output_dir(
        fig_root, "--out" if out else f"figures_dir of profile '{profile.name}'"
    )  # at the door, before any download
    check_output_dir(run_dir, "--out" if out else "the run folder")
    needs_files = any(set(skip_tags(profile)) & cell_tags(nb) for nb in sources.values())
    plan = skip_plan(profile, sources)
    missing_reason = released_files_missing(profile) if needs_files else None
    parameter = profile_argument(profile_name)  # a YAML path made absolute: the kernels run in notebooks/
    run_dir.mkdir(parents=True, exist_ok=True)
    kernel = ensure_kernel()
    started = _dt.datetime.now(_dt.timezone.utc)
    study = run_stale_study(
        profile, progress=progress
    )  # the notebooks read the study's tables: bring them up to date first
    order = schedule(names, sources, previous_seconds(run_dir / "manifest.json"))
    params = {"profile": parameter, "out_dir": str(fig_root), "overrides": overrides}

    def run_one(name: str) -> NotebookRun:
        src: nbformat.NotebookNode = sources[name]
        skipped: list[str] = []
        made: list[SkippedOutput] = []
        if plan:
            # what each skipped cell makes: read before this run rewrites the out dir's index
            record = notebook_record(name, [fig_root, project_root() / COMMITTED_FIGURES])
            for tags, reason in plan:
                src, cells, outputs = skip_tagged_cells(src, reason, tags, record)
                skipped += cells
                made += outputs
        dst = run_dir / f"{name}.ipynb"
        t0 = time.perf_counter()
        run = NotebookRun(name, "ok", 0.0, str(dst), skipped_cells=skipped, not_produced=[asdict(o) for o in made])
        try:
            pm.execute_notebook(
                src,
                str(dst),
                parameters=params,
                kernel_name=kernel,
                cwd=str(notebooks_dir()),
                progress_bar=False,
                store_widget_state=False,
                engine_name=cell_id_engine(),  # each cell's id reaches the kernel, so outputs record their cell
                **kernel_options(),
            )
        except pm.PapermillExecutionError as exc:
            run.status, run.error = "failed", f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            tqdm.write(f"FAILED {name}.ipynb — {run.error} (executed copy: {dst})", file=sys.stderr)
        run.seconds = round(time.perf_counter() - t0, 2)
        return run

    done: dict[str, NotebookRun] = {}
    workers = min(jobs, len(order)) or 1
    bar = tqdm(
        total=len(names), desc=f"reproduce [{profile.name}, {workers} at once]", unit="notebook", disable=not progress
    )

    def run_and_count(name: str) -> None:
        done[name] = run_one(name)
        bar.set_postfix_str(name)
        bar.update(1)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wag-notebook") as pool:
        for future in [pool.submit(run_and_count, name) for name in order]:  # longest first: taken in this order
            future.result()  # a notebook's own failure is its NotebookRun; anything else (no kernel) is raised here
    bar.close()
    results = [done[name] for name in names]  # the order of the selection, whichever finished first
    write_index_with_scorecard(fig_root)
    manifest = run_dir / "manifest.json"
    write_json(
        manifest,
        {
            "profile": profile.model_dump(mode="json"),
            "profile_arg": profile_name,
            "overrides": overrides,
            "released_files": {"available": missing_reason is None, "reason": missing_reason} if needs_files else None,
            "not_produced": [{"notebook": r.notebook, **o} for r in results for o in r.not_produced],
            "started": started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "figures": str(fig_root),
            "notebooks": [asdict(r) for r in results],
            "study": study,
            "notebook_seconds_total": round(sum(r.seconds for r in results), 2),
            "jobs": workers,
            "environment": environment(),
            "inputs": _input_checksums(profile),
            "env_vars": {
                k: os.environ[k] for k in ("WAG_PAPER_ARTIFACTS", "WAG_NEGLECTED_TAILS", "WAG_CACHE") if k in os.environ
            },
        },
    )
    return results, manifest
