"""The `analysis:` profile section: defaults, selections and clear errors."""

from __future__ import annotations

import pytest

from wag.analysis.params import PAPER_MODELS, AnalysisParams
from wag.run.profile import ParamsError, load_profile


def test_profiles_load_with_analysis_section():
    ci, default = load_profile("ci").analysis, load_profile("default").analysis
    assert ci.n_boot < default.n_boot
    assert default.models == PAPER_MODELS and len(default.classification_datasets) == 18
    assert set(ci.model_pairs()) <= {tuple(m.split("/")) for m in PAPER_MODELS}
    assert AnalysisParams().model_pairs(["laion400m"]) == [
        ("laion400m", "ViT-B-32"),
        ("laion400m", "ViT-B-16"),
        ("laion400m", "ViT-L-14"),
    ]


@pytest.mark.parametrize(
    "override,match",
    [
        ({"models": ["RN50"]}, "pretraining/arch"),
        ({"table6_edges": [1, 10]}, "start at 0"),
        ({"n_boot": -1}, "n_boot"),
        ({"ci_level": 1.5}, "ci_level"),
        ({"bins": 3}, "unknown key 'analysis.bins'"),
    ],
)
def test_bad_analysis_params_name_the_problem(override, match):
    with pytest.raises(ParamsError, match=match):
        load_profile("ci", {"analysis": override})
