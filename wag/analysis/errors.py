"""The error of the analysis package: its input cannot be fitted as asked (the message names the fix)."""

from __future__ import annotations

from wag.core.errors import WagError


class AnalysisError(WagError, ValueError):
    """Counts, values or tables given to an analysis cannot be used as asked (missing columns, NaN, unknown names)."""
