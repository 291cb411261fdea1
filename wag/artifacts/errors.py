"""Errors of the artifacts readers (the released files missing altogether: :class:`wag.artifacts.locate.ArtifactsMissingError`)."""

from __future__ import annotations

from wag.core.errors import WagError


class ArtifactsRequestError(WagError, ValueError):
    """A reader or the join was asked for what the released files lack (a dataset, prompt, metric), or given a table
    without the columns it needs; the message names what is available."""


class ArtifactNameError(WagError, ValueError):
    """A file name or model key does not follow the released files' patterns; the message names the pattern."""
