"""The paper's printed values (``wag/data/paper_reported.yaml``): entries, statuses, loading."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

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
            return format_value(self.value, self.decimals)
        if self.low is not None and self.high is not None:
            return f"{format_value(self.low, self.decimals)}–{format_value(self.high, self.decimals)}"
        if self.low is not None:
            return f"> {format_value(self.low, self.decimals)}"
        return f"≤ {format_value(self.high if self.high is not None else self.value, self.decimals)}"

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


def format_value(v: float | None, decimals: int) -> str:
    """``v`` with ``decimals`` decimals and thousands separators (empty for a missing value)."""
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
