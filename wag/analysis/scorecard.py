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
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError, model_validator

from wag.core.errors import WagError
from wag.core.schema import StrictModel

ROWS_NAME = "scorecard_rows.csv"
ROW_COLUMNS = ["id", "ours", "note", "ours_corrected", "corrected_note", "missing"]
SCORECARD_COLUMNS = [
    "id",
    "where",
    "quantity",
    "unit",
    "paper",
    "ours",
    "delta",
    "status",
    "reason",
    "ours_corrected",
    "corrected_note",
    "notebook",
]
MATCH, DIFFERS, MISSING = "match", "differs", "not reproducible here"
STATUSES = (MATCH, DIFFERS, MISSING)
CORRECTED_LABEL = "ours (corrected)"


class ScorecardError(WagError):
    """A scorecard row or the paper's table of printed values is malformed."""


class Reported(StrictModel):
    """One number (or claim) the paper prints.

    ``kind = number``: ``value`` printed with ``decimals`` decimals (negative = rounded to tens, …); ours
    matches when it rounds to it. ``kind = claim``: the text states a bound; ours matches when it lies in
    [``low``, ``high``] (either may be open) or, with only ``value``, is at most ``value`` ("up to").
    """

    id: str
    where: str
    quantity: str
    kind: Literal["number", "claim"] = "number"
    value: float | None = None
    low: float | None = None
    high: float | None = None
    decimals: int = 0
    unit: str = ""
    notebook: str | None = None
    missing: str | None = None
    text: str | None = None
    significant: bool | None = None

    @model_validator(mode="after")
    def _complete(self) -> Reported:
        if self.kind == "number" and self.value is None:
            raise ValueError(f"{self.id}: a printed number needs 'value'")
        if self.kind == "claim" and self.value is None and self.low is None and self.high is None:
            raise ValueError(f"{self.id}: a claim needs 'value' or a bound 'low'/'high'")
        if self.notebook is None and self.missing is None:
            raise ValueError(
                f"{self.id}: say which notebook computes it ('notebook') or which input is missing ('missing')"
            )
        return self

    @property
    def printed(self) -> str:
        """The paper's value as printed (claims: the bound)."""
        if self.kind == "number":
            return _fmt(self.value, self.decimals)
        if self.low is not None and self.high is not None:
            return f"{_fmt(self.low, self.decimals)}–{_fmt(self.high, self.decimals)}"
        if self.low is not None:
            return f"> {_fmt(self.low, self.decimals)}"
        return f"≤ {_fmt(self.high if self.high is not None else self.value, self.decimals)}"

    def rounds_to_printed(self, ours: float) -> bool:
        """Whether ours, rounded to the printed decimals, is the printed value (not merely within one unit)."""
        return self.kind != "number" or abs(ours - float(self.value)) <= 0.5 * 10.0 ** (-self.decimals) * (1 + 1e-9)  # type: ignore[arg-type]

    def judge(self, ours: float) -> tuple[str, float]:
        """(status, Δ) of our value against the printed one: numbers match when ours rounded *or* truncated to the
        printed decimals is the printed value (the paper does both), claims when the stated bound holds."""
        if self.kind == "number":
            delta = ours - float(self.value)  # type: ignore[arg-type]
            scale = 10.0**self.decimals
            truncated = math.trunc(ours * scale * (1 + 1e-12)) / scale
            ok = self.rounds_to_printed(ours) or abs(truncated - float(self.value)) <= 1e-9 * max(1.0, abs(ours))  # type: ignore[arg-type]
            return (MATCH if ok else DIFFERS), delta
        lo = self.low if self.low is not None else -math.inf
        hi = self.high if self.high is not None else (float(self.value) if self.low is None else math.inf)  # type: ignore[arg-type]
        r = round(ours, max(self.decimals, 0))
        inside = lo <= r <= hi
        delta = 0.0 if inside else (r - hi if r > hi else r - lo)
        return (MATCH if inside else DIFFERS), delta


class PaperReported(StrictModel):
    """The whole table of printed values (``wag/data/paper_reported.yaml``)."""

    source: str
    entries: list[Reported]

    @model_validator(mode="after")
    def _unique(self) -> PaperReported:
        ids = [e.id for e in self.entries]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate ids: {', '.join(dup)}")
        return self

    def by_id(self) -> dict[str, Reported]:
        return {e.id: e for e in self.entries}


