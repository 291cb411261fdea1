"""Concept cards as one self-contained HTML page (``wag lookup --html``): tables and an inline SVG chart per concept.

Nothing is loaded from elsewhere: the chart is rendered to SVG by vl-convert and written into the page, so the file
opens offline and can be mailed as it is.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

_STYLE = """
body { font-family: Georgia, serif; max-width: 980px; margin: 2em auto; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f4f4f4; }
td.l, th.l { text-align: left; } .note { color: #555; font-style: italic; } .neg { color: #b00; } .pos { color: #070; }
"""


def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞"
        return f"{v:.{digits}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{digits}f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return html.escape(str(v))


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]], left: tuple[str, ...] = ()) -> str:
    cols = [
        (k, t) for k, t in cols if k != "where" or any(r.get("where") for r in rows)
    ]  # shown where it says something
    head = "".join(f'<th class="{"l" if k in left else ""}">{html.escape(t)}</th>' for k, t in cols)
    body = []
    for r in rows:
        cells = []
        for k, _ in cols:
            v = r.get(k, "")
            cls = "l" if k in left else ""
            if k == "residual" and isinstance(v, float) and v == v:
                cls = "neg" if v < 0 else "pos"
            cells.append(f'<td class="{cls}">{_fmt(v)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """A chart as SVG text (vl-convert, offline)."""
    import vl_convert as vlc  # lazy: only a page with a chart renders one

    return vlc.vegalite_to_svg(chart.to_dict())


def concept_card(card: dict[str, Any], svg: str | None = None) -> str:
    """One concept's card as an HTML fragment (see :func:`cards_page`)."""
    parts = [f"<h2>{html.escape(card['query'])}</h2>"]
    facts = [f"normalised key <b>{html.escape(card['key'])}</b>"]
    if card["spellings"]:
        facts.append("spellings matched: " + ", ".join(html.escape(s) for s in card["spellings"]))
    if card["datasets"]:
        facts.append("datasets: " + ", ".join(html.escape(d) for d in card["datasets"]))
    parts.append("<p>" + "; ".join(facts) + "</p>")
    if card.get("note"):
        parts.append(f'<p class="note">{html.escape(card["note"])}</p>')
    if card["nearest"]:
        parts.append("<p>nearest known names: " + ", ".join(html.escape(n) for n in card["nearest"]) + "</p>")
    if card["counts"]:
        parts.append("<h3>Counts</h3>")
        parts.append(
            _table(
                card["counts"],
                [
                    ("pretraining", "pretraining set"),
                    ("label", "count type"),
                    ("count", "count"),
                    ("percentile", "percentile in the long tail"),
                    ("where", "datasets (where they count it differently)"),
                ],
                left=("pretraining", "label", "where"),
            )
        )
    if card["performance"]:
        parts.append("<h3>Models beside the law</h3>")
        parts.append(
            _table(
                card["performance"],
                [
                    ("pretraining", "pretraining"),
                    ("model", "model"),
                    ("task", "task"),
                    ("dataset", "dataset"),
                    ("metric", "prompt / metric"),
                    ("value", "measured"),
                    ("predicted", "law predicts"),
                    ("pi_low", "PI low"),
                    ("pi_high", "PI high"),
                    ("residual", "residual"),
                ],
                left=("pretraining", "model", "task", "dataset", "metric"),
            )
        )
    if svg:
        parts.append(f"<div>{svg}</div>")
    parts.append("<h3>Evidence</h3>")
    if card["examples"]:
        parts.append(
            _table(
                card["examples"],
                [("sample_id", "sample"), ("caption", "caption"), ("image", "image")],
                left=("sample_id", "caption", "image"),
            )
        )
    else:
        parts.append(f'<p class="note">{html.escape(card.get("examples_note") or "no caption hits")}</p>')
    return "\n".join(parts)


def cards_page(cards: list[dict[str, Any]], svgs: list[str | None], *, title: str, intro: str) -> str:
    """A self-contained HTML page of concept cards (one inline SVG chart each, where given)."""
    body = "\n".join(concept_card(c, s) for c, s in zip(cards, svgs, strict=True))
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>\n{body}\n"
        "</body></html>\n"
    )
