"""The first call of every notebook: validated profile, output folder, plotting theme."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wag.params import Profile, load_profile
from wag.report import Report

#: Cell tag of notebook cells that read the paper's released files (or the NeglectedTails estimates); the test
#: suite skips them, naming why, where neither a local copy nor a download is available.
RELEASED_FILES_TAG = "released-files"


def setup(profile: str | Path, section: str, out_dir: str | Path | None = None, **overrides: Any) -> tuple[Profile, Report]:
    """Load the profile (name or YAML path; keyword overrides are deep-merged), prepare outputs.

    Returns the validated :class:`~wag.params.Profile` and a :class:`~wag.report.Report` writing to
    ``out_dir`` (default: the profile's ``figures_dir``) under ``<section>/``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    params = load_profile(profile, overrides or None)
    try:
        import altair as alt

        alt.data_transformers.disable_max_rows()
        from wag import plots

        if hasattr(plots, "enable_theme"):
            plots.enable_theme()
        from wag.renderer import enable_offline_renderer

        enable_offline_renderer()  # charts draw in JupyterLab with no network (Vega from vl-convert, PNG alongside)
    except ImportError:  # plotting extras missing: tables still work
        pass
    report = Report(section, params, out_dir=out_dir)
    print(f"wag profile '{params.name}' → outputs in {report.dir}")
    return params, report
