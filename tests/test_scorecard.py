"""The reproduction scorecard: printed values as data, notebook rows, assembly, Tab. 6 bins, index page,
and (on the real released files) rows that move when one released file is altered."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wag.analysis import scorecard as sc
from wag.analysis.sections.table6_bins import paper_bin_index, table6_paper
from wag.report import Report
from wag.report.scorecard_page import write_index_with_scorecard
from wag.run.profile import load_profile

PAPER_NUMBERS = Path(__file__).resolve().parents[2] / "shared" / "PAPER_NUMBERS.md"
REAL = pytest.mark.skipif(not os.environ.get("WAG_PAPER_ARTIFACTS"), reason="real released files not available")


def test_yaml_loads_and_every_entry_is_accounted_for() -> None:
    rep = sc.paper_reported()
    ids = [e.id for e in rep.entries]
    assert len(ids) == len(set(ids))
    assert all(e.notebook or e.missing for e in rep.entries)
    # one entry per printed cell: Tab. 6 (50), Fig. 2 legends (20), Tab. 9 (40 models × 3), Tab. 10 (6 × 4)
    for prefix, n in (
        ("tab6/", 50),
        ("fig2/", 20),
        ("tab9/", 120),
        ("tab10/", 24),
        ("tab3/", 10),
        ("tab4/", 6),
        ("tab7/", 4),
    ):
        assert sum(i.startswith(prefix) for i in ids) == n, prefix


@pytest.mark.skipif(not PAPER_NUMBERS.is_file(), reason="PAPER_NUMBERS.md not beside the clone")
def test_every_tab6_and_tab9_value_of_paper_numbers_is_in_the_yaml() -> None:
    text = PAPER_NUMBERS.read_text(encoding="utf-8")
    tab6 = text[text.index("## Tab. 6") : text.index("## Fig. 2")]
    printed = sorted(float(v) for v in re.findall(r"\|\s*(\d+\.\d\d)\s*(?=\|)", tab6))
    ours = sorted(e.value for e in sc.paper_reported().entries if e.id.startswith("tab6/"))
    assert printed == ours


def test_malformed_yaml_is_one_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("source: x\nentries:\n- {id: a, where: Tab. 1, quantity: q, notebook: n}\n", encoding="utf-8")
    with pytest.raises(sc.ScorecardError, match="needs 'value'"):
        sc.load_paper_reported(p)
    p.write_text("source: x\nentries:\n- {id: a, where: Tab. 1, quantity: q, value: 1}\n", encoding="utf-8")
    with pytest.raises(sc.ScorecardError, match="missing"):
        sc.load_paper_reported(p)


def test_judge_numbers_and_claims() -> None:
    num = sc.Reported(id="x", where="Tab. 6", quantity="q", value=5.10, decimals=2, notebook="n")
    assert num.judge(5.104)[0] == sc.MATCH and num.rounds_to_printed(5.104)
    assert num.judge(5.1085)[0] == sc.MATCH and not num.rounds_to_printed(5.1085)  # printed truncated
    assert num.judge(5.111)[0] == sc.DIFFERS
    assert (
        num.judge(5.0951)[0] == sc.MATCH and num.judge(5.0949)[0] == sc.DIFFERS
    )  # rounds up to it / truncates below it
    tab4 = sc.Reported(id="t", where="Tab. 4", quantity="q", value=0.97, decimals=2, notebook="n")
    assert tab4.judge(0.9638)[0] == sc.DIFFERS  # neither rounds nor truncates to 0.97
    assert num.judge(5.0)[1] == pytest.approx(-0.1)
    upto = sc.Reported(id="y", where="§6", quantity="q", kind="claim", value=20, notebook="n")
    assert upto.judge(19.6)[0] == sc.MATCH and upto.judge(36.8)[0] == sc.DIFFERS
    band = sc.Reported(id="z", where="App. J", quantity="q", kind="claim", low=60, high=70, notebook="n")
    assert band.judge(65)[0] == sc.MATCH and band.judge(93.1) == (sc.DIFFERS, pytest.approx(23.0))


def test_rows_are_validated() -> None:
    with pytest.raises(sc.ScorecardError, match="unknown scorecard ids"):
        sc.rows_frame([sc.row("tab6/nowhere/x/0", 1.0)])
    with pytest.raises(sc.ScorecardError, match="twice"):
        sc.rows_frame([sc.row("fig6/slope_above_50", 1.0), sc.row("fig6/slope_above_50", 2.0)])
    with pytest.raises(sc.ScorecardError, match="no value and no 'missing'"):
        sc.rows_frame([sc.row("fig6/slope_above_50", None)])


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return Report("6_let_it_wag", load_profile("ci"), out_dir=tmp_path)


def test_assemble_lists_every_entry_with_a_status(report: Report, tmp_path: Path) -> None:
    report.scorecard([sc.row("fig6/slope_above_50", 1.581), sc.row("fig6/slope_below_50", 0.70, note="a reason")])
    assert not (tmp_path / "scorecard.csv").exists()  # a notebook writes its rows; `wag reproduce` assembles
    write_index_with_scorecard(tmp_path)
    card = pd.read_csv(tmp_path / "scorecard.csv", keep_default_na=False)
    assert len(card) == len(sc.paper_reported().entries)
    assert set(card["status"]) <= set(sc.STATUSES)
    st = card.set_index("id")
    assert st.loc["fig6/slope_above_50", "status"] == sc.MATCH
    assert (
        st.loc["fig6/slope_below_50", "status"] == sc.DIFFERS and st.loc["fig6/slope_below_50", "reason"] == "a reason"
    )
    # an entry no notebook produced names the notebook; a missing input is named
    assert "notebook 3_frequency_vs_performance did not run" in st.loc["tab6/cc3m/RN50/0", "reason"]
    assert "compute logs" in st.loc["tab10/cc3m/disk", "reason"]
    md = (tmp_path / "scorecard.md").read_text(encoding="utf-8")
    assert "2 match" not in md and "1 match · 1 differ" in md and sc.CORRECTED_LABEL in md
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert sum(line.startswith("| tab6/") for line in readme.splitlines()) == 50


def test_scorecard_call_returns_the_section_entries_that_differ(
    report: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = report.scorecard(
        [sc.row("fig6/slope_above_50", 1.581), sc.row("fig6/slope_below_50", 0.70, note="a reason")]
    )
    assert (tmp_path / "6_let_it_wag" / sc.ROWS_NAME).is_file()
    mine = [e for e in sc.paper_reported().entries if e.notebook == "6_let_it_wag"]
    out = capsys.readouterr().out
    assert f"scorecard of 6_let_it_wag: 1 match · 1 differ · {len(mine) - 2} not reproducible here" in out
    assert list(shown.columns) == sc.SECTION_COLUMNS and sc.MATCH not in set(shown["status"])
    assert "fig6/slope_below_50" in set(shown["id"]) and len(shown) == len(mine) - 1
    matching = [  # a value of each entry that matches the printed one
        next(sc.row(e.id, x) for x in (e.value, e.low, e.high) if x is not None and e.judge(float(x))[0] == sc.MATCH)
        for e in mine
    ]
    shown = Report("6_let_it_wag", report.profile, out_dir=tmp_path / "b").scorecard(matching)
    assert len(shown) == len(mine) and (shown["status"] == sc.MATCH).all()  # all match: all are shown


def test_index_html_links_figures_relatively_with_their_rows(report: Report, tmp_path: Path) -> None:
    import altair as alt

    data = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    report.figure(alt.Chart(data).mark_point().encode(x="x", y="y"), "fig6", paper="Fig. 6", claim="a claim", data=data)
    report.scorecard([sc.row("fig6/slope_above_50", 1.2)])
    write_index_with_scorecard(tmp_path)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "src='6_let_it_wag/fig6.png'" in page and "href='6_let_it_wag/fig6.html'" in page
    assert "fig6/slope_above_50" in page and "tab6/" not in page  # only the rows of the same paper figure
    assert "http://" not in page and "https://" not in page


def test_fit_stories_pair_binned_and_per_concept(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    base = dict(
        task="classification",
        pretraining="synthci30m",
        model="ViT-B-16",
        count_type="integrated@0.7",
        prompt_or_metric="class",
    )
    pd.DataFrame(
        [
            {
                **base,
                "method": "binned",
                "rho": 0.82,
                "p": 0.01,
                "slope": 0.05,
                "slope_lo": np.nan,
                "slope_hi": np.nan,
                "n": 4469,
                "r2": 0.67,
            },
            {
                **base,
                "method": "per_concept",
                "rho": 0.16,
                "p": 1e-9,
                "slope": 0.023,
                "slope_lo": 0.019,
                "slope_hi": 0.027,
                "n": 4469,
                "r2": 0.025,
            },
        ]
    ).to_csv(tmp_path / "s" / "fig4_fits.csv", index=False)
    st = sc.fit_stories(tmp_path)
    assert len(st) == 1 and st.loc[0, "panel"] == "s/fig4"
    assert st.loc[0, "story"].startswith("differ") and "2.5%" in st.loc[0, "story"]


def test_paper_bins_of_tab6() -> None:
    c = [0, 1, 2, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000]
    assert paper_bin_index(c).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5]
    joined = pd.DataFrame({"pretraining": "p", "model": "m", "count": [0, 1, 5, 1000], "value": [0.1, 0.3, 0.5, 0.9]})
    t = table6_paper(joined).set_index("bin")
    assert t.loc["0", "mean_accuracy"] == pytest.approx(20.0) and t.loc["100-1000", "n_concepts"] == 1
    assert t.loc["1000-10000", "n_concepts"] == 0


# ------------------------------------------------------------------------ real released files, one file altered


def _farm(src: Path, dst: Path, rel: str, edit) -> Path:
    """A copy of the released folder made of symlinks, except ``rel``, written through ``edit(obj) -> obj``."""
    for p in src.rglob("*"):
        if p.is_file():
            q = dst / p.relative_to(src)
            q.parent.mkdir(parents=True, exist_ok=True)
            if p.relative_to(src).as_posix() == rel:
                q.write_text(json.dumps(edit(json.loads(p.read_text(encoding="utf-8")))), encoding="utf-8")
            else:
                q.symlink_to(p)
    return dst


@REAL
def test_altered_let_it_wag_file_moves_its_rows(tmp_path: Path) -> None:
    from wag.analysis.sections.paper_rows import section6_rows

    src = Path(os.environ["WAG_PAPER_ARTIFACTS"])
    base = {r["id"]: r["ours"] for r in section6_rows(src)}

    def edit(d):
        d["backboneRN50_pretrainedcc3m"]["full"] = 50.0
        return d

    alt_root = _farm(src, tmp_path / "a", "let_it_wag_datasets/evaluations/let_it_wag_ensemble_results.json", edit)
    moved = {r["id"]: r["ours"] for r in section6_rows(alt_root)}
    assert base["tab9/cc3m/RN50/let_it_wag"] == pytest.approx(3.74, abs=0.01)
    assert moved["tab9/cc3m/RN50/let_it_wag"] == pytest.approx(50.0)
    assert moved["fig6/slope_below_50"] != pytest.approx(base["fig6/slope_below_50"])
    assert moved["tab9/cc12m/RN50/let_it_wag"] == base["tab9/cc12m/RN50/let_it_wag"]


@REAL
def test_altered_zero_shot_file_moves_tab6_and_the_paper_recipe_matches(tmp_path: Path) -> None:
    from wag.analysis.sections.paper_rows import section3_rows

    src = Path(os.environ["WAG_PAPER_ARTIFACTS"])
    rep = sc.paper_reported().by_id()
    base = {r["id"]: r for r in section3_rows(src)}
    tab6 = [i for i in base if i.startswith("tab6/")]
    assert len(tab6) == 50
    assert all(rep[i].judge(base[i]["ours"])[0] == sc.MATCH for i in tab6)  # the paper's bins reproduce Tab. 6
    assert sum(rep[i].judge(base[i]["ours_corrected"])[0] == sc.MATCH for i in tab6) < 30  # the header's bins do not

    def edit(d):
        cw = d["backboneRN50_pretrainedcc3m"]["classwise"]
        for k in cw:
            cw[k] = 100.0
        return d

    alt_root = _farm(src, tmp_path / "a", "zero_shot_evaluations/cifar100_ensemble_results.json", edit)
    moved = {r["id"]: r["ours"] for r in section3_rows(alt_root)}
    changed = [i for i in tab6 if moved[i] != pytest.approx(base[i]["ours"])]
    assert changed and all(i.startswith("tab6/cc3m/RN50/") for i in changed)
    assert all(moved[i] > base[i]["ours"] for i in changed)
