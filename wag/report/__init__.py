"""Outputs: the per-section Report writer, the assembled scorecard page, the offline Altair renderer."""

from wag.report.writer import Report, read_section_indexes, write_index

__all__ = ["Report", "read_section_indexes", "write_index"]
