"""Altair charts in Jupyter with no network: an offline widget view plus a static PNG.

Altair's default renderer loads Vega from a CDN, so offline JupyterLab shows "Error loading script".
JupyterLab 4.6's built-in Vega extension knows the Vega-Lite v3-v5 media types only, not Altair 6's.
The ``wag`` renderer therefore uses Altair's ``JupyterChart`` widget (anywidget) in offline mode: its
JavaScript (Vega, Vega-Lite, Vega-Embed) comes from vl-convert's bundle through the kernel, not from
the web. Each output also carries a PNG rendered by vl-convert, which is what front ends without the
live widget show (papermill/nbval output files, untrusted notebooks, nbconvert HTML).
"""

from __future__ import annotations

from typing import Any

RENDERER = "wag"


def _as_bundle(rendered: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A renderer result (``data`` or ``(data, metadata)``) as two fresh dicts."""
    if isinstance(rendered, tuple):
        data, metadata = rendered
        return dict(data), dict(metadata or {})
    return dict(rendered), {}


def offline_renderer(spec: dict[str, Any], **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Render ``spec`` as an offline ``JupyterChart`` widget view with a static PNG alongside."""
    import altair as alt
    import vl_convert as vlc

    alt.JupyterChart.enable_offline(offline=True)
    chart = alt.JupyterChart(chart=alt.Chart.from_dict(spec), embed_options=options.get("embed_options"))
    data, metadata = _as_bundle(chart._repr_mimebundle_())
    data["image/png"] = vlc.vegalite_to_png(spec, scale=options.get("scale_factor", 1.0))
    return data, metadata


def enable_offline_renderer() -> None:
    """Register and enable the ``wag`` renderer (needs anywidget and ipywidgets; else Altair's default stays)."""
    import altair as alt

    try:
        import anywidget  # noqa: F401  (JupyterChart is an anywidget)
        import ipywidgets  # noqa: F401
    except ImportError:  # pragma: no cover - the pinned environment has both
        return
    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, offline_renderer)
    alt.renderers.enable(RENDERER)
