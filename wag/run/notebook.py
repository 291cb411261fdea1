"""The first call of every notebook: validated profile, output folder, plotting theme."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wag.artifacts import ArtifactsMissingError, neglected_tails_root, paper_root
from wag.core.checks import check_output_dir
from wag.core.errors import WagError, debug_enabled, one_line
from wag.report import Report
from wag.run.profile import Profile, coerce_overrides, load_profile
from wag.sources import source_kind

#: Cell tag of notebook cells that read the paper's released files (or the NeglectedTails estimates); the test
#: suite skips them, naming why, where neither a local copy nor a download is available.
RELEASED_FILES_TAG = "released-files"
#: Cell tag of notebook cells that read the profile's analysis source (``wag.sources``): they need the released
#: files only when the source is the released files, and run on a study without them.
SOURCE_TAG = "source"
#: Cell tag of notebook cells on the project's own generated demonstration data (notebook 2's generated corpus, the
#: synthetic world): ``wag reproduce`` skips them on a study profile, whose notebooks are about the study.
GENERATED_TAG = "generated"
#: Cell tag of notebook cells about a study that read it without ``wag.sources.open_source`` (notebook 2's study
#: section): with ``source`` cells, they make a notebook one ``wag reproduce`` runs on a study.
STUDY_TAG = "study"

#: The IPython event hooks :func:`track_cells` installed last (replaced when a notebook calls ``setup`` again).
_cell_hooks: list[tuple[str, Callable[..., None]]] = []


def skip_tags(profile: Profile | None = None) -> tuple[str, ...]:
    """Tags of the cells that need the released files under ``profile`` (default: released files as the source)."""
    study = profile is not None and source_kind(profile) == "study"
    return (RELEASED_FILES_TAG,) if study else (RELEASED_FILES_TAG, SOURCE_TAG)


def setup(
    profile: str | Path,
    section: str,
    out_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    **sections: Any,
) -> tuple[Profile, Report]:
    """Load the profile (name or YAML path) with ``overrides`` applied, prepare outputs.

    ``overrides`` is the notebook's papermill parameter: dotted profile keys (``{"analysis.n_boot": 200}``),
    validated by the profile schema. Keyword ``sections`` (``analysis={"n_boot": 200}``) are merged too.
    Returns the validated :class:`~wag.run.profile.Profile` and a :class:`~wag.report.Report` writing to
    ``out_dir`` (default: the profile's ``figures_dir``) under ``<section>/``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    install_error_handler()
    params = load_profile(profile, {**(coerce_overrides(overrides) or {}), **sections} or None)
    try:  # lazy: altair takes ~1.5 s to import; tests/conftest.py and `wag reproduce` import this module without charts
        import altair as alt

        alt.data_transformers.disable_max_rows()
        from wag.analysis import plots

        if hasattr(plots, "enable_theme"):
            plots.enable_theme()
        from wag.report.renderer import enable_offline_renderer

        enable_offline_renderer()  # charts draw in JupyterLab with no network (Vega from vl-convert, PNG alongside)
    except ImportError:  # plotting extras missing: tables still work
        pass
    report = Report(section, params, out_dir=out_dir)
    check_output_dir(
        report.root, "out_dir" if out_dir else f"figures_dir of profile '{params.name}'"
    )  # before any work
    track_cells(report)
    print(f"wag profile '{params.name}' → outputs in {report.dir}")
    return params, report


def released_files_missing(profile: Profile | None = None) -> str | None:
    """Why the paper's released files or the NeglectedTails estimates cannot be had (or, on a profile whose
    source is a study, do not apply), else None.

    Tries what a notebook would (profile key, environment variable, cache, download when allowed), so the
    test suite (``tests/conftest.py``) and ``wag reproduce`` skip the cells tagged :data:`RELEASED_FILES_TAG`
    for the same reason. The reason is the first line of the :class:`~wag.artifacts.ArtifactsMissingError`.
    """
    if profile is not None and source_kind(profile) == "study":  # the paper's own comparisons do not apply to a study
        return (
            f"the profile's source is study '{profile.study.name}': cells about the paper's released files do not apply"
        )
    try:
        paper_root(profile)
        neglected_tails_root(profile)
    except ArtifactsMissingError as exc:
        reason = str(exc).splitlines()[0].split(" Provide them in")[0]
        return reason if len(reason) <= 300 else reason[:297] + "…"
    return None


def track_cells(report: Report) -> bool:
    """Tell ``report`` which notebook cell runs and which ran, so every output records the cell that made it.

    The id is the one the front end sends in the execute request's metadata (``cellId``): JupyterLab does, and so
    does ``wag reproduce`` (:mod:`wag.run.engine`); plain papermill and nbval send none (the id is then None).
    ipykernel hands it to IPython's ``pre_run_cell`` / ``post_run_cell`` events (``ExecutionInfo.cell_id``).
    Returns whether IPython is running; the hooks of an earlier ``setup`` in the same kernel are replaced.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    for event, hook in _cell_hooks:
        try:
            shell.events.unregister(event, hook)
        except ValueError:  # already gone
            pass

    def started(info: Any) -> None:
        report.cell_started(getattr(info, "cell_id", None))

    def finished(result: Any) -> None:
        report.cell_finished(getattr(result.info, "cell_id", None), success=bool(result.success))

    _cell_hooks[:] = [("pre_run_cell", started), ("post_run_cell", finished)]
    for event, hook in _cell_hooks:
        shell.events.register(event, hook)
    return True


def install_error_handler() -> bool:
    """Inside IPython, show a :class:`~wag.core.errors.WagError` (the user's input is wrong) as one short line.

    The cell still fails (papermill stops there); other exceptions keep IPython's full traceback, and so does
    every error when ``WAG_DEBUG=1``. Returns whether a handler was installed.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or debug_enabled():
        return False

    def short(self: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
        stb = [f"{etype.__name__}: {one_line(str(value))}  (WAG_DEBUG=1 shows the traceback)"]
        self._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((WagError,), short)
    return True
