"""Table contracts between stages (``docs/ARCHITECTURE.md``) as pandera schemas, and the one function for variant names.

Tables: ``concepts``, ``hits`` (sample level), ``frequencies``, ``performance``, ``fits``, and a tagger's
``calibration`` (:mod:`wag.frequency.calibration`) and ``count_quality`` (:mod:`wag.frequency.quality`). Each contract
names the columns every producer writes and every consumer may rely on; extra columns are allowed
(e.g. ``n_images`` or ``model_key`` beside a performance table). :func:`validate` checks a DataFrame
and raises :class:`TableError` naming the table, the column and the problem.

Performance values (the ``value`` column) are checked per metric (:func:`metric_range`): accuracy, ``recall@<k>``,
``judged_accuracy`` and every classification or retrieval metric are fractions in [0, 1]; T2I metrics keep the raw
scale of the paper's files: CLIP-score (``exp_clipscore``, ``max_clipscore``) in [0, 100], the others (aesthetics,
about 1-10 for the LAION predictor; HEIM's human ratings 1-5; PSNR, LPIPS, SSIM, UIQI) any finite number.

Variant names (the ``variant`` column): :func:`variant_name` builds them and :func:`parse_variant`
reads them back, so no ``"@0.7"`` literal is written anywhere else:

* method ``text``: the caption count variant itself (``phrase``, ``lowercased``, ``paper_lemmatized``, ...);
* method ``image``: ``tagger:<name>@<threshold>`` (e.g. ``tagger:rampp@0.7``);
* method ``integrated``: ``integrated:<name>@<threshold>`` (caption hit AND image tag of that tagger).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from wag.core.errors import WagError

METHODS = ("text", "image", "integrated")
TASKS = ("classification", "retrieval", "t2i")
#: The caption count variants of the frequency engine (``wag.frequency.count.VARIANTS``; a test keeps them equal).
TEXT_VARIANTS = ("phrase", "lowercased", "paper_lemmatized", "paper_lowercased", "paper_lemmatized_chunked")


class TableError(WagError, ValueError):
    """A table does not meet its contract; the message names the table, the column and the fix."""


# ---------------------------------------------------------------------------------------------
# Variant names
# ---------------------------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-/]*$")
_TAGGED = re.compile(r"^(?P<kind>tagger|integrated):(?P<name>[^@:]+)@(?P<t>[0-9.eE+\-]+)$")


class Variant(NamedTuple):
    """A parsed variant name: ``method`` (text / image / integrated), ``text`` variant or ``tagger`` + ``threshold``."""

    method: str
    text: str | None = None
    tagger: str | None = None
    threshold: float | None = None


def variant_name(
    method: str, *, text: str | None = None, tagger: str | None = None, threshold: float | None = None
) -> str:
    """The ``variant`` value of a count: ``text`` → the text variant (default ``phrase``);
    ``image`` → ``tagger:<tagger>@<threshold>``; ``integrated`` → ``integrated:<tagger>@<threshold>``.

    >>> variant_name("image", tagger="rampp", threshold=0.7)
    'tagger:rampp@0.7'
    """
    if method == "text":
        v = text or "phrase"
        if v not in TEXT_VARIANTS:
            raise TableError(f"unknown text variant {v!r}; use one of {', '.join(TEXT_VARIANTS)}")
        return v
    if method not in ("image", "integrated"):
        raise TableError(f"unknown count method {method!r}; use one of {', '.join(METHODS)}")
    if not tagger or not _NAME.match(tagger) or "@" in tagger or ":" in tagger:
        raise TableError(
            f"tagger name {tagger!r} must be a non-empty name of letters, digits and ._+-/ (no '@' or ':')"
        )
    if threshold is None or not 0 < float(threshold) < 1:
        raise TableError(f"tagger threshold must be in (0, 1), got {threshold!r}")
    prefix = "tagger" if method == "image" else "integrated"
    return f"{prefix}:{tagger}@{float(threshold):g}"


def parse_variant(variant: str) -> Variant:
    """Inverse of :func:`variant_name` (raises :class:`TableError` on an unknown form)."""
    if variant in TEXT_VARIANTS:
        return Variant("text", text=variant)
    m = _TAGGED.match(str(variant))
    if m is None:
        raise TableError(
            f"cannot read variant name {variant!r}; expected a text variant ({', '.join(TEXT_VARIANTS)}), "
            "'tagger:<name>@<threshold>' or 'integrated:<name>@<threshold>'"
        )
    try:
        t = float(m.group("t"))
    except ValueError:
        raise TableError(f"variant {variant!r}: threshold {m.group('t')!r} is not a number") from None
    return Variant("image" if m.group("kind") == "tagger" else "integrated", tagger=m.group("name"), threshold=t)


# ---------------------------------------------------------------------------------------------
# Performance values per metric
# ---------------------------------------------------------------------------------------------

#: Metrics whose value is a fraction in [0, 1] on any task (besides ``recall@<k>``).
FRACTION_METRICS = ("accuracy", "judged_accuracy")
_RECALL = re.compile(r"^recall@\d+$")
#: CLIP-score, 100 · max(cos(image, prompt), 0): the torchmetrics convention the paper's T2I files use.
CLIPSCORE_RANGE = (0.0, 100.0)


def metric_range(metric: str, task: str) -> tuple[float, float]:
    """The range a performance ``value`` of ``metric`` on ``task`` must lie in (bounds included).

    Fractions in [0, 1]: :data:`FRACTION_METRICS`, ``recall@<k>`` and every classification or retrieval metric.
    T2I metrics keep their raw scale, as in the paper's files: ``*_clipscore`` in [0, 100]; any other
    (``*_aesthetics``, about 1-10; ``human_*`` ratings 1-5; ``exp_psnr`` in dB, ``exp_lpips``, ...) only finite.
    """
    if metric in FRACTION_METRICS or _RECALL.match(metric) or task != "t2i":
        return (0.0, 1.0)
    if metric.endswith("_clipscore"):
        return CLIPSCORE_RANGE
    return (-np.inf, np.inf)


def _value_in_range(df: pd.DataFrame) -> pd.Series:
    keys = list(zip(df["metric"].astype(str), df["task"].astype(str), strict=True))
    ranges = {k: metric_range(*k) for k in set(keys)}
    lo, hi = (np.array([ranges[k][i] for k in keys], dtype=float) for i in (0, 1))
    v = df["value"].to_numpy(float)
    return pd.Series(np.isfinite(v) & (v >= lo) & (v <= hi), index=df.index)


# ---------------------------------------------------------------------------------------------
# Contracts
# ---------------------------------------------------------------------------------------------


def _text(**kw) -> pa.Column:
    return pa.Column(str, checks=pa.Check.str_length(min_value=1), **kw)


def _is_list_like(s: pd.Series) -> pd.Series:
    return s.map(lambda v: hasattr(v, "__len__") and not isinstance(v, (str, bytes)))


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "concepts": pa.DataFrameSchema(
        {
            "concept": _text(),
            "key": _text(),
            "dataset": _text(),
            "task": pa.Column(str, pa.Check.isin(TASKS)),
            "aliases": pa.Column(object, pa.Check(_is_list_like, error="aliases must be a list of phrases")),
        },
        name="concepts",
    ),
    "hits": pa.DataFrameSchema(
        {
            "concept": _text(),
            "sample_id": _text(),
            "method": pa.Column(str, pa.Check.isin(METHODS)),
            "variant": _text(),
        },
        name="hits",
    ),
    "frequencies": pa.DataFrameSchema(
        {
            "concept": _text(),
            "key": _text(),
            "dataset": _text(),
            "pretraining": _text(),
            "method": pa.Column(str, pa.Check.isin(METHODS)),
            "variant": _text(),
            "count": pa.Column("int64", pa.Check.ge(0)),
        },
        name="frequencies",
    ),
    "performance": pa.DataFrameSchema(
        {
            "concept": _text(),
            "key": _text(),
            "dataset": _text(),
            "task": pa.Column(str, pa.Check.isin(TASKS)),
            "model": _text(),
            "pretraining": _text(),
            "prompt": _text(),
            "metric": _text(),
            "value": pa.Column(float, nullable=False),
        },
        checks=pa.Check(
            _value_in_range,
            error="value out of its metric's range (accuracy, recall@k, judged_accuracy and every "
            "classification/retrieval metric: a fraction in [0, 1]; *_clipscore: [0, 100]; "
            "other T2I metrics: finite, raw scale)",
        ),
        name="performance",
    ),
    "fits": pa.DataFrameSchema(
        {
            "task": _text(),
            "pretraining": _text(),
            "model": _text(),
            "count_type": _text(),
            "prompt_or_metric": _text(),
            "method": pa.Column(str, pa.Check.isin(["binned", "per_concept"])),
            "rho": pa.Column(float, pa.Check.in_range(-1.0, 1.0), nullable=True),
            "p": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
            "slope": pa.Column(float, nullable=True),
            "slope_lo": pa.Column(float, nullable=True),
            "slope_hi": pa.Column(float, nullable=True),
            "n": pa.Column(int, pa.Check.ge(0)),
            "intercept": pa.Column(float, nullable=True, required=False),
            "r2": pa.Column(float, nullable=True, required=False),
        },
        name="fits",
    ),
    "calibration": pa.DataFrameSchema(
        {
            "concept": _text(),
            "method": pa.Column(str, pa.Check.isin(["mixture", "pooled", "none"])),
            "feature": pa.Column(str, pa.Check.isin(["raw", "softmax", "top1"])),
            "cutoff": pa.Column(float, pa.Check.in_range(0.0, 1.0)),
            "threshold": pa.Column(float, nullable=True),
            **{c: pa.Column(float, nullable=True) for c in ("mu_pos", "mu_neg", "sd_pos", "sd_neg")},
            "base_rate": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
            "separation": pa.Column(float, nullable=True),
            "n_positives": pa.Column(int, pa.Check.ge(0)),
            "n_negatives": pa.Column(int, pa.Check.ge(0)),
            **{
                c: pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True)
                for c in ("precision", "precision_lo", "precision_hi", "recall", "recall_lo", "recall_hi")
            },
            "fallback": pa.Column(str),
        },
        name="calibration",
    ),
    "count_quality": pa.DataFrameSchema(
        {
            "pretraining": _text(),
            "count_type": _text(),
            "method": pa.Column(str, pa.Check.isin(METHODS)),
            "threshold": pa.Column(float, nullable=True),
            "n_images": pa.Column(int, pa.Check.ge(0)),
            "hits": pa.Column(int, pa.Check.ge(0)),
            "per_image": pa.Column(float, pa.Check.ge(0.0)),
            "text_per_image": pa.Column(float, pa.Check.ge(0.0)),
            "spearman_vs_text": pa.Column(float, pa.Check.in_range(-1.0, 1.0), nullable=True),
            "precision": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
            "recall": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
            "calibration": pa.Column(str, pa.Check.isin(["", "captions", "none"])),
            "n_concepts": pa.Column(int, pa.Check.ge(0)),
            "n_fallback": pa.Column(int, pa.Check.ge(0)),
            "n_too_few_positives": pa.Column(int, pa.Check.ge(0)),
        },
        name="count_quality",
    ),
}

#: Columns that identify a row (checked here, not by pandera, for a readable message).
UNIQUE: dict[str, list[str]] = {
    "concepts": ["concept", "dataset"],
    "hits": ["concept", "sample_id", "method", "variant"],
    "frequencies": ["concept", "dataset", "pretraining", "method", "variant"],
    "performance": ["concept", "dataset", "model", "pretraining", "prompt", "metric"],
    "calibration": ["concept"],
    "count_quality": ["count_type"],
}

#: Required columns of every contract, in order.
COLUMNS: dict[str, list[str]] = {
    name: [c for c, col in s.columns.items() if col.required] for name, s in SCHEMAS.items()
}


def _describe(table: str, exc: pa.errors.SchemaErrors, df: pd.DataFrame) -> str:
    fc = exc.failure_cases
    lines = []
    wide = {str(c.error) for c in SCHEMAS[table].checks}  # table-wide checks: reported once, by row, not per column
    shown = [c for c in ("metric", "task", "value") if c in df.columns]
    for check in [c for c in fc["check"].unique() if str(c) in wide]:
        rows = [int(r) for r in fc.loc[fc["check"] == check, "index"].dropna().unique()[:3]]
        what = ", ".join(
            f"{r} ({' '.join(f'{c}={df.at[r, c]}' for c in shown)})" if r in df.index else str(r) for r in rows
        )
        lines.append(f"rows {what}: {check}")
    fc = fc[~fc["check"].astype(str).isin(wide)]
    for (col, check), grp in fc.groupby(["column", "check"], dropna=False, sort=False):
        col_s = "<table>" if col is None or (isinstance(col, float) and pd.isna(col)) else str(col)
        examples = [str(v) for v in grp["failure_case"].head(3).tolist()]
        lines.append(f"column '{col_s}': {check} (e.g. {', '.join(examples)})")
    return (
        f"table '{table}' breaks its contract ({'; '.join(lines[:4])}); required columns: {', '.join(COLUMNS[table])}"
    )


def validate(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Check ``df`` against the contract ``table`` (one of :data:`SCHEMAS`); return it unchanged or raise :class:`TableError`."""
    if table not in SCHEMAS:
        raise TableError(f"unknown table contract {table!r}; use one of {', '.join(SCHEMAS)}")
    missing = [c for c in COLUMNS[table] if c not in df.columns]
    if missing:
        raise TableError(
            f"table '{table}' lacks column(s) {', '.join(missing)}; required columns: {', '.join(COLUMNS[table])}"
        )
    key = UNIQUE.get(table)
    if key and len(df):
        dup = df.duplicated(key, keep=False)
        if dup.any():
            first = df.loc[dup, key].iloc[0].tolist()
            raise TableError(
                f"table '{table}' has {int(dup.sum())} rows that repeat the key ({', '.join(key)}), e.g. {first}; keep one row per key"
            )
    fresh = df.reset_index(
        drop=True
    )  # a fresh index: pandera's failure report cannot reshape duplicate index labels under pandas 3
    try:
        SCHEMAS[table].validate(fresh, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise TableError(_describe(table, exc, fresh)) from None
    return df
