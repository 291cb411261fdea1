"""The reproduction scorecard: every number the paper prints beside ours, with a status and the reason.

Three parts:

* :func:`paper_reported` loads ``wag/data/paper_reported.yaml``: the paper's printed values (typed in from
  the paper, the only values allowed to be), where each is printed, its print precision and the notebook
  that computes ours (or, for an entry nothing here can compute, the input that is missing).
* Each notebook computes *its* values from the released files through ``wag`` and hands them as rows
  (:func:`row` / :func:`rows_frame`) to ``Report.scorecard``, which writes ``<section>/scorecard_rows.csv``.
* :func:`assemble` joins the paper's entries with every section's rows and gives each entry a status:
  ``match`` (ours rounded or truncated to the printed decimals is the printed value / the claim holds), ``differs`` (with the reason), or
  ``not reproducible here`` (naming the missing input or the notebook that did not run). No entry is left out.
  :func:`fit_stories` sets, for every plotted panel, the paper's binned ρ beside the per-concept fit.

The package: :mod:`.reported` (the printed values), :mod:`.card` (rows and the assembled card), :mod:`.stories` (fit
stories and the Markdown page).
"""

from wag.analysis.scorecard.card import (
    SCORECARD_ENTRY,
    SECTION_COLUMNS,
    assemble,
    notebook_runs,
    read_rows,
    row,
    rows_frame,
    section_card,
    summary,
    summary_line,
)
from wag.analysis.scorecard.reported import (
    CORRECTED_LABEL,
    DIFFERS,
    MATCH,
    MISSING,
    ROW_COLUMNS,
    ROWS_NAME,
    SCORECARD_COLUMNS,
    STATUSES,
    PaperReported,
    Reported,
    ScorecardError,
    format_value,
    load_paper_reported,
    paper_reported,
)
from wag.analysis.scorecard.stories import STORY_COLUMNS, fit_stories, markdown, md_cell, paper_ids

__all__ = [
    "CORRECTED_LABEL",
    "DIFFERS",
    "MATCH",
    "MISSING",
    "ROWS_NAME",
    "ROW_COLUMNS",
    "SCORECARD_COLUMNS",
    "SCORECARD_ENTRY",
    "SECTION_COLUMNS",
    "STATUSES",
    "STORY_COLUMNS",
    "PaperReported",
    "Reported",
    "ScorecardError",
    "assemble",
    "fit_stories",
    "format_value",
    "load_paper_reported",
    "markdown",
    "notebook_runs",
    "md_cell",
    "paper_ids",
    "paper_reported",
    "read_rows",
    "row",
    "rows_frame",
    "section_card",
    "summary",
    "summary_line",
]
