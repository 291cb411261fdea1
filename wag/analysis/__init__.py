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

import importlib
from typing import Any

#: Public name -> the module that defines it. Loaded on first use (PEP 562), so importing one leaf module (say
#: ``wag.analysis.params``, which every profile reads) does not import scipy and statsmodels.
_EXPORTS = {
    "BinnedResult": "binned",
    "paper_binned": "binned",
    "paper_n_bins": "binned",
    "paper_slice": "binned",
    "as_square": "correlation",
    "spearman_matrix": "correlation",
    "binned_points": "fits",
    "fit_table": "fits",
    "table6": "fits",
    "fit_log_linear": "per_concept",
    "segment_fits": "segments",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"wag.analysis.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'wag.analysis' has no attribute {name!r}")


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
