"""Outputs: the per-section Report writer, the assembled scorecard page, the offline Altair renderer."""

from wag.report.writer import CellRecord, Report, read_cell_record, read_section_indexes, write_index

__all__ = ["CellRecord", "Report", "read_cell_record", "read_section_indexes", "write_index"]
