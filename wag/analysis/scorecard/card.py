"""Rows a notebook hands in, and the assembled card: every printed value beside ours, with a status and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wag.analysis.scorecard.reported import (
    DIFFERS,
    MATCH,
    MISSING,
    ROW_COLUMNS,
    ROWS_NAME,
    SCORECARD_COLUMNS,
    STATUSES,
    PaperReported,
    ScorecardError,
    format_value,
    paper_reported,
)

# ------------------------------------------------------------------------------------------ notebook rows


def row(
    id: str,
    ours: float | None,
    note: str = "",
    *,
    corrected: float | None = None,
    corrected_note: str = "",
    missing: str = "",
) -> dict[str, Any]:
    """One scorecard row of a notebook: our value for the paper's entry ``id`` (``missing`` when not computable),
    with an optional corrected value (where the paper's method is wrong or arbitrary) and what it changes."""
    v = float("nan") if ours is None else float(ours)
    c = float("nan") if corrected is None else float(corrected)
    return {
        "id": id,
        "ours": v,
        "note": note,
        "ours_corrected": c,
        "corrected_note": corrected_note,
        "missing": missing,
    }


def rows_frame(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Validate notebook rows: known ids, no duplicates, a value or a ``missing`` reason each."""
    df = pd.DataFrame(rows).copy() if not isinstance(rows, pd.DataFrame) else rows.copy()
    if df.empty:
        raise ScorecardError("no scorecard rows given; pass one row per paper entry this section computes")
    if "id" not in df or "ours" not in df:
        raise ScorecardError(
            f"scorecard rows need columns id and ours (got {list(df.columns)}); build them with wag.analysis.scorecard.row"
        )
    for c in ROW_COLUMNS:
        if c not in df:
            df[c] = "" if c in ("note", "corrected_note", "missing") else float("nan")
    df = df[ROW_COLUMNS]
    known = paper_reported().by_id()
    unknown = sorted(set(df["id"]) - set(known))
    if unknown:
        raise ScorecardError(
            f"unknown scorecard ids {unknown[:5]}{' …' if len(unknown) > 5 else ''}; ids are those of wag/data/paper_reported.yaml"
        )
    dup = sorted(df.loc[df["id"].duplicated(), "id"])
    if dup:
        raise ScorecardError(f"scorecard ids given twice: {dup[:5]}")
    for c in ("note", "corrected_note", "missing"):
        df[c] = df[c].fillna("").astype(str)
    bad = df[df["ours"].isna() & (df["missing"] == "")]
    if len(bad):
        raise ScorecardError(
            f"rows {list(bad['id'])[:5]} have no value and no 'missing' reason; say which input is missing"
        )
    return df.reset_index(drop=True)


def read_rows(root: str | Path) -> pd.DataFrame:
    """Every ``<section>/scorecard_rows.csv`` under ``root`` (with a ``section`` column); later sections win ties."""
    parts = []
    for p in sorted(Path(root).glob(f"*/{ROWS_NAME}")):
        df = pd.read_csv(
            p, keep_default_na=False, na_values=[""], dtype={"note": str, "corrected_note": str, "missing": str}
        )
        parts.append(df.assign(section=p.parent.name))
    if not parts:
        return pd.DataFrame(columns=[*ROW_COLUMNS, "section"])
    out = pd.concat(parts, ignore_index=True)
    for c in ("note", "corrected_note", "missing"):
        out[c] = out[c].fillna("").astype(str)
    return out.drop_duplicates("id", keep="last")


#: The id under which a notebook whose scorecard cell did not run records why (``report.missing``).
SCORECARD_ENTRY = "scorecard_rows"


def notebook_runs(root: str | Path) -> dict[str, str]:
    """What the section indexes under ``root`` say of each notebook that ran: notebook name -> "" (its scorecard cell
    ran, or the record does not say) or the reason its scorecard cell was skipped (its ``scorecard_rows`` entry)."""
    out: dict[str, str] = {}
    for p in sorted(Path(root).glob("*/index.json")):
        try:
            idx = json.loads(p.read_text(encoding="utf-8"))
            name = Path(str(idx["notebook"])).stem
        except (json.JSONDecodeError, KeyError, TypeError, OSError):
            continue  # a foreign or broken index says nothing about our notebooks
        reasons = [
            str(e.get("claim", ""))
            for e in idx.get("entries", [])
            if isinstance(e, dict) and e.get("id") == SCORECARD_ENTRY and e.get("kind") == "missing"
        ]
        out[name] = out.get(name) or (reasons[0] if reasons else "")
    return out


def _no_row_reason(notebook: str | None, runs: dict[str, str]) -> str:
    """Why a printed entry has no row of ours: its notebook did not run, or ran without its scorecard cell (and why)."""
    if notebook and notebook in runs:
        why = runs[notebook]
        return (
            f"notebook {notebook} ran without its scorecard cell: {why}"
            if why
            else f"notebook {notebook} ran but did not produce this value"
        )
    return f"notebook {notebook} did not run (run `wag reproduce --only {notebook}`)"


# --------------------------------------------------------------------------------------------- assembly


def assemble(root: str | Path, reported: PaperReported | None = None) -> pd.DataFrame:
    """The scorecard: one row per printed entry (all of them), in the YAML's order."""
    rep = reported or paper_reported()
    rows = read_rows(root).set_index("id")
    runs = notebook_runs(root)
    out = []
    for e in rep.entries:
        rec: dict[str, Any] = {
            "id": e.id,
            "where": e.where,
            "quantity": e.quantity,
            "unit": e.unit,
            "paper": e.printed,
            "ours": np.nan,
            "delta": np.nan,
            "status": MISSING,
            "reason": "",
            "ours_corrected": np.nan,
            "corrected_note": "",
            "notebook": e.notebook or "",
        }
        r = rows.loc[e.id] if e.id in rows.index else None
        if r is None:
            rec["reason"] = e.missing or _no_row_reason(e.notebook, runs)
        elif pd.isna(r["ours"]):
            rec["reason"] = r["missing"] or e.missing or "no value"
        else:
            status, delta = e.judge(float(r["ours"]))
            rec.update(
                ours=float(r["ours"]), delta=delta, status=status, reason=r["note"], notebook=e.notebook or r["section"]
            )
            if status == MATCH and not e.rounds_to_printed(float(r["ours"])):
                rec["reason"] = (
                    f"ours rounds to {format_value(round(float(r['ours']), e.decimals), e.decimals)}: the paper printed it "
                    "truncated, not rounded" + (f"; {r['note']}" if r["note"] else "")
                )
            if status == DIFFERS and not rec["reason"]:
                rec["reason"] = "not explained yet"
        if r is not None:
            rec["ours_corrected"] = r["ours_corrected"]
            rec["corrected_note"] = r["corrected_note"]
        out.append(rec)
    return pd.DataFrame(out, columns=SCORECARD_COLUMNS)


def summary(card: pd.DataFrame) -> dict[str, int]:
    """How many entries match, differ, or cannot be reproduced here."""
    counts = card["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def summary_line(card: pd.DataFrame) -> str:
    """``"48 match · 2 differ · 0 not reproducible here"``."""
    s = summary(card)
    return f"{s[MATCH]} match · {s[DIFFERS]} differ · {s[MISSING]} not reproducible here"


#: The columns a notebook shows of its section's scorecard entries.
SECTION_COLUMNS = ["id", "paper", "ours", "delta", "status", "reason", "ours_corrected"]


def section_card(root: str | Path, notebook: str) -> pd.DataFrame:
    """The entries of the scorecard assembled under ``root`` that ``notebook`` computes (:data:`SECTION_COLUMNS`)."""
    card = assemble(root)
    return card.loc[card["notebook"] == notebook, SECTION_COLUMNS].reset_index(drop=True)


# ------------------------------------------------------------------------------ binned vs per-concept view
