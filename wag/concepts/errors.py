"""The error of the concepts package."""

from __future__ import annotations

from wag.core.errors import WagError


class ConceptError(WagError, ValueError):
    """A concept list or name cannot be used (empty, unknown task, bad aliases)."""
