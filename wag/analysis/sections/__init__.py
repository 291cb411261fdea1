"""Per-section analyses (§2, §5, §6, the agreement appendix, the paper's printed rows)."""