def _fmt(v: float | None, decimals: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:,.{max(decimals, 0)}f}"


def load_paper_reported(path: str | Path | None = None) -> PaperReported:
    """Read and validate a printed-values YAML (default: the package's ``paper_reported.yaml``)."""
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else (resources.files("wag") / "data" / "paper_reported.yaml").read_text(encoding="utf-8")
        )
        return PaperReported.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise ScorecardError(
            f"{path or 'wag/data/paper_reported.yaml'} is malformed: {exc}; fix the entry it names"
        ) from None


@lru_cache(maxsize=1)
def paper_reported() -> PaperReported:
    """The package's table of the paper's printed values (validated once)."""
    return load_paper_reported()


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


# --------------------------------------------------------------------------------------------- assembly


def assemble(root: str | Path, reported: PaperReported | None = None) -> pd.DataFrame:
    """The scorecard: one row per printed entry (all of them), in the YAML's order."""
    rep = reported or paper_reported()
    rows = read_rows(root).set_index("id")
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
            rec["reason"] = (
                e.missing
                or f"notebook {e.notebook} did not run or did not produce this value (run `wag reproduce --only {e.notebook}`)"
            )
        elif pd.isna(r["ours"]):
            rec["reason"] = r["missing"] or e.missing or "no value"
        else:
            status, delta = e.judge(float(r["ours"]))
            rec.update(
                ours=float(r["ours"]), delta=delta, status=status, reason=r["note"], notebook=e.notebook or r["section"]
            )
            if status == MATCH and not e.rounds_to_printed(float(r["ours"])):
                rec["reason"] = (
                    f"ours rounds to {_fmt(round(float(r['ours']), e.decimals), e.decimals)}: the paper printed it "
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

STORY_COLUMNS = [
    "panel",
    "task",
    "pretraining",
    "model",
    "count_type",
    "prompt_or_metric",
    "binned_rho",
    "binned_p",
    "n_bins_kept",
    "per_concept_r",
    "per_concept_r2",
    "slope_per_decade",
    "slope_lo",
    "slope_hi",
    "n_concepts",
    "story",
]


def _story(rho: float, r2: float, lo: float, hi: float) -> str:
    if any(map(lambda v: v != v, (rho, r2))):
        return ""
    strong_bins = abs(rho) >= 0.7
    weak_concepts = r2 < 0.10
    flat = lo == lo and hi == hi and lo <= 0 <= hi
    if strong_bins and flat:
        return "differ: binned trend, per-concept slope CI includes 0"
    if strong_bins and weak_concepts:
        return f"differ: binned ρ {rho:.2f}, but frequency explains {100 * r2:.1f}% of per-concept variance"
    if not strong_bins and not weak_concepts:
        return "differ: per-concept fit stronger than the binned ρ"
    return "agree"


def fit_stories(root: str | Path) -> pd.DataFrame:
    """For every ``<section>/<id>_fits.csv`` group: binned ρ beside per-concept r, r², slope per decade and CI."""
    keys = ["task", "pretraining", "model", "count_type", "prompt_or_metric"]
    out = []
    for p in sorted(Path(root).glob("*/*_fits.csv")):
        f = pd.read_csv(p)
        if "method" not in f or not set(keys) <= set(f.columns):
            continue  # not a fits-contract table (e.g. Fig. 6 segment lines)
        f = f.assign(**{k: f[k].fillna("").astype(str) for k in keys})
        b = f[f["method"] == "binned"].drop_duplicates(keys).set_index(keys)
        pc = f[f["method"] == "per_concept"].drop_duplicates(keys).set_index(keys)
        for ident in b.index.intersection(pc.index):
            bb, cc = b.loc[ident], pc.loc[ident]
            out.append(
                {
                    "panel": f"{p.parent.name}/{p.name.removesuffix('_fits.csv')}",
                    **dict(zip(keys, ident)),
                    "binned_rho": bb["rho"],
                    "binned_p": bb["p"],
                    "n_bins_kept": bb.get("n_bins_kept", np.nan),
                    "per_concept_r": cc["rho"],
                    "per_concept_r2": cc["r2"],
                    "slope_per_decade": cc["slope"],
                    "slope_lo": cc["slope_lo"],
                    "slope_hi": cc["slope_hi"],
                    "n_concepts": cc["n"],
                    "story": _story(float(bb["rho"]), float(cc["r2"]), float(cc["slope_lo"]), float(cc["slope_hi"])),
                }
            )
    return pd.DataFrame(out, columns=STORY_COLUMNS)


# ------------------------------------------------------------------------------------------------ output

_FIG_RE = re.compile(r"\b(Fig|Tab)\.\s?(\d+)")


def paper_ids(text: str) -> set[str]:
    """``{"Fig. 2", "Tab. 6"}`` named in a paper reference such as ``"Fig. 2 legend"`` or ``"Tab. 3 (App. G)"``."""
    return {f"{a}. {n}" for a, n in _FIG_RE.findall(text or "")}


def md_cell(v: Any) -> str:
    """One value as a Markdown table cell: floats at 4 significant digits (NaN empty), pipes escaped."""
    if isinstance(v, float):
        if v != v:
            return ""
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown(card: pd.DataFrame, stories: pd.DataFrame, not_plotted: list[tuple[str, str, str]]) -> str:
    """``scorecard.md``: summary, every entry, the binned-vs-per-concept section and the figures not produced."""
    s = summary(card)
    lines = [
        "# Reproduction scorecard",
        "",
        "Generated by `wag reproduce` (do not edit by hand). Every number the paper prints "
        "(`wag/data/paper_reported.yaml`) beside ours, computed from the released files through `wag`. "
        f"Status: `{MATCH}` = ours rounded or truncated to the printed decimals is the printed value (the paper rounds some values and truncates others; claims: the stated bound holds); `{DIFFERS}` (with the "
        f"reason); `{MISSING}` (the missing input named). Column `{CORRECTED_LABEL}`: our value where the paper's method "
        "is wrong or arbitrary, labelled as ours.",
        "",
        f"**{s[MATCH]} match · {s[DIFFERS]} differ · {s[MISSING]} not reproducible here** (of {len(card)} printed values)",
        "",
        f"| id | where | quantity | paper | ours | Δ | status | reason | {CORRECTED_LABEL} | what the correction changes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in card.itertuples():
        lines.append(
            "| "
            + " | ".join(
                md_cell(v)
                for v in (
                    r.id,
                    r.where,
                    r.quantity,
                    r.paper,
                    r.ours,
                    r.delta,
                    r.status,
                    r.reason,
                    r.ours_corrected,
                    r.corrected_note,
                )
            )
            + " |"
        )
    lines += [
        "",
        "## Binned view vs per-concept view",
        "",
        "The paper's binned ρ (Pearson over a few bin means) beside a regression over all concepts "
        "(accuracy on log10 count: r, r², slope per decade with bootstrap CI). `story` says where they disagree.",
        "",
    ]
    if stories.empty:
        lines.append("(no fits tables in this run)")
    else:
        lines += [
            "| panel | pretraining | model | count type | prompt/metric | binned ρ | per-concept r | r² | slope/decade [CI] | n | story |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in stories.itertuples():
            ci = f"{r.slope_per_decade:+.4f} [{r.slope_lo:+.4f}, {r.slope_hi:+.4f}]"
            lines.append(
                "| "
                + " | ".join(
                    md_cell(v)
                    for v in (
                        r.panel,
                        r.pretraining,
                        r.model,
                        r.count_type,
                        r.prompt_or_metric,
                        f"{r.binned_rho:.2f}",
                        f"{r.per_concept_r:.3f}",
                        f"{r.per_concept_r2:.3f}",
                        ci,
                        r.n_concepts,
                        r.story,
                    )
                )
                + " |"
            )
    if not_plotted:
        lines += ["", "## Figures not reproduced here", "", "| output | paper | reason |", "|---|---|---|"]
        lines += [f"| {o} | {p} | {md_cell(why)} |" for o, p, why in not_plotted]
    return "\n".join(lines) + "\n"
