"""analysis stage of wag: the paper's binned recipe, per-concept fits, correlations, segment fits.

Modules: :mod:`~wag.analysis.binned` (paper recipe), :mod:`~wag.analysis.per_concept` (OLS on log10
count with bootstrap CI), :mod:`~wag.analysis.fits` (fit tables, binned points, Tab. 6),
:mod:`~wag.analysis.correlation` (Spearman matrices, Tab. 4), :mod:`~wag.analysis.segments` (Fig. 6),
:mod:`~wag.analysis.inputs` (joined tables from the released files), :mod:`~wag.analysis.figures`
(figure assembly for the notebooks); the section analyses :mod:`~wag.analysis.sections.frequency_demo` (§2 on a
generated corpus), :mod:`~wag.experiments` (§4: the synthetic world's
experiments run through the stages, and their fits), :mod:`~wag.experiments.figures` (Fig. 4 and the
world's charts),
:mod:`~wag.analysis.sections.insights` (§5), :mod:`~wag.analysis.sections.let_it_wag_results` (§6) and
:mod:`~wag.analysis.sections.agreement` (the paper's counts against NeglectedTails).
"""

from wag.analysis.binned import BinnedResult, paper_binned, paper_n_bins, paper_slice
from wag.analysis.correlation import as_square, spearman_matrix
from wag.analysis.fits import binned_points, fit_table, table6
from wag.analysis.per_concept import fit_log_linear
from wag.analysis.segments import segment_fits

__all__ = [
    "BinnedResult",
    "as_square",
    "binned_points",
    "fit_log_linear",
    "fit_table",
    "paper_binned",
    "paper_n_bins",
    "paper_slice",
    "segment_fits",
    "spearman_matrix",
    "table6",
]
