"""Saving figures and tables with the paper id they reproduce, and the index ``figures/README.md``.

Layout under the output root (``figures/`` for the default profile)::

    <section>/<id>.png|svg|html   altair chart (static + interactive)
    <section>/<id>_data.csv       the plotted points
    <section>/<id>_fits.csv       the fits drawn (when there are any)
    <section>/<id>.csv|md         tables
    <section>/index.json          what this section's notebook produced in its last run, and which cell made each
                                  output (``cell``; ``cells``: the cells that ran), read back by :func:`read_cell_record`
    README.md                     the index over all sections
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from wag.analysis.scorecard import MATCH, ROWS_NAME, rows_frame, section_card, summary_line
from wag.core.errors import WagError
from wag.core.io import write_bytes, write_csv, write_json, write_text
from wag.core.paths import resolve
from wag.sources import made_from

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from wag.run.profile import Profile

INDEX_NAME = "index.json"
README_NAME = "README.md"


class ReportError(WagError, ValueError):
    """A notebook asked the report for something it cannot write (an unknown format, an empty figure)."""


@dataclass
class Entry:
    """One output of a notebook: a figure, a table, or a result reported as missing."""

    id: str
    kind: str  # figure | table | missing
    paper: str
    claim: str
    files: list[str] = field(default_factory=list)
    cell: str | None = None  # id of the notebook cell that wrote it (None when the front end sends no cell ids)


def _markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """Render a DataFrame as a GitHub Markdown table (via tabulate)."""
    from tabulate import tabulate

    return tabulate(df, headers="keys", tablefmt="github", showindex=False, floatfmt=floatfmt) + "\n"


VENDOR_BUNDLE = "_vendor/vega-bundle.js"

_HTML = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{title}</title>
<script src="{bundle}"></script>
</head>
<body>
<div id="vis"></div>
<script>
vegaEmbed("#vis", {spec}, {{"mode": "vega-lite", "actions": true}}).catch(console.error);
</script>
</body>
</html>
"""


def ensure_vendor_bundle(root: Path) -> Path:
    """Write the Vega/Vega-Lite/Vega-Embed bundle (from vl-convert, offline) once per output root.

    Every interactive HTML figure loads it by relative path, so figures open offline without each
    file carrying its own ~0.9 MB copy of the libraries.
    """
    import vl_convert as vlc

    path = root / VENDOR_BUNDLE
    if not path.is_file():
        write_text(path, vlc.javascript_bundle())
    return path


def _render(chart: alt.TopLevelMixin, formats: tuple[str, ...], *, title: str, bundle: str) -> dict[str, bytes]:
    """Render a chart into each format with one spec build and one SVG render (PNG is rasterised from it)."""
    import vl_convert as vlc

    spec = chart.to_dict()
    out: dict[str, bytes] = {}
    svg: str | None = None
    if {"svg", "png"} & set(formats):
        svg = vlc.vegalite_to_svg(spec)
    for fmt in formats:
        if fmt == "svg":
            out[fmt] = svg.encode("utf-8")  # type: ignore[union-attr]
        elif fmt == "png":
            out[fmt] = vlc.svg_to_png(svg, scale=2.0)
        elif fmt == "html":
            out[fmt] = _HTML.format(title=title, bundle=bundle, spec=json.dumps(spec)).encode("utf-8")
        else:
            raise ReportError(f"unsupported figure format {fmt!r}; use png, svg or html")
    return out


