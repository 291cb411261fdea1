"""JupyterLab in a real headless Chromium, offline: a notebook runs on the ``wag`` kernel and its charts draw.

Starts ``jupyter lab`` on 127.0.0.1 (free port, random token, temp root holding a copy of a notebook),
opens the notebook in headless Chromium with every non-local host unresolvable and a dead proxy,
runs all cells from the Run menu, and checks the cells' outputs and that a chart drew (an SVG or
canvas inside an output area). Also opens one committed ``figures/**/*.html`` page from disk.
Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser``); skips without them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Runs on `ci` in well under a minute, needs neither the paper's released files nor the network, draws charts.
NOTEBOOK = "2_concepts_and_frequency.ipynb"
WAIT_START = 120  # seconds: server up, kernel idle
WAIT_RUN = 600  # seconds: every cell ran (generous: CI machines are slow and shared)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
OFFLINE_FLAGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]


def _binaries() -> tuple[str, str]:
    """Chromium and chromedriver paths, or skip naming ``make browser``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "Chromium and chromedriver not installed: run `make browser` (apt-get install chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium not installed: run `make setup` (requirements-dev.txt pins it), then `make browser`")
    return chromium, driver


class _VersionLine:
    """Pytest plugin printing the Chromium version in the terminal summary (shown even with ``-q``)."""

    def __init__(self, line: str) -> None:
        self.line = line

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(self.line)


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium (Selenium) that can reach 127.0.0.1 only; console messages are kept."""
    chromium, driver_path = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    version = subprocess.run([chromium, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    line = f"browser test: {version or 'Chromium (version unknown)'} driven by {driver_path}"
    plugin = _VersionLine(line)
    request.config.pluginmanager.register(plugin, "wag-browser-version")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + OFFLINE_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, timeout: float, probe: Any, interval: float = 1.0) -> Any:
    """Poll ``probe()`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``jupyter lab`` on 127.0.0.1 serving a temp folder that holds a copy of :data:`NOTEBOOK`."""
    _binaries()
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    nb = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))
    params = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    # The user's one edit: outputs go to the temp folder instead of the project's runs/ci/figures.
    src = "".join(params["source"]) if isinstance(params["source"], list) else params["source"]
    params["source"] = re.sub(r"^out_dir = .*$", f"out_dir = {str(tmp / 'out')!r}", src, count=1, flags=re.M)
    assert str(tmp / "out") in params["source"]
    (root / NOTEBOOK).write_text(json.dumps(nb), encoding="utf-8")

    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        WAG_ROOT=str(ROOT),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    log = (tmp / "lab.log").open("wb")
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert server.poll() is None, (
                f"jupyter lab exited ({server.returncode}); log:\n{(tmp / 'lab.log').read_text()[-3000:]}"
            )
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        _wait("jupyter lab to answer", WAIT_START, up)
        yield {"base": base, "token": token, "notebook": NOTEBOOK, "out": tmp / "out", "log": tmp / "lab.log"}
    finally:
        try:  # the server shuts its kernels down too
            req = urllib.request.Request(
                f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
            )
            urllib.request.urlopen(req, timeout=10).close()
            server.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


_KERNEL = """
const app = window.jupyterapp; if (!app) return null;
const w = app.shell.currentWidget; if (!w || !w.sessionContext || !w.sessionContext.session) return null;
const k = w.sessionContext.session.kernel; return k ? [k.name, k.status] : null;
"""
_STATE = """
const w = window.jupyterapp.shell.currentWidget, cells = [];
for (let i = 0; i < w.model.cells.length; i++) {
  const c = w.model.cells.get(i);
  if (c.type === 'code') cells.push({id: c.id, count: c.executionCount, outputs: c.outputs.toJSON()});
}
const busy = Array.from(document.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'));
return {kernel: w.sessionContext.session.kernel.status, busy: busy, cells: cells};
"""
_CHARTS = """
const found = [];
for (const embed of document.querySelectorAll('.jp-OutputArea-output .vega-embed')) {
  const el = embed.querySelector('svg.marks, canvas.marks');
  const r = el ? el.getBoundingClientRect() : {width: 0, height: 0};
  found.push({marks: !!el, tag: el ? el.tagName.toLowerCase() : null, width: r.width, height: r.height});
}
return found;
"""


def _is_chart(output: dict[str, Any]) -> bool:
    """An Altair chart output, whatever the renderer: a Vega media type, Altair's HTML, or a JupyterChart widget."""
    data = output.get("data", {})
    return (
        any("vega" in k for k in data)
        or "vegaEmbed" in str(data.get("text/html", ""))
        or (WIDGET_MIME in data and "JupyterChart" in str(data.get("text/plain", "")))
    )


def _click_menu(driver: Any, menu: str, command: str) -> None:
    """Open a main-menu entry (e.g. ``Run``) and click the item bound to ``command``."""
    from selenium.webdriver.common.by import By

    item = next(
        el for el in driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item") if el.text.strip() == menu
    )
    item.click()
    _wait(
        f"the {menu} menu",
        30,
        lambda: driver.find_elements(By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]'),
    )
    driver.find_element(By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]').click()


def test_notebook_runs_and_charts_draw_offline(lab: dict[str, Any], browser: Any) -> None:
    """Run All on the ``wag`` kernel: every code cell ran, no error output, no CDN error, charts drew."""
    browser.get(f"{lab['base']}/lab/tree/{lab['notebook']}?token={lab['token']}")
    kernel = _wait(
        "the notebook's kernel to be idle",
        WAIT_START,
        lambda: (k := browser.execute_script(_KERNEL)) and k[1] == "idle" and k,
    )
    assert kernel[0] == "wag", f"notebook opened on kernel {kernel[0]!r}, expected 'wag'"

    _click_menu(browser, "Run", "runmenu:run-all")  # Run > Run All Cells

    def settled(s: dict[str, Any]) -> bool:
        return any(c["count"] is not None for c in s["cells"]) and s["kernel"] == "idle" and not s["busy"]

    def finished() -> dict[str, Any] | None:
        """The notebook's cells once Run All is over: kernel idle and no queued cell, twice 2 s apart."""
        if not settled(browser.execute_script(_STATE)):
            return None
        time.sleep(2)
        s = browser.execute_script(_STATE)
        return s if settled(s) else None

    _wait("a first cell to run", WAIT_START, lambda: any(c["count"] for c in browser.execute_script(_STATE)["cells"]))
    state = _wait("Run All to finish", WAIT_RUN, finished, interval=2)

    errors = [
        (c["id"], o.get("ename"), o.get("evalue"))
        for c in state["cells"]
        for o in c["outputs"]
        if o["output_type"] == "error"
    ]
    assert not errors, f"cells raised: {errors}"
    not_run = [c["id"] for c in state["cells"] if c["count"] is None]
    assert not not_run, f"cells did not run: {not_run}"
    stderr = "".join(o.get("text", "") for c in state["cells"] for o in c["outputs"] if o.get("name") == "stderr")
    assert "IProgress not found" not in stderr, "tqdm found no ipywidgets: progress bars are not widgets"
    chart_outputs = [o for c in state["cells"] for o in c["outputs"] if _is_chart(o)]
    assert chart_outputs, "no cell displayed a chart"

    def drawn() -> list[dict[str, Any]] | None:
        found = browser.execute_script(_CHARTS)
        ok = [c for c in found if c["marks"] and c["width"] > 0 and c["height"] > 0]
        return ok if len(ok) >= len(chart_outputs) else None

    charts = _wait(f"all {len(chart_outputs)} charts to draw in their output areas", 60, drawn)
    assert {c["tag"] for c in charts} <= {"svg", "canvas"}
    no_png = [o["data"].get("text/plain", "")[:60] for o in chart_outputs if "image/png" not in o["data"]]
    assert not no_png, f"chart outputs without a static PNG (papermill/nbval files would show no chart): {no_png}"
    page_text = browser.execute_script("return document.body.innerText")
    for message in ("Error loading script", "Error displaying widget"):
        assert message not in page_text, f"an output shows {message!r}"


def test_committed_figure_page_draws_offline(browser: Any) -> None:
    """One committed interactive figure (vendored Vega bundle, opened from disk) draws with a clean console."""
    pages = sorted((ROOT / "figures").glob("**/*.html"))
    if not pages:
        pytest.skip("no committed figures/**/*.html (run `make reproduce` to create them)")
    page = pages[0]
    browser.get_log("browser")  # drop earlier messages
    browser.get(page.as_uri())
    drawn = _wait(
        f"the chart in {page.relative_to(ROOT)} to draw",
        60,
        lambda: browser.execute_script("return document.querySelectorAll('#vis svg.marks, #vis canvas.marks').length"),
    )
    assert drawn >= 1
    severe = [m for m in browser.get_log("browser") if m["level"] in ("SEVERE", "ERROR")]
    assert not severe, f"console errors on {page.relative_to(ROOT)}: {severe}"
