"""setup() selects the offline chart renderer: widget JS with no network import, a static PNG alongside."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("ipywidgets")


def _bundle(chart: alt.TopLevelMixin) -> dict:
    rendered = chart._repr_mimebundle_()
    return rendered[0] if isinstance(rendered, tuple) else rendered


def test_setup_enables_offline_renderer(tmp_path):
    from wag.report.renderer import RENDERER
    from wag.run.notebook import setup

    alt.renderers.enable("default")
    setup("ci", "renderer_check", tmp_path)
    assert alt.renderers.active == RENDERER

    data = _bundle(alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})).mark_line().encode(x="x:Q", y="y:Q"))
    assert "application/vnd.jupyter.widget-view+json" in data  # the live JupyterChart widget
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"  # what saved notebooks show without the widget
    assert "text/html" not in data  # Altair's HTML output loads Vega from a CDN
    esm = alt.JupyterChart._esm
    assert "esm.sh" not in esm and "cdn.jsdelivr" not in esm, "the widget's JavaScript still imports from the network"
    assert "vega" in esm.lower() and len(esm) > 100_000  # Vega, Vega-Lite and Vega-Embed are bundled in
