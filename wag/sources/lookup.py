"""Ask the law about one concept (``wag lookup``, ``wag plan --concept``), on any source.

:func:`lookup_tables` gathers, once per source and cached by its input files, the three tables a lookup reads:
every count of every concept with its percentile in its pretraining set's long tail, the spellings of each normalised
key, and per-concept performance joined with the headline (and the main text) count type, Fig. 2's selection
(classification with class prompts, retrieval text-to-image recall@10). :func:`lookup` answers for concept names:
counts, example captions, each model's performance beside the per-concept law's prediction with its prediction
interval and the residual; a name the source does not know gets the nearest known names and, where the source has a
corpus (a study), is counted on the fly so the law still predicts it; :func:`law_figure` draws where the concepts
sit on a law. :mod:`wag.sources.concept_plan` turns the law around.

About 460 lines, one job: the tables, the laws and the cards share their column lists (about 60 of the lines, one
name per line as ruff formats them) and private row builders; split, each half would import the other's privates.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wag.analysis.fits import prompt_or_metric_of
from wag.analysis.law import Law, fit_law_counts
from wag.concepts import parse_concept
from wag.core.cache import cached_table, file_fingerprint
from wag.core.errors import WagError, excerpt
from wag.sources.base import Source

#: Bumped when the cached tables' contents change.
TABLES_VERSION = 2
COUNT_COLUMNS = ["key", "concept", "dataset", "pretraining", "method", "variant", "label", "count", "percentile"]
LAW_GROUP = ["task", "pretraining", "model", "metric", "count_type"]
#: The identity and measurement of one (concept, model, metric) row, first in every prediction and plan table.
ROW_COLUMNS = ["concept", "dataset", "task", "pretraining", "model", "metric", "count_type", "count", "value"]
PERF_COLUMNS = ["key", *ROW_COLUMNS]
PREDICTION_COLUMNS = [
    *ROW_COLUMNS,
    "predicted",
    "pi_low",
    "pi_high",
    "residual",
    "slope",
    "slope_low",
    "slope_high",
    "n_concepts",
]


class ConceptLookupError(WagError, ValueError):
    """A lookup or plan cannot be answered as asked (unknown model or concept, empty list, target outside [0, 1])."""


@dataclass(frozen=True)
class LookupTables:
    """What a lookup reads from a source (see the module docstring)."""

    counts: pd.DataFrame
    spellings: pd.DataFrame
    performance: pd.DataFrame
    count_types: dict[str, str]  # method -> count type (variant) shown
    labels: dict[str, str]  # count type -> how the figures name it
    law_count_type: str  # the count type the law is fitted on (Fig. 2's)
    text_count_type: str  # the count type of concepts counted on the fly


def _percentiles(counts: pd.DataFrame) -> pd.Series:
    """Percent of a pretraining set's concepts (of one count type; each normalised key once) with at most this count
    (the weak percentile: its place in the set's long tail)."""
    out = pd.Series(np.nan, index=counts.index)
    ref = counts.drop_duplicates(["key", "pretraining", "variant"])
    tails = {k: np.sort(g["count"].to_numpy(dtype=float)) for k, g in ref.groupby(["pretraining", "variant"])}
    for k, g in counts.groupby(["pretraining", "variant"], sort=False):
        s = tails[k]
        out.loc[g.index] = 100.0 * np.searchsorted(s, g["count"].to_numpy(dtype=float), side="right") / len(s)
    return out


def _performance(src: Source, count_type: str) -> pd.DataFrame:
    parts = []
    cls, _ = src.classification(prompts="class", count_types=[count_type])
    parts.append(cls)
    if src.missing("retrieval") is None:
        ret, _ = src.retrieval(directions="t2i", ks=10, count_types=[count_type])
        parts.append(ret)
    j = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else cls
    if j.empty:
        return pd.DataFrame(columns=PERF_COLUMNS)
    metric = [prompt_or_metric_of({"prompt": p, "metric": m}) for p, m in zip(j["prompt"], j["metric"])]
    return j.assign(metric=metric, count_type=count_type)[PERF_COLUMNS].reset_index(drop=True)


def lookup_tables(src: Source, *, refresh: bool = False) -> LookupTables:
    """The counts, spellings and performance tables of ``src``, cached (``<cache>/lookup_*``) by its input files'
    names, sizes and times and the profile's analysis selection."""
    variants = src.count_variants()
    law_ct = variants.get("integrated") or variants["text"]
    labels = {v: src.count_label(m) for m, v in variants.items()}
    parts = {
        "version": TABLES_VERSION,
        "source": src.name,
        "files": [file_fingerprint(p) for p in src.input_files()],
        "analysis": src.profile.analysis.model_dump(mode="json"),
        "count_types": variants,
    }

    def counts() -> pd.DataFrame:
        f = src.frequencies()  # per dataset: the released files count one key differently in different datasets
        f = f[f["variant"].isin(list(variants.values()))].reset_index(drop=True)
        return f.assign(label=f["variant"].map(labels), percentile=_percentiles(f))[COUNT_COLUMNS]

    def spellings() -> pd.DataFrame:
        f = src.frequencies()
        return (
            f[["key", "concept", "dataset"]].drop_duplicates().sort_values(["key", "concept", "dataset"], kind="stable")
        )

    def performance() -> pd.DataFrame:
        kinds = dict.fromkeys([law_ct, variants["text"]])
        return pd.concat([_performance(src, ct) for ct in kinds], ignore_index=True)

    return LookupTables(
        counts=cached_table("lookup_counts", parts, counts, refresh=refresh),
        spellings=cached_table("lookup_spellings", parts, spellings, refresh=refresh).reset_index(drop=True),
        performance=cached_table("lookup_performance", parts, performance, refresh=refresh),
        count_types=variants,
        labels=labels,
        law_count_type=law_ct,
        text_count_type=variants["text"],
    )


def model_names(perf: pd.DataFrame) -> list[str]:
    """``<pretraining>/<model>`` of every evaluated model, in table order."""
    return list(dict.fromkeys(perf["pretraining"].astype(str) + "/" + perf["model"].astype(str)))


def select_model(perf: pd.DataFrame, model: str | None) -> pd.DataFrame:
    """Rows of ``model`` (``<pretraining>/<model>`` or a model name); an unknown model is one error naming the known."""
    if model is None:
        return perf
    full = perf["pretraining"].astype(str) + "/" + perf["model"].astype(str)
    keep = (full == model) | (perf["model"].astype(str) == model)
    if not keep.any():
        raise ConceptLookupError(
            f"unknown model {excerpt(model, 60)}; evaluated models: {', '.join(model_names(perf))}"
        )
    return perf[keep]


class Laws:
    """Per-concept laws of a performance table, one per :data:`LAW_GROUP`, fitted when first asked (``alpha``)."""

    def __init__(self, perf: pd.DataFrame, alpha: float = 0.05) -> None:
        self.perf = perf.reset_index(drop=True)
        self.alpha = alpha
        self._index = self.perf.groupby(LAW_GROUP, sort=False).indices if len(self.perf) else {}
        self._count = self.perf["count"].to_numpy(dtype=float)
        self._value = self.perf["value"].to_numpy(dtype=float)
        self._fitted: dict[tuple[Any, ...], Law | None] = {}

    def get(self, group: tuple[Any, ...]) -> Law | None:
        """The law of one group (None when it cannot be fitted: fewer than 3 concepts or one count)."""
        if group not in self._fitted:
            idx = self._index.get(group)
            try:
                law = None if idx is None else fit_law_counts(self._count[idx], self._value[idx], alpha=self.alpha)
            except WagError:
                law = None
            self._fitted[group] = law
        return self._fitted[group]

    def groups(self, count_type: str) -> list[tuple[Any, ...]]:
        """Every group of ``count_type`` in table order."""
        return [g for g in self._index if g[LAW_GROUP.index("count_type")] == count_type]

    def rows(self, group: tuple[Any, ...]) -> pd.DataFrame:
        """The concepts (rows of the performance table) a group's law is fitted on."""
        idx = self._index.get(group)
        return self.perf.iloc[idx] if idx is not None else self.perf.iloc[:0]


def _predict(law: Law | None, count: float, value: float) -> dict[str, float]:
    if law is None:
        nan = float("nan")
        return dict(predicted=nan, pi_low=nan, pi_high=nan, residual=nan, slope=nan, slope_low=nan, slope_high=nan)
    p = law.predict([count]).iloc[0]
    return dict(
        predicted=float(p["predicted"]),
        pi_low=float(p["pi_low"]),
        pi_high=float(p["pi_high"]),
        residual=float(value - p["predicted"]) if value == value else float("nan"),
        slope=law.slope,
        slope_low=law.slope_ci[0],
        slope_high=law.slope_ci[1],
    )


def _known_keys(t: LookupTables) -> dict[str, str]:
    """key -> its first spelling."""
    return dict(zip(t.spellings["key"], t.spellings["concept"]))


def resolve(t: LookupTables, name: str) -> tuple[str, bool, list[str]]:
    """``(normalised key, known?, nearest known names)`` of a concept name."""
    key = parse_concept(name).key
    known = _known_keys(t)
    if key in known:
        return key, True, []
    near = difflib.get_close_matches(key, list(known), n=5, cutoff=0.6)
    return key, False, [known[k] for k in near]


@dataclass
class Lookup:
    """The answer of :func:`lookup`: one card (a JSON-ready dict) per concept, plus its tables for notebooks."""

    cards: list[dict[str, Any]]
    tables: LookupTables
    laws: Laws

    def predictions(self) -> pd.DataFrame:
        """Every concept's performance rows beside the law (:data:`PREDICTION_COLUMNS`)."""
        rows = [r for c in self.cards for r in c["performance"]]
        return pd.DataFrame(rows, columns=PREDICTION_COLUMNS)

    def counts(self) -> pd.DataFrame:
        """Every concept's counts: ``concept, pretraining, count_type, label, count, percentile``."""
        rows = [
            {"concept": c["query"], **r, "datasets": ", ".join(r["datasets"])} for c in self.cards for r in c["counts"]
        ]
        cols = ["concept", "pretraining", "count_type", "label", "count", "percentile", "datasets"]
        return pd.DataFrame(rows, columns=cols)


def _count_rows(t: LookupTables, key: str) -> list[dict[str, Any]]:
    """One row per pretraining set and count type; where datasets count the key differently (the released files do,
    by a few), one row per distinct count naming its datasets."""
    c = t.counts[t.counts["key"] == key]
    order = {v: i for i, v in enumerate(t.count_types.values())}  # text, image, integrated
    c = c.assign(_o=c["variant"].map(order)).sort_values(["pretraining", "_o", "count", "dataset"], kind="stable")
    rows = []
    for (pt, v, n), g in c.groupby(["pretraining", "variant", "count"], sort=False):
        rows.append(
            {
                "pretraining": pt,
                "count_type": v,
                "label": g["label"].iloc[0],
                "count": int(n),
                "percentile": float(g["percentile"].iloc[0]),
                "datasets": list(dict.fromkeys(g["dataset"])),
            }
        )
    split = pd.Series([(r["pretraining"], r["count_type"]) for r in rows]).value_counts()
    for r in rows:
        several = split[(r["pretraining"], r["count_type"])] > 1
        r["where"] = ", ".join(r["datasets"]) if several else ""
    return rows


def _new_count_rows(t: LookupTables, counts: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for r in counts.itertuples(index=False):
        ref = t.counts[(t.counts["pretraining"] == r.pretraining) & (t.counts["variant"] == r.variant)]
        ref = ref.drop_duplicates("key")  # each concept once, as in the percentiles of the known concepts
        s = np.sort(ref["count"].to_numpy(dtype=float))
        pct = 100.0 * np.searchsorted(s, float(r.count), side="right") / len(s) if len(s) else float("nan")
        rows.append(
            {
                "pretraining": r.pretraining,
                "count_type": r.variant,
                "label": t.labels.get(r.variant, r.variant),
                "count": int(r.count),
                "percentile": float(pct),
                "datasets": [],
                "where": "",
            }
        )
    return rows


def _known_performance(t: LookupTables, laws: Laws, key: str, name: str) -> list[dict[str, Any]]:
    p = laws.perf[(laws.perf["key"] == key) & (laws.perf["count_type"] == t.law_count_type)]
    rows = []
    for r in p.itertuples(index=False):
        law = laws.get(tuple(getattr(r, c) for c in LAW_GROUP))
        base = {c: getattr(r, c) for c in ("dataset", *LAW_GROUP)}
        rows.append(
            {
                "concept": name,
                **base,
                "count": int(r.count),
                "value": float(r.value),
                **_predict(law, float(r.count), float(r.value)),
                "n_concepts": law.n if law else 0,
            }
        )
    return rows


def _new_performance(t: LookupTables, laws: Laws, name: str, count: int) -> list[dict[str, Any]]:
    rows = []
    for group in laws.groups(t.text_count_type):
        law = laws.get(group)
        rows.append(
            {
                "concept": name,
                "dataset": "",
                **dict(zip(LAW_GROUP, group)),
                "count": int(count),
                "value": float("nan"),
                **_predict(law, float(count), float("nan")),
                "n_concepts": law.n if law else 0,
            }
        )
    return rows


def lookup(
    src: Source,
    names: list[str],
    *,
    model: str | None = None,
    n_examples: int = 3,
    seed: int = 0,
    alpha: float = 0.05,
    count_unknown: bool = True,
    tables: LookupTables | None = None,
) -> Lookup:
    """Look up each concept of ``names`` on ``src`` (see the module docstring); ``model`` keeps one model's rows.

    A name the source does not list is matched by its normalised key; otherwise it gets the nearest known names and,
    with ``count_unknown`` on a source with a corpus, is counted on the fly (main text count type) and predicted by
    the laws of that count type.
    """
    names = [n for n in dict.fromkeys(str(n).strip() for n in names) if n]
    if not names:
        raise ConceptLookupError("no concept to look up; give one or more concept names (or a non-empty --file)")
    t = tables if tables is not None else lookup_tables(src)
    laws = Laws(select_model(t.performance, model), alpha=alpha)
    cards: list[dict[str, Any]] = []
    unknown: list[str] = []
    for name in names:
        key, known, near = resolve(t, name)
        sp = t.spellings[t.spellings["key"] == key]
        card = {
            "query": name,
            "key": key,
            "known": known,
            "counted_now": False,
            "spellings": list(dict.fromkeys(sp["concept"])),
            "datasets": list(dict.fromkeys(sp["dataset"])),
            "nearest": near,
            "counts": _count_rows(t, key) if known else [],
            "performance": _known_performance(t, laws, key, name) if known else [],
            "examples": [],
            "examples_note": None,
            "note": None,
        }
        cards.append(card)
        if not known:
            unknown.append(name)
    new_hits = None
    if unknown and count_unknown:
        got = src.count_new(unknown)
        if got.counts is None:
            for c in cards:
                if not c["known"]:
                    c["note"] = f"not among the source's concepts; {got.why}"
        else:
            new_hits = got.hits
            for c in cards:
                if c["known"]:
                    continue
                rows = got.counts[got.counts["concept"] == c["query"]]
                c["counted_now"] = True
                c["spellings"] = [c["query"]]
                c["counts"] = _new_count_rows(t, rows)
                n = int(rows["count"].iloc[0]) if len(rows) else 0
                c["performance"] = _new_performance(t, laws, c["query"], n)
                c["note"] = (
                    "not among the study's concepts: counted now in its corpus (main text count type; image and "
                    "integrated counts need the tag stage); no model was evaluated on it, so the law's prediction "
                    "stands alone"
                )
    _add_examples(src, cards, n_examples, seed, new_hits)
    return Lookup(cards, t, laws)


def _add_examples(src: Source, cards: list[dict[str, Any]], n: int, seed: int, new_hits: pd.DataFrame | None) -> None:
    if n <= 0:
        return
    known = [s for c in cards if c["known"] for s in c["spellings"]]
    ex, why = src.examples(known, n=n, seed=seed) if known else (pd.DataFrame(), None)
    new = [c["query"] for c in cards if c["counted_now"]]
    ex_new, why_new = src.examples(new, n=n, seed=seed, hits=new_hits) if new else (pd.DataFrame(), None)
    for c in cards:
        if c["counted_now"]:
            got, note = ex_new, why_new
        elif c["known"]:
            got, note = ex, why
        else:
            continue
        mine = got[got["concept"].isin(c["spellings"])] if len(got) else got
        c["examples"] = [
            {"concept": r.concept, "sample_id": r.sample_id, "caption": r.caption, "image": r.image}
            for r in mine.head(n).itertuples(index=False)
        ]
        c["examples_note"] = note


def chart_group(res: Lookup, cards: list[dict[str, Any]] | None = None) -> tuple[Any, ...] | None:
    """The law group a concept card's chart shows: the first model's classification law (else the first law) of the
    cards' performance rows; None when no card has any."""
    rows = [r for c in (cards if cards is not None else res.cards) for r in c["performance"]]
    rows = sorted(rows, key=lambda r: r["task"] != "classification")  # stable: classification first
    return tuple(rows[0][c] for c in LAW_GROUP) if rows else None


def law_figure(
    res: Lookup, cards: list[dict[str, Any]] | None = None, group: tuple[Any, ...] | None = None
) -> tuple[Any, pd.DataFrame] | None:
    """``(chart, marked rows)``: where the cards' concepts sit on one law (:func:`chart_group` unless ``group``), with
    the law's concepts, line and prediction band (:func:`wag.analysis.law_plots.law_chart`); None without a law."""
    from wag.analysis.law_plots import law_chart  # lazy: altair (~1.5 s), only for a chart

    cards = res.cards if cards is None else cards
    group = group or chart_group(res, cards)
    law = res.laws.get(group) if group else None
    if law is None:
        return None
    g = dict(zip(LAW_GROUP, group))
    marks = pd.DataFrame(
        [r for c in cards for r in c["performance"] if all(r[k] == g[k] for k in LAW_GROUP)],
        columns=PREDICTION_COLUMNS,
    )
    if len(marks) and marks["dataset"].nunique() > 1:
        several = marks.groupby("concept")["dataset"].transform("nunique") > 1
        marks["concept"] = np.where(several, marks["concept"] + " (" + marks["dataset"] + ")", marks["concept"])
    what = "accuracy" if g["task"] == "classification" else g["metric"]
    title = f"{g['pretraining']}/{g['model']}: {g['task']} ({g['metric']}) vs {g['count_type']} count"
    chart = law_chart(res.laws.rows(group)[["count", "value"]], law, marks, title=title, y_title=what)
    return chart, marks
