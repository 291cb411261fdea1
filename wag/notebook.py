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
    install_error_handler()
    params = load_profile(profile, overrides or None)
    try:
        import altair as alt

        alt.data_transformers.disable_max_rows()
        from wag import plots

        if hasattr(plots, "enable_theme"):
            plots.enable_theme()
    except ImportError:  # plotting extras missing: tables still work
        pass
    report = Report(section, params, out_dir=out_dir)
    print(f"wag profile '{params.name}' → outputs in {report.dir}")
    return params, report


def install_error_handler() -> bool:
    """Inside IPython, show a :class:`~wag.errors.WagError` (the user's input is wrong) as one short line.

    The cell still fails (papermill stops there); other exceptions keep IPython's full traceback, and so does
    every error when ``WAG_DEBUG=1``. Returns whether a handler was installed.
    """
    from wag.errors import WagError, debug_enabled, one_line

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
