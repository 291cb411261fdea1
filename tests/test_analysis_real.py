"""Fig. 2 on the paper's released files (skipped when they are not available)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wag.analysis import fit_table, inputs
from wag.analysis.errors import AnalysisError
from wag.analysis.params import AnalysisParams

ROOT = os.environ.get("WAG_PAPER_ARTIFACTS")
pytestmark = pytest.mark.skipif(not ROOT or not Path(ROOT).is_dir(), reason="released files not available")


def test_fig2_cc3m_rn50_classification_is_log_linear():
    params = AnalysisParams(pretraining=["cc3m"], models=["cc3m/RN50"])
    joined, unmatched = inputs.classification(ROOT, params, prompts="class")
    assert joined["dataset"].nunique() == 18 and unmatched.empty
    assert set(joined["variant"]) == {"integrated@0.7"}
    fits = fit_table(joined, task="classification", n_boot=200).set_index("method")
    assert fits.loc["binned", "n_bins_kept"] == 10  # NB = 12, slice [1:-1]
    assert fits.loc["binned", "rho"] > 0.9 and fits.loc["binned", "p"] < 0.05
    assert fits.loc["per_concept", "slope_lo"] > 0.05  # accuracy gain per tenfold more examples


def test_unknown_model_is_a_clear_error():
    params = AnalysisParams(pretraining=["cc3m"], models=["cc3m/ViT-H-14"])
    with pytest.raises(AnalysisError, match="cc3m/ViT-H-14"):
        inputs.classification(ROOT, params, prompts="class")


def test_paper_position_join_reproduces_the_official_notebook_number():
    from wag import artifacts
    from wag.analysis import spearman_matrix

    freq = artifacts.read_search_counts(ROOT, pretraining=["cc12m", "yfcc15m"], variant="rampp@0.7")
    t = spearman_matrix(freq, count_type="image", join="paper_position", pretrainings=["yfcc15m", "cc12m"]).iloc[0]
    # correlations_between_pretraining_frequencies.ipynb printed 0.9637908005672169 over 3811 concepts
    assert t["n_concepts"] == 3811
    assert t["spearman"] == pytest.approx(0.9637908005672169, abs=1e-9)
