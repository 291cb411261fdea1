"""Execute the notebooks headlessly with papermill for one profile and write a run manifest."""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from wag.errors import WagError
from wag.io import write_json
from wag.manifest import environment, folder_checksums
from wag.params import Profile, load_profile
from wag.paths import project_root, resolve
from wag.report import write_index

KERNEL_NAME = "wag"


@dataclass
class NotebookRun:
    """Outcome of one executed notebook."""

    notebook: str
    status: str  # ok | failed
    seconds: float
    output: str
    error: str | None = None


def notebooks_dir() -> Path:
    """The folder of the project's notebooks."""
    return project_root() / "notebooks"


def available_notebooks() -> list[str]:
    """Notebook names (without ``.ipynb``) in paper order: sections first, then appendices."""
    return sorted(p.stem for p in notebooks_dir().glob("*.ipynb"))


def select_notebooks(profile: Profile, only: list[str] | None) -> list[str]:
    """The notebooks to run: ``only`` if given, else the profile's list, else all; unknown names are an error."""
    known = available_notebooks()
    wanted = only or profile.notebooks or known
    unknown = [n.removesuffix(".ipynb") for n in wanted if n.removesuffix(".ipynb") not in known]
    if unknown:
        raise WagError(f"unknown notebook(s) {', '.join(unknown)}; available: {', '.join(known)}")
    return [n.removesuffix(".ipynb") for n in wanted]


def ensure_kernel() -> str:
    """Make sure the ``wag`` Jupyter kernel exists (installed into this interpreter's prefix if not)."""
    from jupyter_client.kernelspec import find_kernel_specs

    if KERNEL_NAME not in find_kernel_specs():
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME, "--display-name", "Python (wag)"],
            check=True, capture_output=True,
        )
    return KERNEL_NAME


def _input_checksums(profile: Profile) -> dict[str, dict[str, str] | str]:
    """Checksums of the released files this run read (when a local folder was found)."""
    out: dict[str, dict[str, str] | str] = {}
    try:
        from wag import artifacts
    except ImportError:
        return out
    for label, finder in (("paper_artifacts", getattr(artifacts, "paper_root", None)), ("neglected_tails", getattr(artifacts, "neglected_tails_root", None))):
        if finder is None:
            continue
        try:
            root = Path(finder(profile))
        except Exception as exc:  # noqa: BLE001 - recorded, not fatal: a run may not need this input
            out[label] = f"not available: {exc}"
            continue
        out[label] = {"root": str(root), **folder_checksums(root)}
    return out


def run_notebooks(profile_name: str, *, only: list[str] | None = None, out: str | Path | None = None, progress: bool = True) -> tuple[list[NotebookRun], Path]:
    """Execute the selected notebooks for a profile; return their outcomes and the manifest path.

    Figures and tables go to ``out`` (default: the profile's ``figures_dir``), executed notebooks to
    ``out/notebooks`` (default: ``runs/<profile>/``), the manifest beside them.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    profile = load_profile(profile_name)
    names = select_notebooks(profile, only)
    fig_root = resolve(out) if out else profile.figures_path
    run_dir = fig_root / "notebooks" if out else project_root() / "runs" / profile.name
    from wag.checks import check_output_dir

    check_output_dir(fig_root, "--out" if out else f"figures_dir of profile '{profile.name}'")
    check_output_dir(run_dir, "--out" if out else "the run folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    kernel = ensure_kernel()
    started = _dt.datetime.now(_dt.timezone.utc)
    results: list[NotebookRun] = []
    bar = tqdm(names, desc=f"reproduce [{profile.name}]", unit="notebook", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        src = notebooks_dir() / f"{name}.ipynb"
        dst = run_dir / f"{name}.ipynb"
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                str(src), str(dst),
                parameters={"profile": profile_name, "out_dir": str(fig_root)},
                kernel_name=kernel, cwd=str(notebooks_dir()), progress_bar=False,
            )
            results.append(NotebookRun(name, "ok", round(time.perf_counter() - t0, 2), str(dst)))
        except pm.PapermillExecutionError as exc:
            msg = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            results.append(NotebookRun(name, "failed", round(time.perf_counter() - t0, 2), str(dst), msg))
            tqdm.write(f"FAILED {name}.ipynb — {msg} (executed copy: {dst})", file=sys.stderr)
    write_index(fig_root)
    manifest = run_dir / "manifest.json"
    write_json(
        manifest,
        {
            "profile": profile.model_dump(mode="json"),
            "profile_arg": profile_name,
            "started": started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "figures": str(fig_root),
            "notebooks": [asdict(r) for r in results],
            "notebook_seconds_total": round(sum(r.seconds for r in results), 2),
            "environment": environment(),
            "inputs": _input_checksums(profile),
            "env_vars": {k: os.environ[k] for k in ("WAG_PAPER_ARTIFACTS", "WAG_NEGLECTED_TAILS", "WAG_CACHE") if k in os.environ},
        },
    )
    return results, manifest