class Report:
    """Writes one notebook's outputs under ``<out_root>/<section>/`` and keeps the index current."""

    def __init__(
        self, section: str, profile: Profile, out_dir: str | Path | None = None, notebook: str | None = None
    ) -> None:
        self.section = section
        self.profile = profile
        self.notebook = notebook or section
        self.root = resolve(out_dir) if out_dir else profile.figures_path
        self.dir = self.root / section
        self.entries: list[Entry] = []
        self.cell: str | None = None  # the notebook cell running now (told by wag.run.notebook.track_cells)
        self.cells: list[str] = []  # the cells that ran to the end, in order

    # -- the running cell ------------------------------------------------------------------------
    def cell_started(self, cell_id: str | None) -> None:
        """Cell ``cell_id`` starts: the outputs it writes name it."""
        self.cell = cell_id

    def cell_finished(self, cell_id: str | None, success: bool = True) -> None:
        """Cell ``cell_id`` ran to the end: the index records it, so a later run that skips the cell knows what it
        makes (nothing, when it wrote nothing)."""
        self.cell = None
        if cell_id is None or not success or cell_id in self.cells:
            return
        self.cells.append(cell_id)
        if self.entries:  # before the first output the index is not written yet; it will carry the cells then
            self._write_section_index()

    # -- outputs ---------------------------------------------------------------------------------
    def figure(
        self,
        chart: alt.TopLevelMixin,
        fig_id: str,
        *,
        paper: str,
        claim: str,
        data: pd.DataFrame,
        fits: pd.DataFrame | None = None,
        formats: tuple[str, ...] = ("png", "svg", "html"),
    ) -> list[Path]:
        """Save ``chart`` as ``<id>.png/.svg/.html`` plus ``<id>_data.csv`` (and ``<id>_fits.csv``)."""
        if data is None or len(data) == 0:
            raise ReportError(f"figure {fig_id}: no plotted points to save; refusing to write an empty figure")
        paths = []
        if "html" in formats:
            ensure_vendor_bundle(self.root)
        rendered = _render(chart, formats, title=f"{fig_id} — {paper}", bundle=f"../{VENDOR_BUNDLE}")
        for fmt, blob in rendered.items():
            paths.append(write_bytes(self.dir / f"{fig_id}.{fmt}", blob))
        paths.append(write_csv(self.dir / f"{fig_id}_data.csv", data))
        if fits is not None:
            paths.append(write_csv(self.dir / f"{fig_id}_fits.csv", fits))
        self._register(Entry(fig_id, "figure", paper, claim, [p.name for p in paths], self.cell))
        return paths

    def table(self, df: pd.DataFrame, table_id: str, *, paper: str, claim: str, floatfmt: str = ".4g") -> list[Path]:
        """Save a table as ``<id>.csv`` and ``<id>.md`` (the Markdown starts with the paper id and claim)."""
        csv = write_csv(self.dir / f"{table_id}.csv", df)
        md_text = f"# {table_id} — reproduces {paper}\n\n{claim}\n\n" + _markdown_table(df, floatfmt)
        md = write_text(self.dir / f"{table_id}.md", md_text)
        self._register(Entry(table_id, "table", paper, claim, [csv.name, md.name], self.cell))
        return [csv, md]

    def missing(self, item_id: str, *, paper: str, reason: str) -> None:
        """Record that an output could not be produced (e.g. an unreleased input file); nothing is faked."""
        self._register(Entry(item_id, "missing", paper, reason, [], self.cell))

    def scorecard(self, rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
        """Write this section's scorecard rows (our values for the paper's printed numbers, see
        :mod:`wag.analysis.scorecard`) to ``<section>/scorecard_rows.csv`` (``wag reproduce`` assembles them), print
        how this notebook's entries compare with the paper and return those that do not match (all when every one
        matches): the last call of a notebook that reproduces printed numbers."""
        write_csv(self.dir / ROWS_NAME, rows_frame(rows))
        write_index(self.root)
        card = section_card(self.root, self.notebook)
        print(f"scorecard of {self.notebook}: {summary_line(card)}")
        differ = card[card["status"] != MATCH]
        return (differ if len(differ) else card).reset_index(drop=True)

    # -- index -----------------------------------------------------------------------------------
    def _register(self, entry: Entry) -> None:
        self.entries = [e for e in self.entries if e.id != entry.id] + [entry]
        self._write_section_index()
        write_index(self.root)

    def _write_section_index(self) -> None:
        write_json(
            self.dir / INDEX_NAME,
            {
                "section": self.section,
                "notebook": f"notebooks/{self.notebook}.ipynb",
                "profile": self.profile.name,
                "made_from": made_from(self.profile),
                "entries": [asdict(e) for e in self.entries],
                "cells": self.cells,
            },
        )


def read_section_indexes(root: Path) -> list[dict[str, Any]]:
    """All ``<section>/index.json`` files under ``root``, sorted by section."""
    out = []
    for p in sorted(root.glob(f"*/{INDEX_NAME}")):
        try:
            out.append(json.loads(p.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            continue  # a foreign or broken index is not ours to report on
    return out


@dataclass
class CellRecord:
    """What a notebook's recorded run wrote, cell by cell: the ``index.json`` of its sections read back."""

    notebook: str
    cells: list[str]  # the cells that ran
    outputs: dict[str, list[dict[str, Any]]]  # cell id -> the entries it wrote (figures, tables, missing results)

    def knows(self, cell_id: str) -> bool:
        """Whether the record says what ``cell_id`` writes (it ran, or wrote an output)."""
        return cell_id in self.cells or cell_id in self.outputs

    def outputs_of(self, cell_id: str) -> list[dict[str, Any]]:
        """The entries ``cell_id`` wrote (empty: it ran and wrote none)."""
        return list(self.outputs.get(cell_id, []))


def read_cell_record(root: str | Path, notebook: str) -> CellRecord | None:
    """The record of ``notebook`` (a name, e.g. ``3_frequency_vs_performance``) in the section indexes under ``root``;
    None when none names it with cell ids (no index, or one written where the front end sent no cell ids)."""
    cells: list[str] = []
    outputs: dict[str, list[dict[str, Any]]] = {}
    for idx in read_section_indexes(Path(root)):
        if idx.get("notebook") != f"notebooks/{notebook}.ipynb":
            continue
        cells += [c for c in idx.get("cells", []) if c not in cells]
        for e in idx.get("entries", []):
            if e.get("cell"):
                outputs.setdefault(e["cell"], []).append(e)
    return CellRecord(notebook, cells, outputs) if cells or outputs else None


def _cell(entry: dict[str, Any]) -> str:
    return f"`{entry['cell']}`" if entry.get("cell") else ""


def _made_from(idx: dict[str, Any]) -> str:
    """The profile column of the index: the profile's name, and the study it analysed (when a study)."""
    label = str(idx.get("made_from") or "")
    return idx["profile"] if not label.startswith("study ") else f"{idx['profile']}: {label}"


def write_index(root: str | Path, extra_lines: Sequence[str] = ()) -> Path:
    """(Re)write ``<root>/README.md``: every figure and table with its paper id, claim, notebook, cell and profile.

    ``extra_lines`` are appended (``wag reproduce`` adds the scorecard section, see :mod:`wag.report.scorecard_page`)."""
    root = Path(root)
    lines = [
        "# Figures and tables",
        "",
        "Generated by `wag reproduce` (do not edit by hand). Each row: the output, the paper figure or table it",
        "reproduces, the claim it checks, the notebook and the cell that made it and the profile it ran on.",
        "",
        "| output | paper | claim | notebook | cell | profile |",
        "|---|---|---|---|---|---|",
    ]
    missing = []
    for idx in read_section_indexes(root):
        for e in idx["entries"]:
            if e["kind"] == "missing":
                missing.append((idx, e))
                continue
            main = next(
                (f for f in e["files"] if f.endswith((".png", ".md"))), e["files"][0] if e["files"] else e["id"]
            )
            link = f"[{idx['section']}/{e['id']}]({idx['section']}/{main})"
            claim = e["claim"].replace("|", "\\|")
            lines.append(f"| {link} | {e['paper']} | {claim} | `{idx['notebook']}` | {_cell(e)} | {_made_from(idx)} |")
    if missing:
        lines += [
            "",
            "## Not reproduced (inputs missing)",
            "",
            "| output | paper | reason | notebook | cell |",
            "|---|---|---|---|---|",
        ]
        for idx, e in missing:
            lines.append(
                f"| {idx['section']}/{e['id']} | {e['paper']} | {e['claim']} | `{idx['notebook']}` | {_cell(e)} |"
            )
    lines += list(extra_lines)
    return write_text(root / README_NAME, "\n".join(lines) + "\n")
