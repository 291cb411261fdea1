"""User-facing errors: each names the problem and the fix; the CLI prints them without a traceback."""

from __future__ import annotations


class WagError(Exception):
    """Base class of errors caused by user input (params, files, names), not by bugs."""
