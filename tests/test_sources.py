"""wag.sources: one place that hands the analysis its tables (released files or a study), and the binning parameter."""

from __future__ import annotations

import numpy as np
import pytest

from wag.analysis.binned import Binning, paper_binned, paper_slice, quantile_binned, quantile_n_bins
from wag.run.profile import ParamsError, load_profile
from wag.sources import SourceError, binning_of, source_kind


def test_paper_binning_object_is_the_paper_recipe():
    rng = np.random.default_rng(0)
    c = rng.integers(0, 10_000, 200)
    v = rng.random(200)
    a = Binning("paper").bin(c, v, task="classification", pretraining="laion400m")
    b = paper_binned(c, v, n_bins=12, keep=paper_slice("classification", "laion400m"))
    assert a.points.equals(b.points) and (a.rho, a.p) == (b.rho, b.p)


def test_quantile_bins_work_for_few_concepts():
    c = np.array([1, 3, 8, 20, 55, 150])
    v = np.array([0.1, 0.2, 0.25, 0.4, 0.5, 0.7])
    r = Binning("quantile").bin(c, v, task="classification")
    assert quantile_n_bins(6) == 3
    assert r.points["n"].tolist() == [2, 2, 2] and r.points["kept"].all()
    assert r.rho > 0.9  # three points on a rising trend; the paper's 12 equal-width bins would keep fewer


def test_quantile_bins_hold_about_min_per_bin_concepts():
    rng = np.random.default_rng(1)
    c = rng.lognormal(3, 2, 500).astype(int)
    v = rng.random(500)
    r = quantile_binned(c, v, n_bins=quantile_n_bins(500, min_per_bin=50))
    assert len(r.points) <= 10 and r.points["n"].sum() == 500
    assert r.points["n"].min() >= 25  # ties may merge edges, never starve a bin


def test_source_kind_follows_the_profile():
    p = load_profile("ci")
    assert source_kind(p) == "released" and binning_of(p, "released").recipe == "paper"
    assert binning_of(p, "study").recipe == "quantile"
    with pytest.raises(ParamsError, match="no study: section"):  # checked when the profile loads, before any work
        load_profile("ci", {"analysis.source": "study"})
    e = load_profile("example_study")
    assert source_kind(e) == "study"
    assert source_kind(load_profile("example_study", {"analysis.source": "released"})) == "released"
    assert (
        binning_of(
            load_profile("ci", {"analysis.binning.recipe": "quantile", "analysis.binning.n_bins": 4}), "released"
        ).n_bins
        == 4
    )


def test_source_cells_need_the_released_files_only_when_they_are_the_source():
    from wag.run.notebook import RELEASED_FILES_TAG, SOURCE_TAG, skip_tags

    assert set(skip_tags(load_profile("ci"))) == {RELEASED_FILES_TAG, SOURCE_TAG}
    assert skip_tags(load_profile("example_study")) == (RELEASED_FILES_TAG,)
    assert set(skip_tags()) == {RELEASED_FILES_TAG, SOURCE_TAG}


def test_a_study_source_needs_a_run_study_folder(tmp_path):
    from wag.sources import open_source

    p = load_profile("example_study", {"study.root": str(tmp_path / "nowhere")})
    with pytest.raises(SourceError, match="wag study run"):
        open_source(p)
